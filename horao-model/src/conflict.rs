//! Conflicts: invariants a merge of concurrent edits can break, reported by a query instead
//! of silently dropping one side.
//!
//! Each layer owns its conflicts ([`PhysicalConflict`], [`LogicalConflict`],
//! [`ClaimConflict`], [`StorageConflict`], [`EnvironmentConflict`]); [`Model::conflicts`]
//! gathers them. Every replica holding the same state reports the same sorted list. A conflict
//! disappears once an operator resolves it with an ordinary mutation (moving a device,
//! deleting a link, …).

use crate::claims::ClaimConflict;
use crate::environments::EnvironmentConflict;
use crate::logical::LogicalConflict;
use crate::model::Model;
use crate::physical::PhysicalConflict;
use crate::storage::StorageConflict;
use serde::Serialize;
use std::fmt;

/// One broken invariant, by layer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Conflict {
    /// Among datacenters, rows, racks, devices and links.
    Physical(PhysicalConflict),
    /// Among infrastructures, tenants and profiles.
    Logical(LogicalConflict),
    /// Among reservations and maintenance windows.
    Claims(ClaimConflict),
    /// Among machines, volumes, images and instances.
    Storage(StorageConflict),
    /// Among environments and resources.
    Environment(EnvironmentConflict),
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::Physical(c) => c.fmt(f),
            Conflict::Logical(c) => c.fmt(f),
            Conflict::Claims(c) => c.fmt(f),
            Conflict::Storage(c) => c.fmt(f),
            Conflict::Environment(c) => c.fmt(f),
        }
    }
}

/// An entity refers to one that no longer exists (deleted concurrently) or is of the wrong
/// kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Dangling {
    /// The referring entity's kind.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// The referring field.
    pub field: &'static str,
    /// The missing target, as `kind id`.
    pub target: String,
}

impl Dangling {
    /// `kind id`'s `field` names the missing `target`.
    pub fn new(
        kind: &'static str,
        id: &impl ToString,
        field: &'static str,
        target: String,
    ) -> Self {
        Dangling {
            kind,
            id: id.to_string(),
            field,
            target,
        }
    }
}

impl fmt::Display for Dangling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Dangling {
            kind,
            id,
            field,
            target,
        } = self;
        write!(f, "{kind} {id}: {field} names missing {target}")
    }
}

/// An entity lacks a part every entity of its kind has: it was deleted on one replica while
/// edited on another, and only the concurrent edit survived. Recreate or delete it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Incomplete {
    /// The entity's kind.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// The missing part.
    pub missing: &'static str,
}

impl Incomplete {
    /// `kind id` lacks `missing`.
    pub fn new(kind: &'static str, id: &impl ToString, missing: &'static str) -> Self {
        Incomplete {
            kind,
            id: id.to_string(),
            missing,
        }
    }
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: incomplete, no {}",
            self.kind, self.id, self.missing
        )
    }
}

/// `a, b, c`.
pub(crate) fn join<T: fmt::Display>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
}

impl Model {
    /// Every conflict in the model, sorted and deduplicated: the same list on every replica
    /// that holds the same state.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = Vec::new();
        out.extend(
            self.physical
                .conflicts()
                .into_iter()
                .map(Conflict::Physical),
        );
        out.extend(
            self.logical
                .conflicts(&self.physical)
                .into_iter()
                .map(Conflict::Logical),
        );
        out.extend(self.claim_conflicts().into_iter().map(Conflict::Claims));
        out.extend(self.storage.conflicts().into_iter().map(Conflict::Storage));
        out.extend(
            self.environments
                .conflicts()
                .into_iter()
                .map(Conflict::Environment),
        );
        out.sort();
        out.dedup();
        out
    }
}
