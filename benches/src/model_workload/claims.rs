//! The claims workload: a physical layer whose devices are the capacity, an infrastructure
//! over its datacenters, tenants (some with constraints, some with quotas, one with both),
//! resource profiles, and thousands of reservations and maintenance windows spread over a
//! year, each admitted by the model's own fit check.
//!
//! Maintenance windows are created before the reservations. The final state does not depend
//! on the order; admitting a maintenance window re-checks every pool that any reservation
//! draws from, which is cheapest while the pools are still empty.

use super::{Clock, ModelConfig, build_physical, replica_id};
use horao_crdt::Replica;
use horao_model::claims::{ClaimId, MaintenanceSpec, ReservationRequest, ReservationSpec, Window};
use horao_model::logical::{
    Capacity, Constraint, Dimension, InfraId, InfraInfo, Membership, ProfileId, ProfileSpec,
    TenantId, TenantInfo,
};
use horao_model::model::Model;
use horao_model::physical::{DatacenterId, DeviceId, DeviceKind, DiskClass};
use horao_model::{Actor, Error, Result};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// One hour, in the claims' time unit (seconds).
const HOUR: u64 = 3_600;
/// One day.
const DAY: u64 = 24 * HOUR;

/// Tenant names; more tenants reuse them with a number.
const TENANTS: [&str; 12] = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "aperture",
];

/// Sizes of the claims workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsConfig {
    /// The capacity: datacenters, rows, racks and devices (its machines and volumes are
    /// ignored).
    pub physical: ModelConfig,
    /// Tenants; the first has constraints and quotas (its claims draw from three pools), the
    /// next two constraints only, the next three quotas only.
    pub tenants: usize,
    /// Reservations.
    pub reservations: usize,
    /// Maintenance windows.
    pub maintenance: usize,
    /// Length of the period the claims are spread over, in seconds.
    pub horizon: u64,
    /// RNG seed.
    pub seed: u64,
}

impl ClaimsConfig {
    /// The scale of the performance goal: 10,000 claims (9,000 reservations and 1,000
    /// maintenance windows) over a year, against 2 datacenters of 15 racks (1,200 devices).
    pub fn goal() -> Self {
        Self {
            physical: ModelConfig {
                datacenters: 2,
                rows_per_datacenter: 3,
                racks_per_row: 5,
                devices: 1_200,
                machines: 0,
                volumes: 0,
                ..ModelConfig::goal()
            },
            tenants: 12,
            reservations: 9_000,
            maintenance: 1_000,
            horizon: 365 * DAY,
            seed: super::SEED,
        }
    }

    /// A small scenario of the same shape (200 claims, 80 devices), for tests and
    /// `cargo bench -- --test`.
    pub fn small() -> Self {
        Self {
            physical: ModelConfig {
                datacenters: 1,
                rows_per_datacenter: 1,
                racks_per_row: 2,
                devices: 80,
                machines: 0,
                volumes: 0,
                ..ModelConfig::small()
            },
            tenants: 6,
            reservations: 180,
            maintenance: 20,
            horizon: 365 * DAY,
            seed: super::SEED,
        }
    }
}

/// A built claims scenario and the queries the benchmarks ask of it.
pub struct BuiltClaims {
    /// The replica every mutation went through.
    pub replica: Replica<Model>,
    /// The clock after the last mutation.
    pub clock: Clock,
    /// A reservation of the first tenant (three pools) that fits: the fit-query probe.
    pub probe: ReservationSpec,
    /// A reservation of the last tenant (the infrastructure pool only) that fits.
    pub probe_one_pool: ReservationSpec,
    /// An earliest-start search for a week of the first tenant's capacity.
    pub request: ReservationRequest,
    /// A maintenance window of two hosts for a day in the middle of the period: the
    /// admission check of a maintenance window.
    pub probe_maintenance: MaintenanceSpec,
    /// Reservation attempts refused because they did not fit (each was redrawn).
    pub refused: usize,
}

impl BuiltClaims {
    /// The model's state.
    pub fn model(&self) -> &Model {
        self.replica.state()
    }
}

fn profiles() -> Vec<(&'static str, &'static str, Capacity, u32)> {
    use Dimension::*;
    vec![
        (
            "vm-small",
            "Small VM",
            Capacity::from_pairs([(Cores, 2), (RamMib, 8_192), (Disk(DiskClass::Nvme), 50)]),
            64,
        ),
        (
            "vm-large",
            "Large VM",
            Capacity::from_pairs([(Cores, 16), (RamMib, 65_536), (Disk(DiskClass::Nvme), 500)]),
            16,
        ),
        (
            "gpu-node",
            "GPU node (4x H100)",
            Capacity::from_pairs([
                (Cores, 32),
                (RamMib, 262_144),
                (Accelerators, 4),
                (Disk(DiskClass::Nvme), 1_000),
            ]),
            4,
        ),
        (
            "object-store",
            "Object storage node",
            Capacity::from_pairs([(Cores, 4), (RamMib, 16_384), (Disk(DiskClass::Hdd), 32_000)]),
            8,
        ),
        (
            "net-edge",
            "Network edge appliance",
            Capacity::from_pairs([(Cores, 8), (RamMib, 16_384), (NetworkMbps, 20_000)]),
            8,
        ),
    ]
}

fn window(rng: &mut impl Rng, horizon: u64, durations: &[u64]) -> Window {
    let duration = durations.choose(rng).copied().unwrap_or(DAY);
    let start = rng.random_range(0..horizon.saturating_sub(duration).max(1));
    Window {
        start,
        end: start + duration,
    }
}

/// Builds the claims scenario of `cfg`.
pub fn build_claims(cfg: &ClaimsConfig) -> Result<BuiltClaims> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut r: Replica<Model> = Replica::new(replica_id(&mut rng));
    r.set_max_log_entries(cfg.physical.max_log_entries);
    r.set_max_log_bytes(cfg.physical.max_log_bytes);
    let mut clock = Clock::default();
    let devices = build_physical(&mut r, &cfg.physical, &mut clock, &mut rng)?;
    let hosts: Vec<DeviceId> = devices
        .into_iter()
        .filter(|(_, k)| k.contributes_capacity() && *k != DeviceKind::Chassis)
        .map(|(d, _)| d)
        .collect();

    let by = Actor::User;
    let infra = InfraId::new("prod-eu")?;
    let ts = clock.tick();
    r.try_mutate(|m, tx| {
        let info = InfraInfo {
            name: "Production EU".into(),
        };
        m.create_infrastructure(&by, &infra, info, ts, tx)
    })?;
    let dcs: Vec<DatacenterId> = r.state().physical.datacenters.keys().cloned().collect();
    for dc in &dcs {
        r.try_mutate(|m, tx| m.set_member(&by, &infra, dc, Membership::Active, tx))?;
    }

    let mut tenants = Vec::with_capacity(cfg.tenants);
    for i in 0..cfg.tenants {
        let base = TENANTS[i % TENANTS.len()];
        let name = if i < TENANTS.len() {
            base.to_string()
        } else {
            format!("{base}{}", i / TENANTS.len() + 1)
        };
        let id = TenantId::new(format!("t-{name}"))?;
        let info = TenantInfo {
            name: format!("{}{} Corp.", name[..1].to_uppercase(), &name[1..]),
            owner: format!("ops@{name}.example"),
        };
        let ts = clock.tick();
        r.try_mutate(|m, tx| m.create_tenant(&by, &id, info, ts, tx))?;
        if i < 3 {
            let dc = Constraint::OnlyDatacenter(dcs[i % dcs.len()].clone());
            r.try_mutate(|m, tx| m.set_constraint(&by, &id, dc, true, tx))?;
        }
        if i == 0 || (3..6).contains(&i) {
            for (d, q) in [(Dimension::Cores, 12_000), (Dimension::Accelerators, 96)] {
                let ts = clock.tick();
                r.try_mutate(|m, tx| m.set_quota(&by, &id, d, Some(q), ts, tx))?;
            }
        }
        tenants.push(id);
    }

    let profiles: Vec<(ProfileId, u32)> = profiles()
        .into_iter()
        .map(|(id, name, demand, max_count)| {
            let id = ProfileId::new(id)?;
            let spec = ProfileSpec {
                name: name.into(),
                demand,
            };
            let ts = clock.tick();
            r.try_mutate(|m, tx| m.create_profile(&by, &id, spec, ts, tx))?;
            Ok((id, max_count))
        })
        .collect::<Result<_>>()?;

    const REASONS: [&str; 5] = [
        "BIOS and BMC firmware upgrade",
        "replace failed DIMM",
        "PDU swap",
        "kernel and microcode update",
        "NIC firmware upgrade",
    ];
    for i in 0..cfg.maintenance {
        let n = rng.random_range(1..=4);
        let devices: BTreeSet<DeviceId> = hosts.choose_multiple(&mut rng, n).cloned().collect();
        let spec = MaintenanceSpec {
            devices,
            window: window(&mut rng, cfg.horizon, &[2 * HOUR, 4 * HOUR, 8 * HOUR]),
            reason: REASONS[i % REASONS.len()].into(),
        };
        let id = ClaimId::new(format!("mw-{:05}", i + 1))?;
        let ts = clock.tick();
        r.try_mutate(|m, tx| m.create_maintenance(&by, &id, spec, ts, tx))?;
    }

    let durations = [
        HOUR,
        6 * HOUR,
        DAY,
        DAY,
        3 * DAY,
        7 * DAY,
        14 * DAY,
        30 * DAY,
    ];
    let mut refused = 0;
    let mut made = 0;
    while made < cfg.reservations {
        let (profile, max_count) = profiles[rng.random_range(0..profiles.len())].clone();
        let spec = ReservationSpec {
            infrastructure: infra.clone(),
            tenant: tenants[rng.random_range(0..tenants.len())].clone(),
            profile,
            count: rng.random_range(1..=max_count),
            window: window(&mut rng, cfg.horizon, &durations),
        };
        let id = ClaimId::new(format!("rsv-{:05}", made + 1))?;
        let ts = clock.tick();
        match r.try_mutate(|m, tx| m.create_reservation(&by, &id, spec, ts, tx)) {
            Ok(_) => made += 1,
            Err(Error::DoesNotFit { .. }) if refused < 4 * cfg.reservations => refused += 1,
            Err(e) => return Err(e),
        }
    }

    let first = tenants
        .first()
        .cloned()
        .ok_or_else(|| Error::invalid("workload.tenants", "at least one tenant is needed"))?;
    let last = tenants.last().cloned().unwrap_or_else(|| first.clone());
    let mid = cfg.horizon / 2;
    let probe = ReservationSpec {
        infrastructure: infra.clone(),
        tenant: first.clone(),
        profile: profiles[0].0.clone(),
        count: 1,
        window: Window {
            start: mid,
            end: mid + DAY,
        },
    };
    let probe_one_pool = ReservationSpec {
        tenant: last,
        ..probe.clone()
    };
    let probe_maintenance = MaintenanceSpec {
        devices: hosts.iter().take(2).cloned().collect(),
        window: Window {
            start: mid + 2 * DAY,
            end: mid + 3 * DAY,
        },
        reason: "probe".into(),
    };
    let request = ReservationRequest {
        infrastructure: infra,
        tenant: first,
        profile: profiles[1].0.clone(),
        count: 8,
        duration: 7 * DAY,
        not_before: 0,
        horizon: cfg.horizon,
    };
    Ok(BuiltClaims {
        replica: r,
        clock,
        probe,
        probe_one_pool,
        request,
        probe_maintenance,
        refused,
    })
}
