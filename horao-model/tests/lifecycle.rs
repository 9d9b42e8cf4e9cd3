//! Scenario tests of the storage lifecycle: machines, volumes, images and instances, their
//! state machines (every illegal transition), writer checks, concurrent placement, and the
//! pinned encoding of the stored shapes.
//!
//! Scenarios are lines `<replica> <command> <args…> => <expected>`, run by one interpreter:
//! inline through [`check`], and as files under `testdata/lifecycle/`. Replicas are named by
//! a letter and created on first use; every command gets the next timestamp, so runs replay
//! exactly. `<expected>` is `ok`, an error's message, or a query's one-line answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use horao_crdt::{Answer, Causal, Replica, ReplicaId, Timestamp, Tx};
use horao_model::lifecycle::*;
use horao_model::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A set of replicas of the storage document and a logical clock.
#[derive(Default)]
struct World {
    replicas: BTreeMap<String, Replica<Storage>>,
    step: u64,
}

/// Parsed arguments: positional words and `key=value` pairs.
struct Args<'a> {
    pos: Vec<&'a str>,
    kv: BTreeMap<&'a str, &'a str>,
}

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
        Self { pos, kv }
    }
    fn pos(&self, i: usize) -> &'a str {
        self.pos
            .get(i)
            .copied()
            .unwrap_or_else(|| panic!("missing argument {i}"))
    }
    fn get(&self, k: &str) -> Option<&'a str> {
        self.kv.get(k).copied()
    }
    fn num(&self, k: &str) -> u64 {
        self.get(k).map_or(0, |v| v.parse().unwrap())
    }
    fn list(&self, k: &str) -> Vec<&'a str> {
        self.get(k)
            .map(|v| v.split(',').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }
    fn actor(&self) -> Actor {
        match self.get("by").unwrap_or("user") {
            "user" => Actor::User,
            "server" => Actor::Server,
            a => Actor::Agent(MachineId::new(a.strip_prefix("agent:").unwrap()).unwrap()),
        }
    }
}

fn state<S: StateMachine>(s: &str) -> S {
    S::parse(s).unwrap_or_else(|| panic!("unknown state {s}"))
}
fn mid(s: &str) -> MachineId {
    MachineId::new(s).unwrap()
}
fn vid(s: &str) -> VolumeId {
    VolumeId::new(s).unwrap()
}
fn labels(a: &Args<'_>, k: &str) -> Vec<Label> {
    a.list(k)
        .into_iter()
        .map(|l| Label::new(l).unwrap())
        .collect()
}
fn opt<T: ToString>(x: Option<T>) -> String {
    x.map_or("-".into(), |x| x.to_string())
}
fn join<T: ToString>(it: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = it.into_iter().map(|x| x.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

fn source(s: Option<&Source>) -> String {
    match s {
        None => "-".into(),
        Some(Source::Image(i)) => format!("image:{i}"),
        Some(Source::Volume(v)) => format!("volume:{v}"),
    }
}

fn op(o: Option<&VolumeOp>) -> String {
    match o {
        None => "-".into(),
        Some(VolumeOp::Resize {
            size_bytes,
            dilation_percent,
        }) => {
            format!("resize:{size_bytes}+{dilation_percent}%")
        }
        Some(VolumeOp::Move { to }) => format!("move:{to}"),
        Some(VolumeOp::Clone { into, .. }) => format!("clone:{into}"),
    }
}

fn describe_conflict(c: &StorageConflict) -> String {
    match c {
        StorageConflict::VolumeAssignment { volume, machines } => {
            format!("assignment {volume} on {}", join(machines))
        }
        StorageConflict::MissingDisk { instance, volume } => {
            format!("missing-disk {instance}/{volume}")
        }
        StorageConflict::Fragment { kind, id } => format!("fragment {kind} {id}"),
    }
}

impl World {
    fn replica(&mut self, name: &str) -> &mut Replica<Storage> {
        let n = u64::try_from(self.replicas.len()).unwrap() + 1;
        self.replicas
            .entry(name.to_string())
            .or_insert_with(|| Replica::new(ReplicaId(n)))
    }

    /// Sends everything `from` has that `to` lacks.
    fn push(&mut self, from: &str, to: &str) {
        let peer = self.replica(to).ctx().clone();
        match self.replica(from).answer(&peer) {
            Answer::UpToDate => {}
            Answer::Deltas(d) => {
                self.replica(to).apply(d);
            }
            Answer::Full(s) => {
                self.replica(to).merge(s);
            }
        }
    }

    /// Runs one line and returns its output.
    fn run(&mut self, line: &str) -> String {
        self.step += 1;
        let ts = Timestamp::new(1_000 + self.step, 0).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        let (who, cmd, rest) = (words[0], words[1], &words[2..]);
        if who == "sync" {
            // `sync a b c`: everyone exchanges with everyone, both ways, twice.
            let names: Vec<&str> = words[1..].to_vec();
            for _ in 0..2 {
                for x in &names {
                    for y in &names {
                        if x != y {
                            self.push(x, y);
                        }
                    }
                }
            }
            return "ok".into();
        }
        let a = Args::parse(rest);
        let actor = a.actor();
        let r = self.replica(who);
        let s = r.state();
        let query = |s: &Storage| -> Option<String> { query(s, cmd, &a) };
        if let Some(out) = query(s) {
            return out;
        }
        let res = r.try_mutate(|s, tx| mutate(s, cmd, &a, &actor, ts, tx));
        match res {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }
}

fn query(s: &Storage, cmd: &str, a: &Args<'_>) -> Option<String> {
    Some(match cmd {
        "machine" => match s.machine(&mid(a.pos(0))) {
            None => "absent".into(),
            Some(m) => format!(
                "desired={} current={} capacity={} used={} labels={} reserved={}",
                m.desired_state(),
                opt(m.current().map(|c| c.state)),
                opt(m.current().map(|c| c.capacity_bytes)),
                opt(m.current().map(|c| c.used_bytes)),
                join(m.spec().map(|s| s.labels.clone()).unwrap_or_default()),
                s.reserved_bytes(&mid(a.pos(0))),
            ),
        },
        "volume" => match s.volume(&vid(a.pos(0))) {
            None => "absent".into(),
            Some(v) => {
                let d = v.desired();
                let spec = v.spec().unwrap();
                format!(
                    "desired={} op={} assigned={} current={} init={} used={} size={} quota={} source={}",
                    d.state,
                    op(d.op.as_ref()),
                    join(v.assigned()),
                    opt(v
                        .current()
                        .map(|c| format!("{}@{}", c.report.state, c.machine))),
                    v.is_initialized(),
                    opt(v.current().map(|c| c.report.used_bytes)),
                    spec.size_bytes,
                    opt(v.quota_bytes()),
                    source(v.source()),
                )
            }
        },
        "volumes-on" => join(s.volumes_on(&mid(a.pos(0))).map(|(id, _)| id)),
        "list-volumes" => {
            let filter = VolumeFilter {
                machine: a.get("machine").map(mid),
                desired: a.get("desired").map(state),
                current: a.get("current").map(state),
                label: a.get("label").map(|l| Label::new(l).unwrap()),
            };
            let after = a.get("after").map(vid);
            let limit = usize::try_from(a.num("limit")).unwrap();
            let page = s.list_volumes(&filter, after.as_ref(), limit);
            format!(
                "{} next={}",
                join(page.items.iter().map(|v| &v.id)),
                opt(page.next)
            )
        }
        "image" => match s.image(&ImageId::new(a.pos(0)).unwrap()) {
            None => "absent".into(),
            Some(i) => format!(
                "name={} size={} replicas={}",
                i.spec().unwrap().name,
                i.spec().unwrap().size_bytes,
                join(i.replicas().map(|r| format!("{}/{}", r.pool, r.volume)))
            ),
        },
        "instance" => match s.instance(&InstanceId::new(a.pos(0)).unwrap()) {
            None => "absent".into(),
            Some(i) => format!("state={} disks={}", i.state(), join(i.disks())),
        },
        "conflicts" => {
            let c = s.conflicts();
            if c.is_empty() {
                "-".into()
            } else {
                c.iter()
                    .map(describe_conflict)
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        }
        _ => return None,
    })
}

fn volume_spec(a: &Args<'_>) -> VolumeSpec {
    VolumeSpec {
        size_bytes: a.num("size"),
        dilation_percent: u32::try_from(a.num("dilation")).unwrap(),
        permissions: Permissions {
            uid: u32::try_from(a.num("uid")).unwrap(),
            gid: u32::try_from(a.num("gid")).unwrap(),
            mode: a
                .get("mode")
                .map_or(0o755, |m| u32::from_str_radix(m, 8).unwrap()),
        },
        filters: labels(a, "filters"),
    }
}

fn mutate(
    s: &Storage,
    cmd: &str,
    a: &Args<'_>,
    actor: &Actor,
    ts: Timestamp,
    tx: &mut Tx,
) -> Result<Storage> {
    let id = a.pos(0);
    match cmd {
        "machine-register" => {
            let spec = MachineSpec {
                labels: labels(a, "labels"),
            };
            s.register_machine(&MachineId::new(id)?, spec, actor, ts, tx)
        }
        "machine-labels" => {
            let spec = MachineSpec {
                labels: labels(a, "labels"),
            };
            s.set_machine_spec(&mid(id), spec, actor, ts, tx)
        }
        "machine-state" => s.set_machine_state(&mid(id), state(a.pos(1)), actor, ts, tx),
        "machine-report" => {
            let report = MachineReport {
                state: state(a.get("state").unwrap()),
                capacity_bytes: a.num("capacity"),
                used_bytes: a.num("used"),
            };
            s.report_machine(&mid(id), report, actor, ts, tx)
        }
        "machine-remove" => s.remove_machine(&mid(id), actor, tx),
        "volume-create" => {
            let src = match (a.get("image"), a.get("from-volume")) {
                (Some(i), _) => Some(Source::Image(ImageId::new(i)?)),
                (_, Some(v)) => Some(Source::Volume(VolumeId::new(v)?)),
                _ => None,
            };
            s.create_volume(&VolumeId::new(id)?, volume_spec(a), src, actor, ts, tx)
        }
        "volume-spec" => s.update_volume_spec(&vid(id), volume_spec(a), actor, ts, tx),
        "volume-assign" => s.assign_volume(&vid(id), &mid(a.pos(1)), actor, ts, tx),
        "volume-state" => s.set_volume_state(&vid(id), state(a.pos(1)), actor, ts, tx),
        "volume-resize" => {
            let op = VolumeOp::Resize {
                size_bytes: a.num("size"),
                dilation_percent: u32::try_from(a.num("dilation")).unwrap(),
            };
            s.begin_volume_op(&vid(id), op, actor, ts, tx)
        }
        "volume-move" => {
            let op = VolumeOp::Move { to: mid(a.pos(1)) };
            s.begin_volume_op(&vid(id), op, actor, ts, tx)
        }
        "volume-clone" => {
            let op = VolumeOp::Clone {
                into: vid(a.pos(1)),
                size_bytes: a.num("size"),
                dilation_percent: u32::try_from(a.num("dilation")).unwrap(),
            };
            s.begin_volume_op(&vid(id), op, actor, ts, tx)
        }
        "volume-report" => {
            let report = VolumeReport {
                state: state(a.get("state").unwrap()),
                used_bytes: a.num("used"),
                initialized: a.get("initialized") == Some("true"),
            };
            s.report_volume(&vid(id), report, actor, ts, tx)
        }
        "volume-purge" => s.purge_volume(&vid(id), actor, tx),
        "image-create" => {
            let origin = match (a.get("volume"), a.get("url")) {
                (Some(v), _) => ImageOrigin::Volume(vid(v)),
                (_, Some(u)) => ImageOrigin::Url(u.to_string()),
                _ => ImageOrigin::Url(String::new()),
            };
            let spec = ImageSpec {
                name: a.get("name").unwrap_or("").replace('_', " "),
                size_bytes: a.num("size"),
                origin,
            };
            s.create_image(&ImageId::new(id)?, spec, actor, ts, tx)
        }
        "image-replica-add" | "image-replica-remove" => {
            let replica = ImageReplica {
                pool: PoolId::new(a.get("pool").unwrap())?,
                volume: vid(a.get("volume").unwrap()),
            };
            let img = ImageId::new(id)?;
            if cmd == "image-replica-add" {
                s.add_image_replica(&img, replica, actor, tx)
            } else {
                s.remove_image_replica(&img, &replica, actor, tx)
            }
        }
        "image-delete" => s.delete_image(&ImageId::new(id)?, actor, tx),
        "instance-create" => {
            let spec = InstanceSpec {
                name: a.get("name").unwrap_or("").to_string(),
            };
            s.create_instance(&InstanceId::new(id)?, spec, actor, ts, tx)
        }
        "instance-attach" => s.attach_disk(&InstanceId::new(id)?, &vid(a.pos(1)), actor, tx),
        "instance-detach" => s.detach_disk(&InstanceId::new(id)?, &vid(a.pos(1)), actor, tx),
        "instance-state" => {
            s.set_instance_state(&InstanceId::new(id)?, state(a.pos(1)), actor, ts, tx)
        }
        "instance-delete" => s.delete_instance(&InstanceId::new(id)?, actor, tx),
        other => panic!("unknown command {other}"),
    }
}

/// Runs a script; returns the transcript with every line's actual output, so a mismatch
/// shows the whole run.
fn run_script(script: &str) -> (String, String) {
    let mut w = World::default();
    let (mut want, mut got) = (String::new(), String::new());
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (cmd, expect) = line
            .split_once("=>")
            .unwrap_or_else(|| panic!("line without `=>`: {line}"));
        let out = w.run(cmd.trim());
        writeln!(want, "{} => {}", cmd.trim(), expect.trim()).unwrap();
        writeln!(got, "{} => {}", cmd.trim(), out).unwrap();
    }
    (want, got)
}

/// Runs `setup` lines (each must succeed), then `input`, and compares its output.
fn check(setup: &[&str], input: &str, expect: &str) {
    let mut w = World::default();
    for l in setup {
        assert_eq!(w.run(l), "ok", "setup line {l}");
    }
    assert_eq!(w.run(input), expect, "input {input}");
}

const READY_HOST: &[&str] = &[
    "a machine-register m1 labels=ssd,zone-a",
    "a machine-report m1 state=ready capacity=10000 used=0 by=agent:m1",
];

#[test]
fn scenario_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/lifecycle");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "scenario files missing");
    for f in files {
        let (want, got) = run_script(&std::fs::read_to_string(&f).unwrap());
        assert_eq!(got, want, "scenario {}", f.display());
    }
}

#[test]
fn machines_validate_their_writers() {
    check(
        &[],
        "a machine-register m1 by=agent:m2",
        "machine m1: machine.spec may not be written by agent:m2",
    );
    check(
        &[],
        "a machine-register bad!id",
        "invalid machine.id: character '!' not allowed (use letters, digits and . _ - : /)",
    );
    check(
        &READY_HOST[..1],
        "a machine-register m1",
        "machine m1 already exists",
    );
    check(
        &READY_HOST[..1],
        "a machine-report m1 state=ready capacity=10 used=0 by=user",
        "machine m1: machine.current may not be written by user",
    );
    check(
        &READY_HOST[..1],
        "a machine-report m1 state=ready capacity=10 used=0 by=server",
        "machine m1: machine.current may not be written by server",
    );
    check(
        &READY_HOST[..1],
        "a machine-report m1 state=ready capacity=10 used=0 by=agent:m2",
        "machine m1: machine.current may not be written by agent:m2",
    );
    check(
        &READY_HOST[..1],
        "a machine-report m1 state=ready capacity=10 used=11 by=agent:m1",
        "invalid machine.used_bytes: 11 exceeds capacity 10",
    );
    check(
        &READY_HOST[..1],
        "a machine-state m1 maintenance by=agent:m1",
        "machine m1: machine.desired may not be written by agent:m1",
    );
    check(&[], "a machine-state m9 ready", "machine m9 not found");
    check(
        READY_HOST,
        "a machine m1",
        "desired=provisioning current=ready capacity=10000 used=0 labels=ssd,zone-a reserved=0",
    );
}

#[test]
fn volumes_validate_their_fields() {
    check(
        &[],
        "a volume-create v1 size=0 dilation=0",
        "invalid volume.size_bytes: must be at least 1",
    );
    check(
        &[],
        "a volume-create v1 size=1 dilation=1001",
        "invalid volume.dilation_percent: 1001 exceeds 1000",
    );
    check(
        &[],
        "a volume-create v1 size=18446744073709551615 dilation=1",
        "invalid volume.dilation_percent: quota overflows 64 bits",
    );
    check(
        &[],
        "a volume-create v1 size=18446744073709551615 dilation=0",
        "ok",
    );
    check(
        &[],
        "a volume-create v1 size=1 dilation=0 mode=17777",
        "invalid volume.permissions.mode: 17777 exceeds 7777",
    );
    check(
        &[],
        "a volume-create v1 size=1 dilation=0 by=agent:m1",
        "volume v1: volume.spec may not be written by agent:m1",
    );
    check(
        &[],
        "a volume-create v1 size=1 dilation=0 image=nope",
        "image nope not found",
    );
    check(
        &["a volume-create v1 size=1 dilation=0"],
        "a volume-create v1 size=1 dilation=0",
        "volume v1 already exists",
    );
    check(
        &["a volume-create v1 size=100 dilation=10"],
        "a volume v1",
        "desired=scheduling op=- assigned=- current=- init=false used=- size=100 quota=110 source=-",
    );
    check(
        &["a volume-create v1 size=3 dilation=33"],
        "a volume v1",
        "desired=scheduling op=- assigned=- current=- init=false used=- size=3 quota=4 source=-",
    );
}

#[test]
fn quota_is_size_times_one_plus_dilation_without_overflow() {
    assert_eq!(quota_bytes(100, 10), Some(110));
    assert_eq!(quota_bytes(1, 1), Some(2)); // rounded up: headroom is never lost
    assert_eq!(quota_bytes(1000, 0), Some(1000));
    assert_eq!(quota_bytes(u64::MAX, 0), Some(u64::MAX));
    assert_eq!(quota_bytes(u64::MAX, 1), None);
    assert_eq!(quota_bytes(u64::MAX / 11, 1000), Some(u64::MAX / 11 * 11));
}

#[test]
fn placed_volumes_are_frozen_and_checked() {
    let mut setup = READY_HOST.to_vec();
    setup.push("a volume-create v1 size=100 dilation=10 filters=ssd");
    check(
        &setup,
        "a volume-assign v1 m1 by=agent:m1",
        "volume v1: volume.assignment may not be written by agent:m1",
    );
    check(&setup, "a volume-assign v1 m9", "machine m9 not found");
    check(&setup, "a volume-spec v1 size=200 dilation=0", "ok");
    setup.push("a volume-assign v1 m1 by=server");
    check(
        &setup,
        "a volume-spec v1 size=200 dilation=0",
        "volume v1: volume.spec is immutable: the volume is placed; resize, clone or move it instead",
    );
    check(
        &setup,
        "a volume-assign v1 m1",
        "volume v1: volume.assignment is immutable: already assigned to m1; move it instead",
    );
    check(
        &setup,
        "a volume-report v1 state=ready by=agent:m2",
        "volume v1: volume.current may not be written by agent:m2",
    );
    check(
        &setup,
        "a volume-report v1 state=ready by=user",
        "volume v1: volume.current may not be written by user",
    );
    check(
        &setup,
        "a volume-state v1 pending by=agent:m1",
        "volume v1: volume.desired may not be written by agent:m1",
    );
    check(
        &setup,
        "a volume-state v1 resizing",
        "volume v1: illegal transition from ready to resizing",
    );
}

/// The shortest command sequence that takes volume `v1` to desired state `s`, with hosts m1
/// and m2 ready (both labelled `ssd`).
fn desired_path(s: VolumeState) -> Vec<&'static str> {
    let mut p = vec![
        "a machine-register m1 labels=ssd",
        "a machine-register m2 labels=ssd",
        "a machine-report m1 state=ready capacity=1000 by=agent:m1",
        "a machine-report m2 state=ready capacity=1000 by=agent:m2",
        "a volume-create v1 size=10 dilation=0",
    ];
    let rest: &[&str] = match s {
        VolumeState::Scheduling => &[],
        VolumeState::Ready => &["a volume-assign v1 m1"],
        VolumeState::Pending => &["a volume-assign v1 m1", "a volume-state v1 pending"],
        VolumeState::Resizing => &[
            "a volume-assign v1 m1",
            "a volume-state v1 pending",
            "a volume-resize v1 size=20 dilation=0",
        ],
        VolumeState::Moving => &[
            "a volume-assign v1 m1",
            "a volume-state v1 pending",
            "a volume-move v1 m2",
        ],
        VolumeState::Cloning => &[
            "a volume-assign v1 m1",
            "a volume-state v1 pending",
            "a volume-clone v1 v2 size=10 dilation=0",
        ],
        VolumeState::Deleting => &["a volume-state v1 deleting"],
        VolumeState::Gone => &["a volume-state v1 deleting", "a volume-state v1 gone"],
    };
    p.extend_from_slice(rest);
    p
}

/// The command requesting desired state `to` for `v1`.
fn desired_command(to: VolumeState) -> String {
    match to {
        VolumeState::Ready => "a volume-state v1 ready".into(),
        VolumeState::Resizing => "a volume-resize v1 size=30 dilation=0".into(),
        VolumeState::Moving => "a volume-move v1 m2".into(),
        VolumeState::Cloning => "a volume-clone v1 v3 size=10 dilation=0".into(),
        other => format!("a volume-state v1 {other}"),
    }
}

#[test]
fn every_desired_volume_transition_follows_the_table() {
    let mut illegal = 0;
    for &from in VolumeState::ALL {
        let setup = desired_path(from);
        for &to in VolumeState::ALL {
            if from == to {
                continue;
            }
            let legal = from.next().contains(&to);
            let mut w = World::default();
            for l in &setup {
                assert_eq!(w.run(l), "ok", "{l}");
            }
            let cmd = if from == VolumeState::Scheduling && to == VolumeState::Ready {
                "a volume-assign v1 m1".to_string()
            } else {
                desired_command(to)
            };
            let out = w.run(&cmd);
            if legal {
                assert_eq!(out, "ok", "{from} -> {to}");
                assert!(
                    w.run("a volume v1").starts_with(&format!("desired={to} ")),
                    "{from} -> {to}"
                );
            } else {
                illegal += 1;
                assert_eq!(
                    out,
                    format!("volume v1: illegal transition from {from} to {to}"),
                    "{from} -> {to}"
                );
            }
        }
    }
    assert_eq!(illegal, 56 - 15);
}

#[test]
fn every_reported_volume_transition_follows_the_table() {
    let mut illegal = 0;
    for &from in VolumeState::ALL {
        // Reports walking the table from scheduling to `from`.
        let walk: &[&str] = match from {
            VolumeState::Scheduling => &[],
            VolumeState::Ready => &["ready"],
            VolumeState::Pending => &["ready", "pending"],
            VolumeState::Resizing => &["ready", "pending", "resizing"],
            VolumeState::Moving => &["ready", "pending", "moving"],
            VolumeState::Cloning => &["ready", "pending", "cloning"],
            VolumeState::Deleting => &["deleting"],
            VolumeState::Gone => &["deleting", "gone"],
        };
        for &to in VolumeState::ALL {
            if from == to {
                continue;
            }
            let mut w = World::default();
            for l in desired_path(VolumeState::Ready) {
                assert_eq!(w.run(l), "ok");
            }
            for s in walk {
                assert_eq!(
                    w.run(&format!("a volume-report v1 state={s} by=agent:m1")),
                    "ok"
                );
            }
            let out = w.run(&format!("a volume-report v1 state={to} by=agent:m1"));
            if from.next().contains(&to) {
                assert_eq!(out, "ok", "{from} -> {to}");
            } else {
                illegal += 1;
                assert_eq!(
                    out,
                    format!("volume v1: illegal transition from {from} to {to}")
                );
            }
        }
    }
    assert_eq!(illegal, 41);
}

#[test]
fn every_machine_transition_follows_the_table() {
    let walks: [(&str, &[&str]); 4] = [
        ("provisioning", &[]),
        ("ready", &["ready"]),
        ("maintenance", &["ready", "maintenance"]),
        ("retired", &["ready", "maintenance", "retired"]),
    ];
    let mut illegal = 0;
    for (from, walk) in walks {
        for &to in MachineState::ALL {
            if to.name() == from {
                continue;
            }
            let legal = state::<MachineState>(from).next().contains(&to);
            for desired in [true, false] {
                let mut w = World::default();
                w.run("a machine-register m1");
                let cmd = |s: &str| {
                    if desired {
                        format!("a machine-state m1 {s}")
                    } else {
                        format!("a machine-report m1 state={s} capacity=1 by=agent:m1")
                    }
                };
                for s in walk {
                    assert_eq!(w.run(&cmd(s)), "ok");
                }
                let out = w.run(&cmd(to.name()));
                if legal {
                    assert_eq!(out, "ok");
                } else {
                    illegal += 1;
                    assert_eq!(
                        out,
                        format!("machine m1: illegal transition from {from} to {to}")
                    );
                }
            }
        }
    }
    // 12 ordered pairs, 4 legal, each tried on desired and current.
    assert_eq!(illegal, 2 * (12 - 4));
}

#[test]
fn instances_need_initialized_disks() {
    let mut setup = desired_path(VolumeState::Ready);
    setup.push("a instance-create i1 name=web");
    check(
        &setup,
        "a instance-attach i1 v1",
        "instance i1: disk v1 is not initialized",
    );
    setup.push("a volume-report v1 state=ready initialized=false by=agent:m1");
    check(
        &setup,
        "a instance-attach i1 v1",
        "instance i1: disk v1 is not initialized",
    );
    setup.push("a volume-report v1 state=ready initialized=true by=agent:m1");
    setup.push("a instance-attach i1 v1");
    check(
        &setup,
        "a instance-attach i1 v1",
        "disk i1/v1 already exists",
    );
    check(&setup, "a instance-state i1 running", "ok");
    check(
        &setup,
        "a volume-state v1 deleting",
        "volume v1 is in use by instance i1",
    );
    check(&setup, "a instance-detach i1 v9", "disk i1/v9 not found");
    // A disk that stops being initialized blocks the start.
    setup.push("a volume-report v1 state=ready initialized=false by=agent:m1");
    check(
        &setup,
        "a instance-state i1 running",
        "instance i1: disk v1 is not initialized",
    );
    setup.push("a instance-detach i1 v1");
    check(&setup, "a instance-state i1 running", "ok");
}

#[test]
fn every_instance_transition_follows_the_table() {
    check(
        &["a instance-create i1 name=x"],
        "a instance-state i1 stopped",
        "ok",
    );
    check(
        &["a instance-create i1 name=x", "a instance-state i1 running"],
        "a instance-state i1 running",
        "ok",
    );
    check(
        &["a instance-create i1 name=x", "a instance-state i1 running"],
        "a instance-delete i1",
        "invalid instance.state: instance i1 must be stopped",
    );
    check(
        &[],
        "a instance-create i1 name=",
        "invalid instance.name: must not be empty",
    );
    // The only pairs are stopped <-> running, both legal: there is no illegal instance
    // transition to try.
    assert_eq!(InstanceState::Stopped.next(), &[InstanceState::Running]);
    assert_eq!(InstanceState::Running.next(), &[InstanceState::Stopped]);
}

#[test]
fn concurrent_placement_keeps_both_and_reports_one_conflict() {
    let script = "
        a machine-register m1 labels=ssd => ok
        a machine-register m2 labels=ssd => ok
        a machine-report m1 state=ready capacity=1000 by=agent:m1 => ok
        a machine-report m2 state=ready capacity=1000 by=agent:m2 => ok
        a volume-create v1 size=10 dilation=0 => ok
        sync a b c => ok
        a volume-assign v1 m1 by=server => ok
        b volume-assign v1 m2 by=server => ok
        c conflicts => -
        sync a b c => ok
        a conflicts => assignment v1 on m1,m2
        b conflicts => assignment v1 on m1,m2
        c conflicts => assignment v1 on m1,m2
        c volumes-on m1 => v1
        c volumes-on m2 => v1
        c volume-report v1 state=ready by=agent:m2 => ok
        c volume-report v1 state=ready by=agent:m3 => volume v1: volume.current may not be written by agent:m3
    ";
    let (want, got) = run_script(script);
    assert_eq!(got, want);
}

#[test]
fn stored_shapes_are_pinned() {
    let mut w = World::default();
    for l in desired_path(VolumeState::Moving) {
        assert_eq!(w.run(l), "ok");
    }
    w.run("a image-create img1 name=base size=5 url=http://example.invalid/base.img");
    w.run("a instance-create i1 name=web");
    let state: &Causal<Storage> = w.replica("a").causal();
    let bytes = horao_crdt::wire::encode(horao_crdt::wire::Kind::State, state).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/lifecycle/storage-v1.hex"
    );
    if std::env::var_os("HORAO_BLESS").is_some() {
        std::fs::write(path, format!("{hex}\n")).unwrap();
    }
    let pinned = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        hex,
        pinned.trim(),
        "the stored encoding changed: bump the format version"
    );
    let back: Causal<Storage> =
        horao_crdt::wire::decode(horao_crdt::wire::Kind::State, &bytes, 1 << 20).unwrap();
    assert_eq!(&back, state);
}

#[test]
fn errors_are_typed() {
    let mut r: Replica<Storage> = Replica::new(ReplicaId(1));
    let ts = Timestamp::new(1, 0).unwrap();
    let e = r
        .try_mutate(|s, tx| {
            s.set_volume_state(&vid("v1"), VolumeState::Ready, &Actor::User, ts, tx)
        })
        .unwrap_err();
    assert_eq!(
        e,
        Error::NotFound {
            kind: "volume",
            id: "v1".into()
        }
    );
}
