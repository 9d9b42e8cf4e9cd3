//! What a sync node persists beside its replica's state: the membership (the replicas whose
//! acknowledgement the collection of logged deltas waits for, with the incarnation last seen
//! of each), the peers' known contexts, and the delta log. All of it is plain serde data; the
//! caller stores it (for example with [`crate::wire::encode_sync_state`]).

use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::id::ReplicaId;
use crate::replica::LogState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The persisted set of peers and the incarnation last seen of each (0 before the first
/// hello). Logged deltas are collected only once every member has them, so a member that is
/// partitioned or down stalls collection (never writes) until it returns or is retired.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    members: BTreeMap<ReplicaId, u64>,
}

impl Membership {
    pub(crate) fn from_map(members: BTreeMap<ReplicaId, u64>) -> Self {
        Self { members }
    }

    /// True when `id` is a member.
    pub fn contains(&self, id: ReplicaId) -> bool {
        self.members.contains_key(&id)
    }

    /// The members and the incarnation last seen of each, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.members.iter().map(|(id, inc)| (*id, *inc))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when there is no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// Everything a sync node needs to restart without punishing its peers: with it restored,
/// a lagging peer is answered with the deltas it lacks, not with the full state.
///
/// Save it with the store; restore it with [`crate::SyncNode::restore`]. A state saved
/// earlier than the replica's is still safe: logged deltas it lacks count as collected
/// (answered with the full state), and the peers' contexts it holds are older, so they only
/// delay collection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The members and their incarnations.
    pub membership: Membership,
    /// What each member was known to have.
    pub known: BTreeMap<ReplicaId, CausalContext>,
    /// The replica's delta log.
    pub log: LogState,
}

impl SyncState {
    /// Checks a decoded state: contexts and the log well formed, contexts only for members.
    pub fn validate(&self) -> Result<()> {
        for (id, ctx) in &self.known {
            if !self.membership.contains(*id) {
                return Err(Error::Invalid {
                    what: "sync state",
                    why: format!("context of {id}, which is not a member"),
                });
            }
            ctx.validate()?;
        }
        self.log.validate()
    }
}
