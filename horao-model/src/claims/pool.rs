//! Capacity pools: which pools a reservation draws from, each pool's scope of devices and its
//! capacity, and a pool's claims as plain lists for a horao-sched timeline.
//!
//! A reservation draws from up to three pools, and must fit each at every instant of its
//! window: its infrastructure (the total capacity of its active datacenters), its tenant's
//! constrained share of that infrastructure (when the tenant has constraints), and its
//! tenant's quota (when the tenant has quotas).

use super::{ClaimId, ReservationSpec, Window};
use crate::logical::{Capacity, Dimension, InfraId, Scope, TenantId};
use crate::model::Model;
use horao_sched::timeline::{Claim, ClaimKind, Timeline};
use std::fmt;

/// A capacity pool claims are fitted against.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Pool {
    /// All active datacenters of an infrastructure.
    Infrastructure(InfraId),
    /// A tenant's constrained share of an infrastructure.
    Tenant {
        /// The infrastructure.
        infrastructure: InfraId,
        /// The tenant.
        tenant: TenantId,
    },
    /// A tenant's quotas (across infrastructures).
    Quota(TenantId),
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pool::Infrastructure(i) => write!(f, "infrastructure {i}"),
            Pool::Tenant {
                infrastructure,
                tenant,
            } => write!(f, "tenant {tenant} in infrastructure {infrastructure}"),
            Pool::Quota(t) => write!(f, "quota of tenant {t}"),
        }
    }
}

/// A pool's inputs for a timeline: capacity, demands and removals, each over a window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolClaims {
    /// Capacity per dimension with nothing down.
    pub capacity: Capacity,
    /// Reservations: id, demand, window.
    pub reservations: Vec<(ClaimId, Capacity, Window)>,
    /// Capacity removed by maintenance, per merged window of one device.
    pub maintenance: Vec<(Capacity, Window)>,
}

impl PoolClaims {
    /// The horao-sched timeline of this pool.
    pub fn timeline(&self) -> Timeline {
        let mut t = Timeline::new(self.capacity.0.to_vec());
        let claim = |kind, c: &Capacity, w: &Window| Claim {
            kind,
            amount: c.0.to_vec(),
            start: w.start,
            end: w.end,
        };
        let reservations = self
            .reservations
            .iter()
            .map(|(_, c, w)| claim(ClaimKind::Reservation, c, w));
        let maintenance = self
            .maintenance
            .iter()
            .map(|(c, w)| claim(ClaimKind::Maintenance, c, w));
        // Windows and vector lengths are validated before they get here, so a claim is only
        // refused on input the model never produces; such a claim is left out rather than
        // panicking.
        let _ = t.add_all(reservations.chain(maintenance));
        t
    }
}

/// The pools a reservation of `tenant` in `infra` draws from.
pub(crate) fn pools_of(m: &Model, infra: &InfraId, tenant: &TenantId) -> Vec<Pool> {
    let mut pools = vec![Pool::Infrastructure(infra.clone())];
    if let Some(t) = m.logical.tenants.get(tenant) {
        if !t.constraints.is_empty() {
            pools.push(Pool::Tenant {
                infrastructure: infra.clone(),
                tenant: tenant.clone(),
            });
        }
        if !t.quotas.is_empty() {
            pools.push(Pool::Quota(tenant.clone()));
        }
    }
    pools
}

/// The scope of `pool`, or `None` for quota pools (which have no devices) and pools whose
/// infrastructure or tenant is gone.
pub(crate) fn scope_of(m: &Model, pool: &Pool) -> Option<Scope> {
    let infra = |i: &InfraId| m.infrastructure_scope(i).ok();
    match pool {
        Pool::Infrastructure(i) => infra(i),
        Pool::Tenant {
            infrastructure,
            tenant,
        } => m.tenant_scope(tenant, infra(infrastructure)?),
        Pool::Quota(_) => None,
    }
}

/// Whether the logical layer alone makes `pool` a pool some reservation could draw from: an
/// existing infrastructure, a constrained tenant's share of one, a tenant with quotas. Other
/// pools exist only while reservations naming them do.
pub(crate) fn is_standing(m: &Model, pool: &Pool) -> bool {
    let l = &m.logical;
    match pool {
        Pool::Infrastructure(i) => l.infrastructures.contains_key(i),
        Pool::Tenant {
            infrastructure,
            tenant,
        } => {
            l.infrastructures.contains_key(infrastructure)
                && l.tenants
                    .get(tenant)
                    .is_some_and(|t| !t.constraints.is_empty())
        }
        Pool::Quota(t) => l.tenants.get(t).is_some_and(|t| !t.quotas.is_empty()),
    }
}

/// Every standing pool (see [`is_standing`]), sorted.
pub(crate) fn standing_pools(m: &Model) -> Vec<Pool> {
    let l = &m.logical;
    let mut pools: Vec<Pool> = l
        .infrastructures
        .keys()
        .map(|i| Pool::Infrastructure(i.clone()))
        .collect();
    for (t, tenant) in l.tenants.iter() {
        if !tenant.constraints.is_empty() {
            pools.extend(l.infrastructures.keys().map(|i| Pool::Tenant {
                infrastructure: i.clone(),
                tenant: t.clone(),
            }));
        }
        if !tenant.quotas.is_empty() {
            pools.push(Pool::Quota(t.clone()));
        }
    }
    pools.sort();
    pools
}

/// The capacity of a quota pool: the quota per dimension, unlimited where none is set.
pub(crate) fn quota_capacity(m: &Model, t: &TenantId) -> Capacity {
    let tenant = m.logical.tenants.get(t);
    let mut c = Capacity::default();
    for d in Dimension::ALL {
        c.set(d, tenant.and_then(|t| t.quota(d)).unwrap_or(u64::MAX));
    }
    c
}

/// Whether reservation `r` counts against `pool`.
pub(crate) fn counts_in(pool: &Pool, r: &ReservationSpec) -> bool {
    match pool {
        Pool::Infrastructure(i) => &r.infrastructure == i,
        Pool::Tenant {
            infrastructure,
            tenant,
        } => &r.infrastructure == infrastructure && &r.tenant == tenant,
        Pool::Quota(t) => &r.tenant == t,
    }
}

/// The demand of a reservation (profile demand × count), if its profile exists.
pub(crate) fn demand_of(m: &Model, spec: &ReservationSpec) -> Option<Capacity> {
    let p = m.logical.profiles.get(&spec.profile)?.spec.get()?;
    Some(p.demand.times(u64::from(spec.count)))
}

/// What a reservation's demand counts as in `pool` of scope `scope`: a tenant's share leaves
/// out the disk classes the tenant may not use.
pub(crate) fn demand_in(pool: &Pool, scope: Option<&Scope>, demand: Capacity) -> Capacity {
    match scope {
        Some(s) if matches!(pool, Pool::Tenant { .. }) => demand.restrict(s.disk_classes.as_ref()),
        _ => demand,
    }
}
