//! Transcript commands of the physical layer: datacenters, rows, racks, devices with their
//! hardware and ports, links and labels, and the queries over them.
//!
//! ```text
//! dc ID name=N [site=S] [labels=L,…]          update-dc ID name=N [site=S]
//! row ID dc=DC name=N [at=…]                  update-row ID name=N      move-row ID at=…
//! rack ID row=R name=N height=H [labels=…] [at=…]
//! update-rack ID name=N height=H              move-rack ID row=R [at=…]
//! device ID (rack=K unit=U [at=…] | chassis=C slot=S) [kind=K] [height=H] [name=N]
//!        [cpus=CORES@MHZ,…] [ram=MIB] [disks=CLASS:GIB,…] [gpus=MODEL,…] [ports=NAME:MBPS,…]
//!        [labels=…]
//! update-device ID [kind=K] [height=H] [name=N]   hardware ID <hardware args>
//! move-device ID <place args>                 label dc|rack|device ID +L|-L
//! link ID a=DEV:PORT b=DEV:PORT speed=MBPS [kind=data|management|…]
//! delete dc|row|rack|device|link ID
//! show rows DC | racks ROW | devices RACK | blades CHASSIS | links DEVICE | device ID
//!      | dc-of DEVICE | reachable DEVICE KIND | components KIND
//! ```
//!
//! `at=` is `start`, `end`, `after:ID` or `before:ID`.

use super::{Args, Cmd, Layer, Out, commas, id, join, label, toggle};
use horao_model::model::Model;
use horao_model::physical::*;
use std::str::FromStr;

pub(super) const LAYER: Layer = Layer {
    commands: &[
        "dc",
        "update-dc",
        "row",
        "update-row",
        "move-row",
        "rack",
        "update-rack",
        "move-rack",
        "device",
        "update-device",
        "hardware",
        "move-device",
        "label",
        "link",
    ],
    deletes: &["dc", "row", "rack", "device", "link"],
    queries: &[
        "rows",
        "racks",
        "devices",
        "blades",
        "links",
        "reachable",
        "components",
        "device",
        "dc-of",
    ],
    run,
    show,
};

fn run(c: Cmd<'_>, cmd: &str, a: &Args<'_>) -> Out {
    match cmd {
        "dc" => {
            let dc: DatacenterId = a.id_at(0)?;
            let info = datacenter_info(a)?;
            let labels = a.labels("labels")?;
            c.mutate(|m, by, ts, _, tx| m.create_datacenter(by, &dc, info, &labels, ts, tx))
        }
        "update-dc" => {
            let dc: DatacenterId = a.id_at(0)?;
            let info = datacenter_info(a)?;
            c.mutate(|m, by, ts, _, tx| m.update_datacenter(by, &dc, info, ts, tx))
        }
        "row" => {
            let (r, dc): (RowId, DatacenterId) = (a.id_at(0)?, a.id("dc")?);
            let info = RowInfo { name: name(a)? };
            let at = at(a.or("at", "end"))?;
            c.mutate(|m, by, ts, rng, tx| m.create_row(by, &r, &dc, info, &at, ts, rng, tx))
        }
        "update-row" => {
            let r: RowId = a.id_at(0)?;
            let info = RowInfo { name: name(a)? };
            c.mutate(|m, by, ts, _, tx| m.update_row(by, &r, info, ts, tx))
        }
        "move-row" => {
            let r: RowId = a.id_at(0)?;
            let at = at(a.s("at")?)?;
            c.mutate(|m, by, ts, rng, tx| m.move_row(by, &r, &at, ts, rng, tx))
        }
        "rack" => {
            let (k, row): (RackId, RowId) = (a.id_at(0)?, a.id("row")?);
            let info = rack_info(a)?;
            let labels = a.labels("labels")?;
            let at = at(a.or("at", "end"))?;
            c.mutate(|m, by, ts, rng, tx| {
                m.create_rack(by, &k, &row, info, &labels, &at, ts, rng, tx)
            })
        }
        "update-rack" => {
            let k: RackId = a.id_at(0)?;
            let info = rack_info(a)?;
            c.mutate(|m, by, ts, _, tx| m.update_rack(by, &k, info, ts, tx))
        }
        "move-rack" => {
            let (k, row): (RackId, RowId) = (a.id_at(0)?, a.id("row")?);
            let at = at(a.or("at", "end"))?;
            c.mutate(|m, by, ts, rng, tx| m.move_rack(by, &k, &row, &at, ts, rng, tx))
        }
        "device" => {
            let d: DeviceId = a.id_at(0)?;
            let new = NewDevice {
                info: device_info(a)?,
                place: place(a)?,
                hardware: hardware(a)?,
                labels: a.labels("labels")?,
            };
            c.mutate(|m, by, ts, rng, tx| m.create_device(by, &d, new, ts, rng, tx))
        }
        "update-device" => {
            let d: DeviceId = a.id_at(0)?;
            let info = device_info(a)?;
            c.mutate(|m, by, ts, rng, tx| m.update_device(by, &d, info, ts, rng, tx))
        }
        "hardware" => {
            let d: DeviceId = a.id_at(0)?;
            let h = hardware(a)?;
            c.mutate(|m, by, ts, _, tx| m.set_hardware(by, &d, h, ts, tx))
        }
        "move-device" => {
            let d: DeviceId = a.id_at(0)?;
            let spec = place(a)?;
            c.mutate(|m, by, ts, rng, tx| m.move_device(by, &d, &spec, ts, rng, tx))
        }
        "label" => {
            let (kind, target) = (a.p(0)?, a.p(1)?);
            let (add, l) = toggle(a.p(2)?)?;
            let l = label(l)?;
            match kind {
                "dc" => {
                    let t: DatacenterId = id(target)?;
                    c.mutate(|m, by, _, _, tx| m.label_datacenter(by, &t, &l, add, tx))
                }
                "rack" => {
                    let t: RackId = id(target)?;
                    c.mutate(|m, by, _, _, tx| m.label_rack(by, &t, &l, add, tx))
                }
                "device" => {
                    let t: DeviceId = id(target)?;
                    c.mutate(|m, by, _, _, tx| m.label_device(by, &t, &l, add, tx))
                }
                other => Err(format!("{other} carries no labels")),
            }
        }
        "link" => {
            let l: LinkId = a.id_at(0)?;
            let spec = LinkSpec {
                a: port(a.s("a")?)?,
                b: port(a.s("b")?)?,
                speed_mbps: a.n("speed")?,
                kind: NetworkKind::parse(a.or("kind", "data")).ok_or("bad kind")?,
            };
            c.mutate(|m, by, ts, _, tx| m.create_link(by, &l, spec, ts, tx))
        }
        "delete" => {
            let x = a.p(1)?;
            match a.p(0)? {
                "dc" => c.delete(x, Model::delete_datacenter),
                "row" => c.delete(x, Model::delete_row),
                "rack" => c.delete(x, Model::delete_rack),
                "device" => c.delete(x, Model::delete_device),
                _ => c.delete(x, Model::delete_link),
            }
        }
        other => Err(format!("unknown command {other}")),
    }
}

fn show(m: &Model, what: &str, a: &Args<'_>) -> Out {
    let p = &m.physical;
    Ok(match what {
        "rows" => join(p.rows_in(&a.id_at(1)?)),
        "racks" => join(p.racks_in(&a.id_at(1)?)),
        "devices" => join(p.devices_in_rack(&a.id_at(1)?)),
        "blades" => join(
            p.blades_in(&a.id_at(1)?)
                .into_iter()
                .map(|(s, d)| format!("{s}:{d}")),
        ),
        "links" => join(p.links_of(&a.id_at(1)?)),
        "reachable" => {
            let kind = NetworkKind::parse(a.p(2)?).ok_or("bad kind")?;
            join(p.topology(kind).reachable(&a.id_at(1)?))
        }
        "components" => {
            let kind = NetworkKind::parse(a.p(1)?).ok_or("bad kind")?;
            join(p.topology(kind).components().into_iter().map(commas))
        }
        "device" => {
            let d = p
                .devices
                .get(&a.id_at::<DeviceId>(1)?)
                .ok_or("no such device")?;
            let place = match d.place.get() {
                Some(DevicePlace::Rack { rack, unit, .. }) => format!("{rack}@{unit}"),
                Some(DevicePlace::Chassis { chassis, slot }) => format!("{chassis}#{slot}"),
                None => "-".into(),
            };
            let info = d.info.get().map_or("-".into(), |i| {
                format!("{} {} h{}", i.name, i.kind.name(), i.height_units)
            });
            format!("{info} {place} labels={}", commas(d.labels.iter()))
        }
        _ => p
            .device_datacenter(&a.id_at(1)?)
            .map_or("-".into(), |d| d.to_string()),
    })
}

/// The required `name=`.
pub(super) fn name(a: &Args<'_>) -> Result<String, String> {
    a.text("name").ok_or_else(|| "missing name=".into())
}

fn datacenter_info(a: &Args<'_>) -> Result<DatacenterInfo, String> {
    Ok(DatacenterInfo {
        name: name(a)?,
        site: a.text("site").unwrap_or_default(),
    })
}

fn rack_info(a: &Args<'_>) -> Result<RackInfo, String> {
    Ok(RackInfo {
        name: name(a)?,
        height_units: a.n("height")?,
    })
}

fn device_info(a: &Args<'_>) -> Result<DeviceInfo, String> {
    Ok(DeviceInfo {
        name: a.text("name").unwrap_or_else(|| "dev".into()),
        kind: DeviceKind::parse(a.or("kind", "server")).ok_or("bad kind")?,
        model: a.text("model").unwrap_or_default(),
        height_units: a.n_or("height", 1)?,
    })
}

fn at<I: FromStr<Err = horao_model::Error>>(s: &str) -> Result<At<I>, String> {
    Ok(match s.split_once(':') {
        None if s == "start" => At::Start,
        None if s == "end" => At::End,
        Some(("after", x)) => At::After(id(x)?),
        Some(("before", x)) => At::Before(id(x)?),
        _ => return Err(format!("bad at={s}")),
    })
}

fn place(a: &Args<'_>) -> Result<PlaceSpec, String> {
    Ok(match a.get("chassis") {
        Some(c) => PlaceSpec::Chassis {
            chassis: id(c)?,
            slot: a.n("slot")?,
        },
        None => PlaceSpec::Rack {
            rack: a.id("rack")?,
            unit: a.n("unit")?,
            at: at(a.or("at", "end"))?,
        },
    })
}

fn port(s: &str) -> Result<PortRef, String> {
    let (d, p) = s.split_once(':').ok_or("port is DEVICE:PORT")?;
    Ok(PortRef {
        device: id(d)?,
        port: p.to_string(),
    })
}

fn hardware(a: &Args<'_>) -> Result<Hardware, String> {
    let num = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {s}"));
    let mut h = Hardware {
        ram_mib: a.n_or("ram", 0)?,
        ..Hardware::default()
    };
    for c in a.list("cpus") {
        let (cores, clock) = c.split_once('@').ok_or("cpus=CORES@MHZ,…")?;
        h.cpus.push(Cpu {
            cores: cores.parse().map_err(|_| format!("bad number {cores}"))?,
            clock_mhz: clock.parse().map_err(|_| format!("bad number {clock}"))?,
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
