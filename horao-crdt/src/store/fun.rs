//! [`DotFun`]: a map from dots to values, the dot store of registers, counters and sets.

use super::{DotStore, JoinMode};
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::id::Dot;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt::{self, Debug};
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// A map from dots to values, sorted by dot (small in practice: registers hold one entry per
/// concurrent write).
///
/// On the wire it is a sequence of `(dot, value)` pairs, exactly as a `Vec` would encode.
#[derive(Clone)]
pub struct DotFun<V>(Entries<V>);

/// The entries of a [`DotFun`]. Once replicas have synchronised a register holds one entry,
/// so that case lives inline: a large map of registers then allocates once per key (for the
/// key) rather than twice, and copying, joining or dropping it chases half the pointers.
#[derive(Clone)]
enum Entries<V> {
    /// Exactly one entry.
    One((Dot, V)),
    /// The entries sorted by unique dots: none, or more than one. A single entry is kept as
    /// [`Entries::One`] by every constructor here, though nothing relies on it but memory.
    Many(Vec<(Dot, V)>),
}

impl<V> Default for DotFun<V> {
    fn default() -> Self {
        Self(Entries::Many(Vec::new()))
    }
}

/// A set of dots (a dot store whose entries carry no value).
pub type DotSet = DotFun<()>;

impl<V> DotFun<V> {
    /// The entries, sorted by dot.
    pub fn entries(&self) -> &[(Dot, V)] {
        match &self.0 {
            Entries::One(e) => std::slice::from_ref(e),
            Entries::Many(v) => v,
        }
    }

    /// A store with the single entry `(dot, value)`.
    pub fn single(dot: Dot, value: V) -> Self {
        Self(Entries::One((dot, value)))
    }

    /// A store holding `entries`, which the caller keeps sorted by unique dots.
    pub(crate) fn from_vec(mut entries: Vec<(Dot, V)>) -> Self {
        match entries.pop() {
            Some(e) if entries.is_empty() => Self(Entries::One(e)),
            Some(e) => {
                entries.push(e);
                Self(Entries::Many(entries))
            }
            None => Self::default(),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The entries of `self` whose dots `seen` lacks: what survives a join with a side that
    /// holds none of them.
    fn unseen_by(self, seen: &CausalContext) -> Self {
        match self.0 {
            Entries::One(e) if seen.contains(&e.0) => Self::default(),
            Entries::One(e) => Self(Entries::One(e)),
            Entries::Many(mut v) => {
                v.retain(|(d, _)| !seen.contains(d));
                Self::from_vec(v)
            }
        }
    }

    /// The entries by value, sorted by dot.
    fn into_iter(self) -> IntoIter<V> {
        match self.0 {
            Entries::One(e) => IntoIter::One(Some(e)),
            Entries::Many(v) => IntoIter::Many(v.into_iter()),
        }
    }
}

/// The entries of a [`DotFun`] by value.
enum IntoIter<V> {
    One(Option<(Dot, V)>),
    Many(std::vec::IntoIter<(Dot, V)>),
}

impl<V> Iterator for IntoIter<V> {
    type Item = (Dot, V);

    fn next(&mut self) -> Option<(Dot, V)> {
        match self {
            IntoIter::One(e) => e.take(),
            IntoIter::Many(it) => it.next(),
        }
    }
}

impl<V: Clone + PartialEq + Debug> DotStore for DotFun<V> {
    fn is_bottom(&self) -> bool {
        self.is_empty()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.entries().iter().for_each(|(d, _)| f(*d));
    }

    fn join(&mut self, other: Self, ours: &CausalContext, theirs: &CausalContext, _: JoinMode) {
        // The common register case: the same single entry on both sides (a dot names one
        // write, so equal dots carry equal values).
        if let (Entries::One(a), Entries::One(b)) = (&self.0, &other.0) {
            if a.0 == b.0 {
                return;
            }
        }
        let mine = std::mem::take(self);
        *self = match (mine.0, other.0) {
            // One side empty (a key only one side holds, in a map join): filter, no allocation.
            (mine, Entries::Many(b)) if b.is_empty() => DotFun(mine).unseen_by(theirs),
            (Entries::Many(a), theirs_entries) if a.is_empty() => {
                DotFun(theirs_entries).unseen_by(ours)
            }
            // Two different single entries (an overwrite, or a concurrent write).
            (Entries::One(a), Entries::One(b)) => {
                match (!theirs.contains(&a.0), !ours.contains(&b.0)) {
                    (true, false) => Self(Entries::One(a)),
                    (false, true) => Self(Entries::One(b)),
                    (false, false) => Self::default(),
                    (true, true) if a.0 < b.0 => Self(Entries::Many(vec![a, b])),
                    (true, true) => Self(Entries::Many(vec![b, a])),
                }
            }
            (mine, theirs_entries) => merge(DotFun(mine), DotFun(theirs_entries), ours, theirs),
        };
    }

    fn validate(&self) -> Result<()> {
        if self.entries().windows(2).all(|w| w[0].0 < w[1].0) {
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

    fn marker(&self) -> Option<Dot> {
        self.entries().first().map(|e| e.0)
    }
}

/// The general join: a merge of the two dot-sorted entry lists that keeps an entry both sides
/// hold, and an entry one side holds when the other has not seen its dot.
fn merge<V>(a: DotFun<V>, b: DotFun<V>, ours: &CausalContext, theirs: &CausalContext) -> DotFun<V> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
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
    DotFun::from_vec(out)
}

impl<V: PartialEq> PartialEq for DotFun<V> {
    fn eq(&self, other: &Self) -> bool {
        self.entries() == other.entries()
    }
}

impl<V: Eq> Eq for DotFun<V> {}

impl<V: Hash> Hash for DotFun<V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.entries().hash(state);
    }
}

impl<V: Debug> Debug for DotFun<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DotFun").field(&self.entries()).finish()
    }
}

impl<V: Serialize> Serialize for DotFun<V> {
    /// A sequence of `(dot, value)` pairs: the bytes a `Vec<(Dot, V)>` encodes to.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.entries())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for DotFun<V> {
    /// Reads what [`DotFun`]'s `Serialize` writes. Order is not checked here: decoded states
    /// go through [`DotStore::validate`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_seq(FunVisitor(PhantomData))
    }
}

/// Preallocation cap for a decoded sequence, whatever length it declares (as serde's own `Vec`
/// decoder does): the vector grows past it only as entries actually arrive.
const MAX_PREALLOC_BYTES: usize = 1 << 20;

/// Decodes the sequence of a [`DotFun`].
struct FunVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for FunVisitor<V> {
    type Value = DotFun<V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of (dot, value) pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<DotFun<V>, A::Error> {
        let Some(first) = seq.next_element::<(Dot, V)>()? else {
            return Ok(DotFun::default());
        };
        let Some(second) = seq.next_element::<(Dot, V)>()? else {
            return Ok(DotFun(Entries::One(first)));
        };
        let cap = MAX_PREALLOC_BYTES / std::mem::size_of::<(Dot, V)>().max(1);
        let rest = seq.size_hint().unwrap_or(0).min(cap);
        let mut v = Vec::with_capacity(rest.saturating_add(2));
        v.push(first);
        v.push(second);
        while let Some(e) = seq.next_element()? {
            v.push(e);
        }
        Ok(DotFun(Entries::Many(v)))
    }
}

#[cfg(test)]
mod tests;
