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
//! Every mutator validates against the local state and returns a delta `Storage` (mutators
//! take `&self`, the [`Actor`], a timestamp for LWW writes and the `Tx`); run them through
//! `Replica::try_mutate`:
//!
//! ```
//! use horao_crdt::{Replica, ReplicaId, Timestamp};
//! use horao_model::lifecycle::{Actor, MachineId, MachineSpec, Storage};
//!
//! let mut r: Replica<Storage> = Replica::new(ReplicaId(1));
//! let m = MachineId::new("host-1").unwrap();
//! let ts = Timestamp::new(1_000, 0).unwrap();
//! let delta = r
//!     .try_mutate(|s, tx| s.register_machine(&m, MachineSpec::default(), &Actor::User, ts, tx))
//!     .unwrap();
//! assert!(r.state().machine(&m).is_some());
//! # let _ = delta;
//! ```

mod actor;
mod api;
mod conflicts;
mod ids;
mod image;
mod instance;
mod machine;
mod query;
mod state;
mod types;
mod volume;
mod volume_ops;

pub use actor::Actor;
pub use api::{ImageView, InstanceView, MachineView, Page, VolumeView};
pub use conflicts::StorageConflict;
pub(crate) use ids::id_type;
pub use ids::{
    ImageId, InstanceId, Label, MAX_ID_LEN, MachineId, PoolId, VolumeId, normalize_labels,
    validate_id, validate_label,
};
pub use image::Image;
pub use instance::Instance;
pub use machine::Machine;
pub use query::VolumeFilter;
pub use state::{InstanceState, MachineState, StateMachine, VolumeState, check_transition};
pub use types::{
    DesiredVolume, ImageOrigin, ImageReplica, ImageSpec, InstanceSpec, MAX_DILATION_PERCENT,
    MAX_MODE, MachineReport, MachineSpec, Permissions, Source, VolumeCurrent, VolumeOp,
    VolumeReport, VolumeSpec, quota_bytes, validate_size,
};
pub(crate) use types::{invalid, validate_name};
pub use volume::Volume;

use horao_crdt::{OrMap, dot_store_struct};
use serde::{Deserialize, Serialize};

/// The storage and compute sub-document: flat tables of machines, volumes, images and
/// instances keyed by id. A dot store, so the root model holds it as one field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Storage {
    pub(crate) machines: OrMap<MachineId, Machine>,
    pub(crate) volumes: OrMap<VolumeId, Volume>,
    pub(crate) images: OrMap<ImageId, Image>,
    pub(crate) instances: OrMap<InstanceId, Instance>,
}

dot_store_struct!(Storage {
    machines,
    volumes,
    images,
    instances
});

/// Joins two deltas minted in one transaction into one delta (the transaction's context
/// covers both, so the stores join under empty contexts).
pub(crate) fn combine<S: horao_crdt::DotStore>(mut a: S, b: S) -> S {
    let none = horao_crdt::CausalContext::new();
    a.join(b, &none, &none, horao_crdt::JoinMode::Combine);
    a
}

impl Storage {
    fn with_machines(machines: OrMap<MachineId, Machine>) -> Self {
        Self {
            machines,
            ..Self::default()
        }
    }

    fn with_volumes(volumes: OrMap<VolumeId, Volume>) -> Self {
        Self {
            volumes,
            ..Self::default()
        }
    }

    fn with_images(images: OrMap<ImageId, Image>) -> Self {
        Self {
            images,
            ..Self::default()
        }
    }

    fn with_instances(instances: OrMap<InstanceId, Instance>) -> Self {
        Self {
            instances,
            ..Self::default()
        }
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
