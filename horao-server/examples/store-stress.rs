//! Commits a stream of deltas to a store with several concurrent writers and prints each
//! acknowledged commit right after its acknowledgement, so `scripts/kill9-store.sh` can kill
//! the process at any moment and then check with `verify` that every acknowledged commit
//! survived intact.
//!
//! ```text
//! store-stress write  (--embedded DIR | --redis URL) --run R [--writers N] [--snapshot-every N]
//! store-stress verify (--embedded DIR | --redis URL) --acked FILE
//! ```
//!
//! `write` prints `ack SEQ ID` per acknowledged commit; the delta is a function of `ID`, and
//! the commit also sets the metadata key `writer-R-W` to `ID`. Every `--snapshot-every`
//! commits a snapshot is written the way the server will: the loaded state (here a JSON map
//! of sequence number to delta) with the journal folded in, covering the journal's last entry.
//! `verify` reads the `ack` lines of FILE (a torn last line is ignored) and counts the
//! acknowledged commits that are missing or different in the snapshot plus journal; it exits
//! non-zero if any are.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use horao_server::store::embedded::{EmbeddedOptions, EmbeddedStore};
use horao_server::store::redis::RedisStore;
use horao_server::store::{Commit, Loaded, Store};

const REDIS_PREFIX: &str = "horao-stress";

/// The delta committed for a payload id: the id, then filler derived from it.
fn payload(id: &str) -> Vec<u8> {
    let mut bytes = format!("{id}|").into_bytes();
    let mut x = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    for _ in 0..48 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(b'a' + (x % 26) as u8);
    }
    bytes
}

struct Args {
    mode: String,
    embedded: Option<String>,
    redis: Option<String>,
    run: String,
    writers: usize,
    snapshot_every: u64,
    acked: Option<String>,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let mode = args
        .next()
        .context("usage: store-stress (write|verify) ...")?;
    let mut parsed = Args {
        mode,
        embedded: None,
        redis: None,
        run: "0".into(),
        writers: 8,
        snapshot_every: 2000,
        acked: None,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--embedded" => parsed.embedded = Some(value),
            "--redis" => parsed.redis = Some(value),
            "--run" => parsed.run = value,
            "--writers" => parsed.writers = value.parse().context("--writers")?,
            "--snapshot-every" => {
                parsed.snapshot_every = value.parse().context("--snapshot-every")?
            }
            "--acked" => parsed.acked = Some(value),
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(parsed)
}

async fn open(args: &Args) -> Result<Arc<dyn Store>> {
    Ok(match (&args.embedded, &args.redis) {
        (Some(dir), None) => Arc::new(EmbeddedStore::open(
            std::path::Path::new(dir),
            EmbeddedOptions::default(),
        )?),
        (None, Some(url)) => Arc::new(RedisStore::open(url, REDIS_PREFIX).await?),
        _ => bail!("give exactly one of --embedded DIR and --redis URL"),
    })
}

/// Every entry the store holds: the snapshot's map with the journal on top.
fn entries(loaded: &Loaded) -> Result<BTreeMap<u64, String>> {
    let mut map: BTreeMap<u64, String> = match &loaded.snapshot {
        Some(bytes) => serde_json::from_slice(bytes).context("the snapshot is not a JSON map")?,
        None => BTreeMap::new(),
    };
    for (seq, delta) in &loaded.journal {
        map.insert(*seq, String::from_utf8_lossy(delta).into_owned());
    }
    Ok(map)
}

async fn snapshot(store: &dyn Store) -> Result<()> {
    let loaded = store.load().await?;
    let map = entries(&loaded)?;
    let upto = loaded.journal.last().map(|(seq, _)| *seq);
    if let Some(upto) = upto {
        store
            .write_snapshot(serde_json::to_vec(&map)?, upto)
            .await?;
    }
    Ok(())
}

async fn write(args: Args) -> Result<()> {
    let store = open(&args).await?;
    let committed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for writer in 0..args.writers {
        let store = Arc::clone(&store);
        let committed = Arc::clone(&committed);
        let run = args.run.clone();
        let every = args.snapshot_every.max(1);
        tasks.push(tokio::spawn(async move {
            for i in 0u64.. {
                let id = format!("{run}-{writer}-{i}");
                let seq = store
                    .commit(Commit {
                        delta: payload(&id),
                        meta: vec![(
                            format!("writer-{run}-{writer}"),
                            Some(id.clone().into_bytes()),
                        )],
                    })
                    .await?;
                {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {seq} {id}")?;
                    out.flush()?;
                }
                if committed.fetch_add(1, Ordering::Relaxed) % every == every - 1 {
                    snapshot(store.as_ref()).await?;
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn verify(args: Args) -> Result<()> {
    let acked_path = args.acked.clone().context("verify needs --acked FILE")?;
    let store = open(&args).await?;
    let loaded = store.load().await?;
    let map = entries(&loaded)?;
    let file = std::fs::read(&acked_path).with_context(|| format!("reading {acked_path}"))?;
    let (mut acked, mut lost) = (0u64, 0u64);
    for line in file.split_inclusive(|b| *b == b'\n') {
        // A line the kill cut short was never fully printed: it proves nothing.
        let Some(line) = line.strip_suffix(b"\n") else {
            continue;
        };
        let line = String::from_utf8_lossy(line);
        let mut words = line.split(' ');
        let (Some("ack"), Some(seq), Some(id)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let seq: u64 = seq.parse().with_context(|| format!("bad line {line:?}"))?;
        acked += 1;
        let expected = String::from_utf8_lossy(&payload(id)).into_owned();
        if map.get(&seq) != Some(&expected) {
            lost += 1;
            eprintln!(
                "lost or damaged: seq {seq} id {id}: found {:?}",
                map.get(&seq)
            );
        }
    }
    // Nothing half-applied: every stored delta is a whole payload.
    let damaged = map
        .values()
        .filter(|delta| {
            let id = delta.split('|').next().unwrap_or_default();
            String::from_utf8_lossy(&payload(id)) != delta.as_str()
        })
        .count();
    store.close().await?;
    println!(
        "acked {acked} lost {lost} damaged {damaged} stored {} journal {}",
        map.len(),
        loaded.journal.len()
    );
    if lost > 0 || damaged > 0 {
        bail!("{lost} acknowledged commits lost, {damaged} stored deltas damaged");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    match args.mode.as_str() {
        "write" => write(args).await,
        "verify" => verify(args).await,
        other => bail!("unknown mode {other}; use write or verify"),
    }
}
