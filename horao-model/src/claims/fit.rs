//! Fit queries: does a reservation fit every pool it draws from, where is the earliest window
//! it fits, and do the pools still hold their reservations with more devices down.
//!
//! Capacity is aggregated per dimension: the logical layer promises coarse amounts; placing
//! them on nodes is the scheduler's job. Maintenance removes each device's capacity while any
//! of its windows is open (overlapping windows on one device are merged, so a device is never
//! removed twice). Queries answer from the model's derived fit index (built on the first
//! query, then patched delta by delta), so a query against thousands of claims asks a built
//! timeline per pool; [`FitContext::pool_claims`] still derives a pool's claims from the
//! model directly, for reports and as the reference the index is tested against.

use super::index::FitIndex;
use super::pool::{counts_in, demand_in, demand_of, pools_of, quota_capacity, scope_of};
use super::windows::{difference, merge};
use super::{ClaimId, MaintenanceSpec, ReservationRequest, ReservationSpec, Window};
use crate::error::{Error, Result};
use crate::logical::{
    Capacity, CapacityIndex, Constraint, DIMENSIONS, Dimension, InfraId, TenantId,
};
use crate::model::Model;
use crate::physical::DeviceId;
use horao_sched::timeline::{Claim, ClaimKind, Fit, Timeline};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub use super::pool::{Pool, PoolClaims};

/// Fit queries against one model state, optionally with maintenance windows that are not (yet)
/// in the model ([`FitContext::include_maintenance`]). Cheap to create: the work is done once
/// per model state, by the model's fit index.
#[derive(Clone, Debug)]
pub struct FitContext<'m> {
    model: &'m Model,
    /// Maintenance counted on top of the model's.
    included: Vec<MaintenanceSpec>,
    /// The model's maintenance windows left out (the one an update replaces).
    excluded: Vec<ClaimId>,
    /// The merged maintenance windows per device, included ones too, for
    /// [`FitContext::pool_claims`]; built on its first call.
    down: OnceLock<BTreeMap<DeviceId, Vec<Window>>>,
}

fn sched_error(e: horao_sched::Error) -> Error {
    Error::InvalidField {
        field: "claim".into(),
        reason: e.to_string(),
    }
}

fn does_not_fit(pool: &Pool, fit: Fit) -> Result<()> {
    match fit {
        Fit::Fits => Ok(()),
        Fit::Overflow {
            dimension,
            at,
            needed,
            available,
        } => Err(Error::DoesNotFit {
            pool: pool.to_string(),
            dimension: dim_name(dimension),
            at,
            needed,
            available,
        }),
    }
}

impl<'m> FitContext<'m> {
    /// A context answering from `model`'s fit index.
    pub fn new(model: &'m Model) -> Self {
        FitContext {
            model,
            included: Vec::new(),
            excluded: Vec::new(),
            down: OnceLock::new(),
        }
    }

    /// Counts a maintenance window that is not (yet) in the model.
    pub fn include_maintenance(&mut self, m: &MaintenanceSpec) {
        self.included.push(m.clone());
        self.down = OnceLock::new();
    }

    /// Leaves the model's maintenance window `id` out (it is being replaced). Checks then
    /// read the model directly rather than the fit index, which counts every window.
    pub fn exclude_maintenance(&mut self, id: &ClaimId) {
        self.excluded.push(id.clone());
        self.down = OnceLock::new();
    }

    fn index(&self) -> &'m FitIndex {
        self.model.fit_index()
    }

    /// The device capacities this context uses.
    pub fn capacity_index(&self) -> &'m CapacityIndex {
        self.index().capacity()
    }

    /// The demand of a reservation (profile demand × count), if its profile exists.
    pub fn demand(&self, spec: &ReservationSpec) -> Option<Capacity> {
        demand_of(self.model, spec)
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

    /// The pools a reservation of `tenant` in `infra` draws from.
    pub fn pools_of(&self, infra: &InfraId, tenant: &TenantId) -> Vec<Pool> {
        pools_of(self.model, infra, tenant)
    }

    /// Every pool some claim currently draws from, sorted.
    pub fn all_pools(&self) -> Vec<Pool> {
        self.index().drawn_pools().cloned().collect()
    }

    /// The merged maintenance windows per device, included ones too.
    fn down(&self) -> &BTreeMap<DeviceId, Vec<Window>> {
        self.down.get_or_init(|| {
            let mut down: BTreeMap<DeviceId, Vec<Window>> = BTreeMap::new();
            let model = self
                .model
                .claims
                .maintenance_specs()
                .filter(|(id, _)| !self.excluded.contains(id))
                .map(|(_, m)| m);
            for m in model.chain(&self.included) {
                for d in &m.devices {
                    down.entry(d.clone()).or_default().push(m.window);
                }
            }
            down.into_iter().map(|(d, ws)| (d, merge(ws))).collect()
        })
    }

    /// The timeline inputs of `pool`, leaving out reservation `skip` (the one being replaced),
    /// derived from the model directly (O(claims + devices)).
    pub fn pool_claims(&self, pool: &Pool, skip: Option<&ClaimId>) -> PoolClaims {
        let p = &self.model.physical;
        let capacity = self.capacity_index();
        let mut out = PoolClaims::default();
        let scope = scope_of(self.model, pool);
        match (&scope, pool) {
            (Some(s), _) => {
                out.capacity = capacity.total(p, s);
                for (dev, windows) in self.down() {
                    if let Some((_, c)) = capacity.device(dev)
                        && capacity.in_scope(p, dev, s)
                    {
                        let c = c.restrict(s.disk_classes.as_ref());
                        out.maintenance.extend(windows.iter().map(|w| (c, *w)));
                    }
                }
            }
            (None, Pool::Quota(t)) => out.capacity = quota_capacity(self.model, t),
            (None, _) => {}
        }
        for (id, r) in self.model.claims.reservation_specs() {
            if Some(id) == skip || !counts_in(pool, r) {
                continue;
            }
            if let Some(d) = self.demand(r) {
                out.reservations
                    .push((id.clone(), demand_in(pool, scope.as_ref(), d), r.window));
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
        let ix = self.index();
        let (start, end) = (spec.window.start, spec.window.end);
        for pool in self.pools_of(&spec.infrastructure, &spec.tenant) {
            let fit = match ix.line(&pool).filter(|_| self.included.is_empty()) {
                Some(line) => {
                    let own = id.and_then(|id| ix.claim_in(id, &pool));
                    match own {
                        Some(c) => line
                            .timeline
                            .what_if()
                            .without(c)
                            .fits(&demand.0, start, end),
                        None => line.timeline.fits(&demand.0, start, end),
                    }
                }
                None => self
                    .pool_claims(&pool, id)
                    .timeline()
                    .fits(&demand.0, start, end),
            };
            does_not_fit(&pool, fit.map_err(sched_error)?)?;
        }
        Ok(())
    }

    /// The maintenance claims the included windows add to `pool` of `line`: per device in
    /// scope, the instants its included windows take down beyond its own.
    fn included_claims(&self, scope: &crate::logical::Scope) -> Vec<Claim> {
        let ix = self.index();
        let down = ix.down(self.model);
        let devices: BTreeSet<&DeviceId> = self.included.iter().flat_map(|m| &m.devices).collect();
        let mut out = Vec::new();
        for dev in devices {
            let Some(c) = ix.contribution(self.model, dev, scope) else {
                continue;
            };
            let own = down.windows(dev);
            let mut all = own.clone();
            all.extend(
                self.included
                    .iter()
                    .filter(|m| m.devices.contains(dev))
                    .map(|m| m.window),
            );
            for w in difference(&merge(all), &own) {
                out.push(Claim {
                    kind: ClaimKind::Maintenance,
                    amount: c.0.to_vec(),
                    start: w.start,
                    end: w.end,
                });
            }
        }
        out
    }

    /// Checks that every pool still holds its reservations during `window` (used after
    /// [`FitContext::include_maintenance`]).
    pub fn check_window(&self, window: Window) -> Result<()> {
        let ix = self.index();
        let none = [0; DIMENSIONS];
        for pool in self.all_pools() {
            // Quota pools have no devices, so maintenance never changes them.
            if matches!(pool, Pool::Quota(_)) {
                continue;
            }
            let line = ix.line(&pool).filter(|_| self.excluded.is_empty());
            let Some(line) = line else {
                self.check_window_from_model(&pool, window)?;
                continue;
            };
            let extra = match &line.scope {
                Some(s) => self.included_claims(s),
                None => Vec::new(),
            };
            let mut view = line.timeline.what_if();
            for c in &extra {
                view = view.with(c).map_err(sched_error)?;
            }
            let fit = view
                .fits(&none, window.start, window.end)
                .map_err(sched_error)?;
            if let Fit::Overflow { dimension, at, .. } = fit {
                // Report what the reservations need against what is left at that instant.
                let active = |c: &&Claim| c.start <= at && at < c.end;
                let mut used = Capacity::default();
                let mut gone = Capacity::default();
                let own = line.timeline.iter().map(|(_, c)| c);
                for c in own.chain(&extra).filter(active) {
                    let amount = Capacity(std::array::from_fn(|i| {
                        c.amount.get(i).copied().unwrap_or(0)
                    }));
                    match c.kind {
                        ClaimKind::Reservation => used.add(&amount),
                        ClaimKind::Maintenance => gone.add(&amount),
                    }
                }
                return Err(Error::DoesNotFit {
                    pool: pool.to_string(),
                    dimension: dim_name(dimension),
                    at,
                    needed: used.0[dimension],
                    available: line.capacity()[dimension].saturating_sub(gone.0[dimension]),
                });
            }
        }
        Ok(())
    }

    /// [`FitContext::check_window`] for one pool, from the model directly.
    fn check_window_from_model(&self, pool: &Pool, window: Window) -> Result<()> {
        let pc = self.pool_claims(pool, None);
        let t = pc.timeline();
        let fit = t
            .fits(&[0; DIMENSIONS], window.start, window.end)
            .map_err(sched_error)?;
        if let Fit::Overflow { dimension, at, .. } = fit {
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
        let ix = self.index();
        let timelines: Vec<Cow<'_, Timeline>> = self
            .pools_of(&req.infrastructure, &req.tenant)
            .iter()
            .map(|p| match ix.line(p).filter(|_| self.included.is_empty()) {
                Some(line) => Cow::Borrowed(&line.timeline),
                None => Cow::Owned(self.pool_claims(p, None).timeline()),
            })
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
