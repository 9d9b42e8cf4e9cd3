//! The derived fit index: per capacity pool, a horao-sched timeline holding the pool's
//! capacity, its reservations and its devices' maintenance, so that fit queries ask a built
//! timeline instead of re-deriving it from the model each time.
//!
//! Like the physical index, it is a pure function of the model's state: built on the first
//! fit query, patched for the keys each applied delta carries ([`patch`]), dropped by a
//! full-state merge and by changes to what defines the pools (infrastructure membership, a
//! tenant's constraints or quotas, a profile's demand, a row's datacenter), and rebuilt on the
//! next query. It is never stored or compared: two replicas with equal states answer every
//! query alike, whatever order their deltas arrived in.

pub(crate) mod patch;

use super::pool::{
    Pool, demand_in, demand_of, is_standing, pools_of, quota_capacity, scope_of, standing_pools,
};
use super::windows::merge;
use super::{ClaimId, ReservationSpec, Window};
use crate::logical::{Capacity, CapacityIndex, ExactSum, Scope};
use crate::model::Model;
use crate::physical::DeviceId;
use horao_crdt::DerivedIndex;
use horao_sched::timeline::{self, Claim, Timeline};
use std::collections::{BTreeMap, BTreeSet};

/// One pool's timeline and what it was built from.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// The devices the pool covers (`None`: a quota pool, or one whose infrastructure or
    /// tenant is gone).
    pub(crate) scope: Option<Scope>,
    /// The exact capacity of the devices in scope, restricted to the scope's disk classes.
    total: ExactSum,
    /// Capacity, reservations and maintenance over time.
    pub(crate) timeline: Timeline,
    /// Per device in scope with maintenance, its claims in the timeline (one per merged
    /// window).
    down: BTreeMap<DeviceId, Vec<timeline::ClaimId>>,
    /// How many reservations draw from this pool (whether or not their profile exists).
    drawn: usize,
}

/// Reservations bound for one pool's timeline: who each claim belongs to (reservation, and
/// position among its pools), and the claims.
type Batch = (Vec<(ClaimId, usize)>, Vec<Claim>);

/// The per-pool timelines of a model, with the per-device data needed to patch them.
#[derive(Clone, Debug, Default)]
pub(crate) struct FitIndex {
    /// Device capacities and datacenters.
    capacity: CapacityIndex,
    /// The maintenance windows naming each device (existing or not).
    maintenance: BTreeMap<DeviceId, BTreeSet<ClaimId>>,
    pools: BTreeMap<Pool, Line>,
    /// Per reservation, the pools it draws from, with its claim there when it counts (its
    /// profile exists and its window is well formed).
    placed: BTreeMap<ClaimId, Vec<(Pool, Option<timeline::ClaimId>)>>,
}

/// What device `dev` (with capacity entry `entry`) contributes to a pool of scope `scope`;
/// `labelled` says whether it carries every label the scope requires.
fn contribution(
    scope: &Scope,
    entry: Option<&(crate::physical::DatacenterId, Capacity)>,
    labelled: bool,
) -> Option<Capacity> {
    let (dc, c) = entry?;
    let in_dc = scope.datacenters.as_ref().is_none_or(|s| s.contains(dc));
    (in_dc && labelled).then(|| c.restrict(scope.disk_classes.as_ref()))
}

/// Whether device `dev` of `m` carries every label `scope` requires.
fn labelled(m: &Model, dev: &DeviceId, scope: &Scope) -> bool {
    scope.labels.is_empty()
        || m.physical
            .devices
            .get(dev)
            .is_some_and(|d| scope.labels_met_by(d.labels.iter()))
}

impl Line {
    /// Builds the line of `pool` from the index's device data, without its reservations.
    fn new(m: &Model, capacity: &CapacityIndex, down: &Down<'_>, pool: &Pool) -> Line {
        let scope = scope_of(m, pool);
        let mut line = Line {
            scope: None,
            total: ExactSum::default(),
            timeline: Timeline::new(Capacity::default().0.to_vec()),
            down: BTreeMap::new(),
            drawn: 0,
        };
        match (&scope, pool) {
            (Some(s), _) => {
                let total = capacity
                    .exact_total(&m.physical, s)
                    .restrict(s.disk_classes.as_ref());
                line.total = total;
                line.set_capacity(total.capacity());
                let (mut owners, mut claims) = (Vec::new(), Vec::new());
                for dev in down.devices() {
                    if let Some(c) = contribution(s, capacity.device(dev), labelled(m, dev, s)) {
                        for w in down.windows(dev) {
                            owners.push(dev);
                            claims.push(maintenance_claim(&c, w));
                        }
                    }
                }
                for (dev, id) in owners.into_iter().zip(line.timeline.add_all(claims)) {
                    if let Ok(id) = id {
                        line.down.entry(dev.clone()).or_default().push(id);
                    }
                }
            }
            (None, Pool::Quota(t)) => line.set_capacity(quota_capacity(m, t)),
            (None, _) => {}
        }
        line.scope = scope;
        line
    }

    fn set_capacity(&mut self, c: Capacity) {
        // Same length as the timeline's: it always has one entry per dimension.
        let _ = self.timeline.set_capacity(c.0.to_vec());
    }

    /// Replaces device `dev`'s maintenance claims by `c` over each of `windows`.
    fn put_down(&mut self, dev: &DeviceId, c: &Capacity, windows: &[Window]) {
        self.take_down(dev);
        let ids: Vec<_> = windows
            .iter()
            .filter_map(|w| self.timeline.add(maintenance_claim(c, *w)).ok())
            .collect();
        if !ids.is_empty() {
            self.down.insert(dev.clone(), ids);
        }
    }

    /// Removes device `dev`'s maintenance claims.
    fn take_down(&mut self, dev: &DeviceId) {
        for id in self.down.remove(dev).unwrap_or_default() {
            self.timeline.remove(id);
        }
    }

    /// The pool's capacity.
    pub(crate) fn capacity(&self) -> &[u64] {
        self.timeline.capacity()
    }

    /// Every claim of the timeline, in a canonical order (for consistency checks).
    fn claims(&self) -> Vec<(u64, u64, bool, Vec<u64>)> {
        let mut all: Vec<_> = self.timeline.iter().map(|(_, c)| claim_key(c)).collect();
        all.sort();
        all
    }

    fn same_entries(&self, other: &Line) -> bool {
        let down_shape = |l: &Line| -> Vec<(DeviceId, usize)> {
            l.down
                .iter()
                .map(|(d, ids)| (d.clone(), ids.len()))
                .collect()
        };
        self.scope == other.scope
            && self.total == other.total
            && self.drawn == other.drawn
            && self.capacity() == other.capacity()
            && self.timeline.changes() == other.timeline.changes()
            && self.claims() == other.claims()
            && down_shape(self) == down_shape(other)
    }
}

fn reservation_claim(demand: Capacity, spec: &ReservationSpec) -> Claim {
    Claim {
        kind: timeline::ClaimKind::Reservation,
        amount: demand.0.to_vec(),
        start: spec.window.start,
        end: spec.window.end,
    }
}

fn maintenance_claim(c: &Capacity, w: Window) -> Claim {
    Claim {
        kind: timeline::ClaimKind::Maintenance,
        amount: c.0.to_vec(),
        start: w.start,
        end: w.end,
    }
}

fn claim_key(c: &Claim) -> (u64, u64, bool, Vec<u64>) {
    (
        c.start,
        c.end,
        c.kind == timeline::ClaimKind::Reservation,
        c.amount.clone(),
    )
}

/// The maintenance windows of each device, read from the model through the index's
/// device-to-maintenance map.
pub(crate) struct Down<'a> {
    m: &'a Model,
    by_device: &'a BTreeMap<DeviceId, BTreeSet<ClaimId>>,
}

impl Down<'_> {
    fn devices(&self) -> impl Iterator<Item = &DeviceId> {
        self.by_device.keys()
    }

    /// The merged maintenance windows of `dev`.
    pub(crate) fn windows(&self, dev: &DeviceId) -> Vec<Window> {
        let ws = self
            .by_device
            .get(dev)
            .into_iter()
            .flatten()
            .filter_map(|id| self.m.claims.maintenance.get(id)?.spec.get())
            .map(|s| s.window)
            .collect();
        merge(ws)
    }
}

impl FitIndex {
    /// Builds the index of `m` from scratch.
    pub(crate) fn build(m: &Model) -> FitIndex {
        let mut maintenance: BTreeMap<DeviceId, BTreeSet<ClaimId>> = BTreeMap::new();
        for (id, spec) in m.claims.maintenance_specs() {
            for d in &spec.devices {
                maintenance.entry(d.clone()).or_default().insert(id.clone());
            }
        }
        let mut ix = FitIndex {
            capacity: CapacityIndex::build(&m.physical),
            maintenance,
            pools: BTreeMap::new(),
            placed: BTreeMap::new(),
        };
        for pool in standing_pools(m) {
            ix.ensure_line(m, &pool);
        }
        // Every pool's reservations go in at once (a bottom-up build of its timeline), each
        // remembered as (reservation, position among its pools) until its claim id is known.
        let mut batches: BTreeMap<Pool, Batch> = BTreeMap::new();
        for (id, spec) in m.claims.reservation_specs() {
            let demand = demand_of(m, spec);
            let pools = pools_of(m, &spec.infrastructure, &spec.tenant);
            let mut at = Vec::with_capacity(pools.len());
            for (i, pool) in pools.into_iter().enumerate() {
                let line = ix.ensure_line(m, &pool);
                line.drawn += 1;
                if let Some(d) = demand {
                    let claim = reservation_claim(demand_in(&pool, line.scope.as_ref(), d), spec);
                    let batch = batches.entry(pool.clone()).or_default();
                    batch.0.push((id.clone(), i));
                    batch.1.push(claim);
                }
                at.push((pool, None));
            }
            ix.placed.insert(id.clone(), at);
        }
        for (pool, (owners, claims)) in batches {
            let Some(line) = ix.pools.get_mut(&pool) else {
                continue;
            };
            for ((id, i), got) in owners.into_iter().zip(line.timeline.add_all(claims)) {
                if let (Ok(c), Some(at)) = (got, ix.placed.get_mut(&id)) {
                    at[i].1 = Some(c);
                }
            }
        }
        ix
    }

    /// The device capacities the index uses.
    pub(crate) fn capacity(&self) -> &CapacityIndex {
        &self.capacity
    }

    /// The line of `pool`, if some reservation draws from it or it is standing.
    pub(crate) fn line(&self, pool: &Pool) -> Option<&Line> {
        self.pools.get(pool)
    }

    /// Every pool some reservation draws from, and every infrastructure's, sorted.
    pub(crate) fn drawn_pools(&self) -> impl Iterator<Item = &Pool> {
        self.pools
            .iter()
            .filter(|(p, l)| {
                l.drawn > 0 || (matches!(p, Pool::Infrastructure(_)) && l.scope.is_some())
            })
            .map(|(p, _)| p)
    }

    /// Reservation `id`'s claim in `pool`, if it counts there.
    pub(crate) fn claim_in(&self, id: &ClaimId, pool: &Pool) -> Option<timeline::ClaimId> {
        self.placed
            .get(id)?
            .iter()
            .find(|(p, _)| p == pool)
            .and_then(|(_, c)| *c)
    }

    /// The maintenance windows of each device.
    pub(crate) fn down<'a>(&'a self, m: &'a Model) -> Down<'a> {
        Down {
            m,
            by_device: &self.maintenance,
        }
    }

    /// What device `dev` contributes to a pool of scope `scope`.
    pub(crate) fn contribution(
        &self,
        m: &Model,
        dev: &DeviceId,
        scope: &Scope,
    ) -> Option<Capacity> {
        contribution(scope, self.capacity.device(dev), labelled(m, dev, scope))
    }

    fn ensure_line(&mut self, m: &Model, pool: &Pool) -> &mut Line {
        let FitIndex {
            capacity,
            maintenance,
            pools,
            ..
        } = self;
        pools.entry(pool.clone()).or_insert_with(|| {
            let down = Down {
                m,
                by_device: maintenance,
            };
            Line::new(m, capacity, &down, pool)
        })
    }

    /// Counts reservation `id` in every pool it draws from.
    fn place(&mut self, m: &Model, id: &ClaimId, spec: &ReservationSpec) {
        let demand = demand_of(m, spec);
        let mut at = Vec::new();
        for pool in pools_of(m, &spec.infrastructure, &spec.tenant) {
            let line = self.ensure_line(m, &pool);
            line.drawn += 1;
            let claim = demand.and_then(|d| {
                let d = demand_in(&pool, line.scope.as_ref(), d);
                line.timeline.add(reservation_claim(d, spec)).ok()
            });
            at.push((pool, claim));
        }
        self.placed.insert(id.clone(), at);
    }

    /// Takes reservation `id` out of every pool it was counted in, dropping pools nothing
    /// draws from any more unless they are standing.
    fn unplace(&mut self, m: &Model, id: &ClaimId) {
        for (pool, claim) in self.placed.remove(id).unwrap_or_default() {
            let Some(line) = self.pools.get_mut(&pool) else {
                continue;
            };
            if let Some(c) = claim {
                line.timeline.remove(c);
            }
            line.drawn = line.drawn.saturating_sub(1);
            if line.drawn == 0 && !is_standing(m, &pool) {
                self.pools.remove(&pool);
            }
        }
    }
}

impl DerivedIndex<Model> for FitIndex {
    type Touched = patch::Touched;

    fn build(m: &Model) -> Self {
        FitIndex::build(m)
    }

    fn touched(&self, state: &Model, delta: &Model) -> patch::Touched {
        patch::Touched::of(state, delta)
    }

    fn patch(&mut self, touched: patch::Touched, state: &Model) -> bool {
        touched.apply(self, state)
    }

    /// True when `self` holds what `other` does: the same device data, pools, capacities and
    /// claims (claim ids inside timelines may differ).
    fn same_entries(&self, other: &FitIndex) -> bool {
        let placed_shape = |ix: &FitIndex| -> Vec<(ClaimId, Vec<(Pool, bool)>)> {
            ix.placed
                .iter()
                .map(|(id, at)| {
                    let at = at.iter().map(|(p, c)| (p.clone(), c.is_some())).collect();
                    (id.clone(), at)
                })
                .collect()
        };
        self.capacity == other.capacity
            && self.maintenance == other.maintenance
            && self.pools.len() == other.pools.len()
            && self
                .pools
                .iter()
                .zip(&other.pools)
                .all(|((p, a), (q, b))| p == q && a.same_entries(b))
            && placed_shape(self) == placed_shape(other)
    }
}
