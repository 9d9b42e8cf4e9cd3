//! The bounded history of recent committed changes: one entry per cursor (the store's commit
//! sequence number) holding every record committed at it, kept in cursor order up to a byte
//! bound. Every change with a cursor above `base` is in the history; a watcher whose cursor
//! is below `base` must resync.

use super::render::Scope;
use horao_model::model::EntityKind;
use std::collections::VecDeque;
use std::sync::Arc;

/// Who could see an entity before a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Before {
    /// It did not exist.
    Absent,
    /// It existed with this scope.
    Known(Scope),
    /// Not known: the change was replayed from the journal at start-up, where only the
    /// state after the whole journal was rendered.
    Unknown,
}

/// One entity changed at a cursor.
#[derive(Clone, Debug)]
pub struct Record {
    /// Its kind.
    pub kind: EntityKind,
    /// Its id.
    pub id: String,
    /// Its API view after the change, as JSON (`None`: it no longer exists).
    pub object: Option<Arc<str>>,
    /// Who may see it after the change (`None`: it no longer exists).
    pub after: Option<Scope>,
    /// Who could see it before.
    pub before: Before,
}

impl Record {
    fn bytes(&self) -> usize {
        // The id, the object and a fixed allowance for the rest.
        64 + self.id.len() + self.object.as_ref().map_or(0, |o| o.len())
    }
}

/// Everything committed at one cursor.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The store's commit sequence number.
    pub cursor: u64,
    /// The records (empty for a full state).
    pub records: Vec<Record>,
    /// A full state from a peer was merged: anything may have changed, every watcher
    /// resyncs.
    pub full: bool,
    /// Another server sharing the store committed it (it publishes the change's events).
    pub ingested: bool,
}

impl Entry {
    /// Bytes the entry holds, roughly (what the history's bound counts).
    pub fn bytes(&self) -> usize {
        64 + self.records.iter().map(Record::bytes).sum::<usize>()
    }
}

/// Why a watcher cannot continue from its cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behind {
    /// The history no longer holds the changes after the cursor.
    Collected {
        /// The oldest cursor the history can continue from.
        base: u64,
    },
    /// The cursor is past this server's latest change (a cursor of another server, or
    /// forged).
    Ahead {
        /// This server's latest cursor.
        head: u64,
    },
}

/// The bounded history.
#[derive(Debug)]
pub struct History {
    entries: VecDeque<Arc<Entry>>,
    base: u64,
    head: u64,
    bytes: usize,
    max_bytes: usize,
}

impl History {
    /// An empty history that continues from `base` and keeps at most `max_bytes`.
    pub fn new(base: u64, max_bytes: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            base,
            head: base,
            bytes: 0,
            max_bytes,
        }
    }

    /// The latest cursor.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The oldest cursor a watcher may continue from.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Entries held, and their bytes.
    pub fn size(&self) -> (usize, usize) {
        (self.entries.len(), self.bytes)
    }

    /// Appends `entry` (its cursor must be above the head; an older one is dropped with
    /// everything before it, so every watcher resyncs rather than miss it) and drops the
    /// oldest entries past the bound.
    pub fn push(&mut self, entry: Arc<Entry>) {
        if entry.cursor <= self.head {
            tracing::error!(
                cursor = entry.cursor,
                head = self.head,
                "watch: a change arrived out of order; every watcher resyncs"
            );
            self.entries.clear();
            self.bytes = 0;
            self.base = self.head;
            return;
        }
        self.head = entry.cursor;
        self.bytes += entry.bytes();
        self.entries.push_back(entry);
        while self.bytes > self.max_bytes && self.entries.len() > 1 {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.bytes();
                self.base = old.cursor;
            }
        }
    }

    /// The entries after `cursor`, oldest first, at most about `budget` bytes (at least one
    /// entry when any follows).
    pub fn after(&self, cursor: u64, budget: usize) -> Result<Vec<Arc<Entry>>, Behind> {
        if cursor < self.base {
            return Err(Behind::Collected { base: self.base });
        }
        if cursor > self.head {
            return Err(Behind::Ahead { head: self.head });
        }
        let start = self.entries.partition_point(|e| e.cursor <= cursor);
        let mut out = Vec::new();
        let mut used = 0;
        for e in self.entries.range(start..) {
            if !out.is_empty() && used + e.bytes() > budget {
                break;
            }
            used += e.bytes();
            out.push(e.clone());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(cursor: u64, n: usize) -> Arc<Entry> {
        Arc::new(Entry {
            cursor,
            records: (0..n)
                .map(|i| Record {
                    kind: EntityKind::Datacenter,
                    id: format!("dc-{i}"),
                    object: None,
                    after: None,
                    before: Before::Absent,
                })
                .collect(),
            full: false,
            ingested: false,
        })
    }

    #[test]
    fn bounded_resumable_and_explicit_when_behind() {
        let one = entry(1, 1).bytes();
        let mut h = History::new(10, one * 3);
        assert_eq!(h.after(10, usize::MAX).unwrap().len(), 0);
        for c in [12, 13, 15] {
            h.push(entry(c, 1));
        }
        let got: Vec<u64> = h
            .after(12, usize::MAX)
            .unwrap()
            .iter()
            .map(|e| e.cursor)
            .collect();
        assert_eq!(got, vec![13, 15]);
        assert_eq!(h.after(10, one).unwrap().len(), 1, "the budget holds one");
        assert_eq!(h.after(16, 1).err(), Some(Behind::Ahead { head: 15 }));
        h.push(entry(20, 1));
        assert_eq!(h.size().0, 3, "the oldest entry went past the bound");
        assert_eq!(h.after(11, 1).err(), Some(Behind::Collected { base: 12 }));
        assert_eq!(h.after(12, usize::MAX).unwrap().len(), 3);
        // Out of order: everything before is dropped, watchers resync.
        h.push(entry(19, 1));
        assert_eq!(h.after(15, 1).err(), Some(Behind::Collected { base: 20 }));
        assert_eq!(h.head(), 20);
    }
}
