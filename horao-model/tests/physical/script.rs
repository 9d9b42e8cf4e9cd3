//! The scenario interpreter shared by the physical, logical, claims and convergence tests.
//!
//! A scenario is lines `<replica> <command> <args…> => <expected>`. Replicas are named by a
//! word and created on first use (replica ids follow creation order); every command gets the
//! next timestamp and each replica its own seeded RNG, so runs replay exactly. `<expected>` is
//! `ok`, an error's message, or a query's answer on one line (items joined by ` | `). Lines
//! starting with `#` and blank lines are skipped. `a sync b` merges a's full state into b.

#![allow(dead_code)] // Each test binary uses a different part of the interpreter.

use horao_crdt::{Hlc, Replica, ReplicaId, Timestamp, Tx};
use horao_model::Result;
use horao_model::claims::*;
use horao_model::logical::*;
use horao_model::model::Model;
use horao_model::physical::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

/// One replica with its clock and randomness.
pub(crate) struct Node {
    pub(crate) replica: Replica<Model>,
    pub(crate) clock: Hlc,
    pub(crate) rng: ChaCha8Rng,
}

/// The replicas of one scenario.
#[derive(Default)]
pub(crate) struct World {
    pub(crate) nodes: BTreeMap<String, Node>,
    pub(crate) step: u64,
}

/// Parsed arguments: positional words and `key=value` pairs.
pub(crate) struct Args<'a> {
    pub(crate) pos: Vec<&'a str>,
    pub(crate) kv: BTreeMap<&'a str, &'a str>,
}

type Out = std::result::Result<String, String>;

impl<'a> Args<'a> {
    fn parse(words: &[&'a str]) -> Self {
        let mut pos = Vec::new();
        let mut kv = BTreeMap::new();
        for w in words {
            match w.split_once('=') {
                Some((k, v)) => {
                    kv.insert(k, v);
                }
                None => pos.push(*w),
            }
        }
        Args { pos, kv }
    }
    fn p(&self, i: usize) -> std::result::Result<&'a str, String> {
        self.pos
            .get(i)
            .copied()
            .ok_or(format!("missing argument {i}"))
    }
    fn s(&self, k: &str) -> std::result::Result<&'a str, String> {
        self.kv.get(k).copied().ok_or(format!("missing {k}="))
    }
    fn or(&self, k: &str, d: &'a str) -> &'a str {
        self.kv.get(k).copied().unwrap_or(d)
    }
    fn n<T: std::str::FromStr>(&self, k: &str) -> std::result::Result<T, String> {
        self.s(k)?.parse().map_err(|_| format!("bad number {k}"))
    }
    fn list(&self, k: &str) -> Vec<&'a str> {
        self.kv
            .get(k)
            .map(|v| v.split(',').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }
    fn labels(&self) -> BTreeSet<String> {
        self.list("labels").into_iter().map(String::from).collect()
    }
}

fn id<T: std::str::FromStr<Err = horao_model::Error>>(s: &str) -> std::result::Result<T, String> {
    s.parse().map_err(|e: horao_model::Error| e.to_string())
}

fn at<I: std::str::FromStr<Err = horao_model::Error>>(
    s: &str,
) -> std::result::Result<At<I>, String> {
    Ok(match s.split_once(':') {
        None if s == "start" => At::Start,
        None if s == "end" => At::End,
        Some(("after", x)) => At::After(id(x)?),
        Some(("before", x)) => At::Before(id(x)?),
        _ => return Err(format!("bad at={s}")),
    })
}

fn window(s: &str) -> std::result::Result<Window, String> {
    let (a, b) = s.split_once("..").ok_or("window is START..END")?;
    Ok(Window {
        start: a.parse().map_err(|_| "bad window")?,
        end: b.parse().map_err(|_| "bad window")?,
    })
}

fn hardware(a: &Args<'_>) -> std::result::Result<Hardware, String> {
    let num = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {s}"));
    let mut h = Hardware {
        ram_mib: a.kv.get("ram").map_or(Ok(0), |v| num(v))?,
        ..Hardware::default()
    };
    for c in a.list("cpus") {
        let (cores, clock) = c.split_once('@').ok_or("cpus=CORES@MHZ,…")?;
        h.cpus.push(Cpu {
            cores: num(cores)? as u32,
            clock_mhz: num(clock)? as u32,
        });
    }
    for d in a.list("disks") {
        let (class, size) = d.split_once(':').ok_or("disks=CLASS:GIB,…")?;
        h.disks.push(Disk {
            size_gib: num(size)?,
            class: DiskClass::parse(class).ok_or("bad disk class")?,
        });
    }
    for g in a.list("gpus") {
        h.accelerators.push(Accelerator {
            model: g.to_string(),
            memory_mib: 81920,
        });
    }
    let ports = a.list("ports");
    if !ports.is_empty() {
        let mut nic = Nic {
            name: "nic0".into(),
            ports: vec![],
        };
        for p in ports {
            let (name, speed) = p.split_once(':').ok_or("ports=NAME:MBPS,…")?;
            nic.ports.push(Port {
                name: name.to_string(),
                speed_mbps: num(speed)?,
            });
        }
        h.nics.push(nic);
    }
    Ok(h)
}

fn capacity(a: &Args<'_>) -> std::result::Result<Capacity, String> {
    let mut c = Capacity::default();
    for (k, v) in &a.kv {
        if let Some(d) = Dimension::parse(k) {
            c.set(d, v.parse().map_err(|_| format!("bad number {k}"))?);
        }
    }
    Ok(c)
}

fn port(s: &str) -> std::result::Result<PortRef, String> {
    let (d, p) = s.split_once(':').ok_or("port is DEVICE:PORT")?;
    Ok(PortRef {
        device: id(d)?,
        port: p.to_string(),
    })
}

fn place(a: &Args<'_>) -> std::result::Result<PlaceSpec, String> {
    Ok(match a.kv.get("chassis") {
        Some(c) => PlaceSpec::Chassis {
            chassis: id(c)?,
            slot: a.n("slot")?,
        },
        None => PlaceSpec::Rack {
            rack: id(a.s("rack")?)?,
            unit: a.n("unit")?,
            at: at(a.or("at", "end"))?,
        },
    })
}

fn constraint(s: &str) -> std::result::Result<Constraint, String> {
    Ok(match s.split_once(':') {
        Some(("dc", d)) => Constraint::OnlyDatacenter(id(d)?),
        Some(("disk", d)) => Constraint::OnlyDiskClass(DiskClass::parse(d).ok_or("bad class")?),
        Some(("label", l)) => Constraint::RequireLabel(l.to_string()),
        _ => return Err(format!("bad constraint {s}")),
    })
}

fn reservation(a: &Args<'_>) -> std::result::Result<ReservationSpec, String> {
    Ok(ReservationSpec {
        infrastructure: id(a.s("infra")?)?,
        tenant: id(a.s("tenant")?)?,
        profile: id(a.s("profile")?)?,
        count: a.n("count")?,
        window: window(a.s("window")?)?,
    })
}

/// Runs a mutation on one node through `try_mutate`.
fn mutate(
    node: &mut Node,
    ts: Timestamp,
    f: impl FnOnce(&Model, Timestamp, &mut ChaCha8Rng, &mut Tx) -> Result<Model>,
) -> Out {
    let Node { replica, rng, .. } = node;
    replica
        .try_mutate(|m, tx| f(m, ts, rng, tx))
        .map(|_| "ok".to_string())
        .map_err(|e| e.to_string())
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = items.into_iter().map(|t| t.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(" | ")
    }
}

impl World {
    /// The node called `name`, created on first use.
    pub(crate) fn node(&mut self, name: &str) -> &mut Node {
        let n = self.nodes.len() as u64 + 1;
        self.nodes.entry(name.to_string()).or_insert_with(|| Node {
            replica: Replica::new(ReplicaId(n)),
            clock: Hlc::new(u64::MAX / 4),
            rng: ChaCha8Rng::seed_from_u64(n),
        })
    }

    /// Runs one command on replica `who`, returning its one-line outcome.
    pub(crate) fn run(&mut self, who: &str, line: &str) -> String {
        self.step += 1;
        let step = self.step;
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((cmd, rest)) = words.split_first() else {
            return "empty command".into();
        };
        let a = Args::parse(rest);
        if *cmd == "sync" {
            let state = self.node(who).replica.causal().clone();
            for target in &a.pos {
                self.node(target).replica.merge(state.clone());
            }
            return "ok".into();
        }
        let node = self.node(who);
        let ts = node.clock.now(step * 10).unwrap();
        match exec(node, ts, cmd, &a) {
            Ok(s) | Err(s) => s,
        }
    }

    /// Runs a scenario, returning the first mismatch as an error.
    pub(crate) fn script(&mut self, text: &str) -> std::result::Result<(), String> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (cmd, expect) = line
                .split_once("=>")
                .ok_or(format!("line {}: no `=>`", n + 1))?;
            let (who, cmd) = cmd
                .trim()
                .split_once(' ')
                .ok_or(format!("line {}: no replica", n + 1))?;
            let got = self.run(who, cmd.trim());
            if got != expect.trim() {
                return Err(format!(
                    "line {}: {}\n  expected: {}\n  got:      {got}",
                    n + 1,
                    line,
                    expect.trim()
                ));
            }
        }
        Ok(())
    }

    /// The model on replica `who`.
    pub(crate) fn model(&mut self, who: &str) -> &Model {
        self.node(who).replica.state()
    }
}

/// Runs `input` (scenario lines) on a fresh world and panics on the first mismatch.
pub(crate) fn check(input: &str) {
    if let Err(e) = World::default().script(input) {
        panic!("{e}");
    }
}

/// Runs every `*.txt` scenario under `testdata/<dir>`.
pub(crate) fn check_dir(dir: &str) {
    let path = format!("{}/testdata/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios in {path}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if let Err(e) = World::default().script(&text) {
            panic!("{}: {e}", f.display());
        }
    }
}

fn exec(node: &mut Node, ts: Timestamp, cmd: &str, a: &Args<'_>) -> Out {
    match cmd {
        "dc" => {
            let dc: DatacenterId = id(a.p(0)?)?;
            let info = DatacenterInfo {
                name: a.s("name")?.to_string(),
                site: a.or("site", "").to_string(),
            };
            mutate(node, ts, |m, ts, _, tx| {
                m.create_datacenter(&dc, info, &a.labels(), ts, tx)
            })
        }
        "update-dc" => {
            let dc: DatacenterId = id(a.p(0)?)?;
            let info = DatacenterInfo {
                name: a.s("name")?.to_string(),
                site: a.or("site", "").to_string(),
            };
            mutate(node, ts, |m, ts, _, tx| {
                m.update_datacenter(&dc, info, ts, tx)
            })
        }
        "row" => {
            let (r, dc): (RowId, DatacenterId) = (id(a.p(0)?)?, id(a.s("dc")?)?);
            let info = RowInfo {
                name: a.s("name")?.to_string(),
            };
            let at = at(a.or("at", "end"))?;
            mutate(node, ts, |m, ts, rng, tx| {
                m.create_row(&r, &dc, info, &at, ts, rng, tx)
            })
        }
        "update-row" => {
            let r: RowId = id(a.p(0)?)?;
            let info = RowInfo {
                name: a.s("name")?.to_string(),
            };
            mutate(node, ts, |m, ts, _, tx| m.update_row(&r, info, ts, tx))
        }
        "move-row" => {
            let r: RowId = id(a.p(0)?)?;
            let at = at(a.s("at")?)?;
            mutate(node, ts, |m, ts, rng, tx| m.move_row(&r, &at, ts, rng, tx))
        }
        "rack" => {
            let (k, row): (RackId, RowId) = (id(a.p(0)?)?, id(a.s("row")?)?);
            let info = RackInfo {
                name: a.s("name")?.to_string(),
                height_units: a.n("height")?,
            };
            let at = at(a.or("at", "end"))?;
            let labels = a.labels();
            mutate(node, ts, |m, ts, rng, tx| {
                m.create_rack(&k, &row, info, &labels, &at, ts, rng, tx)
            })
        }
        "update-rack" => {
            let k: RackId = id(a.p(0)?)?;
            let info = RackInfo {
                name: a.s("name")?.to_string(),
                height_units: a.n("height")?,
            };
            mutate(node, ts, |m, ts, _, tx| m.update_rack(&k, info, ts, tx))
        }
        "move-rack" => {
            let (k, row): (RackId, RowId) = (id(a.p(0)?)?, id(a.s("row")?)?);
            let at = at(a.or("at", "end"))?;
            mutate(node, ts, |m, ts, rng, tx| {
                m.move_rack(&k, &row, &at, ts, rng, tx)
            })
        }
        "device" => {
            let d: DeviceId = id(a.p(0)?)?;
            let new = NewDevice {
                info: device_info(a)?,
                place: place(a)?,
                hardware: hardware(a)?,
                labels: a.labels(),
            };
            mutate(node, ts, |m, ts, rng, tx| {
                m.create_device(&d, new, ts, rng, tx)
            })
        }
        "update-device" => {
            let d: DeviceId = id(a.p(0)?)?;
            let info = device_info(a)?;
            mutate(node, ts, |m, ts, rng, tx| {
                m.update_device(&d, info, ts, rng, tx)
            })
        }
        "hardware" => {
            let d: DeviceId = id(a.p(0)?)?;
            let h = hardware(a)?;
            mutate(node, ts, |m, ts, _, tx| m.set_hardware(&d, h, ts, tx))
        }
        "move-device" => {
            let d: DeviceId = id(a.p(0)?)?;
            let spec = place(a)?;
            mutate(node, ts, |m, ts, rng, tx| {
                m.move_device(&d, &spec, ts, rng, tx)
            })
        }
        "label" => {
            let (kind, target, label) = (a.p(0)?, a.p(1)?, a.p(2)?);
            let (add, l) = match label.split_at(1) {
                ("+", l) => (true, l.to_string()),
                ("-", l) => (false, l.to_string()),
                _ => return Err("label +L or -L".into()),
            };
            match kind {
                "dc" => {
                    let t: DatacenterId = id(target)?;
                    mutate(node, ts, |m, _, _, tx| m.label_datacenter(&t, &l, add, tx))
                }
                "rack" => {
                    let t: RackId = id(target)?;
                    mutate(node, ts, |m, _, _, tx| m.label_rack(&t, &l, add, tx))
                }
                _ => {
                    let t: DeviceId = id(target)?;
                    mutate(node, ts, |m, _, _, tx| m.label_device(&t, &l, add, tx))
                }
            }
        }
        "link" => {
            let l: LinkId = id(a.p(0)?)?;
            let spec = LinkSpec {
                a: port(a.s("a")?)?,
                b: port(a.s("b")?)?,
                speed_mbps: a.n("speed")?,
                kind: NetworkKind::parse(a.or("kind", "data")).ok_or("bad kind")?,
            };
            mutate(node, ts, |m, ts, _, tx| m.create_link(&l, spec, ts, tx))
        }
        "delete" => delete(node, ts, a.p(0)?, a.p(1)?),
        "infra" => {
            let i: InfraId = id(a.p(0)?)?;
            let info = InfraInfo {
                name: a.s("name")?.to_string(),
            };
            mutate(node, ts, |m, ts, _, tx| {
                m.create_infrastructure(&i, info, ts, tx)
            })
        }
        "member" => {
            let (i, dc): (InfraId, DatacenterId) = (id(a.p(0)?)?, id(a.p(1)?)?);
            let role = match a.or("role", "active") {
                "active" => Membership::Active,
                _ => Membership::Standby,
            };
            mutate(node, ts, |m, _, _, tx| m.set_member(&i, &dc, role, tx))
        }
        "unmember" => {
            let (i, dc): (InfraId, DatacenterId) = (id(a.p(0)?)?, id(a.p(1)?)?);
            mutate(node, ts, |m, _, _, tx| m.remove_member(&i, &dc, tx))
        }
        "tenant" => {
            let t: TenantId = id(a.p(0)?)?;
            let info = TenantInfo {
                name: a.s("name")?.to_string(),
                owner: a.s("owner")?.to_string(),
            };
            mutate(node, ts, |m, ts, _, tx| m.create_tenant(&t, info, ts, tx))
        }
        "delegate" => {
            let t: TenantId = id(a.p(0)?)?;
            let w = a.p(1)?;
            let (add, who) = (w.starts_with('+'), w[1..].to_string());
            mutate(node, ts, |m, _, _, tx| m.set_delegate(&t, &who, add, tx))
        }
        "quota" => {
            let t: TenantId = id(a.p(0)?)?;
            let (k, v) = a.kv.iter().next().ok_or("quota T DIM=N")?;
            let d = Dimension::parse(k).ok_or("bad dimension")?;
            let q = if *v == "-" {
                None
            } else {
                Some(v.parse().map_err(|_| "bad quota")?)
            };
            mutate(node, ts, |m, ts, _, tx| m.set_quota(&t, d, q, ts, tx))
        }
        "constraint" => {
            let t: TenantId = id(a.p(0)?)?;
            let w = a.p(1)?;
            let (add, c) = (w.starts_with('+'), constraint(&w[1..])?);
            mutate(node, ts, |m, _, _, tx| m.set_constraint(&t, c, add, tx))
        }
        "profile" => {
            let p: ProfileId = id(a.p(0)?)?;
            let spec = ProfileSpec {
                name: a.s("name")?.to_string(),
                demand: capacity(a)?,
            };
            mutate(node, ts, |m, ts, _, tx| m.create_profile(&p, spec, ts, tx))
        }
        "update-profile" => {
            let p: ProfileId = id(a.p(0)?)?;
            let spec = ProfileSpec {
                name: a.s("name")?.to_string(),
                demand: capacity(a)?,
            };
            mutate(node, ts, |m, ts, _, tx| m.update_profile(&p, spec, ts, tx))
        }
        "reserve" => {
            let c: ClaimId = id(a.p(0)?)?;
            let spec = reservation(a)?;
            mutate(node, ts, |m, ts, _, tx| {
                m.create_reservation(&c, spec, ts, tx)
            })
        }
        "update-reservation" => {
            let c: ClaimId = id(a.p(0)?)?;
            let spec = reservation(a)?;
            mutate(node, ts, |m, ts, _, tx| {
                m.update_reservation(&c, spec, ts, tx)
            })
        }
        "maintain" => {
            let c: ClaimId = id(a.p(0)?)?;
            let spec = MaintenanceSpec {
                devices: a
                    .list("devices")
                    .into_iter()
                    .map(id)
                    .collect::<std::result::Result<_, _>>()?,
                window: window(a.s("window")?)?,
                reason: a.or("reason", "maintenance").to_string(),
            };
            mutate(node, ts, |m, ts, _, tx| {
                m.create_maintenance(&c, spec, ts, tx)
            })
        }
        "earliest" => {
            let req = ReservationRequest {
                infrastructure: id(a.s("infra")?)?,
                tenant: id(a.s("tenant")?)?,
                profile: id(a.s("profile")?)?,
                count: a.n("count")?,
                duration: a.n("duration")?,
                not_before: a.n("not-before")?,
                horizon: a.n("horizon")?,
            };
            match node.replica.state().earliest_start(&req) {
                Ok(Some(s)) => Ok(s.to_string()),
                Ok(None) => Ok("none".into()),
                Err(e) => Err(e.to_string()),
            }
        }
        "show" => show(node.replica.state(), a),
        other => Err(format!("unknown command {other}")),
    }
}

fn device_info(a: &Args<'_>) -> std::result::Result<DeviceInfo, String> {
    Ok(DeviceInfo {
        name: a.or("name", "dev").to_string(),
        kind: DeviceKind::parse(a.or("kind", "server")).ok_or("bad kind")?,
        model: a.or("model", "").to_string(),
        height_units: a
            .kv
            .get("height")
            .map_or(Ok(1), |h| h.parse().map_err(|_| "bad height"))?,
    })
}

fn delete(node: &mut Node, ts: Timestamp, kind: &str, x: &str) -> Out {
    macro_rules! del {
        ($t:ty, $f:ident) => {{
            let i: $t = id(x)?;
            mutate(node, ts, |m, _, _, tx| m.$f(&i, tx))
        }};
    }
    match kind {
        "dc" => del!(DatacenterId, delete_datacenter),
        "row" => del!(RowId, delete_row),
        "rack" => del!(RackId, delete_rack),
        "device" => del!(DeviceId, delete_device),
        "link" => del!(LinkId, delete_link),
        "infra" => del!(InfraId, delete_infrastructure),
        "tenant" => del!(TenantId, delete_tenant),
        "profile" => del!(ProfileId, delete_profile),
        "reservation" => del!(ClaimId, delete_reservation),
        "maintenance" => del!(ClaimId, delete_maintenance),
        other => Err(format!("unknown kind {other}")),
    }
}

fn show(m: &Model, a: &Args<'_>) -> Out {
    let p = &m.physical;
    Ok(match a.p(0)? {
        "rows" => join(p.rows_in(&id(a.p(1)?)?)),
        "racks" => join(p.racks_in(&id(a.p(1)?)?)),
        "devices" => join(p.devices_in_rack(&id(a.p(1)?)?)),
        "blades" => join(
            p.blades_in(&id(a.p(1)?)?)
                .into_iter()
                .map(|(s, d)| format!("{s}:{d}")),
        ),
        "links" => join(p.links_of(&id(a.p(1)?)?)),
        "conflicts" => join(m.conflicts()),
        "reachable" => {
            let kind = NetworkKind::parse(a.p(2)?).ok_or("bad kind")?;
            join(p.topology(kind).reachable(&id(a.p(1)?)?))
        }
        "components" => {
            let kind = NetworkKind::parse(a.p(1)?).ok_or("bad kind")?;
            join(
                p.topology(kind)
                    .components()
                    .into_iter()
                    .map(|c| join(c).replace(" | ", ",")),
            )
        }
        "device" => {
            let d = p.devices.get(&id(a.p(1)?)?).ok_or("no such device")?;
            let place = match d.place.get() {
                Some(DevicePlace::Rack { rack, unit, .. }) => format!("{rack}@{unit}"),
                Some(DevicePlace::Chassis { chassis, slot }) => format!("{chassis}#{slot}"),
                None => "-".into(),
            };
            let info = d.info.get().map_or("-".into(), |i| {
                format!("{} {} h{}", i.name, i.kind.name(), i.height_units)
            });
            format!(
                "{info} {place} labels={}",
                join(d.labels.iter()).replace(" | ", ",")
            )
        }
        "dc-of" => p
            .device_datacenter(&id(a.p(1)?)?)
            .map_or("-".into(), |d| d.to_string()),
        "capacity" => {
            let mut scope = match a.kv.get("infra") {
                Some(i) => m.infrastructure_scope(&id(i)?).map_err(|e| e.to_string())?,
                None => Scope::default(),
            };
            let dcs = a.list("dc");
            if !dcs.is_empty() {
                scope.datacenters = Some(
                    dcs.into_iter()
                        .map(id)
                        .collect::<std::result::Result<_, _>>()?,
                );
            }
            scope.labels = a.list("label").into_iter().map(String::from).collect();
            if let Some(t) = a.kv.get("tenant") {
                scope = m.tenant_scope(&id(t)?, scope).ok_or("no such tenant")?;
            }
            m.capacity(&scope).to_string()
        }
        "tenant" => {
            let t = m
                .logical
                .tenants
                .get(&id(a.p(1)?)?)
                .ok_or("no such tenant")?;
            let quotas: Vec<String> = Dimension::ALL
                .into_iter()
                .filter_map(|d| t.quota(d).map(|q| format!("{d}={q}")))
                .collect();
            format!(
                "owner={} delegates={} quotas={} constraints={}",
                t.info.get().map_or("-", |i| i.owner.as_str()),
                join(t.delegates.iter()).replace(" | ", ","),
                join(quotas).replace(" | ", ","),
                join(t.constraint_list()).replace(" | ", ",")
            )
        }
        "members" => {
            let i = m
                .logical
                .infrastructures
                .get(&id(a.p(1)?)?)
                .ok_or("no such infrastructure")?;
            join(i.datacenters.iter().map(|(d, r)| {
                let roles: Vec<String> = r
                    .values()
                    .map(|v| format!("{v:?}").to_lowercase())
                    .collect();
                format!("{d}:{}", roles.join("+"))
            }))
        }
        "reservations" => join(m.claims.reservation_specs().map(|(id, _)| id)),
        other => return Err(format!("unknown query {other}")),
    })
}
