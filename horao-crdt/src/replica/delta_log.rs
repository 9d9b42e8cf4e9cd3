//! The delta log of a replica: the deltas that brought it new dots, kept encoded (the wire
//! format's payload bytes) and bounded both in entries and in bytes, with the horizon of the
//! dots whose deltas it no longer holds.
//!
//! A logged delta costs about its encoded size: a few hundred bytes for one changed entity of
//! a large document, where the decoded `Causal<S>` would hold an allocation for every non-empty
//! map on the way down and the inline size of every empty one.

use crate::causal::Causal;
use crate::context::CausalContext;
use crate::id::ReplicaId;
use crate::store::DotStore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A scratch buffer grown past this size is released after use rather than kept.
const MAX_SCRATCH: usize = 1 << 20;

/// Below this many slots a buffer is never shrunk.
const MIN_SHRINK: usize = 64;

/// Consecutive dots `replica:start..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DotRange {
    replica: ReplicaId,
    start: u64,
    end: u64,
}

/// One logged delta.
#[derive(Clone, Debug)]
struct Entry {
    /// The dots the delta brought (what a peer lacking it is missing), sorted by replica.
    dots: Box<[DotRange]>,
    /// The delta in the wire format's payload encoding (bincode, standard configuration): the
    /// bytes an envelope of kind `Delta` carries after its header.
    delta: Box<[u8]>,
}

impl Entry {
    /// The bytes this entry accounts for: its slot in the log's buffer and its two heap
    /// allocations.
    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.delta.len()
            + std::mem::size_of_val::<[DotRange]>(&self.dots)
    }

    /// Accounts for the entry leaving the log: its dots join `collected` and its footprint
    /// leaves `bytes`.
    fn retire(&self, collected: &mut CausalContext, bytes: &mut usize) {
        self.add_to(collected);
        *bytes -= self.footprint();
    }

    /// True when `ctx` holds every dot the entry brought.
    fn known_by(&self, ctx: &CausalContext) -> bool {
        self.dots
            .iter()
            .all(|d| ctx.includes_range(d.replica, d.start, d.end))
    }

    /// Adds the entry's dots to `ctx`.
    fn add_to(&self, ctx: &mut CausalContext) {
        for r in &self.dots {
            ctx.insert_range(r.replica, r.start, r.end);
        }
    }
}

/// A delta log as persisted with the store (see [`crate::Replica::export_log`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    entries: Vec<LoggedDelta>,
}

impl LogState {
    /// Number of logged deltas.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no delta is logged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks a decoded log: every dot range well formed (counters from 1, start ≤ end).
    pub fn validate(&self) -> crate::error::Result<()> {
        for e in &self.entries {
            if let Some(&(r, s, end)) = e.dots.iter().find(|&&(_, s, e)| s == 0 || s > e) {
                return Err(crate::error::Error::Invalid {
                    what: "delta log",
                    why: format!("dot range {r}:{s}..={end}"),
                });
            }
        }
        Ok(())
    }
}

/// One persisted logged delta: the dots it brought and its payload encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct LoggedDelta {
    dots: Vec<(ReplicaId, u64, u64)>,
    #[serde(with = "crate::sync::message::bytes")]
    delta: Vec<u8>,
}

/// Why the log could not answer with deltas.
#[derive(Debug)]
pub(crate) struct Undecodable;

/// The bounded, encoded delta log and the dots it no longer covers.
#[derive(Clone, Debug)]
pub(crate) struct DeltaLog {
    entries: VecDeque<Entry>,
    /// Sum of the entries' footprints.
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    /// Dots whose deltas are not in the log: a peer lacking any gets the full state.
    collected: CausalContext,
    /// Reused encoding buffer, so each entry is written once and copied into an exact
    /// allocation.
    scratch: Vec<u8>,
    /// Reused buffer for the dots of a delta being logged, likewise.
    dot_scratch: Vec<DotRange>,
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
}

impl DeltaLog {
    /// An empty log whose deltas for `collected` are gone already.
    pub(crate) fn new(collected: CausalContext, max_entries: usize, max_bytes: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            bytes: 0,
            max_entries,
            max_bytes,
            collected,
            scratch: Vec::new(),
            dot_scratch: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn collected(&self) -> &CausalContext {
        &self.collected
    }

    /// Marks `dots` as having no delta here (they arrived in a full state).
    pub(crate) fn forget(&mut self, dots: &CausalContext) {
        self.collected.union(dots);
    }

    /// The bounds, as `(entries, bytes)`.
    pub(crate) fn bounds(&self) -> (usize, usize) {
        (self.max_entries, self.max_bytes)
    }

    pub(crate) fn set_max_entries(&mut self, max: usize) {
        self.max_entries = max;
        self.trim();
        self.shrink();
    }

    pub(crate) fn set_max_bytes(&mut self, max: usize) {
        self.max_bytes = max;
        self.trim();
        self.shrink();
    }

    /// Logs `delta` if it brings dots `seen` lacks, then drops the oldest entries beyond the
    /// bounds; returns whether it brought any. A delta larger than the whole byte bound, or
    /// that cannot be encoded (never expected), is not logged: its new dots are marked
    /// collected, so peers lacking them get the full state. `encoded`, when given, is the
    /// delta's payload encoding, kept as is (nothing is encoded again).
    pub(crate) fn push<S: Serialize>(
        &mut self,
        delta: &Causal<S>,
        encoded: Option<&[u8]>,
        seen: &CausalContext,
    ) -> bool {
        // Gathered in a reused buffer and copied into an exact allocation: growing a fresh
        // vector and shrinking it into a box would leave a small hole in the heap per delta.
        let mut dots = std::mem::take(&mut self.dot_scratch);
        dots.clear();
        delta.ctx.difference_each(seen, |replica, start, end| {
            dots.push(DotRange {
                replica,
                start,
                end,
            });
        });
        let new = !dots.is_empty();
        if new {
            self.log(delta, encoded, &dots);
        }
        self.dot_scratch = dots;
        new
    }

    /// Logs `delta`, which brought `dots` (see [`DeltaLog::push`]).
    fn log<S: Serialize>(&mut self, delta: &Causal<S>, encoded: Option<&[u8]>, dots: &[DotRange]) {
        self.scratch.clear();
        let ok = match encoded {
            Some(bytes) => {
                self.scratch.extend_from_slice(bytes);
                true
            }
            None => {
                bincode::serde::encode_into_std_write(delta, &mut self.scratch, config()).is_ok()
            }
        };
        let footprint =
            std::mem::size_of::<Entry>() + self.scratch.len() + std::mem::size_of_val(dots);
        if !ok || footprint > self.max_bytes {
            for r in dots {
                self.collected.insert_range(r.replica, r.start, r.end);
            }
        } else {
            let entry = Entry {
                dots: Box::from(dots),
                delta: Box::from(self.scratch.as_slice()),
            };
            debug_assert_eq!(entry.footprint(), footprint);
            self.bytes += footprint;
            self.entries.push_back(entry);
        }
        if self.scratch.capacity() > MAX_SCRATCH {
            self.scratch = Vec::new();
        }
        self.trim();
        self.shrink();
    }

    /// Drops the entries whose dots are all in `stable`. Returns how many were dropped.
    pub(crate) fn collect(&mut self, stable: &CausalContext) -> usize {
        let before = self.entries.len();
        let (collected, bytes) = (&mut self.collected, &mut self.bytes);
        self.entries.retain(|e| {
            if e.known_by(stable) {
                e.retire(collected, bytes);
                false
            } else {
                true
            }
        });
        self.shrink();
        before - self.entries.len()
    }

    /// Drops the oldest entries while every context of `known_by` includes all their dots,
    /// stopping at the first one that is not: time proportional to what it drops (plus one
    /// check of the entry it stops at). Returns how many were dropped.
    pub(crate) fn collect_oldest<'a>(
        &mut self,
        known_by: impl Iterator<Item = &'a CausalContext> + Clone,
    ) -> usize {
        let mut dropped = 0;
        while let Some(e) = self.entries.front() {
            if !known_by.clone().all(|k| e.known_by(k)) {
                break;
            }
            e.retire(&mut self.collected, &mut self.bytes);
            self.entries.pop_front();
            dropped += 1;
        }
        if dropped > 0 {
            self.shrink();
        }
        dropped
    }

    /// The join, in log order, of the logged deltas `peer` lacks. The caller has checked that
    /// `peer` includes [`DeltaLog::collected`].
    pub(crate) fn lacking<S: DotStore + DeserializeOwned>(
        &self,
        peer: &CausalContext,
    ) -> Result<Causal<S>, Undecodable> {
        let mut out = Causal::default();
        for e in self.entries.iter().filter(|e| !e.known_by(peer)) {
            let (delta, read) =
                bincode::serde::decode_from_slice::<Causal<S>, _>(&e.delta, config())
                    .map_err(|_| Undecodable)?;
            if read != e.delta.len() {
                return Err(Undecodable);
            }
            out.combine(delta);
        }
        Ok(out)
    }

    /// The log as its persisted form.
    pub(crate) fn export(&self) -> LogState {
        LogState {
            entries: self
                .entries
                .iter()
                .map(|e| LoggedDelta {
                    dots: e.dots.iter().map(|d| (d.replica, d.start, d.end)).collect(),
                    delta: e.delta.to_vec(),
                })
                .collect(),
        }
    }

    /// A log restored from `saved` for a state whose context is `ctx`: an entry whose dots
    /// the state lacks (saved after the state) is dropped, and every dot of the state no
    /// entry covers (collected, or logged after the log was saved) counts as collected, so a
    /// peer lacking it gets the full state. Then the bounds apply.
    pub(crate) fn restore(
        ctx: &CausalContext,
        saved: LogState,
        max_entries: usize,
        max_bytes: usize,
    ) -> Self {
        let mut log = Self::new(CausalContext::new(), max_entries, max_bytes);
        let mut covered = CausalContext::new();
        for e in saved.entries {
            let dots: Box<[DotRange]> = e
                .dots
                .iter()
                .map(|&(replica, start, end)| DotRange {
                    replica,
                    start,
                    end,
                })
                .collect();
            let entry = Entry {
                dots,
                delta: e.delta.into_boxed_slice(),
            };
            if !entry.known_by(ctx) || entry.dots.is_empty() {
                continue;
            }
            entry.add_to(&mut covered);
            log.bytes += entry.footprint();
            log.entries.push_back(entry);
        }
        log.collected = ctx.difference(&covered);
        log.trim();
        log.shrink();
        log
    }

    /// Drops the oldest entries beyond the bounds.
    fn trim(&mut self) {
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            e.retire(&mut self.collected, &mut self.bytes);
        }
    }

    /// Gives back most of the buffer once it is more than four times larger than needed.
    fn shrink(&mut self) {
        let (len, cap) = (self.entries.len(), self.entries.capacity());
        if cap > MIN_SHRINK && cap / 4 > len {
            self.entries.shrink_to(2 * len);
        }
    }
}

#[cfg(test)]
mod tests;
