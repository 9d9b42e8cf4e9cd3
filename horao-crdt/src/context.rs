//! Causal contexts: the set of dots a replica has seen, kept as per-replica interval lists.
//!
//! In the common case every replica's dots are contiguous from 1, so a context is a version
//! vector (one interval per replica). Gaps appear while deltas arrive out of order, and in
//! the contexts of deltas (which cover only the dots they carry); both are represented
//! exactly, without a separate "dot cloud".

use crate::error::{Error, Result};
use crate::id::{Dot, ReplicaId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Sorted, disjoint, non-adjacent inclusive intervals `[start, end]` of counters (all ≥ 1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    /// True when `counter` lies in one of the intervals.
    pub fn contains(&self, counter: u64) -> bool {
        // Fast path: the usual single interval from 1.
        if let [(s, e)] = self.0.as_slice() {
            return *s <= counter && counter <= *e;
        }
        let i = self.0.partition_point(|&(_, e)| e < counter);
        self.0.get(i).is_some_and(|&(s, _)| s <= counter)
    }

    /// The largest counter present, or 0.
    pub fn max(&self) -> u64 {
        self.0.last().map_or(0, |&(_, e)| e)
    }

    /// The end of the interval starting at 1 (the version-vector entry), or 0.
    pub fn contiguous(&self) -> u64 {
        match self.0.first() {
            Some(&(1, e)) => e,
            _ => 0,
        }
    }

    /// The intervals, sorted.
    pub fn intervals(&self) -> &[(u64, u64)] {
        &self.0
    }

    /// Number of counters covered.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|&(s, e)| e - s + 1).sum()
    }

    /// True when no counter is covered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `[start, end]` (ignored when empty or when `start` is 0).
    pub fn insert_range(&mut self, start: u64, end: u64) {
        if start == 0 || start > end {
            return;
        }
        // Fast path: extending the last interval, the common case for a replica's own dots.
        if let Some(last) = self.0.last_mut() {
            if start >= last.0 && start <= last.1.saturating_add(1) {
                last.1 = last.1.max(end);
                return;
            }
            // Also cheap: a new interval after a gap (dots arriving out of order).
            if start > last.1.saturating_add(1) {
                self.0.push((start, end));
                return;
            }
        }
        // In place: the intervals `i..j` overlap or touch `[start, end]` and become one; a
        // replica whose context has many gaps pays a binary search and a move of the tail,
        // not a new list.
        let i = self
            .0
            .partition_point(|&(_, e)| e.saturating_add(1) < start);
        let j = i + self.0[i..].partition_point(|&(s, _)| s <= end.saturating_add(1));
        if i == j {
            self.0.insert(i, (start, end));
        } else {
            // `i < j <= len`: both ends exist.
            self.0[i] = (start.min(self.0[i].0), end.max(self.0[j - 1].1));
            self.0.drain(i + 1..j);
        }
    }

    /// Adds every interval of `other`, in time linear in the two lists.
    pub fn union(&mut self, other: &Ranges) {
        if self.0.is_empty() {
            self.0.clone_from(&other.0);
            return;
        }
        // A delta's few intervals into a long list: one binary search and in-place update each.
        if other.0.len() <= 8 || other.0.len() * 16 < self.0.len() {
            for &(s, e) in &other.0 {
                self.insert_range(s, e);
            }
            return;
        }
        // A merge of the two sorted lists. Inserting interval by interval costs a copy of the
        // whole list per interval, quadratic for a peer's digest full of gaps.
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(self.0.len() + other.0.len());
        let valid = |r: &&(u64, u64)| r.0 != 0 && r.0 <= r.1;
        let mut a = self.0.iter().filter(valid).peekable();
        let mut b = other.0.iter().filter(valid).peekable();
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            let Some(&(s, e)) = next else { break };
            match out.last_mut() {
                Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        self.0 = out;
    }

    /// The counters of `self` not in `other`.
    pub fn difference(&self, other: &Ranges) -> Ranges {
        let mut out = Vec::new();
        self.difference_each(other, |s, e| out.push((s, e)));
        Ranges(out)
    }

    /// Calls `f(start, end)` for each interval of the counters of `self` not in `other`, in
    /// order, without allocating.
    fn difference_each(&self, other: &Ranges, mut f: impl FnMut(u64, u64)) {
        let mut j = 0;
        for &(s, e) in &self.0 {
            let mut cur = s;
            let mut done = false;
            // The first interval of `other` that can overlap `[s, e]`: a binary search, since
            // a delta's few intervals are often checked against a long list.
            j += other.0[j..].partition_point(|&(_, b)| b < cur);
            let mut k = j;
            while !done && k < other.0.len() && other.0[k].0 <= e {
                let (a, b) = other.0[k];
                if a > cur {
                    f(cur, a - 1);
                }
                if b >= e {
                    done = true;
                } else {
                    cur = b + 1;
                }
                k += 1;
            }
            if !done {
                f(cur, e);
            }
        }
    }

    /// True when every counter of `other` is in `self`.
    pub fn includes(&self, other: &Ranges) -> bool {
        other.difference(self).is_empty()
    }

    /// True when every counter of `start..=end` is in `self` (an empty range always is).
    pub fn includes_range(&self, start: u64, end: u64) -> bool {
        // Intervals are sorted, disjoint and non-adjacent: the range is covered when the
        // interval holding its start also holds its end.
        let j = self.0.partition_point(|&(_, e)| e < start);
        start > end || self.0.get(j).is_some_and(|&(s, e)| s <= start && end <= e)
    }

    fn validate(&self) -> Result<()> {
        let mut prev_end: Option<u64> = None;
        for &(s, e) in &self.0 {
            if s == 0 || s > e {
                return Err(Error::Invalid {
                    what: "causal context",
                    why: format!("interval [{s}, {e}] is empty or starts at 0"),
                });
            }
            if let Some(p) = prev_end {
                if p.saturating_add(1) >= s {
                    return Err(Error::Invalid {
                        what: "causal context",
                        why: format!("interval [{s}, {e}] overlaps or touches its predecessor"),
                    });
                }
            }
            prev_end = Some(e);
        }
        Ok(())
    }
}

/// The set of dots seen, per replica. Ordered by inclusion, joined by union.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CausalContext(BTreeMap<ReplicaId, Ranges>);

impl CausalContext {
    /// The empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when every dot `(replica, c)` for `c` in `start..=end` has been seen.
    pub fn includes_range(&self, replica: ReplicaId, start: u64, end: u64) -> bool {
        start > end
            || self
                .0
                .get(&replica)
                .is_some_and(|r| r.includes_range(start, end))
    }

    /// True when `dot` has been seen.
    pub fn contains(&self, dot: &Dot) -> bool {
        self.0
            .get(&dot.replica)
            .is_some_and(|r| r.contains(dot.counter))
    }

    /// Records one dot.
    pub fn insert(&mut self, dot: Dot) {
        self.insert_range(dot.replica, dot.counter, dot.counter);
    }

    /// Records the dots `replica:start..=end`.
    pub fn insert_range(&mut self, replica: ReplicaId, start: u64, end: u64) {
        if start == 0 || start > end {
            return;
        }
        self.0.entry(replica).or_default().insert_range(start, end);
    }

    /// The largest counter seen from `replica`, or 0.
    pub fn max(&self, replica: ReplicaId) -> u64 {
        self.0.get(&replica).map_or(0, Ranges::max)
    }

    /// The version vector: per replica, the end of the contiguous prefix from 1.
    pub fn version_vector(&self) -> BTreeMap<ReplicaId, u64> {
        self.0
            .iter()
            .map(|(r, rs)| (*r, rs.contiguous()))
            .filter(|&(_, c)| c > 0)
            .collect()
    }

    /// Adds every dot of `other`.
    pub fn union(&mut self, other: &CausalContext) {
        for (r, rs) in &other.0 {
            self.0.entry(*r).or_default().union(rs);
        }
    }

    /// The dots of `self` that `other` lacks.
    pub fn difference(&self, other: &CausalContext) -> CausalContext {
        let mut out = CausalContext::new();
        self.difference_each(other, |r, s, e| out.insert_range(r, s, e));
        out
    }

    /// Calls `f(replica, start, end)` for each interval of the dots of `self` that `other`
    /// lacks, by replica and in order, without allocating (applying a delta asks this of
    /// every delta).
    pub fn difference_each(&self, other: &CausalContext, mut f: impl FnMut(ReplicaId, u64, u64)) {
        for (r, rs) in &self.0 {
            match other.0.get(r) {
                Some(o) => rs.difference_each(o, |s, e| f(*r, s, e)),
                None => rs.0.iter().for_each(|&(s, e)| f(*r, s, e)),
            }
        }
    }

    /// True when every dot of `other` is in `self`.
    pub fn includes(&self, other: &CausalContext) -> bool {
        other.0.iter().all(|(r, rs)| match self.0.get(r) {
            Some(mine) => mine.includes(rs),
            None => rs.is_empty(),
        })
    }

    /// The common dots of `self` and `other`.
    pub fn intersection(&self, other: &CausalContext) -> CausalContext {
        // a ∩ b = a \ (a \ b)
        self.difference(&self.difference(other))
    }

    /// True when no dot has been seen.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(Ranges::is_empty)
    }

    /// Number of dots covered.
    pub fn dot_count(&self) -> u64 {
        self.0.values().map(Ranges::len).sum()
    }

    /// The replicas that appear, with their ranges.
    pub fn iter(&self) -> impl Iterator<Item = (&ReplicaId, &Ranges)> {
        self.0.iter()
    }

    /// Forgets every dot of `replica` (used when a retired replica is dropped).
    pub fn forget(&mut self, replica: ReplicaId) {
        self.0.remove(&replica);
    }

    /// Checks the structural invariants of a decoded context.
    pub fn validate(&self) -> Result<()> {
        self.0.values().try_for_each(Ranges::validate)
    }
}

impl FromIterator<Dot> for CausalContext {
    fn from_iter<I: IntoIterator<Item = Dot>>(iter: I) -> Self {
        let mut c = CausalContext::new();
        for d in iter {
            c.insert(d);
        }
        c
    }
}

#[cfg(test)]
mod tests;
