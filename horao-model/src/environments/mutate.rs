//! Mutators of environments and resources: create, update, delete, membership, lifecycle
//! status and dependencies (refusing cycles).

use super::Environments;
use super::entity::{Environment, Resource};
use super::types::{
    Dependency, Described, EnvironmentId, EnvironmentInput, EnvironmentStatus, ResourceId,
    ResourceInput, Tag, validate_description, validate_endpoint,
};
use crate::error::{Error, Result};
use crate::lifecycle::{check_transition, combine, invalid, validate_name};
use horao_crdt::{LwwReg, OrSet, Timestamp, Tx};
use std::fmt::Debug;

/// Validated tags, sorted and unique.
fn tags(list: &[String]) -> Result<Vec<Tag>> {
    let mut out = list
        .iter()
        .map(|t| Tag::new(t))
        .collect::<Result<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Validated endpoints, sorted and unique.
fn endpoints(field: &str, list: &[String]) -> Result<Vec<String>> {
    list.iter().try_for_each(|e| validate_endpoint(field, e))?;
    let mut out = list.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The delta making `set` hold exactly `want` (observed-remove of the rest, so concurrent
/// additions elsewhere survive).
fn replace<E: Ord + Clone + Debug>(set: &OrSet<E>, want: &[E], tx: &mut Tx) -> OrSet<E> {
    let mut delta = OrSet::default();
    let stale: Vec<E> = set
        .iter()
        .filter(|e| want.binary_search(e).is_err())
        .cloned()
        .collect();
    for e in &stale {
        delta = combine(delta, set.remove(e, tx));
    }
    for e in want.iter().filter(|e| !set.contains(e)) {
        delta = combine(delta, set.add(e.clone(), tx));
    }
    delta
}

/// The new name and description after an update (or a create, from nothing).
fn described(
    kind: &str,
    old: Option<&Described>,
    name: Option<String>,
    description: Option<String>,
) -> Result<Option<Described>> {
    if name.is_none() && description.is_none() {
        return Ok(None);
    }
    let name = match (name, old) {
        (Some(n), _) => n,
        (None, Some(o)) => o.name.clone(),
        (None, None) => return Err(invalid(&format!("{kind}.name"), "is required")),
    };
    validate_name(&format!("{kind}.name"), &name)?;
    let description = description
        .or_else(|| old.map(|o| o.description.clone()))
        .unwrap_or_default();
    validate_description(&format!("{kind}.description"), &description)?;
    Ok(Some(Described { name, description }))
}

fn write_opt<V: Clone + PartialEq + Debug>(
    reg: &LwwReg<V>,
    v: Option<V>,
    ts: Timestamp,
    tx: &mut Tx,
) -> LwwReg<V> {
    v.map(|v| reg.write(v, ts, tx)).unwrap_or_default()
}

fn set_opt<E: Ord + Clone + Debug>(set: &OrSet<E>, v: Option<Vec<E>>, tx: &mut Tx) -> OrSet<E> {
    v.map(|v| replace(set, &v, tx)).unwrap_or_default()
}

impl Environments {
    fn existing_environment(&self, id: &EnvironmentId) -> Result<&Environment> {
        self.environment(id).ok_or_else(|| Error::NotFound {
            kind: "environment",
            id: id.to_string(),
        })
    }

    pub(crate) fn existing_resource(&self, id: &ResourceId) -> Result<&Resource> {
        self.resource(id).ok_or_else(|| Error::NotFound {
            kind: "resource",
            id: id.to_string(),
        })
    }

    fn with_environments(
        &self,
        id: &EnvironmentId,
        tx: &mut Tx,
        f: impl FnOnce(&Environment, &mut Tx) -> Environment,
    ) -> Self {
        Self {
            environments: self.environments.update(id.clone(), tx, f),
            ..Self::default()
        }
    }

    fn with_resources(
        &self,
        id: &ResourceId,
        tx: &mut Tx,
        f: impl FnOnce(&Resource, &mut Tx) -> Resource,
    ) -> Self {
        Self {
            resources: self.resources.update(id.clone(), tx, f),
            ..Self::default()
        }
    }

    /// Creates an environment in `deploying` (a name is required).
    pub fn create_environment(
        &self,
        id: &EnvironmentId,
        input: EnvironmentInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Self> {
        if self.environment(id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "environment",
                id: id.to_string(),
            });
        }
        let input = EnvironmentInput {
            name: Some(input.name.unwrap_or_default()),
            tags: Some(input.tags.unwrap_or_default()),
            entry_points: Some(input.entry_points.unwrap_or_default()),
            status_endpoints: Some(input.status_endpoints.unwrap_or_default()),
            ..input
        };
        let mut delta = self.update_environment_unchecked(None, id, input, ts, tx)?;
        let status = self.with_environments(id, tx, |e, tx| Environment {
            status: e.status.write(EnvironmentStatus::Deploying, ts, tx),
            ..Environment::default()
        });
        delta = combine(delta, status);
        Ok(delta)
    }

    /// Updates the fields given in `input`.
    pub fn update_environment(
        &self,
        id: &EnvironmentId,
        input: EnvironmentInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Self> {
        let old = self.existing_environment(id)?.described();
        self.update_environment_unchecked(old, id, input, ts, tx)
    }

    fn update_environment_unchecked(
        &self,
        old: Option<&Described>,
        id: &EnvironmentId,
        input: EnvironmentInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Self> {
        let d = described("environment", old, input.name, input.description)?;
        let t = input.tags.as_deref().map(tags).transpose()?;
        let ep = input.entry_points.as_deref();
        let ep = ep
            .map(|l| endpoints("environment.entry_points", l))
            .transpose()?;
        let se = input.status_endpoints.as_deref();
        let se = se
            .map(|l| endpoints("environment.status_endpoints", l))
            .transpose()?;
        Ok(self.with_environments(id, tx, |e, tx| Environment {
            described: write_opt(&e.described, d, ts, tx),
            tags: set_opt(&e.tags, t, tx),
            entry_points: set_opt(&e.entry_points, ep, tx),
            status_endpoints: set_opt(&e.status_endpoints, se, tx),
            ..Environment::default()
        }))
    }

    /// Moves an environment along its lifecycle (see [`EnvironmentStatus`]).
    pub fn set_environment_status(
        &self,
        id: &EnvironmentId,
        to: EnvironmentStatus,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Self> {
        let from = self.existing_environment(id)?.status();
        check_transition(id.as_str(), from, to)?;
        Ok(self.with_environments(id, tx, |e, tx| Environment {
            status: e.status.write(to, ts, tx),
            ..Environment::default()
        }))
    }

    /// Deletes a `destroyed` environment (its resources stay).
    pub fn delete_environment(&self, id: &EnvironmentId, tx: &mut Tx) -> Result<Self> {
        let status = self.existing_environment(id)?.status();
        if status != EnvironmentStatus::Destroyed {
            return Err(invalid(
                "environment.status",
                format!("environment {id} is {status}; only destroyed ones are deleted"),
            ));
        }
        Ok(Self {
            environments: self.environments.remove(id, tx),
            ..Self::default()
        })
    }

    /// Makes a resource a member of an environment.
    pub fn add_environment_resource(
        &self,
        id: &EnvironmentId,
        resource: &ResourceId,
        tx: &mut Tx,
    ) -> Result<Self> {
        self.existing_environment(id)?;
        self.existing_resource(resource)?;
        Ok(self.with_environments(id, tx, |e, tx| Environment {
            resources: e.resources.add(resource.clone(), tx),
            ..Environment::default()
        }))
    }

    /// Removes a resource from an environment.
    pub fn remove_environment_resource(
        &self,
        id: &EnvironmentId,
        resource: &ResourceId,
        tx: &mut Tx,
    ) -> Result<Self> {
        if !self.existing_environment(id)?.resources.contains(resource) {
            return Err(Error::NotFound {
                kind: "environment resource",
                id: format!("{id}/{resource}"),
            });
        }
        Ok(self.with_environments(id, tx, |e, tx| Environment {
            resources: e.resources.remove(resource, tx),
            ..Environment::default()
        }))
    }

    /// Creates a resource without dependencies (a name is required).
    pub fn create_resource(
        &self,
        id: &ResourceId,
        input: ResourceInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Self> {
        if self.resource(id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "resource",
                id: id.to_string(),
            });
        }
        let input = ResourceInput {
            name: Some(input.name.unwrap_or_default()),
            tags: Some(input.tags.unwrap_or_default()),
            status_endpoints: Some(input.status_endpoints.unwrap_or_default()),
            ..input
        };
        self.update_resource_unchecked(None, id, input, ts, tx)
    }

    /// Updates the fields given in `input`.
    pub fn update_resource(
        &self,
        id: &ResourceId,
        input: ResourceInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Self> {
        let old = self.existing_resource(id)?.described();
        self.update_resource_unchecked(old, id, input, ts, tx)
    }

    fn update_resource_unchecked(
        &self,
        old: Option<&Described>,
        id: &ResourceId,
        input: ResourceInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Self> {
        let d = described("resource", old, input.name, input.description)?;
        let t = input.tags.as_deref().map(tags).transpose()?;
        let se = input.status_endpoints.as_deref();
        let se = se
            .map(|l| endpoints("resource.status_endpoints", l))
            .transpose()?;
        Ok(self.with_resources(id, tx, |r, tx| Resource {
            described: write_opt(&r.described, d, ts, tx),
            tags: set_opt(&r.tags, t, tx),
            status_endpoints: set_opt(&r.status_endpoints, se, tx),
            ..Resource::default()
        }))
    }

    /// Deletes a resource nothing depends on and no environment holds.
    pub fn delete_resource(&self, id: &ResourceId, tx: &mut Tx) -> Result<Self> {
        self.existing_resource(id)?;
        if let Some(user) = self.direct_dependents(id).first() {
            return Err(Error::in_use("resource", id, format!("resource {user}")));
        }
        if let Some((env, _)) = self.environments().find(|(_, e)| e.resources.contains(id)) {
            return Err(Error::in_use("resource", id, format!("environment {env}")));
        }
        Ok(Self {
            resources: self.resources.remove(id, tx),
            ..Self::default()
        })
    }

    /// Adds a dependency of `id` on another resource or an external id. Refuses one that
    /// would close a cycle, naming it; adding a dependency already present changes nothing.
    pub fn add_dependency(&self, id: &ResourceId, dep: Dependency, tx: &mut Tx) -> Result<Self> {
        let r = self.existing_resource(id)?;
        match &dep {
            Dependency::Resource(d) => {
                self.existing_resource(d)?;
                if let Some(path) = self.path(d, id) {
                    let mut cycle = vec![id.to_string()];
                    cycle.extend(path.iter().map(ToString::to_string));
                    return Err(Error::DependencyCycle { cycle });
                }
            }
            Dependency::External(e) => validate_endpoint("resource.dependencies", e)?,
        }
        if r.dependencies.contains(&dep) {
            return Ok(Self::default());
        }
        Ok(self.with_resources(id, tx, |r, tx| Resource {
            dependencies: r.dependencies.add(dep, tx),
            ..Resource::default()
        }))
    }

    /// Removes a dependency.
    pub fn remove_dependency(
        &self,
        id: &ResourceId,
        dep: &Dependency,
        tx: &mut Tx,
    ) -> Result<Self> {
        if !self.existing_resource(id)?.dependencies.contains(dep) {
            return Err(Error::NotFound {
                kind: "dependency",
                id: format!("{id} -> {dep}"),
            });
        }
        Ok(self.with_resources(id, tx, |r, tx| Resource {
            dependencies: r.dependencies.remove(dep, tx),
            ..Resource::default()
        }))
    }
}
