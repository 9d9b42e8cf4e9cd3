//! Following a shared store: the commits other servers make to the journal this server
//! shares with them (Redis, one node name each) are read, applied and published on the watch
//! feed at their own sequence numbers, so every server's feed has the same cursors.
//!
//! The writer reads the others' commits below its own before it publishes its own (so its
//! cursors only grow), and a trigger task asks it to read whenever another node announces a
//! commit, and once a second in case an announcement was missed. Those changes are durable
//! already: they are committed on the node without being written again. When a snapshot
//! dropped entries before they were read, the whole store is read again and merged (a
//! resync point on the feed); when a read fails, the feed gets a resync point at the next
//! successful one, so no change goes unseen by a watcher.

use crate::state::{AppState, Committed, Shared};
use crate::watch::history::Entry;
use crate::writer::WriteJob;
use horao_crdt::sync::Change;
use horao_crdt::{Causal, SyncNode, wire};
use horao_model::model::Model;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Most bytes of other servers' commits read at once.
const READ_BUDGET: usize = 4 << 20;
/// Most reads one follow job makes before it lets other writes through.
const MAX_READS: usize = 8;
/// Largest stored delta or snapshot decoded.
const MAX_PAYLOAD: usize = 1 << 30;
/// How often the journal is read even without an announcement.
const POLL: Duration = Duration::from_secs(1);

/// Where this server is in the shared journal.
#[derive(Debug, Default)]
pub struct Position {
    /// Every commit up to this sequence number is applied and published.
    followed: AtomicU64,
    /// A read failed after this server published past commits it had not read: the next
    /// successful read publishes a resync point.
    stale: AtomicBool,
    /// A follow job is queued.
    queued: AtomicBool,
}

impl Position {
    /// Starts at `followed` (the newest commit the start-up load read).
    pub fn new(followed: u64) -> Self {
        Self {
            followed: AtomicU64::new(followed),
            ..Self::default()
        }
    }

    /// Every commit up to this sequence number is applied and published.
    pub fn followed(&self) -> u64 {
        self.followed.load(Ordering::Acquire)
    }
}

/// One change read from the shared journal, decoded.
pub(crate) struct Read {
    seq: u64,
    change: Causal<Model>,
    full: bool,
}

/// What the reads brought, decoded, to apply under the node's lock.
#[derive(Default)]
pub(crate) struct Caught {
    reads: Vec<Read>,
    /// Every commit up to here was read (`None`: the read failed).
    upto: Option<u64>,
}

fn decode(seq: u64, bytes: &[u8]) -> Option<Read> {
    // A full state received from a peer is journalled as a state envelope.
    let full = bytes.get(6) == Some(&(wire::Kind::State as u8));
    let kind = if full {
        wire::Kind::State
    } else {
        wire::Kind::Delta
    };
    match wire::decode_causal(kind, bytes, MAX_PAYLOAD) {
        Ok(change) => Some(Read { seq, change, full }),
        Err(e) => {
            tracing::error!(seq, error = %e, "a journal entry of another server does not decode; skipped");
            metrics::counter!("horao_follow_undecodable_total").increment(1);
            None
        }
    }
}

/// Reads the other servers' commits after this server's position: up to `until` at least
/// (the newest of its own commits in this batch, `own`), or what there is for a follow job.
/// Own commits are skipped (the batch commits them). A batch whose commits directly follow
/// the position needs no read: nobody else committed in between.
pub(crate) async fn read(shared: &Shared, own: &[u64], until: Option<u64>) -> Caught {
    let position = &shared.follow;
    let mut after = position.followed();
    if let Some(until) = until {
        let mut sorted = own.to_vec();
        sorted.sort_unstable();
        if sorted
            .iter()
            .enumerate()
            .all(|(i, s)| *s == after + 1 + i as u64)
        {
            return Caught {
                reads: Vec::new(),
                upto: Some(until.max(after)),
            };
        }
    }
    let mut caught = Caught::default();
    let mut reached = false;
    for _ in 0..MAX_READS {
        let tail = match shared.store.read_after(after, READ_BUDGET).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "reading the other servers' commits failed");
                metrics::counter!("horao_follow_failures_total").increment(1);
                return Caught::default();
            }
        };
        if tail.gap {
            return reload(shared, after).await;
        }
        let got = !tail.entries.is_empty();
        caught.reads.extend(
            tail.entries
                .iter()
                .filter(|(seq, _)| !own.contains(seq))
                .filter_map(|(seq, bytes)| decode(*seq, bytes)),
        );
        after = after.max(tail.upto);
        reached = until.is_none_or(|u| after >= u);
        if reached && (until.is_some() || !got) {
            break;
        }
    }
    if !reached {
        // Too far behind to catch up before this batch is published: it is published as a
        // resync point by a later read.
        return Caught::default();
    }
    caught.upto = Some(after);
    caught
}

/// A snapshot replaced entries this server had not read: reads the whole store and merges
/// its snapshot, then the entries after `after`.
async fn reload(shared: &Shared, after: u64) -> Caught {
    metrics::counter!("horao_follow_reloads_total").increment(1);
    tracing::info!(
        after,
        "the journal was compacted past this server's position; reading the snapshot"
    );
    let loaded = match shared.store.load().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "reading the shared store failed");
            return Caught::default();
        }
    };
    let mut reads = Vec::new();
    let mut upto = loaded.snapshot_seq.max(after);
    if let Some(bytes) = &loaded.snapshot {
        match horao_model::snapshot::decode_snapshot(bytes, MAX_PAYLOAD) {
            Ok(change) => reads.push(Read {
                seq: loaded.snapshot_seq,
                change,
                full: true,
            }),
            Err(e) => {
                tracing::error!(error = %e, "the shared snapshot does not decode");
                return Caught::default();
            }
        }
    }
    for (seq, bytes) in &loaded.journal {
        upto = upto.max(*seq);
        if *seq > after {
            reads.extend(decode(*seq, bytes));
        }
    }
    Caught {
        reads,
        upto: Some(upto),
    }
}

/// Applies what was read (under the node's lock, before the batch's own changes are
/// published) and advances the position. Each change is published at its sequence number;
/// after a failed read, the next successful one publishes a resync point. Returns false when
/// the read failed: the batch's own changes must then not be published (their cursors would
/// pass commits not yet read).
pub(crate) fn apply(
    shared: &Shared,
    node: &mut SyncNode<Model>,
    caught: Caught,
    published: &mut Vec<Entry>,
) -> bool {
    let position = &shared.follow;
    let Some(upto) = caught.upto else {
        position.stale.store(true, Ordering::Release);
        return false;
    };
    for read in caught.reads {
        let touched = Arc::new(if read.full {
            Vec::new()
        } else {
            read.change.store.touched()
        });
        let before = shared.watch.before(node.replica().state(), &touched);
        let pending = match node.shared_change(read.change, read.full) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(seq = read.seq, error = %e, "encoding another server's change");
                continue;
            }
        };
        match node.commit(pending) {
            Ok(Change::Nothing) => {}
            Ok(change) => {
                let full = change == Change::Full;
                let state = node.replica().state();
                let mut entry = shared.watch.entry(read.seq, state, &touched, before, full);
                entry.ingested = true;
                published.push(entry);
                metrics::counter!("horao_follow_changes_total").increment(1);
                let _ = shared.changes.send(Committed {
                    seq: read.seq,
                    touched,
                    full,
                });
            }
            Err(e) => {
                tracing::error!(seq = read.seq, error = %e, "committing another server's change")
            }
        }
    }
    if position.stale.swap(false, Ordering::AcqRel) && upto > position.followed() {
        // Watchers may have missed changes read late: they resync at `upto`.
        let mut entry = shared
            .watch
            .entry(upto, node.replica().state(), &[], Vec::new(), true);
        entry.ingested = true;
        published.push(entry);
    }
    position.followed.fetch_max(upto, Ordering::AcqRel);
    true
}

/// Starts the task that queues a follow job when another node announces a commit past this
/// server's position, and once every [`POLL`] in any case.
pub(crate) fn start(state: &AppState) {
    let Some(mut announced) = state.store.announced() else {
        return;
    };
    let weak = Arc::downgrade(state);
    let mut stop = state.gossip.subscribe_stop();
    tokio::spawn(async move {
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let polled = tokio::select! {
                r = announced.changed() => {
                    if r.is_err() {
                        break;
                    }
                    false
                }
                _ = poll.tick() => true,
                _ = stop.changed() => break,
            };
            let Some(state) = weak.upgrade() else { break };
            let newer = *announced.borrow() > state.follow.followed();
            if (newer || polled)
                && !state.follow.queued.swap(true, Ordering::AcqRel)
                && !state.queue(WriteJob::follow())
            {
                state.follow.queued.store(false, Ordering::Release);
            }
        }
    });
}

/// The writer took the follow job.
pub(crate) fn taken(shared: &Shared) {
    shared.follow.queued.store(false, Ordering::Release);
}
