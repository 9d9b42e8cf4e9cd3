//! Conflicts in the environments document: what concurrent edits can break that a single
//! replica refuses (dependency cycles, references to removed entities), reported identically
//! on every replica that merged the same edits.

use super::Environments;
use super::types::{Dependency, EnvironmentId, ResourceId};
use crate::conflict::Incomplete;
use serde::Serialize;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum EnvironmentConflict {
    /// Dependencies added concurrently closed a cycle: the path starts and ends with the
    /// cycle's smallest resource id.
    DependencyCycle {
        /// The cycle.
        cycle: Vec<ResourceId>,
    },
    /// A resource depends on a resource deleted concurrently.
    MissingDependency {
        /// The dependent resource.
        resource: ResourceId,
        /// The missing one.
        dependency: ResourceId,
    },
    /// An environment holds a resource deleted concurrently.
    MissingResource {
        /// The environment.
        environment: EnvironmentId,
        /// The missing resource.
        resource: ResourceId,
    },
    /// An edit concurrent with a deletion left an entry without its name.
    Incomplete(Incomplete),
}

impl std::fmt::Display for EnvironmentConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DependencyCycle { cycle } => {
                let c: Vec<&str> = cycle.iter().map(ResourceId::as_str).collect();
                write!(f, "dependency cycle: {}", c.join(" -> "))
            }
            Self::MissingDependency {
                resource,
                dependency,
            } => write!(
                f,
                "resource {resource}: dependency {dependency} no longer exists"
            ),
            Self::MissingResource {
                environment,
                resource,
            } => write!(
                f,
                "environment {environment}: resource {resource} no longer exists"
            ),
            Self::Incomplete(i) => i.fmt(f),
        }
    }
}

impl Environments {
    /// Every conflict, sorted; the same list on every replica holding the same state.
    pub fn conflicts(&self) -> Vec<EnvironmentConflict> {
        let mut out: Vec<EnvironmentConflict> = self
            .cycles()
            .into_iter()
            .map(|cycle| EnvironmentConflict::DependencyCycle { cycle })
            .collect();
        for (id, r) in self.resources() {
            for d in r.dependencies() {
                if let Dependency::Resource(d) = d {
                    if self.resource(d).is_none() {
                        out.push(EnvironmentConflict::MissingDependency {
                            resource: id.clone(),
                            dependency: d.clone(),
                        });
                    }
                }
            }
        }
        for (id, e) in self.environments() {
            for r in e.resources().filter(|r| self.resource(r).is_none()) {
                out.push(EnvironmentConflict::MissingResource {
                    environment: id.clone(),
                    resource: r.clone(),
                });
            }
        }
        let fragments = self
            .environments
            .iter()
            .filter(|(_, e)| e.described().is_none())
            .map(|(id, _)| ("environment", id.to_string()))
            .chain(
                self.resources
                    .iter()
                    .filter(|(_, r)| r.described().is_none())
                    .map(|(id, _)| ("resource", id.to_string())),
            );
        out.extend(
            fragments.map(|(kind, id)| {
                EnvironmentConflict::Incomplete(Incomplete::new(kind, &id, "name"))
            }),
        );
        out.sort();
        out
    }
}
