//! The handshake: the first message on every connection names the sender's replica id, its
//! incarnation (bumped on every start), the wire version and the application's schema
//! version. A mismatch is refused with a typed error on both sides: the refusing side answers
//! with a [`Refusal`] naming its own versions, from which the refused side builds the same
//! error.
//!
//! The handshake's layout ([`crate::wire::Kind::Handshake`]) is frozen: whatever wire
//! version a peer speaks, it can read a hello and a refusal, so a mixed-version cluster fails
//! loudly at connection time instead of misreading messages.

use crate::id::ReplicaId;
use crate::sync::membership::Membership;
use crate::sync::message::Frame;
use serde::{Deserialize, Serialize};

/// The first message on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's replica id (persisted: the same across restarts).
    pub replica: ReplicaId,
    /// The sender's incarnation: bumped on each start, so peers tell a new session of the
    /// replica from a late connection of an old one.
    pub incarnation: u64,
    /// The sender's wire version ([`crate::wire::VERSION`]).
    pub wire_version: u16,
    /// The sender's application schema version ([`crate::SyncConfig::schema_version`]).
    pub schema_version: u16,
}

/// Why a hello was refused, as its one-byte code on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    /// The wire versions differ.
    WireVersion,
    /// The schema versions differ.
    SchemaVersion,
    /// The hello names an incarnation older than the peer's current session.
    StaleIncarnation,
    /// The hello names the receiver's own replica id.
    SameReplica,
    /// A reason this build does not know (sent by a newer peer).
    Other(u8),
}

impl RefusalReason {
    fn code(self) -> u8 {
        match self {
            Self::WireVersion => 1,
            Self::SchemaVersion => 2,
            Self::StaleIncarnation => 3,
            Self::SameReplica => 4,
            Self::Other(c) => c,
        }
    }

    fn from_code(c: u8) -> Self {
        match c {
            1 => Self::WireVersion,
            2 => Self::SchemaVersion,
            3 => Self::StaleIncarnation,
            4 => Self::SameReplica,
            c => Self::Other(c),
        }
    }
}

/// A refused hello: the refusing side's own hello and the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The refusing side (its versions, for the error message on the refused side).
    pub by: Hello,
    /// The reason's code (see [`Refusal::reason`]).
    code: u8,
}

impl Refusal {
    pub(crate) fn new(by: Hello, reason: RefusalReason) -> Self {
        Self {
            by,
            code: reason.code(),
        }
    }

    /// Why the hello was refused.
    pub fn reason(&self) -> RefusalReason {
        RefusalReason::from_code(self.code)
    }

    /// The error the refused side reports, given its own hello.
    pub fn error(&self, mine: &Hello) -> HandshakeError {
        let by = self.by;
        match self.reason() {
            RefusalReason::WireVersion => HandshakeError::WireVersion {
                peer: by.replica,
                ours: mine.wire_version,
                theirs: by.wire_version,
            },
            RefusalReason::SchemaVersion => HandshakeError::SchemaVersion {
                peer: by.replica,
                ours: mine.schema_version,
                theirs: by.schema_version,
            },
            reason => HandshakeError::RefusedByPeer {
                peer: by.replica,
                reason,
            },
        }
    }
}

/// A handshake message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Handshake {
    /// "I am this replica, in this incarnation, speaking these versions."
    Hello(Hello),
    /// "I refuse your hello": sent once, then the connection is closed.
    Refuse(Refusal),
}

/// Why a connection was refused, on either side.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The wire versions differ.
    #[error("peer {peer} speaks wire version {theirs}, this replica speaks {ours}")]
    WireVersion {
        /// The other replica.
        peer: ReplicaId,
        /// This replica's wire version.
        ours: u16,
        /// The peer's wire version.
        theirs: u16,
    },
    /// The application schema versions differ.
    #[error("peer {peer} has schema version {theirs}, this replica has {ours}")]
    SchemaVersion {
        /// The other replica.
        peer: ReplicaId,
        /// This replica's schema version.
        ours: u16,
        /// The peer's schema version.
        theirs: u16,
    },
    /// A hello from an older incarnation than the peer's current session (a late
    /// connection of a process that has since restarted).
    #[error("peer {peer} offers incarnation {offered}, older than its current {current}")]
    StaleIncarnation {
        /// The other replica.
        peer: ReplicaId,
        /// The incarnation of the current session.
        current: u64,
        /// The incarnation the hello named.
        offered: u64,
    },
    /// The hello names this replica's own id (a connection to itself, or a duplicated id).
    #[error("peer claims this replica's own id {0}")]
    SameReplica(ReplicaId),
    /// The peer refused this replica's hello for a reason other than versions.
    #[error("peer {peer} refused the connection: {reason:?}")]
    RefusedByPeer {
        /// The other replica.
        peer: ReplicaId,
        /// Its reason.
        reason: RefusalReason,
    },
    /// A message other than a hello opened the connection.
    #[error("the connection did not open with a hello")]
    NoHello,
}

/// A refused handshake: the error, and the refusal to send back on that connection (before
/// closing it) when this side refused. The refusal is returned rather than queued for the
/// replica the hello names, because that replica may be connected on another connection
/// that must not receive it (a late connection of an old incarnation).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Refused {
    /// What went wrong.
    pub error: HandshakeError,
    /// The refusal to send on the connection, if this side refused.
    pub reply: Option<Frame>,
}

/// An accepted hello: a session with the peer is open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The peer.
    pub peer: ReplicaId,
    /// Its incarnation.
    pub incarnation: u64,
    /// True when the hello names a higher incarnation than the one last seen of this member
    /// (a restart; also the first hello of a member added before it was heard from): what the
    /// node held for the old session (queued messages, transfers, what the peer was known to
    /// have) is gone.
    pub replaced: bool,
    /// The new membership to persist, when the hello changed it (a new member, a returning
    /// retired one, or a new incarnation).
    pub membership: Option<Membership>,
}
