//! Storage and compute lifecycle: machines (btrfs hosts), volumes, images and instances.
//!
//! One sub-document, [`Storage`], holds four flat tables keyed by id. Each entity groups its
//! fields into a few registers by who writes them and how they change:
//!
//! | entity   | register     | type                      | written by                     |
//! |----------|--------------|---------------------------|--------------------------------|
//! | machine  | `spec`       | LWW [`MachineSpec`]       | users, servers, its own agent  |
//! | machine  | `desired`    | LWW [`MachineState`]      | users, servers                 |
//! | machine  | `current`    | LWW [`MachineReport`]     | its own agent only             |
//! | volume   | `spec`       | LWW [`VolumeSpec`]        | users, servers (frozen once placed, except by a resize) |
//! | volume   | `source`     | LWW [`Source`]            | set at creation, cleared by the agent once initialized |
//! | volume   | `desired`    | LWW [`DesiredVolume`]     | users, servers                 |
//! | volume   | `assignment` | MV [`MachineId`]          | servers (placement)            |
//! | volume   | `current`    | LWW [`VolumeCurrent`]     | the agent of the assigned machine only |
//! | image    | `spec`       | LWW [`ImageSpec`]         | written once                   |
//! | image    | `replicas`   | OR-set [`ImageReplica`]   | users, servers                 |
//! | instance | `spec`, `desired`, `disks` | LWW, LWW, OR-set | users, servers           |
//!
//! Desired and current state are separate registers with separate writers, so they never
//! conflict. The assignment is a multi-value register: two servers that placed one volume
//! during a partition both survive the merge, and [`Storage::conflicts`] reports it.
//!
//! The mutators are methods on the root model and follow the crate's convention (see
//! [`crate`]); the queries are methods on [`Storage`]:
//!
//! ```
//! use horao_crdt::{Replica, ReplicaId, Timestamp};
//! use horao_model::model::Model;
//! use horao_model::storage::{Actor, MachineId, MachineSpec};
//!
//! let mut r: Replica<Model> = Replica::new(ReplicaId(1));
//! let m = MachineId::new("host-1").unwrap();
//! let ts = Timestamp::new(1_000, 0).unwrap();
//! let by = Actor::Agent(m.clone());
//! r.try_mutate(|s, tx| s.register_machine(&by, &m, MachineSpec::default(), ts, tx))
//!     .unwrap();
//! assert!(r.state().storage.machine(&m).is_some());
//! ```

mod conflicts;
mod image;
mod index;
mod instance;
mod machine;
mod placement;
mod query;
mod state;
mod types;
mod v2;
mod volume;
mod volume_ops;

pub use crate::actor::Actor;
pub use crate::ids::{ImageId, InstanceId, MachineId, PoolId, VolumeId};
pub use crate::label::Label;
pub use conflicts::StorageConflict;
pub use image::Image;
pub use index::StorageIndex;
pub use instance::Instance;
pub use machine::Machine;
pub use placement::DISK_BYTES;
pub use state::{InstanceState, MachineState, StateMachine, VolumeState, check_transition};
pub use types::{
    DesiredVolume, ImageOrigin, ImageReplica, ImageSpec, InstanceSpec, MAX_DILATION_PERCENT,
    MAX_MODE, MAX_REASON_LEN, MAX_REJECTED_BY, MAX_REPORTED_PATH_LEN, MAX_REPORTED_PATHS,
    MachineReport, MachineSpec, Permissions, Source, VolumeCurrent, VolumeOp, VolumeReport,
    VolumeSpec, quota_bytes, validate_size,
};
pub use volume::Volume;
pub use volume_ops::REPORT_STEP_PERCENT;

use crate::model::Model;
use horao_crdt::{Derived, OrMap, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// The storage and compute sub-document: flat tables of machines, volumes, images and
/// instances keyed by id, and a derived index of volumes by name and by machine
/// ([`StorageIndex`]). A dot store, so the root model holds it as one field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Storage {
    pub(crate) machines: OrMap<MachineId, Machine>,
    pub(crate) volumes: OrMap<VolumeId, Volume>,
    pub(crate) images: OrMap<ImageId, Image>,
    pub(crate) instances: OrMap<InstanceId, Instance>,
    #[serde(skip)]
    pub(crate) index: Derived<StorageIndex>,
}

dot_store_struct!(Storage { machines, volumes, images, instances } derived index);

impl Storage {
    /// The derived index of volumes by name and by machine, built now if it is not.
    pub fn index(&self) -> &StorageIndex {
        self.index.get_or_build(self)
    }

    /// True when the index, patched delta by delta, holds exactly what a rebuild would.
    pub fn index_is_consistent(&self) -> bool {
        self.index.is_consistent(self)
    }

    /// A model delta writing registers of machine `id`: `f` gets the machine (bottom when
    /// absent: a creation, or callers checked it exists) and returns the registers it
    /// writes, the others left at bottom (`..Machine::default()`).
    fn write_machine(
        &self,
        id: &MachineId,
        tx: &mut Tx,
        f: impl FnOnce(&Machine, &mut Tx) -> Machine,
    ) -> Model {
        Self::with_machines(self.machines.update(id.clone(), tx, f))
    }

    /// A model delta writing registers of volume `id`, as [`Storage::write_machine`] does
    /// for a machine.
    fn write_volume(
        &self,
        id: &VolumeId,
        tx: &mut Tx,
        f: impl FnOnce(&Volume, &mut Tx) -> Volume,
    ) -> Model {
        Self::with_volumes(self.volumes.update(id.clone(), tx, f))
    }

    /// A model delta holding only the machines table delta `machines`.
    fn with_machines(machines: OrMap<MachineId, Machine>) -> Model {
        Model::from(Self {
            machines,
            ..Self::default()
        })
    }

    /// A model delta holding only the volumes table delta `volumes`.
    fn with_volumes(volumes: OrMap<VolumeId, Volume>) -> Model {
        Model::from(Self {
            volumes,
            ..Self::default()
        })
    }

    /// A model delta holding only the images table delta `images`.
    fn with_images(images: OrMap<ImageId, Image>) -> Model {
        Model::from(Self {
            images,
            ..Self::default()
        })
    }

    /// A model delta holding only the instances table delta `instances`.
    fn with_instances(instances: OrMap<InstanceId, Instance>) -> Model {
        Model::from(Self {
            instances,
            ..Self::default()
        })
    }
}

impl From<Storage> for crate::model::Model {
    /// Wraps a storage delta into a root-model delta, so storage mutators run through a
    /// `Replica<Model>`: `r.try_mutate(|m, tx| m.storage.create_volume(..).map(Model::from))`.
    fn from(storage: Storage) -> Self {
        Self {
            storage,
            ..Self::default()
        }
    }
}
