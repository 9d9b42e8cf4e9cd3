//! Patching the fit index for one applied delta, in time proportional to the delta: only the
//! keys it carries can change ([`horao_crdt::OrMap::raw_keys`] names removals too), so the
//! index records what those keys meant before the join and moves just their claims after it.
//!
//! A delta that changes what defines the pools — an infrastructure's active datacenters, a
//! tenant's constraints or quotas, a profile's demand, a row's datacenter — drops the index
//! instead; the next fit query rebuilds it. Such changes are rare and touch every pool.

use super::{FitIndex, contribution, labelled};
use crate::claims::ClaimId;
use crate::label::Label;
use crate::logical::{
    Capacity, CapacityIndex, Constraint, DIMENSIONS, Dimension, InfraId, ProfileId, TenantId,
};
use crate::model::Model;
use crate::physical::index::Parent;
use crate::physical::{DatacenterId, DeviceId, RackId, RowId};
use std::collections::{BTreeMap, BTreeSet};

/// What defines a tenant's pools: whether it exists, its constraints and its quotas.
type TenantSig = Option<(bool, Vec<Constraint>, bool, [Option<u64>; DIMENSIONS])>;

fn tenant_sig(m: &Model, t: &TenantId) -> TenantSig {
    let t = m.logical.tenants.get(t)?;
    Some((
        t.constraints.is_empty(),
        t.constraint_list(),
        t.quotas.is_empty(),
        Dimension::ALL.map(|d| t.quota(d)),
    ))
}

fn infra_sig(m: &Model, i: &InfraId) -> Option<BTreeSet<DatacenterId>> {
    m.logical.infrastructures.get(i).map(|x| x.active_members())
}

fn profile_sig(m: &Model, p: &ProfileId) -> Option<Capacity> {
    m.logical
        .profiles
        .get(p)
        .and_then(|p| p.spec.get())
        .map(|s| s.demand)
}

fn row_dc(m: &Model, r: &RowId) -> Option<DatacenterId> {
    m.physical
        .rows
        .get(r)
        .and_then(|r| r.place.get())
        .map(|p| p.datacenter.clone())
}

fn rack_dc(m: &Model, r: &RackId) -> Option<DatacenterId> {
    m.physical.rack_datacenter(r).cloned()
}

fn maintenance_devices(m: &Model, id: &ClaimId) -> BTreeSet<DeviceId> {
    m.claims
        .maintenance
        .get(id)
        .and_then(|x| x.spec.get())
        .map(|s| s.devices.clone())
        .unwrap_or_default()
}

/// The blades mounted in `dev` (none unless it is a chassis).
fn blades(m: &Model, dev: &DeviceId) -> Vec<DeviceId> {
    m.physical
        .index()
        .children(&Parent::Chassis(dev.clone()))
        .cloned()
        .collect()
}

/// The index entries a delta may change, recorded before the delta is joined.
pub(crate) struct Touched {
    infrastructures: Vec<(InfraId, Option<BTreeSet<DatacenterId>>)>,
    tenants: Vec<(TenantId, TenantSig)>,
    profiles: Vec<(ProfileId, Option<Capacity>)>,
    rows: Vec<(RowId, Option<DatacenterId>)>,
    racks: Vec<(RackId, Option<DatacenterId>)>,
    /// The devices the delta carries, with their labels before it.
    devices: Vec<(DeviceId, Vec<Label>)>,
    /// The maintenance windows the delta carries, with their devices before it.
    maintenance: Vec<(ClaimId, BTreeSet<DeviceId>)>,
    reservations: Vec<ClaimId>,
}

impl Touched {
    /// Records what the keys `delta` carries mean in `state` now.
    pub(crate) fn of(state: &Model, delta: &Model) -> Touched {
        let (l, p, c) = (&delta.logical, &delta.physical, &delta.claims);
        let devices: Vec<(DeviceId, Vec<Label>)> = p
            .devices
            .raw_keys()
            .map(|d| {
                let labels = state
                    .physical
                    .devices
                    .get(d)
                    .map(|x| x.labels.iter().cloned().collect())
                    .unwrap_or_default();
                (d.clone(), labels)
            })
            .collect();
        Touched {
            infrastructures: l
                .infrastructures
                .raw_keys()
                .map(|i| (i.clone(), infra_sig(state, i)))
                .collect(),
            tenants: l
                .tenants
                .raw_keys()
                .map(|t| (t.clone(), tenant_sig(state, t)))
                .collect(),
            profiles: l
                .profiles
                .raw_keys()
                .map(|x| (x.clone(), profile_sig(state, x)))
                .collect(),
            rows: p
                .rows
                .raw_keys()
                .map(|r| (r.clone(), row_dc(state, r)))
                .collect(),
            racks: p
                .racks
                .raw_keys()
                .map(|r| (r.clone(), rack_dc(state, r)))
                .collect(),
            devices,
            maintenance: c
                .maintenance
                .raw_keys()
                .map(|id| (id.clone(), maintenance_devices(state, id)))
                .collect(),
            reservations: c.reservations.raw_keys().cloned().collect(),
        }
    }

    /// Whether the delta changed what defines the pools, so that the index must be rebuilt.
    fn redefines_pools(&self, m: &Model) -> bool {
        self.infrastructures
            .iter()
            .any(|(i, was)| infra_sig(m, i) != *was)
            || self.tenants.iter().any(|(t, was)| tenant_sig(m, t) != *was)
            || self
                .profiles
                .iter()
                .any(|(p, was)| profile_sig(m, p) != *was)
            || self.rows.iter().any(|(r, was)| row_dc(m, r) != *was)
    }

    /// Brings `ix` up to date with `m`, the state after the join. Returns `false` when the
    /// index must be dropped instead.
    pub(crate) fn apply(self, ix: &mut FitIndex, m: &Model) -> bool {
        if self.redefines_pools(m) {
            return false;
        }
        // Devices whose capacity entry or maintenance may change, with their labels before
        // the delta when it carried them (otherwise their labels did not change).
        let mut affected: BTreeMap<DeviceId, Option<Vec<Label>>> = BTreeMap::new();
        for (d, labels) in self.devices {
            // A chassis's place is its blades' too. A blade that left it in this delta is
            // in the delta itself; the others still name it.
            for b in blades(m, &d) {
                affected.entry(b).or_insert(None);
            }
            affected.insert(d, Some(labels));
        }
        for (r, was) in &self.racks {
            if rack_dc(m, r) == *was {
                continue;
            }
            for dev in m.physical.index().children(&Parent::Rack(r.clone())) {
                affected.entry(dev.clone()).or_insert(None);
                for b in blades(m, dev) {
                    affected.entry(b).or_insert(None);
                }
            }
        }
        for (id, before) in self.maintenance {
            let after = maintenance_devices(m, &id);
            for d in &before {
                if let Some(ids) = ix.maintenance.get_mut(d) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        ix.maintenance.remove(d);
                    }
                }
            }
            for d in &after {
                ix.maintenance
                    .entry(d.clone())
                    .or_default()
                    .insert(id.clone());
            }
            for d in before.into_iter().chain(after) {
                affected.entry(d).or_insert(None);
            }
        }
        for (dev, labels) in &affected {
            ix.refresh_device(m, dev, labels.as_ref());
        }
        for id in &self.reservations {
            ix.unplace(m, id);
            if let Some(spec) = m.claims.reservations.get(id).and_then(|r| r.spec.get()) {
                ix.place(m, id, spec);
            }
        }
        true
    }
}

impl FitIndex {
    /// Re-derives device `dev`'s capacity entry, its share of every pool's capacity and its
    /// maintenance claims; `labels_before` are its labels before the change, when they may
    /// differ from now.
    fn refresh_device(&mut self, m: &Model, dev: &DeviceId, labels_before: Option<&Vec<Label>>) {
        let old = self.capacity.device(dev).cloned();
        let new = CapacityIndex::entry_of(&m.physical, dev);
        self.capacity.set(dev, new.clone());
        let windows = self.down(m).windows(dev);
        for line in self.pools.values_mut() {
            let Some(scope) = &line.scope else {
                continue;
            };
            let now_labelled = labelled(m, dev, scope);
            let was_labelled = labels_before.map_or(now_labelled, |ls| scope.labels_met_by(ls));
            let before = contribution(scope, old.as_ref(), was_labelled);
            let after = contribution(scope, new.as_ref(), now_labelled);
            if before != after {
                if let Some(c) = &before {
                    line.total.sub(c);
                }
                if let Some(c) = &after {
                    line.total.add(c);
                }
                let total = line.total.capacity();
                line.set_capacity(total);
            }
            match after {
                Some(c) if !windows.is_empty() => line.put_down(dev, &c, &windows),
                _ => line.take_down(dev),
            }
        }
    }
}
