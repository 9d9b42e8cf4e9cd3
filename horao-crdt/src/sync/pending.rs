//! The durability rule as the shape of the API: a change — a local mutation, or deltas or a
//! full state received from a peer — is first a [`Pending`] value the caller persists, then
//! [`SyncNode::commit`]ted. Until the commit nothing of it is applied, sent, forwarded or
//! advertised in a digest; an [`SyncNode::abort`]ed change stays unseen, so a retry of it is
//! applied rather than dropped as a duplicate.

use super::message::{Encoded, Frame};
use super::{SyncError, SyncNode};
use crate::causal::{Causal, Tx};
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::hlc::Timestamp;
use crate::id::ReplicaId;
use crate::store::DotStore;
use crate::wire::Kind;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A change waiting to be persisted and committed (see [`SyncNode`]'s call order).
///
/// What to persist is [`Pending::change`] (or its stored encoding, [`Pending::stored`]):
/// joined into the stored state, it brings the stored context along. The change also tells
/// the caller what is about to change (for a watch feed: ask the model what the delta
/// touches), before it is committed.
#[derive(Debug)]
#[must_use = "persist it, then commit it (or abort it)"]
pub struct Pending<S> {
    id: u64,
    data: Causal<S>,
    encoded: Encoded,
    origin: Origin,
}

#[derive(Debug)]
enum Origin {
    /// A local mutation, with its dependencies and the own counters it minted.
    Local {
        deps: CausalContext,
        first: u64,
        last: u64,
    },
    /// Received from a peer.
    Peer { from: ReplicaId, full: bool },
    /// Read from a durable log this node shares with other replicas: already durable.
    Shared { full: bool },
}

impl<S> Pending<S> {
    pub(crate) fn received(from: ReplicaId, data: Causal<S>, full: bool, encoded: Encoded) -> Self {
        Self {
            id: 0,
            data,
            encoded,
            origin: Origin::Peer { from, full },
        }
    }

    /// The token's number (unique per node).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The change: a delta, or a full state (see [`Pending::is_full_state`]).
    pub fn change(&self) -> &Causal<S> {
        &self.data
    }

    /// True for a full state received from a peer or read from a shared log (persist it by
    /// joining it, as any delta).
    pub fn is_full_state(&self) -> bool {
        matches!(
            self.origin,
            Origin::Peer { full: true, .. } | Origin::Shared { full: true }
        )
    }

    /// The peer it came from; `None` for a local mutation or a change read from a shared log.
    pub fn from(&self) -> Option<ReplicaId> {
        match self.origin {
            Origin::Local { .. } | Origin::Shared { .. } => None,
            Origin::Peer { from, .. } => Some(from),
        }
    }

    /// True for a change read from a durable log shared with other replicas
    /// ([`SyncNode::shared_change`]): it is durable already, so the caller commits it without
    /// persisting it again.
    pub fn is_shared(&self) -> bool {
        matches!(self.origin, Origin::Shared { .. })
    }

    /// The message frame that carries the change (sent, or received, once for every peer).
    pub fn frame(&self) -> &Frame {
        &self.encoded.frame
    }
}

impl<S: Serialize> Pending<S> {
    /// The change as a stored envelope ([`Kind::Delta`], or [`Kind::State`] for a full
    /// state), cut from the message frame: one copy, no encoding.
    pub fn stored(&self) -> Result<Vec<u8>> {
        let kind = if self.is_full_state() {
            Kind::State
        } else {
            Kind::Delta
        };
        self.encoded.stored(kind, &self.data)
    }
}

/// What handling a message produced.
#[derive(Debug)]
#[must_use = "a pending change must be persisted, then committed or aborted"]
pub struct Handled<S> {
    /// The change the message brings, if it brings anything new.
    pub pending: Option<Pending<S>>,
    /// The message's clock was further ahead of local time than the allowed drift: the
    /// node's clock did not follow it (the data is handled all the same).
    pub clock_error: Option<Error>,
    /// The clock the message carried, when it brought a change: for pushed and forwarded
    /// deltas, the origin's clock when it committed them (so the caller can measure how
    /// long a change took to arrive and be committed here).
    pub stamp: Option<Timestamp>,
}

impl<S> Default for Handled<S> {
    fn default() -> Self {
        Self {
            pending: None,
            clock_error: None,
            stamp: None,
        }
    }
}

/// What a commit changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing new (another copy of the change was committed first).
    Nothing,
    /// The delta was applied (and is now logged, pushed and forwarded).
    Delta,
    /// A full state was merged: anything may have changed.
    Full,
}

impl<S: DotStore + Serialize + DeserializeOwned> SyncNode<S> {
    /// A local change (see [`crate::Replica::mutate`]), pending until committed.
    pub fn mutate(&mut self, f: impl FnOnce(&S, &mut Tx) -> S) -> Result<Pending<S>> {
        self.try_mutate(|s, tx| Ok::<_, Error>(f(s, tx)))
    }

    /// A local change that may fail validation; on error nothing changes. The delta is read
    /// against the committed state (a change still pending is not visible to it) and encoded
    /// once, for every peer, here.
    pub fn try_mutate<E: From<Error>>(
        &mut self,
        f: impl FnOnce(&S, &mut Tx) -> std::result::Result<S, E>,
    ) -> std::result::Result<Pending<S>, E> {
        let id = self.id();
        let last = self.replica.ctx().max(id).max(self.minted);
        let mut tx = Tx::new(id, last);
        let store = f(self.replica.state(), &mut tx)?;
        let delta = tx.finish(store)?;
        // Its dependencies: its context minus the dots it minted (all of this replica, above
        // `last`).
        let top = delta.ctx.max(id);
        let mut minted = CausalContext::new();
        minted.insert_range(id, last.saturating_add(1), top);
        let deps = delta.ctx.difference(&minted);
        let encoded = self.encode_delta(&delta)?;
        self.minted = self.minted.max(top);
        let pending = Pending {
            id: 0,
            data: delta,
            encoded,
            origin: Origin::Local {
                deps,
                first: last.saturating_add(1),
                last: top,
            },
        };
        Ok(self.issue(pending))
    }

    /// A change another replica wrote to a durable log this node shares with it (servers on
    /// one store): `data` is a delta, or a full state when `full`. It is already durable, so
    /// the caller commits it without persisting it again; committed, it is applied and, a
    /// delta, forwarded to every connected peer (none of them wrote it to the shared log).
    /// `None` when it brings nothing new.
    pub fn shared_change(&mut self, data: Causal<S>, full: bool) -> Result<Option<Pending<S>>> {
        if self.replica.ctx().includes(&data.ctx) {
            return Ok(None);
        }
        let encoded = super::message::encode_data(&data, self.high, full)?;
        let pending = Pending {
            id: 0,
            data,
            encoded,
            origin: Origin::Shared { full },
        };
        Ok(Some(self.issue(pending)))
    }

    /// Numbers a pending change and records it as outstanding.
    pub(crate) fn issue(&mut self, mut p: Pending<S>) -> Pending<S> {
        self.next_pending += 1;
        p.id = self.next_pending;
        self.pending.insert(p.id);
        p
    }

    /// Commits a change the caller has persisted: applies it, logs it, and pushes it (a local
    /// change) or forwards it (a received delta) to the peers. Errors when the token is not
    /// outstanding on this node.
    pub fn commit(&mut self, p: Pending<S>) -> std::result::Result<Change, SyncError> {
        if !self.pending.remove(&p.id) {
            return Err(SyncError::UnknownPending(p.id));
        }
        self.full = None;
        let Pending {
            data,
            encoded,
            origin,
            ..
        } = p;
        let change = match origin {
            Origin::Local { deps, .. } => {
                if self.replica.apply_encoded(data, encoded.payload()) {
                    self.push(None, &encoded.frame, &deps);
                }
                Change::Delta
            }
            Origin::Peer { full: false, .. } | Origin::Shared { full: false } => {
                // A delta from a peer goes on to the other peers; one read from a shared log
                // goes to every peer (none of them wrote it there).
                let (except, forward) = match origin {
                    Origin::Peer { from, .. } => {
                        (Some(from), self.config.forward && self.peers.len() > 1)
                    }
                    _ => (None, !self.peers.is_empty()),
                };
                // Forwarded with what it depends on as far as this node can tell: the dots of
                // its context it already had (a superset of the true dependencies).
                let deps = forward.then(|| data.ctx.intersection(self.replica.ctx()));
                if !self.replica.apply_encoded(data, encoded.payload()) {
                    Change::Nothing
                } else {
                    if let Some(deps) = deps {
                        self.push(except, &encoded.frame, &deps);
                    }
                    Change::Delta
                }
            }
            Origin::Peer { full: true, .. } | Origin::Shared { full: true } => {
                if self.replica.merge(data) {
                    Change::Full
                } else {
                    Change::Nothing
                }
            }
        };
        self.collect();
        Ok(change)
    }

    /// Drops a change the caller could not persist: nothing of it was applied or sent, and
    /// a later copy of it is handled as new.
    pub fn abort(&mut self, p: Pending<S>) {
        if self.pending.remove(&p.id) {
            if let Origin::Local { first, last, .. } = p.origin {
                // The newest local change gives its counters back, so aborts leave no gap.
                if last >= first && self.minted == last {
                    self.minted = first - 1;
                }
            }
        }
    }

    /// Number of changes issued and not yet committed or aborted.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }
}
