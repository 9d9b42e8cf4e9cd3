//! The event stream: with Redis, every committed change (local or from a peer) is appended to
//! the Redis Stream `horao:events` (`XADD … MAXLEN ~ N`) with the fields `cursor`, `replica`
//! (this server's replica id, decimal), `kind`, `id` and `op` (`put` or `delete`; a full
//! state merged from a peer is one event with kind `*`, an empty id and op `full`).
//!
//! The publisher is a task reading the watch history like a watcher: the write path never
//! waits for it. Once connected it resumes after the last cursor this replica appended (read
//! back from the stream), or from the history's base when the stream holds none of its
//! events: changes committed before a restart but not yet appended are appended then (at
//! least once: a consumer drops an event whose `cursor` it has seen). A failed append, or
//! changes the history dropped before the publisher took them, are counted
//! (`horao_events_failed_total`) and logged, and the publisher moves on.

use super::history::{Behind, Entry};
use crate::state::AppState;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The stream's key.
pub const STREAM_KEY: &str = "horao:events";

/// Most bytes of history taken for one pipeline of appends.
const BATCH_BYTES: usize = 1 << 20;

/// Events read back from the stream's end to find this replica's last one.
const LOOK_BACK: usize = 1000;

/// Where events go.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// The Redis URL.
    pub url: String,
    /// The stream is trimmed to about this many events.
    pub maxlen: usize,
}

/// Starts the publisher when events are configured.
pub fn start(state: &AppState) {
    let Some(config) = state.watch.config.events.clone() else {
        return;
    };
    let hub = state.watch.clone();
    let replica = state.node().id().0;
    let mut stop = state.gossip.subscribe_stop();
    tokio::spawn(async move {
        let mut head = hub.subscribe();
        let mut cursor = None;
        let mut conn: Option<ConnectionManager> = None;
        loop {
            if conn.is_none() {
                conn = connect(&config.url).await;
            }
            if let (Some(c), None) = (conn.as_mut(), cursor) {
                cursor = last_appended(c, replica)
                    .await
                    .ok()
                    .map(|last| last.unwrap_or_else(|| hub.stats().base));
            }
            if let (Some(c), Some(from)) = (conn.as_mut(), cursor) {
                cursor = Some(publish(&hub, c, &config, replica, from).await);
            }
            let connected = cursor.is_some();
            let retry = async move {
                if connected {
                    std::future::pending::<()>().await;
                } else {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            };
            tokio::select! {
                r = head.changed() => if r.is_err() { break },
                _ = retry => {}
                _ = stop.changed() => break,
            }
        }
    });
}

/// The cursor of this replica's last event in the stream (`Ok(None)`: none among the
/// last [`LOOK_BACK`]); `Err` when Redis failed.
async fn last_appended(conn: &mut ConnectionManager, replica: u64) -> Result<Option<u64>, ()> {
    type Event = (String, Vec<(String, String)>);
    let events: Vec<Event> = redis::cmd("XREVRANGE")
        .arg(STREAM_KEY)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(LOOK_BACK)
        .query_async(conn)
        .await
        .map_err(|e| tracing::warn!(error = %e, "events: reading the stream's end failed"))?;
    let me = replica.to_string();
    let field = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    Ok(events.iter().find_map(|(_, fields)| {
        (field(fields, "replica").as_deref() == Some(me.as_str()))
            .then(|| field(fields, "cursor").and_then(|c| c.parse().ok()))
            .flatten()
    }))
}

async fn connect(url: &str) -> Option<ConnectionManager> {
    let client = match redis::Client::open(url) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "events: bad Redis URL");
            return None;
        }
    };
    match client.get_connection_manager().await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "events: cannot reach Redis; retrying");
            None
        }
    }
}

fn failed(hub: &super::Hub, n: u64) {
    hub.events_failed.fetch_add(n, Ordering::Relaxed);
    metrics::counter!("horao_events_failed_total").increment(n);
}

/// Appends everything after `cursor`; returns the cursor reached.
async fn publish(
    hub: &Arc<super::Hub>,
    conn: &mut ConnectionManager,
    config: &EventsConfig,
    replica: u64,
    mut cursor: u64,
) -> u64 {
    loop {
        let entries = match hub.after(cursor, BATCH_BYTES) {
            Ok(v) => v,
            Err(Behind::Collected { base }) => {
                tracing::error!(
                    from = cursor,
                    to = base,
                    "events: the history dropped changes before they were published"
                );
                failed(hub, 1);
                cursor = base;
                continue;
            }
            Err(Behind::Ahead { head }) => return head,
        };
        let Some(last) = entries.last().map(|e| e.cursor) else {
            return cursor;
        };
        let (pipe, n) = pipeline(&entries, config, replica);
        match pipe.query_async::<()>(conn).await {
            Ok(()) => {
                hub.events_appended.fetch_add(n, Ordering::Relaxed);
                metrics::counter!("horao_events_appended_total").increment(n);
            }
            Err(e) => {
                tracing::warn!(error = %e, events = n, "events: appending to Redis failed");
                failed(hub, n);
            }
        }
        cursor = last;
    }
}

fn pipeline(entries: &[Arc<Entry>], config: &EventsConfig, replica: u64) -> (redis::Pipeline, u64) {
    let mut pipe = redis::pipe();
    let mut n = 0;
    let mut add = |cursor: u64, kind: &str, id: &str, op: &str| {
        pipe.cmd("XADD")
            .arg(STREAM_KEY)
            .arg("MAXLEN")
            .arg("~")
            .arg(config.maxlen)
            .arg("*")
            .arg("cursor")
            .arg(cursor)
            .arg("replica")
            .arg(replica)
            .arg("kind")
            .arg(kind)
            .arg("id")
            .arg(id)
            .arg("op")
            .arg(op)
            .ignore();
        n += 1;
    };
    // A change another server sharing the store committed is that server's to publish.
    for e in entries.iter().filter(|e| !e.ingested) {
        if e.full {
            add(e.cursor, "*", "", "full");
        }
        for r in &e.records {
            let op = if r.object.is_some() { "put" } else { "delete" };
            add(e.cursor, r.kind.name(), &r.id, op);
        }
    }
    (pipe, n)
}
