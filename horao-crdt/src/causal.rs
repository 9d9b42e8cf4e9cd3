//! Causal states and deltas (a store plus its causal context), and the transaction through
//! which mutators mint dots and record what they overwrite.

use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::id::{Dot, ReplicaId};
use crate::store::{DotStore, JoinMode};
use serde::{Deserialize, Serialize};

/// A dot store together with the causal context of its replica: a full CRDT state, or a
/// delta (whose context covers only the dots it adds or removes).
///
/// `merge` is the lattice join; [`Causal::apply`] is the same join specialised for deltas.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Causal<S> {
    /// The data.
    pub store: S,
    /// Every dot this state has seen (or, for a delta, every dot it speaks about).
    pub ctx: CausalContext,
}

impl<S: DotStore> Causal<S> {
    /// Joins a full state into this one (visits every key).
    pub fn merge(&mut self, other: Causal<S>) {
        self.join(other, JoinMode::State);
    }

    /// Joins a delta into this full state, in time proportional to the delta.
    pub fn apply(&mut self, delta: Causal<S>) {
        self.join(delta, JoinMode::Apply);
    }

    /// Joins two deltas into one delta that has the effect of both.
    pub fn combine(&mut self, delta: Causal<S>) {
        self.join(delta, JoinMode::Combine);
    }

    fn join(&mut self, other: Causal<S>, mode: JoinMode) {
        let Causal { store, ctx } = other;
        self.store.join(store, &self.ctx, &ctx, mode);
        self.ctx.union(&ctx);
    }

    /// True when the delta (or state) carries nothing.
    pub fn is_empty(&self) -> bool {
        self.ctx.is_empty() && self.store.is_bottom()
    }

    /// Checks a decoded state: context and store well formed, every stored dot in the context
    /// and held in one place only (a dot names one event; map joins rely on it, see
    /// [`DotStore::marker`]).
    pub fn validate(&self) -> Result<()> {
        self.ctx.validate()?;
        self.store.validate()?;
        let mut dots = Vec::new();
        self.store.for_each_dot(&mut |d| dots.push(d));
        if let Some(d) = dots.iter().find(|d| !self.ctx.contains(d)) {
            return Err(invalid(format!(
                "stored dot {d} is missing from its context"
            )));
        }
        dots.sort_unstable();
        match dots.windows(2).find(|w| w[0] == w[1]) {
            Some(w) => Err(invalid(format!("dot {} is stored twice", w[0]))),
            None => Ok(()),
        }
    }
}

/// A malformed causal state.
fn invalid(why: String) -> Error {
    Error::Invalid {
        what: "causal state",
        why,
    }
}

/// A mutation in progress on one replica: mints fresh dots and collects the context of the
/// resulting delta (new dots plus the dots the mutation overwrites or removes).
///
/// Mutators take `&mut Tx` and return the delta store; the replica wraps both into a
/// [`Causal`] delta. A mutation that only removes still mints one dot, so the removal shows
/// in version vectors and anti-entropy always finds it.
#[derive(Debug)]
pub struct Tx {
    replica: ReplicaId,
    next: u64,
    minted: bool,
    exhausted: bool,
    ctx: CausalContext,
}

impl Tx {
    /// A transaction for `replica` whose last used counter is `last`.
    pub fn new(replica: ReplicaId, last: u64) -> Self {
        Self {
            replica,
            next: last.saturating_add(1),
            minted: false,
            exhausted: last == u64::MAX,
            ctx: CausalContext::new(),
        }
    }

    /// The replica performing the mutation.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// A fresh dot, recorded in the delta's context.
    pub fn dot(&mut self) -> Dot {
        let d = Dot::new(self.replica, self.next);
        if self.next == u64::MAX {
            self.exhausted = true;
        } else {
            self.next += 1;
        }
        self.minted = true;
        self.ctx.insert(d);
        d
    }

    /// Records that the mutation overwrites or removes every dot of `store`.
    pub fn kill<S: DotStore>(&mut self, store: &S) {
        store.for_each_dot(&mut |d| self.ctx.insert(d));
    }

    /// Finishes the transaction into a delta with the given store.
    pub fn finish<S: DotStore>(mut self, store: S) -> Result<Causal<S>> {
        if !self.minted && !self.ctx.is_empty() {
            self.dot();
        }
        if self.exhausted {
            return Err(Error::CounterExhausted(self.replica));
        }
        Ok(Causal {
            store,
            ctx: self.ctx,
        })
    }
}
