//! kill -9 of the real `horao-server` binary in the middle of a stream of acknowledged HTTP
//! writes, then a restart on the same store and a check that every acknowledged write is
//! there, whole, and that nothing is half-applied (every volume is placed, and each machine's
//! reserved bytes are the sum of its volumes' quotas). Used by the integration test (one kill
//! per store) and by `examples/kill9-server.rs` (`scripts/kill9-server.sh`: 20 kills per
//! store); the Redis server is killed with the daemon and restarted on its directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::redis::RedisServer;
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The admin token the harness gives the server.
const TOKEN: &str = "kill9-admin-token";
/// The machine every volume is placed on.
const MACHINE: &str = "kill9-m1";
/// How long a start may take before the harness gives up.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// Where the server keeps its data.
pub(crate) enum Target {
    /// The embedded store in this directory.
    Embedded(PathBuf),
    /// Redis (killed and restarted with the daemon).
    Redis(RedisServer),
}

impl Target {
    fn args(&self) -> Vec<String> {
        match self {
            Target::Embedded(dir) => vec!["--data-dir".into(), dir.display().to_string()],
            Target::Redis(r) => vec!["--redis".into(), r.url()],
        }
    }

    /// The store's name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Target::Embedded(_) => "embedded",
            Target::Redis(_) => "redis",
        }
    }
}

/// An acknowledged write: where to read it and the body the server answered.
#[derive(Clone, Debug)]
struct Acked {
    path: String,
    body: Value,
}

/// What one check after a restart found.
#[derive(Debug, Default)]
pub(crate) struct Check {
    /// Acknowledged writes so far.
    pub acked: usize,
    /// Acknowledged writes missing or different after the restart, with what was found.
    pub lost: Vec<String>,
    /// Half-applied state found (a volume without a machine, wrong reserved bytes).
    pub torn: Vec<String>,
}

/// The harness: the server binary, the store, and every write acknowledged so far.
pub(crate) struct Harness {
    bin: PathBuf,
    target: Target,
    clients: usize,
    acked: Arc<Mutex<Vec<Acked>>>,
    http: Client<HttpConnector, Full<Bytes>>,
    round: u32,
    machine: bool,
}

/// A running server process, killed when dropped (a failing check leaves none behind).
struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

impl Harness {
    /// A harness running `bin` on `target` with `clients` concurrent writers.
    pub(crate) fn new(bin: &Path, target: Target, clients: usize) -> Self {
        Self {
            bin: bin.to_path_buf(),
            target,
            clients,
            acked: Arc::default(),
            http: Client::builder(TokioExecutor::new()).build_http(),
            round: 0,
            machine: false,
        }
    }

    /// The store's name.
    pub(crate) fn store(&self) -> &'static str {
        self.target.name()
    }

    async fn start(&self) -> Proc {
        let addr = free_addr();
        let child = Command::new(&self.bin)
            .arg("--listen")
            .arg(addr.to_string())
            .args(self.target.args())
            .env("HORAO_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.bin.display()));
        let mut proc = Proc { child, addr };
        let t = Instant::now();
        loop {
            if let Ok((200, _)) = send(&self.http, addr, "GET", "/api/v1/health/ready", None).await
            {
                return proc;
            }
            if let Ok(Some(status)) = proc.child.try_wait() {
                panic!(
                    "{}: the server exited with {status} before it was ready",
                    self.store()
                );
            }
            assert!(
                t.elapsed() < READY_DEADLINE,
                "{}: not ready in time",
                self.store()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the server, checks everything acknowledged so far, streams writes for `after`,
    /// then kills the server (and Redis) with SIGKILL. Returns the check made at the start.
    pub(crate) async fn round(&mut self, after: Duration) -> Check {
        self.round += 1;
        let mut proc = self.start().await;
        let check = self.check(proc.addr).await;
        if !self.machine {
            // The machine's agent registers it with room for every volume.
            let (status, body) = send(
                &self.http,
                proc.addr,
                "POST",
                "/api/v1/tokens",
                Some(&json!({"role": "agent", "machine": MACHINE})),
            )
            .await
            .expect("minting the agent's token");
            assert_eq!(status, 201, "minting the agent's token: {body}");
            let agent = body["token"].as_str().expect("a token").to_string();
            let (status, body) = send_as(
                &self.http,
                proc.addr,
                &agent,
                "PUT",
                &format!("/api/v1/machines/{MACHINE}"),
                Some(&json!({"state": "ready", "capacity_bytes": 1u64 << 60, "used_bytes": 0})),
            )
            .await
            .expect("registering the machine");
            assert_eq!(status, 200, "registering the machine: {body}");
            self.machine = true;
        }
        let writers: Vec<_> = (0..self.clients)
            .map(|client| {
                let w = Writer {
                    http: self.http.clone(),
                    acked: self.acked.clone(),
                    round: self.round,
                    client,
                };
                tokio::spawn(w.run(proc.addr))
            })
            .collect();
        tokio::time::sleep(after).await;
        proc.child.kill().expect("kill -9 of the server");
        let _ = proc.child.wait();
        if let Target::Redis(r) = &mut self.target {
            r.restart();
        }
        for w in writers {
            w.await.expect("a writer");
        }
        check
    }

    /// The last start: checks everything acknowledged, then stops the server.
    pub(crate) async fn finish(&mut self) -> Check {
        let proc = self.start().await;
        self.check(proc.addr).await
    }

    async fn check(&self, addr: SocketAddr) -> Check {
        let acked = self.acked.lock().unwrap().clone();
        let mut check = Check {
            acked: acked.len(),
            ..Check::default()
        };
        for a in &acked {
            let id = a.body["id"].as_str().unwrap_or_default();
            match send(&self.http, addr, "GET", &format!("{}/{id}", a.path), None).await {
                Ok((200, got)) if got == a.body => {}
                Ok((status, got)) => check.lost.push(format!("{}/{id}: {status} {got}", a.path)),
                Err(e) => check.lost.push(format!("{}/{id}: {e}", a.path)),
            }
        }
        // Nothing half-applied: every volume is placed, and the machine's reserved bytes
        // are exactly its volumes' quotas.
        let mut reserved: BTreeMap<String, u64> = BTreeMap::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                None => "/api/v1/volumes?limit=1000".to_string(),
                Some(a) => format!("/api/v1/volumes?limit=1000&after={a}"),
            };
            let (status, page) = send(&self.http, addr, "GET", &path, None)
                .await
                .expect("listing volumes");
            assert_eq!(status, 200, "listing volumes: {page}");
            for v in page["items"].as_array().into_iter().flatten() {
                match (v["machine"].as_str(), v["quota_bytes"].as_u64()) {
                    (Some(m), Some(q)) => *reserved.entry(m.to_string()).or_default() += q,
                    _ => check.torn.push(format!("volume not placed: {v}")),
                }
            }
            match page["next"].as_str() {
                Some(n) => after = Some(n.to_string()),
                None => break,
            }
        }
        if self.machine {
            let (status, m) = send(
                &self.http,
                addr,
                "GET",
                &format!("/api/v1/machines/{MACHINE}"),
                None,
            )
            .await
            .expect("reading the machine");
            let want = reserved.get(MACHINE).copied().unwrap_or(0);
            if status != 200 || m["reserved_bytes"].as_u64() != Some(want) {
                check.torn.push(format!(
                    "machine {MACHINE}: {status} {m}, volumes' quotas {want}"
                ));
            }
        }
        check
    }
}

/// Sends `method path` with the admin token and an optional JSON body; the status and the
/// body as JSON (`Null` when it is not JSON), or why nothing was answered.
async fn send(
    http: &Client<HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    send_as(http, addr, TOKEN, method, path, body).await
}

/// [`send`] with `token`.
async fn send_as(
    http: &Client<HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            body.map(|b| serde_json::to_vec(b).unwrap())
                .unwrap_or_default(),
        )))
        .unwrap();
    let resp = http.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let raw = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, serde_json::from_slice(&raw).unwrap_or(Value::Null)))
}

/// One writer: creates datacenters and volumes, one after the other, until the server stops
/// answering; records each write acknowledged with 201.
struct Writer {
    http: Client<HttpConnector, Full<Bytes>>,
    acked: Arc<Mutex<Vec<Acked>>>,
    round: u32,
    client: usize,
}

impl Writer {
    async fn run(self, addr: SocketAddr) {
        for n in 0u64.. {
            let name = format!("k9-r{}-c{}-{n}", self.round, self.client);
            let (path, body) = if n % 2 == 0 {
                (
                    "/api/v1/datacenters",
                    json!({"name": name, "labels": {"round": self.round.to_string()}}),
                )
            } else {
                (
                    "/api/v1/volumes",
                    json!({"name": name, "size_bytes": 1000 + n, "dilation_percent": 10,
                           "labels": {"client": self.client.to_string()}}),
                )
            };
            let Ok((status, body)) = send(&self.http, addr, "POST", path, Some(&body)).await else {
                return; // The server is gone.
            };
            assert_eq!(status, 201, "POST {path} {name}: {body}");
            self.acked.lock().unwrap().push(Acked {
                path: path.to_string(),
                body,
            });
        }
    }
}
