//! The physical layer of every datacenter: rows, racks, devices with their components, ports
//! and the links between them.
//!
//! Entities live in flat tables keyed by id ([`Physical`]); children name their parent and
//! carry an [`order::OrderKey`] for their position among siblings. Each entity groups its
//! fields into a few last-writer-wins registers by who writes them and how they change:
//! identity (`info`), position (`place`), components (`hardware`), plus an add-wins label set.

pub mod component;
pub mod datacenter;
pub mod device;
pub mod ids;
pub mod index;
pub mod network;
pub mod order;
pub mod rack;
pub mod topology;

pub use component::{Accelerator, Cpu, Disk, DiskClass, Hardware, Nic, Port};
pub use datacenter::{Datacenter, DatacenterInfo, Row, RowInfo, RowPlace};
pub use device::{Device, DeviceInfo, DeviceKind, DevicePlace, NewDevice, PlaceSpec};
pub use ids::{DatacenterId, DeviceId, LinkId, RackId, RowId};
pub use index::Index;
pub use network::{Link, LinkSpec, NetworkKind, PortRef};
pub use order::{At, OrderKey};
pub use rack::{Rack, RackInfo, RackPlace};
pub use topology::Topology;

use crate::error::{Error, Result};
use crate::model::Model;
use horao_crdt::{CausalContext, Dot, DotStore, JoinMode, OrMap, OrSet, Tx};
use serde::{Deserialize, Serialize};

/// Longest name, label or free-text field accepted, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// Checks a name-like field: not empty, at most [`MAX_NAME_LEN`] bytes, no control characters.
pub(crate) fn check_name(field: &str, s: &str) -> Result<()> {
    let reason = if s.trim().is_empty() {
        "must not be empty".to_string()
    } else if s.len() > MAX_NAME_LEN {
        format!("is {} bytes long, at most {MAX_NAME_LEN} allowed", s.len())
    } else if s.chars().any(char::is_control) {
        "must not contain control characters".to_string()
    } else {
        return Ok(());
    };
    Err(Error::InvalidField {
        field: field.to_string(),
        reason,
    })
}

/// Checks a label: a name without whitespace (by convention `key=value` or a bare word).
pub(crate) fn check_label(field: &str, s: &str) -> Result<()> {
    check_name(field, s)?;
    if s.chars().any(char::is_whitespace) {
        return Err(Error::InvalidField {
            field: field.to_string(),
            reason: "must not contain whitespace".into(),
        });
    }
    Ok(())
}

/// Delta adding (`present`) or removing one already checked `label` of an entity's set.
pub(crate) fn toggle_label(
    set: &OrSet<String>,
    label: &str,
    present: bool,
    tx: &mut Tx,
) -> OrSet<String> {
    if present {
        set.add(label.to_string(), tx)
    } else {
        set.remove(&label.to_string(), tx)
    }
}

/// Delta adding every label of `labels` to `set` (each label validated first).
pub(crate) fn add_labels<'a>(
    set: &OrSet<String>,
    field: &str,
    labels: impl IntoIterator<Item = &'a String>,
    tx: &mut Tx,
) -> Result<OrSet<String>> {
    let mut delta = Acc::default();
    for l in labels {
        check_label(field, l)?;
        delta.combine_store(set.add(l.clone(), tx));
    }
    Ok(delta.0)
}

/// Accumulates the deltas of several mutations of one store into one delta store.
#[derive(Default)]
pub(crate) struct Acc<S>(pub(crate) S);

impl<S: DotStore> Acc<S> {
    /// Joins `delta` into the accumulated store. Deltas of one transaction never overwrite
    /// each other's dots, so an empty context on both sides is the right join.
    pub(crate) fn combine_store(&mut self, delta: S) {
        let empty = CausalContext::new();
        self.0.join(delta, &empty, &empty, JoinMode::Combine);
    }
}

/// The physical sub-document: flat tables of every physical entity, plus a derived index of
/// children by parent that is rebuilt on every join and never stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "PhysicalTables")]
pub struct Physical {
    /// Datacenters.
    pub datacenters: OrMap<DatacenterId, Datacenter>,
    /// Rows; each names its datacenter.
    pub rows: OrMap<RowId, Row>,
    /// Racks; each names its row.
    pub racks: OrMap<RackId, Rack>,
    /// Devices; each names its rack or chassis.
    pub devices: OrMap<DeviceId, Device>,
    /// Links between two device ports.
    pub links: OrMap<LinkId, Link>,
    /// Children by parent, derived from the tables.
    #[serde(skip)]
    pub(crate) index: Index,
}

/// The stored shape of [`Physical`] (the tables without the derived index).
#[derive(Deserialize)]
struct PhysicalTables {
    datacenters: OrMap<DatacenterId, Datacenter>,
    rows: OrMap<RowId, Row>,
    racks: OrMap<RackId, Rack>,
    devices: OrMap<DeviceId, Device>,
    links: OrMap<LinkId, Link>,
}

impl From<PhysicalTables> for Physical {
    fn from(t: PhysicalTables) -> Self {
        let mut p = Physical {
            datacenters: t.datacenters,
            rows: t.rows,
            racks: t.racks,
            devices: t.devices,
            links: t.links,
            index: Index::default(),
        };
        p.index = Index::build(&p);
        p
    }
}

impl DotStore for Physical {
    fn is_bottom(&self) -> bool {
        self.datacenters.is_bottom()
            && self.rows.is_bottom()
            && self.racks.is_bottom()
            && self.devices.is_bottom()
            && self.links.is_bottom()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.datacenters.for_each_dot(f);
        self.rows.for_each_dot(f);
        self.racks.for_each_dot(f);
        self.devices.for_each_dot(f);
        self.links.for_each_dot(f);
    }

    fn join(&mut self, other: Self, ours: &CausalContext, theirs: &CausalContext, mode: JoinMode) {
        // Only the keys a delta carries can change, so applying a delta re-indexes just those.
        let touched = (mode == JoinMode::Apply).then(|| index::Touched::of(self, &other));
        self.datacenters.join(other.datacenters, ours, theirs, mode);
        self.rows.join(other.rows, ours, theirs, mode);
        self.racks.join(other.racks, ours, theirs, mode);
        self.devices.join(other.devices, ours, theirs, mode);
        self.links.join(other.links, ours, theirs, mode);
        match touched {
            Some(t) => t.reindex(self),
            None => self.index = Index::build(self),
        }
    }

    fn validate(&self) -> horao_crdt::Result<()> {
        self.datacenters.validate()?;
        self.rows.validate()?;
        self.racks.validate()?;
        self.devices.validate()?;
        self.links.validate()
    }

    fn skeleton(&self) -> Self {
        Physical {
            datacenters: self.datacenters.skeleton(),
            rows: self.rows.skeleton(),
            racks: self.racks.skeleton(),
            devices: self.devices.skeleton(),
            links: self.links.skeleton(),
            index: Index::default(),
        }
    }
}

impl Physical {
    /// The derived index of children by parent and links by port.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// True when the index, patched delta by delta, holds exactly what a rebuild from the
    /// tables would (O(devices + links); for tests and consistency checks).
    pub fn index_is_consistent(&self) -> bool {
        self.index.same_entries(&Index::build(self))
    }
}

impl Model {
    /// A model delta holding only the physical part `p`.
    pub(crate) fn from_physical(p: Physical) -> Model {
        Model {
            physical: p,
            ..Model::default()
        }
    }
}

/// A map delta holding `value` under `key` (the nested delta of an update).
pub(crate) fn single<K, V>(key: K, value: V, tx: &mut Tx) -> OrMap<K, V>
where
    K: Ord + Clone + std::fmt::Debug,
    V: DotStore,
{
    OrMap::default().update(key, tx, |_, _| value)
}
