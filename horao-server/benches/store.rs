//! Acknowledged writes per second of the stores, with 1, 16 and 64 concurrent writers: the
//! embedded store with group commit, the embedded store with one fsync per write (group commit
//! off), and Redis (a real `redis-server` with `appendonly yes` and `appendfsync always`, the
//! durable configuration, then `everysec`, Redis's default; started by the bench in its own
//! temporary directory; the Debian package `redis-server`). Each write is a 200-byte delta
//! plus one metadata key, acknowledged only once durable.
//!
//! `cargo bench -p horao-server --bench store` for the figures (criterion reports them as
//! elements/s = acknowledged writes/s); under `-- --test` (CI) each runs once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A bench fails by panicking.

#[allow(dead_code)] // The bench starts and stops a server; it needs no restart.
#[path = "../tests/it/support/redis.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use horao_server::store::embedded::{EmbeddedOptions, EmbeddedStore};
use horao_server::store::redis::RedisStore;
use horao_server::store::{Commit, Store};

const WRITERS: [usize; 3] = [1, 16, 64];

/// Runs `total` commits spread over `writers` concurrent tasks; returns once all are acked.
async fn commit_all(store: &Arc<dyn Store>, writers: usize, total: usize) {
    let per_writer = total.div_ceil(writers);
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                for i in 0..per_writer {
                    let commit = Commit {
                        delta: vec![(writer + i) as u8; 200],
                        meta: vec![(format!("w{writer}"), Some(i.to_le_bytes().to_vec()))],
                    };
                    store.commit(commit).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

fn bench_store(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    store: &Arc<dyn Store>,
    commits_per_iteration: usize,
) {
    let mut group = c.benchmark_group("store_commit");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for writers in WRITERS {
        let total = commits_per_iteration.max(writers);
        let total = total.div_ceil(writers) * writers;
        group.throughput(Throughput::Elements(total as u64));
        group.bench_function(BenchmarkId::new(name, writers), |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iterations {
                        commit_all(store, writers, total).await;
                    }
                    started.elapsed()
                })
            });
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    for (name, group_commit, per_iteration) in [
        ("embedded-group-commit", true, 512),
        ("embedded-fsync-per-write", false, 64),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let options = EmbeddedOptions {
            group_commit,
            ..EmbeddedOptions::default()
        };
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path(), options).unwrap());
        bench_store(&mut c, &runtime, name, &store, per_iteration);
        runtime.block_on(store.close()).unwrap();
    }

    for fsync in ["always", "everysec"] {
        let server =
            redis_server::RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", fsync]);
        let store: Arc<dyn Store> = Arc::new(
            runtime
                .block_on(RedisStore::open(&server.url(), "horao-bench"))
                .unwrap(),
        );
        let name = format!("redis-appendfsync-{fsync}");
        bench_store(&mut c, &runtime, &name, &store, 512);
        runtime.block_on(store.close()).unwrap();
    }

    c.final_summary();
}
