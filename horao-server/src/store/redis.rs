//! The Redis store: snapshot, journal and metadata under one key prefix, every change made by
//! one Lua script so it is applied whole or not at all, and acknowledged only once Redis has
//! replied (with `appendonly yes` and `appendfsync always`, after the change is fsync'd to the
//! append-only file; `warnings()` says when Redis is configured for less).
//!
//! Keys (`P` is the prefix): `P:state` (hash: `format`, `seq`, `journal_bytes`, `snap_gen`,
//! `snap_seq`, `snap_len`, `snap_chunks`, `pending_gen`, `gen_counter`), `P:journal` (hash:
//! sequence number → delta), `P:journal:idx` (sorted set of the sequence numbers, to drop a
//! prefix), `P:meta` (hash) and `P:snap:G` (hash: chunk index → chunk of snapshot generation
//! `G`). A snapshot is written as a new generation and then switched to, with the journal
//! entries it covers dropped, by one script: there is never a moment without a complete
//! snapshot. Scripts compute the generation keys from the prefix, so the store needs a single
//! Redis server (not Redis Cluster), version 7 or later (scripts declare themselves with a
//! shebang so Redis refuses them whole when out of memory).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, Script};

use super::{Commit, JournalStats, Loaded, Store, StoreError, StoreFuture};

/// The largest piece of a snapshot written in one command.
pub const SNAPSHOT_CHUNK_BYTES: usize = 8 << 20;
/// The layout of the keys this build reads and writes.
const FORMAT: &str = "1";

/// Checks the types of the keys a script touches, before it writes anything, so a damaged
/// key fails the script without a partial write.
const CHECK_TYPES: &str = r#"
local expected = {'hash', 'hash', 'zset', 'hash'}
for i = 1, 4 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'none' and t ~= expected[i] then
    return redis.error_reply('CORRUPT ' .. KEYS[i] .. ' holds a ' .. t)
  end
end
local fmt = redis.call('HGET', KEYS[1], 'format')
if fmt and fmt ~= '1' then
  return redis.error_reply('CORRUPT the keys have format ' .. fmt .. '; this build reads 1')
end
for _, field in ipairs({'seq', 'journal_bytes', 'snap_seq', 'gen_counter'}) do
  local v = redis.call('HGET', KEYS[1], field)
  if v and not string.match(v, '^%d+$') then
    return redis.error_reply('CORRUPT state field ' .. field .. ' is not a number')
  end
end
"#;

/// KEYS: state, journal, journal index, meta. ARGV: delta, number of metadata changes, then
/// per change `s key value` or `d key`. Returns the sequence number.
const COMMIT: &str = r#"
local n = tonumber(ARGV[2])
if not n then return redis.error_reply('ERR bad metadata count') end
redis.call('HSETNX', KEYS[1], 'format', '1')
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local delta = ARGV[1]
if #delta > 0 then
  local field = string.format('%d', seq)
  redis.call('HSET', KEYS[2], field, delta)
  redis.call('ZADD', KEYS[3], seq, field)
  redis.call('HINCRBY', KEYS[1], 'journal_bytes', #delta)
end
local i = 3
for _ = 1, n do
  if ARGV[i] == 's' then
    redis.call('HSET', KEYS[4], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  else
    redis.call('HDEL', KEYS[4], ARGV[i + 1])
    i = i + 2
  end
end
return seq
"#;

/// KEYS: state, journal, journal index, meta. ARGV: prefix. Drops a generation a crash left
/// half written, reserves a new one and returns it.
const BEGIN_SNAPSHOT: &str = r#"
local pending = redis.call('HGET', KEYS[1], 'pending_gen')
if pending and pending ~= redis.call('HGET', KEYS[1], 'snap_gen') then
  redis.call('DEL', ARGV[1] .. ':snap:' .. pending)
end
redis.call('HSETNX', KEYS[1], 'format', '1')
local gen = redis.call('HINCRBY', KEYS[1], 'gen_counter', 1)
redis.call('HSET', KEYS[1], 'pending_gen', string.format('%d', gen))
return gen
"#;

/// KEYS: state, journal, journal index, meta. ARGV: prefix, generation, upto, length, chunk
/// count. Switches to the new generation and drops the journal entries it covers; returns 1,
/// or 0 (and drops the new generation) when the stored snapshot is newer.
const SWITCH_SNAPSHOT: &str = r#"
local prefix, gen, upto = ARGV[1], ARGV[2], tonumber(ARGV[3])
local new_key = prefix .. ':snap:' .. gen
if tonumber(redis.call('HGET', KEYS[1], 'snap_seq') or '0') > upto then
  redis.call('DEL', new_key)
  redis.call('HDEL', KEYS[1], 'pending_gen')
  return 0
end
if redis.call('HLEN', new_key) ~= tonumber(ARGV[5]) then
  return redis.error_reply('ERR snapshot generation ' .. gen .. ' is incomplete')
end
local bytes = tonumber(redis.call('HGET', KEYS[1], 'journal_bytes') or '0')
for _, field in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', upto)) do
  bytes = bytes - redis.call('HSTRLEN', KEYS[2], field)
  redis.call('HDEL', KEYS[2], field)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', upto)
local old = redis.call('HGET', KEYS[1], 'snap_gen')
if old and old ~= gen then redis.call('DEL', prefix .. ':snap:' .. old) end
if tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') < upto then
  redis.call('HSET', KEYS[1], 'seq', ARGV[3])
end
if bytes < 0 then bytes = 0 end
redis.call('HSET', KEYS[1], 'snap_gen', gen, 'snap_seq', ARGV[3], 'snap_len', ARGV[4],
  'snap_chunks', ARGV[5], 'journal_bytes', string.format('%d', bytes))
redis.call('HDEL', KEYS[1], 'pending_gen')
return 1
"#;

/// How a [`RedisStore`] talks to Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedisOptions {
    /// How long one connection attempt may take.
    pub connection_timeout: Duration,
    /// How long Redis may take to answer one command (a snapshot chunk is one command).
    pub response_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connection_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(30),
        }
    }
}

/// The names of the keys under one prefix.
#[derive(Clone, Debug)]
struct Keys {
    prefix: String,
    state: String,
    journal: String,
    index: String,
    meta: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            state: format!("{prefix}:state"),
            journal: format!("{prefix}:journal"),
            index: format!("{prefix}:journal:idx"),
            meta: format!("{prefix}:meta"),
        }
    }

    fn snapshot(&self, generation: u64) -> String {
        format!("{}:snap:{generation}", self.prefix)
    }
}

/// The scripts, each with the type checks in front.
struct Scripts {
    commit: Script,
    begin_snapshot: Script,
    switch_snapshot: Script,
}

impl Scripts {
    fn new() -> Self {
        let script =
            |body: &str| Script::new(&format!("#!lua flags=no-cluster\n{CHECK_TYPES}\n{body}"));
        Self {
            commit: script(COMMIT),
            begin_snapshot: script(BEGIN_SNAPSHOT),
            switch_snapshot: script(SWITCH_SNAPSHOT),
        }
    }

    /// Prepares `script` with the four keys every script checks.
    fn invocation<'a>(script: &'a Script, keys: &Keys) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.key(&keys.state);
        invocation
            .key(&keys.journal)
            .key(&keys.index)
            .key(&keys.meta);
        invocation
    }
}

/// The durable store in Redis. See the module documentation.
pub struct RedisStore {
    connection: ConnectionManager,
    keys: Keys,
    scripts: Scripts,
    /// True once closed; operations hold a read guard so close waits for them.
    closed: tokio::sync::RwLock<bool>,
    /// One snapshot at a time.
    snapshot_lock: tokio::sync::Mutex<()>,
    stats: Mutex<JournalStats>,
    warnings: Vec<String>,
}

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT/DB`), checks Redis's persistence settings and
    /// reads the sizes of what is stored under `key_prefix`.
    pub async fn open(url: &str, key_prefix: &str) -> Result<Self, StoreError> {
        Self::open_with(url, key_prefix, RedisOptions::default()).await
    }

    /// [`RedisStore::open`] with explicit timeouts.
    pub async fn open_with(
        url: &str,
        key_prefix: &str,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        // The URL may carry a password: errors do not repeat it.
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Redis(format!("invalid Redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connection_timeout))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(2);
        let mut connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| StoreError::Redis(format!("cannot reach Redis: {e}")))?;
        let warnings = persistence_warnings(&mut connection).await;
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        let keys = Keys::new(key_prefix);
        let state: HashMap<String, Vec<u8>> =
            connection.hgetall(&keys.state).await.map_err(redis_err)?;
        let state = State::parse(&state)?;
        let entries: u64 = connection.hlen(&keys.journal).await.map_err(redis_err)?;
        let stats = JournalStats {
            entries,
            ..state.stats()
        };
        Ok(Self {
            connection,
            keys,
            scripts: Scripts::new(),
            closed: tokio::sync::RwLock::new(false),
            snapshot_lock: tokio::sync::Mutex::new(()),
            stats: Mutex::new(stats),
            warnings,
        })
    }

    fn update_stats(&self, update: impl FnOnce(&mut JournalStats)) {
        update(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    async fn load_once(&self) -> Result<Option<Loaded>, StoreError> {
        let mut connection = self.connection.clone();
        let generation: Option<String> = connection
            .hget(&self.keys.state, "snap_gen")
            .await
            .map_err(redis_err)?;
        let generation = generation
            .map(|g| parse_u64("snap_gen", g.as_bytes()))
            .transpose()?;
        let snapshot_key = self.keys.snapshot(generation.unwrap_or(0));
        type Reply = (
            HashMap<String, Vec<u8>>,
            HashMap<Vec<u8>, Vec<u8>>,
            HashMap<Vec<u8>, Vec<u8>>,
            HashMap<String, Vec<u8>>,
        );
        let (state, chunks, journal, meta): Reply = redis::pipe()
            .atomic()
            .hgetall(&self.keys.state)
            .hgetall(&snapshot_key)
            .hgetall(&self.keys.journal)
            .hgetall(&self.keys.meta)
            .query_async(&mut connection)
            .await
            .map_err(redis_err)?;
        let state = State::parse(&state)?;
        if state.snapshot.map(|s| s.generation) != generation {
            return Ok(None); // A snapshot was switched in between: read again.
        }
        let snapshot = match state.snapshot {
            None => None,
            Some(header) => Some(assemble(&header, chunks)?),
        };
        let mut entries = Vec::with_capacity(journal.len());
        for (field, delta) in journal {
            let seq = parse_u64("journal field", &field)?;
            if seq <= state.snapshot_seq() || seq > state.seq {
                return Err(StoreError::Corrupt(format!(
                    "journal entry {seq} lies outside ({}, {}]",
                    state.snapshot_seq(),
                    state.seq
                )));
            }
            entries.push((seq, delta));
        }
        entries.sort_unstable_by_key(|(seq, _)| *seq);
        Ok(Some(Loaded {
            snapshot,
            journal: entries,
            meta: meta.into_iter().collect::<BTreeMap<_, _>>(),
        }))
    }
}

/// The snapshot's header in `P:state`.
#[derive(Clone, Copy, Debug)]
struct SnapshotHeader {
    generation: u64,
    seq: u64,
    len: u64,
    chunks: u64,
}

/// The parsed `P:state` hash.
#[derive(Clone, Copy, Debug, Default)]
struct State {
    seq: u64,
    journal_bytes: u64,
    snapshot: Option<SnapshotHeader>,
}

impl State {
    fn parse(fields: &HashMap<String, Vec<u8>>) -> Result<Self, StoreError> {
        if let Some(format) = fields.get("format")
            && format.as_slice() != FORMAT.as_bytes()
        {
            return Err(StoreError::Corrupt(format!(
                "the keys have format {}; this build reads {FORMAT}",
                String::from_utf8_lossy(format)
            )));
        }
        let get = |name: &str| -> Result<Option<u64>, StoreError> {
            fields.get(name).map(|v| parse_u64(name, v)).transpose()
        };
        let seq = get("seq")?.unwrap_or(0);
        let snapshot = match (
            get("snap_gen")?,
            get("snap_seq")?,
            get("snap_len")?,
            get("snap_chunks")?,
        ) {
            (None, None, None, None) => None,
            (Some(generation), Some(seq), Some(len), Some(chunks)) => Some(SnapshotHeader {
                generation,
                seq,
                len,
                chunks,
            }),
            _ => {
                return Err(StoreError::Corrupt(
                    "the snapshot header is incomplete".into(),
                ));
            }
        };
        if let Some(header) = snapshot
            && (header.seq > seq
                || header.chunks != header.len.div_ceil(SNAPSHOT_CHUNK_BYTES as u64))
        {
            return Err(StoreError::Corrupt(format!(
                "inconsistent snapshot header: covers {} (last commit {seq}), {} bytes in {} chunks",
                header.seq, header.len, header.chunks
            )));
        }
        Ok(Self {
            seq,
            journal_bytes: get("journal_bytes")?.unwrap_or(0),
            snapshot,
        })
    }

    fn snapshot_seq(&self) -> u64 {
        self.snapshot.map_or(0, |s| s.seq)
    }

    fn stats(&self) -> JournalStats {
        JournalStats {
            entries: 0,
            bytes: self.journal_bytes,
            last_seq: self.seq,
            snapshot_seq: self.snapshot_seq(),
            snapshot_bytes: self.snapshot.map_or(0, |s| s.len),
        }
    }
}

/// Puts the chunks of a snapshot generation back together, checking count and length.
fn assemble(
    header: &SnapshotHeader,
    mut chunks: HashMap<Vec<u8>, Vec<u8>>,
) -> Result<Vec<u8>, StoreError> {
    if chunks.len() as u64 != header.chunks {
        return Err(StoreError::Corrupt(format!(
            "snapshot generation {} has {} chunks; its header says {}",
            header.generation,
            chunks.len(),
            header.chunks
        )));
    }
    let mut bytes = Vec::new();
    for index in 0..header.chunks {
        let chunk = chunks
            .remove(index.to_string().as_bytes())
            .ok_or_else(|| StoreError::Corrupt(format!("snapshot chunk {index} is missing")))?;
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() as u64 != header.len {
        return Err(StoreError::Corrupt(format!(
            "the snapshot has {} bytes; its header says {}",
            bytes.len(),
            header.len
        )));
    }
    Ok(bytes)
}

fn parse_u64(what: &str, bytes: &[u8]) -> Result<u64, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{what} is not a number: {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(32)])
            ))
        })
}

/// Script refusals marked `CORRUPT` and keys of the wrong type are damaged data; the rest is
/// Redis failing.
fn redis_err(error: RedisError) -> StoreError {
    match error.code() {
        Some("CORRUPT") => StoreError::Corrupt(error.detail().unwrap_or("damaged keys").to_owned()),
        Some("WRONGTYPE") => StoreError::Corrupt(format!("a key holds the wrong type: {error}")),
        _ => StoreError::Redis(error.to_string()),
    }
}

/// Reads `appendonly` and `appendfsync` and says what an operator should know about them.
async fn persistence_warnings(connection: &mut ConnectionManager) -> Vec<String> {
    let config: Result<HashMap<String, String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("append*")
        .query_async(connection)
        .await;
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            return vec![format!(
                "could not check Redis persistence (CONFIG GET failed: {e}); make sure Redis \
                 runs with appendonly yes, or acknowledged writes can be lost"
            )];
        }
    };
    let mut warnings = Vec::new();
    match config.get("appendonly").map(String::as_str) {
        Some("yes") => {}
        Some(value) => warnings.push(format!(
            "Redis runs with appendonly {value}: acknowledged writes since its last RDB save are \
             lost if it stops; set appendonly yes"
        )),
        None => warnings.push(
            "could not check Redis persistence (CONFIG GET returned no appendonly); make sure \
             Redis runs with appendonly yes"
                .into(),
        ),
    }
    match config.get("appendfsync").map(String::as_str) {
        Some("always") => {}
        Some("everysec") => warnings.push(
            "Redis runs with appendfsync everysec: while an fsync is slow it answers writes \
             before they reach the append-only file, so a crash of Redis can lose up to about \
             2 s of acknowledged writes; set appendfsync always"
                .into(),
        ),
        Some(value) => warnings.push(format!(
            "Redis runs with appendfsync {value}: acknowledged writes may not be on disk when \
             Redis or the machine crashes; set appendfsync always"
        )),
        None => {}
    }
    warnings
}

impl Store for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn load(&self) -> StoreFuture<'_, Loaded> {
        Box::pin(async move {
            let closed = self.closed.read().await;
            if *closed {
                return Err(StoreError::Closed);
            }
            for _ in 0..8 {
                if let Some(loaded) = self.load_once().await? {
                    return Ok(loaded);
                }
            }
            Err(StoreError::Redis(
                "the snapshot kept changing while it was read".into(),
            ))
        })
    }

    fn commit(&self, commit: Commit) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let closed = self.closed.read().await;
            if *closed {
                return Err(StoreError::Closed);
            }
            let mut invocation = Scripts::invocation(&self.scripts.commit, &self.keys);
            invocation
                .arg(commit.delta.as_slice())
                .arg(commit.meta.len());
            for (key, value) in &commit.meta {
                match value {
                    Some(value) => invocation.arg("s").arg(key).arg(value.as_slice()),
                    None => invocation.arg("d").arg(key),
                };
            }
            let mut connection = self.connection.clone();
            let seq: u64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(redis_err)?;
            self.update_stats(|stats| {
                stats.last_seq = stats.last_seq.max(seq);
                if !commit.delta.is_empty() {
                    stats.entries += 1;
                    stats.bytes += commit.delta.len() as u64;
                }
            });
            Ok(seq)
        })
    }

    fn write_snapshot(&self, snapshot: Vec<u8>, upto: u64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let closed = self.closed.read().await;
            if *closed {
                return Err(StoreError::Closed);
            }
            let _one_at_a_time = self.snapshot_lock.lock().await;
            let mut connection = self.connection.clone();
            let generation: u64 = Scripts::invocation(&self.scripts.begin_snapshot, &self.keys)
                .arg(&self.keys.prefix)
                .invoke_async(&mut connection)
                .await
                .map_err(redis_err)?;
            let key = self.keys.snapshot(generation);
            let mut chunks = 0u64;
            for chunk in snapshot.chunks(SNAPSHOT_CHUNK_BYTES) {
                let _: u64 = connection
                    .hset(&key, chunks, chunk)
                    .await
                    .map_err(redis_err)?;
                chunks += 1;
            }
            let switched: u64 = Scripts::invocation(&self.scripts.switch_snapshot, &self.keys)
                .arg(&self.keys.prefix)
                .arg(generation)
                .arg(upto)
                .arg(snapshot.len())
                .arg(chunks)
                .invoke_async(&mut connection)
                .await
                .map_err(redis_err)?;
            if switched == 0 {
                tracing::warn!(upto, "ignoring a snapshot older than the stored one");
                return Ok(());
            }
            // Re-read the sizes: the script dropped entries this process did not count.
            let state: HashMap<String, Vec<u8>> = connection
                .hgetall(&self.keys.state)
                .await
                .map_err(redis_err)?;
            let state = State::parse(&state)?;
            let entries: u64 = connection
                .hlen(&self.keys.journal)
                .await
                .map_err(redis_err)?;
            self.update_stats(|stats| {
                let last_seq = stats.last_seq.max(state.seq);
                *stats = JournalStats {
                    entries,
                    last_seq,
                    ..state.stats()
                };
            });
            Ok(())
        })
    }

    fn stats(&self) -> JournalStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// Waits for the operations in flight; closing twice is harmless.
    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            *self.closed.write().await = true;
            Ok(())
        })
    }
}
