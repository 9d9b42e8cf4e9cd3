//! The physical layer of every datacenter: rows, racks, devices with their components, ports
//! and the links between them.
//!
//! Entities live in flat tables keyed by id ([`Physical`]); children name their parent and
//! carry an [`order::OrderKey`] for their position among siblings. Each entity groups its
//! fields into a few last-writer-wins registers by who writes them and how they change:
//! identity (`info`), position (`place`), components (`hardware`), plus an add-wins label set.

pub mod component;
pub mod conflicts;
pub mod datacenter;
pub mod device;
pub mod index;
pub mod network;
pub mod order;
pub mod rack;
pub mod topology;

pub use crate::ids::{DatacenterId, DeviceId, LinkId, RackId, RowId};
pub use component::{Accelerator, Cpu, Disk, DiskClass, Hardware, Nic, Port};
pub use conflicts::PhysicalConflict;
pub use datacenter::{Datacenter, DatacenterInfo, Row, RowInfo, RowPlace};
pub use device::{Device, DeviceInfo, DeviceKind, DevicePlace, NewDevice, PlaceSpec};
pub use index::Index;
pub use network::{Link, LinkSpec, NetworkKind, PortRef};
pub use order::{At, OrderKey};
pub use rack::{Rack, RackInfo, RackPlace};
pub use topology::Topology;

use crate::model::Model;
use horao_crdt::{Derived, DotStore, OrMap, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// The physical sub-document: flat tables of every physical entity, plus a derived index of
/// children by parent and links by port (see [`index`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// Children by parent and links by port, derived from the tables.
    #[serde(skip)]
    pub(crate) index: Derived<Index>,
}
dot_store_struct!(Physical { datacenters, rows, racks, devices, links } derived index);

impl Physical {
    /// The derived index of children by parent and links by port, built now if it is not.
    pub fn index(&self) -> &Index {
        self.index.get_or_build(self)
    }

    /// True when the index, patched delta by delta, holds exactly what a rebuild from the
    /// tables would (O(devices + links); for tests and consistency checks).
    pub fn index_is_consistent(&self) -> bool {
        self.index.is_consistent(self)
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
