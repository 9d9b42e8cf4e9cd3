//! Helpers of the integration tests: the stores to run against (in memory, embedded, and Redis
//! on a real `redis-server`), a server started in-process on 127.0.0.1:0, and a small HTTP
//! client.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

pub(crate) mod contract;
pub(crate) mod kill9;
pub(crate) mod proxy;
pub(crate) mod redis;

use self::redis::RedisServer;
use axum::body::Bytes;
use horao_server::app::HttpLimits;
use horao_server::server::{self, Options, Running};
use horao_server::state::StateConfig;
use horao_server::store::Store;
use horao_server::store::embedded::{EmbeddedOptions, EmbeddedStore};
use horao_server::store::memory::MemoryStore;
use horao_server::store::redis::RedisStore;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The admin token every test server accepts.
pub const ADMIN: &str = "test-admin-token";

/// Which store a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Memory,
    Embedded,
    Redis,
}

/// A store kind the tests run against; [`StoreKind::home`] makes a fresh place for its data.
#[derive(Clone, Copy)]
pub struct StoreKind {
    /// Its name, in failure messages.
    pub name: &'static str,
    backend: Backend,
}

/// Where one test's data lives: a temporary directory, and for Redis a real `redis-server`
/// of its own (killed when the home is dropped). [`Home::open`] opens the same data on every
/// call, as a restarted server would.
pub struct Home {
    backend: Backend,
    dir: tempfile::TempDir,
    redis: Option<RedisServer>,
}

impl StoreKind {
    /// A fresh, empty home for this kind of store.
    pub fn home(&self) -> Home {
        Home {
            backend: self.backend,
            dir: tempfile::tempdir().unwrap(),
            redis: (self.backend == Backend::Redis).then(RedisServer::start),
        }
    }
}

impl Home {
    /// Opens (or reopens, after the previous store was closed) the store of this home.
    pub fn open(&self) -> Arc<dyn Store> {
        match self.backend {
            Backend::Memory => open_memory(self.dir.path()),
            Backend::Embedded => Arc::new(
                EmbeddedStore::open(&self.dir.path().join("data"), EmbeddedOptions::default())
                    .unwrap(),
            ),
            Backend::Redis => {
                let url = self.redis.as_ref().unwrap().url();
                let store = tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(RedisStore::open(&url, "horao-test"))
                })
                .unwrap();
                Arc::new(store)
            }
        }
    }
}

impl Home {
    /// The URL of this home's `redis-server`, for a Redis home.
    pub fn redis_url(&self) -> Option<String> {
        self.redis.as_ref().map(RedisServer::url)
    }
}

fn open_memory(dir: &Path) -> Arc<dyn Store> {
    static STORES: OnceLock<Mutex<HashMap<PathBuf, MemoryStore>>> = OnceLock::new();
    let mut map = STORES.get_or_init(Default::default).lock().unwrap();
    let s = map.entry(dir.to_path_buf()).or_default().clone();
    s.reopen();
    Arc::new(s)
}

/// Every store kind; each store-dependent test runs against each.
pub fn stores() -> Vec<StoreKind> {
    [
        ("memory", Backend::Memory),
        ("embedded", Backend::Embedded),
        ("redis", Backend::Redis),
    ]
    .into_iter()
    .map(|(name, backend)| StoreKind { name, backend })
    .collect()
}

/// Waits until `f` holds, for at most 15 s.
pub async fn until<F: AsyncFn() -> bool>(what: &str, f: F) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !f().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A server started in this process.
pub struct TestServer {
    /// The running server.
    pub running: Running,
    /// A client with the admin token.
    pub admin: Client,
}

impl TestServer {
    /// Starts a server on `store` with default limits.
    pub async fn start(store: Arc<dyn Store>) -> Self {
        Self::start_with(store, HttpLimits::default()).await
    }

    /// Starts a server on `store` with `limits`.
    pub async fn start_with(store: Arc<dyn Store>, limits: HttpLimits) -> Self {
        Self::start_full(store, limits, |_| {}).await
    }

    /// Starts a server on `store` with default limits and the state's settings changed by
    /// `tweak`.
    pub async fn start_config(store: Arc<dyn Store>, tweak: impl FnOnce(&mut StateConfig)) -> Self {
        Self::start_full(store, HttpLimits::default(), tweak).await
    }

    /// Starts a server on `store` serving HTTPS with `tls` (its `admin` client speaks plain
    /// HTTP: reach such a server through its state, or by gossip).
    pub async fn start_tls(
        store: Arc<dyn Store>,
        tls: axum_server::tls_rustls::RustlsConfig,
        tweak: impl FnOnce(&mut StateConfig),
    ) -> Self {
        Self::start_opts(store, HttpLimits::default(), Some(tls), tweak).await
    }

    async fn start_full(
        store: Arc<dyn Store>,
        limits: HttpLimits,
        tweak: impl FnOnce(&mut StateConfig),
    ) -> Self {
        Self::start_opts(store, limits, None, tweak).await
    }

    async fn start_opts(
        store: Arc<dyn Store>,
        limits: HttpLimits,
        tls: Option<axum_server::tls_rustls::RustlsConfig>,
        tweak: impl FnOnce(&mut StateConfig),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut state = StateConfig {
            admin_token: Some(ADMIN.into()),
            compact_entries: 50,
            ..StateConfig::default()
        };
        tweak(&mut state);
        let opts = Options {
            state,
            limits,
            metrics: None,
            tls,
        };
        let running = server::start(listener, store, opts, std::future::pending())
            .await
            .unwrap();
        let admin = Client::new(running.addr, Some(ADMIN));
        TestServer { running, admin }
    }

    /// A client with `token`.
    pub fn client(&self, token: Option<&str>) -> Client {
        Client::new(self.running.addr, token)
    }

    /// Mints a token for `role` (JSON) and returns a client using it.
    pub async fn minted(&self, role: Value) -> Client {
        let r = self.admin.post("/api/v1/tokens", &role).await;
        assert_eq!(r.status, 201, "{}", r.body);
        self.client(Some(r.body["token"].as_str().unwrap()))
    }

    /// Stops the server (clean stop).
    pub async fn stop(self) {
        self.running.stop().await.unwrap();
    }
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: u16,
    /// Its body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// Its raw body.
    pub raw: Bytes,
    /// Its headers.
    pub headers: axum::http::HeaderMap,
}

/// A small HTTP client bound to one server and token.
#[derive(Clone)]
pub struct Client {
    addr: std::net::SocketAddr,
    /// The token it sends.
    pub token: Option<String>,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client of the server at `addr`.
    pub fn new(addr: std::net::SocketAddr, token: Option<&str>) -> Self {
        Self {
            addr,
            token: token.map(str::to_string),
            http: HyperClient::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
        }
    }

    /// Sends `method path` with a raw body and content type.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> Answer {
        let request = serde_json::from_slice::<Value>(&body).ok();
        let mut b = axum::http::Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let resp = match self
            .http
            .request(b.body(Full::new(Bytes::from(body))).unwrap())
            .await
        {
            Ok(r) => r,
            // The server answered and closed before reading the whole body (a body over the
            // limit): status 0, no body.
            Err(_) => {
                return Answer {
                    status: 0,
                    body: Value::Null,
                    raw: Bytes::new(),
                    headers: Default::default(),
                };
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let raw = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        contract::check_exchange(method, path, request.as_ref(), status, &body);
        Answer {
            status,
            body,
            raw,
            headers,
        }
    }

    /// Sends `method path` with a JSON body.
    pub async fn json(&self, method: &str, path: &str, body: &Value) -> Answer {
        let bytes = serde_json::to_vec(body).unwrap();
        self.raw(method, path, bytes, Some("application/json"))
            .await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Answer {
        self.raw("GET", path, Vec::new(), None).await
    }

    /// POST with JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.json("POST", path, body).await
    }

    /// PUT with JSON.
    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.json("PUT", path, body).await
    }

    /// PATCH with JSON.
    pub async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.json("PATCH", path, body).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Answer {
        self.raw("DELETE", path, Vec::new(), None).await
    }
}
