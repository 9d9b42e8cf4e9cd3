//! The store contract, run against both stores (the embedded redb store and a real Redis):
//! round trips, metadata atomic with a delta, sequence numbers, snapshots (large ones too),
//! concurrent commits, closing and reopening, and damaged data reported as `Corrupt`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use horao_server::store::embedded::{EmbeddedOptions, EmbeddedStore, FILE_NAME};
use horao_server::store::redis::RedisStore;
use horao_server::store::{Commit, Store, StoreError};

use crate::support::redis::RedisServer;

const PREFIX: &str = "horao-test";

/// Where a test's store lives; it outlives every store opened on it.
enum Backend {
    Embedded(tempfile::TempDir, EmbeddedOptions),
    Redis(RedisServer),
}

impl Backend {
    fn embedded() -> Self {
        Self::Embedded(tempfile::tempdir().unwrap(), EmbeddedOptions::default())
    }

    fn redis() -> Self {
        Self::Redis(RedisServer::start())
    }

    async fn try_open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            Self::Embedded(dir, options) => Arc::new(EmbeddedStore::open(dir.path(), *options)?),
            Self::Redis(server) => Arc::new(RedisStore::open(&server.url(), PREFIX).await?),
        })
    }

    async fn open(&self) -> Arc<dyn Store> {
        self.try_open().await.unwrap()
    }

    /// Makes the stored snapshot header claim more chunks than were written.
    async fn damage_snapshot_header(&self) {
        match self {
            Self::Embedded(dir, _) => {
                let db = redb::Database::create(dir.path().join(FILE_NAME)).unwrap();
                let tx = db.begin_write().unwrap();
                {
                    let def: redb::TableDefinition<'_, &str, u64> =
                        redb::TableDefinition::new("state");
                    let mut state = tx.open_table(def).unwrap();
                    state.insert("snapshot_len", 1u64 << 40).unwrap();
                    state
                        .insert("snapshot_chunks", (1u64 << 40) / (8 << 20))
                        .unwrap();
                }
                tx.commit().unwrap();
            }
            Self::Redis(server) => {
                let mut redis = raw(server).await;
                ::redis::cmd("HSET")
                    .arg(format!("{PREFIX}:state"))
                    .arg("snap_len")
                    .arg(1u64 << 40)
                    .arg("snap_chunks")
                    .arg((1u64 << 40) / (8 << 20))
                    .exec_async(&mut redis)
                    .await
                    .unwrap();
            }
        }
    }
}

/// A plain connection to the test's Redis, to look at or damage the keys directly.
async fn raw(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
    ::redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn commit(delta: &[u8]) -> Commit {
    Commit {
        delta: delta.to_vec(),
        meta: Vec::new(),
    }
}

/// Runs each listed test once per store.
macro_rules! both_stores {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::embedded()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::redis()).await;
                }
            )*
        }
    };
}

both_stores!(
    commit_load_round_trip,
    metadata_changes_with_the_delta,
    sequence_numbers_increase,
    snapshot_replaces_the_covered_journal,
    big_snapshot_round_trip,
    concurrent_commits_are_all_durable_and_distinct,
    closed_store_refuses_everything,
    reopen_after_a_clean_close,
    damaged_data_is_corrupt_not_a_panic,
);

async fn commit_load_round_trip(backend: Backend) {
    let store = backend.open().await;
    let empty = store.load().await.unwrap();
    assert_eq!(empty.snapshot, None);
    assert!(empty.journal.is_empty() && empty.meta.is_empty());
    let mut expected = Vec::new();
    for i in 0..10u8 {
        let delta = vec![i; usize::from(i) * 100 + 1];
        let seq = store.commit(commit(&delta)).await.unwrap();
        expected.push((seq, delta));
    }
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.journal, expected);
    let stats = store.stats();
    assert_eq!(stats.entries, 10);
    assert_eq!(
        stats.bytes,
        expected.iter().map(|(_, d)| d.len() as u64).sum::<u64>()
    );
    assert_eq!(stats.last_seq, expected.last().unwrap().0);
    store.close().await.unwrap();
}

async fn metadata_changes_with_the_delta(backend: Backend) {
    let store = backend.open().await;
    let first = store
        .commit(Commit {
            delta: b"a".to_vec(),
            meta: vec![
                ("replica".into(), Some(b"r1".to_vec())),
                ("token".into(), Some(b"t1".to_vec())),
            ],
        })
        .await
        .unwrap();
    let second = store
        .commit(Commit {
            delta: b"b".to_vec(),
            meta: vec![
                ("token".into(), None),
                ("replica".into(), Some(b"r2".to_vec())),
            ],
        })
        .await
        .unwrap();
    // A metadata-only commit takes a sequence number but adds no journal entry.
    let third = store
        .commit(Commit {
            delta: Vec::new(),
            meta: vec![("peer".into(), Some(b"p".to_vec()))],
        })
        .await
        .unwrap();
    assert!(first < second && second < third);
    let loaded = store.load().await.unwrap();
    assert_eq!(
        loaded.journal,
        vec![(first, b"a".to_vec()), (second, b"b".to_vec())]
    );
    let meta: BTreeMap<String, Vec<u8>> = [
        ("peer".to_owned(), b"p".to_vec()),
        ("replica".to_owned(), b"r2".to_vec()),
    ]
    .into();
    assert_eq!(loaded.meta, meta);
    store.close().await.unwrap();
}

async fn sequence_numbers_increase(backend: Backend) {
    let store = backend.open().await;
    let mut last = 0;
    for i in 0..50u32 {
        let seq = store.commit(commit(&i.to_le_bytes())).await.unwrap();
        assert!(seq > last, "sequence {seq} after {last}");
        last = seq;
    }
    assert_eq!(store.stats().last_seq, last);
    store.close().await.unwrap();
}

async fn snapshot_replaces_the_covered_journal(backend: Backend) {
    let store = backend.open().await;
    let mut seqs = Vec::new();
    for i in 1..=5u8 {
        seqs.push(store.commit(commit(&[i])).await.unwrap());
    }
    store
        .write_snapshot(b"state@3".to_vec(), seqs[2])
        .await
        .unwrap();
    let later = store.commit(commit(&[6])).await.unwrap();
    let expected_journal = vec![(seqs[3], vec![4]), (seqs[4], vec![5]), (later, vec![6])];
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.snapshot.as_deref(), Some(&b"state@3"[..]));
    assert_eq!(loaded.journal, expected_journal);
    let stats = store.stats();
    assert_eq!((stats.snapshot_seq, stats.snapshot_bytes), (seqs[2], 7));
    assert_eq!((stats.entries, stats.bytes, stats.last_seq), (3, 3, later));

    // An older snapshot than the stored one is ignored: it would lose entries 4 and 5's
    // predecessors, which the stored one already dropped.
    store
        .write_snapshot(b"state@1".to_vec(), seqs[0])
        .await
        .unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.snapshot.as_deref(), Some(&b"state@3"[..]));
    assert_eq!(loaded.journal, expected_journal);

    // A newer one replaces it, and survives a reopen.
    store
        .write_snapshot(b"state@5".to_vec(), seqs[4])
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);
    let store = backend.open().await;
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.snapshot.as_deref(), Some(&b"state@5"[..]));
    assert_eq!(loaded.journal, vec![(later, vec![6])]);
    assert_eq!(store.stats().entries, 1);
    assert_eq!(store.stats().snapshot_seq, seqs[4]);
    store.close().await.unwrap();
}

async fn big_snapshot_round_trip(backend: Backend) {
    let store = backend.open().await;
    let upto = store.commit(commit(b"before")).await.unwrap();
    // 41 MiB that no chunk boundary could shuffle unnoticed.
    let big: Vec<u8> = (0..41u64 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    store.write_snapshot(big.clone(), upto).await.unwrap();
    store.close().await.unwrap();
    drop(store);
    let store = backend.open().await;
    let loaded = store.load().await.unwrap();
    assert!(
        loaded.snapshot.as_ref() == Some(&big),
        "the snapshot came back different"
    );
    assert!(loaded.journal.is_empty());
    assert_eq!(store.stats().snapshot_bytes, big.len() as u64);
    store.close().await.unwrap();
}

async fn concurrent_commits_are_all_durable_and_distinct(backend: Backend) {
    let store = backend.open().await;
    let mut tasks = Vec::new();
    for writer in 0..16u32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..40u32 {
                let delta = format!("w{writer}-i{i}").into_bytes();
                let seq = store.commit(commit(&delta)).await.unwrap();
                acked.push((seq, delta));
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for task in tasks {
        acked.extend(task.await.unwrap());
    }
    let seqs: BTreeSet<u64> = acked.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs.len(),
        acked.len(),
        "two commits got the same sequence number"
    );
    store.close().await.unwrap();
    drop(store);
    let store = backend.open().await;
    let mut loaded = store.load().await.unwrap().journal;
    acked.sort();
    loaded.sort();
    assert_eq!(loaded, acked);
    store.close().await.unwrap();
}

async fn closed_store_refuses_everything(backend: Backend) {
    let store = backend.open().await;
    store.commit(commit(b"x")).await.unwrap();
    store.close().await.unwrap();
    assert!(matches!(
        store.commit(commit(b"y")).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(store.load().await, Err(StoreError::Closed)));
    assert!(matches!(
        store.write_snapshot(b"s".to_vec(), 1).await,
        Err(StoreError::Closed)
    ));
    store.close().await.unwrap();
}

async fn reopen_after_a_clean_close(backend: Backend) {
    let store = backend.open().await;
    let a = store
        .commit(Commit {
            delta: b"a".to_vec(),
            meta: vec![("k".into(), Some(b"v".to_vec()))],
        })
        .await
        .unwrap();
    let stats = store.stats();
    store.close().await.unwrap();
    drop(store);
    let store = backend.open().await;
    assert_eq!(store.stats(), stats);
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.journal, vec![(a, b"a".to_vec())]);
    assert_eq!(loaded.meta.get("k").map(Vec::as_slice), Some(&b"v"[..]));
    let b = store.commit(commit(b"b")).await.unwrap();
    assert!(b > a, "sequence {b} reused after reopen (had {a})");
    store.close().await.unwrap();
}

async fn damaged_data_is_corrupt_not_a_panic(backend: Backend) {
    let store = backend.open().await;
    let seq = store.commit(commit(b"a")).await.unwrap();
    store.write_snapshot(b"snap".to_vec(), seq).await.unwrap();
    store.close().await.unwrap();
    drop(store);
    backend.damage_snapshot_header().await;
    let outcome = match backend.try_open().await {
        Ok(store) => store.load().await.map(drop),
        Err(e) => Err(e),
    };
    assert!(
        matches!(outcome, Err(StoreError::Corrupt(_))),
        "expected Corrupt, got {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_garbage_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..1u32 << 16)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    std::fs::write(dir.path().join(FILE_NAME), garbage).unwrap();
    let outcome = EmbeddedStore::open(dir.path(), EmbeddedOptions::default());
    assert!(
        matches!(outcome, Err(StoreError::Corrupt(_))),
        "expected Corrupt, got {:?}",
        outcome.map(|_| ())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_flipped_bytes_are_corrupt_or_harmless() {
    // Damage every 4 KiB page of a written database in turn: opening and loading must not
    // panic, and must either say Corrupt or return every commit.
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
    for i in 0..200u32 {
        store.commit(commit(&[i as u8; 700])).await.unwrap();
    }
    store.close().await.unwrap();
    drop(store);
    let path = dir.path().join(FILE_NAME);
    let pristine = std::fs::read(&path).unwrap();
    let mut errors = 0;
    for page in (0..pristine.len()).step_by(4096).skip(1) {
        let mut damaged = pristine.clone();
        for byte in &mut damaged[page + 100..(page + 164).min(pristine.len())] {
            *byte ^= 0x5a;
        }
        std::fs::write(&path, &damaged).unwrap();
        // Either the damage is reported as such, or it hit a page holding nothing live and
        // every commit is there: never a silent loss.
        match EmbeddedStore::open(dir.path(), EmbeddedOptions::default()) {
            Ok(store) => {
                match store.load().await {
                    Ok(loaded) => assert_eq!(loaded.journal.len(), 200, "page {page}"),
                    Err(StoreError::Corrupt(_)) => errors += 1,
                    Err(e) => panic!("page {page}: load failed with {e}, not Corrupt"),
                }
                store.close().await.unwrap();
            }
            Err(StoreError::Corrupt(_)) => errors += 1,
            Err(e) => panic!("page {page}: open failed with {e}, not Corrupt"),
        }
    }
    assert!(errors > 0, "no damaged page was noticed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_small_queue_applies_backpressure_without_losing_commits() {
    for group_commit in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let options = EmbeddedOptions {
            group_commit,
            queue_capacity: 1,
            max_batch: 4,
        };
        let store = Arc::new(EmbeddedStore::open(dir.path(), options).unwrap());
        let tasks: Vec<_> = (0..64u32)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.commit(commit(&i.to_le_bytes())).await })
            })
            .collect();
        let mut seqs = BTreeSet::new();
        for task in tasks {
            seqs.insert(task.await.unwrap().unwrap());
        }
        assert_eq!(seqs.len(), 64);
        assert_eq!(store.load().await.unwrap().journal.len(), 64);
        store.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let second = EmbeddedStore::open(dir.path(), EmbeddedOptions::default());
    assert!(matches!(second, Err(StoreError::Embedded(_))));
    store.close().await.unwrap();
    drop(store);
    EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_warns_when_appendonly_is_off() {
    let off = RedisServer::start_with(&["--appendonly", "no"]);
    let store = RedisStore::open(&off.url(), PREFIX).await.unwrap();
    let warnings = store.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("appendonly no")),
        "no appendonly warning in {warnings:?}"
    );
    let everysec = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let store = RedisStore::open(&everysec.url(), PREFIX).await.unwrap();
    let warnings = store.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("appendfsync everysec")),
        "no appendfsync warning in {warnings:?}"
    );
    let on = RedisServer::start();
    let store = RedisStore::open(&on.url(), PREFIX).await.unwrap();
    assert_eq!(store.warnings(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_without_config_warns_that_persistence_was_not_checked() {
    let server =
        RedisServer::start_with(&["--appendonly", "yes", "--rename-command", "CONFIG", ""]);
    let store = RedisStore::open(&server.url(), PREFIX).await.unwrap();
    let warnings = store.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("could not check Redis persistence")),
        "no warning in {warnings:?}"
    );
    // The store works all the same.
    store.commit(commit(b"a")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_bad_url_and_unreachable_server_are_typed_errors() {
    let bad = RedisStore::open("definitely not a url", PREFIX).await;
    assert!(
        matches!(&bad, Err(StoreError::Redis(m)) if m.contains("invalid Redis URL")),
        "{:?}",
        bad.map(|_| ())
    );
    // A port nothing listens on: take a free one and stop the server on it.
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill();
    let unreachable = RedisStore::open(&url, PREFIX).await;
    assert!(
        matches!(&unreachable, Err(StoreError::Redis(m)) if m.contains("cannot reach Redis")),
        "{:?}",
        unreachable.map(|_| ())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_wrong_key_type_fails_the_commit_whole() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url(), PREFIX).await.unwrap();
    let first = store.commit(commit(b"a")).await.unwrap();
    let mut redis = raw(&server).await;
    ::redis::cmd("SET")
        .arg(format!("{PREFIX}:meta"))
        .arg("not a hash")
        .exec_async(&mut redis)
        .await
        .unwrap();
    let failed = store
        .commit(Commit {
            delta: b"b".to_vec(),
            meta: vec![("k".into(), Some(b"v".to_vec()))],
        })
        .await;
    assert!(
        matches!(failed, Err(StoreError::Corrupt(_))),
        "expected Corrupt, got {failed:?}"
    );
    // Nothing of the failed commit was applied: no sequence number, no journal entry.
    ::redis::cmd("DEL")
        .arg(format!("{PREFIX}:meta"))
        .exec_async(&mut redis)
        .await
        .unwrap();
    let next = store.commit(commit(b"c")).await.unwrap();
    assert_eq!(next, first + 1);
    let loaded = store.load().await.unwrap();
    assert_eq!(
        loaded.journal,
        vec![(first, b"a".to_vec()), (next, b"c".to_vec())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_keeps_every_acknowledged_commit() {
    let mut server = RedisServer::start();
    let store = RedisStore::open(&server.url(), PREFIX).await.unwrap();
    let mut acked = Vec::new();
    for i in 0..100u32 {
        let delta = i.to_le_bytes().to_vec();
        acked.push((store.commit(commit(&delta)).await.unwrap(), delta));
    }
    store
        .write_snapshot(b"s".to_vec(), acked[49].0)
        .await
        .unwrap();
    drop(store);
    server.restart();
    let store = RedisStore::open(&server.url(), PREFIX).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.snapshot.as_deref(), Some(&b"s"[..]));
    assert_eq!(loaded.journal, acked[50..].to_vec());
}
