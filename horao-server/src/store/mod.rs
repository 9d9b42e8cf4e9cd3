//! Durable storage of the replicated model: one snapshot plus the journal of the deltas
//! committed since, behind one object-safe trait with an embedded and a Redis implementation.
//!
//! The store holds bytes only: the server encodes snapshots and deltas with horao-crdt's wire
//! format and decodes them at start-up. A commit returns only once it is durable (group commit
//! batches concurrent commits into one transaction). A snapshot replaces every journal entry
//! it covers; entries committed after the snapshot was taken stay and are replayed on top at
//! the next start (applying a delta twice is harmless).
//!
//! A store may be *shared*: several servers commit to one journal (Redis, each server under
//! its own node name). Each then follows the others' commits ([`Store::read_after`], woken by
//! [`Store::announced`]) instead of receiving them by gossip, and keeps the metadata that is
//! its own ([`NODE_META_PREFIXES`]) apart from the metadata every server shares (tokens).

pub mod embedded;
pub mod redis;
pub mod redis_node;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

pub mod memory;

/// What a store operation returns, boxed so the trait stays object safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Metadata keys that belong to one server (its replica id, incarnation and sync state),
/// not to every server sharing a store: a shared store keeps them per node.
pub const NODE_META_PREFIXES: &[&str] = &["replica/", "sync/"];

/// True when `key` is metadata of one server (see [`NODE_META_PREFIXES`]).
pub fn is_node_meta(key: &str) -> bool {
    NODE_META_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Journal entries another server may have committed, read after a position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tail {
    /// The entries, in commit order, with their sequence numbers.
    pub entries: Vec<(u64, Vec<u8>)>,
    /// Every commit up to this sequence number was read (more may follow: read again).
    pub upto: u64,
    /// A snapshot replaced entries after the position before they were read: load the store
    /// again ([`Store::load`]) and merge its snapshot.
    pub gap: bool,
}

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
    /// The sequence number the snapshot covers (0 without one).
    pub snapshot_seq: u64,
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
    /// Another process holds this server's node in a shared store (two servers were given
    /// one node name), or took it over after this one lost its lease.
    #[error("the node is held by another process: {0}")]
    Lease(String),
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
    /// True when other servers commit to this store too, so this server follows their
    /// commits with [`Store::read_after`].
    fn shared(&self) -> bool {
        false
    }
    /// The journal entries committed after `after`, about `budget` bytes of them at most
    /// (always at least one). A store nobody else writes has nothing to add.
    fn read_after(&self, after: u64, budget: usize) -> StoreFuture<'_, Tail> {
        let _ = budget;
        Box::pin(async move {
            Ok(Tail {
                entries: Vec::new(),
                upto: after,
                gap: false,
            })
        })
    }
    /// One metadata value as stored now, for a store other servers write too (a token
    /// another server minted); `None` for a store nobody else writes.
    fn read_meta<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        let _ = key;
        Box::pin(async { Ok(None) })
    }
    /// The newest sequence number the other servers sharing the store announced (it changes
    /// on each of their commits); `None` for a store nobody else writes.
    fn announced(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
    /// Flushes what is queued and closes; later operations fail with [`StoreError::Closed`].
    fn close(&self) -> StoreFuture<'_, ()>;
}
