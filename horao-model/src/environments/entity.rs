//! The stored shapes of an environment and a resource, and their read accessors.

use super::types::{Dependency, Described, EnvironmentStatus, ResourceId, Tag};
use crate::ids::TenantId;
use horao_crdt::{LwwReg, OrSet, dot_store_struct};
use serde::{Deserialize, Serialize};

/// An environment. Exists once its name is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub(crate) described: LwwReg<Described>,
    pub(crate) status: LwwReg<EnvironmentStatus>,
    pub(crate) tags: OrSet<Tag>,
    pub(crate) entry_points: OrSet<String>,
    pub(crate) status_endpoints: OrSet<String>,
    pub(crate) resources: OrSet<ResourceId>,
    pub(crate) tenant: LwwReg<TenantId>,
}

dot_store_struct!(Environment {
    described,
    status,
    tags,
    entry_points,
    status_endpoints,
    resources,
    tenant
});

impl Environment {
    /// Name and description.
    pub fn described(&self) -> Option<&Described> {
        self.described.get()
    }

    /// The lifecycle status (deploying until changed).
    pub fn status(&self) -> EnvironmentStatus {
        self.status
            .get()
            .copied()
            .unwrap_or(EnvironmentStatus::Deploying)
    }

    /// Tags, sorted.
    pub fn tags(&self) -> impl Iterator<Item = &Tag> {
        self.tags.iter()
    }

    /// Entry points, sorted.
    pub fn entry_points(&self) -> impl Iterator<Item = &String> {
        self.entry_points.iter()
    }

    /// Status endpoints, sorted.
    pub fn status_endpoints(&self) -> impl Iterator<Item = &String> {
        self.status_endpoints.iter()
    }

    /// The tenant that owns it.
    pub fn tenant(&self) -> Option<&TenantId> {
        self.tenant.get()
    }

    /// Member resources, sorted.
    pub fn resources(&self) -> impl Iterator<Item = &ResourceId> {
        self.resources.iter()
    }
}

/// A resource. Exists once its name is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub(crate) described: LwwReg<Described>,
    pub(crate) tags: OrSet<Tag>,
    pub(crate) status_endpoints: OrSet<String>,
    pub(crate) dependencies: OrSet<Dependency>,
    pub(crate) tenant: LwwReg<TenantId>,
}

dot_store_struct!(Resource {
    described,
    tags,
    status_endpoints,
    dependencies,
    tenant
});

impl Resource {
    /// Name and description.
    pub fn described(&self) -> Option<&Described> {
        self.described.get()
    }

    /// Tags, sorted.
    pub fn tags(&self) -> impl Iterator<Item = &Tag> {
        self.tags.iter()
    }

    /// Status endpoints, sorted.
    pub fn status_endpoints(&self) -> impl Iterator<Item = &String> {
        self.status_endpoints.iter()
    }

    /// The tenant that owns it.
    pub fn tenant(&self) -> Option<&TenantId> {
        self.tenant.get()
    }

    /// Direct dependencies, sorted (resources before external ids).
    pub fn dependencies(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies.iter()
    }
}
