//! What the gossip examples share: a `horao-server` process started on loopback with an
//! embedded store (killed when dropped), the binary beside the example, and admin requests.

#![allow(dead_code, unreachable_pub)]

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The admin token of every server started here.
pub const ADMIN: &str = "bench-admin-token";
/// The cluster secret of every server started here.
pub const SECRET: &str = "bench-cluster-secret";

/// The HTTP client.
pub type Http = Client<HttpConnector, Full<Bytes>>;

/// A new HTTP client.
pub fn http() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A server process (killed when dropped).
pub struct Server {
    /// The process.
    pub child: Child,
    /// Where it serves.
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `bin`, or the `horao-server` binary of the target directory this example runs from.
pub fn server_bin(bin: Option<PathBuf>) -> Result<PathBuf> {
    match bin {
        Some(b) => Ok(b),
        None => Ok(std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("no target directory")?
            .join("horao-server")),
    }
}

/// Starts `bin` on `data` dialing `peers` (log `data.N.log`); returns it once it serves, with
/// the instant it said so.
pub fn start(bin: &Path, data: &Path, peers: &[String], n: usize) -> Result<(Server, Instant)> {
    let args: Vec<String> = peers
        .iter()
        .flat_map(|p| ["--peer".to_string(), p.clone()])
        .collect();
    start_args(bin, data, &args, n)
}

/// [`start`] with these extra arguments instead of peers.
pub fn start_args(bin: &Path, data: &Path, args: &[String], n: usize) -> Result<(Server, Instant)> {
    std::fs::create_dir_all(data)?;
    let log = data.with_extension(format!("{n}.log"));
    let mut cmd = Command::new(bin);
    cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(["--cluster-secret", SECRET])
        .env("HORAO_ADMIN_TOKEN", ADMIN)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn,horao_server=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    cmd.args(args);
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("serving")) {
            let addr = line
                .split("addr=")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .context("no addr in the serving line")?
                .parse()?;
            return Ok((Server { child, addr }, Instant::now()));
        }
        if Instant::now() > deadline {
            bail!("the server did not start:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `method path` with `body` as the admin; the status (0 when the request failed) and the
/// JSON answer.
pub async fn request(
    http: &Http,
    method: &str,
    addr: SocketAddr,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let Ok(req) = axum::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
    else {
        return (0, Value::Null);
    };
    match http.request(req).await {
        Ok(r) => {
            let status = r.status().as_u16();
            let b = r
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (status, serde_json::from_slice(&b).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Peers with an open session, as `/api/v1/cluster` says.
pub async fn connected(http: &Http, addr: SocketAddr) -> usize {
    let (_, v) = request(http, "GET", addr, "/api/v1/cluster", "").await;
    v["peers"]
        .as_array()
        .map(|p| p.iter().filter(|p| p["state"] == "connected").count())
        .unwrap_or(0)
}
