//! Gossip between real `horao-server` processes on loopback, each with an embedded store in
//! a temporary directory: writes reach every server, a server killed with SIGKILL catches up
//! by deltas when it restarts, a partition heals into equal states, and hostile peers are
//! refused or dropped while the server stays healthy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::proxy::Link;
use crate::support::{ADMIN, Client};
use futures_util::{SinkExt, StreamExt};
use horao_crdt::ReplicaId;
use horao_crdt::sync::{Handshake, Hello};
use horao_crdt::wire::{self, Kind};
use horao_model::snapshot::SCHEMA_VERSION;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SECRET: &str = "test-cluster-secret";

/// A `horao-server` process (killed when dropped; its log is printed if the test failed).
struct Proc {
    child: Child,
    addr: SocketAddr,
    data: PathBuf,
    log: PathBuf,
    peers: Vec<String>,
    client: Client,
}

impl Proc {
    /// Starts a server on `data` dialing `peers`.
    async fn start(data: &Path, peers: &[String]) -> Proc {
        std::fs::create_dir_all(data).unwrap();
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let log = data.with_extension(format!("{n}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_horao-server"));
        cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(["--cluster-secret", SECRET])
            .args([
                "--gossip-interval",
                "300ms",
                "--gossip-ping-interval",
                "500ms",
            ])
            .env("HORAO_ADMIN_TOKEN", ADMIN)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info,horao_server::gossip=debug")
            .env_remove("HORAO_PEERS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file);
        for p in peers {
            cmd.args(["--peer", p]);
        }
        let child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("serving")) {
                let a = line
                    .split("addr=")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap();
                break a.parse::<SocketAddr>().unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not start:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Proc {
            child,
            addr,
            data: data.to_path_buf(),
            log,
            peers: peers.to_vec(),
            client: Client::new(addr, Some(ADMIN)),
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/api/v1/gossip", self.addr)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills it (SIGKILL) and starts it again on the same data and peers.
    async fn restart(&mut self) {
        self.kill();
        let next = Proc::start(&self.data, &self.peers).await;
        drop(std::mem::replace(self, next));
    }

    async fn cluster(&self) -> Value {
        let r = self.client.get("/api/v1/cluster?hash=true").await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Peers with an open session.
    async fn connected(&self) -> usize {
        self.cluster().await["peers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["state"] == "connected")
            .count()
    }

    async fn create_dc(&self, name: &str) -> String {
        let r = self
            .client
            .post("/api/v1/datacenters", &json!({"name": name}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    async fn has_dc(&self, id: &str) -> bool {
        self.client
            .get(&format!("/api/v1/datacenters/{id}"))
            .await
            .status
            == 200
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!("--- log of {} (last lines) ---", self.addr);
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// Polls a condition (an expression, `.await` allowed) until it holds, for at most `secs`
/// seconds.
macro_rules! eventually {
    ($secs:expr, $what:expr, $cond:expr) => {{
        let deadline = Instant::now() + Duration::from_secs($secs);
        loop {
            if $cond {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {}",
                $what
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }};
}

/// True when every server has the same context and model hash.
async fn converged(servers: &[&Proc]) -> bool {
    let mut seen: Option<(Value, Value)> = None;
    for s in servers {
        let c = s.cluster().await;
        let key = (c["context"].clone(), c["content_hash"].clone());
        match &seen {
            None => seen = Some(key),
            Some(k) if *k == key => {}
            Some(_) => return false,
        }
    }
    true
}

async fn all_connected(servers: &[&Proc], n: usize) {
    for s in servers {
        eventually!(20, "every peer is connected", s.connected().await == n);
    }
}

/// Sum of a counter over a server's peers.
fn peer_sum(cluster: &Value, field: &str) -> u64 {
    cluster["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[field].as_u64().unwrap_or(0))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_converge_and_a_killed_one_catches_up_by_deltas() {
    let dir = tempfile::tempdir().unwrap();
    let a = Proc::start(&dir.path().join("a"), &[]).await;
    let b = Proc::start(&dir.path().join("b"), &[a.url()]).await;
    let mut c = Proc::start(&dir.path().join("c"), &[a.url(), b.url()]).await;
    all_connected(&[&a, &b, &c], 2).await;

    // A write on any server is readable on the other two.
    for (i, s) in [&a, &b, &c].into_iter().enumerate() {
        let id = s.create_dc(&format!("dc {i}")).await;
        for other in [&a, &b, &c] {
            eventually!(10, "a write reaches every server", other.has_dc(&id).await);
        }
    }
    eventually!(10, "the three converge", converged(&[&a, &b, &c]).await);
    // Every server measured how long the others' writes took to be committed here, and
    // bounds the full-state transfers it sends.
    for s in [&a, &b, &c] {
        let m = s.client.get("/metrics").await;
        let text = String::from_utf8_lossy(&m.raw).to_string();
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix("horao_gossip_replication_seconds_count "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        assert!(count >= 2.0, "two writes came from the others:\n{text}");
        let limits = &s.cluster().await["full_state_transfers"];
        assert_eq!(limits["limit"], 2, "{limits}");
        assert_eq!(limits["running"], 0, "{limits}");
    }

    // Kill C, write on A and B, restart C: it catches up by deltas.
    c.kill();
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(a.create_dc(&format!("while C was down, on A {i}")).await);
        ids.push(b.create_dc(&format!("while C was down, on B {i}")).await);
    }
    c.restart().await;
    for id in &ids {
        eventually!(20, "the restarted server catches up", c.has_dc(id).await);
    }
    eventually!(
        10,
        "the three converge after the restart",
        converged(&[&a, &b, &c]).await
    );
    let cc = c.cluster().await;
    assert_eq!(
        peer_sum(&cc, "full_states_received"),
        0,
        "the restarted server was sent no full state: {cc:#}"
    );
    assert!(peer_sum(&cc, "deltas_received") > 0, "{cc:#}");
    // Its peers saw its second session and learn that it lacks nothing (from its next
    // digest).
    for s in [&a, &b] {
        let me = &cc["id"];
        let peer = move || async move {
            s.cluster().await["peers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == *me)
                .unwrap()
                .clone()
        };
        assert_eq!(peer().await["sessions"], 2);
        eventually!(10, "the peers know it caught up", peer().await["lag"] == 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_heals_into_equal_states() {
    let dir = tempfile::tempdir().unwrap();
    let a = Proc::start(&dir.path().join("a"), &[]).await;
    let b = Proc::start(&dir.path().join("b"), &[a.url()]).await;
    // C reaches A and B only through proxies, so cutting them isolates it.
    let (pa, pb) = (Link::start(a.addr).await, Link::start(b.addr).await);
    let c = Proc::start(&dir.path().join("c"), &[pa.url(), pb.url()]).await;
    all_connected(&[&a, &b, &c], 2).await;
    let before = a.create_dc("before").await;
    eventually!(10, "C has the first write", c.has_dc(&before).await);

    pa.set(false);
    pb.set(false);
    eventually!(10, "C is isolated", c.connected().await == 0);
    let on_c = c.create_dc("written on C while isolated").await;
    let on_a = a.create_dc("written on A during the partition").await;
    eventually!(10, "B has A's write", b.has_dc(&on_a).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!a.has_dc(&on_c).await, "the partition holds");
    assert!(!c.has_dc(&on_a).await, "the partition holds");
    assert!(!converged(&[&a, &b, &c]).await);

    pa.set(true);
    pb.set(true);
    eventually!(
        30,
        "the partition heals into equal states",
        converged(&[&a, &b, &c]).await
    );
    for s in [&a, &b, &c] {
        assert!(s.has_dc(&on_c).await && s.has_dc(&on_a).await && s.has_dc(&before).await);
    }
}

/// Opens a raw gossip websocket to `addr` with `secret`.
async fn raw_peer(
    addr: SocketAddr,
    secret: Option<&str>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut req = format!("ws://{addr}/api/v1/gossip")
        .into_client_request()
        .unwrap();
    if let Some(s) = secret {
        req.headers_mut()
            .insert("authorization", format!("Bearer {s}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

fn hello(replica: u64, schema: u16) -> Vec<u8> {
    wire::encode(
        Kind::Handshake,
        &Handshake::Hello(Hello {
            replica: ReplicaId(replica),
            incarnation: 1,
            wire_version: wire::VERSION,
            schema_version: schema,
        }),
    )
    .unwrap()
}

/// Reads until the server closes the connection; returns its close code and reason, and the
/// binary frames it sent before.
async fn until_closed(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
) -> (Option<(u16, String)>, Vec<Vec<u8>>) {
    let mut frames = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(Message::Close(c)) => {
                    return c.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                Ok(Message::Binary(b)) => frames.push(b.to_vec()),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the server closes the connection");
    (r, frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_are_refused_and_the_server_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let s = Proc::start(&dir.path().join("s"), &[]).await;

    // Wrong or missing secret: refused before the upgrade.
    for secret in [Some("wrong"), None] {
        match raw_peer(s.addr, secret).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status(), 401)
            }
            other => panic!("a peer without the secret was accepted: {other:?}"),
        }
    }

    // Garbage instead of a hello.
    let mut ws = raw_peer(s.addr, Some(SECRET)).await.unwrap();
    ws.send(Message::binary(b"garbage, not a hello".to_vec()))
        .await
        .unwrap();
    let (close, _) = until_closed(&mut ws).await;
    assert_eq!(close.unwrap().0, 1008);

    // Another schema version: refused with a clear reason, and the refusal frame names the
    // server's versions.
    let mut ws = raw_peer(s.addr, Some(SECRET)).await.unwrap();
    ws.send(Message::binary(hello(77, SCHEMA_VERSION + 1)))
        .await
        .unwrap();
    let (close, frames) = until_closed(&mut ws).await;
    let (code, reason) = close.unwrap();
    assert_eq!(code, 4002);
    assert!(reason.contains("schema version"), "{reason}");
    let refusal = frames
        .iter()
        .filter_map(|f| wire::decode_handshake(f).ok())
        .find_map(|h| match h {
            Handshake::Refuse(r) => Some(r),
            Handshake::Hello(_) => None,
        })
        .expect("a refusal frame");
    assert_eq!(refusal.by.schema_version, SCHEMA_VERSION);

    // A good hello, then garbage.
    let mut ws = raw_peer(s.addr, Some(SECRET)).await.unwrap();
    ws.send(Message::binary(hello(78, SCHEMA_VERSION)))
        .await
        .unwrap();
    ws.send(Message::binary(vec![0xAB; 100])).await.unwrap();
    let (close, _) = until_closed(&mut ws).await;
    assert_eq!(close.unwrap().0, 1008);

    // A good hello, then an oversized frame (2 MiB over a 1 MiB limit).
    let mut ws = raw_peer(s.addr, Some(SECRET)).await.unwrap();
    ws.send(Message::binary(hello(79, SCHEMA_VERSION)))
        .await
        .unwrap();
    let _ = ws.send(Message::binary(vec![0u8; 2 << 20])).await;
    let (close, _) = until_closed(&mut ws).await;
    if let Some((code, _)) = close {
        assert!(code == 1008 || code == 1009, "{code}");
    }

    // A good hello, then the peer stops reading: cut off within two ping intervals.
    let mut ws = raw_peer(s.addr, Some(SECRET)).await.unwrap();
    ws.send(Message::binary(hello(80, SCHEMA_VERSION)))
        .await
        .unwrap();
    let stalled_id = ReplicaId(80).0.to_string();
    let stalled_id = stalled_id.as_str();
    let sref = &s;
    let stalled = move || async move {
        sref.cluster().await["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == stalled_id && p["state"] == "connected")
    };
    eventually!(5, "the stalled peer's session opens", stalled().await);
    let t = Instant::now();
    eventually!(5, "the stalled peer is cut off", !stalled().await);
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "cut off after {:?}",
        t.elapsed()
    );
    drop(ws);

    // The server is healthy, retires the fake peers, and gossips with a real one.
    assert_eq!(s.client.get("/api/v1/health/ready").await.status, 200);
    for fake in [78u64, 79, 80] {
        let r = s
            .client
            .post(&format!("/api/v1/cluster/peers/{fake}/retire"), &json!({}))
            .await;
        assert!(r.status == 200 || r.status == 404, "{}", r.body);
    }
    let members: Vec<Value> = s.cluster().await["peers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["member"] == true)
        .cloned()
        .collect();
    assert!(members.is_empty(), "{members:?}");
    let t = Proc::start(&dir.path().join("t"), &[s.url()]).await;
    let id = s.create_dc("after the hostile peers").await;
    eventually!(10, "a real peer still syncs", t.has_dc(&id).await);
    eventually!(10, "the two converge", converged(&[&s, &t]).await);
}
