//! Dot stores: the building blocks of causal CRDTs. A store holds data tagged with dots; a
//! causal state is a store plus the causal context of everything its replica has seen.
//!
//! Joining two causal states keeps an entry when both stores hold its dot, or when one holds
//! it and the other has not seen it. An entry one side holds and the other has seen but no
//! longer holds was removed (or overwritten) there, so it is dropped. This rule is what makes
//! removals win over the entries they observed and lose to concurrent additions.

use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::id::Dot;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt::Debug;

/// How a join treats the keys of maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinMode {
    /// Both sides are full states: visit every key, drop keys left empty.
    State,
    /// `self` is a full state and the other side a delta whose context only covers the keys
    /// it carries: visit only the delta's keys, in time proportional to the delta.
    Apply,
    /// Both sides are deltas: visit every key and keep keys left empty, since an empty key in
    /// a delta marks a removal the receiver must apply.
    Combine,
}

/// A store of dot-tagged data, joinable under two causal contexts.
///
/// Laws (tested as properties for every store in this crate): with contexts attached, the join
/// is commutative, associative and idempotent, and joining a delta in [`JoinMode::Apply`]
/// gives the same state as joining it in [`JoinMode::State`].
pub trait DotStore: Clone + Default + PartialEq + Debug {
    /// True when the store holds no dots (and, in a state, no keys).
    fn is_bottom(&self) -> bool;

    /// Calls `f` for every dot the store holds.
    fn for_each_dot(&self, f: &mut dyn FnMut(Dot));

    /// Joins `other` into `self`. `ours` and `theirs` are the contexts of the two sides
    /// *before* the join.
    fn join(&mut self, other: Self, ours: &CausalContext, theirs: &CausalContext, mode: JoinMode);

    /// Checks structural invariants of a decoded store (sorted, unique dots).
    fn validate(&self) -> Result<()>;

    /// The same keys holding no dots. A delta that removes this store carries its skeleton,
    /// so a receiver applying the delta visits exactly the keys it has to clear.
    fn skeleton(&self) -> Self;
}

/// A map from dots to values, kept as a vector sorted by dot (small in practice: registers
/// hold one entry per concurrent write).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct DotFun<V>(pub(crate) Vec<(Dot, V)>);

impl<V> Default for DotFun<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

/// A set of dots (a dot store whose entries carry no value).
pub type DotSet = DotFun<()>;

impl<V> DotFun<V> {
    /// The entries, sorted by dot.
    pub fn entries(&self) -> &[(Dot, V)] {
        &self.0
    }

    /// A store with the single entry `(dot, value)`.
    pub fn single(dot: Dot, value: V) -> Self {
        Self(vec![(dot, value)])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: Clone + PartialEq + Debug> DotStore for DotFun<V> {
    fn is_bottom(&self) -> bool {
        self.0.is_empty()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.0.iter().for_each(|(d, _)| f(*d));
    }

    fn join(&mut self, other: Self, ours: &CausalContext, theirs: &CausalContext, _: JoinMode) {
        // Fast path for the common register case: the same single entry on both sides.
        if self.0.len() == 1 && other.0.len() == 1 && self.0[0].0 == other.0[0].0 {
            return;
        }
        // One side empty (a key only one side holds, in a map join): filter in place rather
        // than allocate, since most keys of a large map join take one of these paths or the
        // one above.
        if other.0.is_empty() {
            self.0.retain(|(d, _)| !theirs.contains(d));
            return;
        }
        if self.0.is_empty() {
            self.0 = other.0;
            self.0.retain(|(d, _)| !ours.contains(d));
            return;
        }
        let mine = std::mem::take(&mut self.0);
        let mut out = Vec::with_capacity(mine.len().max(other.0.len()));
        let mut a = mine.into_iter().peekable();
        let mut b = other.0.into_iter().peekable();
        loop {
            let ord = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => break,
            };
            match ord {
                Ordering::Equal => {
                    out.extend(a.next());
                    b.next();
                }
                Ordering::Less => out.extend(a.next().filter(|(d, _)| !theirs.contains(d))),
                Ordering::Greater => out.extend(b.next().filter(|(d, _)| !ours.contains(d))),
            }
        }
        self.0 = out;
    }

    fn validate(&self) -> Result<()> {
        if self.0.windows(2).all(|w| w[0].0 < w[1].0) {
            Ok(())
        } else {
            Err(Error::Invalid {
                what: "dot store",
                why: "entries are not sorted by unique dots".into(),
            })
        }
    }

    fn skeleton(&self) -> Self {
        Self::default()
    }
}

/// A map from keys to nested dot stores. Removing a key is observed-remove: the key's dots
/// are killed, and a concurrent update (with new dots) keeps the key alive with just that
/// update ("reset-remove").
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct DotMap<K: Ord, S>(pub(crate) BTreeMap<K, S>);

impl<K: Ord, S> Default for DotMap<K, S> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<K: Ord, S> DotMap<K, S> {
    /// A map with the single entry `key → value` (typically a delta).
    pub fn single(key: K, value: S) -> Self {
        Self(BTreeMap::from([(key, value)]))
    }

    /// The underlying map.
    pub fn inner(&self) -> &BTreeMap<K, S> {
        &self.0
    }
}

impl<K, S> DotStore for DotMap<K, S>
where
    K: Ord + Clone + Debug,
    S: DotStore,
{
    fn is_bottom(&self) -> bool {
        self.0.values().all(DotStore::is_bottom)
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.0.values().for_each(|s| s.for_each_dot(f));
    }

    fn join(&mut self, other: Self, ours: &CausalContext, theirs: &CausalContext, mode: JoinMode) {
        if mode == JoinMode::Apply || other.0.len() * 8 < self.0.len() && mode != JoinMode::State {
            for (k, v) in other.0 {
                match self.0.entry(k) {
                    Entry::Occupied(mut e) => {
                        e.get_mut().join(v, ours, theirs, mode);
                        if mode != JoinMode::Combine && e.get().is_bottom() {
                            e.remove();
                        }
                    }
                    Entry::Vacant(e) => {
                        let mut s = S::default();
                        s.join(v, ours, theirs, mode);
                        if mode == JoinMode::Combine || !s.is_bottom() {
                            e.insert(s);
                        }
                    }
                }
            }
            return;
        }
        // Walk both maps in key order, joining `self`'s values in place: rebuilding the map
        // would free and reallocate every node, which dominates the cost of a large merge.
        // Keys only `other` holds, and keys left empty, are inserted and removed afterwards.
        let keep_bottom = mode == JoinMode::Combine;
        let mut theirs_only: Vec<(K, S)> = Vec::new();
        let mut emptied: Vec<K> = Vec::new();
        let mut b = other.0.into_iter().peekable();
        for (k, x) in self.0.iter_mut() {
            while let Some((bk, y)) = b.next_if(|(bk, _)| bk < k) {
                let mut s = S::default();
                s.join(y, ours, theirs, mode);
                if keep_bottom || !s.is_bottom() {
                    theirs_only.push((bk, s));
                }
            }
            match b.next_if(|(bk, _)| bk == k) {
                Some((_, y)) => x.join(y, ours, theirs, mode),
                None => x.join(S::default(), ours, theirs, mode),
            }
            if !keep_bottom && x.is_bottom() {
                emptied.push(k.clone());
            }
        }
        for (bk, y) in b {
            let mut s = S::default();
            s.join(y, ours, theirs, mode);
            if keep_bottom || !s.is_bottom() {
                theirs_only.push((bk, s));
            }
        }
        for k in &emptied {
            self.0.remove(k);
        }
        if self.0.is_empty() {
            self.0 = theirs_only.into_iter().collect();
        } else {
            self.0.extend(theirs_only);
        }
    }

    fn validate(&self) -> Result<()> {
        self.0.values().try_for_each(DotStore::validate)
    }

    fn skeleton(&self) -> Self {
        Self(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.skeleton()))
                .collect(),
        )
    }
}

/// Implements [`DotStore`] for a struct whose fields are all dot stores, joining field by
/// field. The struct must also derive `Clone, Default, PartialEq, Debug`.
///
/// ```
/// use horao_crdt::{dot_store_struct, LwwReg, OrSet};
/// #[derive(Clone, Default, PartialEq, Debug)]
/// struct Host { name: LwwReg<String>, labels: OrSet<String> }
/// dot_store_struct!(Host { name, labels });
/// ```
#[macro_export]
macro_rules! dot_store_struct {
    ($ty:ident $(<$($g:ident),*>)? { $($field:ident),+ $(,)? }) => {
        impl $(<$($g: Clone + PartialEq + ::std::fmt::Debug),*>)? $crate::DotStore for $ty $(<$($g),*>)? {
            fn is_bottom(&self) -> bool {
                true $(&& $crate::DotStore::is_bottom(&self.$field))+
            }
            fn for_each_dot(&self, f: &mut dyn FnMut($crate::Dot)) {
                $($crate::DotStore::for_each_dot(&self.$field, f);)+
            }
            fn join(
                &mut self,
                other: Self,
                ours: &$crate::CausalContext,
                theirs: &$crate::CausalContext,
                mode: $crate::JoinMode,
            ) {
                $($crate::DotStore::join(&mut self.$field, other.$field, ours, theirs, mode);)+
            }
            fn validate(&self) -> $crate::Result<()> {
                $($crate::DotStore::validate(&self.$field)?;)+
                Ok(())
            }
            fn skeleton(&self) -> Self {
                Self { $($field: $crate::DotStore::skeleton(&self.$field)),+ }
            }
        }
    };
}

/// Implements [`DotStore`] for a newtype over another dot store by delegation.
macro_rules! newtype_dot_store {
    ($ty:ident<$($g:ident),*> where $($bound:tt)*) => {
        impl<$($g),*> $crate::store::DotStore for $ty<$($g),*> where $($bound)* {
            fn is_bottom(&self) -> bool {
                self.0.is_bottom()
            }
            fn for_each_dot(&self, f: &mut dyn FnMut($crate::id::Dot)) {
                self.0.for_each_dot(f);
            }
            fn join(
                &mut self,
                other: Self,
                ours: &$crate::context::CausalContext,
                theirs: &$crate::context::CausalContext,
                mode: $crate::store::JoinMode,
            ) {
                self.0.join(other.0, ours, theirs, mode);
            }
            fn validate(&self) -> $crate::error::Result<()> {
                self.0.validate()
            }
            fn skeleton(&self) -> Self {
                Self(self.0.skeleton())
            }
        }
    };
}
pub(crate) use newtype_dot_store;
