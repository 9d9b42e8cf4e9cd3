//! The sync node's error type.

use crate::error::Error;
use crate::id::ReplicaId;

/// What can go wrong while a [`crate::SyncNode`] handles a message, a token or a peer.
///
/// A handled message that fails changes nothing but what the node learnt about the sender
/// (a broken chunk also drops the transfer it belonged to).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// A value failed to encode, decode or validate.
    #[error(transparent)]
    Crdt(#[from] Error),
    /// A message came from a replica that is not a member.
    #[error("message from unknown peer {0}")]
    UnknownPeer(ReplicaId),
    /// A message came from a member with no open session (no accepted hello since the node
    /// started or since it disconnected).
    #[error("message from peer {0} before its hello")]
    NoSession(ReplicaId),
    /// A chunk does not continue the transfer in progress, or the transfer is larger than
    /// allowed; the transfer is dropped.
    #[error("bad transfer from peer {peer}: {why}")]
    Transfer {
        /// The sender.
        peer: ReplicaId,
        /// What was wrong.
        why: String,
    },
    /// A pending change this node did not issue, or already committed or aborted.
    #[error("no pending change {0} on this node")]
    UnknownPending(u64),
}
