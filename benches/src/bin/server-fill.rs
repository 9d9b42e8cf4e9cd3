//! `server-fill`: fills a horao-server store with the model of the performance goals (50,000
//! devices, 10,000 machines, 100,000 volumes, built by `horao_bench::model_workload`) as one
//! snapshot, so `scripts/server-startup.sh` can time the daemon's start on it.
//!
//! Run with `cargo run --release -p horao-bench --bin server-fill -- --data-dir DIR` (the
//! embedded store) or `-- --redis redis://HOST:PORT/DB`; `--small` builds the small model.

use anyhow::{Context, Result};
use clap::Parser;
use horao_bench::model_workload::{ModelConfig, build_model};
use horao_model::snapshot::encode_snapshot;
use horao_server::store::Store;
use horao_server::store::embedded::{EmbeddedOptions, EmbeddedStore};
use horao_server::store::redis::RedisStore;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "Fill a horao-server store with the goal-sized model")]
struct Args {
    /// The embedded store's directory.
    #[arg(long, conflicts_with = "redis")]
    data_dir: Option<PathBuf>,
    /// Redis instead (`redis://HOST:PORT/DB`).
    #[arg(long)]
    redis: Option<String>,
    /// Build the small model instead of the goal's.
    #[arg(long)]
    small: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let cfg = if args.small {
        ModelConfig::small()
    } else {
        ModelConfig::goal()
    };
    let t = Instant::now();
    let built = build_model(&cfg).context("building the model")?;
    let counts = built.counts();
    eprintln!("built {counts:?} in {:.1} s", t.elapsed().as_secs_f64());
    let snapshot = encode_snapshot(built.replica.causal()).context("encoding the snapshot")?;
    let bytes = snapshot.len();
    drop(built);
    let store: Arc<dyn Store> = match (&args.data_dir, &args.redis) {
        (Some(dir), None) => Arc::new(EmbeddedStore::open(dir, EmbeddedOptions::default())?),
        (None, Some(url)) => Arc::new(RedisStore::open(url, horao_server::REDIS_KEY_PREFIX).await?),
        _ => anyhow::bail!("give --data-dir or --redis"),
    };
    let t = Instant::now();
    store.write_snapshot(snapshot, 0).await?;
    store.close().await?;
    println!(
        "{}: wrote a snapshot of {bytes} bytes in {:.1} s",
        store.kind(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
