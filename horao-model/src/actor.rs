//! Who performs a mutation: an operator, a server, a tenant, or the agent of one machine.
//!
//! Every mutator takes the writer first ([`crate`] documents the convention) and refuses the
//! wrong one with [`Error::WrongWriter`]. Specifications and desired state are written by
//! operators and servers — and by a tenant for what it owns (its reservations and volumes);
//! current state only by the agent running on the machine concerned. So desired and current
//! fields never see concurrent writers of different kinds, and an API server passes the
//! actor its token authenticates without repeating these rules.

use crate::error::{Error, Result};
use crate::ids::{MachineId, TenantId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The writer of a mutation (authenticated by the caller, for example from a bearer token's
/// role).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Actor {
    /// An operator (a person or client with an administrator's token).
    User,
    /// A tenant, acting on what it owns.
    Tenant(TenantId),
    /// A server instance acting on its own (for example the scheduler placing a volume).
    Server,
    /// The agent running on the given machine.
    Agent(MachineId),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User => f.write_str("user"),
            Actor::Server => f.write_str("server"),
            Actor::Tenant(t) => write!(f, "tenant:{t}"),
            Actor::Agent(m) => write!(f, "agent:{m}"),
        }
    }
}

impl Actor {
    /// Ok for users and servers (writers of desired state and specifications).
    pub(crate) fn require_operator(
        &self,
        entity: &'static str,
        id: &str,
        field: &'static str,
    ) -> Result<()> {
        match self {
            Actor::User | Actor::Server => Ok(()),
            Actor::Tenant(_) | Actor::Agent(_) => Err(self.refused(entity, id, field)),
        }
    }

    /// Ok for operators and servers, and for the tenant `owner` (the owner of what is
    /// written; `None` when it belongs to no tenant).
    pub(crate) fn require_owner(
        &self,
        owner: Option<&TenantId>,
        entity: &'static str,
        id: &str,
        field: &'static str,
    ) -> Result<()> {
        match self {
            Actor::Tenant(t) if Some(t) == owner => Ok(()),
            _ => self.require_operator(entity, id, field),
        }
    }

    /// Ok only for the agent of one of `machines` (writers of current state).
    pub(crate) fn require_agent_of<'a>(
        &self,
        machines: impl IntoIterator<Item = &'a MachineId>,
        entity: &'static str,
        id: &str,
        field: &'static str,
    ) -> Result<&MachineId> {
        match self {
            Actor::Agent(m) if machines.into_iter().any(|x| x == m) => Ok(m),
            _ => Err(self.refused(entity, id, field)),
        }
    }

    fn refused(&self, entity: &'static str, id: &str, field: &'static str) -> Error {
        Error::WrongWriter {
            entity,
            id: id.to_string(),
            field,
            actor: self.to_string(),
        }
    }
}
