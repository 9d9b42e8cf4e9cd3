//! What a server that shares a Redis store with others runs besides the store: the lease on
//! its node name, and a listener for the commits the other nodes announce.
//!
//! The lease `P:node:N:lease` holds `HOST PID TOKEN` of the process that has the node, with
//! an expiry it renews every third of the lease. Every commit checks it (see the commit
//! script), so a second process given the same node name is refused before it writes, and a
//! process that lost its lease (paused for longer than the lease while another took the node)
//! cannot write as the same replica. A process restarted after a crash finds its old lease:
//! on the same host with its old process gone it takes the lease over at once, otherwise it
//! waits for the lease to expire.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use tokio::sync::watch;

use super::StoreError;

/// How the node's lease behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseOptions {
    /// How long the lease lasts without a renewal (renewed every third of it).
    pub ttl: Duration,
    /// How long opening waits for another holder's lease to expire before it refuses.
    pub wait: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(15),
            wait: Duration::from_secs(20),
        }
    }
}

/// KEYS: lease. ARGV: holder, milliseconds. Renews the lease when this holder has it, takes
/// it when nobody does; returns 1, or 0 when another holder has it.
const RENEW: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"#;

/// KEYS: lease. ARGV: the dead holder, the new holder, milliseconds. Takes the lease over
/// from a holder known to be gone; returns 1, or 0 when the lease changed meanwhile.
const TAKE_OVER: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"#;

/// KEYS: lease. ARGV: holder. Deletes the lease when this holder has it.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// Checks a node name: 1 to 128 characters of `A-Z a-z 0-9 . _ : -`.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Redis(format!(
            "invalid node name {name:?}: use 1 to 128 characters of A-Z a-z 0-9 . _ : -"
        )))
    }
}

/// This machine's host name (`localhost` when it cannot be read).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// True when `holder` names a process of this host that no longer runs.
fn holder_is_gone(holder: &str, host: &str) -> bool {
    let mut parts = holder.split(' ');
    let (Some(h), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    h == host
        && pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id()
                && std::path::Path::new("/proc/self").exists()
                && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
}

/// The node this process holds: its lease (renewed in the background) and the newest
/// sequence number the other nodes announced.
pub struct NodeHandle {
    holder: String,
    ttl: Duration,
    announced: watch::Receiver<u64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl NodeHandle {
    /// Takes the lease `lease_key` for node `name` and starts the renewal and the listener of
    /// `channel`.
    pub(crate) async fn start(
        client: &redis::Client,
        connection: &ConnectionManager,
        name: &str,
        lease_key: &str,
        channel: String,
        options: LeaseOptions,
    ) -> Result<Self, StoreError> {
        let host = hostname();
        let holder = format!(
            "{host} {} {:016x}",
            std::process::id(),
            rand::random::<u64>()
        );
        let ttl_ms = u64::try_from(options.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut conn = connection.clone();
        let began = tokio::time::Instant::now();
        let mut waited = false;
        loop {
            let taken: bool = redis::cmd("SET")
                .arg(lease_key)
                .arg(&holder)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query_async::<Option<String>>(&mut conn)
                .await
                .map_err(|e| StoreError::Redis(e.to_string()))?
                .is_some();
            if taken {
                break;
            }
            let current: Option<String> = conn
                .get(lease_key)
                .await
                .map_err(|e| StoreError::Redis(e.to_string()))?;
            let Some(current) = current else { continue };
            if holder_is_gone(&current, &host) {
                let took: u64 = Script::new(TAKE_OVER)
                    .key(lease_key)
                    .arg(&current)
                    .arg(&holder)
                    .arg(ttl_ms)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(|e| StoreError::Redis(e.to_string()))?;
                if took == 1 {
                    tracing::info!(node = name, previous = %current, "took over the lease of a process that is gone");
                    break;
                }
                continue;
            }
            if began.elapsed() >= options.wait {
                return Err(StoreError::Lease(format!(
                    "node {name:?} is held by {current:?}; give each server that shares this \
                     Redis database its own node name (--redis-node)"
                )));
            }
            if !waited {
                tracing::warn!(
                    node = name,
                    holder = %current,
                    "the node's lease is held by another process; waiting for it to expire"
                );
                waited = true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (tx, announced) = watch::channel(0u64);
        let tasks = vec![
            tokio::spawn(renew(
                connection.clone(),
                lease_key.to_owned(),
                holder.clone(),
                options.ttl,
            )),
            tokio::spawn(listen(client.clone(), channel, tx)),
        ];
        Ok(Self {
            holder,
            ttl: options.ttl,
            announced,
            tasks,
        })
    }

    /// What the lease holds for this process.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The lease's length in milliseconds.
    pub fn lease_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// The newest sequence number announced by any node.
    pub fn announced(&self) -> watch::Receiver<u64> {
        self.announced.clone()
    }

    /// Stops renewing and gives the lease back (when this process still holds it).
    pub(crate) async fn release(&self, connection: &ConnectionManager, lease_key: &str) {
        for t in &self.tasks {
            t.abort();
        }
        let mut conn = connection.clone();
        let released: Result<u64, _> = Script::new(RELEASE)
            .key(lease_key)
            .arg(&self.holder)
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "giving the node's lease back failed; it expires by itself");
        }
    }
}

impl Drop for NodeHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Renews the lease every third of its length; says loudly when another process has it.
async fn renew(mut conn: ConnectionManager, key: String, holder: String, ttl: Duration) {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    let script = Script::new(RENEW);
    let mut lost = false;
    loop {
        tokio::time::sleep(ttl / 3).await;
        let r: Result<u64, _> = script
            .key(&key)
            .arg(&holder)
            .arg(ms)
            .invoke_async(&mut conn)
            .await;
        match r {
            Ok(1) => lost = false,
            Ok(_) if !lost => {
                tracing::error!(
                    lease = %key,
                    "another process holds this server's node: its writes are refused"
                );
                lost = true;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "renewing the node's lease failed"),
        }
    }
}

/// Follows the commit announcements on `channel`, reconnecting after a failure; the newest
/// sequence number goes to `tx`. An announcement missed while disconnected is found by the
/// periodic read that backs the listener up.
async fn listen(client: redis::Client, channel: String, tx: watch::Sender<u64>) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(e) = pubsub.subscribe(&channel).await {
                    tracing::warn!(error = %e, "subscribing to the commit announcements failed");
                } else {
                    // Anything committed while disconnected: the follower reads it now.
                    tx.send_modify(|_| {});
                    let mut messages = pubsub.on_message();
                    while let Some(m) = messages.next().await {
                        if let Ok(seq) = m.get_payload::<u64>() {
                            tx.send_if_modified(|v| {
                                let newer = seq > *v;
                                *v = (*v).max(seq);
                                newer
                            });
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot reach Redis for commit announcements"),
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_checked() {
        assert!(check_name("db-1.example:7600").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("a{b}").is_err());
        assert!(check_name(&"x".repeat(129)).is_err());
    }

    #[test]
    fn only_a_gone_process_of_this_host_is_taken_over() {
        // This process runs: never taken over.
        let me = format!("h {} t", std::process::id());
        assert!(!holder_is_gone(&me, "h"));
        // A pid that cannot exist on Linux (above pid_max's ceiling of 2^22).
        assert!(holder_is_gone("h 4194305 t", "h"));
        // Another host's process: its liveness is unknown here.
        assert!(!holder_is_gone("other 4194305 t", "h"));
        assert!(!holder_is_gone("garbage", "h"));
    }
}
