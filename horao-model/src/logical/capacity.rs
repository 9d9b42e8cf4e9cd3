//! Capacity by dimension, and its aggregation over any subset of the physical layer
//! (datacenters, labels, a tenant's constraints).

use super::tenant::Constraint;
use crate::label::Label;
use crate::model::Model;
use crate::physical::{DatacenterId, DeviceId, DiskClass, Hardware, Physical, RackId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A dimension of capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Dimension {
    /// Physical CPU cores.
    Cores,
    /// Memory in MiB.
    RamMib,
    /// Accelerators (count).
    Accelerators,
    /// Disk of one class, in GiB.
    Disk(DiskClass),
    /// Port line rate in Mbit/s.
    NetworkMbps,
}

/// Number of dimensions.
pub const DIMENSIONS: usize = 7;

impl Dimension {
    /// Every dimension, in index order.
    pub const ALL: [Dimension; DIMENSIONS] = [
        Dimension::Cores,
        Dimension::RamMib,
        Dimension::Accelerators,
        Dimension::Disk(DiskClass::Hdd),
        Dimension::Disk(DiskClass::Ssd),
        Dimension::Disk(DiskClass::Nvme),
        Dimension::NetworkMbps,
    ];

    /// Position in a [`Capacity`] vector.
    pub fn index(self) -> usize {
        match self {
            Dimension::Cores => 0,
            Dimension::RamMib => 1,
            Dimension::Accelerators => 2,
            Dimension::Disk(DiskClass::Hdd) => 3,
            Dimension::Disk(DiskClass::Ssd) => 4,
            Dimension::Disk(DiskClass::Nvme) => 5,
            Dimension::NetworkMbps => 6,
        }
    }

    /// Lower-case name (`cores`, `ram_mib`, `accelerators`, `disk_nvme_gib`, …).
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Cores => "cores",
            Dimension::RamMib => "ram_mib",
            Dimension::Accelerators => "accelerators",
            Dimension::Disk(DiskClass::Hdd) => "disk_hdd_gib",
            Dimension::Disk(DiskClass::Ssd) => "disk_ssd_gib",
            Dimension::Disk(DiskClass::Nvme) => "disk_nvme_gib",
            Dimension::NetworkMbps => "network_mbps",
        }
    }

    /// Parses a name as given by [`Dimension::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == s)
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An amount per dimension (capacity, demand or quota), indexed by [`Dimension::index`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Capacity(pub [u64; DIMENSIONS]);

impl Capacity {
    /// The amount in dimension `d`.
    pub fn get(&self, d: Dimension) -> u64 {
        self.0[d.index()]
    }

    /// Sets the amount in dimension `d`.
    pub fn set(&mut self, d: Dimension, v: u64) {
        self.0[d.index()] = v;
    }

    /// Builds a capacity from `(dimension, amount)` pairs (later pairs overwrite).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Dimension, u64)>) -> Self {
        let mut c = Capacity::default();
        pairs.into_iter().for_each(|(d, v)| c.set(d, v));
        c
    }

    /// Adds `other`, saturating.
    pub fn add(&mut self, other: &Capacity) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.saturating_add(b);
        }
    }

    /// `self × n`, saturating.
    pub fn times(&self, n: u64) -> Capacity {
        Capacity(self.0.map(|v| v.saturating_mul(n)))
    }

    /// True when every dimension is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }

    /// The capacity hardware contributes.
    pub fn of_hardware(h: &Hardware) -> Capacity {
        let mut c = Capacity::default();
        c.set(Dimension::Cores, h.cores());
        c.set(Dimension::RamMib, h.ram_mib);
        c.set(Dimension::Accelerators, h.accelerators.len() as u64);
        for class in DiskClass::ALL {
            c.set(Dimension::Disk(class), h.disk_gib(class));
        }
        c.set(Dimension::NetworkMbps, h.network_mbps());
        c
    }

    /// The same capacity with the dimensions a tenant may not use set to zero.
    pub fn restrict(mut self, allowed_disks: Option<&BTreeSet<DiskClass>>) -> Capacity {
        if let Some(allowed) = allowed_disks {
            for class in DiskClass::ALL.into_iter().filter(|c| !allowed.contains(c)) {
                self.set(Dimension::Disk(class), 0);
            }
        }
        self
    }
}

impl fmt::Display for Capacity {
    /// `name=value` for every non-zero dimension, space separated (`-` when all are zero).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for d in Dimension::ALL.into_iter().filter(|d| self.get(*d) > 0) {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{d}={}", self.get(d))?;
            first = false;
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// A subset of the physical layer to aggregate over. Empty filters select everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Only devices in these datacenters (all when `None`).
    pub datacenters: Option<BTreeSet<DatacenterId>>,
    /// Only devices carrying every one of these labels.
    pub labels: BTreeSet<Label>,
    /// Only disk classes in this set (all when `None`).
    pub disk_classes: Option<BTreeSet<DiskClass>>,
}

impl Scope {
    /// True when the labels `carried` meet every label the scope requires.
    pub fn labels_met_by<'a>(&self, carried: impl IntoIterator<Item = &'a Label>) -> bool {
        if self.labels.is_empty() {
            return true;
        }
        crate::label::first_unmet(&self.labels, carried).is_none()
    }

    /// Narrows the scope by a tenant's constraints: datacenter and disk-class constraints are
    /// each a union of what they allow; label constraints all apply.
    pub fn constrained(mut self, constraints: &[Constraint]) -> Scope {
        let dcs: BTreeSet<DatacenterId> = constraints
            .iter()
            .filter_map(|c| match c {
                Constraint::OnlyDatacenter(d) => Some(d.clone()),
                _ => None,
            })
            .collect();
        if !dcs.is_empty() {
            self.datacenters = Some(match self.datacenters {
                Some(own) => own.intersection(&dcs).cloned().collect(),
                None => dcs,
            });
        }
        let disks: BTreeSet<DiskClass> = constraints
            .iter()
            .filter_map(|c| match c {
                Constraint::OnlyDiskClass(d) => Some(*d),
                _ => None,
            })
            .collect();
        if !disks.is_empty() {
            self.disk_classes = Some(match self.disk_classes {
                Some(own) => own.intersection(&disks).copied().collect(),
                None => disks,
            });
        }
        self.labels
            .extend(constraints.iter().filter_map(|c| match c {
                Constraint::RequireLabel(l) => Some(l.clone()),
                _ => None,
            }));
        self
    }
}

/// A sum of capacities kept exactly (in `u128` per dimension), so that amounts can be taken
/// out again as well as added; read it with [`ExactSum::capacity`], which saturates at
/// `u64::MAX` exactly as adding with [`Capacity::add`] would have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExactSum([u128; DIMENSIONS]);

impl ExactSum {
    /// Adds `c`.
    pub fn add(&mut self, c: &Capacity) {
        for (a, b) in self.0.iter_mut().zip(c.0) {
            *a += u128::from(b);
        }
    }

    /// Takes out `c`, which must have been added before.
    pub fn sub(&mut self, c: &Capacity) {
        for (a, b) in self.0.iter_mut().zip(c.0) {
            *a = a.saturating_sub(u128::from(b));
        }
    }

    /// Adds another sum.
    pub fn add_sum(&mut self, other: &ExactSum) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The same sum with the disk classes outside `allowed` set to zero (see
    /// [`Capacity::restrict`]).
    pub fn restrict(mut self, allowed: Option<&BTreeSet<DiskClass>>) -> ExactSum {
        if let Some(allowed) = allowed {
            for class in DiskClass::ALL.into_iter().filter(|c| !allowed.contains(c)) {
                self.0[Dimension::Disk(class).index()] = 0;
            }
        }
        self
    }

    /// The sum, saturated at `u64::MAX` per dimension.
    pub fn capacity(&self) -> Capacity {
        Capacity(self.0.map(|v| u64::try_from(v).unwrap_or(u64::MAX)))
    }
}

/// The capacity of every device, with its datacenter, precomputed once so repeated
/// aggregations and fit queries cost O(devices) or less, without walking racks and rows again.
/// It can be patched one device at a time ([`CapacityIndex::set`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapacityIndex {
    devices: BTreeMap<DeviceId, (DatacenterId, Capacity)>,
    /// Per datacenter, how many devices it holds and their total capacity.
    per_datacenter: BTreeMap<DatacenterId, (usize, ExactSum)>,
}

/// The datacenter and capacity device `d` (with id `id`) contributes, given how to find a
/// rack's datacenter.
fn device_entry<'p>(
    p: &'p Physical,
    id: &DeviceId,
    d: &'p crate::physical::Device,
    rack_dc: impl Fn(&RackId) -> Option<&'p DatacenterId>,
) -> Option<(DatacenterId, Capacity)> {
    let (Some(info), Some(hw), Some(place)) = (d.info.get(), d.hardware.get(), d.place.get())
    else {
        return None;
    };
    if !info.kind.contributes_capacity() {
        return None;
    }
    let dc = match place {
        crate::physical::DevicePlace::Rack { rack, .. } => rack_dc(rack),
        crate::physical::DevicePlace::Chassis { .. } => p.device_datacenter(id),
    }?;
    Some((dc.clone(), Capacity::of_hardware(hw)))
}

impl CapacityIndex {
    /// Indexes every device that contributes capacity and sits in a datacenter.
    pub fn build(p: &Physical) -> Self {
        let rack_dc: BTreeMap<&RackId, &DatacenterId> = p
            .racks
            .keys()
            .filter_map(|r| p.rack_datacenter(r).map(|dc| (r, dc)))
            .collect();
        let mut ix = CapacityIndex::default();
        for (id, d) in p.devices.iter() {
            let entry = device_entry(p, id, d, |r| rack_dc.get(r).copied());
            ix.set(id, entry);
        }
        ix
    }

    /// The entry device `id` has in an index of `p`: its datacenter and capacity, if it
    /// contributes capacity and sits in a datacenter.
    pub fn entry_of(p: &Physical, id: &DeviceId) -> Option<(DatacenterId, Capacity)> {
        let d = p.devices.get(id)?;
        device_entry(p, id, d, |r| p.rack_datacenter(r))
    }

    /// Sets the entry of device `id` (`None` removes it), keeping the per-datacenter totals.
    pub fn set(&mut self, id: &DeviceId, entry: Option<(DatacenterId, Capacity)>) {
        if let Some((dc, c)) = self.devices.remove(id)
            && let Some((n, sum)) = self.per_datacenter.get_mut(&dc)
        {
            *n -= 1;
            sum.sub(&c);
            if *n == 0 {
                self.per_datacenter.remove(&dc);
            }
        }
        if let Some((dc, c)) = entry {
            let (n, sum) = self.per_datacenter.entry(dc.clone()).or_default();
            *n += 1;
            sum.add(&c);
            self.devices.insert(id.clone(), (dc, c));
        }
    }

    /// The datacenter and capacity of `dev`, if it contributes any.
    pub fn device(&self, dev: &DeviceId) -> Option<&(DatacenterId, Capacity)> {
        self.devices.get(dev)
    }

    /// Every device that contributes capacity, with its datacenter and capacity, by id.
    pub fn devices(&self) -> impl Iterator<Item = (&DeviceId, &(DatacenterId, Capacity))> {
        self.devices.iter()
    }

    /// True when `dev` lies in `scope` (labels are read from `p`).
    pub fn in_scope(&self, p: &Physical, dev: &DeviceId, scope: &Scope) -> bool {
        let Some((dc, _)) = self.devices.get(dev) else {
            return false;
        };
        scope.datacenters.as_ref().is_none_or(|s| s.contains(dc))
            && (scope.labels.is_empty()
                || p.devices
                    .get(dev)
                    .is_some_and(|d| scope.labels_met_by(d.labels.iter())))
    }

    /// The total capacity of the devices in `scope`, summed exactly (before the scope's disk
    /// classes are applied).
    pub fn exact_total(&self, p: &Physical, scope: &Scope) -> ExactSum {
        let mut total = ExactSum::default();
        if scope.labels.is_empty() {
            // Without label filters, per-datacenter totals answer in O(datacenters).
            for (dc, (_, sum)) in &self.per_datacenter {
                if scope.datacenters.as_ref().is_none_or(|s| s.contains(dc)) {
                    total.add_sum(sum);
                }
            }
            return total;
        }
        for (id, (dc, c)) in &self.devices {
            if scope.datacenters.as_ref().is_some_and(|s| !s.contains(dc)) {
                continue;
            }
            if self.in_scope(p, id, scope) {
                total.add(c);
            }
        }
        total
    }

    /// The total capacity of the devices in `scope`.
    pub fn total(&self, p: &Physical, scope: &Scope) -> Capacity {
        self.exact_total(p, scope)
            .capacity()
            .restrict(scope.disk_classes.as_ref())
    }
}

impl Model {
    /// The aggregated capacity of the devices in `scope` (O(devices); build a
    /// [`CapacityIndex`] once for repeated queries).
    pub fn capacity(&self, scope: &Scope) -> Capacity {
        CapacityIndex::build(&self.physical).total(&self.physical, scope)
    }
}
