//! Transcript commands of storage: machines, volumes, images and instances, and the queries
//! an API or an agent asks.
//!
//! ```text
//! machine-register ID [labels=…] [device=D]     machine-labels ID [labels=…] [device=D]
//! machine-put ID [labels=…] [device=D] [state=S capacity=B used=B]
//! machine-state ID STATE              machine-report ID state=S [capacity=B] [used=B]
//! machine-remove ID
//! volume-create ID size=B [name=N] [dilation=P] [uid=U] [gid=G] [mode=OCTAL] [labels=…]
//!               [require=…] [tenant=T] [image=IMG | from-volume=VOL]
//! volume-create-placed ID <the same> [now=T]     volume-place ID [now=T]
//! volume-spec ID <the same spec>      volume-assign ID MACHINE    volume-state ID STATE
//! volume-resize ID size=B [dilation=P]    volume-move ID MACHINE
//! volume-clone ID INTO size=B [dilation=P] [name=N]              volume-retry ID
//! volume-report ID state=S [used=B] [limit=B] [initialized=true] [degraded=true]
//!               [reason=R]                                         volume-purge ID
//! image-create ID name=N size=B (volume=VOL | url=U)   image-delete ID
//! image-replica-add|image-replica-remove ID pool=P volume=VOL
//! instance-create ID name=N           instance-attach|instance-detach ID VOL
//! instance-state ID STATE             instance-delete ID
//! show machine ID | volume ID | volumes-on MACHINE | image ID | instance ID
//! ```
//!
//! A volume's name defaults to its id (both follow the id rule).

use super::{Args, Cmd, Layer, Out, commas, id, opt};
use horao_model::model::Model;
use horao_model::storage::*;

pub(super) const LAYER: Layer = Layer {
    commands: &[
        "machine-register",
        "machine-labels",
        "machine-put",
        "machine-state",
        "machine-report",
        "machine-remove",
        "volume-create",
        "volume-create-placed",
        "volume-place",
        "volume-retry",
        "volume-spec",
        "volume-assign",
        "volume-state",
        "volume-resize",
        "volume-move",
        "volume-clone",
        "volume-report",
        "volume-purge",
        "image-create",
        "image-replica-add",
        "image-replica-remove",
        "image-delete",
        "instance-create",
        "instance-attach",
        "instance-detach",
        "instance-state",
        "instance-delete",
    ],
    deletes: &[],
    queries: &["machine", "volume", "volumes-on", "image", "instance"],
    run,
    show,
};

fn run(c: Cmd<'_>, cmd: &str, a: &Args<'_>) -> Out {
    match cmd {
        "machine-register" | "machine-labels" | "machine-put" => {
            let m: MachineId = a.id_at(0)?;
            let spec = MachineSpec {
                labels: a.labels("labels")?,
                device: a.get("device").map(id).transpose()?,
            };
            match cmd {
                "machine-register" => {
                    c.mutate(|s, by, ts, _, tx| s.register_machine(by, &m, spec, ts, tx))
                }
                "machine-labels" => {
                    c.mutate(|s, by, ts, _, tx| s.set_machine_spec(by, &m, spec, ts, tx))
                }
                _ => {
                    let report = a.get("state").map(|_| machine_report(a)).transpose()?;
                    c.mutate(|s, by, ts, _, tx| s.put_machine(by, &m, spec, report, ts, tx))
                }
            }
        }
        "machine-state" => {
            let m: MachineId = a.id_at(0)?;
            let to = state(a.p(1)?)?;
            c.mutate(|s, by, ts, _, tx| s.set_machine_state(by, &m, to, ts, tx))
        }
        "machine-report" => {
            let m: MachineId = a.id_at(0)?;
            let report = machine_report(a)?;
            c.mutate(|s, by, ts, _, tx| s.report_machine(by, &m, report, ts, tx))
        }
        "machine-remove" => c.delete(a.p(0)?, Model::remove_machine),
        "volume-create" | "volume-create-placed" => {
            let v: VolumeId = a.id_at(0)?;
            let source = match (a.get("image"), a.get("from-volume")) {
                (Some(i), _) => Some(Source::Image(id(i)?)),
                (_, Some(v)) => Some(Source::Volume(id(v)?)),
                _ => None,
            };
            let spec = volume_spec(a)?;
            if cmd == "volume-create" {
                c.mutate(|s, by, ts, _, tx| s.create_volume(by, &v, spec, source, ts, tx))
            } else {
                let now = a.n_or("now", 0)?;
                c.mutate(|s, by, ts, _, tx| {
                    s.create_and_place_volume(by, &v, spec, source, now, ts, tx)
                })
            }
        }
        "volume-place" => {
            let v: VolumeId = a.id_at(0)?;
            let now = a.n_or("now", 0)?;
            c.mutate(|s, by, ts, _, tx| s.place_volume(by, &v, now, ts, tx))
        }
        "volume-retry" => {
            let v: VolumeId = a.id_at(0)?;
            c.mutate(|s, by, ts, _, tx| s.retry_volume(by, &v, ts, tx))
        }
        "volume-spec" => {
            let v: VolumeId = a.id_at(0)?;
            let spec = volume_spec(a)?;
            c.mutate(|s, by, ts, _, tx| s.update_volume_spec(by, &v, spec, ts, tx))
        }
        "volume-assign" => {
            let (v, m): (VolumeId, MachineId) = (a.id_at(0)?, a.id_at(1)?);
            c.mutate(|s, by, ts, _, tx| s.assign_volume(by, &v, &m, ts, tx))
        }
        "volume-state" => {
            let v: VolumeId = a.id_at(0)?;
            let to = state(a.p(1)?)?;
            c.mutate(|s, by, ts, _, tx| s.set_volume_state(by, &v, to, ts, tx))
        }
        "volume-resize" | "volume-move" | "volume-clone" => {
            let v: VolumeId = a.id_at(0)?;
            let op = match cmd {
                "volume-resize" => VolumeOp::Resize {
                    size_bytes: a.n_or("size", 0)?,
                    dilation_percent: a.n_or("dilation", 0)?,
                },
                "volume-move" => VolumeOp::Move { to: a.id_at(1)? },
                _ => VolumeOp::Clone {
                    into: a.id_at(1)?,
                    name: id(a.get("name").unwrap_or(a.p(1)?))?,
                    size_bytes: a.n_or("size", 0)?,
                    dilation_percent: a.n_or("dilation", 0)?,
                },
            };
            c.mutate(|s, by, ts, _, tx| s.begin_volume_op(by, &v, op, ts, tx))
        }
        "volume-report" => {
            let v: VolumeId = a.id_at(0)?;
            let report = VolumeReport {
                state: state(a.s("state")?)?,
                used_bytes: a.n_or("used", 0)?,
                limit_bytes: a.n_or("limit", 0)?,
                initialized: a.get("initialized") == Some("true"),
                degraded: a.get("degraded") == Some("true"),
                reason: a.text("reason").unwrap_or_default(),
                nested: paths(a.get("nested")),
            };
            c.mutate(|s, by, ts, _, tx| s.report_volume(by, &v, report, ts, tx))
        }
        "volume-purge" => c.delete(a.p(0)?, Model::purge_volume),
        "image-create" => {
            let i: ImageId = a.id_at(0)?;
            let origin = match (a.get("volume"), a.get("url")) {
                (Some(v), _) => ImageOrigin::Volume(id(v)?),
                (_, Some(u)) => ImageOrigin::Url(u.to_string()),
                _ => ImageOrigin::Url(String::new()),
            };
            let spec = ImageSpec {
                name: a.text("name").unwrap_or_default(),
                size_bytes: a.n_or("size", 0)?,
                origin,
                home: a.get("home").map(id).transpose()?,
            };
            c.mutate(|s, by, ts, _, tx| s.create_image(by, &i, spec, ts, tx))
        }
        "image-replica-add" | "image-replica-remove" => {
            let i: ImageId = a.id_at(0)?;
            let replica = ImageReplica {
                pool: a.id("pool")?,
                volume: a.id("volume")?,
            };
            if cmd == "image-replica-add" {
                c.mutate(|s, by, _, _, tx| s.add_image_replica(by, &i, replica, tx))
            } else {
                c.mutate(|s, by, _, _, tx| s.remove_image_replica(by, &i, &replica, tx))
            }
        }
        "image-delete" => c.delete(a.p(0)?, Model::delete_image),
        "instance-create" => {
            let i: InstanceId = a.id_at(0)?;
            let spec = InstanceSpec {
                name: a.text("name").unwrap_or_default(),
            };
            c.mutate(|s, by, ts, _, tx| s.create_instance(by, &i, spec, ts, tx))
        }
        "instance-attach" | "instance-detach" => {
            let (i, v): (InstanceId, VolumeId) = (a.id_at(0)?, a.id_at(1)?);
            if cmd == "instance-attach" {
                c.mutate(|s, by, _, _, tx| s.attach_disk(by, &i, &v, tx))
            } else {
                c.mutate(|s, by, _, _, tx| s.detach_disk(by, &i, &v, tx))
            }
        }
        "instance-state" => {
            let i: InstanceId = a.id_at(0)?;
            let to = state(a.p(1)?)?;
            c.mutate(|s, by, ts, _, tx| s.set_instance_state(by, &i, to, ts, tx))
        }
        "instance-delete" => c.delete(a.p(0)?, Model::delete_instance),
        other => Err(format!("unknown command {other}")),
    }
}

fn show(m: &Model, what: &str, a: &Args<'_>) -> Out {
    let s = &m.storage;
    Ok(match what {
        "machine" => {
            let id: MachineId = a.id_at(1)?;
            match s.machine(&id) {
                None => "absent".into(),
                Some(m) => format!(
                    "desired={} current={} capacity={} used={} labels={} reserved={}{}",
                    m.desired_state(),
                    opt(m.current().map(|c| c.state)),
                    opt(m.current().map(|c| c.capacity_bytes)),
                    opt(m.current().map(|c| c.used_bytes)),
                    commas(m.spec().map(|s| s.labels.clone()).unwrap_or_default()),
                    s.reserved_bytes(&id),
                    listed(" orphans=", m.current().map_or(&[][..], |c| &c.orphans)),
                ),
            }
        }
        "volume" => match s.volume(&a.id_at(1)?) {
            None => "absent".into(),
            Some(v) => {
                let d = v.desired();
                let spec = v.spec().ok_or("volume without a spec")?;
                format!(
                    "desired={} op={} assigned={} current={} init={} used={} size={} quota={} source={}",
                    d.state,
                    op(d.op.as_deref()),
                    commas(v.assigned()),
                    opt(v.current().map(|c| {
                        let r = &c.report;
                        let why = if r.reason.is_empty() {
                            String::new()
                        } else {
                            format!("({})", r.reason)
                        };
                        let nested = listed(" nested=", &r.nested);
                        format!("{}@{}{why}{nested}", r.state, c.machine)
                    })),
                    v.is_initialized(),
                    opt(v.current().map(|c| c.report.used_bytes)),
                    spec.size_bytes,
                    opt(v.quota_bytes()),
                    source(v.source()),
                )
            }
        },
        "volumes-on" => commas(s.volumes_on(&a.id_at(1)?).map(|(id, _)| id)),
        "image" => match s.image(&a.id_at(1)?) {
            None => "absent".into(),
            Some(i) => {
                let spec = i.spec().ok_or("image without a spec")?;
                format!(
                    "name={} size={} replicas={}{}",
                    spec.name,
                    spec.size_bytes,
                    commas(i.replicas().map(|r| format!("{}/{}", r.pool, r.volume))),
                    spec.home
                        .as_ref()
                        .map_or_else(String::new, |h| format!(" home={h}")),
                )
            }
        },
        _ => match s.instance(&a.id_at(1)?) {
            None => "absent".into(),
            Some(i) => format!("state={} disks={}", i.state(), commas(i.disks())),
        },
    })
}

/// A state of any state machine, by name.
fn state<S: StateMachine>(s: &str) -> Result<S, String> {
    S::parse(s).ok_or_else(|| format!("unknown {} state {s}", S::ENTITY))
}

fn machine_report(a: &Args<'_>) -> Result<MachineReport, String> {
    Ok(MachineReport {
        state: state(a.s("state")?)?,
        capacity_bytes: a.n_or("capacity", 0)?,
        used_bytes: a.n_or("used", 0)?,
        orphans: paths(a.get("orphans")),
    })
}

/// ` label=a,b` for a non-empty list, nothing for an empty one (so outputs written before the
/// list existed stay as they were).
fn listed(label: &str, items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!("{label}{}", items.join(","))
    }
}

/// A comma-separated list of paths (`orphans=a,b/c`), none when absent.
fn paths(list: Option<&str>) -> Vec<String> {
    list.map_or_else(Vec::new, |l| l.split(',').map(str::to_owned).collect())
}

fn volume_spec(a: &Args<'_>) -> Result<VolumeSpec, String> {
    Ok(VolumeSpec {
        name: id(a.get("name").unwrap_or(a.p(0)?))?,
        size_bytes: a.n_or("size", 0)?,
        dilation_percent: a.n_or("dilation", 0)?,
        permissions: Permissions {
            uid: a.n_or("uid", 0)?,
            gid: a.n_or("gid", 0)?,
            mode: a.get("mode").map_or(Ok(0o755), |m| {
                u32::from_str_radix(m, 8).map_err(|_| format!("bad mode {m}"))
            })?,
        },
        labels: a.labels("labels")?,
        require_labels: a.labels("require")?,
        tenant: a.get("tenant").map(id).transpose()?,
    })
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
        }) => format!("resize:{size_bytes}+{dilation_percent}%"),
        Some(VolumeOp::Move { to }) => format!("move:{to}"),
        Some(VolumeOp::Clone { into, .. }) => format!("clone:{into}"),
    }
}

/// The scenario lines that take volume `v1` to desired state `s` by the shortest path, with
/// machines m1 and m2 ready (both labelled `ssd`).
pub(crate) fn desired_path(s: VolumeState) -> String {
    let mut p = vec![
        "a machine-register m1 labels=ssd => ok",
        "a machine-register m2 labels=ssd => ok",
        "a machine-report m1 state=ready capacity=1000 by=agent:m1 => ok",
        "a machine-report m2 state=ready capacity=1000 by=agent:m2 => ok",
        "a volume-create v1 size=10 dilation=0 => ok",
    ];
    let rest: &[&str] = match s {
        VolumeState::Scheduling => &[],
        VolumeState::Ready => &["a volume-assign v1 m1 => ok"],
        VolumeState::Pending => &[
            "a volume-assign v1 m1 => ok",
            "a volume-state v1 pending => ok",
        ],
        VolumeState::Resizing => &[
            "a volume-assign v1 m1 => ok",
            "a volume-state v1 pending => ok",
            "a volume-resize v1 size=20 dilation=0 => ok",
        ],
        VolumeState::Moving => &[
            "a volume-assign v1 m1 => ok",
            "a volume-state v1 pending => ok",
            "a volume-move v1 m2 => ok",
        ],
        VolumeState::Cloning => &[
            "a volume-assign v1 m1 => ok",
            "a volume-state v1 pending => ok",
            "a volume-clone v1 v2 size=10 dilation=0 => ok",
        ],
        VolumeState::Deleting => &["a volume-state v1 deleting => ok"],
        VolumeState::Gone => &[
            "a volume-state v1 deleting => ok",
            "a volume-state v1 gone => ok",
        ],
        VolumeState::Rejected | VolumeState::Failed => panic!("{s} is reported, never desired"),
    };
    p.extend_from_slice(rest);
    p.join("\n")
}
