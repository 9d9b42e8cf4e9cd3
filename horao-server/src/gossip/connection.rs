//! One gossip connection, the same on the dialing and the accepting side: hellos, the claim
//! of the pair's one connection, then three concurrent loops until any of them ends —
//!
//! - the reader: decodes each frame once; answers digests at once; queues data (deltas,
//!   chunks) for the applier under the server-wide byte bound, telling the peer "busy" and
//!   dropping the message when the bound is reached (it stays unseen: the peer's next
//!   answer to this server's digest brings it again);
//! - the applier: hands the node the queued data in order, sends the changes it yields to
//!   the server's single writer, and waits until they are durable and committed before it
//!   takes the next (a failed commit leaves them unseen and ends the connection);
//! - the writer: sends what the node queued for the peer whenever it is woken, pings every
//!   interval and drops a peer that has not answered the previous ping (so a peer that stops
//!   reading is cut within two intervals); every send has the same timeout.
//!
//! Frames that do not decode, oversized frames (refused by the websocket layer) and
//! unexpected text end the connection with a log line; nothing a peer sends can crash the
//! server.

use super::socket::{Socket, WsMsg};
use super::{ConnState, Gossip, now_ms, save_sync_state};
use crate::state::AppState;
use crate::writer::WriteJob;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use horao_crdt::sync::{Handshake, Message, Validated};
use horao_crdt::{ReplicaId, wire};
use horao_model::model::Model;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc};

/// Which end of the connection this server is.
#[derive(Clone, Debug)]
pub(crate) enum Side {
    /// This server dialed `url`.
    Dialed {
        /// The peer's URL.
        url: String,
    },
    /// The peer dialed this server.
    Accepted,
}

/// How a connection ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A session with `peer` ran for `lasted`, then ended for `reason`.
    Session {
        peer: ReplicaId,
        lasted: Duration,
        reason: String,
    },
    /// The pair already has the connection both sides keep.
    Duplicate(ReplicaId),
    /// The handshake failed (versions, identity, a peer that is not a peer).
    Refused(String),
}

/// What the handshake opened.
enum Opened {
    Duplicate(ReplicaId),
    Refused(horao_crdt::sync::Refused),
    Open(horao_crdt::sync::Accepted),
}

/// Close codes this server sends.
pub(crate) mod code {
    /// Shutting down.
    pub(crate) const GOING_AWAY: u16 = 1001;
    /// Garbage or a protocol violation.
    pub(crate) const POLICY: u16 = 1008;
    /// The pair already has its connection.
    pub(crate) const DUPLICATE: u16 = 4001;
    /// The handshake was refused.
    pub(crate) const REFUSED: u16 = 4002;
    /// Replaced by another connection of the same peer, or the peer was retired.
    pub(crate) const REPLACED: u16 = 4003;
    /// A fault on this side (a failed commit, a stalled peer).
    pub(crate) const ERROR: u16 = 1011;
}

/// Why a session ended: the close code to send and the reason to log.
struct End {
    code: u16,
    reason: String,
}

impl End {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// The "busy" control message.
const BUSY: &str = r#"{"busy":true}"#;

/// The message kinds, as metrics and counters name them.
fn kind_of(m: &Message<Model>) -> &'static str {
    match m {
        Message::Digest(_) => "digest",
        Message::Deltas(..) => "deltas",
        Message::Full(..) => "full",
        Message::Chunk(_) => "chunk",
    }
}

/// Reads a bincode varint at `*at`.
fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let first = *b.get(*at)?;
    *at += 1;
    let n = match first {
        0..=250 => return Some(u64::from(first)),
        251 => 2,
        252 => 4,
        253 => 8,
        _ => return None,
    };
    let bytes = b.get(*at..*at + n)?;
    *at += n;
    let mut v = [0u8; 8];
    v.get_mut(..n)?.copy_from_slice(bytes);
    Some(u64::from_le_bytes(v))
}

/// The kind of an encoded message, and whether it is (or starts the transfer of) a full
/// state, read from the envelope's tag without decoding the message.
pub(crate) fn frame_kind(f: &[u8]) -> (&'static str, bool) {
    let h = wire::HEADER_LEN;
    match f.get(h) {
        Some(0) => ("digest", false),
        Some(1) => ("deltas", false),
        Some(2) => ("full", true),
        Some(3) => {
            // transfer, offset, total, then the bytes (length and content).
            let mut at = h + 1;
            let full = (|| {
                varint(f, &mut at)?;
                let offset = varint(f, &mut at)?;
                varint(f, &mut at)?;
                varint(f, &mut at)?;
                Some(offset == 0 && f.get(at + h) == Some(&2))
            })()
            .unwrap_or(false);
            ("chunk", full)
        }
        _ => ("unknown", false),
    }
}

fn count(peer: ReplicaId, direction: &'static str, kind: &'static str, bytes: usize) {
    let labels = [
        ("peer", peer.to_string()),
        ("direction", direction.to_string()),
        ("kind", kind.to_string()),
    ];
    metrics::counter!("horao_gossip_messages_total", &labels).increment(1);
    metrics::counter!("horao_gossip_bytes_total", &labels).increment(bytes as u64);
}

/// Sends `m` within `limit`.
async fn send<S: Socket>(
    sink: &mut futures_util::stream::SplitSink<S, WsMsg>,
    m: WsMsg,
    limit: Duration,
) -> Result<(), End> {
    match tokio::time::timeout(limit, sink.send(m)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(End::new(code::ERROR, format!("sending failed: {e}"))),
        Err(_) => Err(End::new(
            code::ERROR,
            "a send did not complete within the ping interval: the peer stopped reading",
        )),
    }
}

/// Runs one connection until it ends.
pub(crate) async fn run<S: Socket>(state: AppState, socket: S, side: Side) -> Outcome {
    let gossip = state.gossip.clone();
    let limits = gossip.config.limits.clone();
    let (mut sink, mut stream) = socket.split();
    let (hello, me) = {
        let node = state.node();
        (node.hello(), node.hello_message())
    };
    let hello = match hello {
        Ok(h) => h,
        Err(e) => return Outcome::Refused(format!("encoding the hello: {e}")),
    };
    if let Err(e) = send(
        &mut sink,
        WsMsg::Binary(Bytes::from_owner(hello)),
        limits.handshake_timeout,
    )
    .await
    {
        return Outcome::Refused(e.reason);
    }
    // The peer's hello (pings and pongs may come first).
    let first = tokio::time::timeout(limits.handshake_timeout, async {
        loop {
            match stream.next().await {
                Some(Ok(WsMsg::Binary(b))) => return Ok(b),
                Some(Ok(WsMsg::Ping(_) | WsMsg::Pong(_))) => continue,
                Some(Ok(WsMsg::Close(c))) => {
                    return Err(match c {
                        Some((code, reason)) => format!("closed by the peer ({code}): {reason}"),
                        None => "closed by the peer".to_string(),
                    });
                }
                Some(Ok(WsMsg::Text(_))) => return Err("text before the hello".to_string()),
                Some(Err(e)) => return Err(e.0),
                None => return Err("closed before the hello".to_string()),
            }
        }
    })
    .await;
    let first = match first {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let _ = close(&mut sink, code::POLICY, &e).await;
            return Outcome::Refused(e);
        }
        Err(_) => {
            let e = "no hello within the handshake timeout".to_string();
            let _ = close(&mut sink, code::POLICY, &e).await;
            return Outcome::Refused(e);
        }
    };
    let hs = match wire::decode_handshake(&first) {
        Ok(h) => h,
        Err(e) => {
            let e = format!("the first frame is not a hello: {e}");
            tracing::warn!(side = ?side, "gossip: {e}");
            let _ = close(&mut sink, code::POLICY, &e).await;
            return Outcome::Refused(e);
        }
    };
    let conn = gossip.next_conn_id();
    let replaced = Arc::new(Notify::new());
    let named = match &hs {
        Handshake::Hello(h) => Some(h.replica),
        Handshake::Refuse(_) => None,
    };
    let opened = {
        let mut node = state.node_mut();
        let id = node.id();
        let pair = match &hs {
            Handshake::Hello(h) if h.replica != id => {
                let dialer = match side {
                    Side::Dialed { .. } => id,
                    Side::Accepted => h.replica,
                };
                Some((h.replica, dialer == id.min(h.replica)))
            }
            _ => None,
        };
        match pair {
            Some((peer, preferred)) if gossip.would_duplicate(peer, preferred) => {
                Opened::Duplicate(peer)
            }
            _ => match node.handle_handshake(hs) {
                Err(r) => Opened::Refused(r),
                Ok(acc) => {
                    let preferred = pair.is_some_and(|p| p.1);
                    gossip.claim(acc.peer, conn, preferred, replaced.clone());
                    Opened::Open(acc)
                }
            },
        }
    };
    let acc = match opened {
        Opened::Duplicate(peer) => {
            tracing::debug!(%peer, "gossip: the pair already has its connection");
            let _ = close(
                &mut sink,
                code::DUPLICATE,
                "duplicate: the pair keeps the connection dialed by the lower replica id",
            )
            .await;
            return Outcome::Duplicate(peer);
        }
        Opened::Refused(refused) => {
            let e = refused.error.to_string();
            tracing::error!(side = ?side, "gossip handshake refused: {e}");
            gossip.refused(super::Refusal {
                at_ms: super::now_ms(),
                side: match side {
                    Side::Dialed { .. } => "dialed",
                    Side::Accepted => "accepted",
                },
                url: match &side {
                    Side::Dialed { url } => Some(url.clone()),
                    Side::Accepted => None,
                },
                peer: named.map(|p| p.0.to_string()),
                reason: e.clone(),
            });
            if let Some(reply) = refused.reply {
                let _ = send(
                    &mut sink,
                    WsMsg::Binary(Bytes::from_owner(reply)),
                    limits.handshake_timeout,
                )
                .await;
            }
            let _ = close(&mut sink, code::REFUSED, &e).await;
            return Outcome::Refused(e);
        }
        Opened::Open(acc) => acc,
    };
    let peer = acc.peer;
    let started = Instant::now();
    gossip.with_stats(peer, |s| {
        s.state = ConnState::Connected;
        s.incarnation = acc.incarnation;
        s.sessions += 1;
        s.connected_since_ms = Some(now_ms());
        s.last_sync_ms = Some(now_ms());
        s.dialed = Some(matches!(side, Side::Dialed { .. }));
        if let Side::Dialed { url } = &side {
            s.url = Some(url.clone());
        }
    });
    tracing::info!(%peer, incarnation = acc.incarnation, restarted = acc.replaced, side = ?side, "gossip session open");
    if acc.membership.is_some() {
        let st = state.clone();
        tokio::spawn(async move { save_sync_state(&st).await });
    }
    gossip.wake();

    let session = Session {
        state: state.clone(),
        gossip: gossip.clone(),
        peer,
        conn,
        me,
        ping_outstanding: AtomicU64::new(0),
        owe_digest: AtomicBool::new(false),
        epoch: Instant::now(),
    };
    let (apply_tx, apply_rx) = mpsc::unbounded_channel();
    let (ctl_tx, ctl_rx) = mpsc::channel::<WsMsg>(16);
    let mut stop = gossip.subscribe_stop();
    let end = {
        let reader = session.reader(&mut stream, apply_tx, ctl_tx.clone());
        let applier = session.applier(apply_rx, ctl_tx);
        let writer = session.writer(&mut sink, ctl_rx);
        tokio::select! {
            r = reader => r,
            r = applier => r,
            r = writer => r,
            _ = replaced.notified() => End::new(code::REPLACED, "replaced by another connection of the peer, or retired"),
            _ = stopped(&mut stop) => End::new(code::GOING_AWAY, "this server is stopping"),
        }
    };
    {
        let mut node = state.node_mut();
        if gossip.release(peer, conn) {
            node.disconnect(peer);
            gossip.with_stats(peer, |s| {
                s.state = ConnState::Disconnected;
                s.connected_since_ms = None;
            });
        }
    }
    gossip.with_stats(peer, |s| s.last_error = Some(end.reason.clone()));
    if end.code == code::POLICY {
        tracing::warn!(%peer, reason = %end.reason, "gossip: dropped a misbehaving peer");
    } else {
        tracing::info!(%peer, reason = %end.reason, "gossip session closed");
    }
    let _ = close(&mut sink, end.code, &end.reason).await;
    Outcome::Session {
        peer,
        lasted: started.elapsed(),
        reason: end.reason,
    }
}

/// Resolves once the server is stopping.
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    fn set(stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
        *stop.borrow_and_update()
    }
    while !set(stop) {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Sends a close frame (best effort, briefly).
async fn close<S: Socket>(
    sink: &mut futures_util::stream::SplitSink<S, WsMsg>,
    code: u16,
    reason: &str,
) -> Result<(), End> {
    // A close reason is at most 123 bytes.
    let mut reason = reason.to_string();
    while reason.len() > 120 {
        reason.pop();
    }
    let r = send(
        sink,
        WsMsg::Close(Some((code, reason))),
        Duration::from_secs(1),
    )
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    r
}

/// What the three loops of a session share.
struct Session {
    state: AppState,
    gossip: Arc<Gossip>,
    peer: ReplicaId,
    conn: u64,
    me: horao_crdt::sync::Hello,
    /// When the unanswered ping was sent (ms since `epoch`, plus one); 0 when none is.
    ping_outstanding: AtomicU64,
    /// A message was dropped as "busy": send this server's digest once the queue drains.
    owe_digest: AtomicBool,
    epoch: Instant,
}

type Queued = (Validated<Message<Model>>, OwnedSemaphorePermit);

impl Session {
    async fn reader<S: Socket>(
        &self,
        stream: &mut futures_util::stream::SplitStream<S>,
        apply: mpsc::UnboundedSender<Queued>,
        ctl: mpsc::Sender<WsMsg>,
    ) -> End {
        let limits = &self.gossip.config.limits;
        let budget = limits.max_incoming_bytes.max(1);
        loop {
            let msg = match stream.next().await {
                None => return End::new(code::ERROR, "the connection closed"),
                Some(Err(e)) => {
                    let code = if e.1 { code::POLICY } else { code::ERROR };
                    return End::new(code, format!("the websocket failed: {}", e.0));
                }
                Some(Ok(m)) => m,
            };
            match msg {
                WsMsg::Binary(b) => {
                    self.gossip.with_stats(self.peer, |s| {
                        s.bytes_in += b.len() as u64;
                        s.last_sync_ms = Some(now_ms());
                    });
                    let v = match wire::decode_message::<Model>(&b, limits.max_message) {
                        Ok(v) => v,
                        Err(e) => {
                            if let Ok(Handshake::Refuse(r)) = wire::decode_handshake(&b) {
                                let e = r.error(&self.me);
                                tracing::error!(peer = %self.peer, "gossip: the peer refused this server: {e}");
                                return End::new(
                                    code::REFUSED,
                                    format!("refused by the peer: {e}"),
                                );
                            }
                            return End::new(code::POLICY, format!("undecodable message: {e}"));
                        }
                    };
                    let kind = kind_of(v.message());
                    count(self.peer, "in", kind, b.len());
                    self.gossip.with_stats(self.peer, |s| {
                        *s.messages_in.entry(kind).or_default() += 1;
                    });
                    if let Message::Digest(_) = v.message() {
                        let r = {
                            let mut node = self.state.node_mut();
                            if !self.gossip.is_active(self.peer, self.conn) {
                                return End::new(code::REPLACED, "replaced");
                            }
                            node.handle(self.peer, v, now_ms())
                        };
                        if let Err(e) = r {
                            return End::new(code::POLICY, format!("handling a digest: {e}"));
                        }
                        self.gossip.wake();
                        continue;
                    }
                    let cost = u32::try_from(b.len().clamp(1, budget)).unwrap_or(u32::MAX);
                    match self.gossip.incoming.clone().try_acquire_many_owned(cost) {
                        Ok(permit) => {
                            if apply.send((v, permit)).is_err() {
                                return End::new(code::ERROR, "the applier stopped");
                            }
                        }
                        Err(_) => {
                            self.owe_digest.store(true, Ordering::Release);
                            self.gossip.with_stats(self.peer, |s| s.busy_sent += 1);
                            metrics::counter!("horao_gossip_busy_total", "peer" => self.peer.to_string()).increment(1);
                            tracing::debug!(peer = %self.peer, "gossip: incoming queue full, busy");
                            let _ = ctl.try_send(WsMsg::Text(BUSY.to_string()));
                        }
                    }
                }
                WsMsg::Text(t) => {
                    if t == BUSY {
                        tracing::debug!(peer = %self.peer, "gossip: the peer is busy");
                        metrics::counter!("horao_gossip_peer_busy_total", "peer" => self.peer.to_string()).increment(1);
                    } else {
                        return End::new(code::POLICY, "unexpected text frame");
                    }
                }
                WsMsg::Ping(_) => {}
                WsMsg::Pong(_) => self.ping_outstanding.store(0, Ordering::Release),
                WsMsg::Close(c) => {
                    return End::new(
                        code::GOING_AWAY,
                        match c {
                            Some((code, reason)) => {
                                format!("closed by the peer ({code}): {reason}")
                            }
                            None => "closed by the peer".to_string(),
                        },
                    );
                }
            }
        }
    }

    async fn applier(
        &self,
        mut rx: mpsc::UnboundedReceiver<Queued>,
        ctl: mpsc::Sender<WsMsg>,
    ) -> End {
        loop {
            let Some(first) = rx.recv().await else {
                return End::new(code::ERROR, "the reader stopped");
            };
            let mut batch = vec![first];
            while batch.len() < 256 {
                match rx.try_recv() {
                    Ok(q) => batch.push(q),
                    Err(_) => break,
                }
            }
            let mut permits = Vec::with_capacity(batch.len());
            let mut jobs = Vec::new();
            let mut stamps = Vec::new();
            {
                let mut node = self.state.node_mut();
                if !self.gossip.is_active(self.peer, self.conn) {
                    return End::new(code::REPLACED, "replaced");
                }
                for (v, permit) in batch {
                    permits.push(permit);
                    match node.handle(self.peer, v, now_ms()) {
                        Ok(h) => {
                            if let Some(e) = h.clock_error {
                                tracing::warn!(peer = %self.peer, "gossip: the peer's clock is too far ahead: {e}");
                            }
                            if let Some(p) = h.pending {
                                if !p.is_full_state() {
                                    stamps.extend(h.stamp);
                                }
                                jobs.push(p);
                            }
                        }
                        Err(e) => {
                            return End::new(code::POLICY, format!("handling a message: {e}"));
                        }
                    }
                }
            }
            self.gossip.wake();
            let mut full_permits = Vec::new();
            let (mut deltas, mut fulls) = (0u64, 0u64);
            for p in &jobs {
                if p.is_full_state() {
                    fulls += 1;
                    if let Ok(permit) = self.gossip.full_states.clone().acquire_owned().await {
                        full_permits.push(permit);
                    }
                } else {
                    deltas += 1;
                }
            }
            let writes = jobs
                .into_iter()
                .map(|p| self.state.write(WriteJob::received(p)));
            let results = futures_util::future::join_all(writes).await;
            drop(full_permits);
            drop(permits);
            if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
                tracing::error!(peer = %self.peer, error = %e, "gossip: committing a change from the peer failed; it stays unseen");
                return End::new(code::ERROR, format!("committing a change failed: {e}"));
            }
            // From the origin's commit (the delta's clock) to its durable commit here.
            let now = now_ms();
            for stamp in stamps {
                let ms = now.saturating_sub(stamp.physical());
                metrics::histogram!("horao_gossip_replication_seconds").record(ms as f64 / 1e3);
            }
            self.gossip.with_stats(self.peer, |s| {
                s.deltas_received += deltas;
                s.full_states_received += fulls;
            });
            if fulls > 0 {
                metrics::counter!("horao_gossip_full_states_received_total", "peer" => self.peer.to_string()).increment(fulls);
            }
            if rx.is_empty() && self.owe_digest.swap(false, Ordering::AcqRel) {
                let digest = {
                    let node = self.state.node();
                    wire::encode_message(&Message::<Model>::Digest(node.replica().ctx().clone()))
                };
                if let Ok(d) = digest {
                    let _ = ctl.send(WsMsg::Binary(Bytes::from(d))).await;
                }
            }
        }
    }

    async fn writer<S: Socket>(
        &self,
        sink: &mut futures_util::stream::SplitSink<S, WsMsg>,
        mut ctl: mpsc::Receiver<WsMsg>,
    ) -> End {
        let interval = self
            .gossip
            .config
            .ping_interval
            .max(Duration::from_millis(10));
        let mut wake = self.gossip.subscribe_wake();
        let mut ping = tokio::time::interval(interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            if let Err(e) = self.drain(sink, interval).await {
                return e;
            }
            tokio::select! {
                r = wake.changed() => if r.is_err() {
                    return End::new(code::GOING_AWAY, "the server is stopping");
                },
                m = ctl.recv() => match m {
                    Some(m) => {
                        if let Err(e) = send(sink, m, interval).await {
                            return e;
                        }
                    }
                    None => return End::new(code::ERROR, "the reader stopped"),
                },
                _ = ping.tick() => {
                    if self.ping_outstanding.load(Ordering::Acquire) != 0 {
                        metrics::counter!("horao_gossip_ping_timeouts_total", "peer" => self.peer.to_string()).increment(1);
                        return End::new(code::ERROR, "no pong within a ping interval: the peer stopped reading");
                    }
                    let at = self.epoch.elapsed().as_millis() as u64 + 1;
                    self.ping_outstanding.store(at, Ordering::Release);
                    if let Err(e) = send(sink, WsMsg::Ping(Bytes::from(at.to_le_bytes().to_vec())), interval).await {
                        return e;
                    }
                }
            }
        }
    }

    /// Sends every frame the node holds for the peer, then flushes.
    async fn drain<S: Socket>(
        &self,
        sink: &mut futures_util::stream::SplitSink<S, WsMsg>,
        limit: Duration,
    ) -> Result<(), End> {
        let mut sent = false;
        loop {
            let frame = {
                let mut node = self.state.node_mut();
                if !self.gossip.is_active(self.peer, self.conn) {
                    return Err(End::new(code::REPLACED, "replaced"));
                }
                node.poll_transmit_to(self.peer)
            };
            let Some(frame) = frame else { break };
            let (kind, full) = frame_kind(&frame);
            let len = frame.len();
            count(self.peer, "out", kind, len);
            self.gossip.with_stats(self.peer, |s| {
                s.bytes_out += len as u64;
                *s.messages_out.entry(kind).or_default() += 1;
                if full {
                    s.full_states_sent += 1;
                }
            });
            if full {
                metrics::counter!("horao_gossip_full_states_sent_total", "peer" => self.peer.to_string()).increment(1);
            }
            match tokio::time::timeout(limit, sink.feed(WsMsg::Binary(Bytes::from_owner(frame))))
                .await
            {
                Ok(Ok(())) => sent = true,
                Ok(Err(e)) => return Err(End::new(code::ERROR, format!("sending failed: {e}"))),
                Err(_) => {
                    return Err(End::new(
                        code::ERROR,
                        "a send did not complete within the ping interval: the peer stopped reading",
                    ));
                }
            }
        }
        if sent {
            match tokio::time::timeout(limit, sink.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(End::new(code::ERROR, format!("sending failed: {e}"))),
                Err(_) => {
                    return Err(End::new(
                        code::ERROR,
                        "a send did not complete within the ping interval: the peer stopped reading",
                    ));
                }
            }
        }
        Ok(())
    }
}
