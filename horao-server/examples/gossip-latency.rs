//! Measures how long a write on one of three `horao-server` processes on loopback takes to
//! become readable on the other two (gossip), and how long a restarted server that missed
//! writes takes to catch up.
//!
//! ```text
//! cargo build --release -p horao-server --bin horao-server --example gossip-latency
//! target/release/examples/gossip-latency [--writes 1000] [--missed 10000] [--bin PATH]
//!     [--redis redis://HOST:PORT/DB]
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
//!
//! With `--redis`, the three servers share that Redis database instead (node names `a`, `b`,
//! `c`, no gossip): the same figures then measure how fast servers sharing one Redis follow
//! each other's commits, and how fast a restarted one loads. The database should be empty.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/process.rs"]
mod process;

use anyhow::{Context, Result, bail};
use process::{Http, Server, connected, request, server_bin, start_args};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
    let mut redis: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--writes" => writes = args.next().context("--writes N")?.parse()?,
            "--missed" => missed = args.next().context("--missed N")?.parse()?,
            "--bin" => bin = Some(args.next().context("--bin PATH")?.into()),
            "--redis" => redis = Some(args.next().context("--redis URL")?),
            _ => bail!("unknown argument {a}"),
        }
    }
    let bin = server_bin(bin)?;
    let dir = tempfile::tempdir()?;
    let http: Http = process::http();
    // Gossip peers, or with Redis the node to be.
    let launch = |name: &str, peers: &[String], n: usize| {
        let args: Vec<String> = match &redis {
            Some(r) => ["--redis", r, "--redis-node", name]
                .map(String::from)
                .to_vec(),
            None => peers
                .iter()
                .flat_map(|p| ["--peer".to_string(), p.clone()])
                .collect(),
        };
        start_args(&bin, &dir.path().join(name), &args, n)
    };
    let (a, _) = launch("a", &[], 0)?;
    let url = |s: &Server| format!("ws://{}/api/v1/gossip", s.addr);
    let (b, _) = launch("b", &[url(&a)], 1)?;
    let (mut c, _) = launch("c", &[url(&a), url(&b)], 2)?;
    let peers = [url(&a), url(&b)];
    for s in [&a, &b, &c] {
        while redis.is_none() && connected(&http, s.addr).await < 2 {
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
    let (c2, started) = launch("c", &peers, 3)?;
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
