//! Peers and sessions: membership (adding and retiring peers), the handshake that opens a
//! session with a peer, and what a session holds (its outbox and the transfer it is
//! receiving), dropped when the connection closes or the peer restarts.

use super::handshake::{
    Accepted, Handshake, HandshakeError, Hello, Refusal, RefusalReason, Refused,
};
use super::membership::Membership;
use super::message::Frame;
use super::outbox::Outbox;
use super::reassembly::Reassembly;
use super::{SyncNode, encode_handshake};
use crate::context::CausalContext;
use crate::id::ReplicaId;
use crate::store::DotStore;
use crate::wire;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a node knows about one member.
#[derive(Debug, Default)]
pub(crate) struct PeerState {
    /// Dots the peer is known to have (from its digests and from what it sent).
    pub(crate) known: CausalContext,
    /// The incarnation last seen (0 before the first hello).
    pub(crate) incarnation: u64,
    /// The open session, while the peer is connected.
    pub(crate) session: Option<Session>,
}

impl PeerState {
    pub(crate) fn restored(incarnation: u64, known: CausalContext) -> Self {
        Self {
            known,
            incarnation,
            session: None,
        }
    }
}

/// A connected peer's session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    pub(crate) outbox: Outbox,
    /// The chunked message being received.
    pub(crate) inbound: Option<Reassembly>,
    /// In the node's turn of peers with frames.
    pub(crate) ready: bool,
}

impl<S: DotStore + Serialize + DeserializeOwned> SyncNode<S> {
    /// This node's hello.
    pub fn hello_message(&self) -> Hello {
        Hello {
            replica: self.id(),
            incarnation: self.config.incarnation,
            wire_version: wire::VERSION,
            schema_version: self.config.schema_version,
        }
    }

    /// The frame to send first on every connection.
    pub fn hello(&self) -> crate::error::Result<Frame> {
        encode_handshake(&Handshake::Hello(self.hello_message()))
    }

    /// Handles the first message received on a connection. A hello with the same versions
    /// opens a session with its sender (a new member joins the membership; a higher
    /// incarnation replaces the old session's state) and queues this node's digest for it. A
    /// mismatch, a stale incarnation or this node's own id is refused: the error names both
    /// sides' versions and carries the refusal to send back. A refusal received is the
    /// peer's error, rebuilt on this side.
    pub fn handle_handshake(&mut self, msg: Handshake) -> Result<Accepted, Refused> {
        let me = self.hello_message();
        let hello = match msg {
            Handshake::Refuse(r) => {
                return Err(Refused {
                    error: r.error(&me),
                    reply: None,
                });
            }
            Handshake::Hello(h) => h,
        };
        let refuse = |reason, error| Refused {
            error,
            reply: encode_handshake(&Handshake::Refuse(Refusal::new(me, reason))).ok(),
        };
        let peer = hello.replica;
        if hello.wire_version != me.wire_version {
            return Err(refuse(
                RefusalReason::WireVersion,
                HandshakeError::WireVersion {
                    peer,
                    ours: me.wire_version,
                    theirs: hello.wire_version,
                },
            ));
        }
        if hello.schema_version != me.schema_version {
            return Err(refuse(
                RefusalReason::SchemaVersion,
                HandshakeError::SchemaVersion {
                    peer,
                    ours: me.schema_version,
                    theirs: hello.schema_version,
                },
            ));
        }
        if peer == me.replica {
            return Err(refuse(
                RefusalReason::SameReplica,
                HandshakeError::SameReplica(peer),
            ));
        }
        let joined = !self.peers.contains_key(&peer);
        let state = self.peers.entry(peer).or_default();
        if hello.incarnation < state.incarnation {
            return Err(refuse(
                RefusalReason::StaleIncarnation,
                HandshakeError::StaleIncarnation {
                    peer,
                    current: state.incarnation,
                    offered: hello.incarnation,
                },
            ));
        }
        let replaced = !joined && hello.incarnation > state.incarnation;
        if replaced {
            // A restart: what the old session claimed may not have survived it.
            state.known = CausalContext::new();
        }
        let changed = joined || hello.incarnation != state.incarnation;
        state.incarnation = hello.incarnation;
        state.session = Some(Session::default());
        if let Ok(digest) = self.digest() {
            self.queue_digest(peer, digest);
        }
        Ok(Accepted {
            peer,
            incarnation: hello.incarnation,
            replaced,
            membership: changed.then(|| self.membership()),
        })
    }

    /// The connection to `peer` closed: its session (queued frames, transfers in either
    /// direction) is dropped. It stays a member, so it still holds back collection.
    pub fn disconnect(&mut self, peer: ReplicaId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.session = None;
        }
    }

    /// The dots `peer` is known to have (from its digests and what it sent); `None` for a
    /// replica that is not a member. What this node has beyond it is the peer's lag.
    pub fn known(&self, peer: ReplicaId) -> Option<&CausalContext> {
        self.peers.get(&peer).map(|p| &p.known)
    }

    /// The incarnation last seen of member `peer` (0 before its first hello).
    pub fn incarnation_of(&self, peer: ReplicaId) -> Option<u64> {
        self.peers.get(&peer).map(|p| p.incarnation)
    }

    /// True while `peer` has an open session.
    pub fn is_connected(&self, peer: ReplicaId) -> bool {
        self.peers.get(&peer).is_some_and(|p| p.session.is_some())
    }

    /// Adds a member before it is heard from (for example from configuration): until it
    /// acknowledges them, nothing it lacks is collected. Returns the membership to persist
    /// when it changed.
    pub fn add_peer(&mut self, peer: ReplicaId) -> Option<Membership> {
        if peer == self.id() || self.peers.contains_key(&peer) {
            return None;
        }
        self.peers.insert(peer, PeerState::default());
        Some(self.membership())
    }

    /// Retires a member that is gone for good: it no longer holds back the collection of
    /// logged deltas, and its session is dropped. Returns the membership to persist. If it
    /// ever comes back, its hello makes it a member again, and it is sent the full state if
    /// deltas it lacks were collected meanwhile.
    #[must_use = "persist the membership"]
    pub fn retire_peer(&mut self, peer: ReplicaId) -> Membership {
        self.peers.remove(&peer);
        self.collect();
        self.membership()
    }
}
