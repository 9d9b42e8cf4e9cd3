//! Derived indexes: data computed from a document's state (children by parent, timelines per
//! pool, records by name), kept beside the state so queries need not rebuild it.
//!
//! A document holds its index in a [`Derived`] field and declares it to
//! [`dot_store_struct!`](crate::dot_store_struct) with `derived field`. The generated join
//! then keeps the index true to the state, and is the only code that does:
//!
//! - applying a delta ([`JoinMode::Apply`]) to a state whose index is built records what the
//!   delta may change *before* the join ([`DerivedIndex::touched`]) and patches the index
//!   *after* it ([`DerivedIndex::patch`]), in time proportional to the delta;
//! - any other join (a full-state merge) drops the index; the next query rebuilds it.
//!
//! The law, checked by property tests in this crate and in every crate that declares an
//! index: **patched equals rebuilt** — after any sequence of applied deltas and merges,
//! [`Derived::is_consistent`] holds.
//!
//! Nested documents join their fields first, so an index may read the indexes of its fields
//! in [`DerivedIndex::patch`]: they are already patched (or dropped, and rebuilt on first
//! use) by then. An index must never read itself through the state while it is patched: the
//! join takes it out of the document for the duration of the patch.
//!
//! A derived index is not part of the state: it is never serialized (the document's field is
//! `#[serde(skip)]`), it is left out of equality (two documents with equal states are equal
//! whatever their indexes hold) and two replicas with equal states answer every query alike.

use crate::store::JoinMode;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// An index derived from a document of type `S`.
pub trait DerivedIndex<S>: Clone + Sized {
    /// What [`DerivedIndex::patch`] needs to know of the state before a delta is joined:
    /// typically the index entries of every key the delta carries.
    type Touched;

    /// Builds the index of `state` from scratch.
    fn build(state: &S) -> Self;

    /// Records, before `delta` is applied to `state`, what the delta may change.
    fn touched(&self, state: &S, delta: &S) -> Self::Touched;

    /// Moves the recorded entries to where the joined `state` puts them. Returns `false`
    /// when the change cannot be patched cheaply (it redefines the whole index): the index
    /// is then dropped and rebuilt on its next use.
    fn patch(&mut self, touched: Self::Touched, state: &S) -> bool;

    /// True when both indexes hold exactly the same entries (for the law check).
    fn same_entries(&self, other: &Self) -> bool;
}

/// A document's slot for a derived index of type `I`: built on first use, shared between
/// clones of the document until one of them changes (copy on write), patched or dropped by
/// the document's join.
pub struct Derived<I>(OnceLock<Arc<I>>);

impl<I> Default for Derived<I> {
    fn default() -> Self {
        Self(OnceLock::new())
    }
}

impl<I> Clone for Derived<I> {
    fn clone(&self) -> Self {
        match self.0.get() {
            Some(ix) => Self(OnceLock::from(Arc::clone(ix))),
            None => Self::default(),
        }
    }
}

impl<I> PartialEq for Derived<I> {
    /// Always equal: the index is derived from the state, and documents compare by state.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<I> fmt::Debug for Derived<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Derived")
            .field("built", &self.0.get().is_some())
            .finish()
    }
}

impl<I> Derived<I> {
    /// The index of `state` (the document holding this slot), built now if it is not yet.
    pub fn get_or_build<S>(&self, state: &S) -> &I
    where
        I: DerivedIndex<S>,
    {
        self.0.get_or_init(|| Arc::new(I::build(state)))
    }

    /// The index, if it is built.
    pub fn get(&self) -> Option<&I> {
        self.0.get().map(|ix| &**ix)
    }

    /// True when the index is built.
    pub fn is_built(&self) -> bool {
        self.0.get().is_some()
    }

    /// Drops the index; the next use rebuilds it.
    pub fn clear(&mut self) {
        self.0 = OnceLock::new();
    }

    /// The law: true when the index is not built, or holds exactly what a rebuild from
    /// `state` would. Costs a rebuild; for tests and consistency checks.
    pub fn is_consistent<S>(&self, state: &S) -> bool
    where
        I: DerivedIndex<S>,
    {
        self.get()
            .is_none_or(|ix| ix.same_entries(&I::build(state)))
    }

    /// Called by the generated join before the fields are joined: what `other` may change,
    /// when the index is built and `other` is a delta being applied.
    #[doc(hidden)]
    pub fn before_join<S>(&self, state: &S, other: &S, mode: JoinMode) -> Option<I::Touched>
    where
        I: DerivedIndex<S>,
    {
        match (mode, self.get()) {
            (JoinMode::Apply, Some(ix)) => Some(ix.touched(state, other)),
            _ => None,
        }
    }

    /// Called by the generated join after the fields are joined, with this slot taken out of
    /// `state`: patches the index with what [`Derived::before_join`] recorded, or drops it.
    #[doc(hidden)]
    pub fn after_join<S>(&mut self, touched: Option<I::Touched>, state: &S)
    where
        I: DerivedIndex<S>,
    {
        let patched = match (touched, self.0.take()) {
            (Some(t), Some(mut ix)) => Arc::make_mut(&mut ix).patch(t, state).then_some(ix),
            _ => None,
        };
        if let Some(ix) = patched {
            self.0 = OnceLock::from(ix);
        }
    }
}

#[cfg(test)]
mod tests;
