//! Mutators of environments and resources: create, update, delete, membership, lifecycle
//! status and dependencies (refusing cycles).

use super::Environments;
use super::entity::{Environment, Resource};
use super::types::{
    Dependency, Described, EnvironmentId, EnvironmentInput, EnvironmentStatus, ResourceId,
    ResourceInput, Tag,
};
use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::model::Model;
use crate::storage::Actor;
use crate::storage::check_transition;
use crate::validate::check_name;
use crate::validate::{check_description, check_endpoint};
use horao_crdt::combine;
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
    list.iter().try_for_each(|e| check_endpoint(field, e))?;
    let mut out = list.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The delta making `set` hold exactly `want` (observed-remove of the rest, so concurrent
/// additions elsewhere survive).
fn replace<E: Ord + Clone + Debug>(set: &OrSet<E>, want: &[E], tx: &mut Tx) -> Result<OrSet<E>> {
    let mut delta = OrSet::default();
    let stale: Vec<E> = set
        .iter()
        .filter(|e| want.binary_search(e).is_err())
        .cloned()
        .collect();
    for e in &stale {
        delta = combine(delta, set.remove(e, tx))?;
    }
    for e in want.iter().filter(|e| !set.contains(e)) {
        delta = combine(delta, set.add(e.clone(), tx))?;
    }
    Ok(delta)
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
        (None, None) => return Err(Error::invalid(format!("{kind}.name"), "is required")),
    };
    check_name(&format!("{kind}.name"), &name)?;
    let description = description
        .or_else(|| old.map(|o| o.description.clone()))
        .unwrap_or_default();
    check_description(&format!("{kind}.description"), &description)?;
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

fn set_opt<E: Ord + Clone + Debug>(
    set: &OrSet<E>,
    v: Option<Vec<E>>,
    tx: &mut Tx,
) -> Result<OrSet<E>> {
    v.map_or_else(|| Ok(OrSet::default()), |v| replace(set, &v, tx))
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
    ) -> Model {
        Model::from(Self {
            environments: self.environments.update(id.clone(), tx, f),
            ..Self::default()
        })
    }

    fn with_resources(
        &self,
        id: &ResourceId,
        tx: &mut Tx,
        f: impl FnOnce(&Resource, &mut Tx) -> Resource,
    ) -> Model {
        Model::from(Self {
            resources: self.resources.update(id.clone(), tx, f),
            ..Self::default()
        })
    }

    fn update_environment_unchecked(
        &self,
        old: Option<&Described>,
        id: &EnvironmentId,
        input: EnvironmentInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        // The owner is set on create; an update may restate it, never change it.
        let current = self.environments.get(id).and_then(|e| e.tenant());
        let tenant = owner_once(
            "environment",
            id.as_str(),
            old.is_none(),
            current,
            input.tenant,
        )?;
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
        let environments = self.environments.try_update(id.clone(), tx, |e, tx| {
            Ok::<_, Error>(Environment {
                described: write_opt(&e.described, d, ts, tx),
                tags: set_opt(&e.tags, t, tx)?,
                entry_points: set_opt(&e.entry_points, ep, tx)?,
                status_endpoints: set_opt(&e.status_endpoints, se, tx)?,
                tenant: write_opt(&e.tenant, tenant, ts, tx),
                ..Environment::default()
            })
        })?;
        Ok(Model::from(Self {
            environments,
            ..Self::default()
        }))
    }

    fn update_resource_unchecked(
        &self,
        old: Option<&Described>,
        id: &ResourceId,
        input: ResourceInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let current = self.resources.get(id).and_then(|r| r.tenant());
        let tenant = owner_once(
            "resource",
            id.as_str(),
            old.is_none(),
            current,
            input.tenant,
        )?;
        let d = described("resource", old, input.name, input.description)?;
        let t = input.tags.as_deref().map(tags).transpose()?;
        let se = input.status_endpoints.as_deref();
        let se = se
            .map(|l| endpoints("resource.status_endpoints", l))
            .transpose()?;
        let resources = self.resources.try_update(id.clone(), tx, |r, tx| {
            Ok::<_, Error>(Resource {
                described: write_opt(&r.described, d, ts, tx),
                tags: set_opt(&r.tags, t, tx)?,
                status_endpoints: set_opt(&r.status_endpoints, se, tx)?,
                tenant: write_opt(&r.tenant, tenant, ts, tx),
                ..Resource::default()
            })
        })?;
        Ok(Model::from(Self {
            resources,
            ..Self::default()
        }))
    }
}

/// The owner to write: the requested one on create; on update nothing, and a request to
/// change it is refused.
fn owner_once(
    kind: &'static str,
    id: &str,
    creating: bool,
    current: Option<&TenantId>,
    requested: Option<TenantId>,
) -> Result<Option<TenantId>> {
    match requested {
        Some(t) if creating => Ok(Some(t)),
        Some(t) if Some(&t) != current => Err(Error::Immutable {
            entity: kind,
            id: id.to_string(),
            field: "tenant",
            reason: "the owner is set when it is created".into(),
        }),
        _ => Ok(None),
    }
}

impl Model {
    /// Ok when `by` may write environment `id`: an operator or server, or the tenant that
    /// owns it (or, for a new one, is to own it: `claimed`).
    fn check_environment_writer(
        &self,
        by: &Actor,
        id: &EnvironmentId,
        claimed: Option<&TenantId>,
    ) -> Result<()> {
        let owner = self
            .environments
            .environments
            .get(id)
            .and_then(|e| e.tenant())
            .or(claimed);
        by.require_owner(owner, "environment", id.as_str(), "environment")
    }

    /// Refuses an owning tenant that does not exist.
    fn check_owner_exists(&self, tenant: Option<&TenantId>) -> Result<()> {
        match tenant {
            Some(t) if !self.logical.tenants.contains_key(t) => {
                Err(Error::not_found(TenantId::KIND, t))
            }
            _ => Ok(()),
        }
    }

    /// Ok when `by` may write resource `id` (see [`Model::check_environment_writer`]).
    fn check_resource_writer(
        &self,
        by: &Actor,
        id: &ResourceId,
        claimed: Option<&TenantId>,
    ) -> Result<()> {
        let owner = self
            .environments
            .resources
            .get(id)
            .and_then(|r| r.tenant())
            .or(claimed);
        by.require_owner(owner, "resource", id.as_str(), "resource")
    }

    /// Creates an environment in `deploying` (a name is required).
    pub fn create_environment(
        &self,
        by: &Actor,
        id: &EnvironmentId,
        input: EnvironmentInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_environment_writer(by, id, input.tenant.as_ref())?;
        self.check_owner_exists(input.tenant.as_ref())?;
        if self.environments.environment(id).is_some() {
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
        let mut delta = self
            .environments
            .update_environment_unchecked(None, id, input, ts, tx)?;
        let status = self
            .environments
            .with_environments(id, tx, |e, tx| Environment {
                status: e.status.write(EnvironmentStatus::Deploying, ts, tx),
                ..Environment::default()
            });
        delta = combine(delta, status)?;
        Ok(delta)
    }

    /// Updates the fields given in `input`.
    pub fn update_environment(
        &self,
        by: &Actor,
        id: &EnvironmentId,
        input: EnvironmentInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_environment_writer(by, id, None)?;
        let old = self.environments.existing_environment(id)?.described();
        self.environments
            .update_environment_unchecked(old, id, input, ts, tx)
    }

    /// Moves an environment along its lifecycle (see [`EnvironmentStatus`]).
    pub fn set_environment_status(
        &self,
        by: &Actor,
        id: &EnvironmentId,
        to: EnvironmentStatus,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_environment_writer(by, id, None)?;
        let from = self.environments.existing_environment(id)?.status();
        check_transition(id.as_str(), from, to)?;
        Ok(self
            .environments
            .with_environments(id, tx, |e, tx| Environment {
                status: e.status.write(to, ts, tx),
                ..Environment::default()
            }))
    }

    /// Deletes a `destroyed` environment (its resources stay).
    pub fn delete_environment(&self, by: &Actor, id: &EnvironmentId, tx: &mut Tx) -> Result<Model> {
        self.check_environment_writer(by, id, None)?;
        let status = self.environments.existing_environment(id)?.status();
        if status != EnvironmentStatus::Destroyed {
            return Err(Error::invalid(
                "environment.status",
                format!("environment {id} is {status}; only destroyed ones are deleted"),
            ));
        }
        Ok(Model::from(Environments {
            environments: self.environments.environments.remove(id, tx),
            ..Environments::default()
        }))
    }

    /// Makes a resource a member of an environment.
    pub fn add_environment_resource(
        &self,
        by: &Actor,
        id: &EnvironmentId,
        resource: &ResourceId,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_environment_writer(by, id, None)?;
        self.environments.existing_environment(id)?;
        self.environments.existing_resource(resource)?;
        Ok(self
            .environments
            .with_environments(id, tx, |e, tx| Environment {
                resources: e.resources.add(resource.clone(), tx),
                ..Environment::default()
            }))
    }

    /// Removes a resource from an environment.
    pub fn remove_environment_resource(
        &self,
        by: &Actor,
        id: &EnvironmentId,
        resource: &ResourceId,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_environment_writer(by, id, None)?;
        if !self
            .environments
            .existing_environment(id)?
            .resources
            .contains(resource)
        {
            return Err(Error::NotFound {
                kind: "environment resource",
                id: format!("{id}/{resource}"),
            });
        }
        Ok(self
            .environments
            .with_environments(id, tx, |e, tx| Environment {
                resources: e.resources.remove(resource, tx),
                ..Environment::default()
            }))
    }

    /// Creates a resource without dependencies (a name is required).
    pub fn create_resource(
        &self,
        by: &Actor,
        id: &ResourceId,
        input: ResourceInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_resource_writer(by, id, input.tenant.as_ref())?;
        self.check_owner_exists(input.tenant.as_ref())?;
        if self.environments.resource(id).is_some() {
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
        self.environments
            .update_resource_unchecked(None, id, input, ts, tx)
    }

    /// Updates the fields given in `input`.
    pub fn update_resource(
        &self,
        by: &Actor,
        id: &ResourceId,
        input: ResourceInput,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_resource_writer(by, id, None)?;
        let old = self.environments.existing_resource(id)?.described();
        self.environments
            .update_resource_unchecked(old, id, input, ts, tx)
    }

    /// Deletes a resource nothing depends on and no environment holds.
    pub fn delete_resource(&self, by: &Actor, id: &ResourceId, tx: &mut Tx) -> Result<Model> {
        self.check_resource_writer(by, id, None)?;
        self.environments.existing_resource(id)?;
        if let Some(user) = self.environments.direct_dependents(id).first() {
            return Err(Error::in_use("resource", id, format!("resource {user}")));
        }
        if let Some((env, _)) = self
            .environments
            .environments()
            .find(|(_, e)| e.resources.contains(id))
        {
            return Err(Error::in_use("resource", id, format!("environment {env}")));
        }
        Ok(Model::from(Environments {
            resources: self.environments.resources.remove(id, tx),
            ..Environments::default()
        }))
    }

    /// Adds a dependency of `id` on another resource or an external id. Refuses one that
    /// would close a cycle, naming it; adding a dependency already present changes nothing.
    pub fn add_dependency(
        &self,
        by: &Actor,
        id: &ResourceId,
        dep: Dependency,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_resource_writer(by, id, None)?;
        let r = self.environments.existing_resource(id)?;
        match &dep {
            Dependency::Resource(d) => {
                self.environments.existing_resource(d)?;
                if let Some(path) = self.environments.path(d, id) {
                    let mut cycle = vec![id.to_string()];
                    cycle.extend(path.iter().map(ToString::to_string));
                    return Err(Error::DependencyCycle { cycle });
                }
            }
            Dependency::External(e) => check_endpoint("resource.dependencies", e)?,
        }
        if r.dependencies.contains(&dep) {
            return Ok(Model::default());
        }
        Ok(self.environments.with_resources(id, tx, |r, tx| Resource {
            dependencies: r.dependencies.add(dep, tx),
            ..Resource::default()
        }))
    }

    /// Removes a dependency.
    pub fn remove_dependency(
        &self,
        by: &Actor,
        id: &ResourceId,
        dep: &Dependency,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.check_resource_writer(by, id, None)?;
        if !self
            .environments
            .existing_resource(id)?
            .dependencies
            .contains(dep)
        {
            return Err(Error::NotFound {
                kind: "dependency",
                id: format!("{id} -> {dep}"),
            });
        }
        Ok(self.environments.with_resources(id, tx, |r, tx| Resource {
            dependencies: r.dependencies.remove(dep, tx),
            ..Resource::default()
        }))
    }
}
