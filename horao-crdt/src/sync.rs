//! The sync protocol as a sans-IO state machine: a node handles incoming messages and queues
//! outgoing ones; the caller moves the bytes (websocket, in-memory simulator, anything).
//!
//! Protocol: every local change is pushed as a delta to every peer. Periodically
//! ([`SyncNode::tick`]) a node sends each peer its digest (its causal context); the peer
//! answers with the join of the deltas the sender lacks — removals included, as context — or
//! with its full state when those deltas were already collected, and sends its own digest
//! back when the sender has dots it lacks. Deltas received from a peer are forwarded to the
//! other peers, never back to the sender. Logged deltas are collected once every known peer
//! has acknowledged their dots (causal stability).
//!
//! Pushes are causal: a delta goes to a peer only when the peer is known to have every dot
//! the delta overwrites or removes (its dependencies); otherwise the node sends its digest
//! instead, and anti-entropy delivers the delta with what it depends on. A peer that applied
//! a delta whose dependencies it lacks would record those dots as seen without their own
//! removals; its digest would then claim more than it holds, and anti-entropy would never
//! repair it (a removed element could stay on that peer forever).

use crate::causal::{Causal, Tx};
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::id::ReplicaId;
use crate::replica::{Answer, Replica};
use crate::store::DotStore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// The whole log is swept for stable deltas once every `len / SWEEP_EVERY` collections.
const SWEEP_EVERY: usize = 8;

/// A protocol message between two sync nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message<S> {
    /// "This is everything I have seen": asks for what the receiver has beyond it.
    Digest(CausalContext),
    /// Deltas, pushed after a change or sent in answer to a digest.
    Deltas(Causal<S>),
    /// A full state, the fallback when the deltas a peer lacks were collected.
    Full(Causal<S>),
}

/// Tunables of a [`SyncNode`].
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Forward deltas received from one peer to the others (needed unless the peers form a
    /// full mesh; anti-entropy repairs either way).
    pub forward: bool,
    /// Bound on the number of logged deltas (see [`Replica::set_max_log_entries`]).
    pub max_log_entries: usize,
    /// Bound on the bytes of logged deltas (see [`Replica::set_max_log_bytes`]).
    pub max_log_bytes: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            forward: true,
            max_log_entries: crate::replica::DEFAULT_MAX_LOG_ENTRIES,
            max_log_bytes: crate::replica::DEFAULT_MAX_LOG_BYTES,
        }
    }
}

/// What a node knows about one peer.
#[derive(Clone, Debug, Default)]
struct PeerState {
    /// Dots the peer is known to have (from its digests and from what it sent).
    known: CausalContext,
}

/// One node of the sync protocol around a [`Replica`].
///
/// Call order: [`SyncNode::mutate`] for local changes; [`SyncNode::handle`] for each message
/// received; [`SyncNode::tick`] periodically; after any of them, drain
/// [`SyncNode::poll_transmit`] and send each message to its peer.
#[derive(Clone, Debug)]
pub struct SyncNode<S> {
    replica: Replica<S>,
    peers: BTreeMap<ReplicaId, PeerState>,
    outbox: VecDeque<(ReplicaId, Message<S>)>,
    config: SyncConfig,
    /// Collections since the last sweep of the whole log.
    since_sweep: usize,
}

impl<S: DotStore + Serialize + DeserializeOwned> SyncNode<S> {
    /// A node around `replica` with no peers yet.
    pub fn new(mut replica: Replica<S>, config: SyncConfig) -> Self {
        replica.set_max_log_entries(config.max_log_entries);
        replica.set_max_log_bytes(config.max_log_bytes);
        Self {
            replica,
            peers: BTreeMap::new(),
            outbox: VecDeque::new(),
            config,
            since_sweep: 0,
        }
    }

    /// The replica.
    pub fn replica(&self) -> &Replica<S> {
        &self.replica
    }

    /// This node's id.
    pub fn id(&self) -> ReplicaId {
        self.replica.id()
    }

    /// Adds a peer (a member of the cluster). Until it is heard from, nothing it lacks is
    /// collected.
    pub fn add_peer(&mut self, peer: ReplicaId) {
        if peer != self.id() {
            self.peers.entry(peer).or_default();
        }
    }

    /// Drops a retired peer: it no longer holds back the collection of logged deltas. If it
    /// ever comes back it is a new peer and receives a full state.
    pub fn retire_peer(&mut self, peer: ReplicaId) {
        self.peers.remove(&peer);
        self.outbox.retain(|(to, _)| *to != peer);
        self.collect();
    }

    /// The peers, in id order.
    pub fn peers(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.peers.keys().copied()
    }

    /// A local change (see [`Replica::mutate`]); the delta is queued for every peer.
    pub fn mutate(&mut self, f: impl FnOnce(&S, &mut Tx) -> S) -> Result<Causal<S>> {
        self.try_mutate(|s, tx| Ok::<_, Error>(f(s, tx)))
    }

    /// A local change that may fail validation; on error nothing changes or is sent.
    pub fn try_mutate<E: From<Error>>(
        &mut self,
        f: impl FnOnce(&S, &mut Tx) -> std::result::Result<S, E>,
    ) -> std::result::Result<Causal<S>, E> {
        let last = self.replica.ctx().max(self.id());
        let delta = self.replica.try_mutate(f)?;
        // The delta's dependencies: its context minus the dots it minted (all of this
        // replica, above `last`).
        let mut minted = CausalContext::new();
        minted.insert_range(self.id(), last.saturating_add(1), delta.ctx.max(self.id()));
        let deps = delta.ctx.difference(&minted);
        self.push(None, &delta, &deps);
        if self.peers.is_empty() {
            self.collect();
        }
        Ok(delta)
    }

    /// Starts a round of anti-entropy: queues this node's digest for every peer.
    pub fn tick(&mut self) {
        let digest = self.replica.ctx().clone();
        for peer in self.peers.keys() {
            self.outbox
                .push_back((*peer, Message::Digest(digest.clone())));
        }
    }

    /// Handles one message from `from`. Errors (and changes nothing) when the peer is unknown
    /// or the message is malformed.
    pub fn handle(&mut self, from: ReplicaId, msg: Message<S>) -> Result<()> {
        if !self.peers.contains_key(&from) {
            return Err(Error::UnknownPeer(from));
        }
        match msg {
            Message::Digest(ctx) => {
                ctx.validate()?;
                self.learn(from, &ctx);
                match self.replica.answer(&ctx) {
                    Answer::UpToDate => {}
                    Answer::Deltas(d) => self.outbox.push_back((from, Message::Deltas(d))),
                    Answer::Full(s) => self.outbox.push_back((from, Message::Full(s))),
                }
                if !self.replica.ctx().includes(&ctx) {
                    let mine = self.replica.ctx().clone();
                    self.outbox.push_back((from, Message::Digest(mine)));
                }
            }
            Message::Deltas(delta) => {
                delta.validate()?;
                self.learn(from, &delta.ctx);
                // Forwarded only when some other peer can receive it; then the delta is kept
                // (a clone) with what it depends on, as far as this node can tell: the dots of
                // its context it already had (a superset of the true dependencies).
                let forward = (self.config.forward && self.peers.len() > 1).then(|| {
                    let deps = delta.ctx.intersection(self.replica.ctx());
                    (delta.clone(), deps)
                });
                if self.replica.apply(delta) {
                    if let Some((delta, deps)) = forward {
                        self.push(Some(from), &delta, &deps);
                    }
                }
            }
            Message::Full(state) => {
                state.validate()?;
                self.learn(from, &state.ctx);
                self.replica.merge(state);
            }
        }
        self.collect();
        Ok(())
    }

    /// Queues `delta` for every peer but `except` that is known to have its dependencies
    /// `deps`, and this node's digest for the others, so they fetch the delta through
    /// anti-entropy together with what it depends on.
    fn push(&mut self, except: Option<ReplicaId>, delta: &Causal<S>, deps: &CausalContext) {
        for (id, peer) in &self.peers {
            if Some(*id) == except {
                continue;
            }
            let msg = if peer.known.includes(deps) {
                Message::Deltas(delta.clone())
            } else {
                Message::Digest(self.replica.ctx().clone())
            };
            self.outbox.push_back((*id, msg));
        }
    }

    /// The next message to send, as `(peer, message)`.
    pub fn poll_transmit(&mut self) -> Option<(ReplicaId, Message<S>)> {
        self.outbox.pop_front()
    }

    fn learn(&mut self, peer: ReplicaId, ctx: &CausalContext) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.known.union(ctx);
        }
    }

    /// Collects logged deltas that every known peer has: the oldest ones on every call (peers
    /// mostly learn deltas in the order they were logged), the whole log once every
    /// `len / 8` calls, so a handled message costs amortised constant time in the log's
    /// length rather than a scan of it.
    fn collect(&mut self) {
        self.replica
            .collect_oldest(self.peers.values().map(|p| &p.known));
        self.since_sweep += 1;
        if self.since_sweep.saturating_mul(SWEEP_EVERY) >= self.replica.log_len() {
            let mut stable = self.replica.ctx().clone();
            for p in self.peers.values() {
                stable = stable.intersection(&p.known);
            }
            self.replica.collect(&stable);
            self.since_sweep = 0;
        }
    }
}
