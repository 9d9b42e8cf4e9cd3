//! The server's shared state: the sync node holding the model, the store, the writer's
//! queue, the feed of committed changes and the tokens; and start-up, which loads the
//! snapshot and the journal into memory.

use crate::auth::Tokens;
use crate::error::ApiError;
use crate::store::{Commit, Store, StoreError};
use crate::upgrade;
use crate::writer::{self, WriteJob};
use horao_crdt::sync::{SyncConfig, SyncNode};
use horao_crdt::wire::{self, Kind};
use horao_crdt::{Causal, Replica, ReplicaId};
use horao_model::model::{Model, Touched};
use horao_model::snapshot;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::{broadcast, mpsc};

/// Metadata key of the replica id (8 bytes, little endian).
pub const META_REPLICA_ID: &str = "replica/id";
/// Metadata key of the incarnation (8 bytes, little endian), bumped on every start.
pub const META_INCARNATION: &str = "sync/incarnation";
/// Metadata key of the sync state (horao-crdt's encoding), saved at compaction and at stop.
pub const META_SYNC_STATE: &str = "sync/state";
/// Metadata key of the watch feed's name (shared by the servers sharing a store).
pub const META_FEED: &str = "feed/id";

/// Largest snapshot or delta payload decoded at start-up.
const MAX_LOAD_PAYLOAD: usize = 1 << 30;

/// A change committed durably and applied: what the watch feed and gossip fan out.
#[derive(Clone, Debug)]
pub struct Committed {
    /// The store's sequence number of the commit.
    pub seq: u64,
    /// What the delta changed.
    pub touched: Arc<Vec<Touched>>,
    /// A full state from a peer was merged: anything may have changed (removals are not in
    /// `touched`).
    pub full: bool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored data could not be decoded.
    #[error("stored data: {0}")]
    Decode(String),
    /// The configured replica id differs from the stored one.
    #[error("replica id {given} differs from the store's {stored}")]
    ReplicaMismatch {
        /// Given on the command line.
        given: u64,
        /// Kept in the store.
        stored: u64,
    },
}

/// Settings of the state, from the configuration.
#[derive(Clone, Debug, Default)]
pub struct StateConfig {
    /// The replica id to use (default: the stored one, or a new random one).
    pub replica_id: Option<u64>,
    /// The admin token to accept (default: the stored digest, or a new token).
    pub admin_token: Option<String>,
    /// Compact when the journal holds more entries than this.
    pub compact_entries: u64,
    /// The gossip's settings (peers, cluster secret, intervals, limits).
    pub gossip: crate::gossip::GossipConfig,
    /// Runs once the model is loaded and the start-up's buffers are freed, before the
    /// server turns ready: the binary hands the freed memory back to the operating system
    /// here, so the resident size once ready is the model's, not the decode's peak.
    pub on_loaded: Option<fn()>,
    /// The watch feed's and the event stream's settings.
    pub watch: crate::watch::WatchConfig,
}

/// Everything handlers share.
pub struct Shared {
    node: RwLock<SyncNode<Model>>,
    /// The durable store.
    pub store: Arc<dyn Store>,
    writer: mpsc::Sender<WriteJob>,
    /// Committed changes, in commit order (the seam for the watch feed and the gossip).
    pub changes: broadcast::Sender<Committed>,
    /// Accepted tokens.
    pub tokens: RwLock<Tokens>,
    ready: AtomicBool,
    /// Settings.
    pub config: StateConfig,
    /// The gossip's connections and counters.
    pub gossip: Arc<crate::gossip::Gossip>,
    /// The watch feed's history and counters.
    pub watch: Arc<crate::watch::Hub>,
    /// Where this server is in a shared store's journal (see [`crate::follow`]).
    pub follow: crate::follow::Position,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("store", &self.store.kind())
            .finish_non_exhaustive()
    }
}

/// The state handed to every handler.
pub type AppState = Arc<Shared>;

/// What start-up produced besides the state.
#[derive(Debug)]
pub struct Started {
    /// The shared state.
    pub state: AppState,
    /// A new admin token to print once (only when one was generated).
    pub new_admin_token: Option<String>,
    /// The writer task; it ends once every sender is gone.
    pub writer: tokio::task::JoinHandle<()>,
}

fn u64_meta(v: Option<&Vec<u8>>) -> Option<u64> {
    v.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(u64::from_le_bytes)
}

fn decode_err(e: impl std::fmt::Display) -> StartError {
    StartError::Decode(e.to_string())
}

/// Loads the store into memory and starts the writer.
pub async fn start(store: Arc<dyn Store>, config: StateConfig) -> Result<Started, StartError> {
    let began = std::time::Instant::now();
    let mut loaded = store.load().await?;
    let read_ms = began.elapsed().as_millis();
    let stored_id = u64_meta(loaded.meta.get(META_REPLICA_ID));
    let id = match (config.replica_id, stored_id) {
        (Some(given), Some(stored)) if given != stored => {
            return Err(StartError::ReplicaMismatch { given, stored });
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => rand::random::<u64>() | 1,
    };
    let incarnation = u64_meta(loaded.meta.get(META_INCARNATION)).unwrap_or(0) + 1;
    // The snapshot's bytes are dropped as soon as they are decoded: the model is as large.
    let snapshot_bytes = loaded.snapshot.take();
    let (mut causal, snapshot_schema): (Causal<Model>, _) = match &snapshot_bytes {
        Some(bytes) => snapshot::decode_versioned_snapshot(bytes, MAX_LOAD_PAYLOAD)
            .map(|(state, version)| (state, Some(version)))
            .map_err(decode_err)?,
        None => (Causal::default(), None),
    };
    drop(snapshot_bytes);
    let journal_schema = upgrade::journal_schema(&loaded.meta, snapshot_schema);
    let migrate = upgrade::needed(snapshot_schema, journal_schema, loaded.journal.is_empty());
    let decoded_ms = began.elapsed().as_millis();
    let journal_entries = loaded.journal.len();
    let followed = loaded
        .journal
        .last()
        .map_or(0, |(seq, _)| *seq)
        .max(loaded.snapshot_seq);
    let mut replayed = Vec::with_capacity(journal_entries);
    for (seq, bytes) in &loaded.journal {
        // A full state received from a peer is journalled as a state envelope.
        let full = bytes.get(6) == Some(&(Kind::State as u8));
        let kind = if full { Kind::State } else { Kind::Delta };
        let delta = snapshot::decode_stored(kind, bytes, journal_schema, MAX_LOAD_PAYLOAD)
            .map_err(|e| StartError::Decode(format!("journal entry {seq}: {e}")))?;
        replayed.push((
            *seq,
            if full {
                Vec::new()
            } else {
                delta.store.touched()
            },
            full,
        ));
        if full {
            causal.merge(delta);
        } else {
            causal.apply(delta);
        }
    }
    loaded.journal = Vec::new();
    let replayed_ms = began.elapsed().as_millis();
    causal.store.build_fit_index();
    if migrate {
        // Before anything is committed in the current schema (see `upgrade`).
        let bytes = snapshot::encode_snapshot(&causal).map_err(decode_err)?;
        store.write_snapshot(bytes, followed).await?;
        tracing::warn!(
            from_snapshot = snapshot_schema,
            from_journal = journal_schema,
            to = snapshot::SCHEMA_VERSION,
            "the store was written by an older schema; rewrote it as a snapshot in the current one"
        );
    }
    if let Some(hook) = config.on_loaded {
        hook();
    }
    let stored_feed = loaded
        .meta
        .get(META_FEED)
        .and_then(|f| String::from_utf8(f.clone()).ok())
        .filter(|f| !f.is_empty());
    let feed = stored_feed
        .clone()
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    let watch = crate::watch::Hub::start(
        config.watch.clone(),
        &causal.store,
        loaded.snapshot_seq,
        replayed,
    )
    .with_feed(feed.clone());
    tracing::info!(
        read_ms,
        decode_ms = decoded_ms - read_ms,
        journal_entries,
        replay_ms = replayed_ms - decoded_ms,
        fit_index_ms = began.elapsed().as_millis() - replayed_ms,
        "model loaded"
    );
    let replica = Replica::from_state(ReplicaId(id), causal);
    let limits = &config.gossip.limits;
    let sync_config = SyncConfig {
        max_message_bytes: limits.max_message,
        max_queued_bytes: limits.max_outbound_bytes,
        max_transfer_bytes: limits.max_transfer_bytes,
        max_full_transfers: limits.max_full_sends,
        schema_version: config.gossip.schema_version,
        incarnation,
        seed: rand::random(),
        ..SyncConfig::default()
    };
    let node = match loaded.meta.get(META_SYNC_STATE) {
        Some(b) => {
            let mut saved = wire::decode_sync_state(b, MAX_LOAD_PAYLOAD).map_err(decode_err)?;
            if migrate {
                saved.log = Default::default();
            }
            SyncNode::restore(replica, sync_config, saved)
        }
        None => SyncNode::new(replica, sync_config),
    };
    let (tokens, admin) = Tokens::load(&loaded.meta, config.admin_token.as_deref());
    let mut meta = vec![
        (META_REPLICA_ID.to_string(), Some(id.to_le_bytes().to_vec())),
        (
            META_INCARNATION.to_string(),
            Some(incarnation.to_le_bytes().to_vec()),
        ),
    ];
    meta.extend(admin.meta);
    meta.push(upgrade::meta());
    if stored_feed.is_none() {
        meta.push((META_FEED.to_string(), Some(feed.into_bytes())));
    }
    store
        .commit(Commit {
            delta: Vec::new(),
            meta,
        })
        .await?;
    let (tx, rx) = mpsc::channel(4096);
    let (changes, _) = broadcast::channel(1024);
    let shared = Arc::new(Shared {
        node: RwLock::new(node),
        store,
        writer: tx,
        changes,
        tokens: RwLock::new(tokens),
        ready: AtomicBool::new(false),
        gossip: Arc::new(crate::gossip::Gossip::new(config.gossip.clone())),
        watch: Arc::new(watch),
        follow: crate::follow::Position::new(followed),
        config,
    });
    let writer = tokio::spawn(writer::run(Arc::downgrade(&shared), rx));
    shared.ready.store(true, Ordering::Release);
    Ok(Started {
        state: shared,
        new_admin_token: admin.new_token,
        writer,
    })
}

impl Shared {
    /// The node, for reading the committed model.
    pub fn node(&self) -> RwLockReadGuard<'_, SyncNode<Model>> {
        self.node.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The node, for the writer.
    pub(crate) fn node_mut(&self) -> RwLockWriteGuard<'_, SyncNode<Model>> {
        self.node.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the committed model.
    pub fn read<T>(&self, f: impl FnOnce(&Model) -> T) -> T {
        f(self.node().replica().state())
    }

    /// True once the store is loaded, until shutdown begins.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Marks the server as no longer ready (shutdown began).
    pub fn set_unready(&self) {
        self.ready.store(false, Ordering::Release);
    }

    /// Queues a write for the writer and waits until it is durable and applied (or
    /// refused).
    pub async fn write(&self, job: WriteJob) -> Result<u64, ApiError> {
        let (job, reply) = job.with_reply();
        self.writer
            .send(job)
            .await
            .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
        reply
            .await
            .map_err(|_| ApiError::unavailable("the server is shutting down"))?
    }

    /// Queues a write without waiting for room or for its answer; false when the queue is
    /// full or the writer is gone.
    pub(crate) fn queue(&self, job: WriteJob) -> bool {
        self.writer.try_send(job).is_ok()
    }

    /// Saves the sync state and closes the store (at shutdown).
    pub async fn close(&self) -> Result<(), StoreError> {
        let saved = wire::encode_sync_state(&self.node().export())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store
            .commit(Commit {
                delta: Vec::new(),
                meta: vec![(META_SYNC_STATE.to_string(), Some(saved))],
            })
            .await?;
        self.store.close().await
    }
}
