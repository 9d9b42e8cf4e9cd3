//! Who performs a mutation: a user, a server, or the agent of one machine.
//!
//! Desired state is written by users and servers, current state only by the agent running on
//! the machine concerned. Mutations take the writer explicitly and refuse the wrong one with
//! [`Error::WrongWriter`], so the two kinds of field never see concurrent writers of
//! different kinds.

use super::ids::MachineId;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The writer of a mutation (authenticated by the caller, for example from a bearer token's
/// role).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Actor {
    /// A person or client using the API.
    User,
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
            Actor::Agent(_) => Err(self.refused(entity, id, field)),
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
