//! An in-memory [`Store`]: durable only for the life of the process. It serves the logic's
//! tests and runs the daemon until a durable store is configured; a clone shares the same
//! contents, so a test can "restart" a server on the data an earlier one left.

use super::{Commit, JournalStats, Loaded, Store, StoreError, StoreFuture};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Default)]
struct Inner {
    snapshot: Option<Vec<u8>>,
    snapshot_seq: u64,
    journal: Vec<(u64, Vec<u8>)>,
    meta: BTreeMap<String, Vec<u8>>,
    last_seq: u64,
    closed: bool,
    /// When set, every commit fails (to test the write path's failure handling).
    fail_commits: bool,
}

/// A store in memory; clones share their contents.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later commit fail (`true`) or succeed again (`false`).
    pub fn set_fail_commits(&self, fail: bool) {
        self.lock().fail_commits = fail;
    }

    /// Opens the store again after [`Store::close`] (a restart of the process using it).
    pub fn reopen(&self) {
        self.lock().closed = false;
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        let g = self.lock();
        if g.closed {
            Err(StoreError::Closed)
        } else {
            Ok(g)
        }
    }
}

impl Store for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn load(&self) -> StoreFuture<'_, Loaded> {
        Box::pin(async move {
            let g = self.open()?;
            Ok(Loaded {
                snapshot: g.snapshot.clone(),
                snapshot_seq: g.snapshot_seq,
                journal: g.journal.clone(),
                meta: g.meta.clone(),
            })
        })
    }

    fn commit(&self, commit: Commit) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let mut g = self.open()?;
            if g.fail_commits {
                return Err(StoreError::Embedded("commits are set to fail".into()));
            }
            g.last_seq += 1;
            let seq = g.last_seq;
            if !commit.delta.is_empty() {
                g.journal.push((seq, commit.delta));
            }
            for (k, v) in commit.meta {
                match v {
                    Some(v) => g.meta.insert(k, v),
                    None => g.meta.remove(&k),
                };
            }
            Ok(seq)
        })
    }

    fn write_snapshot(&self, snapshot: Vec<u8>, upto: u64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut g = self.open()?;
            g.snapshot = Some(snapshot);
            g.snapshot_seq = upto;
            g.journal.retain(|(seq, _)| *seq > upto);
            Ok(())
        })
    }

    fn stats(&self) -> JournalStats {
        let g = self.lock();
        JournalStats {
            entries: g.journal.len() as u64,
            bytes: g.journal.iter().map(|(_, d)| d.len() as u64).sum(),
            last_seq: g.last_seq,
            snapshot_seq: g.snapshot_seq,
            snapshot_bytes: g.snapshot.as_ref().map_or(0, |s| s.len() as u64),
        }
    }

    fn warnings(&self) -> Vec<String> {
        vec!["the in-memory store keeps nothing across a restart of the process".into()]
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.lock().closed = true;
            Ok(())
        })
    }
}
