//! The single writer: the one place where a change is validated, made durable, applied and
//! fanned out.
//!
//! `SyncNode::try_mutate` validates against the committed state only, so two changes pending
//! at once cannot see each other. The writer therefore takes queued jobs in batches in which
//! no two jobs share a *footprint key* (the entities a change reads for validation or
//! writes: its own id, the parents it references, and a coarse key such as `placement` or
//! `claims` for changes that read a whole pool). A job whose footprint meets the batch's is
//! deferred to the next batch, in order; a job without a footprint runs alone. Within a
//! batch every change is run through `try_mutate`, all deltas are handed to the store at
//! once (the store group-commits them into one durable transaction), then each is committed
//! on the node — or aborted when the store failed, answering 503 — and published on the
//! change feed. While a batch is being persisted the next one queues, so the group commit
//! grows with the load.

use crate::error::ApiError;
use crate::state::{Committed, META_SYNC_STATE, Shared};
use crate::store::Commit;
use horao_crdt::Tx;
use horao_crdt::sync::{Change, Pending};
use horao_crdt::{Timestamp, wire};
use horao_model::model::Model;
use horao_model::{Actor, snapshot};
use rand::RngCore;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// Most jobs in one batch.
const MAX_BATCH: usize = 512;

/// A model change: reads the committed model and returns the delta. It gets the committed
/// model, the actor, a timestamp, the wall clock in milliseconds, randomness and the
/// transaction. Every closure of that shape is one.
pub trait MutationFn:
    FnOnce(&Model, &Actor, Timestamp, u64, &mut dyn RngCore, &mut Tx) -> horao_model::Result<Model>
    + Send
    + 'static
{
}

impl<F> MutationFn for F where
    F: FnOnce(
            &Model,
            &Actor,
            Timestamp,
            u64,
            &mut dyn RngCore,
            &mut Tx,
        ) -> horao_model::Result<Model>
        + Send
        + 'static
{
}

/// A queued model change.
pub type Mutation = Box<dyn MutationFn>;

/// One queued write.
pub struct WriteJob {
    keys: Vec<String>,
    actor: Actor,
    mutation: Option<Mutation>,
    meta: Vec<(String, Option<Vec<u8>>)>,
    /// A change received from a peer, to persist and commit.
    received: Option<Pending<Model>>,
    /// Read the other servers' commits to a shared store (see [`crate::follow`]).
    follow: bool,
    reply: Option<oneshot::Sender<Result<u64, ApiError>>>,
}

impl std::fmt::Debug for WriteJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteJob")
            .field("keys", &self.keys)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

impl WriteJob {
    /// A model change by `actor` whose footprint is `keys` (empty: runs alone).
    pub fn mutate(actor: Actor, keys: Vec<String>, f: impl MutationFn) -> Self {
        Self {
            keys,
            actor,
            mutation: Some(Box::new(f)),
            meta: Vec::new(),
            received: None,
            follow: false,
            reply: None,
        }
    }

    /// A metadata change only (`key` names its footprint).
    pub fn meta(key: String, meta: Vec<(String, Option<Vec<u8>>)>) -> Self {
        Self {
            keys: vec![key],
            actor: Actor::Server,
            mutation: None,
            meta,
            received: None,
            follow: false,
            reply: None,
        }
    }

    /// A change received from a peer (see [`crate::gossip`]): persisted, then committed on
    /// the node (applied, logged, forwarded), or aborted if the store failed, so it stays
    /// unseen. Its footprint is its own: it validates nothing.
    pub fn received(pending: Pending<Model>) -> Self {
        Self {
            keys: vec![format!("peer-change/{}", pending.id())],
            actor: Actor::Server,
            mutation: None,
            meta: Vec::new(),
            received: Some(pending),
            follow: false,
            reply: None,
        }
    }

    /// Reads the other servers' commits to a shared store (runs alone).
    pub(crate) fn follow() -> Self {
        Self {
            keys: Vec::new(),
            actor: Actor::Server,
            mutation: None,
            meta: Vec::new(),
            received: None,
            follow: true,
            reply: None,
        }
    }

    pub(crate) fn with_reply(mut self) -> (Self, oneshot::Receiver<Result<u64, ApiError>>) {
        let (tx, rx) = oneshot::channel();
        self.reply = Some(tx);
        (self, rx)
    }

    fn answer(&mut self, r: Result<u64, ApiError>) {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(r);
        }
    }

    fn alone(&self) -> bool {
        self.keys.is_empty()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The writer task: runs until every sender is gone.
pub(crate) async fn run(shared: Weak<Shared>, mut rx: mpsc::Receiver<WriteJob>) {
    let mut deferred: VecDeque<WriteJob> = VecDeque::new();
    let mut compacting: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        let first = match deferred.pop_front() {
            Some(j) => j,
            None => match rx.recv().await {
                Some(j) => j,
                None => break,
            },
        };
        let batch = gather(first, &mut deferred, &mut rx);
        let Some(shared) = shared.upgrade() else {
            break;
        };
        process(&shared, batch).await;
        if compacting.as_ref().is_none_or(|h| h.is_finished()) {
            compacting = compact(&shared);
        }
    }
    if let Some(h) = compacting {
        let _ = h.await;
    }
}

/// A batch starting with `first`: later jobs whose footprints are disjoint from it.
fn gather(
    first: WriteJob,
    deferred: &mut VecDeque<WriteJob>,
    rx: &mut mpsc::Receiver<WriteJob>,
) -> Vec<WriteJob> {
    let closed = first.alone();
    let mut keys: HashSet<String> = first.keys.iter().cloned().collect();
    let mut batch = vec![first];
    let mut later = VecDeque::new();
    while batch.len() < MAX_BATCH {
        let job = match deferred.pop_front() {
            Some(j) => j,
            None => match rx.try_recv() {
                Ok(j) => j,
                Err(_) => break,
            },
        };
        if closed || job.alone() || job.keys.iter().any(|k| keys.contains(k)) {
            later.push_back(job);
        } else {
            keys.extend(job.keys.iter().cloned());
            batch.push(job);
        }
    }
    later.append(deferred);
    *deferred = later;
    batch
}

/// Reads and applies the other servers' commits to a shared store.
async fn follow(shared: &Arc<Shared>) {
    crate::follow::taken(shared);
    let caught = crate::follow::read(shared, &[], None).await;
    let mut published = Vec::new();
    let mut node = shared.node_mut();
    crate::follow::apply(shared, &mut node, caught, &mut published);
    shared.watch.publish(published);
}

/// Validates, persists, commits and answers one batch.
async fn process(shared: &Arc<Shared>, batch: Vec<WriteJob>) {
    if batch.len() == 1 && batch[0].follow {
        return follow(shared).await;
    }
    let mut staged: Vec<(WriteJob, Option<Pending<Model>>, Commit)> = Vec::new();
    {
        let mut node = shared.node_mut();
        let mut rng = rand::rng();
        for mut job in batch {
            if let Some(p) = job.received.take() {
                match p.stored() {
                    Ok(delta) => staged.push((
                        job,
                        Some(p),
                        Commit {
                            delta,
                            meta: Vec::new(),
                        },
                    )),
                    Err(e) => {
                        node.abort(p);
                        job.answer(Err(ApiError::internal(format!("encoding the change: {e}"))));
                    }
                }
                continue;
            }
            let Some(mutation) = job.mutation.take() else {
                let commit = Commit {
                    delta: Vec::new(),
                    meta: std::mem::take(&mut job.meta),
                };
                staged.push((job, None, commit));
                continue;
            };
            let now = now_ms();
            let result = node
                .now(now)
                .map_err(horao_model::Error::from)
                .and_then(|ts| {
                    let actor = job.actor.clone();
                    node.try_mutate(|m, tx| mutation(m, &actor, ts, now, &mut rng, tx))
                });
            let pending = match result {
                Ok(p) => p,
                Err(e) => {
                    job.answer(Err(e.into()));
                    continue;
                }
            };
            if pending.change().is_empty() && job.meta.is_empty() {
                // Nothing changes (an unchanged spec, an insignificant report): nothing to
                // commit.
                node.abort(pending);
                job.answer(Ok(0));
                continue;
            }
            match pending.stored() {
                Ok(delta) => {
                    let meta = std::mem::take(&mut job.meta);
                    staged.push((job, Some(pending), Commit { delta, meta }));
                }
                Err(e) => {
                    node.abort(pending);
                    job.answer(Err(ApiError::internal(format!("encoding the change: {e}"))));
                }
            }
        }
    }
    let handles: Vec<_> = staged
        .iter_mut()
        .map(|(_, _, c)| {
            let store = shared.store.clone();
            let commit = std::mem::take(c);
            tokio::spawn(async move {
                let t = Instant::now();
                let r = store.commit(commit).await;
                metrics::histogram!("horao_store_commit_seconds").record(t.elapsed().as_secs_f64());
                r
            })
        })
        .collect();
    let mut results = Vec::with_capacity(handles.len());
    for h in handles {
        results.push(match h.await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        });
    }
    // On a shared store, the others' commits below this batch's are read first, so the
    // feed's cursors only grow.
    let own: Vec<u64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let caught = match own.iter().max() {
        Some(&until) if shared.store.shared() => {
            Some(crate::follow::read(shared, &own, Some(until)).await)
        }
        _ => None,
    };
    let mut failed = Vec::new();
    let mut published = Vec::new();
    let mut node = shared.node_mut();
    let publish_own =
        caught.is_none_or(|c| crate::follow::apply(shared, &mut node, c, &mut published));
    for ((mut job, pending, _), result) in staged.into_iter().zip(results) {
        match (result, pending) {
            (Ok(seq), Some(p)) => {
                let touched = Arc::new(p.change().store.touched());
                let before = shared.watch.before(node.replica().state(), &touched);
                match node.commit(p) {
                    Ok(Change::Nothing) => job.answer(Ok(seq)),
                    Ok(change) => {
                        let full = change == Change::Full;
                        let state = node.replica().state();
                        if publish_own {
                            published.push(shared.watch.entry(seq, state, &touched, before, full));
                        }
                        let _ = shared.changes.send(Committed { seq, touched, full });
                        job.answer(Ok(seq));
                    }
                    Err(e) => job.answer(Err(ApiError::internal(e.to_string()))),
                }
            }
            (Ok(seq), None) => job.answer(Ok(seq)),
            (Err(e), p) => {
                tracing::error!(error = %e, "store commit failed");
                job.answer(Err(ApiError::unavailable(format!(
                    "the store failed; nothing was changed: {e}"
                ))));
                if let Some(p) = p {
                    failed.push(p);
                }
            }
        }
    }
    // Newest first, so the node takes back the counters the aborted changes minted.
    for p in failed.into_iter().rev() {
        node.abort(p);
    }
    // Still under the node's write lock: the feed's history agrees with the model.
    shared.watch.publish(published);
    drop(node);
    let stats = shared.store.stats();
    metrics::gauge!("horao_journal_entries").set(stats.entries as f64);
    metrics::gauge!("horao_journal_bytes").set(stats.bytes as f64);
}

/// Starts a background snapshot when the journal is long. The snapshot is encoded here,
/// between batches, so it covers exactly the journal up to the store's last sequence number.
fn compact(shared: &Arc<Shared>) -> Option<tokio::task::JoinHandle<()>> {
    let stats = shared.store.stats();
    if stats.entries <= shared.config.compact_entries.max(1) {
        return None;
    }
    let (snap, sync) = {
        let node = shared.node();
        (
            snapshot::encode_snapshot(node.replica().causal()),
            wire::encode_sync_state(&node.export()),
        )
    };
    // A shared store's snapshot covers only the commits this server has read.
    let upto = if shared.store.shared() {
        shared.follow.followed()
    } else {
        stats.last_seq
    };
    let store = shared.store.clone();
    Some(tokio::spawn(async move {
        let snap = match snap {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "encoding a snapshot failed");
                return;
            }
        };
        let t = Instant::now();
        if let Err(e) = store.write_snapshot(snap, upto).await {
            tracing::error!(error = %e, "writing a snapshot failed");
            return;
        }
        if let Ok(sync) = sync {
            let meta = vec![(META_SYNC_STATE.to_string(), Some(sync))];
            if let Err(e) = store
                .commit(Commit {
                    delta: Vec::new(),
                    meta,
                })
                .await
            {
                tracing::warn!(error = %e, "saving the sync state failed");
            }
        }
        tracing::info!(
            upto,
            seconds = t.elapsed().as_secs_f64(),
            "snapshot written"
        );
    }))
}
