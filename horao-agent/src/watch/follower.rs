//! The follower: a thread that keeps the watch feed open, applies its frames to the
//! [`Tracker`] in a cell shared with the reconcile loop, and wakes the loop when the views
//! change. When the feed cannot be opened (a server without it answers 404, or the upgrade
//! is refused) or the connection breaks, the cell says the feed is down — the loop then polls
//! the REST API — and the follower tries again after a capped, jittered backoff. Reads time
//! out every [`Endpoint::read_timeout`], so the stop flag is seen promptly; a feed silent for
//! [`FollowerSettings::idle_timeout`] (the server sends progress and pings far more often) is
//! reopened.

use super::conn::{Endpoint, OpenError, Socket};
use super::feed::{Applied, FeedState, Tracker};
use super::frame;
use crate::metrics::Metrics;
use crate::server::retry::{Jitter, RetryPolicy};
use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tungstenite::Message;

/// How the follower retries and when it gives up on a silent feed.
#[derive(Clone, Debug)]
pub struct FollowerSettings {
    /// Delays between attempts to open the feed (`attempts` is not used: it retries until
    /// stopped).
    pub retry: RetryPolicy,
    /// A feed that sends nothing (not even a ping) for this long is reopened.
    pub idle_timeout: Duration,
}

impl Default for FollowerSettings {
    /// Retries from 1 s doubling to 60 s; reopens after 60 s of silence.
    fn default() -> Self {
        Self {
            retry: RetryPolicy {
                attempts: u32::MAX,
                base: Duration::from_secs(1),
                cap: Duration::from_secs(60),
            },
            idle_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    tracker: Tracker,
    connected: bool,
    /// Bumped whenever the views or the explicit deletes change.
    revision: u64,
}

/// The cell shared by the follower and the reconcile loop.
#[derive(Debug, Default)]
pub struct Shared {
    inner: Mutex<Inner>,
    changed: Condvar,
    stop: AtomicBool,
}

/// What the loop reads from the cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The feed is open and its state whole: the loop may use it instead of polling.
    pub live: bool,
    /// The state (the last one known, live or not).
    pub state: Option<FeedState>,
    /// The revision of the views and deletes.
    pub revision: u64,
}

impl Shared {
    /// A cell starting from a persisted state.
    pub fn new(saved: Option<FeedState>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                tracker: Tracker::new(saved),
                ..Inner::default()
            }),
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the feed is live, and its state.
    pub fn read(&self) -> Snapshot {
        let g = self.lock();
        let state = g.tracker.state().cloned();
        Snapshot {
            live: g.connected && state.is_some(),
            state,
            revision: g.revision,
        }
    }

    /// The cursor the persisted state would resume from, and the revision: cheap, for the
    /// loop to decide whether to persist.
    pub fn marks(&self) -> (Option<u64>, u64) {
        let g = self.lock();
        (g.tracker.state().map(|s| s.cursor), g.revision)
    }

    /// Waits up to `timeout` for a revision other than `seen`; returns the current one.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let g = self.lock();
        let (g, _) = self
            .changed
            .wait_timeout_while(g, timeout, |i| i.revision == seen)
            .unwrap_or_else(PoisonError::into_inner);
        g.revision
    }

    /// Forgets explicit deletes the agent has carried out.
    pub fn forget_deleted<'a>(&self, gone: impl IntoIterator<Item = &'a str>) {
        let mut g = self.lock();
        if g.tracker.forget_deleted(gone) {
            g.revision += 1;
        }
    }

    /// Asks the follower to stop (it sees it within one read timeout).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.changed.notify_all();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn set_connected(&self, connected: bool, resnapshot: bool) {
        let mut g = self.lock();
        g.connected = connected;
        if !connected {
            g.tracker.disconnected(resnapshot);
        }
        // Going down or up changes where the loop takes its desired state from.
        g.revision += 1;
        drop(g);
        self.changed.notify_all();
    }
}

/// Why a session on the feed ended.
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("the server closed the feed")]
    Closed,
    #[error("the feed was silent for {0:?}")]
    Idle(Duration),
    #[error("reading the feed: {0}")]
    Read(String),
    /// A frame that makes no sense: the next session starts from a snapshot.
    #[error("{0}")]
    Protocol(String),
    #[error("stopping")]
    Stopped,
}

/// The follower thread's handle: stops and joins it when dropped.
#[derive(Debug)]
pub struct Follower {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Starts following `endpoint` into `shared`, with jitter seeded by `seed`.
    pub fn start(
        endpoint: Endpoint,
        shared: Arc<Shared>,
        metrics: Arc<Metrics>,
        settings: FollowerSettings,
        seed: u64,
    ) -> std::io::Result<Self> {
        let cell = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || follow(&endpoint, &cell, &metrics, &settings, seed))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.shared.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sleeps `d` in short steps, returning early when stopping.
fn pause(shared: &Shared, d: Duration) {
    let end = Instant::now() + d;
    while !shared.stopping() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

fn follow(
    endpoint: &Endpoint,
    shared: &Shared,
    metrics: &Metrics,
    settings: &FollowerSettings,
    seed: u64,
) {
    let mut jitter = Jitter::new(seed);
    let mut failures: u32 = 0;
    while !shared.stopping() {
        let (since, feed) = {
            let g = shared.lock();
            (g.tracker.since(), g.tracker.feed().map(str::to_owned))
        };
        match endpoint.open(since, feed.as_deref()) {
            Ok(mut socket) => {
                tracing::info!(?since, "following the server's watch feed");
                shared.set_connected(true, false);
                metrics.record_feed_connected(true);
                let mut delivered = false;
                let end = session(&mut socket, shared, metrics, settings, &mut delivered);
                let _ = socket.close(None);
                let _ = socket.flush();
                let resnapshot = matches!(end, SessionEnd::Protocol(_));
                shared.set_connected(false, resnapshot);
                metrics.record_feed_connected(false);
                if matches!(end, SessionEnd::Stopped) {
                    return;
                }
                tracing::warn!(%end, "the watch feed ended; polling until it is back");
                if delivered {
                    failures = 0;
                }
            }
            Err(e @ OpenError::Refused { status: 404, .. }) => {
                tracing::warn!(%e, "the server has no watch feed; polling");
            }
            Err(e) => tracing::warn!(%e, "cannot open the watch feed; polling"),
        }
        let delay = jitter.delay(&settings.retry, failures);
        failures = failures.saturating_add(1);
        pause(shared, delay);
    }
}

fn session(
    socket: &mut Socket,
    shared: &Shared,
    metrics: &Metrics,
    settings: &FollowerSettings,
    delivered: &mut bool,
) -> SessionEnd {
    let mut last = Instant::now();
    loop {
        if shared.stopping() {
            return SessionEnd::Stopped;
        }
        let text = match socket.read() {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) => return SessionEnd::Closed,
            Ok(_) => {
                last = Instant::now();
                continue;
            }
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    // The read timeout, or a signal (SIGCHLD from btrfs-progs children).
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                if last.elapsed() > settings.idle_timeout {
                    return SessionEnd::Idle(settings.idle_timeout);
                }
                continue;
            }
            Err(e) => return SessionEnd::Read(e.to_string()),
        };
        last = Instant::now();
        let frame = match frame::parse(text.as_str()) {
            Ok(f) => f,
            Err(e) => return SessionEnd::Protocol(e.to_string()),
        };
        let mut g = shared.lock();
        match g.tracker.apply(frame) {
            Ok(Applied::Changed(n)) => {
                g.revision += 1;
                let cursor = g.tracker.since();
                drop(g);
                shared.changed.notify_all();
                metrics.record_feed_records(n as u64, cursor);
                *delivered = true;
            }
            Ok(Applied::Moved) => {
                let cursor = g.tracker.since();
                drop(g);
                metrics.record_feed_records(0, cursor);
                *delivered = true;
            }
            Ok(Applied::Resync) => {
                drop(g);
                tracing::info!("the watch feed asked for a resync; taking its snapshot");
                metrics.record_feed_resync();
            }
            Err(e) => return SessionEnd::Protocol(e.to_string()),
        }
    }
}
