//! Conflicts of the logical layer: diverged memberships, and references to physical entities
//! or descriptions removed concurrently.

use super::{InfraId, Logical, Membership};
use crate::conflict::{Dangling, Incomplete};
use crate::physical::Physical;
use serde::Serialize;
use std::fmt;

/// One broken invariant of the logical layer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum LogicalConflict {
    /// Concurrent writers gave a datacenter different roles in an infrastructure.
    MembershipDiverged {
        /// The infrastructure.
        infrastructure: InfraId,
        /// The datacenter.
        datacenter: String,
        /// The roles written, sorted.
        roles: Vec<Membership>,
    },
    /// A reference to a missing entity.
    Dangling(Dangling),
    /// An entity missing a part.
    Incomplete(Incomplete),
}

impl LogicalConflict {
    fn dangling(
        kind: &'static str,
        id: &impl ToString,
        field: &'static str,
        target: String,
    ) -> Self {
        LogicalConflict::Dangling(Dangling::new(kind, id, field, target))
    }

    fn incomplete(kind: &'static str, id: &impl ToString, missing: &'static str) -> Self {
        LogicalConflict::Incomplete(Incomplete::new(kind, id, missing))
    }
}

impl fmt::Display for LogicalConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogicalConflict::MembershipDiverged {
                infrastructure,
                datacenter,
                roles,
            } => write!(
                f,
                "infrastructure {infrastructure} datacenter {datacenter}: roles {roles:?}"
            ),
            LogicalConflict::Dangling(d) => d.fmt(f),
            LogicalConflict::Incomplete(i) => i.fmt(f),
        }
    }
}

impl Logical {
    /// Every conflict of the logical layer against `physical` (which its memberships and
    /// constraints name), sorted.
    pub fn conflicts(&self, physical: &Physical) -> Vec<LogicalConflict> {
        let mut out = Vec::new();
        let out = &mut out;
        let l = self;
        for (id, i) in l.infrastructures.iter() {
            if i.info.get().is_none() {
                out.push(LogicalConflict::incomplete("infrastructure", id, "info"));
            }
            for (dc, roles) in i.datacenters.iter() {
                if !physical.datacenters.contains_key(dc) {
                    out.push(LogicalConflict::dangling(
                        "infrastructure",
                        id,
                        "datacenters",
                        format!("datacenter {dc}"),
                    ));
                }
                let mut rs: Vec<Membership> = roles.values().copied().collect();
                rs.sort();
                rs.dedup();
                if rs.len() > 1 {
                    out.push(LogicalConflict::MembershipDiverged {
                        infrastructure: id.clone(),
                        datacenter: dc.to_string(),
                        roles: rs,
                    });
                }
            }
        }
        for (id, t) in l.tenants.iter() {
            if t.info.get().is_none() {
                out.push(LogicalConflict::incomplete("tenant", id, "info"));
            }
            for c in t.constraints.iter() {
                if let crate::logical::Constraint::OnlyDatacenter(dc) = c
                    && !physical.datacenters.contains_key(dc)
                {
                    out.push(LogicalConflict::dangling(
                        "tenant",
                        id,
                        "constraints",
                        format!("datacenter {dc}"),
                    ));
                }
            }
        }
        for (id, pr) in l.profiles.iter() {
            if pr.spec.get().is_none() {
                out.push(LogicalConflict::incomplete("profile", id, "spec"));
            }
        }
        out.sort();
        out.dedup();
        std::mem::take(out)
    }
}
