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
//!
//! Several servers may share one prefix ([`RedisStore::open_node`]), each under its own node
//! name `N`: they commit to the one journal, every commit of a delta is announced on the
//! channel `P:commits`, and each follows the others' commits ([`Store::read_after`]). A
//! node's own metadata (see [`super::NODE_META_PREFIXES`]) lives in `P:node:N:meta`, and the
//! node is held by one process at a time through the lease `P:node:N:lease` (see
//! [`super::redis_node`]), checked by every commit, so two processes never write as one
//! replica. A store written by a single server ([`RedisStore::open`]) keeps its metadata in
//! `P:meta`; the first node to open it adopts that server's identity.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, Script};

use super::redis_node::{LeaseOptions, NodeHandle};
use super::{Commit, JournalStats, Loaded, Store, StoreError, StoreFuture, Tail, redis_node};

/// The largest piece of a snapshot written in one command.
pub const SNAPSHOT_CHUNK_BYTES: usize = 8 << 20;
/// The layout of the keys this build reads and writes.
const FORMAT: &str = "1";

/// Checks the types of the keys a script touches, before it writes anything, so a damaged
/// key fails the script without a partial write.
const CHECK_TYPES: &str = r#"
local expected = {'hash', 'hash', 'zset', 'hash', 'hash'}
for i = 1, math.min(#KEYS, 5) do
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

/// KEYS: state, journal, journal index, meta, node meta, node lease. ARGV: delta, number of
/// metadata changes, lease holder ('' without a node), lease milliseconds, announcement
/// channel ('' for none), then per change `s key value` or `d key` (the shared metadata) or
/// `S key value` or `D key` (the node's). Returns the sequence number; refuses when another
/// process holds the node's lease (and takes the lease back when it expired).
const COMMIT: &str = r#"
local n = tonumber(ARGV[2])
if not n then return redis.error_reply('ERR bad metadata count') end
if ARGV[3] ~= '' then
  local holder = redis.call('GET', KEYS[6])
  if holder and holder ~= ARGV[3] then
    return redis.error_reply('LEASE the node is held by another process (' .. holder .. ')')
  end
  if not holder then redis.call('SET', KEYS[6], ARGV[3], 'PX', ARGV[4]) end
end
redis.call('HSETNX', KEYS[1], 'format', '1')
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local delta = ARGV[1]
if #delta > 0 then
  local field = string.format('%d', seq)
  redis.call('HSET', KEYS[2], field, delta)
  redis.call('ZADD', KEYS[3], seq, field)
  redis.call('HINCRBY', KEYS[1], 'journal_bytes', #delta)
  if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], seq) end
end
local i = 6
for _ = 1, n do
  local op = ARGV[i]
  local hash = KEYS[4]
  if op == 'S' or op == 'D' then hash = KEYS[5] end
  if op == 's' or op == 'S' then
    redis.call('HSET', hash, ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  else
    redis.call('HDEL', hash, ARGV[i + 1])
    i = i + 2
  end
end
return seq
"#;

/// KEYS: state, journal, journal index, meta. ARGV: position, byte budget. Returns the
/// sequence number read up to, `1` when a snapshot dropped entries after the position (a
/// gap) or `0`, then sequence number and delta of each entry after the position.
const READ_AFTER: &str = r#"
local after, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if tonumber(redis.call('HGET', KEYS[1], 'snap_seq') or '0') > after then
  return {string.format('%d', seq), '1'}
end
local limit = 1000
local fields = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf', 'LIMIT', 0, limit)
local out = {string.format('%d', seq), '0'}
local bytes = 0
for _, field in ipairs(fields) do
  local delta = redis.call('HGET', KEYS[2], field)
  if not delta then
    return redis.error_reply('CORRUPT journal entry ' .. field .. ' is indexed but missing')
  end
  if bytes > 0 and bytes + #delta > budget then
    out[1] = string.format('%d', tonumber(field) - 1)
    return out
  end
  bytes = bytes + #delta
  table.insert(out, field)
  table.insert(out, delta)
end
if #fields == limit then out[1] = fields[limit] end
return out
"#;

/// KEYS: meta, node meta. ARGV: the prefixes of node metadata keys. Moves those keys from
/// the single server's metadata to the node's when the node has none yet; returns how many
/// moved.
const ADOPT: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local moved = 0
for _, key in ipairs(redis.call('HKEYS', KEYS[1])) do
  for _, prefix in ipairs(ARGV) do
    if string.sub(key, 1, #prefix) == prefix then
      redis.call('HSET', KEYS[2], key, redis.call('HGET', KEYS[1], key))
      redis.call('HDEL', KEYS[1], key)
      moved = moved + 1
      break
    end
  end
end
return moved
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
    /// The node's metadata (the shared metadata without a node).
    node_meta: String,
    /// The node's lease (unused without a node).
    lease: String,
    /// Where commits are announced (`None` without a node).
    channel: Option<String>,
}

impl Keys {
    fn new(prefix: &str, node: Option<&str>) -> Self {
        let meta = format!("{prefix}:meta");
        Self {
            prefix: prefix.to_owned(),
            state: format!("{prefix}:state"),
            journal: format!("{prefix}:journal"),
            index: format!("{prefix}:journal:idx"),
            node_meta: node.map_or_else(|| meta.clone(), |n| format!("{prefix}:node:{n}:meta")),
            lease: node.map_or_else(String::new, |n| format!("{prefix}:node:{n}:lease")),
            channel: node.map(|_| format!("{prefix}:commits")),
            meta,
        }
    }

    fn snapshot(&self, generation: u64) -> String {
        format!("{}:snap:{generation}", self.prefix)
    }
}

/// The scripts, each with the type checks in front.
struct Scripts {
    commit: Script,
    read_after: Script,
    adopt: Script,
    begin_snapshot: Script,
    switch_snapshot: Script,
}

impl Scripts {
    fn new() -> Self {
        let script =
            |body: &str| Script::new(&format!("#!lua flags=no-cluster\n{CHECK_TYPES}\n{body}"));
        Self {
            commit: script(COMMIT),
            read_after: script(READ_AFTER),
            // It reads and writes metadata only; no type checks of the journal's keys.
            adopt: Script::new(&format!("#!lua flags=no-cluster\n{ADOPT}")),
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
    /// The node this process holds, when the store is shared.
    node: Option<NodeHandle>,
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
        Self::open_inner(url, key_prefix, None, options).await
    }

    /// Opens the store under `key_prefix` as the node `node`, one of several servers that
    /// share it: takes the node's lease (waiting for a crashed holder's to expire, refusing
    /// when a live process holds it), adopts a single server's identity left under the
    /// prefix, and listens for the other nodes' commits.
    pub async fn open_node(
        url: &str,
        key_prefix: &str,
        node: &str,
        options: RedisOptions,
        lease: LeaseOptions,
    ) -> Result<Self, StoreError> {
        Self::open_inner(url, key_prefix, Some((node, lease)), options).await
    }

    async fn open_inner(
        url: &str,
        key_prefix: &str,
        node: Option<(&str, LeaseOptions)>,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        if let Some((name, _)) = node {
            redis_node::check_name(name)?;
        }
        // The URL may carry a password: errors do not repeat it.
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Redis(format!("invalid Redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connection_timeout))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(2);
        let mut connection = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| StoreError::Redis(format!("cannot reach Redis: {e}")))?;
        let warnings = persistence_warnings(&mut connection).await;
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        let keys = Keys::new(key_prefix, node.map(|(n, _)| n));
        let scripts = Scripts::new();
        let node = match node {
            None => None,
            Some((name, lease)) => {
                let handle = NodeHandle::start(
                    &client,
                    &connection,
                    name,
                    &keys.lease,
                    keys.channel.clone().unwrap_or_default(),
                    lease,
                )
                .await?;
                let adopted: u64 = scripts
                    .adopt
                    .key(&keys.meta)
                    .key(&keys.node_meta)
                    .arg(super::NODE_META_PREFIXES)
                    .invoke_async(&mut connection)
                    .await
                    .map_err(redis_err)?;
                if adopted > 0 {
                    tracing::info!(node = name, "adopted the identity of the single server");
                }
                Some(handle)
            }
        };
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
            node,
            scripts,
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
            HashMap<String, Vec<u8>>,
        );
        let (state, chunks, journal, mut meta, node_meta): Reply = redis::pipe()
            .atomic()
            .hgetall(&self.keys.state)
            .hgetall(&snapshot_key)
            .hgetall(&self.keys.journal)
            .hgetall(&self.keys.meta)
            .hgetall(&self.keys.node_meta)
            .query_async(&mut connection)
            .await
            .map_err(redis_err)?;
        if self.node.is_some() {
            // The node's own metadata, never another node's (or a single server's) left in
            // the shared hash.
            meta.retain(|k, _| !super::is_node_meta(k));
            meta.extend(node_meta);
        }
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
            snapshot_seq: state.snapshot_seq(),
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

/// The reply of [`READ_AFTER`]: where it read up to, the gap flag, then the entries.
fn parse_tail(after: u64, reply: Vec<Vec<u8>>) -> Result<Tail, StoreError> {
    let mut items = reply.into_iter();
    let (Some(upto), Some(gap)) = (items.next(), items.next()) else {
        return Err(StoreError::Redis("a short answer to a journal read".into()));
    };
    let upto = parse_u64("journal read position", &upto)?.max(after);
    let mut entries = Vec::new();
    while let Some(field) = items.next() {
        let seq = parse_u64("journal field", &field)?;
        let delta = items
            .next()
            .ok_or_else(|| StoreError::Redis("a journal entry without its delta".into()))?;
        entries.push((seq, delta));
    }
    Ok(Tail {
        entries,
        upto,
        gap: gap == b"1",
    })
}

/// Script refusals marked `CORRUPT` and keys of the wrong type are damaged data; the rest is
/// Redis failing.
fn redis_err(error: RedisError) -> StoreError {
    match error.code() {
        Some("CORRUPT") => StoreError::Corrupt(error.detail().unwrap_or("damaged keys").to_owned()),
        Some("LEASE") => StoreError::Lease(error.detail().unwrap_or("lost").to_owned()),
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
            let (holder, lease_ms) = self.node.as_ref().map_or((String::new(), 0), |n| {
                (n.holder().to_owned(), n.lease_ms())
            });
            invocation
                .key(&self.keys.node_meta)
                .key(&self.keys.lease)
                .arg(commit.delta.as_slice())
                .arg(commit.meta.len())
                .arg(holder)
                .arg(lease_ms)
                .arg(self.keys.channel.as_deref().unwrap_or(""));
            for (key, value) in &commit.meta {
                let own = self.node.is_some() && super::is_node_meta(key);
                match (value, own) {
                    (Some(value), false) => invocation.arg("s").arg(key).arg(value.as_slice()),
                    (Some(value), true) => invocation.arg("S").arg(key).arg(value.as_slice()),
                    (None, false) => invocation.arg("d").arg(key),
                    (None, true) => invocation.arg("D").arg(key),
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

    fn shared(&self) -> bool {
        self.node.is_some()
    }

    fn read_after(&self, after: u64, budget: usize) -> StoreFuture<'_, Tail> {
        Box::pin(async move {
            let closed = self.closed.read().await;
            if *closed {
                return Err(StoreError::Closed);
            }
            let mut connection = self.connection.clone();
            let reply: Vec<Vec<u8>> = Scripts::invocation(&self.scripts.read_after, &self.keys)
                .arg(after)
                .arg(budget.max(1))
                .invoke_async(&mut connection)
                .await
                .map_err(redis_err)?;
            parse_tail(after, reply)
        })
    }

    fn read_meta<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            if self.node.is_none() || super::is_node_meta(key) {
                return Ok(None);
            }
            let mut connection = self.connection.clone();
            connection
                .hget(&self.keys.meta, key)
                .await
                .map_err(redis_err)
        })
    }

    fn announced(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.node.as_ref().map(NodeHandle::announced)
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// Waits for the operations in flight and gives the node's lease back; closing twice is
    /// harmless.
    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            *self.closed.write().await = true;
            if let Some(node) = &self.node {
                node.release(&self.connection, &self.keys.lease).await;
            }
            Ok(())
        })
    }
}
