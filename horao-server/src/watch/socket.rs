//! One watcher's connection. Frames (JSON text):
//!
//! - `{"cursor": C, "records": [{"cursor": C, "kind", "id", "op": "put"|"delete"|"leave",
//!   "object"}]}`: every change at cursor `C` the watcher sees, in one frame (`delete`: gone
//!   from the model; `leave`: it still exists but left the watcher's view, such as a volume
//!   re-placed off an agent's machine; `object` is `null` for both);
//! - `{"progress": C}`: nothing the watcher sees changed up to `C` (sent every progress
//!   interval, so an idle watcher's cursor stays fresh);
//! - `{"resync_required": {"since": X, "reason": "…"}}`: the changes after `X` cannot be
//!   delivered one by one; a snapshot follows;
//! - `{"snapshot": {"cursor": C, "records": [...]}}` (one or more frames, records with op
//!   `put`), then `{"snapshot_end": {"cursor": C, "feed": F}}`: every entity the watcher
//!   sees, exactly as at cursor `C`; the changes after `C` follow. `F` names the feed's
//!   cursor space: a watcher resumes with `since=C&feed=F`.
//!
//! The watcher pulls from the history at its own pace and holds at most one frame rendered
//! and unsent (a snapshot: the whole snapshot until sent). A send that does not complete
//! within two ping intervals, or a ping left unanswered as long, closes the watcher.

use super::WatcherSlot;
use super::history::{Behind, Entry};
use super::render::{self, Filter, Op};
use crate::state::AppState;
use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use horao_model::model::EntityKind;
use std::fmt::Write as _;
use std::sync::Arc;
use tokio::time::{Instant, MissedTickBehavior, interval_at};

/// Why the watcher ends.
#[derive(Debug)]
enum End {
    /// The socket failed or was closed.
    Closed,
    /// The client stopped reading.
    Stalled,
}

struct Watcher {
    state: AppState,
    sink: SplitSink<WebSocket, Message>,
    slot: WatcherSlot,
    filter: Filter,
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn push_record(
    buf: &mut String,
    cursor: u64,
    kind: EntityKind,
    id: &str,
    op: &str,
    object: Option<&str>,
) {
    if !buf.ends_with('[') {
        buf.push(',');
    }
    let _ = write!(
        buf,
        r#"{{"cursor":{cursor},"kind":"{}","id":{},"op":"{}","object":{}}}"#,
        kind.name(),
        json_str(id),
        op,
        object.unwrap_or("null"),
    );
}

/// What one entry becomes for a watcher.
enum Framed {
    Frame(String),
    Nothing,
    Resync(&'static str),
}

impl Watcher {
    fn frame(&self, e: &Entry) -> Framed {
        if e.full {
            return Framed::Resync("a full state from a peer was merged");
        }
        let mut buf = format!(r#"{{"cursor":{},"records":["#, e.cursor);
        let mut any = false;
        for r in &e.records {
            match self.filter.op(r) {
                None => {}
                Some(Op::Put(o)) => {
                    push_record(&mut buf, e.cursor, r.kind, &r.id, "put", Some(&o));
                    any = true;
                }
                Some(Op::Delete) => {
                    push_record(&mut buf, e.cursor, r.kind, &r.id, "delete", None);
                    any = true;
                }
                Some(Op::Leave) => {
                    push_record(&mut buf, e.cursor, r.kind, &r.id, "leave", None);
                    any = true;
                }
                Some(Op::Resync) => {
                    return Framed::Resync(
                        "a change replayed at start-up may concern this watcher",
                    );
                }
            }
        }
        buf.push_str("]}");
        if any {
            Framed::Frame(buf)
        } else {
            Framed::Nothing
        }
    }

    async fn send(&mut self, text: String) -> Result<(), End> {
        self.slot.hold(text.len());
        let limit = self.slot.hub().config.ping_interval * 2;
        let r = tokio::time::timeout(limit, self.sink.send(Message::Text(text.into()))).await;
        self.slot.hold(0);
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Closed),
            Err(_) => Err(End::Stalled),
        }
    }

    /// Sends a snapshot of every entity the watcher sees; returns its cursor.
    async fn snapshot(&mut self) -> Result<u64, End> {
        let hub = self.slot.hub().clone();
        let _permit = hub.snapshots.acquire().await.map_err(|_| End::Closed)?;
        let (cursor, items) = {
            // Under one read of the node: the writer publishes under its write lock, so the
            // head read here is exactly the state rendered.
            let node = self.state.node();
            let head = hub.head();
            (head, render::snapshot(node.replica().state(), &self.filter))
        };
        let total: usize = items.iter().map(|(_, id, o)| id.len() + o.len() + 64).sum();
        self.slot.hold(total);
        let budget = hub.config.queue_bytes.max(1);
        let mut left = total;
        let mut items = items.into_iter().peekable();
        let open = |c: u64| format!(r#"{{"snapshot":{{"cursor":{c},"records":["#);
        while items.peek().is_some() {
            let mut buf = open(cursor);
            while let Some((kind, id, o)) = items.next_if(|_| buf.len() < budget) {
                left -= id.len() + o.len() + 64;
                push_record(&mut buf, cursor, kind, &id, "put", Some(&o));
            }
            buf.push_str("]}}");
            self.send(buf).await?;
            self.slot.hold(left);
        }
        self.slot.hold(0);
        let end =
            serde_json::json!({"snapshot_end": {"cursor": cursor, "feed": self.slot.hub().feed()}});
        self.send(end.to_string()).await?;
        Ok(cursor)
    }

    /// Tells the watcher the changes after `since` cannot be delivered, then sends a
    /// snapshot; returns its cursor.
    async fn resync(&mut self, since: u64, reason: &str) -> Result<u64, End> {
        self.slot.resynced();
        let msg = serde_json::json!({"resync_required": {"since": since, "reason": reason}});
        self.send(msg.to_string()).await?;
        self.snapshot().await
    }

    /// Sends everything after `cursor` the history holds; returns the new cursor.
    async fn drain(&mut self, mut cursor: u64) -> Result<u64, End> {
        let hub = self.slot.hub().clone();
        let budget = hub.config.queue_bytes;
        'pull: loop {
            let entries = match hub.after(cursor, budget) {
                Ok(v) => v,
                Err(Behind::Collected { .. }) => {
                    cursor = self
                        .resync(
                            cursor,
                            "the history no longer holds the changes after the cursor",
                        )
                        .await?;
                    continue;
                }
                Err(Behind::Ahead { .. }) => {
                    cursor = self
                        .resync(cursor, "the cursor is past this server's latest change")
                        .await?;
                    continue;
                }
            };
            if entries.is_empty() {
                return Ok(cursor);
            }
            for e in entries {
                match self.frame(&e) {
                    Framed::Frame(f) => self.send(f).await?,
                    Framed::Nothing => {}
                    Framed::Resync(reason) => {
                        cursor = self.resync(cursor, reason).await?;
                        continue 'pull;
                    }
                }
                cursor = e.cursor;
            }
        }
    }
}

/// Runs one watcher until it closes, stalls or the server stops. `since`: the cursor to
/// resume from (`None`: start with a snapshot); `foreign`: it belongs to another feed.
pub async fn run(
    ws: WebSocket,
    state: AppState,
    filter: Filter,
    since: Option<u64>,
    foreign: bool,
    slot: WatcherSlot,
) {
    let (sink, mut stream): (_, SplitStream<WebSocket>) = ws.split();
    let hub: Arc<super::Hub> = slot.hub().clone();
    let mut head = hub.subscribe();
    let mut stop = state.gossip.subscribe_stop();
    let ping_every = hub.config.ping_interval;
    let progress_every = hub.config.progress_interval;
    let mut w = Watcher {
        state,
        sink,
        slot,
        filter,
    };
    let result: Result<(), End> = async {
        let mut cursor = match since {
            None => w.snapshot().await?,
            Some(c) if foreign => {
                w.resync(c, "the cursor belongs to another server's feed")
                    .await?
            }
            Some(c) => c,
        };
        let mut progress = interval_at(Instant::now() + progress_every, progress_every);
        progress.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ping = interval_at(Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_pong = Instant::now();
        loop {
            cursor = w.drain(cursor).await?;
            tokio::select! {
                r = head.changed() => if r.is_err() { return Err(End::Closed) },
                _ = progress.tick() => {
                    w.send(format!(r#"{{"progress":{cursor}}}"#)).await?;
                }
                _ = ping.tick() => {
                    if last_pong.elapsed() > ping_every * 2 {
                        return Err(End::Stalled);
                    }
                    w.send_ping().await?;
                }
                m = stream.next() => match m {
                    Some(Ok(Message::Pong(_))) => last_pong = Instant::now(),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Err(End::Closed),
                    // Anything else a client sends is ignored (pings are answered by the
                    // library).
                    Some(Ok(_)) => {}
                },
                _ = stop.changed() => return Err(End::Closed),
            }
        }
    }
    .await;
    if let Err(End::Stalled) = result {
        tracing::info!("watch: a watcher stopped reading and was closed");
        w.slot.stalled();
    }
    // A watcher that stopped reading cannot take a close frame either.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), w.sink.close()).await;
}

impl Watcher {
    async fn send_ping(&mut self) -> Result<(), End> {
        let limit = self.slot.hub().config.ping_interval * 2;
        match tokio::time::timeout(limit, self.sink.send(Message::Ping(Default::default()))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Closed),
            Err(_) => Err(End::Stalled),
        }
    }
}
