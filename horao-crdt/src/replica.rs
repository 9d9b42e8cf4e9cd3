//! One replica of a CRDT: its causal state, the local mutation entry point, and the delta
//! log from which it answers peers with just the deltas they lack.

use crate::causal::{Causal, Tx};
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::id::ReplicaId;
use crate::store::DotStore;
use delta_log::DeltaLog;
pub use delta_log::LogState;
use serde::Serialize;
use serde::de::DeserializeOwned;

mod delta_log;

/// Default bound on the number of deltas kept for peers; older ones are collected early and
/// any peer that still lacks them receives the full state instead.
pub const DEFAULT_MAX_LOG_ENTRIES: usize = 100_000;

/// Default bound on the bytes the delta log holds (see [`Replica::log_bytes`]): 32 MiB, so a
/// replica of the goal-scale model stays within 256 MiB resident even with a full log.
pub const DEFAULT_MAX_LOG_BYTES: usize = 32 << 20;

/// What a replica has to send a peer, given the peer's causal context.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer<S> {
    /// The peer has everything this replica has.
    UpToDate,
    /// The join of the deltas the peer lacks, removals included.
    Deltas(Causal<S>),
    /// Deltas the peer lacks were already collected: here is the full state.
    Full(Causal<S>),
}

/// [`Answer`] without the copy of a full state: what a sync node encodes straight from the
/// replica.
#[derive(Debug)]
pub(crate) enum Reply<'a, S> {
    UpToDate,
    Deltas(Causal<S>),
    Full(&'a Causal<S>),
}

/// A replica: the state of one CRDT (usually a whole document) on one node.
///
/// Call order: [`Replica::mutate`] for local changes (returns the delta to ship);
/// [`Replica::apply`] / [`Replica::merge`] for deltas and states from peers;
/// [`Replica::answer`] to serve a peer's digest; [`Replica::collect`] once dots are stable.
///
/// The replica logs every delta that brings it new dots, so it can answer a peer with just
/// the deltas the peer lacks. Logged deltas are kept encoded (about their wire size each) and
/// the log is bounded in entries ([`DEFAULT_MAX_LOG_ENTRIES`]) and in bytes
/// ([`DEFAULT_MAX_LOG_BYTES`]); what falls out of it early is answered with the full state.
#[derive(Clone, Debug)]
pub struct Replica<S> {
    id: ReplicaId,
    state: Causal<S>,
    log: DeltaLog,
}

impl<S: DotStore> Replica<S> {
    /// An empty replica.
    pub fn new(id: ReplicaId) -> Self {
        Self::from_state(id, Causal::default())
    }

    /// A replica restored from a stored state. Its delta log starts empty, so peers that lack
    /// part of the state will be sent the full state.
    pub fn from_state(id: ReplicaId, state: Causal<S>) -> Self {
        Self {
            id,
            log: DeltaLog::new(
                state.ctx.clone(),
                DEFAULT_MAX_LOG_ENTRIES,
                DEFAULT_MAX_LOG_BYTES,
            ),
            state,
        }
    }

    /// Bounds the number of logged deltas (at least 1; see [`DEFAULT_MAX_LOG_ENTRIES`]). The
    /// oldest deltas beyond the bound are dropped at once.
    pub fn set_max_log_entries(&mut self, max: usize) {
        self.log.set_max_entries(max.max(1));
    }

    /// Bounds the bytes the delta log holds (see [`Replica::log_bytes`] and
    /// [`DEFAULT_MAX_LOG_BYTES`]). The oldest deltas beyond the bound are dropped at once; a
    /// delta larger than the whole bound is not kept at all.
    pub fn set_max_log_bytes(&mut self, max: usize) {
        self.log.set_max_bytes(max);
    }

    /// This replica's id.
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The current value.
    pub fn state(&self) -> &S {
        &self.state.store
    }

    /// The full causal state (what a snapshot stores).
    pub fn causal(&self) -> &Causal<S> {
        &self.state
    }

    /// The causal context: every dot seen. This is the anti-entropy digest.
    pub fn ctx(&self) -> &CausalContext {
        &self.state.ctx
    }

    /// Number of deltas held for peers.
    pub fn log_len(&self) -> usize {
        self.log.len()
    }

    /// Bytes the delta log accounts for: each delta's encoded size, its dots and its slot in
    /// the log (close to the heap the log holds, without the allocator's rounding).
    pub fn log_bytes(&self) -> usize {
        self.log.bytes()
    }

    /// The delta log in its persisted form: saved with the store, it lets a restarted replica
    /// answer lagging peers with deltas rather than its full state ([`Replica::restore_log`]).
    pub fn export_log(&self) -> LogState {
        self.log.export()
    }

    /// Restores a delta log saved by [`Replica::export_log`] (keeping the log's bounds). A
    /// saved delta whose dots the state lacks is dropped; every dot of the state that no
    /// saved delta covers counts as collected (a peer lacking it gets the full state), so a
    /// log saved earlier or later than the state is still safe to restore.
    pub fn restore_log(&mut self, saved: LogState) {
        let (entries, bytes) = self.log.bounds();
        self.log = DeltaLog::restore(&self.state.ctx, saved, entries, bytes);
    }

    /// Joins a full state from a peer. Its new dots are marked collected (there is no delta
    /// for them), so peers lacking them will get a full state from here too.
    pub fn merge(&mut self, state: Causal<S>) -> bool {
        let dots = state.ctx.difference(&self.state.ctx);
        self.state.merge(state);
        self.log.forget(&dots);
        !dots.is_empty()
    }

    /// Drops the logged deltas whose dots every known replica has (`stable`): causal
    /// stability, never a timer. Returns how many were dropped.
    pub fn collect(&mut self, stable: &CausalContext) -> usize {
        self.log.collect(stable)
    }

    /// Like [`Replica::collect`], but only from the oldest logged delta up to the first one
    /// that some context of `known_by` lacks, in time proportional to what it drops: for
    /// callers that collect after every message and sweep the whole log only now and then.
    ///
    /// Pass what each known replica is known to have; the stable context (their
    /// intersection) is never built. With a single stable context, pass `[&stable]`; with no
    /// contexts at all (no peers), every logged delta is stable.
    pub fn collect_oldest<'a, I>(&mut self, known_by: I) -> usize
    where
        I: IntoIterator<Item = &'a CausalContext>,
        I::IntoIter: Clone,
    {
        self.log.collect_oldest(known_by.into_iter())
    }
}

/// Logging and answering encode and decode deltas, so they need the store's serde.
impl<S: DotStore + Serialize + DeserializeOwned> Replica<S> {
    /// Performs a local mutation: `f` reads the current state and returns a delta store,
    /// minting dots from the transaction. The delta is applied locally, kept for peers and
    /// returned for shipping.
    pub fn mutate(&mut self, f: impl FnOnce(&S, &mut Tx) -> S) -> Result<Causal<S>> {
        self.try_mutate(|s, tx| Ok::<_, Error>(f(s, tx)))
    }

    /// Like [`Replica::mutate`] for mutators that validate and may fail; on error nothing
    /// changes.
    pub fn try_mutate<E: From<Error>>(
        &mut self,
        f: impl FnOnce(&S, &mut Tx) -> std::result::Result<S, E>,
    ) -> std::result::Result<Causal<S>, E> {
        let mut tx = Tx::new(self.id, self.state.ctx.max(self.id));
        let store = f(&self.state.store, &mut tx)?;
        let delta = tx.finish(store)?;
        self.apply(delta.clone());
        Ok(delta)
    }

    /// Joins a delta from a peer (or from [`Replica::mutate`]). Returns whether it brought
    /// anything new; only new deltas are logged for other peers.
    pub fn apply(&mut self, delta: Causal<S>) -> bool {
        self.apply_encoded(delta, None)
    }

    /// [`Replica::apply`] with the delta's payload encoding at hand, so logging it encodes
    /// nothing.
    pub(crate) fn apply_encoded(&mut self, delta: Causal<S>, encoded: Option<&[u8]>) -> bool {
        // When every dot is known, a delta arriving after later ones can still remove an
        // entry this replica holds (its kill was not yet applied): it is joined, not logged.
        let new = self.log.push(&delta, encoded, &self.state.ctx);
        self.state.apply(delta);
        new
    }

    /// What to send a peer whose causal context is `peer`.
    pub fn answer(&self, peer: &CausalContext) -> Answer<S> {
        match self.reply(peer) {
            Reply::UpToDate => Answer::UpToDate,
            Reply::Deltas(d) => Answer::Deltas(d),
            Reply::Full(s) => Answer::Full(s.clone()),
        }
    }

    /// [`Replica::answer`], with the full state borrowed.
    pub(crate) fn reply(&self, peer: &CausalContext) -> Reply<'_, S> {
        if peer.includes(&self.state.ctx) {
            return Reply::UpToDate;
        }
        if !peer.includes(self.log.collected()) {
            return Reply::Full(&self.state);
        }
        match self.log.lacking(peer) {
            Ok(out) => Reply::Deltas(out),
            // A logged delta that does not decode (never expected): the full state still
            // gives the peer everything.
            Err(_) => Reply::Full(&self.state),
        }
    }
}
