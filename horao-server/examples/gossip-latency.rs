//! Measures how long a write on one of three `horao-server` processes on loopback takes to
//! become readable on the other two (gossip), and how long a restarted server that missed
//! writes takes to catch up.
//!
//! ```text
//! cargo build --release -p horao-server --bin horao-server --example gossip-latency
//! target/release/examples/gossip-latency [--writes 1000] [--missed 10000] [--bin PATH]
//! ```
//!
//! Three servers (embedded stores in a temporary directory, full mesh, default gossip
//! settings) are started; writes (datacenter creations) go to the servers in turn, one at a
//! time. For each, the clock starts when the write is acknowledged (durable on the server
//! that took it) and stops when a GET of the new datacenter answers 200 on both other
//! servers, polled concurrently every 200 µs. Then one server is killed with SIGKILL,
//! `--missed` writes go to the other two, and the server is restarted: the time from its
//! start (the log line `serving`) until it holds every missed write is printed, with the
//! number of full states it received (0 means it caught up by deltas).

#![allow(clippy::unwrap_used, clippy::expect_used)]

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

const ADMIN: &str = "bench-admin-token";
const SECRET: &str = "bench-cluster-secret";

type Http = Client<HttpConnector, Full<Bytes>>;

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, data: &Path, peers: &[String], n: usize) -> Result<(Server, Instant)> {
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
    for p in peers {
        cmd.args(["--peer", p]);
    }
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

async fn request(
    http: &Http,
    method: &str,
    addr: SocketAddr,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
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

async fn create(http: &Http, addr: SocketAddr, name: &str) -> String {
    let (status, body) = request(
        http,
        "POST",
        addr,
        "/api/v1/datacenters",
        &format!(r#"{{"name":"{name}"}}"#),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn wait_for(http: &Http, addr: SocketAddr, id: &str) {
    let path = format!("/api/v1/datacenters/{id}");
    while request(http, "GET", addr, &path, "").await.0 != 200 {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

async fn connected(http: &Http, addr: SocketAddr) -> usize {
    let (_, v) = request(http, "GET", addr, "/api/v1/cluster", "").await;
    v["peers"]
        .as_array()
        .map(|p| p.iter().filter(|p| p["state"] == "connected").count())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut writes = 1000usize;
    let mut missed = 10_000usize;
    let mut bin: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--writes" => writes = args.next().context("--writes N")?.parse()?,
            "--missed" => missed = args.next().context("--missed N")?.parse()?,
            "--bin" => bin = Some(args.next().context("--bin PATH")?.into()),
            _ => bail!("unknown argument {a}"),
        }
    }
    let bin = match bin {
        Some(b) => b,
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("no target directory")?
            .join("horao-server"),
    };
    let dir = tempfile::tempdir()?;
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let (a, _) = start(&bin, &dir.path().join("a"), &[], 0)?;
    let url = |s: &Server| format!("ws://{}/api/v1/gossip", s.addr);
    let (b, _) = start(&bin, &dir.path().join("b"), &[url(&a)], 1)?;
    let (mut c, _) = start(&bin, &dir.path().join("c"), &[url(&a), url(&b)], 2)?;
    let peers = [url(&a), url(&b)];
    for s in [&a, &b, &c] {
        while connected(&http, s.addr).await < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let addrs = [a.addr, b.addr, c.addr];
    // Warm up (connections, first full states).
    for i in 0..20 {
        let on = addrs[i % 3];
        let id = create(&http, on, &format!("warm {i}")).await;
        for other in addrs.iter().filter(|x| **x != on) {
            wait_for(&http, *other, &id).await;
        }
    }
    let mut lat = Vec::with_capacity(writes);
    for i in 0..writes {
        let on = addrs[i % 3];
        let id = create(&http, on, &format!("w {i}")).await;
        let t = Instant::now();
        let others: Vec<SocketAddr> = addrs.iter().copied().filter(|x| *x != on).collect();
        tokio::join!(
            wait_for(&http, others[0], &id),
            wait_for(&http, others[1], &id)
        );
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "write readable on both other servers: {} writes, median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        writes,
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        ms(*lat.last().unwrap()),
    );

    // Kill C, write `missed` times on A and B, restart C, time its catch-up.
    let _ = c.child.kill();
    let _ = c.child.wait();
    let t = Instant::now();
    let mut tasks = Vec::new();
    // Eight concurrent writers, so the writes go in group commits as under load.
    for w in 0..8usize {
        let http = http.clone();
        let n = missed / 8 + usize::from(w < missed % 8);
        let on = addrs[w % 2];
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(n);
            for i in 0..n {
                ids.push(create(&http, on, &format!("missed {w} {i}")).await);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await?);
    }
    println!(
        "{missed} writes on the two others while C was down in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let (c2, started) = start(&bin, &dir.path().join("c"), &peers, 3)?;
    c = c2;
    // Caught up once C's context equals A's and B's (then every missed write is checked).
    loop {
        let (_, ca) = request(&http, "GET", a.addr, "/api/v1/cluster", "").await;
        let (_, cb) = request(&http, "GET", b.addr, "/api/v1/cluster", "").await;
        let (_, cc) = request(&http, "GET", c.addr, "/api/v1/cluster", "").await;
        if ca["context"] == cc["context"] && cb["context"] == cc["context"] {
            let fulls: u64 = cc["peers"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .map(|p| p["full_states_received"].as_u64().unwrap_or(0))
                        .sum()
                })
                .unwrap_or(0);
            let deltas: u64 = cc["peers"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .map(|p| p["deltas_received"].as_u64().unwrap_or(0))
                        .sum()
                })
                .unwrap_or(0);
            println!(
                "restarted server caught up on {missed} missed writes {:.2} s after it started serving ({deltas} delta messages, {fulls} full states)",
                started.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for id in &ids {
        let (status, _) = request(
            &http,
            "GET",
            c.addr,
            &format!("/api/v1/datacenters/{id}"),
            "",
        )
        .await;
        assert_eq!(
            status, 200,
            "a missed write is missing on the restarted server"
        );
    }
    Ok(())
}
