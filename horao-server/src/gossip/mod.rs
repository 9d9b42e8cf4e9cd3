//! Gossip between servers over websockets: horao-crdt's sans-IO [`SyncNode`] wired to the
//! network.
//!
//! Peers connect on `GET /api/v1/gossip` ([`listener`]), authenticated with the cluster
//! secret, and this server dials each `--peer` URL ([`dialer`], reconnecting with capped,
//! jittered backoff from [`backoff`]). Both ends run the same loop ([`connection`]): hellos
//! first (replica id, incarnation, wire and schema versions; a mismatch is refused on both
//! sides), one connection per pair (when both dial, the connection dialed by the lower
//! replica id wins), then the sync node's digests, deltas and chunks. A received change is
//! handed to the server's single writer and committed durably before the node applies,
//! forwards or advertises it. Every bound is in [`limits`]; the admin's view of the cluster
//! and peer retirement are in [`routes`].
//!
//! [`SyncNode`]: horao_crdt::SyncNode

pub mod backoff;
pub(crate) mod connection;
pub(crate) mod dialer;
pub mod limits;
pub mod listener;
pub mod routes;
pub(crate) mod socket;
pub mod tls;

use crate::state::{AppState, META_SYNC_STATE};
use crate::writer::WriteJob;
use horao_crdt::ReplicaId;
use horao_crdt::wire;
use limits::Limits;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, Semaphore, watch};

/// Settings of the gossip.
#[derive(Clone, Debug)]
pub struct GossipConfig {
    /// Peers to dial (`ws://HOST:PORT/api/v1/gossip`).
    pub peers: Vec<String>,
    /// The secret peers present (`Authorization: Bearer SECRET`); without one (and without a
    /// peer token), the gossip endpoint accepts only peer tokens and nothing is dialed.
    pub secret: Option<String>,
    /// A peer token (minted on the peers with `{"role": "peer"}`) this server presents when
    /// it dials, instead of the cluster secret.
    pub peer_token: Option<String>,
    /// Whom `wss://` peers are trusted by (see [`tls::client_config`]); `None`: Mozilla's
    /// roots.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Anti-entropy: every connected peer gets this server's digest this often.
    pub interval: Duration,
    /// Pings go this often; a peer that has not answered the previous one is dropped, so a
    /// peer that stops reading is cut off within two intervals.
    pub ping_interval: Duration,
    /// The sync state (membership, peers' contexts, delta log) is saved this often when it
    /// changed (and whenever the membership changes).
    pub save_interval: Duration,
    /// Reconnect delays start here…
    pub backoff_base: Duration,
    /// …and double up to here.
    pub backoff_cap: Duration,
    /// Bounds.
    pub limits: Limits,
    /// The model's schema version this server announces at the handshake (the model's own;
    /// peers with another one are refused). Only a test of a rolling upgrade sets another.
    pub schema_version: u16,
}

impl Default for GossipConfig {
    fn default() -> Self {
        Self {
            peers: Vec::new(),
            secret: None,
            peer_token: None,
            tls: None,
            interval: Duration::from_secs(5),
            ping_interval: Duration::from_secs(5),
            save_interval: Duration::from_secs(30),
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(10),
            limits: Limits::default(),
            schema_version: horao_model::snapshot::SCHEMA_VERSION,
        }
    }
}

/// Handshakes refused lately (either side), kept for `/api/v1/cluster`.
pub const REFUSALS_KEPT: usize = 16;

/// A refused handshake.
#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    /// When (ms since the epoch).
    pub at_ms: u64,
    /// `dialed` when this server dialed the peer, `accepted` when the peer dialed.
    pub side: &'static str,
    /// The URL dialed, when this server dialed.
    pub url: Option<String>,
    /// The replica the peer's hello named, if it sent one.
    pub peer: Option<String>,
    /// Why (both versions, when they differ).
    pub reason: String,
}

/// A connection's state, as `/api/v1/cluster` shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    /// No connection.
    #[default]
    Disconnected,
    /// Dialing or waiting to redial.
    Connecting,
    /// A session is open.
    Connected,
}

/// What this server knows of one peer's connections: counters for `/api/v1/cluster`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PeerStats {
    /// The URL this server dials it at, if it does.
    pub url: Option<String>,
    /// The connection's state.
    pub state: ConnState,
    /// Whether this server dialed the open connection (else the peer did).
    pub dialed: Option<bool>,
    /// The peer's incarnation in the open (or last) session.
    pub incarnation: u64,
    /// When the open session started (ms since the epoch).
    pub connected_since_ms: Option<u64>,
    /// When a message last came from the peer (ms since the epoch).
    pub last_sync_ms: Option<u64>,
    /// Bytes received from it (websocket payloads).
    pub bytes_in: u64,
    /// Bytes sent to it.
    pub bytes_out: u64,
    /// Messages received, by kind.
    pub messages_in: BTreeMap<&'static str, u64>,
    /// Messages sent, by kind.
    pub messages_out: BTreeMap<&'static str, u64>,
    /// Full states sent to it (whole, or as a chunked transfer).
    pub full_states_sent: u64,
    /// Full states received from it and committed.
    pub full_states_received: u64,
    /// Deltas received from it and committed.
    pub deltas_received: u64,
    /// Times it was told "busy".
    pub busy_sent: u64,
    /// Sessions opened with it since this server started.
    pub sessions: u64,
    /// Why the last connection ended or failed.
    pub last_error: Option<String>,
}

/// A configured peer URL this server dials.
#[derive(Clone, Debug, Default)]
pub struct DialTarget {
    /// Its connection's state.
    pub state: ConnState,
    /// Why the last attempt or session ended.
    pub last_error: Option<String>,
    /// The replica behind it, once a handshake told.
    pub peer: Option<ReplicaId>,
}

/// The open connection of a peer.
#[derive(Debug)]
struct Active {
    conn: u64,
    /// Dialed by the lower replica id of the pair: the one both sides keep.
    preferred: bool,
    /// Tells the connection it was replaced.
    close: Arc<Notify>,
}

/// The gossip's shared state: open connections, per-peer counters, the wake-up of every
/// connection's writer, and the bound on received data waiting to be committed.
#[derive(Debug)]
pub struct Gossip {
    /// The settings.
    pub config: GossipConfig,
    active: Mutex<BTreeMap<ReplicaId, Active>>,
    stats: Mutex<BTreeMap<ReplicaId, PeerStats>>,
    /// Dial targets not yet identified by a handshake: URL → (state, last error).
    dials: Mutex<BTreeMap<String, DialTarget>>,
    /// The last [`REFUSALS_KEPT`] refused handshakes, oldest first.
    refusals: Mutex<std::collections::VecDeque<Refusal>>,
    /// Bumped whenever the node may have frames to send.
    wake: watch::Sender<u64>,
    /// Bumped whenever a connection opens or closes.
    conns_changed: watch::Sender<u64>,
    /// Set at shutdown.
    stop: watch::Sender<bool>,
    /// Bytes of received data waiting to be committed.
    pub(crate) incoming: Arc<Semaphore>,
    /// Full states being committed.
    pub(crate) full_states: Arc<Semaphore>,
    next_conn: AtomicU64,
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Gossip {
    /// The gossip state for `config` (nothing runs until [`start`]).
    pub fn new(config: GossipConfig) -> Self {
        let incoming = Arc::new(Semaphore::new(config.limits.max_incoming_bytes.max(1)));
        let full_states = Arc::new(Semaphore::new(config.limits.max_full_states.max(1)));
        Self {
            config,
            active: Mutex::default(),
            stats: Mutex::default(),
            dials: Mutex::default(),
            refusals: Mutex::default(),
            wake: watch::channel(0).0,
            conns_changed: watch::channel(0).0,
            stop: watch::channel(false).0,
            incoming,
            full_states,
            next_conn: AtomicU64::new(1),
        }
    }

    /// Wakes every connection's writer: the node may have frames for its peer.
    pub fn wake(&self) {
        self.wake.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(crate) fn subscribe_wake(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }

    pub(crate) fn subscribe_stop(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub(crate) fn subscribe_conns(&self) -> watch::Receiver<u64> {
        self.conns_changed.subscribe()
    }

    /// Ends every connection and dialer (at shutdown).
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// True once shutdown began.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    fn active(&self) -> std::sync::MutexGuard<'_, BTreeMap<ReplicaId, Active>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stats_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ReplicaId, PeerStats>> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn dials_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, DialTarget>> {
        self.dials.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when `peer` already has the connection both sides keep and a new one that is
    /// `preferred` or not would not replace it.
    pub(crate) fn would_duplicate(&self, peer: ReplicaId, preferred: bool) -> bool {
        self.active()
            .get(&peer)
            .is_some_and(|a| a.preferred && !preferred)
    }

    /// Gives `peer`'s connection slot to connection `conn`, telling the open one (if any)
    /// to close. Called with the node locked, so no other connection of the peer polls or
    /// handles in between.
    pub(crate) fn claim(&self, peer: ReplicaId, conn: u64, preferred: bool, close: Arc<Notify>) {
        let mut active = self.active();
        if let Some(a) = active.get(&peer) {
            a.close.notify_one();
        }
        active.insert(
            peer,
            Active {
                conn,
                preferred,
                close,
            },
        );
        drop(active);
        self.conns_changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// True while `conn` is `peer`'s connection (check it with the node locked before
    /// polling or handling for the peer).
    pub(crate) fn is_active(&self, peer: ReplicaId, conn: u64) -> bool {
        self.active().get(&peer).is_some_and(|a| a.conn == conn)
    }

    /// True while `peer` has an open connection.
    pub fn is_connected(&self, peer: ReplicaId) -> bool {
        self.active().contains_key(&peer)
    }

    /// Gives up `peer`'s slot if `conn` holds it; true when it did (the caller then
    /// disconnects the peer on the node, with the node locked).
    pub(crate) fn release(&self, peer: ReplicaId, conn: u64) -> bool {
        let mut active = self.active();
        let held = active.get(&peer).is_some_and(|a| a.conn == conn);
        if held {
            active.remove(&peer);
        }
        drop(active);
        if held {
            self.conns_changed.send_modify(|v| *v = v.wrapping_add(1));
        }
        held
    }

    /// Drops `peer`'s connection (retired).
    pub(crate) fn kick(&self, peer: ReplicaId) {
        if let Some(a) = self.active().get(&peer) {
            a.close.notify_one();
        }
    }

    /// Updates `peer`'s counters.
    pub(crate) fn with_stats<T>(&self, peer: ReplicaId, f: impl FnOnce(&mut PeerStats) -> T) -> T {
        f(self.stats_lock().entry(peer).or_default())
    }

    /// A copy of every peer's counters.
    pub fn stats(&self) -> BTreeMap<ReplicaId, PeerStats> {
        self.stats_lock().clone()
    }

    /// Records a dial target's state (and, once known, the replica behind it).
    pub(crate) fn dial_state(
        &self,
        url: &str,
        state: ConnState,
        error: Option<String>,
        peer: Option<ReplicaId>,
    ) {
        let mut dials = self.dials_lock();
        let e = dials.entry(url.to_string()).or_default();
        e.state = state;
        if error.is_some() {
            e.last_error = error;
        }
        if peer.is_some() {
            e.peer = peer;
        }
    }

    /// The dial targets by URL.
    pub fn dials(&self) -> BTreeMap<String, DialTarget> {
        self.dials_lock().clone()
    }

    /// Records a refused handshake (the oldest is dropped past [`REFUSALS_KEPT`]).
    pub(crate) fn refused(&self, refusal: Refusal) {
        let mut r = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() >= REFUSALS_KEPT {
            r.pop_front();
        }
        r.push_back(refusal);
    }

    /// The handshakes refused lately, oldest first.
    pub fn refusals(&self) -> Vec<Refusal> {
        let r = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        r.iter().cloned().collect()
    }
}

/// Saves the node's sync state through the writer (membership, peers' contexts, delta
/// log), so a restart answers lagging peers with deltas.
pub(crate) async fn save_sync_state(state: &AppState) {
    let saved = wire::encode_sync_state(&state.node().export());
    match saved {
        Ok(bytes) => {
            let job = WriteJob::meta(
                META_SYNC_STATE.to_string(),
                vec![(META_SYNC_STATE.to_string(), Some(bytes))],
            );
            if let Err(e) = state.write(job).await {
                tracing::warn!(error = %e, "saving the sync state failed");
            }
        }
        Err(e) => tracing::warn!(error = %e, "encoding the sync state failed"),
    }
}

/// Starts the gossip's background tasks: a dialer per configured peer, the anti-entropy
/// ticker (which also saves the sync state now and then and publishes the gossip's gauges),
/// and the task that wakes the connections after every commit.
pub fn start(state: &AppState) {
    let gossip = state.gossip.clone();
    if gossip.config.secret.is_some() || gossip.config.peer_token.is_some() {
        for url in gossip.config.peers.clone() {
            tokio::spawn(dialer::run(Arc::downgrade(state), url));
        }
    } else if !gossip.config.peers.is_empty() {
        tracing::error!(
            "peers are configured without a cluster secret or a peer token: not dialing them"
        );
    }
    // Every commit may have queued deltas for the peers.
    let mut changes = state.changes.subscribe();
    let g = gossip.clone();
    let mut stop = gossip.subscribe_stop();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                r = changes.recv() => match r {
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => g.wake(),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = stop.changed() => break,
            }
        }
    });
    let weak = Arc::downgrade(state);
    let mut stop = gossip.subscribe_stop();
    tokio::spawn(async move {
        let interval = gossip.config.interval.max(Duration::from_millis(10));
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut last_save = tokio::time::Instant::now();
        let mut saved_mark = (0u64, 0usize);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let Some(state) = weak.upgrade() else { break };
            let mark = {
                let mut node = state.node_mut();
                node.tick();
                let r = node.replica();
                metrics::gauge!("horao_delta_log_entries").set(r.log_len() as f64);
                metrics::gauge!("horao_delta_log_bytes").set(r.log_bytes() as f64);
                metrics::gauge!("horao_gossip_full_state_transfers")
                    .set(node.full_transfers() as f64);
                metrics::counter!("horao_gossip_full_states_deferred_total")
                    .absolute(node.deferred_full_states());
                (r.ctx().dot_count(), r.log_len())
            };
            gossip.wake();
            let connected = gossip.active().len();
            metrics::gauge!("horao_gossip_peers_connected").set(connected as f64);
            if last_save.elapsed() >= gossip.config.save_interval && mark != saved_mark {
                save_sync_state(&state).await;
                saved_mark = mark;
                last_save = tokio::time::Instant::now();
            }
        }
    });
}
