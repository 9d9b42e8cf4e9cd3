//! Views and requests of environments and resources.

use super::{ListQuery, Page, id, page};
use crate::environments::{Dependency, EnvironmentInput, EnvironmentStatus, ResourceInput};
use crate::error::{Error, Result};
use crate::ids::{EnvironmentId, ResourceId, TenantId};
use crate::model::Model;
use serde::{Deserialize, Serialize};

/// An environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EnvironmentView {
    /// Its id.
    pub id: EnvironmentId,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Lifecycle status.
    pub status: EnvironmentStatus,
    /// Tags (lower-case).
    pub tags: Vec<String>,
    /// URLs users reach it by.
    pub entry_points: Vec<String>,
    /// URLs reporting its health.
    pub status_endpoints: Vec<String>,
    /// Its resources.
    pub resources: Vec<ResourceId>,
    /// The tenant that owns it.
    pub tenant: Option<TenantId>,
}

/// Creates an environment (a name is required) or changes one (absent fields stay; a list
/// replaces the set).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EnvironmentRequest {
    /// Display name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Entry points.
    pub entry_points: Option<Vec<String>>,
    /// Status endpoints.
    pub status_endpoints: Option<Vec<String>>,
    /// The tenant that owns it (on create).
    pub tenant: Option<String>,
}

/// One dependency: a resource of the model or an external id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DependencyView {
    /// A resource of the model.
    Resource(ResourceId),
    /// Something outside it (a DNS name, a cloud resource id).
    External(String),
}

/// A resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ResourceView {
    /// Its id.
    pub id: ResourceId,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// URLs reporting its health.
    pub status_endpoints: Vec<String>,
    /// What it depends on directly.
    pub dependencies: Vec<DependencyView>,
    /// The tenant that owns it.
    pub tenant: Option<TenantId>,
}

/// Creates a resource (a name is required) or changes one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    /// Display name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Status endpoints.
    pub status_endpoints: Option<Vec<String>>,
    /// The tenant that owns it (on create).
    pub tenant: Option<String>,
}

impl EnvironmentRequest {
    /// The model's input.
    pub fn to_model(&self) -> Result<EnvironmentInput> {
        Ok(EnvironmentInput {
            name: self.name.clone(),
            description: self.description.clone(),
            tags: self.tags.clone(),
            entry_points: self.entry_points.clone(),
            status_endpoints: self.status_endpoints.clone(),
            tenant: self.tenant.as_deref().map(id).transpose()?,
        })
    }
}

impl ResourceRequest {
    /// The model's input.
    pub fn to_model(&self) -> Result<ResourceInput> {
        Ok(ResourceInput {
            name: self.name.clone(),
            description: self.description.clone(),
            tags: self.tags.clone(),
            status_endpoints: self.status_endpoints.clone(),
            tenant: self.tenant.as_deref().map(id).transpose()?,
        })
    }
}

impl DependencyView {
    /// The model's dependency.
    pub fn to_model(&self) -> Result<Dependency> {
        Ok(match self {
            DependencyView::Resource(r) => Dependency::Resource(r.clone()),
            DependencyView::External(e) => {
                if e.is_empty() {
                    return Err(Error::invalid("dependency.external", "must not be empty"));
                }
                Dependency::External(e.clone())
            }
        })
    }

    /// The view of `d`.
    pub fn of(d: &Dependency) -> Self {
        match d {
            Dependency::Resource(r) => DependencyView::Resource(r.clone()),
            Dependency::External(e) => DependencyView::External(e.clone()),
        }
    }
}

impl EnvironmentView {
    /// The view of environment `id`, if it exists.
    pub fn of(m: &Model, id: &EnvironmentId) -> Option<Self> {
        let e = m.environments.environment(id)?;
        let d = e.described()?;
        Some(EnvironmentView {
            id: id.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            status: e.status(),
            tags: e.tags().map(|t| t.to_string()).collect(),
            entry_points: e.entry_points().cloned().collect(),
            status_endpoints: e.status_endpoints().cloned().collect(),
            resources: e.resources().cloned().collect(),
            tenant: e.tenant().cloned(),
        })
    }
}

impl ResourceView {
    /// The view of resource `id`, if it exists.
    pub fn of(m: &Model, id: &ResourceId) -> Option<Self> {
        let r = m.environments.resource(id)?;
        let d = r.described()?;
        Some(ResourceView {
            id: id.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            tags: r.tags().map(|t| t.to_string()).collect(),
            status_endpoints: r.status_endpoints().cloned().collect(),
            dependencies: r.dependencies().map(DependencyView::of).collect(),
            tenant: r.tenant().cloned(),
        })
    }
}

/// A page of environments (filters: name; `label` matches a tag).
pub fn list_environments(m: &Model, q: &ListQuery) -> Result<Page<EnvironmentView>> {
    let f = q.parse()?;
    let envs = &m.environments;
    page(
        envs.environments_table(),
        &f,
        |_, e| {
            e.described().is_some_and(|d| f.name_ok(&d.name))
                && f.label
                    .as_ref()
                    .is_none_or(|l| e.tags().any(|t| t.as_str() == l.as_str()))
                && f.datacenter.is_none()
        },
        |id, _| EnvironmentView::of(m, id),
    )
}

/// A page of resources (filters: name; `label` matches a tag).
pub fn list_resources(m: &Model, q: &ListQuery) -> Result<Page<ResourceView>> {
    let f = q.parse()?;
    page(
        m.environments.resources_table(),
        &f,
        |_, r| {
            r.described().is_some_and(|d| f.name_ok(&d.name))
                && f.label
                    .as_ref()
                    .is_none_or(|l| r.tags().any(|t| t.as_str() == l.as_str()))
                && f.datacenter.is_none()
        },
        |id, _| ResourceView::of(m, id),
    )
}

/// The id of a dependency given as text: `external:NAME` or a resource id.
pub fn parse_dependency(s: &str) -> Result<Dependency> {
    match s.strip_prefix("external:") {
        Some(e) => Ok(Dependency::External(e.to_string())),
        None => Ok(Dependency::Resource(id(s)?)),
    }
}
