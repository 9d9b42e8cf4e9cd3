//! Durable storage of the replicated model: one snapshot plus the journal of the deltas
//! committed since, behind one object-safe trait with an embedded and a Redis implementation.
//!
//! The store holds bytes only: the server encodes snapshots and deltas with horao-crdt's wire
//! format and decodes them at start-up. A commit returns only once it is durable (group commit
//! batches concurrent commits into one transaction). A snapshot replaces every journal entry
//! it covers; entries committed after the snapshot was taken stay and are replayed on top at
//! the next start (applying a delta twice is harmless).

pub mod embedded;
pub mod redis;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

pub mod memory;

/// What a store operation returns, boxed so the trait stays object safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// One durable write: an encoded delta and metadata written in the same transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commit {
    /// The encoded delta appended to the journal (may be empty when only metadata changes).
    pub delta: Vec<u8>,
    /// Metadata to set (`Some`) or remove (`None`) atomically with the delta.
    pub meta: Vec<(String, Option<Vec<u8>>)>,
}

/// Everything a store holds, read once at start-up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    /// The latest snapshot, if one was written.
    pub snapshot: Option<Vec<u8>>,
    /// The journal entries after the snapshot, in commit order, with their sequence numbers.
    pub journal: Vec<(u64, Vec<u8>)>,
    /// Every metadata key and value.
    pub meta: BTreeMap<String, Vec<u8>>,
}

/// The store's size, for metrics and for deciding when to compact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Journal entries after the snapshot.
    pub entries: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The sequence number of the last commit (0 before the first).
    pub last_seq: u64,
    /// The sequence number the snapshot covers (0 without one).
    pub snapshot_seq: u64,
    /// The snapshot's bytes.
    pub snapshot_bytes: u64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The embedded database failed.
    #[error("embedded store: {0}")]
    Embedded(String),
    /// Redis failed or answered something unexpected.
    #[error("redis store: {0}")]
    Redis(String),
    /// The stored data is damaged or was written by an incompatible version.
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
}

/// A durable home for the model: snapshot, journal and metadata.
pub trait Store: Send + Sync {
    /// A short name for logs and metrics (`"embedded"`, `"redis"`).
    fn kind(&self) -> &'static str;
    /// Reads the snapshot, the journal after it and all metadata.
    fn load(&self) -> StoreFuture<'_, Loaded>;
    /// Appends a delta and applies the metadata changes in one durable transaction; returns
    /// the delta's sequence number once it is durable.
    fn commit(&self, commit: Commit) -> StoreFuture<'_, u64>;
    /// Stores a snapshot that covers every journal entry up to `upto` and drops them.
    fn write_snapshot(&self, snapshot: Vec<u8>, upto: u64) -> StoreFuture<'_, ()>;
    /// The journal's current size.
    fn stats(&self) -> JournalStats;
    /// Configuration problems found at open (e.g. Redis running without `appendonly`).
    fn warnings(&self) -> Vec<String>;
    /// Flushes what is queued and closes; later operations fail with [`StoreError::Closed`].
    fn close(&self) -> StoreFuture<'_, ()>;
}
