//! Servers that share one Redis database, against a real `redis-server`: each under its own
//! node name and replica id, a write on one is readable on the other, the event stream gets
//! each change once, a node is held by one process at a time (a crashed holder on this host
//! is taken over at once), a single server's store is adopted by the first node, and the
//! journal is read after a position in bounded pieces that report a gap once a snapshot
//! dropped entries.

use crate::support::redis::RedisServer;
use crate::support::{Client, TestServer};
use horao_server::store::redis::{RedisOptions, RedisStore};
use horao_server::store::redis_node::LeaseOptions;
use horao_server::store::{Commit, Store, StoreError};
use horao_server::watch::events::EventsConfig;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const PREFIX: &str = "horao-shared";

pub(crate) async fn open_node(
    url: &str,
    node: &str,
    wait: Duration,
) -> Result<RedisStore, StoreError> {
    let lease = LeaseOptions {
        ttl: Duration::from_secs(15),
        wait,
    };
    RedisStore::open_node(url, PREFIX, node, RedisOptions::default(), lease).await
}

async fn node(url: &str, node: &str, events: &EventsConfig) -> TestServer {
    let store: Arc<dyn Store> = Arc::new(open_node(url, node, Duration::ZERO).await.unwrap());
    TestServer::start_config(store, |c| c.watch.events = Some(events.clone())).await
}

fn replica(s: &TestServer) -> u64 {
    s.running.state.node().id().0
}

async fn create(c: &Client, name: &str) -> String {
    let r = c
        .post("/api/v1/datacenters", &json!({ "name": name }))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// Waits until `c` reads datacenter `id` (with `name`); returns how long it took.
async fn readable(c: &Client, id: &str, name: &str) -> Duration {
    let began = Instant::now();
    loop {
        let r = c.get(&format!("/api/v1/datacenters/{id}")).await;
        if r.status == 200 && r.body["name"] == name {
            return began.elapsed();
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "datacenter {id} never became readable: {} {}",
            r.status,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The event stream as `(replica, id, op)` in order.
async fn events(url: &str) -> Vec<(String, String, String)> {
    crate::watch::events(url)
        .await
        .into_iter()
        .map(|(_, f)| (f["replica"].clone(), f["id"].clone(), f["op"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_on_one_redis_keep_one_model_under_their_own_node_names() {
    let redis = RedisServer::start();
    let url = redis.url();
    let config = EventsConfig {
        url: url.clone(),
        maxlen: 1000,
    };
    let a = node(&url, "a", &config).await;
    let b = node(&url, "b", &config).await;
    let (ra, rb) = (replica(&a), replica(&b));
    assert_ne!(ra, rb, "each node has its own replica id");
    assert!(a.running.state.store.shared() && b.running.state.store.shared());
    // Writes on either are readable on the other, without any gossip between them.
    let x = create(&a.admin, "x").await;
    let took = readable(&b.admin, &x, "x").await;
    let y = create(&b.admin, "y").await;
    readable(&a.admin, &y, "y").await;
    let r = a.admin.delete(&format!("/api/v1/datacenters/{x}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let began = Instant::now();
    while b
        .admin
        .get(&format!("/api/v1/datacenters/{x}"))
        .await
        .status
        != 404
    {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "the delete never reached b"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("a write on a was readable on b after {took:?}");
    // The feeds agree: the same head cursor on both once each has read the other.
    let head = |s: &TestServer| s.running.state.watch.head();
    let began = Instant::now();
    while head(&a) != head(&b) || a.running.state.follow.followed() < head(&b) {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "{} {}",
            head(&a),
            head(&b)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Each change is one event, published by the server that made it.
    let want = vec![
        (ra.to_string(), x.clone(), "put".to_string()),
        (rb.to_string(), y.clone(), "put".to_string()),
        (ra.to_string(), x.clone(), "delete".to_string()),
    ];
    let began = Instant::now();
    while events(&url).await.len() < want.len() {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "{:?}",
            events(&url).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(events(&url).await, want);
    // A restarted node keeps its replica id and reads what the other wrote meanwhile.
    a.stop().await;
    let z = create(&b.admin, "z").await;
    let a = node(&url, "a", &config).await;
    assert_eq!(replica(&a), ra);
    readable(&a.admin, &z, "z").await;
    readable(&a.admin, &y, "y").await;
    let w = create(&a.admin, "w").await;
    readable(&b.admin, &w, "w").await;
    // A token minted on one node is accepted by the other, which started before it existed.
    let tenant = b.minted(json!({"role": "tenant", "tenant": "acme"})).await;
    let on_a = a.client(tenant.token.as_deref());
    assert_eq!(on_a.get("/api/v1/datacenters").await.status, 200);
    assert_eq!(
        a.client(Some("not-a-token"))
            .get("/api/v1/datacenters")
            .await
            .status,
        401
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_is_held_by_one_process_at_a_time() {
    let redis = RedisServer::start();
    let url = redis.url();
    let first = open_node(&url, "n", Duration::ZERO).await.unwrap();
    first.commit(Commit::default()).await.unwrap();
    // A second holder of the same name is refused, naming the flag to set.
    let began = Instant::now();
    let second = open_node(&url, "n", Duration::from_millis(600)).await;
    let Err(StoreError::Lease(why)) = second else {
        panic!("a second holder was let in");
    };
    assert!(why.contains("--redis-node"), "{why}");
    assert!(began.elapsed() >= Duration::from_millis(600));
    // Another name is fine.
    let other = open_node(&url, "m", Duration::ZERO).await.unwrap();
    // Given back at close: the next holder gets it at once.
    first.close().await.unwrap();
    let third = open_node(&url, "n", Duration::ZERO).await.unwrap();
    third.commit(Commit::default()).await.unwrap();
    // A process that lost its lease cannot write as the node.
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let lease = format!("{PREFIX}:node:n:lease");
    let _: () = redis::cmd("SET")
        .arg(&lease)
        .arg("elsewhere 1 x")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(matches!(
        third.commit(Commit::default()).await,
        Err(StoreError::Lease(_))
    ));
    // A holder of this host whose process is gone is taken over at once (no waiting for
    // its lease to expire); 4194305 is above the largest pid Linux hands out.
    let host = horao_server::store::redis_node::hostname();
    let _: () = redis::cmd("SET")
        .arg(&lease)
        .arg(format!("{host} 4194305 x"))
        .arg("PX")
        .arg(60_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let fourth = open_node(&url, "n", Duration::ZERO).await.unwrap();
    fourth.commit(Commit::default()).await.unwrap();
    other.close().await.unwrap();
    fourth.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_servers_store_is_adopted_by_the_first_node() {
    let redis = RedisServer::start();
    let url = redis.url();
    let single: Arc<dyn Store> = Arc::new(RedisStore::open(&url, PREFIX).await.unwrap());
    let s = TestServer::start(single).await;
    let id = replica(&s);
    let x = create(&s.admin, "x").await;
    s.stop().await;
    let a = TestServer::start(Arc::new(
        open_node(&url, "a", Duration::ZERO).await.unwrap(),
    ))
    .await;
    assert_eq!(
        replica(&a),
        id,
        "the first node keeps the single server's identity"
    );
    readable(&a.admin, &x, "x").await;
    let b = TestServer::start(Arc::new(
        open_node(&url, "b", Duration::ZERO).await.unwrap(),
    ))
    .await;
    assert_ne!(replica(&b), id);
    readable(&b.admin, &x, "x").await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_is_read_after_a_position_in_bounded_pieces_with_gaps_reported() {
    let redis = RedisServer::start();
    let url = redis.url();
    let a = open_node(&url, "a", Duration::ZERO).await.unwrap();
    let b = open_node(&url, "b", Duration::ZERO).await.unwrap();
    let mut seqs = Vec::new();
    for i in 0..5u8 {
        let store = if i % 2 == 0 { &a } else { &b };
        let seq = store
            .commit(Commit {
                delta: vec![i; 100],
                meta: Vec::new(),
            })
            .await
            .unwrap();
        seqs.push(seq);
    }
    // A metadata-only commit takes a number and leaves no entry.
    let last = b
        .commit(Commit {
            delta: Vec::new(),
            meta: vec![("auth/x".into(), Some(b"1".to_vec()))],
        })
        .await
        .unwrap();
    let tail = a.read_after(0, 1 << 20).await.unwrap();
    assert!(!tail.gap);
    assert_eq!(tail.upto, last);
    let read: Vec<u64> = tail.entries.iter().map(|(s, _)| *s).collect();
    assert_eq!(read, seqs);
    assert_eq!(tail.entries[3].1, vec![3u8; 100]);
    // A budget of 250 bytes takes two entries, and says where it stopped.
    let tail = b.read_after(seqs[0], 250).await.unwrap();
    assert_eq!(tail.entries.len(), 2);
    assert_eq!(tail.upto, seqs[3] - 1);
    let tail = b.read_after(tail.upto, 250).await.unwrap();
    assert_eq!(tail.entries[0].0, seqs[3]);
    // A snapshot covering the third entry: reading from before it is a gap.
    a.write_snapshot(b"snapshot".to_vec(), seqs[2])
        .await
        .unwrap();
    assert!(b.read_after(seqs[0], 1 << 20).await.unwrap().gap);
    let tail = b.read_after(seqs[2], 1 << 20).await.unwrap();
    assert!(!tail.gap);
    assert_eq!(tail.entries.len(), 2);
    // Each node's own metadata stays its own; the shared metadata is seen by both.
    a.commit(Commit {
        delta: Vec::new(),
        meta: vec![("sync/state".into(), Some(b"a".to_vec()))],
    })
    .await
    .unwrap();
    let (la, lb) = (a.load().await.unwrap(), b.load().await.unwrap());
    assert_eq!(la.meta.get("sync/state"), Some(&b"a".to_vec()));
    assert_eq!(lb.meta.get("sync/state"), None);
    assert_eq!(lb.meta.get("auth/x"), Some(&b"1".to_vec()));
    assert_eq!(la.meta.get("auth/x"), Some(&b"1".to_vec()));
    assert_eq!(la.snapshot_seq, seqs[2]);
    a.close().await.unwrap();
    b.close().await.unwrap();
}
