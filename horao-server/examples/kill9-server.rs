//! Kills the real `horao-server` binary with SIGKILL in the middle of a stream of
//! acknowledged HTTP writes (datacenters and placed volumes, from concurrent clients), ROUNDS
//! times on one store, restarting it on the same data each time, and checks after every
//! restart that each acknowledged write reads back exactly as acknowledged and that nothing
//! is half-applied. With `--store redis` a `redis-server` (appendonly yes, appendfsync
//! always) is started in a temporary directory and killed with the daemon each round.
//! Prints one line per kill and a summary; exits 1 when any acknowledged write was lost.
//! Run by `scripts/kill9-server.sh`.

// The test harness's modules: a failed check panics, as in the tests.
#[allow(dead_code, unreachable_pub, clippy::expect_used, clippy::panic)]
#[path = "../tests/it/support/redis.rs"]
mod redis;

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/support/kill9.rs"]
mod kill9;

use clap::Parser;
use kill9::{Check, Harness, Target};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// Flags.
#[derive(Parser)]
struct Args {
    /// The `horao-server` binary.
    #[arg(long)]
    bin: PathBuf,
    /// `embedded` or `redis`.
    #[arg(long)]
    store: String,
    /// Kills.
    #[arg(long, default_value_t = 20)]
    rounds: u32,
    /// Concurrent writing clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
}

/// Records the lost writes and half-applied findings of `check`; prints its line.
fn report(store: &str, kill: u32, check: &Check, lost: &mut BTreeSet<String>, torn: &mut usize) {
    for l in &check.lost {
        eprintln!("{store}: LOST {l}");
        lost.insert(l.split(": ").next().unwrap_or(l).to_string());
    }
    for t in &check.torn {
        eprintln!("{store}: HALF-APPLIED {t}");
    }
    *torn += check.torn.len();
    println!(
        "{store} kill {kill}: {} acknowledged so far, all readable: {}, half-applied: {}",
        check.acked,
        check.lost.is_empty(),
        check.torn.len()
    );
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: a temporary directory: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let target = match args.store.as_str() {
        "embedded" => Target::Embedded(dir.path().join("data")),
        "redis" => Target::Redis(redis::RedisServer::start()),
        other => {
            eprintln!("error: --store is embedded or redis, not {other}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut h = Harness::new(&args.bin, target, args.clients);
    let store = h.store();
    let (mut lost, mut torn) = (BTreeSet::new(), 0);
    for round in 1..=args.rounds {
        // Between 0.3 and 2.0 s of writes, so kills land at different points (group
        // commits, snapshots, Redis's own writes).
        let after = Duration::from_millis(300 + rand::random::<u64>() % 1700);
        let check = h.round(after).await;
        if round > 1 {
            report(store, round - 1, &check, &mut lost, &mut torn);
        }
    }
    let check = h.finish().await;
    report(store, args.rounds, &check, &mut lost, &mut torn);
    println!(
        "{store}: {} kills, {} acknowledged writes, lost acknowledged writes: {}, half-applied: {torn}",
        args.rounds,
        check.acked,
        lost.len()
    );
    if lost.is_empty() && torn == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
