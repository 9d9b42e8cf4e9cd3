//! Deterministic workloads of the horao-model benchmarks: a datacenter inventory with storage
//! machines and volumes at the scale of the model's performance goals, and (in [`claims`]) a
//! capacity scenario with thousands of reservations and maintenance windows.
//!
//! Everything is built the way the server builds it: each entity through the model's public
//! mutators, one [`Replica::try_mutate`] per request, so every entity carries the registers,
//! dots and order keys a real one carries, and the replica's delta log fills as it would.
//! Values look like a real inventory: ids such as `dc2-r07-k13-u21` and
//! `pvc-3f2a9c1e-8b7d-4c11-9e2f-6a5b4c3d2e1f`, labels such as `zone=dc2` (devices) and
//! `disk=nvme` (machines), servers with two sockets, NVMe disks and a BMC port, switches with
//! 54 ports. The replica id is a random `u64`, as a persisted one is. Everything is seeded:
//! one config builds one state, byte for byte.
//!
//! ```
//! use horao_bench::model_workload::{ModelConfig, build_model};
//!
//! let built = build_model(&ModelConfig::small()).unwrap();
//! let counts = built.counts();
//! assert_eq!(counts.devices, ModelConfig::small().devices);
//! ```

pub mod claims;

use horao_crdt::{Replica, ReplicaId, Timestamp};
use horao_model::ids::VolumeName;
use horao_model::model::Model;
use horao_model::physical::{
    Accelerator, At, Cpu, DatacenterId, DatacenterInfo, DeviceId, DeviceInfo, DeviceKind, Disk,
    DiskClass, Hardware, NewDevice, Nic, PlaceSpec, Port, RackId, RackInfo, RowId, RowInfo,
};
use horao_model::storage::{
    MachineId, MachineReport, MachineSpec, MachineState, Permissions, VolumeId, VolumeReport,
    VolumeSpec, VolumeState,
};
use horao_model::{Actor, Error, Label, Result};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seed every published figure uses.
pub const SEED: u64 = 0x4d4f_4445_4c00;

/// Physical time (ms) of the first mutation; each later one is a millisecond on.
const T0_MS: u64 = 1_700_000_000_000;

/// Height of every rack, in units.
pub const RACK_UNITS: u16 = 48;

/// Devices per full rack: 6 storage hosts (2 U), 32 servers (1 U) and 2 top-of-rack switches.
pub const DEVICES_PER_RACK: usize = 40;

/// City and site of the datacenters, in order (more datacenters reuse them with a suffix).
const SITES: [(&str, &str); 5] = [
    (
        "Frankfurt FR4",
        "Hanauer Landstrasse 300, Frankfurt am Main",
    ),
    ("Amsterdam AM7", "Kuiperbergweg 13, Amsterdam"),
    ("Paris PA3", "114 Rue Ambroise Croizat, Saint-Denis"),
    ("London LD8", "Sovereign House, 227 Marsh Wall, London"),
    ("Dublin DB2", "Unit 4027, Kingswood Road, Citywest, Dublin"),
];

/// Sizes of the inventory workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    /// Datacenters.
    pub datacenters: usize,
    /// Rows per datacenter.
    pub rows_per_datacenter: usize,
    /// Racks per row.
    pub racks_per_row: usize,
    /// Devices in all, filled rack by rack ([`DEVICES_PER_RACK`] per rack); must fit the racks.
    pub devices: usize,
    /// Storage machines (named after the first servers and storage hosts); at most the
    /// number of those devices.
    pub machines: usize,
    /// Volumes, each created, assigned to a machine carrying its filter labels and reported
    /// ready by that machine's agent.
    pub volumes: usize,
    /// Bound on the number of deltas in the replica's log (the server's default is
    /// [`horao_crdt::replica::DEFAULT_MAX_LOG_ENTRIES`]).
    pub max_log_entries: usize,
    /// Bound on the bytes of the replica's log (the server's default is
    /// [`horao_crdt::replica::DEFAULT_MAX_LOG_BYTES`]).
    pub max_log_bytes: usize,
    /// RNG seed.
    pub seed: u64,
}

impl ModelConfig {
    /// The scale of the performance goals: 5 datacenters × 10 rows × 25 racks holding 50,000
    /// devices, 10,000 machines and 100,000 volumes, with the server's default delta log.
    pub fn goal() -> Self {
        Self {
            datacenters: 5,
            rows_per_datacenter: 10,
            racks_per_row: 25,
            devices: 50_000,
            machines: 10_000,
            volumes: 100_000,
            max_log_entries: horao_crdt::replica::DEFAULT_MAX_LOG_ENTRIES,
            max_log_bytes: horao_crdt::replica::DEFAULT_MAX_LOG_BYTES,
            seed: SEED,
        }
    }

    /// A small model of the same shape (one datacenter, 200 devices, 50 machines, 500
    /// volumes), for tests and `cargo bench -- --test`.
    pub fn small() -> Self {
        Self {
            datacenters: 1,
            rows_per_datacenter: 2,
            racks_per_row: 3,
            devices: 200,
            machines: 50,
            volumes: 500,
            max_log_entries: horao_crdt::replica::DEFAULT_MAX_LOG_ENTRIES,
            max_log_bytes: horao_crdt::replica::DEFAULT_MAX_LOG_BYTES,
            seed: SEED,
        }
    }

    /// Racks in all.
    pub fn racks(&self) -> usize {
        self.datacenters * self.rows_per_datacenter * self.racks_per_row
    }
}

/// Entity counts read back from a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Datacenters.
    pub datacenters: usize,
    /// Rows.
    pub rows: usize,
    /// Racks.
    pub racks: usize,
    /// Devices.
    pub devices: usize,
    /// Storage machines.
    pub machines: usize,
    /// Volumes.
    pub volumes: usize,
    /// Volumes assigned to exactly one machine.
    pub assigned_volumes: usize,
    /// Reservations.
    pub reservations: usize,
    /// Maintenance windows.
    pub maintenance: usize,
}

impl Counts {
    /// Counts the entities of `m`.
    pub fn of(m: &Model) -> Self {
        Self {
            datacenters: m.physical.datacenters.len(),
            rows: m.physical.rows.len(),
            racks: m.physical.racks.len(),
            devices: m.physical.devices.len(),
            machines: m.storage.machines().count(),
            volumes: m.storage.volumes().count(),
            assigned_volumes: m
                .storage
                .volumes()
                .filter(|(_, v)| v.assigned().len() == 1)
                .count(),
            reservations: m.claims.reservation_specs().count(),
            maintenance: m.claims.maintenance_specs().count(),
        }
    }
}

/// Hands out strictly increasing timestamps, one millisecond apart.
#[derive(Clone, Debug)]
pub struct Clock(u64);

impl Default for Clock {
    fn default() -> Self {
        Self(T0_MS)
    }
}

impl Clock {
    /// The next timestamp.
    pub fn tick(&mut self) -> Timestamp {
        self.0 += 1;
        // T0_MS plus any realistic number of ticks fits the 48-bit millisecond field.
        Timestamp::new(self.0, 0).unwrap_or_default()
    }
}

/// A built inventory: the replica and the ids of what it holds, for queries and deltas.
pub struct BuiltModel {
    /// The replica every mutation went through.
    pub replica: Replica<Model>,
    /// The clock after the last mutation (keep using it for later writes).
    pub clock: Clock,
    /// Every device with its kind, in creation order.
    pub devices: Vec<(DeviceId, DeviceKind)>,
    /// Every machine, in creation order.
    pub machines: Vec<MachineId>,
    /// Every volume, in creation order, with its machine.
    pub volumes: Vec<(VolumeId, MachineId)>,
    /// Mutations performed (one `try_mutate` each).
    pub mutations: usize,
    /// The RNG after building, for callers that continue the workload.
    pub rng: ChaCha8Rng,
}

impl BuiltModel {
    /// The model's state.
    pub fn model(&self) -> &Model {
        self.replica.state()
    }

    /// Entity counts of the built model.
    pub fn counts(&self) -> Counts {
        Counts::of(self.model())
    }
}

/// A random replica id (never 0), as a server draws and persists one.
pub fn replica_id(rng: &mut impl Rng) -> ReplicaId {
    ReplicaId(rng.random_range(1..=u64::MAX))
}

/// A volume id shaped like a Kubernetes persistent volume name (40 bytes).
pub fn volume_id(rng: &mut impl Rng) -> Result<VolumeId> {
    let s = format!(
        "pvc-{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        rng.random::<u32>(),
        rng.random::<u16>(),
        rng.random::<u16>() & 0xfff,
        0x8000 | (rng.random::<u16>() & 0x3fff),
        rng.random::<u64>() & 0xffff_ffff_ffff,
    );
    VolumeId::new(s)
}

/// Parses labels (`key=value`).
fn labels(items: &[String]) -> Result<Vec<Label>> {
    items.iter().map(|l| Label::new(l)).collect()
}

/// What one slot of a rack holds.
struct Slot {
    kind: DeviceKind,
    unit: u16,
    height: u16,
    suffix: String,
}

/// The 40 slots of a full rack, bottom up: storage hosts, servers, then the two switches.
fn rack_slots() -> Vec<Slot> {
    let mut v = Vec::with_capacity(DEVICES_PER_RACK);
    for i in 0..6u16 {
        let unit = 1 + 2 * i;
        v.push(Slot {
            kind: DeviceKind::StorageHost,
            unit,
            height: 2,
            suffix: format!("u{unit:02}"),
        });
    }
    for i in 0..32u16 {
        let unit = 13 + i;
        v.push(Slot {
            kind: DeviceKind::Server,
            unit,
            height: 1,
            suffix: format!("u{unit:02}"),
        });
    }
    for (i, unit) in [47u16, 48].into_iter().enumerate() {
        v.push(Slot {
            kind: DeviceKind::Switch,
            unit,
            height: 1,
            suffix: format!("tor{}", i + 1),
        });
    }
    v
}

fn port(name: String, speed_mbps: u64) -> Port {
    Port { name, speed_mbps }
}

fn bmc() -> Nic {
    Nic {
        name: "bmc".into(),
        ports: vec![port("ipmi0".into(), 1_000)],
    }
}

/// Hardware of a device of `kind`; about one server in eight carries four GPUs.
pub fn hardware(kind: DeviceKind, rng: &mut impl Rng) -> Hardware {
    let dual_25g = Nic {
        name: "mlx0".into(),
        ports: vec![
            port("ens1f0np0".into(), 25_000),
            port("ens1f1np1".into(), 25_000),
        ],
    };
    match kind {
        DeviceKind::StorageHost => Hardware {
            cpus: vec![Cpu {
                cores: 24,
                clock_mhz: 2_800,
            }],
            ram_mib: 256 * 1024,
            disks: (0..12)
                .map(|_| Disk {
                    size_gib: 16_000,
                    class: DiskClass::Hdd,
                })
                .chain((0..2).map(|_| Disk {
                    size_gib: 1_920,
                    class: DiskClass::Ssd,
                }))
                .collect(),
            accelerators: Vec::new(),
            nics: vec![dual_25g, bmc()],
        },
        DeviceKind::Switch | DeviceKind::Router | DeviceKind::Firewall => Hardware {
            cpus: vec![Cpu {
                cores: 4,
                clock_mhz: 2_200,
            }],
            ram_mib: 16 * 1024,
            disks: vec![Disk {
                size_gib: 64,
                class: DiskClass::Ssd,
            }],
            accelerators: Vec::new(),
            nics: vec![
                Nic {
                    name: "asic0".into(),
                    ports: (1..=54)
                        .map(|i| port(format!("swp{i}"), if i > 48 { 100_000 } else { 25_000 }))
                        .collect(),
                },
                Nic {
                    name: "mgmt".into(),
                    ports: vec![port("eth0".into(), 1_000)],
                },
            ],
        },
        _ => {
            let gpus = rng.random_ratio(1, 8);
            Hardware {
                cpus: vec![
                    Cpu {
                        cores: 32,
                        clock_mhz: 2_450,
                    };
                    2
                ],
                ram_mib: if gpus { 1024 * 1024 } else { 512 * 1024 },
                disks: vec![
                    Disk {
                        size_gib: 3_840,
                        class: DiskClass::Nvme,
                    };
                    2
                ],
                accelerators: if gpus {
                    vec![
                        Accelerator {
                            model: "h100".into(),
                            memory_mib: 80 * 1024,
                        };
                        4
                    ]
                } else {
                    Vec::new()
                },
                nics: vec![dual_25g, bmc()],
            }
        }
    }
}

fn model_name(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::StorageHost => "PowerEdge R760xd2",
        DeviceKind::Switch | DeviceKind::Router | DeviceKind::Firewall => "SN2410",
        _ => "ProLiant DL360 Gen11",
    }
}

/// Builds the physical layer of `cfg`: datacenters, rows, racks and devices. Returns the
/// devices with their kinds, in creation order.
pub fn build_physical(
    r: &mut Replica<Model>,
    cfg: &ModelConfig,
    clock: &mut Clock,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<(DeviceId, DeviceKind)>> {
    if cfg.devices > cfg.racks() * DEVICES_PER_RACK {
        return Err(Error::invalid(
            "workload.devices",
            format!("{} devices do not fit {} racks", cfg.devices, cfg.racks()),
        ));
    }
    let by = Actor::User;
    let slots = rack_slots();
    let mut devices = Vec::with_capacity(cfg.devices);
    for d in 0..cfg.datacenters {
        let dc = DatacenterId::new(format!("dc{}", d + 1))?;
        let (name, site) = SITES[d % SITES.len()];
        let info = DatacenterInfo {
            name: if d < SITES.len() {
                name.to_string()
            } else {
                format!("{name} {}", d / SITES.len() + 1)
            },
            site: site.to_string(),
        };
        let dc_labels = labels(&[format!("region=eu-{}", d % 3 + 1), "tier=3".into()])?;
        let ts = clock.tick();
        r.try_mutate(|m, tx| m.create_datacenter(&by, &dc, info, &dc_labels, ts, tx))?;
        for w in 0..cfg.rows_per_datacenter {
            let row = RowId::new(format!("{dc}-r{:02}", w + 1))?;
            let info = RowInfo {
                name: format!("Row {}", (b'A' + (w % 26) as u8) as char),
            };
            let ts = clock.tick();
            r.try_mutate(|m, tx| m.create_row(&by, &row, &dc, info, &At::End, ts, rng, tx))?;
            for k in 0..cfg.racks_per_row {
                if devices.len() >= cfg.devices {
                    break;
                }
                let rack = RackId::new(format!("{row}-k{:02}", k + 1))?;
                let info = RackInfo {
                    name: format!("{}{:02}", row.as_str().to_uppercase(), k + 1),
                    height_units: RACK_UNITS,
                };
                let rack_labels =
                    labels(&[format!("power=pdu-{}", k % 4 + 1), "cooling=air".into()])?;
                let ts = clock.tick();
                r.try_mutate(|m, tx| {
                    m.create_rack(&by, &rack, &row, info, &rack_labels, &At::End, ts, rng, tx)
                })?;
                for slot in slots.iter().take(cfg.devices - devices.len()) {
                    let id = DeviceId::new(format!("{rack}-{}", slot.suffix))?;
                    let role = match slot.kind {
                        DeviceKind::StorageHost => "role=storage",
                        DeviceKind::Switch => "role=tor",
                        _ => "role=compute",
                    };
                    let new = NewDevice {
                        info: DeviceInfo {
                            name: id.as_str().to_string(),
                            kind: slot.kind,
                            model: model_name(slot.kind).into(),
                            height_units: slot.height,
                        },
                        place: PlaceSpec::Rack {
                            rack: rack.clone(),
                            unit: slot.unit,
                            at: At::End,
                        },
                        hardware: hardware(slot.kind, rng),
                        labels: labels(&[role.into(), format!("zone={dc}"), "env=prod".into()])?,
                    };
                    let ts = clock.tick();
                    r.try_mutate(|m, tx| m.create_device(&by, &id, new, ts, rng, tx))?;
                    devices.push((id, slot.kind));
                }
            }
        }
    }
    Ok(devices)
}

/// The storage tier label of a machine (by its index).
fn tier(i: usize) -> &'static str {
    ["tier=gold", "tier=silver", "tier=silver", "tier=bronze"][i % 4]
}

/// Builds the whole inventory of `cfg`: the physical layer, then the machines (registered by
/// a user, reported ready with capacity and usage by their agents), then the volumes (created
/// by a user, assigned by the server, reported ready by the machine's agent).
pub fn build_model(cfg: &ModelConfig) -> Result<BuiltModel> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut r: Replica<Model> = Replica::new(replica_id(&mut rng));
    r.set_max_log_entries(cfg.max_log_entries);
    r.set_max_log_bytes(cfg.max_log_bytes);
    let mut clock = Clock::default();
    let devices = build_physical(&mut r, cfg, &mut clock, &mut rng)?;
    let p = &r.state().physical;
    let mut mutations = p.datacenters.len() + p.rows.len() + p.racks.len() + p.devices.len();

    // Machines are servers and storage hosts spread evenly over the devices.
    let hosts: Vec<&(DeviceId, DeviceKind)> = devices
        .iter()
        .filter(|(_, k)| k.contributes_capacity())
        .collect();
    if hosts.len() < cfg.machines {
        return Err(Error::invalid(
            "workload.machines",
            format!("only {} hosts for {} machines", hosts.len(), cfg.machines),
        ));
    }
    let mut machines = Vec::with_capacity(cfg.machines);
    let mut machine_labels: Vec<Vec<Label>> = Vec::with_capacity(cfg.machines);
    for i in 0..cfg.machines {
        let (dev, kind) = hosts[i * hosts.len() / cfg.machines];
        let id = MachineId::new(dev.as_str())?;
        let s = dev.as_str();
        let rack = &s[..s.rfind('-').unwrap_or(s.len())];
        let dc = &s[..s.find('-').unwrap_or(s.len())];
        let disk = if *kind == DeviceKind::StorageHost {
            "disk=hdd"
        } else {
            "disk=nvme"
        };
        // Same byte lengths as the `zone:dc1` labels the published figures were measured with.
        let spec = MachineSpec {
            labels: labels(&[
                format!("zone={dc}"),
                format!("rack={rack}"),
                disk.to_string(),
                tier(i).to_string(),
            ])?,
            device: Some(dev.clone()),
        };
        let ts = clock.tick();
        r.try_mutate(|m, tx| m.register_machine(&Actor::User, &id, spec.clone(), ts, tx))?;
        let capacity_bytes = if disk == "disk=nvme" {
            7_680 * (1 << 30)
        } else {
            192_000 * (1 << 30)
        };
        let report = MachineReport {
            state: MachineState::Ready,
            capacity_bytes,
            used_bytes: rng.random_range(0..capacity_bytes / 2),
            orphans: Vec::new(),
        };
        let agent = Actor::Agent(id.clone());
        let ts = clock.tick();
        r.try_mutate(|m, tx| m.report_machine(&agent, &id, report, ts, tx))?;
        machine_labels.push(spec.labels);
        machines.push(id);
        mutations += 2;
    }

    let mut volumes = Vec::with_capacity(cfg.volumes);
    for _ in 0..cfg.volumes {
        let Some(mut mi) = (!machines.is_empty()).then(|| rng.random_range(0..machines.len()))
        else {
            break;
        };
        let id = volume_id(&mut rng)?;
        // Required labels are 0 to 2 labels the chosen machine carries (zone and disk, mostly).
        let required = rng.random_range(0..4);
        let size_bytes = [1u64, 8, 20, 50, 100, 250, 500, 1_000]
            .choose(&mut rng)
            .copied()
            .unwrap_or(1)
            * (1 << 30);
        let dilation_percent = [0, 10, 20, 50][rng.random_range(0..4)];
        // A machine whose volumes leave no room for this one passes it to the next.
        let quota = horao_model::storage::quota_bytes(size_bytes, dilation_percent).unwrap_or(0);
        for _ in 0..machines.len() {
            let s = &r.state().storage;
            let capacity = s
                .machine(&machines[mi])
                .and_then(|m| m.current())
                .map_or(0, |c| c.capacity_bytes);
            if capacity.saturating_sub(s.reserved_bytes(&machines[mi])) >= quota {
                break;
            }
            mi = (mi + 1) % machines.len();
        }
        let machine = machines[mi].clone();
        let carried = &machine_labels[mi];
        let require_labels: Vec<Label> = match required {
            0 => Vec::new(),
            1 => vec![carried[2].clone()],
            _ => vec![carried[0].clone(), carried[2].clone()],
        };
        let spec = VolumeSpec {
            // A volume is named as Kubernetes names a persistent volume: like its id.
            name: VolumeName::new(id.as_str())?,
            size_bytes,
            dilation_percent,
            permissions: Permissions {
                uid: 1_000 + rng.random_range(0..500),
                gid: 1_000 + rng.random_range(0..50),
                mode: if rng.random_bool(0.8) { 0o750 } else { 0o2775 },
            },
            labels: Vec::new(),
            require_labels,
            tenant: None,
        };
        let ts = clock.tick();
        r.try_mutate(|m, tx| m.create_volume(&Actor::User, &id, spec, None, ts, tx))?;
        let ts = clock.tick();
        r.try_mutate(|m, tx| m.assign_volume(&Actor::Server, &id, &machine, ts, tx))?;
        let report = VolumeReport {
            limit_bytes: quota,
            ..VolumeReport::new(VolumeState::Ready, rng.random_range(0..size_bytes), true)
        };
        let agent = Actor::Agent(machine.clone());
        let ts = clock.tick();
        r.try_mutate(|m, tx| m.report_volume(&agent, &id, report, ts, tx))?;
        volumes.push((id, machine));
        mutations += 3;
    }
    Ok(BuiltModel {
        replica: r,
        clock,
        devices,
        machines,
        volumes,
        mutations,
        rng,
    })
}
