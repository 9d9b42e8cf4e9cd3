//! The sync protocol as a sans-IO state machine: a node handles incoming messages and queues
//! outgoing ones; the caller moves the bytes (websocket, in-memory simulator, anything) and
//! persists what the node tells it to.
//!
//! Protocol: a connection opens with a [`Handshake`] each way (replica id, incarnation, wire
//! and schema versions); then each side sends its digest (its causal context). A digest is
//! answered with the join of the deltas the sender lacks — removals included, as context — or
//! with the full state when those deltas were already collected, and with the receiver's own
//! digest when the sender has dots it lacks. Every committed change is pushed as a delta to
//! the connected peers (all of them, or [`SyncConfig::fanout`] of them), and deltas received
//! from a peer are forwarded the same way, never back to their sender. Periodically
//! ([`SyncNode::tick`]) a node sends its digest again (anti-entropy). Logged deltas are
//! collected once every member of the persisted membership has acknowledged their dots
//! (causal stability).
//!
//! Pushes are causal: a delta goes to a peer only when the peer is known to have every dot
//! the delta overwrites or removes (its dependencies); otherwise the node sends its digest
//! instead, and anti-entropy delivers the delta with what it depends on. A peer that applied
//! a delta whose dependencies it lacks would record those dots as seen without their own
//! removals; its digest would then claim more than it holds, and anti-entropy would never
//! repair it (a removed element could stay on that peer forever).

use crate::causal::Causal;
use crate::context::CausalContext;
use crate::error::Result;
use crate::hlc::{Hlc, Timestamp};
use crate::id::ReplicaId;
use crate::replica::Replica;
use crate::seq_rng::SeqRng;
use crate::store::DotStore;
use crate::wire::{self, Kind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, VecDeque};

mod error;
mod handle;
mod handshake;
mod membership;
pub(crate) mod message;
mod outbox;
mod pending;
mod reassembly;
mod session;

pub use error::SyncError;
pub use handshake::{Accepted, Handshake, HandshakeError, Hello, Refusal, RefusalReason, Refused};
pub use membership::{Membership, SyncState};
pub use message::{Chunk, Frame, Message, Validated};
pub use pending::{Change, Handled, Pending};
use session::PeerState;

/// Largest handshake payload read (a hello is a few dozen bytes).
pub(crate) const MAX_HANDSHAKE: usize = 256;

/// Default limit on one message's bytes: larger messages travel in chunks.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Default bound on a chunked transfer's bytes (a 100,000-volume model is about 37 MiB).
pub const DEFAULT_MAX_TRANSFER_BYTES: usize = 256 << 20;

/// Default number of full-state transfers that run at once.
pub const DEFAULT_MAX_FULL_TRANSFERS: usize = 2;

/// Default bound on the bytes queued for one peer.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 8 << 20;

/// The whole log is swept for stable deltas once every `len / SWEEP_EVERY` collections.
const SWEEP_EVERY: usize = 8;

/// Tunables and identity of a [`SyncNode`].
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Forward deltas received from one peer to the others (needed unless the peers form a
    /// full mesh; anti-entropy repairs either way).
    pub forward: bool,
    /// Bound on the number of logged deltas (see [`Replica::set_max_log_entries`]).
    pub max_log_entries: usize,
    /// Bound on the bytes of logged deltas (see [`Replica::set_max_log_bytes`]).
    pub max_log_bytes: usize,
    /// Largest message sent or read whole; larger ones (full states, large answers) are sent
    /// in chunks of at most this size.
    pub max_message_bytes: usize,
    /// Largest chunked transfer accepted from a peer.
    pub max_transfer_bytes: usize,
    /// Bound on the bytes queued for one peer: past it the peer's queued deltas are dropped
    /// and it gets a digest instead (anti-entropy catches it up).
    pub max_queued_bytes: usize,
    /// Chunked transfers of the full state that run at once, over all peers (at least 1): a
    /// digest that needs another one while they run is not answered, and the peer's next
    /// digest asks again. A full state that fits in one message is always sent.
    pub max_full_transfers: usize,
    /// How many connected peers a delta is pushed to and a tick's digest goes to, chosen at
    /// random per message; `None` for every connected peer (a small full mesh).
    pub fanout: Option<usize>,
    /// Seed of the fan-out choice (the node reads no global random generator).
    pub seed: u64,
    /// The application's schema version: peers with another one are refused at the
    /// handshake.
    pub schema_version: u16,
    /// This start's incarnation: the caller persists it and bumps it on every start (from
    /// 1; 0 is what peers record before a first hello), so peers replace the old session's
    /// state and refuse a late connection of an older one.
    pub incarnation: u64,
    /// Largest clock drift accepted from a peer's timestamps (see [`Hlc::observe`]).
    pub max_clock_drift_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            forward: true,
            max_log_entries: crate::replica::DEFAULT_MAX_LOG_ENTRIES,
            max_log_bytes: crate::replica::DEFAULT_MAX_LOG_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_transfer_bytes: DEFAULT_MAX_TRANSFER_BYTES,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            max_full_transfers: DEFAULT_MAX_FULL_TRANSFERS,
            fanout: None,
            seed: 0,
            schema_version: 0,
            incarnation: 0,
            max_clock_drift_ms: 60_000,
        }
    }
}

/// A frame to send, and to whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The peer.
    pub to: ReplicaId,
    /// The bytes (shared with every other peer that gets the same message).
    pub frame: Frame,
}

/// One node of the sync protocol around a [`Replica`].
///
/// Call order:
///
/// 1. Start: [`SyncNode::new`], or [`SyncNode::restore`] with the [`SyncState`] saved by
///    [`SyncNode::export`], with [`SyncConfig::incarnation`] bumped (and persisted) on every
///    start.
/// 2. Connect: send [`SyncNode::hello`] first on every connection, and pass the first
///    message received ([`wire::decode_handshake`]) to [`SyncNode::handle_handshake`]. On
///    [`Accepted`], persist its membership if any; on [`Refused`], send its reply if any and
///    close. When a connection closes, [`SyncNode::disconnect`].
/// 3. Receive: decode each later message once ([`SyncNode::decode`]) and pass it to
///    [`SyncNode::handle`]. If it returns a [`Pending`] change, persist it (the
///    change and the context it brings, in one transaction), then [`SyncNode::commit`] it —
///    or [`SyncNode::abort`] it if persisting failed: it stays unseen, so a retry is applied.
/// 4. Write: [`SyncNode::mutate`] returns a [`Pending`] change; persist it, then commit it.
///    Until then nothing of it is visible, sent or advertised.
/// 5. Periodically: [`SyncNode::tick`] (anti-entropy).
/// 6. After any of the above: drain [`SyncNode::poll_transmit`] (or, per connection as it
///    becomes writable, [`SyncNode::poll_transmit_to`]) and send each frame to its peer.
/// 7. Now and then, and before stopping: save [`SyncNode::export`] with the store.
#[derive(Debug)]
pub struct SyncNode<S> {
    replica: Replica<S>,
    peers: BTreeMap<ReplicaId, PeerState>,
    /// Peers that may have frames to send, in turn.
    ready: VecDeque<ReplicaId>,
    config: SyncConfig,
    clock: Hlc,
    /// The highest timestamp seen, including remote ones the clock refused.
    high: Timestamp,
    /// Collections since the last sweep of the whole log.
    since_sweep: usize,
    /// Pending changes issued and not yet committed or aborted.
    pending: std::collections::BTreeSet<u64>,
    next_pending: u64,
    /// The highest own counter given to a pending local change.
    minted: u64,
    next_transfer: u64,
    /// The full state encoded, until the state changes.
    full: Option<Frame>,
    /// Full-state answers deferred because enough transfers were running.
    deferred_full_states: u64,
    rng: SeqRng,
}

impl<S: DotStore + Serialize + DeserializeOwned> SyncNode<S> {
    /// A node around `replica` with no peers yet.
    pub fn new(mut replica: Replica<S>, config: SyncConfig) -> Self {
        replica.set_max_log_entries(config.max_log_entries);
        replica.set_max_log_bytes(config.max_log_bytes);
        Self {
            rng: SeqRng::new(config.seed ^ replica.id().0.rotate_left(17)),
            clock: Hlc::new(config.max_clock_drift_ms),
            replica,
            peers: BTreeMap::new(),
            ready: VecDeque::new(),
            config,
            high: Timestamp::default(),
            since_sweep: 0,
            pending: Default::default(),
            next_pending: 0,
            minted: 0,
            next_transfer: 0,
            full: None,
            deferred_full_states: 0,
        }
    }

    /// A restarted node: `replica` restored from the store, and what [`SyncNode::export`]
    /// saved (membership, the peers' known contexts, the delta log), so lagging peers are
    /// answered with deltas rather than the full state.
    pub fn restore(mut replica: Replica<S>, config: SyncConfig, saved: SyncState) -> Self {
        replica.set_max_log_entries(config.max_log_entries);
        replica.set_max_log_bytes(config.max_log_bytes);
        replica.restore_log(saved.log);
        let mut node = Self::new(replica, config);
        let mut known = saved.known;
        for (id, incarnation) in saved.membership.iter() {
            if id != node.id() {
                let known = known.remove(&id).unwrap_or_default();
                node.peers
                    .insert(id, PeerState::restored(incarnation, known));
            }
        }
        node
    }

    /// What to persist for a restart (see [`SyncState`]).
    pub fn export(&self) -> SyncState {
        SyncState {
            membership: self.membership(),
            known: self
                .peers
                .iter()
                .map(|(id, p)| (*id, p.known.clone()))
                .collect(),
            log: self.replica.export_log(),
        }
    }

    /// The persisted membership.
    pub fn membership(&self) -> Membership {
        Membership::from_map(
            self.peers
                .iter()
                .map(|(id, p)| (*id, p.incarnation))
                .collect(),
        )
    }

    /// The replica (its committed state).
    pub fn replica(&self) -> &Replica<S> {
        &self.replica
    }

    /// This node's id.
    pub fn id(&self) -> ReplicaId {
        self.replica.id()
    }

    /// The configuration.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The node's hybrid logical clock: it has observed the clock of every message with data
    /// this node handled.
    pub fn clock(&self) -> &Hlc {
        &self.clock
    }

    /// A timestamp for a local change at physical time `now_ms` (stamp LWW writes with it):
    /// later than every timestamp this node issued or received.
    pub fn now(&mut self, now_ms: u64) -> Result<Timestamp> {
        let t = self.clock.now(now_ms)?;
        self.high = self.high.max(t);
        Ok(t)
    }

    /// The members, in id order.
    pub fn peers(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.peers.keys().copied()
    }

    /// Bytes waiting to be sent to `peer` (queued frames and what remains of a chunked
    /// transfer); 0 for a peer without a session.
    pub fn queued_bytes(&self, peer: ReplicaId) -> usize {
        self.peers
            .get(&peer)
            .and_then(|p| p.session.as_ref())
            .map_or(0, |s| s.outbox.bytes())
    }

    /// Full-state answers deferred so far because [`SyncConfig::max_full_transfers`]
    /// transfers were running (each is asked for again by the peer's next digest).
    pub fn deferred_full_states(&self) -> u64 {
        self.deferred_full_states
    }

    /// Decodes and validates a message under [`SyncConfig::max_message_bytes`].
    pub fn decode(&self, bytes: &[u8]) -> Result<Validated<Message<S>>> {
        wire::decode_message(bytes, self.config.max_message_bytes)
    }

    /// The next frame to send, taking the peers in turn.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        while let Some(to) = self.ready.pop_front() {
            let Some(session) = self.peers.get_mut(&to).and_then(|p| p.session.as_mut()) else {
                continue;
            };
            session.ready = false;
            if let Some(frame) = self.pop(to) {
                self.mark_ready(to);
                return Some(Transmit { to, frame });
            }
        }
        None
    }

    /// The next frame to send to `peer` (for a caller that writes each connection as it
    /// becomes writable, so a slow peer's frames wait here, under the bound).
    pub fn poll_transmit_to(&mut self, peer: ReplicaId) -> Option<Frame> {
        self.pop(peer)
    }

    fn pop(&mut self, peer: ReplicaId) -> Option<Frame> {
        let max = self.config.max_message_bytes;
        let session = self.peers.get_mut(&peer)?.session.as_mut()?;
        // A chunk that does not encode (never expected) ends the transfer; anti-entropy
        // retries it.
        session.outbox.pop(max).unwrap_or_default()
    }

    /// Puts `peer` in the turn of peers with frames, unless it is there or has none.
    fn mark_ready(&mut self, peer: ReplicaId) {
        if let Some(s) = self.peers.get_mut(&peer).and_then(|p| p.session.as_mut()) {
            if !s.ready && !s.outbox.is_empty() {
                s.ready = true;
                self.ready.push_back(peer);
            }
        }
    }

    /// The full state, encoded once per state (stamped with the node's clock).
    fn full_frame(&mut self) -> Result<Frame> {
        if let Some(f) = &self.full {
            return Ok(f.clone());
        }
        let f = message::encode_data(self.replica.causal(), self.high, true)?.frame;
        self.full = Some(f.clone());
        Ok(f)
    }

    /// This node's digest, encoded.
    fn digest(&self) -> Result<Frame> {
        message::encode(&message::MessageRef::<S>::Digest(self.replica.ctx()))
    }

    /// Encodes a delta this node answers with or pushes, stamped with its clock.
    fn encode_delta(&self, delta: &Causal<S>) -> Result<message::Encoded> {
        message::encode_data(delta, self.high, false)
    }

    /// Collects logged deltas that every member has: the oldest ones on every call (peers
    /// mostly learn deltas in the order they were logged), the whole log once every
    /// `len / 8` calls, so a handled message costs amortised constant time in the log's
    /// length rather than a scan of it.
    fn collect(&mut self) {
        self.replica
            .collect_oldest(self.peers.values().map(|p| &p.known));
        self.since_sweep += 1;
        if self.since_sweep.saturating_mul(SWEEP_EVERY) >= self.replica.log_len() {
            let mut stable: CausalContext = self.replica.ctx().clone();
            for p in self.peers.values() {
                stable = stable.intersection(&p.known);
            }
            self.replica.collect(&stable);
            self.since_sweep = 0;
        }
    }
}

/// Encodes a handshake message.
fn encode_handshake(h: &Handshake) -> Result<Frame> {
    wire::encode(Kind::Handshake, h).map(Frame::from)
}
