//! Environments and resources (the service-provisioning design): named environments with
//! tags, entry points, status endpoints and a lifecycle; resources whose dependencies on
//! other resources or external ids form a graph that is kept acyclic, walkable both ways, and
//! searchable by text.
//!
//! [`Environments`] holds two flat tables. Name and description share one LWW register;
//! tags, endpoints, member resources and dependencies are add-wins sets, so concurrent edits
//! on different replicas all survive. Adding a dependency that closes a cycle is refused with
//! [`crate::Error::DependencyCycle`]; two concurrent additions can still close one after a
//! merge, and [`Environments::conflicts`] then reports it on every replica alike.
//!
//! ```
//! use horao_crdt::{Replica, ReplicaId, Timestamp};
//! use horao_model::environments::{ResourceId, ResourceInput, Dependency};
//! use horao_model::{Actor, model::Model};
//!
//! let mut r: Replica<Model> = Replica::new(ReplicaId(1));
//! let ts = Timestamp::new(1, 0).unwrap();
//! let (db, web) = (ResourceId::new("db").unwrap(), ResourceId::new("web").unwrap());
//! let by = Actor::User;
//! for id in [&db, &web] {
//!     let input = ResourceInput { name: Some(id.to_string()), ..Default::default() };
//!     r.try_mutate(|m, tx| m.create_resource(&by, id, input, ts, tx)).unwrap();
//! }
//! r.try_mutate(|m, tx| m.add_dependency(&by, &web, Dependency::Resource(db.clone()), tx)).unwrap();
//! let err = r.try_mutate(|m, tx| m.add_dependency(&by, &db, Dependency::Resource(web.clone()), tx));
//! assert_eq!(err.unwrap_err().to_string(), "dependency cycle: db -> web -> db");
//! let envs = &r.state().environments;
//! assert_eq!(envs.dependents(&Dependency::Resource(db)), vec![web]);
//! ```

mod conflicts;
mod entity;
mod graph;
mod mutate;
mod types;

pub use conflicts::EnvironmentConflict;
pub use entity::{Environment, Resource};
pub use types::{
    Dependency, Described, EnvironmentId, EnvironmentInput, EnvironmentStatus, MAX_DESCRIPTION_LEN,
    MAX_ENDPOINT_LEN, MAX_TAG_LEN, ResourceId, ResourceInput, Tag,
};

use horao_crdt::{OrMap, dot_store_struct};
use serde::{Deserialize, Serialize};

/// The environments sub-document: environments and resources keyed by id. A dot store, so
/// the root model holds it as one field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Environments {
    pub(crate) environments: OrMap<EnvironmentId, Environment>,
    pub(crate) resources: OrMap<ResourceId, Resource>,
}

dot_store_struct!(Environments {
    environments,
    resources
});

impl Environments {
    /// The environment `id`, if it exists.
    pub fn environment(&self, id: &EnvironmentId) -> Option<&Environment> {
        self.environments
            .get(id)
            .filter(|e| e.described().is_some())
    }

    /// The resource `id`, if it exists.
    pub fn resource(&self, id: &ResourceId) -> Option<&Resource> {
        self.resources.get(id).filter(|r| r.described().is_some())
    }

    /// The environments table, fragments included (for listings that page by key).
    pub fn environments_table(&self) -> &OrMap<EnvironmentId, Environment> {
        &self.environments
    }

    /// The resources table, fragments included.
    pub fn resources_table(&self) -> &OrMap<ResourceId, Resource> {
        &self.resources
    }

    /// Every environment, in id order.
    pub fn environments(&self) -> impl Iterator<Item = (&EnvironmentId, &Environment)> {
        self.environments
            .iter()
            .filter(|(_, e)| e.described().is_some())
    }

    /// Every resource, in id order.
    pub fn resources(&self) -> impl Iterator<Item = (&ResourceId, &Resource)> {
        self.resources
            .iter()
            .filter(|(_, r)| r.described().is_some())
    }
}

impl From<Environments> for crate::model::Model {
    /// Wraps an environments delta into a root-model delta (see the storage counterpart).
    fn from(environments: Environments) -> Self {
        Self {
            environments,
            ..Self::default()
        }
    }
}
