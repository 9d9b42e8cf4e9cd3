//! Observed-remove map with nested CRDT values and reset-remove semantics.

use crate::causal::Tx;
use crate::store::{DotMap, DotStore, newtype_dot_store};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// A map from keys to nested CRDTs.
///
/// Removing a key kills the dots the remover saw under it (reset-remove): an edit made
/// concurrently on another replica survives, and the key reappears holding just that edit.
/// Removals travel as context, never as tombstones in the store, and a delta that removes a
/// key carries the key, so applying it costs time proportional to the delta, not the map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrMap<K: Ord, V>(DotMap<K, V>);

impl<K: Ord, V> Default for OrMap<K, V> {
    fn default() -> Self {
        Self(DotMap::default())
    }
}

impl<K: Ord + Clone + Debug, V: DotStore> OrMap<K, V> {
    /// Delta updating the value at `key` with `f`, which receives the current value (bottom
    /// when absent) and returns the nested delta.
    pub fn update(&self, key: K, tx: &mut Tx, f: impl FnOnce(&V, &mut Tx) -> V) -> Self {
        let nested = match self.0.0.get(&key) {
            Some(v) => f(v, tx),
            None => f(&V::default(), tx),
        };
        Self(DotMap::single(key, nested))
    }

    /// Like [`OrMap::update`], for nested mutators that validate and may fail.
    pub fn try_update<E>(
        &self,
        key: K,
        tx: &mut Tx,
        f: impl FnOnce(&V, &mut Tx) -> Result<V, E>,
    ) -> Result<Self, E> {
        let nested = match self.0.0.get(&key) {
            Some(v) => f(v, tx)?,
            None => f(&V::default(), tx)?,
        };
        Ok(Self(DotMap::single(key, nested)))
    }

    /// Delta removing `key` (a no-op delta when absent).
    pub fn remove(&self, key: &K, tx: &mut Tx) -> Self {
        match self.0.0.get(key) {
            Some(v) => {
                tx.kill(v);
                Self(DotMap::single(key.clone(), v.skeleton()))
            }
            None => Self::default(),
        }
    }

    /// The value at `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.0.0.get(key).filter(|v| !v.is_bottom())
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.0.iter().filter(|(_, v)| !v.is_bottom())
    }

    /// The entries whose keys lie in `range`.
    pub fn range<R: std::ops::RangeBounds<K>>(&self, range: R) -> impl Iterator<Item = (&K, &V)> {
        self.0.0.range(range).filter(|(_, v)| !v.is_bottom())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    /// Every key the map carries, in order, including keys whose value is bottom.
    ///
    /// A state never keeps an empty key (its joins drop them), so there this equals
    /// [`OrMap::keys`]. A delta does: a removal carries the removed key with an empty value
    /// (its skeleton), which [`OrMap::keys`] and [`OrMap::get`] hide. So on a delta these are
    /// exactly the keys that applying it may change, added, updated or removed, and a caller
    /// keeping a derived index can patch it in time proportional to the delta.
    pub fn raw_keys(&self) -> impl Iterator<Item = &K> {
        self.0.0.keys()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.0.is_empty()
    }
}

newtype_dot_store!(OrMap<K, V> where K: Ord + Clone + Debug, V: DotStore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::causal::Causal;
    use crate::id::ReplicaId;
    use crate::types::LwwReg;
    use crate::{Replica, Timestamp};

    type Map = OrMap<u8, LwwReg<u8>>;

    fn write(r: &mut Replica<Map>, k: u8, v: u8) -> Causal<Map> {
        let ts = Timestamp::new(u64::from(v) + 1, 0).unwrap();
        r.mutate(|m, tx| m.update(k, tx, |reg, tx| reg.write(v, ts, tx)))
            .unwrap()
    }

    #[test]
    fn raw_keys_name_the_keys_a_removal_delta_carries() {
        let mut r: Replica<Map> = Replica::new(ReplicaId(1));
        let added = write(&mut r, 1, 10);
        write(&mut r, 2, 20);
        write(&mut r, 3, 30);
        assert_eq!(added.store.raw_keys().collect::<Vec<_>>(), [&1]);
        let removed = r.mutate(|m, tx| m.remove(&2, tx)).unwrap();
        // The removal hides its key from `keys` but names it in `raw_keys`.
        assert_eq!(removed.store.keys().count(), 0);
        assert_eq!(removed.store.raw_keys().collect::<Vec<_>>(), [&2]);
        // A state holds no empty keys: both views agree once the removal is applied.
        let state = r.state();
        assert_eq!(state.raw_keys().collect::<Vec<_>>(), [&1, &3]);
        assert!(state.raw_keys().eq(state.keys()));
        // Removing an absent key carries nothing.
        let none = r.mutate(|m, tx| m.remove(&9, tx)).unwrap();
        assert_eq!(none.store.raw_keys().count(), 0);
    }
}
