//! The watch feed and the Redis event stream, against real in-process servers on loopback:
//! resuming from a cursor misses and repeats nothing (across a restart, and through a resync
//! when the history no longer holds the cursor), tenants and agents see only theirs, a
//! watcher that stops reading holds no more than its bound, idle watchers get progress
//! frames, bad queries are refused before the upgrade, and every change lands in
//! `horao:events`; a full state merged from a peer resyncs every watcher.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::{ADMIN, Client, TestServer, stores};
use horao_server::state::StateConfig;
use horao_server::watch::events::{EventsConfig, STREAM_KEY};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a frame may take before the test fails.
const FRAME_DEADLINE: Duration = Duration::from_secs(20);

fn quick(c: &mut StateConfig) {
    c.watch.progress_interval = Duration::from_millis(200);
}

fn request(
    s: &TestServer,
    token: &str,
    query: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!("ws://{}/api/v1/watch{query}", s.running.addr);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

/// A client of the feed that keeps what it was told, checking the protocol as it goes.
struct Feed {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    cursor: u64,
    objects: BTreeMap<(String, String), Value>,
    /// Every `(kind, id)` a change record named.
    named: BTreeSet<(String, String)>,
    /// Every `(kind, id)` a `leave` record named (it left the view without being deleted).
    left: BTreeSet<(String, String)>,
    resyncs: usize,
    progress: usize,
    snapshotting: bool,
    /// The feed named by the last snapshot's end.
    feed: Option<String>,
}

impl Feed {
    async fn open(s: &TestServer, token: &str, query: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(request(s, token, query))
            .await
            .unwrap();
        Feed {
            ws,
            cursor: 0,
            objects: BTreeMap::new(),
            named: BTreeSet::new(),
            left: BTreeSet::new(),
            resyncs: 0,
            progress: 0,
            snapshotting: false,
            feed: None,
        }
    }

    async fn frame(&mut self) -> Value {
        loop {
            let m =
                tokio::time::timeout(FRAME_DEADLINE, futures_util::StreamExt::next(&mut self.ws))
                    .await
                    .expect("a frame in time")
                    .expect("the feed is open")
                    .unwrap();
            match m {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(c) => panic!("the feed closed: {c:?}"),
                _ => {}
            }
        }
    }

    fn apply(&mut self, f: &Value) {
        if let Some(c) = f["progress"].as_u64() {
            assert!(c >= self.cursor, "progress went back: {f}");
            self.cursor = c;
            self.progress += 1;
        } else if f.get("resync_required").is_some() {
            self.resyncs += 1;
            self.objects.clear();
            self.snapshotting = true;
        } else if let Some(snap) = f.get("snapshot") {
            if !self.snapshotting {
                self.objects.clear();
                self.snapshotting = true;
            }
            for r in snap["records"].as_array().unwrap() {
                assert_eq!(r["op"], "put", "{r}");
                assert_eq!(r["cursor"], snap["cursor"], "{r}");
                self.put(r);
            }
        } else if let Some(end) = f.get("snapshot_end") {
            if !self.snapshotting {
                self.objects.clear();
            }
            self.snapshotting = false;
            self.cursor = end["cursor"].as_u64().unwrap();
            self.feed = end["feed"].as_str().map(String::from);
        } else {
            let c = f["cursor"].as_u64().unwrap();
            assert!(
                c > self.cursor,
                "cursor {c} after {}: a duplicate or disorder",
                self.cursor
            );
            let records = f["records"].as_array().unwrap();
            assert!(!records.is_empty(), "{f}");
            for r in records {
                assert_eq!(r["cursor"], c, "{r}");
                let key = (
                    r["kind"].as_str().unwrap().to_string(),
                    r["id"].as_str().unwrap().to_string(),
                );
                self.named.insert(key.clone());
                match r["op"].as_str().unwrap() {
                    "put" => self.put(r),
                    "delete" => {
                        assert!(r["object"].is_null());
                        self.objects.remove(&key);
                    }
                    "leave" => {
                        assert!(r["object"].is_null());
                        self.objects.remove(&key);
                        self.left.insert(key);
                    }
                    op => panic!("op {op}"),
                }
            }
            self.cursor = c;
        }
    }

    fn put(&mut self, r: &Value) {
        let key = (
            r["kind"].as_str().unwrap().to_string(),
            r["id"].as_str().unwrap().to_string(),
        );
        self.objects.insert(key, r["object"].clone());
    }

    /// Reads until the feed's cursor reaches the server's head.
    async fn follow(&mut self, s: &TestServer) {
        let head = s.running.state.watch.head();
        while self.cursor < head || self.snapshotting {
            let f = self.frame().await;
            self.apply(&f);
        }
    }

    /// The objects of `kind` the feed holds.
    fn of(&self, kind: &str) -> BTreeMap<String, Value> {
        self.objects
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|((_, id), v)| (id.clone(), v.clone()))
            .collect()
    }
}

/// Every item of `path` as `client` lists it, by id.
async fn listed(client: &Client, path: &str) -> BTreeMap<String, Value> {
    let r = client.get(&format!("{path}?limit=1000")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

async fn datacenter(c: &Client, name: &str) -> String {
    let r = c.post("/api/v1/datacenters", &json!({"name": name})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_misses_nothing_across_restart_and_history_overflow() {
    for kind in stores() {
        let home = kind.home();
        let tweak = |c: &mut StateConfig| {
            quick(c);
            c.watch.history_bytes = 16 << 10;
        };
        let s = TestServer::start_config(home.open(), tweak).await;
        let mut feed = Feed::open(&s, crate::support::ADMIN, "?kinds=datacenter").await;
        feed.follow(&s).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(datacenter(&s.admin, &format!("dc{i}")).await);
        }
        feed.follow(&s).await;
        assert_eq!(
            feed.of("datacenter"),
            listed(&s.admin, "/api/v1/datacenters").await,
            "{}",
            kind.name
        );
        let c1 = feed.cursor;
        let kept = feed.objects.clone();
        drop(feed);
        // Missed while away: creations, a change and a deletion; then a restart.
        for i in 5..8 {
            ids.push(datacenter(&s.admin, &format!("dc{i}")).await);
        }
        let r = s
            .admin
            .patch(
                &format!("/api/v1/datacenters/{}", ids[1]),
                &json!({"site": "Lisbon"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            s.admin
                .delete(&format!("/api/v1/datacenters/{}", ids[0]))
                .await
                .status,
            204
        );
        let head = s.running.state.watch.head();
        assert!(head > c1);
        s.stop().await;
        let s = TestServer::start_config(home.open(), tweak).await;
        assert_eq!(
            s.running.state.watch.head(),
            head,
            "{}: the history is refilled from the journal",
            kind.name
        );
        let mut feed = Feed::open(
            &s,
            crate::support::ADMIN,
            &format!("?kinds=datacenter&since={c1}"),
        )
        .await;
        feed.cursor = c1;
        feed.objects = kept;
        feed.follow(&s).await;
        assert_eq!(feed.resyncs, 0, "{}: the cursor is covered", kind.name);
        assert_eq!(
            feed.of("datacenter"),
            listed(&s.admin, "/api/v1/datacenters").await,
            "{}",
            kind.name
        );
        assert_eq!(feed.of("datacenter")[&ids[1]]["site"], "Lisbon");
        let named: BTreeSet<String> = feed.named.iter().map(|(_, id)| id.clone()).collect();
        let expect: BTreeSet<String> = [&ids[0], &ids[1], &ids[5], &ids[6], &ids[7]]
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(
            named, expect,
            "{}: exactly the changes after the cursor",
            kind.name
        );
        // A new change after the restart has a later cursor.
        datacenter(&s.admin, "after-restart").await;
        feed.follow(&s).await;
        assert!(
            feed.cursor > head,
            "{}: cursors grow across a restart",
            kind.name
        );
        let c2 = feed.cursor;
        drop(feed);
        // More changes than the history holds (and than the journal keeps before a snapshot).
        for i in 0..80 {
            datacenter(&s.admin, &format!("bulk{i}")).await;
        }
        let stats = s.running.state.watch.stats();
        assert!(
            stats.base > c2,
            "{}: the history moved past the cursor: {stats:?}",
            kind.name
        );
        assert!(stats.history_bytes <= 16 << 10, "{stats:?}");
        let mut feed = Feed::open(
            &s,
            crate::support::ADMIN,
            &format!("?kinds=datacenter&since={c2}"),
        )
        .await;
        feed.cursor = c2;
        feed.follow(&s).await;
        assert_eq!(feed.resyncs, 1, "{}: told to resync", kind.name);
        assert_eq!(
            feed.of("datacenter"),
            listed(&s.admin, "/api/v1/datacenters").await,
            "{}: the snapshot is the state",
            kind.name
        );
        datacenter(&s.admin, "after-resync").await;
        feed.follow(&s).await;
        assert_eq!(
            feed.of("datacenter"),
            listed(&s.admin, "/api/v1/datacenters").await
        );
        let head = s.running.state.watch.head();
        drop(feed);
        // After compaction and a restart, cursors still grow.
        assert!(
            s.running.state.store.stats().snapshot_seq > c2,
            "{}: a snapshot was written",
            kind.name
        );
        s.stop().await;
        let s = TestServer::start_config(home.open(), tweak).await;
        datacenter(&s.admin, "after-compaction").await;
        assert!(
            s.running.state.watch.head() > head,
            "{}: cursors grow across compaction and restart",
            kind.name
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_see_only_theirs() {
    let home = stores()[0].home();
    let s = TestServer::start_config(home.open(), quick).await;
    let c = &s.admin;
    let mut tenants = Vec::new();
    for name in ["acme", "globex"] {
        let r = c
            .post("/api/v1/tenants", &json!({"name": name, "owner": "o"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        tenants.push(r.body["id"].as_str().unwrap().to_string());
    }
    let acme = s
        .minted(json!({"role": "tenant", "tenant": tenants[0]}))
        .await;
    let globex = s
        .minted(json!({"role": "tenant", "tenant": tenants[1]}))
        .await;
    let res = |client: Client, name: &'static str, tenant: Option<String>| async move {
        let mut body = json!({"name": name});
        if let Some(t) = tenant {
            body["tenant"] = json!(t);
        }
        let r = client.post("/api/v1/resources", &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    };
    let a1 = res(acme.clone(), "a1", Some(tenants[0].clone())).await;
    let mut feed = Feed::open(&s, acme.token.as_deref().unwrap(), "").await;
    feed.follow(&s).await;
    let a2 = res(acme.clone(), "a2", Some(tenants[0].clone())).await;
    let g1 = res(globex.clone(), "g1", Some(tenants[1].clone())).await;
    let shared = res(c.clone(), "shared", None).await;
    datacenter(c, "dc").await;
    let r = acme.delete(&format!("/api/v1/resources/{a1}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        globex
            .delete(&format!("/api/v1/resources/{g1}"))
            .await
            .status,
        204
    );
    feed.follow(&s).await;
    assert_eq!(
        feed.of("resource"),
        listed(&acme, "/api/v1/resources").await
    );
    assert_eq!(feed.of("resource").keys().collect::<Vec<_>>(), vec![&a2]);
    assert_eq!(
        feed.of("tenant").keys().collect::<Vec<_>>(),
        vec![&tenants[0]]
    );
    assert_eq!(
        feed.of("datacenter").len(),
        1,
        "kinds every role reads are on the feed"
    );
    for id in [&g1, &shared, &tenants[1]] {
        assert!(
            !feed.named.iter().any(|(_, n)| n == id),
            "{id} leaked to another tenant"
        );
    }
    assert!(
        feed.named.contains(&("resource".to_string(), a1)),
        "its own deletion is on the feed"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_their_machine_and_its_volumes() {
    let home = stores()[0].home();
    let s = TestServer::start_config(home.open(), quick).await;
    let c = &s.admin;
    let mut agents = Vec::new();
    for (m, disk) in [("st1", "a"), ("st2", "b")] {
        let agent = s.minted(json!({"role": "agent", "machine": m})).await;
        let r = agent
            .put(
                &format!("/api/v1/machines/{m}"),
                &json!({"labels": {"disk": disk}, "state": "ready", "capacity_bytes": 1_000_000u64, "used_bytes": 0}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        agents.push(agent);
    }
    let volume = |name: &'static str, disk: &'static str| async move {
        let r = c
            .post(
                "/api/v1/volumes",
                &json!({"name": name, "size_bytes": 1000, "require_labels": {"disk": disk}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    };
    let v1 = volume("v1", "a").await;
    let token = agents[0].token.clone().unwrap();
    let mut feed = Feed::open(&s, &token, "").await;
    feed.follow(&s).await;
    assert_eq!(
        feed.of("volume").keys().collect::<Vec<_>>(),
        vec![&v1],
        "the snapshot"
    );
    let v2 = volume("v2", "b").await;
    let v3 = volume("v3", "a").await;
    // Images taken from a volume are made on that volume's machine: st1 sees the one of v3,
    // not the one of v2.
    let image = |name: &'static str, from: String| async move {
        let r = c
            .post(
                "/api/v1/images",
                &json!({"name": name, "size_bytes": 1000, "from_volume": from}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    };
    let i3 = image("i3", v3.clone()).await;
    let i2 = image("i2", v2.clone()).await;
    datacenter(c, "dc").await;
    assert_eq!(c.delete(&format!("/api/v1/volumes/{v1}")).await.status, 204);
    feed.follow(&s).await;
    let keys: Vec<_> = feed.objects.keys().cloned().collect();
    let expect = vec![
        ("image".to_string(), i3.clone()),
        ("machine".to_string(), "st1".to_string()),
        ("volume".to_string(), v1.clone()),
        ("volume".to_string(), v3.clone()),
    ];
    let mut expect = expect;
    expect.sort();
    assert_eq!(keys, expect);
    assert_eq!(
        feed.of("volume")[&v1]["desired_state"],
        "deleting",
        "{:?}",
        feed.of("volume")[&v1]
    );
    assert!(
        !feed
            .named
            .iter()
            .any(|(k, id)| id == &v2 || id == &i2 || k == "datacenter")
    );
    // Another machine's feed is refused.
    let r = tokio_tungstenite::connect_async(request(&s, &token, "?machine=st2")).await;
    match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_volume_is_placed_again_and_leaves_the_first_agents_feed() {
    let home = stores()[0].home();
    let s = TestServer::start_config(home.open(), quick).await;
    let c = &s.admin;
    let mut agents = BTreeMap::new();
    for m in ["st1", "st2"] {
        let agent = s.minted(json!({"role": "agent", "machine": m})).await;
        let r = agent
            .put(
                &format!("/api/v1/machines/{m}"),
                &json!({"labels": {"disk": "a"}, "state": "ready", "capacity_bytes": 1_000_000u64, "used_bytes": 0}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        agents.insert(m, agent);
    }
    let r = c
        .post("/api/v1/volumes", &json!({"name": "v", "size_bytes": 1000}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let first = r.body["machine"].as_str().unwrap().to_string();
    let other = if first == "st1" { "st2" } else { "st1" };
    let mut feed = Feed::open(&s, &agents[first.as_str()].token.clone().unwrap(), "").await;
    feed.follow(&s).await;
    assert!(feed.of("volume").contains_key(&id));

    // Its agent has no room for it: the report stands, and the server places it elsewhere.
    let rejected = json!({"state": "rejected", "reason": "needs 1000 bytes of quota; 0 left"});
    let r = agents[first.as_str()]
        .put(&format!("/api/v1/volumes/{id}/current"), &rejected)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["machine"], other, "{}", r.body);
    assert_eq!(r.body["desired_state"], "ready", "{}", r.body);
    assert_eq!(r.body["rejected_by"], json!([first]), "{}", r.body);
    feed.follow(&s).await;
    let key = ("volume".to_string(), id.clone());
    assert!(feed.left.contains(&key), "a leave, not a delete");
    assert!(!feed.of("volume").contains_key(&id));

    // The other machine rejects it too: nothing else can hold it, so it stays there,
    // rejected with its agent's reason, and the report is still accepted.
    let r = agents[other]
        .put(&format!("/api/v1/volumes/{id}/current"), &rejected)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["machine"], other, "{}", r.body);
    assert_eq!(r.body["current"]["state"], "rejected", "{}", r.body);
    // Nothing was placed, so the list of machines left out is the one of its placement here;
    // this machine's refusal is its current report (and joins the list at the next placement).
    assert_eq!(r.body["rejected_by"], json!([first]), "{}", r.body);

    // A deleted volume is a delete on the feed of the machine that holds it.
    let mut feed = Feed::open(&s, &agents[other].token.clone().unwrap(), "").await;
    feed.follow(&s).await;
    assert_eq!(c.delete(&format!("/api/v1/volumes/{id}")).await.status, 204);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_watcher_stays_within_its_bound() {
    const QUEUE: usize = 16 << 10;
    let home = stores()[0].home();
    let s = TestServer::start_config(home.open(), |c| {
        c.watch.queue_bytes = QUEUE;
        c.watch.ping_interval = Duration::from_secs(600);
        c.watch.history_bytes = 1 << 20;
    })
    .await;
    // A client with a tiny receive buffer that never reads.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let stream = sock.connect(s.running.addr).await.unwrap();
    let (_ws, _) = tokio_tungstenite::client_async(request(&s, crate::support::ADMIN, ""), stream)
        .await
        .unwrap();
    // About 8 KiB per datacenter.
    let labels: serde_json::Map<String, Value> = (0..30)
        .map(|i| (format!("{i:0>120}"), json!("v".repeat(120))))
        .collect();
    let mut written = 0;
    for round in 0..100 {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let c = s.admin.clone();
            let labels = labels.clone();
            let body = json!({"name": format!("dc{round}-{i}"), "labels": labels});
            tasks.push(tokio::spawn(async move {
                let r = c.post("/api/v1/datacenters", &body).await;
                (r.status, r.body)
            }));
        }
        for t in tasks {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, 201, "{body}");
            written += 1;
        }
        if s.running.state.watch.stats().buffered_bytes > 0 && round >= 60 {
            break;
        }
    }
    let stats = s.running.state.watch.stats();
    assert_eq!(stats.watchers, 1, "{stats:?}");
    assert!(
        stats.buffered_bytes > 0,
        "the watcher is blocked on its socket after {written} writes: {stats:?}"
    );
    assert!(
        stats.max_watcher_bytes <= QUEUE + (16 << 10),
        "one watcher held more than its bound: {stats:?}"
    );
    assert!(stats.history_bytes <= 1 << 20, "{stats:?}");
    assert!(
        stats.base > 0,
        "the history moved on past the stalled watcher: {stats:?}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_watchers_get_progress_and_bad_queries_are_refused() {
    let home = stores()[0].home();
    let s = TestServer::start_config(home.open(), |c| {
        quick(c);
        c.watch.max_watchers = 1;
    })
    .await;
    datacenter(&s.admin, "dc").await;
    let mut feed = Feed::open(&s, crate::support::ADMIN, "?kinds=volume").await;
    feed.follow(&s).await;
    let head = s.running.state.watch.head();
    assert!(head > 0);
    for _ in 0..3 {
        let f = feed.frame().await;
        assert_eq!(
            f,
            json!({"progress": head}),
            "an idle feed gets progress frames"
        );
    }
    // The watcher limit.
    match tokio_tungstenite::connect_async(request(&s, crate::support::ADMIN, "")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    drop(feed);
    for q in [
        "?kinds=bogus",
        "?since=abc",
        "?since=-1",
        "?machine=",
        "?other=1",
    ] {
        let r = s.admin.get(&format!("/api/v1/watch{q}")).await;
        assert_eq!(r.status, 422, "{q}: {}", r.body);
    }
    assert_eq!(s.client(None).get("/api/v1/watch").await.status, 401);
    assert_eq!(
        s.client(Some("wrong"))
            .get("/api/v1/watch?since=abc")
            .await
            .status,
        401
    );
    assert_eq!(s.admin.get("/api/v1/watch").await.status, 426);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_appended_to_the_redis_stream() {
    let redis = stores().into_iter().find(|k| k.name == "redis").unwrap();
    let home = redis.home();
    let url = home.redis_url().unwrap();
    let events = EventsConfig {
        url: url.clone(),
        maxlen: 1000,
    };
    let s = TestServer::start_config(home.open(), |c| c.watch.events = Some(events.clone())).await;
    let a = datacenter(&s.admin, "a").await;
    let b = datacenter(&s.admin, "b").await;
    assert_eq!(
        s.admin
            .delete(&format!("/api/v1/datacenters/{a}"))
            .await
            .status,
        204
    );
    appended(&s, 3).await;
    let replica = s.running.state.node().id().0.to_string();
    let dc = |id: &str, op: &str| ("datacenter".to_string(), id.to_string(), op.to_string());
    let mut want = vec![dc(&a, "put"), dc(&b, "put"), dc(&a, "delete")];
    assert_eq!(stream(&url, &replica).await, want);
    assert_eq!(s.running.state.watch.stats().events_failed, 0);
    s.stop().await;
    // A change committed while the stream is unreachable is appended after a restart, once,
    // and nothing appended before is appended again.
    let unreachable = EventsConfig {
        url: "redis://127.0.0.1:1/0".into(),
        maxlen: 1000,
    };
    let s = TestServer::start_config(home.open(), |c| c.watch.events = Some(unreachable)).await;
    let d = datacenter(&s.admin, "d").await;
    s.stop().await;
    let s = TestServer::start_config(home.open(), |c| c.watch.events = Some(events)).await;
    appended(&s, 1).await;
    want.push(dc(&d, "put"));
    assert_eq!(stream(&url, &replica).await, want);
    s.stop().await;
}

/// Waits until the server appended `n` events.
async fn appended(s: &TestServer, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while s.running.state.watch.stats().events_appended < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            s.running.state.watch.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every event in the stream `horao:events` at `url`, as its id and fields.
pub(crate) async fn events(url: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("XRANGE")
        .arg(STREAM_KEY)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// The stream's events as `(kind, id, op)`, checking their replica and that cursors grow.
async fn stream(url: &str, replica: &str) -> Vec<(String, String, String)> {
    let entries = events(url).await;
    let cursors: Vec<u64> = entries
        .iter()
        .map(|(_, f)| f["cursor"].parse().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    entries
        .iter()
        .map(|(_, f)| {
            assert_eq!(f["replica"], replica);
            (f["kind"].clone(), f["id"].clone(), f["op"].clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_state_from_a_peer_resyncs_watchers() {
    const SECRET: &str = "a-secret-of-the-watch-test";
    let (ha, hb) = (stores()[0].home(), stores()[0].home());
    let secret = |c: &mut StateConfig| {
        quick(c);
        c.gossip.secret = Some(SECRET.into());
    };
    // A holds some datacenters; its delta log is collected (it has no peers).
    let a = TestServer::start_config(ha.open(), secret).await;
    for i in 0..3 {
        datacenter(&a.admin, &format!("dc{i}")).await;
    }
    a.stop().await;
    let b = TestServer::start_config(hb.open(), secret).await;
    let mut feed = Feed::open(&b, crate::support::ADMIN, "").await;
    feed.follow(&b).await;
    assert!(feed.objects.is_empty());
    // A comes back and dials B, which merges A's full state.
    let to_b = format!("ws://{}/api/v1/gossip", b.running.addr);
    let a = TestServer::start_config(ha.open(), |c| {
        secret(c);
        c.gossip.peers = vec![to_b];
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while listed(&b.admin, "/api/v1/datacenters").await.len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never got A's state"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    feed.follow(&b).await;
    assert_eq!(feed.resyncs, 1, "the merged full state is a resync point");
    assert_eq!(
        feed.of("datacenter"),
        listed(&b.admin, "/api/v1/datacenters").await
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_of_servers_sharing_one_redis_see_every_change_at_the_same_cursors() {
    let redis = crate::support::redis::RedisServer::start();
    let url = redis.url();
    let open = |n: &'static str| {
        let url = url.clone();
        async move {
            let store = crate::shared::open_node(&url, n, Duration::ZERO).await;
            std::sync::Arc::new(store.unwrap())
        }
    };
    let a = TestServer::start_config(open("a").await, quick).await;
    let b = TestServer::start_config(open("b").await, quick).await;
    let mut fa = Feed::open(&a, crate::support::ADMIN, "").await;
    let mut fb = Feed::open(&b, crate::support::ADMIN, "").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let s = if i % 3 == 0 { &b } else { &a };
        ids.push(datacenter(&s.admin, &format!("dc{i}")).await);
    }
    for id in ids.iter().step_by(4) {
        let r = a.admin.delete(&format!("/api/v1/datacenters/{id}")).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    // Both servers reach the same head; each feed checks its cursors only grow.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while a.running.state.watch.head() != b.running.state.watch.head() {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    fa.follow(&a).await;
    fb.follow(&b).await;
    assert_eq!(fa.cursor, fb.cursor);
    assert_eq!(
        fa.resyncs + fb.resyncs,
        0,
        "following the other server needs no resync"
    );
    let want = listed(&a.admin, "/api/v1/datacenters").await;
    assert_eq!(want.len(), 9);
    assert_eq!(fa.of("datacenter"), want);
    assert_eq!(fb.of("datacenter"), want);
    assert_eq!(listed(&b.admin, "/api/v1/datacenters").await, want);
    // The nodes share one feed: a watcher moved from one to the other resumes at its cursor.
    assert!(
        fa.feed.is_some() && fa.feed == fb.feed,
        "{:?} {:?}",
        fa.feed,
        fb.feed
    );
    let more = datacenter(&b.admin, "more").await;
    let query = format!("?since={}&feed={}", fb.cursor, fb.feed.clone().unwrap());
    let mut moved = Feed::open(&a, crate::support::ADMIN, &query).await;
    moved.cursor = fb.cursor;
    moved.objects = fb.objects.clone();
    moved.follow(&a).await;
    while a.running.state.watch.head() < b.running.state.watch.head() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        moved.follow(&a).await;
    }
    assert_eq!(moved.resyncs, 0);
    assert!(moved.of("datacenter").contains_key(&more));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_of_another_servers_feed_is_resynced_and_its_own_resumes() {
    let kind = &stores()[1];
    let (ha, hb) = (kind.home(), kind.home());
    let a = TestServer::start_config(ha.open(), quick).await;
    let b = TestServer::start_config(hb.open(), quick).await;
    for i in 0..3 {
        datacenter(&a.admin, &format!("a{i}")).await;
        datacenter(&b.admin, &format!("b{i}")).await;
    }
    datacenter(&b.admin, "b3").await;
    let mut fa = Feed::open(&a, ADMIN, "").await;
    fa.follow(&a).await;
    let feed = fa.feed.clone().expect("the snapshot's end names the feed");
    assert_ne!(
        Some(feed.as_str()),
        {
            let mut fb = Feed::open(&b, ADMIN, "").await;
            fb.follow(&b).await;
            fb.feed
        }
        .as_deref()
    );
    // B counts other commits: A's cursor is below B's head, yet it is refused with a resync,
    // and the snapshot that follows is B's.
    assert!(fa.cursor < b.running.state.watch.head());
    let query = format!("?since={}&feed={feed}", fa.cursor);
    let mut moved = Feed::open(&b, ADMIN, &query).await;
    moved.cursor = fa.cursor;
    moved.objects = fa.objects.clone();
    let first = moved.frame().await;
    assert!(first.get("resync_required").is_some(), "{first}");
    moved.apply(&first);
    moved.follow(&b).await;
    assert_eq!(
        moved.of("datacenter"),
        listed(&b.admin, "/api/v1/datacenters").await
    );
    // A's own cursor resumes on A after a restart (the feed's name is kept in the store).
    a.stop().await;
    let a = TestServer::start_config(ha.open(), quick).await;
    let more = datacenter(&a.admin, "more").await;
    let mut again = Feed::open(&a, ADMIN, &query).await;
    again.cursor = fa.cursor;
    again.objects = fa.objects.clone();
    again.follow(&a).await;
    assert_eq!(again.resyncs, 0);
    assert!(again.of("datacenter").contains_key(&more));
    assert_eq!(again.feed, None, "no snapshot was needed");
    a.stop().await;
    b.stop().await;
}

/// Reads `ws` until the server closes it; false when it is still open after the deadline.
async fn closed_by_server(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, futures_util::StreamExt::next(ws)).await {
            Err(_) => return false,
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_watchers() {
    let home = stores()[0].home();
    let s = TestServer::start_config(home.open(), |c| {
        // No ping or progress would close an idle watcher before the test's deadline.
        c.watch.ping_interval = Duration::from_secs(600);
        c.watch.progress_interval = Duration::from_secs(600);
    })
    .await;
    datacenter(&s.admin, "dc").await;
    let mut feeds = Vec::new();
    for _ in 0..3 {
        let mut f = Feed::open(&s, ADMIN, "").await;
        f.follow(&s).await;
        feeds.push(f);
    }
    let hub = s.running.state.watch.clone();
    assert_eq!(hub.stats().watchers, 3);
    let stop = tokio::spawn(s.stop());
    for f in &mut feeds {
        assert!(
            closed_by_server(&mut f.ws).await,
            "a watcher outlived the server"
        );
    }
    tokio::time::timeout(Duration::from_secs(10), stop)
        .await
        .expect("the server stops within 10 s with watchers connected")
        .unwrap();
    assert_eq!(hub.stats().watchers, 0, "every watcher's slot is released");
}
