//! Measures a `horao-server` process's resident memory with many peers and watchers attached
//! while writes stream in: the bounds on what it queues for each of them hold its memory.
//!
//! ```text
//! cargo build --release -p horao-server --bin horao-server --example gossip-memory
//! target/release/examples/gossip-memory [--peers 30] [--watchers 20] [--preload 20000]
//!     [--writes 20000] [--bin PATH]
//! ```
//!
//! One server (embedded store in a temporary directory, default limits) gets `--preload`
//! datacenter creations first. Then `--peers` websocket peers connect to its gossip endpoint:
//! each says hello, echoes back the server's digest (so the server believes it holds
//! everything and pushes every new delta to it), and then reads one message every 100 ms — a
//! peer far slower than the write stream, whose outbox runs into its byte bound. `--watchers`
//! watch-feed clients connect and never read. Then `--writes` more creations come from 8
//! concurrent writers. VmRSS of the server is sampled every 100 ms throughout; the figures
//! printed are the resident size before the peers came, its peak, and at the end, with the
//! peers and watchers the server still had connected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/process.rs"]
mod process;

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use horao_crdt::ReplicaId;
use horao_crdt::sync::{Handshake, Hello};
use horao_crdt::wire::{self, Kind};
use horao_model::snapshot::SCHEMA_VERSION;
use process::{ADMIN, Http, SECRET, connected, request, server_bin, start};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The server's resident size in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn create(http: &Http, addr: SocketAddr, name: &str) {
    let row = name.replace(' ', "-");
    let body = format!(r#"{{"name":"{name}","labels":{{"site":"memory-bench","row":"{row}"}}}}"#);
    let (status, answer) = request(http, "POST", addr, "/api/v1/datacenters", &body).await;
    assert_eq!(status, 201, "{answer}");
}

/// Creates `n` datacenters from 8 concurrent writers.
async fn write(http: &Http, addr: SocketAddr, prefix: &str, n: usize) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, next, prefix) = (http.clone(), next.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= n {
                    return;
                }
                create(&http, addr, &format!("{prefix} {i}")).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// A slow peer: hello, the server's digest echoed back, then one message read every 100 ms.
async fn slow_peer(addr: SocketAddr, id: u64) {
    let mut req = format!("ws://{addr}/api/v1/gossip")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {SECRET}").parse().unwrap());
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(req).await else {
        return;
    };
    let hello = wire::encode(
        Kind::Handshake,
        &Handshake::Hello(Hello {
            replica: ReplicaId(id),
            incarnation: 1,
            wire_version: wire::VERSION,
            schema_version: SCHEMA_VERSION,
        }),
    )
    .unwrap();
    if ws.send(Message::binary(hello)).await.is_err() {
        return;
    }
    let mut echoed = false;
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Binary(b) = m {
            // The server's hello, then its digest: echo the digest back once.
            if !echoed && wire::decode_handshake(&b).is_err() {
                echoed = true;
                if ws.send(Message::binary(b)).await.is_err() {
                    return;
                }
            }
        }
        if echoed {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A watcher that connects and never reads.
async fn stalled_watcher(addr: SocketAddr) -> Option<impl Send> {
    let mut req = format!("ws://{addr}/api/v1/watch")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .ok()
        .map(|x| x.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let (mut peers, mut watchers, mut preload, mut writes) = (30u64, 20usize, 20_000, 20_000);
    let mut bin: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--peers" => peers = value()?.parse()?,
            "--watchers" => watchers = value()?.parse()?,
            "--preload" => preload = value()?.parse()?,
            "--writes" => writes = value()?.parse()?,
            "--bin" => bin = Some(value()?.into()),
            _ => bail!("unknown argument {a}"),
        }
    }
    let bin = server_bin(bin)?;
    let dir = tempfile::tempdir()?;
    let http: Http = process::http();
    let (server, _) = start(&bin, &dir.path().join("s"), &[], 0)?;
    let (addr, pid) = (server.addr, server.child.id());
    let t = Instant::now();
    write(&http, addr, "preload", preload).await;
    let before = rss_kib(pid);
    println!(
        "preloaded {preload} datacenters in {:.1} s; VmRSS {:.1} MiB",
        t.elapsed().as_secs_f64(),
        before as f64 / 1024.0
    );

    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let peer_tasks: Vec<_> = (0..peers)
        .map(|i| tokio::spawn(slow_peer(addr, 1_000 + i)))
        .collect();
    let mut held = Vec::new();
    for _ in 0..watchers {
        held.push(stalled_watcher(addr).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "{} of {peers} peers connected, {} watchers held",
        connected(&http, addr).await,
        held.iter().filter(|w| w.is_some()).count()
    );
    let t = Instant::now();
    write(&http, addr, "streamed", writes).await;
    let secs = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let end = rss_kib(pid);
    let still = connected(&http, addr).await;
    sampler.abort();
    println!(
        "{writes} writes in {secs:.1} s ({:.0}/s) with {peers} slow peers and {watchers} stalled watchers",
        writes as f64 / secs
    );
    println!(
        "VmRSS: before the peers {:.1} MiB, peak {:.1} MiB, at the end {:.1} MiB; {} peers still connected",
        before as f64 / 1024.0,
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        end as f64 / 1024.0,
        still
    );
    for p in peer_tasks {
        p.abort();
    }
    drop(held);
    Ok(())
}
