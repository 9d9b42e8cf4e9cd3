//! One replica of a CRDT: its causal state, the local mutation entry point, and the delta
//! log from which it answers peers with just the deltas they lack.

use crate::causal::{Causal, Tx};
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::id::ReplicaId;
use crate::store::DotStore;
use std::collections::VecDeque;

/// Default bound on the number of deltas kept for peers; older ones are collected early and
/// any peer that still lacks them receives the full state instead.
pub const DEFAULT_MAX_LOG_ENTRIES: usize = 100_000;

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

#[derive(Clone, Debug)]
struct LogEntry<S> {
    /// The dots this delta brought to this replica (what a peer lacking it is missing).
    dots: CausalContext,
    delta: Causal<S>,
}

/// A replica: the state of one CRDT (usually a whole document) on one node.
///
/// Call order: [`Replica::mutate`] for local changes (returns the delta to ship);
/// [`Replica::apply`] / [`Replica::merge`] for deltas and states from peers;
/// [`Replica::answer`] to serve a peer's digest; [`Replica::collect`] once dots are stable.
#[derive(Clone, Debug)]
pub struct Replica<S> {
    id: ReplicaId,
    state: Causal<S>,
    log: VecDeque<LogEntry<S>>,
    /// Dots whose deltas are no longer in the log: a peer lacking any gets the full state.
    collected: CausalContext,
    max_log_entries: usize,
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
            collected: state.ctx.clone(),
            state,
            log: VecDeque::new(),
            max_log_entries: DEFAULT_MAX_LOG_ENTRIES,
        }
    }

    /// Bounds the delta log (see [`DEFAULT_MAX_LOG_ENTRIES`]).
    pub fn set_max_log_entries(&mut self, max: usize) {
        self.max_log_entries = max.max(1);
        self.trim_log();
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
        let dots = delta.ctx.difference(&self.state.ctx);
        if dots.is_empty() {
            // Every dot is known, but a delta arriving after later ones can still remove an
            // entry this replica holds (its kill was not yet applied): join it, log nothing.
            self.state.apply(delta);
            return false;
        }
        self.state.apply(delta.clone());
        self.log.push_back(LogEntry { dots, delta });
        self.trim_log();
        true
    }

    /// Joins a full state from a peer. Its new dots are marked collected (there is no delta
    /// for them), so peers lacking them will get a full state from here too.
    pub fn merge(&mut self, state: Causal<S>) -> bool {
        let dots = state.ctx.difference(&self.state.ctx);
        self.state.merge(state);
        self.collected.union(&dots);
        !dots.is_empty()
    }

    /// What to send a peer whose causal context is `peer`.
    pub fn answer(&self, peer: &CausalContext) -> Answer<S> {
        if peer.includes(&self.state.ctx) {
            return Answer::UpToDate;
        }
        if !peer.includes(&self.collected) {
            return Answer::Full(self.state.clone());
        }
        let mut out = Causal::default();
        for e in self.log.iter().filter(|e| !peer.includes(&e.dots)) {
            out.combine(e.delta.clone());
        }
        Answer::Deltas(out)
    }

    /// Drops the logged deltas whose dots every known replica has (`stable`): causal
    /// stability, never a timer. Returns how many were dropped.
    pub fn collect(&mut self, stable: &CausalContext) -> usize {
        let before = self.log.len();
        let mut kept = VecDeque::with_capacity(self.log.len());
        for e in self.log.drain(..) {
            if stable.includes(&e.dots) {
                self.collected.union(&e.dots);
            } else {
                kept.push_back(e);
            }
        }
        self.log = kept;
        before - self.log.len()
    }

    fn trim_log(&mut self) {
        while self.log.len() > self.max_log_entries {
            if let Some(e) = self.log.pop_front() {
                self.collected.union(&e.dots);
            }
        }
    }
}
