//! kill -9 of the real `horao-server` binary mid-stream of acknowledged writes, once per
//! durable store: after the restart every acknowledged write is there and nothing is
//! half-applied. `scripts/kill9-server.sh` does the same 20 times per store.

use crate::support::kill9::{Harness, Target};
use crate::support::redis::RedisServer;
use std::path::Path;
use std::time::Duration;

async fn kill_and_restart(target: Target) {
    let mut h = Harness::new(Path::new(env!("CARGO_BIN_EXE_horao-server")), target, 4);
    let store = h.store();
    let first = h.round(Duration::from_millis(700)).await;
    assert_eq!(first.acked, 0);
    let check = h.finish().await;
    assert!(
        check.acked > 0,
        "{store}: no write was acknowledged before the kill"
    );
    assert!(check.lost.is_empty(), "{store}: lost {:?}", check.lost);
    assert!(
        check.torn.is_empty(),
        "{store}: half-applied {:?}",
        check.torn
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_of_the_server_loses_no_acknowledged_write_embedded() {
    let dir = tempfile::tempdir().unwrap();
    kill_and_restart(Target::Embedded(dir.path().join("data"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_of_the_server_loses_no_acknowledged_write_redis() {
    kill_and_restart(Target::Redis(RedisServer::start())).await;
}
