//! Dot stores: the building blocks of causal CRDTs. A store holds data tagged with dots; a
//! causal state is a store plus the causal context of everything its replica has seen.
//!
//! Joining two causal states keeps an entry when both stores hold its dot, or when one holds
//! it and the other has not seen it. An entry one side holds and the other has seen but no
//! longer holds was removed (or overwritten) there, so it is dropped. This rule is what makes
//! removals win over the entries they observed and lose to concurrent additions.

mod fun;

use crate::context::CausalContext;
use crate::error::Result;
use crate::id::Dot;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt::Debug;
use std::ops::Bound;

pub use fun::{DotFun, DotSet};

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

    /// One dot the store holds, when it can name one without chasing pointers; `None` when it
    /// holds none or finding one would cost more than comparing keys (the default).
    ///
    /// Every dot is minted once and stored in one place, and [`crate::Causal::validate`]
    /// rejects a decoded state or delta holding a dot twice. So two values of one map that
    /// hold the same marker are the same key's, and a map join that meets them skips the key
    /// comparison (keys are often strings, each a pointer to chase).
    fn marker(&self) -> Option<Dot> {
        None
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
                        if let Some((_, s)) = joined_alone((), v, ours, theirs, mode) {
                            e.insert(s);
                        }
                    }
                }
            }
            return;
        }
        let keep_bottom = mode == JoinMode::Combine;
        let mut b = other.0.into_iter();
        if self.0.is_empty() {
            self.0 = b
                .filter_map(|(bk, y)| joined_alone(bk, y, ours, theirs, mode))
                .collect();
            return;
        }
        // Walk both maps in key order, joining `self`'s values in place: rebuilding the map
        // would free and reallocate every node, which dominates the cost of a large merge. A
        // key only `other` holds is inserted, and a key left empty removed, as the walk meets
        // it; the walk then resumes after that key. So the join needs no buffer, and its cost
        // is one key comparison per key whose values differ plus a search per inserted or
        // removed key, through nodes the walk has just read (setting changes aside for after
        // the walk measured slower: those searches then meet cold nodes).
        let mut next = b.next();
        let mut resume: Option<K> = None;
        loop {
            let rest = match &resume {
                Some(r) => self.0.range_mut((Bound::Excluded(r), Bound::Unbounded)),
                None => self.0.range_mut(..),
            };
            let mut change: Option<(K, Option<S>)> = None;
            'walk: for (k, x) in rest {
                let mut y = None;
                let mark = x.marker();
                while let Some((bk, v)) = next.take() {
                    // One comparison per step. Values holding the same dot (most keys of two
                    // states that have synchronised) belong to the same key (see
                    // `DotStore::marker`), so they need no key comparison, which for string
                    // keys means two pointers to chase.
                    let ord = match (mark, v.marker()) {
                        (Some(m), Some(n)) if m == n => Ordering::Equal,
                        _ => bk.cmp(k),
                    };
                    match ord {
                        Ordering::Less => {
                            next = b.next();
                            if let Some((bk, s)) = joined_alone(bk, v, ours, theirs, mode) {
                                change = Some((bk, Some(s)));
                                break 'walk;
                            }
                        }
                        Ordering::Equal => {
                            y = Some(v);
                            next = b.next();
                            break;
                        }
                        Ordering::Greater => {
                            next = Some((bk, v));
                            break;
                        }
                    }
                }
                x.join(y.unwrap_or_default(), ours, theirs, mode);
                if !keep_bottom && x.is_bottom() {
                    change = Some((k.clone(), None));
                    break;
                }
            }
            resume = match change {
                Some((k, Some(s))) => {
                    let r = k.clone();
                    self.0.insert(k, s);
                    Some(r)
                }
                Some((k, None)) => {
                    self.0.remove(&k);
                    Some(k)
                }
                None => break,
            };
        }
        // Keys past `self`'s last one.
        let rest = next.into_iter().chain(b);
        self.0
            .extend(rest.filter_map(|(bk, y)| joined_alone(bk, y, ours, theirs, mode)));
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

/// Joins two delta stores minted in one transaction into one delta store with the effect of
/// both: the way a mutator that changes several things returns one delta.
///
/// The transaction's context (in its [`crate::Tx`]) covers both deltas, so the stores join
/// under empty contexts ([`JoinMode::Combine`]). That is right only because the deltas of one
/// transaction hold disjoint dots (each dot is minted once); this is checked, and a dot held
/// by both (the same delta combined twice, or a state passed for a delta) is an
/// [`Error::Invalid`](crate::Error::Invalid) naming it. The check costs a pass over both
/// deltas' dots, which mutators keep small.
pub fn combine<S: DotStore>(mut a: S, b: S) -> Result<S> {
    let mut dots = Vec::new();
    a.for_each_dot(&mut |d| dots.push(d));
    dots.sort_unstable();
    let mut shared = None;
    b.for_each_dot(&mut |d| {
        if shared.is_none() && dots.binary_search(&d).is_ok() {
            shared = Some(d);
        }
    });
    if let Some(d) = shared {
        return Err(crate::Error::Invalid {
            what: "combined deltas",
            why: format!("dot {d} is held by both"),
        });
    }
    let none = CausalContext::new();
    a.join(b, &none, &none, JoinMode::Combine);
    Ok(a)
}

/// The entry `key → value` of a map whose other side lacks `key`, joined against bottom;
/// `None` when nothing of it survives (and empty keys are not kept).
fn joined_alone<K, S: DotStore>(
    key: K,
    value: S,
    ours: &CausalContext,
    theirs: &CausalContext,
    mode: JoinMode,
) -> Option<(K, S)> {
    let mut s = S::default();
    s.join(value, ours, theirs, mode);
    (mode == JoinMode::Combine || !s.is_bottom()).then_some((key, s))
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
///
/// A struct that also holds a [`Derived`](crate::Derived) index names that field after the
/// others with `derived`: the generated join then records what an applied delta touches,
/// joins the fields, and patches the index (or drops it after a full-state merge); the index
/// is left out of every other method (see [`crate::derived`]).
///
/// ```
/// use horao_crdt::{dot_store_struct, Derived, DerivedIndex, LwwReg, OrMap};
/// #[derive(Clone, Default, PartialEq, Debug)]
/// struct Hosts { names: OrMap<u32, LwwReg<String>>, count: Derived<Count> }
/// #[derive(Clone)]
/// struct Count(usize);
/// impl DerivedIndex<Hosts> for Count {
///     type Touched = ();
///     fn build(h: &Hosts) -> Self { Count(h.names.len()) }
///     fn touched(&self, _: &Hosts, _: &Hosts) {}
///     fn patch(&mut self, _: (), h: &Hosts) -> bool { self.0 = h.names.len(); true }
///     fn same_entries(&self, other: &Self) -> bool { self.0 == other.0 }
/// }
/// dot_store_struct!(Hosts { names } derived count);
/// ```
#[macro_export]
macro_rules! dot_store_struct {
    ($ty:ident $(<$($g:ident),*>)? { $($field:ident),+ $(,)? } derived $d:ident) => {
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
                let touched = self.$d.before_join(self, &other, mode);
                $($crate::DotStore::join(&mut self.$field, other.$field, ours, theirs, mode);)+
                let mut index = ::std::mem::take(&mut self.$d);
                index.after_join(touched, self);
                self.$d = index;
            }
            fn validate(&self) -> $crate::Result<()> {
                $($crate::DotStore::validate(&self.$field)?;)+
                Ok(())
            }
            fn skeleton(&self) -> Self {
                Self {
                    $($field: $crate::DotStore::skeleton(&self.$field),)+
                    $d: ::std::default::Default::default(),
                }
            }
            fn marker(&self) -> Option<$crate::Dot> {
                None $(.or_else(|| $crate::DotStore::marker(&self.$field)))+
            }
        }
    };
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
            fn marker(&self) -> Option<$crate::Dot> {
                None $(.or_else(|| $crate::DotStore::marker(&self.$field)))+
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
            fn marker(&self) -> Option<$crate::id::Dot> {
                self.0.marker()
            }
        }
    };
}
pub(crate) use newtype_dot_store;

#[cfg(test)]
mod tests;
