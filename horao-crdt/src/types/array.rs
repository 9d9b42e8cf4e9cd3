//! Fractionally indexed array: an ordered list of nested CRDTs where every element carries
//! its own last-writer-wins position, so inserts and moves from any replica converge.

use crate::causal::Tx;
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::hlc::Timestamp;
use crate::id::Dot;
use crate::store::{DotMap, DotStore, JoinMode, newtype_dot_store};
use crate::types::LwwReg;
use crate::types::position::Position;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The identity of an array element: the dot minted by its insert, unique across replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ElemId(pub Dot);

impl fmt::Display for ElemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One element of a [`FracArray`]: a last-writer-wins position and a nested value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Element<V> {
    position: LwwReg<Position>,
    value: V,
}

impl<V: Default> Default for Element<V> {
    fn default() -> Self {
        Self {
            position: LwwReg::default(),
            value: V::default(),
        }
    }
}

impl<V> Element<V> {
    /// The current position (`None` only in the rare case described on [`FracArray`]).
    pub fn position(&self) -> Option<&Position> {
        self.position.get()
    }

    /// The value.
    pub fn value(&self) -> &V {
        &self.value
    }
}

impl<V: DotStore> DotStore for Element<V> {
    fn is_bottom(&self) -> bool {
        self.position.is_bottom() && self.value.is_bottom()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.position.for_each_dot(f);
        self.value.for_each_dot(f);
    }

    fn join(&mut self, other: Self, ours: &CausalContext, theirs: &CausalContext, mode: JoinMode) {
        self.position.join(other.position, ours, theirs, mode);
        self.value.join(other.value, ours, theirs, mode);
    }

    fn validate(&self) -> Result<()> {
        // Positions validate themselves when decoded (see `Position`'s serde conversion).
        self.position.validate()?;
        self.value.validate()
    }

    fn skeleton(&self) -> Self {
        Self {
            position: self.position.skeleton(),
            value: self.value.skeleton(),
        }
    }

    fn marker(&self) -> Option<Dot> {
        self.position.marker().or_else(|| self.value.marker())
    }
}

/// An ordered list of nested CRDTs (rows of a datacenter, devices of a rack).
///
/// Each element is keyed by its [`ElemId`] and holds a [`Position`] in an LWW register plus a
/// value `V`. The order is by `(position, id)`: positions come from
/// [`Position::between`] with random jitter, so equal positions are rare, and the id breaks
/// the tie when they happen.
///
/// # Semantics
///
/// * **Insert** mints a fresh id, so concurrent inserts never merge or lose an element.
///   Concurrent inserts at the same spot both land there, in jitter (then id) order.
/// * **Move** writes a new position. An element exists once per id whatever the
///   positions, so concurrent moves never duplicate or drop it: the write with the greatest
///   `(timestamp, replica)` wins and every replica shows the element there.
/// * **Update** changes the value and rewrites the current position *with its current
///   timestamp*. A concurrent move (stamped later by an HLC that has seen the position it
///   replaces) still wins; a concurrent remove no longer takes the position away, so the
///   element stays where it was, holding only the concurrent update (reset-remove, as in
///   [`crate::OrMap`]).
/// * **Remove** kills every dot of the element it has seen. A concurrent move keeps the
///   element alive at the moved-to position with its value reset to what was written
///   concurrently (usually nothing, so `V::default()`). This is the reset-remove rule of the
///   whole crate: we keep it rather than let removes beat moves, because a "remove wins"
///   array would need a separate liveness flag whose stale dots nobody could ever clean up.
/// * If a remove meets deltas out of causal order, an element may in principle keep value
///   dots with no position; such elements are listed last, in id order, and stay editable
///   and removable. New elements are never placed after them.
///
/// Reads sort on demand (`O(n log n)` for [`FracArray::iter`] and index-based mutators,
/// `O(n)` for [`FracArray::index_of`]): arrays here hold tens to thousands of elements, and
/// keeping no secondary index keeps joins simple.
///
/// Mutators take `&self` and a [`Tx`] and return a small delta (the touched elements only);
/// unknown ids are [`Error::NoSuchElement`], impossible placements [`Error::NoPosition`].
///
/// ```
/// use horao_crdt::{Error, FracArray, LwwReg, Replica, ReplicaId, Timestamp};
/// use rand::SeedableRng;
///
/// let mut rack: Replica<FracArray<LwwReg<String>>> = Replica::new(ReplicaId(1));
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let ts = Timestamp::new(1_700_000_000_000, 0)?;
/// let mut ids = Vec::new();
/// for name in ["switch", "server"] {
///     rack.try_mutate(|a, tx| {
///         let (delta, id) = a.push_back(ts, tx, &mut rng, |v, tx| v.write(name.into(), ts, tx))?;
///         ids.push(id);
///         Ok::<_, Error>(delta)
///     })?;
/// }
/// rack.try_mutate(|a, tx| a.move_to(ids[1], 0, ts, tx, &mut rng))?;
/// let names: Vec<_> = rack.state().iter().filter_map(|(_, v)| v.get().cloned()).collect();
/// assert_eq!(names, ["server", "switch"]);
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FracArray<V>(DotMap<ElemId, Element<V>>);

impl<V> Default for FracArray<V> {
    fn default() -> Self {
        Self(DotMap::default())
    }
}

/// Sort key: elements with a position first, by (position, id); then the others by id.
type Key<'a> = (bool, Option<&'a Position>, ElemId);

/// A position for a new or moved element, plus the elements moved to make room for it.
type Placed<V> = (Position, BTreeMap<ElemId, Element<V>>);

fn key<V>(id: ElemId, e: &Element<V>) -> Key<'_> {
    let p = e.position();
    (p.is_none(), p, id)
}

impl<V: DotStore> FracArray<V> {
    /// Delta inserting a new element strictly between `left` and `right` (`None`: the start,
    /// respectively the end). The bounds need not be adjacent, but `left` must come before
    /// `right`. `init` receives the bottom value and returns the element's initial value.
    /// Returns the delta and the new element's id.
    ///
    /// In the rare case that `left` and `right` have equal positions (two concurrent inserts
    /// drew the same jitter), the delta also moves `right` and any later elements of that tie
    /// to fresh positions, keeping their order, to make room.
    pub fn insert_between(
        &self,
        left: Option<ElemId>,
        right: Option<ElemId>,
        ts: Timestamp,
        tx: &mut Tx,
        rng: &mut impl Rng,
        init: impl FnOnce(&V, &mut Tx) -> V,
    ) -> Result<(Self, ElemId)> {
        let (pos, mut delta) = self.place(None, left, right, ts, tx, rng)?;
        let id = ElemId(tx.dot());
        let value = init(&V::default(), tx);
        let position = LwwReg::default().write(pos, ts, tx);
        delta.insert(id, Element { position, value });
        Ok((Self(DotMap(delta)), id))
    }

    /// Delta inserting a new element so that it has index `index` (`0..=len`) in the current
    /// order. See [`FracArray::insert_between`].
    pub fn insert_at(
        &self,
        index: usize,
        ts: Timestamp,
        tx: &mut Tx,
        rng: &mut impl Rng,
        init: impl FnOnce(&V, &mut Tx) -> V,
    ) -> Result<(Self, ElemId)> {
        let order = self.sorted();
        let (left, right) = neighbours(&order, index)?;
        self.insert_between(left, right, ts, tx, rng, init)
    }

    /// Delta appending a new element after every element that has a position.
    pub fn push_back(
        &self,
        ts: Timestamp,
        tx: &mut Tx,
        rng: &mut impl Rng,
        init: impl FnOnce(&V, &mut Tx) -> V,
    ) -> Result<(Self, ElemId)> {
        let last = self
            .entries()
            .filter(|(_, e)| e.position().is_some())
            .max_by(|a, b| key(a.0, a.1).cmp(&key(b.0, b.1)))
            .map(|(id, _)| id);
        self.insert_between(last, None, ts, tx, rng, init)
    }

    /// Delta inserting a new element before every other element.
    pub fn push_front(
        &self,
        ts: Timestamp,
        tx: &mut Tx,
        rng: &mut impl Rng,
        init: impl FnOnce(&V, &mut Tx) -> V,
    ) -> Result<(Self, ElemId)> {
        let first = self
            .entries()
            .min_by(|a, b| key(a.0, a.1).cmp(&key(b.0, b.1)))
            .map(|(id, _)| id);
        self.insert_between(None, first, ts, tx, rng, init)
    }

    /// Delta moving element `id` strictly between `left` and `right` (`None`: the start,
    /// respectively the end): a new position write, stamped `ts`. Neither bound may be `id`.
    pub fn move_between(
        &self,
        id: ElemId,
        left: Option<ElemId>,
        right: Option<ElemId>,
        ts: Timestamp,
        tx: &mut Tx,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let e = self.live(id)?;
        let (pos, mut delta) = self.place(Some(id), left, right, ts, tx, rng)?;
        let position = e.position.write(pos, ts, tx);
        delta.insert(
            id,
            Element {
                position,
                value: V::default(),
            },
        );
        Ok(Self(DotMap(delta)))
    }

    /// Delta moving element `id` so that it ends at index `index` (`0..len`) of the order.
    pub fn move_to(
        &self,
        id: ElemId,
        index: usize,
        ts: Timestamp,
        tx: &mut Tx,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        self.live(id)?;
        let others: Vec<_> = self
            .sorted()
            .into_iter()
            .filter(|(x, _)| *x != id)
            .collect();
        let (left, right) = neighbours(&others, index)?;
        self.move_between(id, left, right, ts, tx, rng)
    }

    /// Delta updating the value of element `id` with `f`, which receives the current value and
    /// returns the nested delta. The position is rewritten unchanged (see the type's docs).
    pub fn update(
        &self,
        id: ElemId,
        tx: &mut Tx,
        f: impl FnOnce(&V, &mut Tx) -> V,
    ) -> Result<Self> {
        self.try_update(id, tx, |v, tx| Ok::<_, Error>(f(v, tx)))
    }

    /// Like [`FracArray::update`], for nested mutators that validate and may fail.
    pub fn try_update<E: From<Error>>(
        &self,
        id: ElemId,
        tx: &mut Tx,
        f: impl FnOnce(&V, &mut Tx) -> std::result::Result<V, E>,
    ) -> std::result::Result<Self, E> {
        let e = self.live(id)?;
        let value = f(&e.value, tx)?;
        let position = match (e.position.get(), e.position.timestamp()) {
            (Some(p), Some(t)) => e.position.write(p.clone(), t, tx),
            _ => LwwReg::default(),
        };
        Ok(Self(DotMap::single(id, Element { position, value })))
    }

    /// Delta removing element `id`: kills every dot of it this replica has seen.
    pub fn remove(&self, id: ElemId, tx: &mut Tx) -> Result<Self> {
        let e = self.live(id)?;
        tx.kill(e);
        Ok(Self(DotMap::single(id, e.skeleton())))
    }

    /// The value of element `id`.
    pub fn get(&self, id: ElemId) -> Option<&V> {
        self.live(id).ok().map(|e| &e.value)
    }

    /// The position of element `id`.
    pub fn position(&self, id: ElemId) -> Option<&Position> {
        self.live(id).ok().and_then(Element::position)
    }

    /// True when element `id` is present.
    pub fn contains(&self, id: ElemId) -> bool {
        self.live(id).is_ok()
    }

    /// Number of elements (`O(n)`).
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    /// The index of element `id` in the order (`O(n)`, no sort).
    pub fn index_of(&self, id: ElemId) -> Option<usize> {
        let k = key(id, self.live(id).ok()?);
        Some(self.entries().filter(|(x, e)| key(*x, e) < k).count())
    }

    /// The elements in order, with their ids (sorts on every call).
    pub fn iter(&self) -> impl Iterator<Item = (ElemId, &V)> {
        self.sorted().into_iter().map(|(id, e)| (id, &e.value))
    }

    /// The ids in order (sorts on every call).
    pub fn ids(&self) -> Vec<ElemId> {
        self.sorted().into_iter().map(|(id, _)| id).collect()
    }

    /// The elements (position and value) in id order, not in array order.
    pub fn elements(&self) -> impl Iterator<Item = (ElemId, &Element<V>)> {
        self.entries()
    }

    fn entries(&self) -> impl Iterator<Item = (ElemId, &Element<V>)> {
        self.0
            .0
            .iter()
            .filter(|(_, e)| !e.is_bottom())
            .map(|(id, e)| (*id, e))
    }

    fn sorted(&self) -> Vec<(ElemId, &Element<V>)> {
        let mut v: Vec<_> = self.entries().collect();
        v.sort_by(|a, b| key(a.0, a.1).cmp(&key(b.0, b.1)));
        v
    }

    fn live(&self, id: ElemId) -> Result<&Element<V>> {
        self.0
            .0
            .get(&id)
            .filter(|e| !e.is_bottom())
            .ok_or_else(|| Error::NoSuchElement(id.to_string()))
    }

    /// A position strictly between `left` and `right` for a new element or for `moving`, plus
    /// the moves of tied neighbours needed to make room (usually none).
    fn place(
        &self,
        moving: Option<ElemId>,
        left: Option<ElemId>,
        right: Option<ElemId>,
        ts: Timestamp,
        tx: &mut Tx,
        rng: &mut impl Rng,
    ) -> Result<Placed<V>> {
        if moving.is_some() && (left == moving || right == moving) {
            return Err(Error::NoPosition(
                "an element cannot be placed next to itself".into(),
            ));
        }
        let lo = left.map(|id| self.live(id).map(|e| (id, e))).transpose()?;
        let hi = right.map(|id| self.live(id).map(|e| (id, e))).transpose()?;
        if let (Some((l, le)), Some((h, he))) = (lo, hi) {
            if key(l, le) >= key(h, he) {
                return Err(Error::NoPosition(format!(
                    "element {l} does not come before element {h}"
                )));
            }
        }
        let lo_pos = match lo {
            Some((id, e)) => Some(e.position().ok_or_else(|| {
                Error::NoPosition(format!(
                    "element {id} has no position, so nothing can follow it"
                ))
            })?),
            None => None,
        };
        // An upper bound without a position sorts after every positioned element: the end.
        let hi_pos = hi.and_then(|(_, e)| e.position());
        let mut delta = BTreeMap::new();
        let pos = match (lo, lo_pos, hi_pos) {
            (Some((l, _)), Some(p), Some(q)) if p == q => {
                let first = self.spread(moving, l, p, ts, tx, rng, &mut delta)?;
                Position::between(Some(p), Some(&first), rng)?
            }
            _ => Position::between(lo_pos, hi_pos, rng)?,
        };
        Ok((pos, delta))
    }

    /// Moves the elements tied at position `p` that sort after `left` (all but `moving`) to
    /// fresh increasing positions above `p` and below the next position, recording the
    /// writes in `delta`; returns the lowest new position.
    #[allow(clippy::too_many_arguments)]
    fn spread(
        &self,
        moving: Option<ElemId>,
        left: ElemId,
        p: &Position,
        ts: Timestamp,
        tx: &mut Tx,
        rng: &mut impl Rng,
        delta: &mut BTreeMap<ElemId, Element<V>>,
    ) -> Result<Position> {
        let others = || self.entries().filter(|(id, _)| Some(*id) != moving);
        let next = others()
            .filter_map(|(_, e)| e.position())
            .filter(|q| *q > p)
            .min();
        // `entries` yields ids in order, so the tie group comes out sorted.
        let group = others().filter(|(id, e)| *id > left && e.position() == Some(p));
        let mut prev = p.clone();
        let mut first = None;
        for (id, e) in group {
            let r = Position::between(Some(&prev), next, rng)?;
            let position = e.position.write(r.clone(), ts, tx);
            delta.insert(
                id,
                Element {
                    position,
                    value: V::default(),
                },
            );
            first.get_or_insert_with(|| r.clone());
            prev = r;
        }
        first.ok_or_else(|| Error::NoPosition("no tied neighbour to move".into()))
    }
}

/// The neighbours of slot `index` in `order`: the new element goes after `order[index - 1]`
/// and before `order[index]`. Slots past the positioned elements fall back to just after the
/// last of them, since elements without a position always sort last.
fn neighbours<V>(
    order: &[(ElemId, &Element<V>)],
    index: usize,
) -> Result<(Option<ElemId>, Option<ElemId>)> {
    if index > order.len() {
        return Err(Error::NoPosition(format!(
            "index {index} is past the end of {} elements",
            order.len()
        )));
    }
    let positioned = order
        .iter()
        .take_while(|(_, e)| e.position().is_some())
        .count();
    let at = index.min(positioned);
    let left = at
        .checked_sub(1)
        .and_then(|i| order.get(i))
        .map(|(id, _)| *id);
    let right = order.get(at).map(|(id, _)| *id);
    Ok((left, right))
}

newtype_dot_store!(FracArray<V> where V: DotStore);
