//! Translates the model into horao-sched timelines: which capacity pools a claim draws from,
//! each pool's capacity, and the reservations and maintenance windows that count against it.
//!
//! A reservation draws from up to three pools, and must fit each at every instant of its
//! window: its infrastructure (the total capacity of its active datacenters), its tenant's
//! constrained share of that infrastructure (when the tenant has constraints), and its
//! tenant's quota (when the tenant has quotas). Capacity is aggregated per dimension: the
//! logical layer promises coarse amounts; placing them on nodes is the scheduler's job.
//! Maintenance removes each device's capacity while any of its windows is open (overlapping
//! windows on one device are merged, so a device is never removed twice).

use super::{ClaimId, MaintenanceSpec, ReservationRequest, ReservationSpec, Window};
use crate::error::{Error, Result};
use crate::logical::{
    Capacity, CapacityIndex, Constraint, DIMENSIONS, Dimension, InfraId, Scope, TenantId,
};
use crate::model::Model;
use crate::physical::DeviceId;
use horao_sched::timeline::{Fit, Timeline};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A capacity pool claims are fitted against.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
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
        // Windows and vector lengths are validated before they get here, so `add` only fails
        // on input the model never produces; such a claim is skipped rather than panicking.
        for (_, c, w) in &self.reservations {
            let _ = t.add_reservation(c.0.to_vec(), w.start, w.end);
        }
        for (c, w) in &self.maintenance {
            let _ = t.add_maintenance(c.0.to_vec(), w.start, w.end);
        }
        t
    }
}

/// Everything fit queries need, computed once from a model: device capacities and the merged
/// maintenance windows per device. Build one per model state and ask it many questions.
#[derive(Clone, Debug)]
pub struct FitContext<'m> {
    model: &'m Model,
    capacity: CapacityIndex,
    down: BTreeMap<DeviceId, Vec<Window>>,
}

/// Sorts and merges overlapping or touching windows.
fn merge(mut ws: Vec<Window>) -> Vec<Window> {
    ws.sort();
    let mut out: Vec<Window> = Vec::with_capacity(ws.len());
    for w in ws {
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

fn sched_error(e: horao_sched::Error) -> Error {
    Error::InvalidField {
        field: "claim".into(),
        reason: e.to_string(),
    }
}

impl<'m> FitContext<'m> {
    /// Indexes `model`'s devices and maintenance windows.
    pub fn new(model: &'m Model) -> Self {
        let mut down: BTreeMap<DeviceId, Vec<Window>> = BTreeMap::new();
        for (_, m) in model.claims.maintenance_specs() {
            for d in &m.devices {
                down.entry(d.clone()).or_default().push(m.window);
            }
        }
        let down = down.into_iter().map(|(d, ws)| (d, merge(ws))).collect();
        FitContext {
            model,
            capacity: CapacityIndex::build(&model.physical),
            down,
        }
    }

    /// Counts a maintenance window that is not (yet) in the model.
    pub fn include_maintenance(&mut self, m: &MaintenanceSpec) {
        for d in &m.devices {
            let ws = self.down.entry(d.clone()).or_default();
            ws.push(m.window);
            *ws = merge(std::mem::take(ws));
        }
    }

    /// The device capacities this context uses.
    pub fn capacity_index(&self) -> &CapacityIndex {
        &self.capacity
    }

    /// The demand of a reservation (profile demand × count), if its profile exists.
    pub fn demand(&self, spec: &ReservationSpec) -> Option<Capacity> {
        let p = self.model.logical.profiles.get(&spec.profile)?.spec.get()?;
        Some(p.demand.times(u64::from(spec.count)))
    }

    /// Refuses a demand for a disk class the tenant's constraints forbid. Fitting alone would
    /// not: the tenant's pool leaves such a class out (it has no capacity there) while the
    /// infrastructure pool counts it, so the claim could be admitted against disks the tenant
    /// may not use.
    fn check_disk_classes(&self, spec: &ReservationSpec, demand: &Capacity) -> Result<()> {
        let Some(tenant) = self.model.logical.tenants.get(&spec.tenant) else {
            return Ok(());
        };
        let Some(dim) = tenant.forbidden_disk(demand) else {
            return Ok(());
        };
        let allowed: Vec<String> = tenant
            .allowed_disks()
            .unwrap_or_default()
            .into_iter()
            .map(|c| Constraint::OnlyDiskClass(c).to_string())
            .collect();
        Err(Error::InvalidField {
            field: "reservation.profile".into(),
            reason: format!(
                "profile {} demands {dim}, which tenant {}'s constraints forbid (allowed: {})",
                spec.profile,
                spec.tenant,
                allowed.join(",")
            ),
        })
    }

    /// The scope of `pool`, or `None` for quota pools (which have no devices) and pools whose
    /// infrastructure or tenant is gone.
    fn scope(&self, pool: &Pool) -> Option<Scope> {
        let infra = |i: &InfraId| self.model.infrastructure_scope(i).ok();
        match pool {
            Pool::Infrastructure(i) => infra(i),
            Pool::Tenant {
                infrastructure,
                tenant,
            } => self.model.tenant_scope(tenant, infra(infrastructure)?),
            Pool::Quota(_) => None,
        }
    }

    /// The pools a reservation of `tenant` in `infra` draws from.
    pub fn pools_of(&self, infra: &InfraId, tenant: &TenantId) -> Vec<Pool> {
        let mut pools = vec![Pool::Infrastructure(infra.clone())];
        if let Some(t) = self.model.logical.tenants.get(tenant) {
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

    /// Every pool some claim currently draws from, sorted.
    pub fn all_pools(&self) -> Vec<Pool> {
        let mut pools: BTreeSet<Pool> = self
            .model
            .logical
            .infrastructures
            .keys()
            .map(|i| Pool::Infrastructure(i.clone()))
            .collect();
        for (_, r) in self.model.claims.reservation_specs() {
            pools.extend(self.pools_of(&r.infrastructure, &r.tenant));
        }
        pools.into_iter().collect()
    }

    /// The timeline inputs of `pool`, leaving out reservation `skip` (the one being replaced).
    pub fn pool_claims(&self, pool: &Pool, skip: Option<&ClaimId>) -> PoolClaims {
        let p = &self.model.physical;
        let mut out = PoolClaims::default();
        let scope = self.scope(pool);
        match (&scope, pool) {
            (Some(s), _) => {
                out.capacity = self.capacity.total(p, s);
                for (dev, windows) in &self.down {
                    if let Some((_, c)) = self.capacity.device(dev)
                        && self.capacity.in_scope(p, dev, s)
                    {
                        let c = c.restrict(s.disk_classes.as_ref());
                        out.maintenance.extend(windows.iter().map(|w| (c, *w)));
                    }
                }
            }
            (None, Pool::Quota(t)) => {
                let tenant = self.model.logical.tenants.get(t);
                for d in Dimension::ALL {
                    let q = tenant.and_then(|t| t.quota(d)).unwrap_or(u64::MAX);
                    out.capacity.set(d, q);
                }
            }
            (None, _) => {}
        }
        for (id, r) in self.model.claims.reservation_specs() {
            if Some(id) == skip {
                continue;
            }
            let counts = match pool {
                Pool::Infrastructure(i) => &r.infrastructure == i,
                Pool::Tenant {
                    infrastructure,
                    tenant,
                } => &r.infrastructure == infrastructure && &r.tenant == tenant,
                Pool::Quota(t) => &r.tenant == t,
            };
            if counts && let Some(d) = self.demand(r) {
                let d = match &scope {
                    Some(s) if matches!(pool, Pool::Tenant { .. }) => {
                        d.restrict(s.disk_classes.as_ref())
                    }
                    _ => d,
                };
                out.reservations.push((id.clone(), d, r.window));
            }
        }
        out
    }

    /// Checks that reservation `spec` (replacing reservation `id`, if it exists) asks only for
    /// disk classes its tenant may use, and fits every pool it draws from throughout its
    /// window.
    pub fn check_reservation(&self, id: Option<&ClaimId>, spec: &ReservationSpec) -> Result<()> {
        let demand = self.demand(spec).ok_or_else(|| Error::NotFound {
            kind: crate::logical::ProfileId::KIND,
            id: spec.profile.to_string(),
        })?;
        self.check_disk_classes(spec, &demand)?;
        for pool in self.pools_of(&spec.infrastructure, &spec.tenant) {
            let pc = self.pool_claims(&pool, id);
            let fit = pc
                .timeline()
                .fits(&demand.0, spec.window.start, spec.window.end)
                .map_err(sched_error)?;
            if let Fit::Overflow {
                dimension,
                at,
                needed,
                available,
            } = fit
            {
                return Err(Error::DoesNotFit {
                    pool: pool.to_string(),
                    dimension: dim_name(dimension),
                    at,
                    needed,
                    available,
                });
            }
        }
        Ok(())
    }

    /// Checks that every pool still holds its reservations during `window` (used after
    /// [`FitContext::include_maintenance`]).
    pub fn check_window(&self, window: Window) -> Result<()> {
        for pool in self.all_pools() {
            let pc = self.pool_claims(&pool, None);
            if pc.maintenance.is_empty() && matches!(pool, Pool::Quota(_)) {
                continue;
            }
            let fit = pc
                .timeline()
                .fits(&[0; DIMENSIONS], window.start, window.end)
                .map_err(sched_error)?;
            if let Fit::Overflow { dimension, at, .. } = fit {
                let t = pc.timeline();
                // Report what the reservations need against what is left at that instant.
                let used = usage_at(&pc, at)[dimension];
                let left = t.capacity()[dimension].saturating_sub(down_at(&pc, at)[dimension]);
                return Err(Error::DoesNotFit {
                    pool: pool.to_string(),
                    dimension: dim_name(dimension),
                    at,
                    needed: used,
                    available: left,
                });
            }
        }
        Ok(())
    }

    /// The earliest start `≥ req.not_before` at which `req` fits every pool it draws from for
    /// `req.duration`, ending by `req.horizon`; `None` when there is none. A demand for a disk
    /// class the tenant may not use is an error, as in [`FitContext::check_reservation`].
    pub fn earliest_start(&self, req: &ReservationRequest) -> Result<Option<u64>> {
        let spec = ReservationSpec {
            infrastructure: req.infrastructure.clone(),
            tenant: req.tenant.clone(),
            profile: req.profile.clone(),
            count: req.count,
            window: Window {
                start: req.not_before,
                end: req.not_before.saturating_add(req.duration),
            },
        };
        let demand = self.demand(&spec).ok_or_else(|| Error::NotFound {
            kind: crate::logical::ProfileId::KIND,
            id: spec.profile.to_string(),
        })?;
        self.check_disk_classes(&spec, &demand)?;
        let timelines: Vec<Timeline> = self
            .pools_of(&req.infrastructure, &req.tenant)
            .iter()
            .map(|p| self.pool_claims(p, None).timeline())
            .collect();
        // Each pool's earliest start is a lower bound for all; repeat until they agree. Every
        // round moves the candidate forward to a change point, so this ends.
        let mut start = req.not_before;
        loop {
            let mut next = start;
            for t in &timelines {
                match t
                    .earliest_start(&demand.0, req.duration, start, req.horizon)
                    .map_err(sched_error)?
                {
                    Some(s) => next = next.max(s),
                    None => return Ok(None),
                }
            }
            if next == start {
                return Ok(Some(start));
            }
            start = next;
        }
    }
}

fn dim_name(i: usize) -> String {
    Dimension::ALL
        .get(i)
        .map_or_else(|| format!("dimension {i}"), |d| d.name().to_string())
}

fn usage_at(pc: &PoolClaims, at: u64) -> [u64; DIMENSIONS] {
    let mut u = Capacity::default();
    for (_, c, w) in &pc.reservations {
        if w.start <= at && at < w.end {
            u.add(c);
        }
    }
    u.0
}

fn down_at(pc: &PoolClaims, at: u64) -> [u64; DIMENSIONS] {
    let mut u = Capacity::default();
    for (c, w) in &pc.maintenance {
        if w.start <= at && at < w.end {
            u.add(c);
        }
    }
    u.0
}
