//! The embedded store: one redb file (`horao.redb`) in the data directory, written by one
//! writer thread that batches concurrent commits into one durable transaction (group commit).
//!
//! Tables: `journal` (sequence number → encoded delta), `meta` (key → bytes), `snapshot`
//! (chunk index → at most [`SNAPSHOT_CHUNK_BYTES`] of the snapshot) and `state` (the file
//! format, the last sequence number and the snapshot's header: the sequence number it covers,
//! its length and its chunk count). Every transaction that acknowledges a caller is committed
//! with [`Durability::Immediate`], so a commit returns only once it is on disk; redb's
//! copy-on-write commits make a crash leave either the old or the new state, and the integrity
//! check at open repairs what a crash left without any manual step.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use tokio::sync::{mpsc, oneshot};

use super::{Commit, JournalStats, Loaded, Store, StoreError, StoreFuture};

/// The file the store keeps in its directory.
pub const FILE_NAME: &str = "horao.redb";
/// The largest piece of a snapshot stored in one value.
pub const SNAPSHOT_CHUNK_BYTES: usize = 8 << 20;
/// How long the writer waits for the rest of a batch (see `next_request`).
const GATHER: Duration = Duration::from_micros(250);
/// The layout of the tables this build reads and writes.
const FORMAT: u64 = 1;

const JOURNAL: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("journal");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const SNAPSHOT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("snapshot");
const STATE: TableDefinition<'_, &str, u64> = TableDefinition::new("state");

const FORMAT_KEY: &str = "format";
const LAST_SEQ: &str = "last_seq";
const SNAPSHOT_SEQ: &str = "snapshot_seq";
const SNAPSHOT_LEN: &str = "snapshot_len";
const SNAPSHOT_CHUNKS: &str = "snapshot_chunks";

/// How an [`EmbeddedStore`] batches and queues its writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// Batch every commit waiting in the queue into one transaction (group commit). Off, each
    /// commit is its own transaction with its own fsync (kept for the benchmark comparison).
    pub group_commit: bool,
    /// Commits that may wait for the writer; a caller past this bound waits for room.
    pub queue_capacity: usize,
    /// The most commits written in one transaction.
    pub max_batch: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            group_commit: true,
            queue_capacity: 4096,
            max_batch: 4096,
        }
    }
}

/// What the writer thread is asked to do; each request carries where to send its answer.
enum Request {
    Commit(Commit, oneshot::Sender<Result<u64, StoreError>>),
    Snapshot(Vec<u8>, u64, oneshot::Sender<Result<(), StoreError>>),
}

/// The writer thread and the signal it gives when it has finished.
struct Writer {
    thread: JoinHandle<()>,
    done: oneshot::Receiver<()>,
}

/// The durable store in one redb file, with group commit. See the module documentation.
///
/// Dropping it without [`Store::close`] still answers every queued commit: the drop blocks
/// until the writer thread has drained its queue, so the file is released when it returns.
pub struct EmbeddedStore {
    sender: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<Writer>>,
    db: RwLock<Option<Arc<Database>>>,
    stats: Arc<Mutex<JournalStats>>,
    warnings: Vec<String>,
}

impl EmbeddedStore {
    /// Opens (creating it if needed) `dir/horao.redb`, checks its integrity (repairing what a
    /// crash left), validates the stored layout and starts the writer thread.
    pub fn open(dir: &Path, options: EmbeddedOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Embedded(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(FILE_NAME);
        let started = Instant::now();
        let db = Database::builder()
            .set_check_integrity_on_open(true)
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| match db_err(e) {
                StoreError::Embedded(msg) => {
                    StoreError::Embedded(format!("cannot open {}: {msg}", path.display()))
                }
                other => other,
            })?;
        tracing::info!(
            path = %path.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedded store opened; integrity check passed"
        );
        let stats = init(&db)?;
        let db = Arc::new(db);
        let (sender, receiver) = mpsc::channel(options.queue_capacity.max(1));
        let (done_tx, done) = oneshot::channel();
        let shared = Arc::new(Mutex::new(stats));
        let thread = {
            let db = Arc::clone(&db);
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("horao-store-writer".into())
                .spawn(move || {
                    run_writer(&db, receiver, &shared, options);
                    drop(db);
                    let _ = done_tx.send(());
                })
                .map_err(|e| StoreError::Embedded(format!("cannot start the writer thread: {e}")))?
        };
        Ok(Self {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(Writer { thread, done })),
            db: RwLock::new(Some(db)),
            stats: shared,
            warnings: Vec::new(),
        })
    }

    fn sender(&self) -> Result<mpsc::Sender<Request>, StoreError> {
        lock(&self.sender).clone().ok_or(StoreError::Closed)
    }

    fn database(&self) -> Result<Arc<Database>, StoreError> {
        self.db
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(StoreError::Closed)
    }

    /// Queues a request for the writer (waiting while the queue is full) and awaits its answer.
    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Request,
    ) -> Result<T, StoreError> {
        let sender = self.sender()?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(request(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        drop(sender);
        answer
            .await
            .map_err(|_| StoreError::Embedded("the writer stopped before answering".into()))?
    }

    /// Stops the writer once it has drained its queue; its handle if it was running.
    fn stop_writer(&self) -> Option<Writer> {
        drop(lock(&self.sender).take());
        lock(&self.writer).take()
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // Waits for the queued commits so the file is released when the store is gone.
        if let Some(writer) = self.stop_writer() {
            let _ = writer.thread.join();
        }
    }
}

impl Store for EmbeddedStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn load(&self) -> StoreFuture<'_, Loaded> {
        Box::pin(async move {
            let db = self.database()?;
            tokio::task::spawn_blocking(move || load(&db))
                .await
                .map_err(|e| StoreError::Embedded(format!("the load task failed: {e}")))?
        })
    }

    fn commit(&self, commit: Commit) -> StoreFuture<'_, u64> {
        Box::pin(self.ask(|reply| Request::Commit(commit, reply)))
    }

    fn write_snapshot(&self, snapshot: Vec<u8>, upto: u64) -> StoreFuture<'_, ()> {
        Box::pin(self.ask(move |reply| Request::Snapshot(snapshot, upto, reply)))
    }

    fn stats(&self) -> JournalStats {
        *lock(&self.stats)
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// Closing twice is harmless: the second close finds nothing to flush.
    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let writer = self.stop_writer();
            let result = match writer {
                Some(Writer { thread, done }) => {
                    // The writer signals once it has answered every queued request.
                    let _ = done.await;
                    thread
                        .join()
                        .map_err(|_| StoreError::Embedded("the writer thread panicked".into()))
                }
                None => Ok(()),
            };
            drop(
                self.db
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take(),
            );
            result
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Maps redb's errors: damaged or foreign files are [`StoreError::Corrupt`], the rest
/// [`StoreError::Embedded`].
fn db_err(error: impl Into<redb::Error>) -> StoreError {
    let error: redb::Error = error.into();
    match error {
        redb::Error::Corrupted(_)
        | redb::Error::UpgradeRequired(_)
        | redb::Error::TableTypeMismatch(_)
        | redb::Error::TableIsMultimap(_)
        | redb::Error::TableIsNotMultimap(_)
        | redb::Error::TypeDefinitionChanged(_)
        | redb::Error::TableDoesNotExist(_) => StoreError::Corrupt(error.to_string()),
        // redb reports a file that is not a database as invalid data.
        redb::Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            StoreError::Corrupt(e.to_string())
        }
        redb::Error::DatabaseAlreadyOpen => {
            StoreError::Embedded("the database is already open in another process".into())
        }
        other => StoreError::Embedded(other.to_string()),
    }
}

/// Creates the tables of a new file, checks the format of an old one and reads its sizes.
fn init(db: &Database) -> Result<JournalStats, StoreError> {
    let tx = db.begin_write().map_err(db_err)?;
    {
        let mut state = tx.open_table(STATE).map_err(db_err)?;
        let format = state.get(FORMAT_KEY).map_err(db_err)?.map(|v| v.value());
        match format {
            None => {
                state.insert(FORMAT_KEY, FORMAT).map_err(db_err)?;
            }
            Some(FORMAT) => {}
            Some(other) => {
                return Err(StoreError::Corrupt(format!(
                    "the file has format {other}; this build reads format {FORMAT}"
                )));
            }
        }
        tx.open_table(JOURNAL).map_err(db_err)?;
        tx.open_table(META).map_err(db_err)?;
        tx.open_table(SNAPSHOT).map_err(db_err)?;
    }
    tx.commit().map_err(db_err)?;

    let tx = db.begin_read().map_err(db_err)?;
    let state = tx.open_table(STATE).map_err(db_err)?;
    let header = Header::read(&state)?;
    let journal = tx.open_table(JOURNAL).map_err(db_err)?;
    let mut stats = header.stats();
    for entry in journal.iter().map_err(db_err)? {
        let (seq, delta) = entry.map_err(db_err)?;
        header.check_entry(seq.value())?;
        stats.entries += 1;
        stats.bytes += delta.value().len() as u64;
    }
    Ok(stats)
}

/// The scalars of the `state` table.
#[derive(Clone, Copy, Debug, Default)]
struct Header {
    last_seq: u64,
    /// The snapshot's covered sequence number, length and chunk count, if one was written.
    snapshot: Option<(u64, u64, u64)>,
}

impl Header {
    fn read(state: &impl ReadableTable<&'static str, u64>) -> Result<Self, StoreError> {
        let get = |key: &str| -> Result<Option<u64>, StoreError> {
            Ok(state.get(key).map_err(db_err)?.map(|v| v.value()))
        };
        let last_seq = get(LAST_SEQ)?.unwrap_or(0);
        let snapshot = match (
            get(SNAPSHOT_SEQ)?,
            get(SNAPSHOT_LEN)?,
            get(SNAPSHOT_CHUNKS)?,
        ) {
            (None, None, None) => None,
            (Some(seq), Some(len), Some(chunks)) => Some((seq, len, chunks)),
            _ => {
                return Err(StoreError::Corrupt(
                    "the snapshot header is incomplete".into(),
                ));
            }
        };
        let header = Self { last_seq, snapshot };
        if let Some((seq, len, chunks)) = snapshot {
            if seq > last_seq {
                return Err(StoreError::Corrupt(format!(
                    "the snapshot covers sequence {seq}, past the last commit {last_seq}"
                )));
            }
            if chunks != len.div_ceil(SNAPSHOT_CHUNK_BYTES as u64) {
                return Err(StoreError::Corrupt(format!(
                    "a snapshot of {len} bytes cannot have {chunks} chunks"
                )));
            }
        }
        Ok(header)
    }

    fn snapshot_seq(&self) -> u64 {
        self.snapshot.map_or(0, |(seq, _, _)| seq)
    }

    fn stats(&self) -> JournalStats {
        JournalStats {
            entries: 0,
            bytes: 0,
            last_seq: self.last_seq,
            snapshot_seq: self.snapshot_seq(),
            snapshot_bytes: self.snapshot.map_or(0, |(_, len, _)| len),
        }
    }

    /// A journal entry must come after the snapshot and not after the last commit.
    fn check_entry(&self, seq: u64) -> Result<(), StoreError> {
        if seq <= self.snapshot_seq() || seq > self.last_seq {
            return Err(StoreError::Corrupt(format!(
                "journal entry {seq} lies outside ({}, {}]",
                self.snapshot_seq(),
                self.last_seq
            )));
        }
        Ok(())
    }
}

/// redb's page cache. The model lives in memory and the file is read once, at start-up, and
/// then only appended to, so redb's default cache (1 GiB) would only keep the snapshot's pages
/// resident: with 32 MiB the started server holds about 70 MiB less (measured on the
/// goal-sized model, docs/PERFORMANCE.md).
const CACHE_BYTES: usize = 32 << 20;

/// Reads everything in one read transaction, so snapshot and journal agree.
fn load(db: &Database) -> Result<Loaded, StoreError> {
    let tx = db.begin_read().map_err(db_err)?;
    let header = Header::read(&tx.open_table(STATE).map_err(db_err)?)?;
    let snapshot = match header.snapshot {
        None => None,
        Some((_, len, chunks)) => {
            let table = tx.open_table(SNAPSHOT).map_err(db_err)?;
            // One allocation of the size the header gives (bounded: the header is data too).
            let mut bytes = Vec::with_capacity(usize::try_from(len.min(1 << 30)).unwrap_or(0));
            for index in 0..chunks {
                let chunk = table.get(index).map_err(db_err)?.ok_or_else(|| {
                    StoreError::Corrupt(format!("snapshot chunk {index} of {chunks} is missing"))
                })?;
                bytes.extend_from_slice(chunk.value());
            }
            if bytes.len() as u64 != len {
                return Err(StoreError::Corrupt(format!(
                    "the snapshot has {} bytes; its header says {len}",
                    bytes.len()
                )));
            }
            Some(bytes)
        }
    };
    let mut journal = Vec::new();
    for entry in tx
        .open_table(JOURNAL)
        .map_err(db_err)?
        .iter()
        .map_err(db_err)?
    {
        let (seq, delta) = entry.map_err(db_err)?;
        header.check_entry(seq.value())?;
        journal.push((seq.value(), delta.value().to_vec()));
    }
    let mut meta = BTreeMap::new();
    for entry in tx
        .open_table(META)
        .map_err(db_err)?
        .iter()
        .map_err(db_err)?
    {
        let (key, value) = entry.map_err(db_err)?;
        meta.insert(key.value().to_owned(), value.value().to_vec());
    }
    Ok(Loaded {
        snapshot,
        snapshot_seq: header.snapshot.map_or(0, |(seq, _, _)| seq),
        journal,
        meta,
    })
}

type CommitReply = oneshot::Sender<Result<u64, StoreError>>;

/// The writer thread: takes a request, drains what else waits (group commit), writes the
/// commits in one transaction and answers each caller once the transaction is durable.
fn run_writer(
    db: &Database,
    mut receiver: mpsc::Receiver<Request>,
    shared: &Mutex<JournalStats>,
    options: EmbeddedOptions,
) {
    let mut stats = *lock(shared);
    let mut batch: Vec<(Commit, CommitReply)> = Vec::new();
    let max_batch = options.max_batch.max(1);
    let mut last_batch = 0;
    while let Some(first) = receiver.blocking_recv() {
        let deadline = Instant::now() + GATHER;
        let mut next = Some(first);
        while let Some(request) = next.take() {
            match request {
                Request::Commit(commit, reply) => batch.push((commit, reply)),
                Request::Snapshot(bytes, upto, reply) => {
                    // Commits queued before the snapshot are written before it.
                    flush(db, &mut stats, &mut batch, shared);
                    let result = write_snapshot(db, &stats, &bytes, upto).map(|new| {
                        stats = new;
                        *lock(shared) = new;
                    });
                    let _ = reply.send(result);
                }
            }
            if options.group_commit && batch.len() < max_batch {
                next = next_request(&mut receiver, batch.len() < last_batch, deadline);
            }
        }
        last_batch = batch.len();
        flush(db, &mut stats, &mut batch, shared);
    }
}

/// The next waiting request, if any. While the batch is smaller than the last one, the callers
/// just answered are about to send their next commits: wait for them until `deadline`
/// (yielding the CPU to them), so batches do not shrink to one commit per fsync.
fn next_request(
    receiver: &mut mpsc::Receiver<Request>,
    wait: bool,
    deadline: Instant,
) -> Option<Request> {
    loop {
        match receiver.try_recv() {
            Ok(request) => return Some(request),
            Err(mpsc::error::TryRecvError::Empty) if wait && Instant::now() < deadline => {
                std::thread::yield_now();
            }
            Err(_) => return None,
        }
    }
}

/// Writes the batch in one transaction; if that fails, writes each commit on its own so one
/// bad commit fails alone.
fn flush(
    db: &Database,
    stats: &mut JournalStats,
    batch: &mut Vec<(Commit, CommitReply)>,
    shared: &Mutex<JournalStats>,
) {
    if batch.is_empty() {
        return;
    }
    let commits: Vec<&Commit> = batch.iter().map(|(commit, _)| commit).collect();
    match write_commits(db, stats, &commits) {
        Ok((new, seqs)) => {
            *stats = new;
            *lock(shared) = new;
            for ((_, reply), seq) in batch.drain(..).zip(seqs) {
                let _ = reply.send(Ok(seq));
            }
        }
        Err(error) if batch.len() == 1 => {
            tracing::warn!(%error, "embedded commit failed");
            if let Some((_, reply)) = batch.pop() {
                let _ = reply.send(Err(error));
            }
        }
        Err(error) => {
            tracing::warn!(%error, commits = batch.len(), "batched commit failed; retrying each");
            for (commit, reply) in batch.drain(..) {
                let result = write_commits(db, stats, &[&commit]).map(|(new, seqs)| {
                    *stats = new;
                    *lock(shared) = new;
                    seqs.first().copied().unwrap_or(new.last_seq)
                });
                let _ = reply.send(result);
            }
        }
    }
}

fn begin_durable(db: &Database) -> Result<WriteTransaction, StoreError> {
    let mut tx = db.begin_write().map_err(db_err)?;
    tx.set_durability(Durability::Immediate).map_err(db_err)?;
    Ok(tx)
}

/// Appends the commits' deltas (an empty delta takes a sequence number but no journal entry)
/// and applies their metadata, in order, in one durable transaction.
fn write_commits(
    db: &Database,
    stats: &JournalStats,
    commits: &[&Commit],
) -> Result<(JournalStats, Vec<u64>), StoreError> {
    let tx = begin_durable(db)?;
    let mut next = *stats;
    let mut seqs = Vec::with_capacity(commits.len());
    {
        let mut journal = tx.open_table(JOURNAL).map_err(db_err)?;
        let mut meta = tx.open_table(META).map_err(db_err)?;
        for commit in commits {
            next.last_seq = next
                .last_seq
                .checked_add(1)
                .ok_or_else(|| StoreError::Corrupt("the sequence number overflowed".into()))?;
            if !commit.delta.is_empty() {
                journal
                    .insert(next.last_seq, commit.delta.as_slice())
                    .map_err(db_err)?;
                next.entries += 1;
                next.bytes += commit.delta.len() as u64;
            }
            for (key, value) in &commit.meta {
                match value {
                    Some(value) => meta.insert(key.as_str(), value.as_slice()).map(drop),
                    None => meta.remove(key.as_str()).map(drop),
                }
                .map_err(db_err)?;
            }
            seqs.push(next.last_seq);
        }
        let mut state = tx.open_table(STATE).map_err(db_err)?;
        state.insert(LAST_SEQ, next.last_seq).map_err(db_err)?;
    }
    tx.commit().map_err(db_err)?;
    Ok((next, seqs))
}

/// Replaces the snapshot and drops the journal entries it covers, in one durable transaction.
/// A snapshot older than the stored one is ignored: replacing it would lose the entries the
/// stored one already dropped.
fn write_snapshot(
    db: &Database,
    stats: &JournalStats,
    bytes: &[u8],
    upto: u64,
) -> Result<JournalStats, StoreError> {
    if upto < stats.snapshot_seq {
        tracing::warn!(
            upto,
            stored = stats.snapshot_seq,
            "ignoring a snapshot older than the stored one"
        );
        return Ok(*stats);
    }
    let tx = begin_durable(db)?;
    let mut next = *stats;
    {
        tx.delete_table(SNAPSHOT).map_err(db_err)?;
        let mut table = tx.open_table(SNAPSHOT).map_err(db_err)?;
        let mut chunks = 0u64;
        for chunk in bytes.chunks(SNAPSHOT_CHUNK_BYTES) {
            table.insert(chunks, chunk).map_err(db_err)?;
            chunks += 1;
        }
        let mut journal = tx.open_table(JOURNAL).map_err(db_err)?;
        for entry in journal.range(..=upto).map_err(db_err)? {
            let (_, delta) = entry.map_err(db_err)?;
            next.entries = next.entries.saturating_sub(1);
            next.bytes = next.bytes.saturating_sub(delta.value().len() as u64);
        }
        journal.retain_in(..=upto, |_, _| false).map_err(db_err)?;
        next.last_seq = next.last_seq.max(upto);
        next.snapshot_seq = upto;
        next.snapshot_bytes = bytes.len() as u64;
        let mut state = tx.open_table(STATE).map_err(db_err)?;
        for (key, value) in [
            (LAST_SEQ, next.last_seq),
            (SNAPSHOT_SEQ, upto),
            (SNAPSHOT_LEN, bytes.len() as u64),
            (SNAPSHOT_CHUNKS, chunks),
        ] {
            state.insert(key, value).map_err(db_err)?;
        }
    }
    tx.commit().map_err(db_err)?;
    Ok(next)
}
