//! The watch feed: `GET /api/v1/watch` upgrades to a websocket carrying every committed
//! change as `{cursor, kind, id, op, object}` records, resumable from a cursor (the store's
//! commit sequence number), filtered by the caller's role; and, with Redis, the same changes
//! appended to the Redis Stream `horao:events`.
//!
//! The writer hands every committed change to the [`Hub`] while it still holds the node's
//! write lock: the records (each touched entity's view after the change and who could see it
//! before and after) are rendered once, appended to the bounded [`history::History`], and the
//! new head cursor is announced. A snapshot is rendered under one read of the node, so it is
//! exactly the state at the head it reports. Watchers pull from the history at their own pace
//! (no per-watcher copy of the changes): one that falls behind the history's bound is told to
//! resync. Modules: [`history`], [`render`] (views, scopes, filters), [`socket`] (one
//! watcher's connection), [`route`] (the upgrade), [`events`] (the Redis Stream).

pub mod events;
pub mod history;
pub mod render;
pub mod route;
pub mod socket;

use history::{Before, Entry, History, Record};
use horao_model::model::{Model, Touched};
use render::Scope;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A change touching more entities than this (a full state merged from a peer touches them
/// all) is kept as a resync point rather than rendered record by record, under the writer's
/// lock.
pub const MAX_RECORDS: usize = 4096;

/// The feed's settings.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// A progress frame carries a watcher's cursor this often when nothing else was sent.
    pub progress_interval: Duration,
    /// Bytes of recent changes kept for watchers to resume from.
    pub history_bytes: usize,
    /// Most watchers at once (more are refused with 503).
    pub max_watchers: usize,
    /// Pings go this often; a watcher that has not answered within two, or whose send has
    /// not completed within two, is closed.
    pub ping_interval: Duration,
    /// Most bytes of changes one watcher takes from the history and renders before sending
    /// them (its send queue; a snapshot is sent in frames of about this size).
    pub queue_bytes: usize,
    /// Snapshots rendered at once, over all watchers.
    pub max_snapshots: usize,
    /// The Redis Stream of events, when the server runs with Redis.
    pub events: Option<events::EventsConfig>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            progress_interval: Duration::from_secs(5),
            history_bytes: 64 << 20,
            max_watchers: 1024,
            ping_interval: Duration::from_secs(15),
            queue_bytes: 256 << 10,
            max_snapshots: 4,
            events: None,
        }
    }
}

/// Counters of the feed, also published as metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatchStats {
    /// Watchers connected.
    pub watchers: usize,
    /// Bytes rendered for watchers and not yet handed to their sockets.
    pub buffered_bytes: usize,
    /// The most bytes one watcher ever held rendered and unsent at once.
    pub max_watcher_bytes: usize,
    /// Resyncs sent (cursor too old or ahead, full state merged, unknown visibility).
    pub resyncs: u64,
    /// Watchers closed because they stopped reading.
    pub stalled: u64,
    /// Entries and bytes in the history.
    pub history_entries: usize,
    /// Bytes in the history.
    pub history_bytes: usize,
    /// The oldest cursor a watcher may resume from.
    pub base: u64,
    /// The latest cursor.
    pub head: u64,
    /// Events appended to the Redis Stream.
    pub events_appended: u64,
    /// Events that could not be appended (Redis failed, or the publisher fell behind).
    pub events_failed: u64,
}

/// The feed's shared state: the history, the head cursor and the counters.
#[derive(Debug)]
pub struct Hub {
    /// Settings.
    pub config: WatchConfig,
    history: Mutex<History>,
    head: tokio::sync::watch::Sender<u64>,
    watchers: AtomicUsize,
    buffered: AtomicUsize,
    max_watcher_bytes: AtomicUsize,
    resyncs: AtomicU64,
    stalled: AtomicU64,
    events_appended: AtomicU64,
    events_failed: AtomicU64,
    snapshots: tokio::sync::Semaphore,
    /// The name of this feed's cursor space (see [`Hub::feed`]).
    feed: String,
}

/// A journal entry replayed at start-up: its cursor, what it touched, and whether it was a
/// full state.
pub type Replayed = (u64, Vec<Touched>, bool);

impl Hub {
    /// The hub at start-up: the history continues from `base` (the cursor the snapshot
    /// covers) and holds the journal entries replayed on top (`replayed`, in order), newest
    /// first up to the bound, rendered from `model` (the state after all of them: their
    /// `before` is unknown).
    pub fn start(config: WatchConfig, model: &Model, base: u64, replayed: Vec<Replayed>) -> Self {
        let mut entries = Vec::new();
        let mut bytes = 0;
        let mut from = base;
        for (cursor, touched, full) in replayed.into_iter().rev() {
            let unknown = std::iter::repeat_with(|| Before::Unknown);
            let entry = rendered(cursor, model, &touched, unknown, full);
            if bytes + entry.bytes() > config.history_bytes && !entries.is_empty() {
                from = cursor;
                break;
            }
            bytes += entry.bytes();
            entries.push(Arc::new(entry));
        }
        let mut history = History::new(from, config.history_bytes);
        for e in entries.into_iter().rev() {
            history.push(e);
        }
        let head = history.head();
        Self {
            snapshots: tokio::sync::Semaphore::new(config.max_snapshots.max(1)),
            config,
            history: Mutex::new(history),
            head: tokio::sync::watch::channel(head).0,
            watchers: AtomicUsize::new(0),
            buffered: AtomicUsize::new(0),
            max_watcher_bytes: AtomicUsize::new(0),
            resyncs: AtomicU64::new(0),
            stalled: AtomicU64::new(0),
            events_appended: AtomicU64::new(0),
            events_failed: AtomicU64::new(0),
            feed: String::new(),
        }
    }

    /// Names the feed's cursor space (kept in the store: the same across restarts, and for
    /// every server sharing one store).
    pub fn with_feed(mut self, feed: String) -> Self {
        self.feed = feed;
        self
    }

    /// The name of this feed's cursor space: a watcher resuming with a cursor of another
    /// feed (another server's, whose cursors count other commits) is resynced.
    pub fn feed(&self) -> &str {
        &self.feed
    }

    fn history(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who can see each of `touched` in `m`, the state before a change (the writer calls it
    /// before committing).
    pub fn before(&self, m: &Model, touched: &[Touched]) -> Vec<Option<Scope>> {
        if touched.len() > MAX_RECORDS {
            return Vec::new();
        }
        touched
            .iter()
            .map(|t| render::scope(m, t.kind, &t.id))
            .collect()
    }

    /// The entry of a change committed at `cursor`: `m` is the state after it, `before` what
    /// [`Hub::before`] returned.
    pub fn entry(
        &self,
        cursor: u64,
        m: &Model,
        touched: &[Touched],
        before: Vec<Option<Scope>>,
        full: bool,
    ) -> Entry {
        let before = before
            .into_iter()
            .map(|b| b.map_or(Before::Absent, Before::Known));
        rendered(cursor, m, touched, before, full)
    }

    /// Appends a batch's entries (in cursor order) and wakes the watchers. The writer calls
    /// it while it holds the node's write lock, so the history and the model agree for any
    /// reader of the node.
    pub fn publish(&self, mut entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        entries.sort_by_key(|e| e.cursor);
        let (head, size) = {
            let mut h = self.history();
            for e in entries {
                h.push(Arc::new(e));
            }
            (h.head(), h.size())
        };
        metrics::gauge!("horao_watch_history_entries").set(size.0 as f64);
        metrics::gauge!("horao_watch_history_bytes").set(size.1 as f64);
        self.head.send_replace(head);
    }

    /// The latest cursor.
    pub fn head(&self) -> u64 {
        self.history().head()
    }

    /// A receiver of the head cursor.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// The entries after `cursor` (about `budget` bytes).
    pub fn after(&self, cursor: u64, budget: usize) -> Result<Vec<Arc<Entry>>, history::Behind> {
        self.history().after(cursor, budget)
    }

    /// The counters.
    pub fn stats(&self) -> WatchStats {
        let h = self.history();
        let (history_entries, history_bytes) = h.size();
        WatchStats {
            watchers: self.watchers.load(Ordering::Relaxed),
            buffered_bytes: self.buffered.load(Ordering::Relaxed),
            max_watcher_bytes: self.max_watcher_bytes.load(Ordering::Relaxed),
            resyncs: self.resyncs.load(Ordering::Relaxed),
            stalled: self.stalled.load(Ordering::Relaxed),
            history_entries,
            history_bytes,
            base: h.base(),
            head: h.head(),
            events_appended: self.events_appended.load(Ordering::Relaxed),
            events_failed: self.events_failed.load(Ordering::Relaxed),
        }
    }

    /// A place for one more watcher, or `None` at the limit.
    pub fn admit(self: &Arc<Self>) -> Option<WatcherSlot> {
        let max = self.config.max_watchers;
        self.watchers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        metrics::gauge!("horao_watchers").increment(1.0);
        Some(WatcherSlot {
            hub: self.clone(),
            held: 0,
        })
    }

    fn count(&self, c: &AtomicU64, name: &'static str) {
        c.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(name).increment(1);
    }
}

/// The entry of a change at `cursor` (`m` the state after it, `before` what each touched
/// entity was before it): one record per touched entity that exists or existed, or none when
/// the change is a resync point (a merged full state, or more than [`MAX_RECORDS`] entities).
fn rendered(
    cursor: u64,
    m: &Model,
    touched: &[Touched],
    before: impl Iterator<Item = Before>,
    full: bool,
) -> Entry {
    let full = full || touched.len() > MAX_RECORDS;
    let records = if full {
        Vec::new()
    } else {
        touched
            .iter()
            .zip(before)
            .map(|(t, b)| record(m, t, b))
            .filter(|r| r.object.is_some() || r.before != Before::Absent)
            .collect()
    };
    Entry {
        cursor,
        records,
        full,
        ingested: false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use horao_model::model::EntityKind;

    #[test]
    fn large_changes_are_resync_points() {
        let hub = Hub::start(WatchConfig::default(), &Model::default(), 7, Vec::new());
        assert_eq!(hub.head(), 7);
        let touched = |n: usize| -> Vec<Touched> {
            (0..n)
                .map(|i| Touched {
                    kind: EntityKind::Datacenter,
                    id: format!("datacenter-{i:012x}"),
                })
                .collect()
        };
        let m = Model::default();
        let small = touched(3);
        let e = hub.entry(8, &m, &small, hub.before(&m, &small), false);
        assert!(!e.full);
        assert!(
            e.records.is_empty(),
            "nothing that exists before or after is recorded"
        );
        let large = touched(MAX_RECORDS + 1);
        assert!(hub.before(&m, &large).is_empty());
        let e = hub.entry(9, &m, &large, Vec::new(), false);
        assert!(e.full && e.records.is_empty());
        hub.publish(vec![e, hub.entry(8, &m, &small, Vec::new(), false)]);
        assert_eq!(hub.head(), 9, "a batch is appended in cursor order");
        let after: Vec<u64> = hub
            .after(7, usize::MAX)
            .unwrap()
            .iter()
            .map(|e| e.cursor)
            .collect();
        assert_eq!(after, vec![8, 9]);
    }
}

/// The view and scopes of `t` in `m`, as a record.
fn record(m: &Model, t: &Touched, before: Before) -> Record {
    let rendered = render::render(m, t.kind, &t.id);
    Record {
        kind: t.kind,
        id: t.id.clone(),
        object: rendered.as_ref().map(|r| r.json.clone()),
        after: rendered.map(|r| r.scope),
        before,
    }
}

/// One admitted watcher: counted until dropped, with the bytes it holds rendered and unsent.
#[derive(Debug)]
pub struct WatcherSlot {
    hub: Arc<Hub>,
    held: usize,
}

impl WatcherSlot {
    /// The hub.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// This watcher now holds `bytes` rendered and unsent.
    pub fn hold(&mut self, bytes: usize) {
        let hub = &self.hub;
        if bytes >= self.held {
            hub.buffered.fetch_add(bytes - self.held, Ordering::Relaxed);
        } else {
            hub.buffered.fetch_sub(self.held - bytes, Ordering::Relaxed);
        }
        self.held = bytes;
        hub.max_watcher_bytes.fetch_max(bytes, Ordering::Relaxed);
        metrics::gauge!("horao_watch_buffered_bytes")
            .set(hub.buffered.load(Ordering::Relaxed) as f64);
    }

    /// Counts a resync.
    pub fn resynced(&self) {
        self.hub
            .count(&self.hub.resyncs, "horao_watch_resyncs_total");
    }

    /// Counts a watcher closed for not reading.
    pub fn stalled(&self) {
        self.hub
            .count(&self.hub.stalled, "horao_watch_stalled_total");
    }
}

impl Drop for WatcherSlot {
    fn drop(&mut self) {
        self.hold(0);
        self.hub.watchers.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("horao_watchers").decrement(1.0);
    }
}
