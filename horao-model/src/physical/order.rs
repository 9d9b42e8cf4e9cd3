//! Ordering of children within a container (rows in a datacenter, racks in a row, devices in a
//! rack) by fractional-index keys.
//!
//! Every child stores its order key in the same last-writer-wins register as its parent id, so
//! a move (even to another container) is one register write: a concurrent move and insert
//! converge, and a concurrent pair of moves never duplicates a child. Children sort by
//! `(key, id)`, so equal keys minted concurrently still order the same on every replica.
//!
//! This module is the only place that mints keys; it is the switch-over point to the shared
//! fractional-index positions of horao-crdt.

use horao_crdt::Position;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A fractional-index key: a [`horao_crdt::Position`] (the sort key of
/// [`horao_crdt::FracArray`]), so a key can always be minted between two others.
///
/// The model keeps these keys in its flat tables instead of holding a `FracArray` per
/// container: an array's element ids are dots, not entity ids, and a move to another container
/// would be a remove plus an insert, which two concurrent moves could duplicate. One register
/// holding (parent, position) gives the array's semantics with an atomic cross-container move.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderKey(Position);

impl OrderKey {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// A key strictly between `lo` and `hi` (either bound may be open). When no key fits
    /// between them (equal bounds from a concurrent tie, or a position grown past its limit)
    /// the key is placed right after `lo`; ties sort by id, so the order stays deterministic.
    /// `None` only if not even that is possible.
    pub fn between(
        lo: Option<&OrderKey>,
        hi: Option<&OrderKey>,
        rng: &mut impl Rng,
    ) -> Option<Self> {
        let (lo, hi) = (lo.map(|k| &k.0), hi.map(|k| &k.0));
        Position::between(lo, hi, rng)
            .or_else(|_| Position::between(lo, None, rng))
            .ok()
            .map(OrderKey)
    }
}

/// Where to put a child among its siblings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum At<I> {
    /// Before every sibling.
    Start,
    /// After every sibling.
    #[default]
    End,
    /// Right after the given sibling.
    After(I),
    /// Right before the given sibling.
    Before(I),
}

/// Mints a key for position `at` among `siblings`, which must be sorted by `(key, id)` and
/// must not contain the child being placed. Returns `None` when `at` names a sibling that is
/// not in the list, or when no key can be minted.
pub fn mint<I: PartialEq>(
    siblings: &[(&OrderKey, &I)],
    at: &At<I>,
    rng: &mut impl Rng,
) -> Option<OrderKey> {
    let key = |i: usize| siblings.get(i).map(|(k, _)| *k);
    let find = |id: &I| siblings.iter().position(|(_, s)| *s == id);
    let (lo, hi) = match at {
        At::Start => (None, key(0)),
        At::End => (siblings.last().map(|(k, _)| *k), None),
        At::After(id) => {
            let i = find(id)?;
            (key(i), key(i + 1))
        }
        At::Before(id) => {
            let i = find(id)?;
            (i.checked_sub(1).and_then(key), key(i))
        }
    };
    OrderKey::between(lo, hi, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mint_orders_like_the_request() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut list: Vec<(OrderKey, u32)> = Vec::new();
        let mut expect: Vec<u32> = Vec::new();
        for id in 0..200u32 {
            let sorted: Vec<(&OrderKey, &u32)> = list.iter().map(|(k, i)| (k, i)).collect();
            let (at, pos) = match id % 4 {
                0 => (At::End, expect.len()),
                1 => (At::Start, 0),
                _ => {
                    let j = (id as usize * 7919) % expect.len();
                    if id % 4 == 2 {
                        (At::After(expect[j]), j + 1)
                    } else {
                        (At::Before(expect[j]), j)
                    }
                }
            };
            let k = mint(&sorted, &at, &mut rng).unwrap();
            list.push((k, id));
            list.sort();
            expect.insert(pos, id);
            assert_eq!(list.iter().map(|(_, i)| *i).collect::<Vec<_>>(), expect);
        }
        assert!(mint(&[], &At::After(3u32), &mut rng).is_none());
    }

    #[test]
    fn equal_bounds_still_give_a_key() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let k = OrderKey::between(None, None, &mut rng).unwrap();
        let k2 = OrderKey::between(Some(&k), Some(&k), &mut rng).unwrap();
        assert!(k2 > k);
    }
}
