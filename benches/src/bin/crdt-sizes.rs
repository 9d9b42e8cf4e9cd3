//! `crdt-sizes`: the deterministic size figures of horao-crdt beside the `crdts` crate —
//! metadata bytes per key with 1 and 8 writers, the delta of one changed key, and the bytes
//! on the wire to sync two replicas 1% apart.
//!
//! Run with `cargo run --release -p horao-bench --bin crdt-sizes [-- --keys N]`. Workloads
//! are defined in `horao_bench::crdt_workload`; all sizes are bincode 2 standard (the horao
//! wire), plus bincode 1's fixed-width layout for `crdts` where noted.

use anyhow::{Context, Result, ensure};
use horao_bench::crdt_workload::sizes::{
    Encoding, metadata_ours, metadata_theirs, one_key_delta, one_key_op_theirs, sync_apart,
    synced_ours, synced_theirs,
};
use horao_bench::crdt_workload::{OurMap, Register};
use horao_crdt::{LwwReg, MvReg, Replica};
use std::time::Instant;

/// Writer counts measured.
const WRITERS: [usize; 2] = [1, 8];

fn main() -> Result<()> {
    let keys = parse_keys()?;
    println!("horao-crdt vs crdts 7.3 — sizes, {keys} keys (bincode 2 standard unless noted)");
    println!();

    // The 8-writer states are reused for the delta and sync measurements.
    let started = Instant::now();
    let lww1 = synced_ours::<LwwReg<u64>>(keys, 1);
    let lww8 = synced_ours::<LwwReg<u64>>(keys, 8);
    let mv1 = synced_ours::<MvReg<u64>>(keys, 1);
    let mv8 = synced_ours::<MvReg<u64>>(keys, 8);
    let theirs: Vec<_> = WRITERS
        .iter()
        .map(|&w| synced_theirs(keys, w))
        .collect::<std::result::Result<_, _>>()?;
    eprintln!(
        "workloads built in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    println!("## Metadata bytes per key, after sync (state as a snapshot holds it, log collected)");
    println!();
    println!("| implementation | encoding | 1 writer | 8 writers |");
    println!("|---|---|---:|---:|");
    let ours_row = |name: &str, one: f64, eight: f64| {
        println!(
            "| horao-crdt OrMap<String, {name}> | bincode 2 standard | {one:.1} | {eight:.1} |"
        );
    };
    ours_row(LwwReg::<u64>::NAME, per_key(&lww1)?, per_key(&lww8)?);
    ours_row(MvReg::<u64>::NAME, per_key(&mv1)?, per_key(&mv8)?);
    for (encoding, label) in [
        (Encoding::Standard, "bincode 2 standard"),
        (Encoding::Fixint, "bincode 1 (fixint)"),
    ] {
        let m: Vec<f64> = theirs
            .iter()
            .map(|(_, map)| metadata_theirs(map, encoding).map(|m| m.per_key()))
            .collect::<std::result::Result<_, _>>()?;
        println!(
            "| crdts Map<String, MVReg<u64, u64>, u64> | {label} | {:.1} | {:.1} |",
            m[0], m[1]
        );
    }
    println!();

    println!("## Delta of one changed key (8-writer state)");
    println!();
    println!(
        "| implementation | delta (B) | as sync message (B) | full state (B) | state / delta |"
    );
    println!("|---|---:|---:|---:|---:|");
    let probe = keys / 2;
    for (name, d) in [
        (LwwReg::<u64>::NAME, one_key_delta(first(&lww8)?, probe)?),
        (MvReg::<u64>::NAME, one_key_delta(first(&mv8)?, probe)?),
    ] {
        println!(
            "| horao-crdt OrMap<String, {name}> | {} | {} | {} | {:.0} |",
            d.delta_bytes,
            d.message_bytes,
            d.state_bytes,
            d.state_bytes as f64 / d.delta_bytes as f64
        );
    }
    let (op, state) = one_key_op_theirs(&theirs[1], probe, Encoding::Standard)?;
    println!(
        "| crdts Map<String, MVReg> (op, no envelope) | {op} | – | {state} | {:.0} |",
        state as f64 / op as f64
    );
    println!();

    println!("## Sync of two replicas 1% apart (8-writer state; digest + answer on the wire)");
    println!();
    println!(
        "| implementation | changed keys | changed pairs (B) | digest (B) | answer (B) | total / changed |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, s) in [
        (LwwReg::<u64>::NAME, sync_pair(&lww8)?),
        (MvReg::<u64>::NAME, sync_pair(&mv8)?),
    ] {
        ensure!(s.converged, "{name}: the lagging replica did not converge");
        println!(
            "| horao-crdt OrMap<String, {name}> | {} | {} | {} | {} | {:.2} |",
            s.changed_keys,
            s.changed_plain_bytes,
            s.digest_bytes,
            s.answer_bytes,
            s.ratio()
        );
    }
    Ok(())
}

fn parse_keys() -> Result<usize> {
    let mut args = std::env::args().skip(1);
    let mut keys = 100_000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--keys" => {
                keys = args
                    .next()
                    .context("--keys needs a value")?
                    .parse()
                    .context("--keys takes a number")?;
            }
            other => anyhow::bail!("unknown argument {other:?} (usage: crdt-sizes [--keys N])"),
        }
    }
    Ok(keys)
}

fn first<R: Register>(replicas: &[Replica<OurMap<R>>]) -> Result<&Replica<OurMap<R>>> {
    replicas.first().context("no replica")
}

fn per_key<R: Register>(replicas: &[Replica<OurMap<R>>]) -> Result<f64> {
    Ok(metadata_ours(first(replicas)?.causal())?.per_key())
}

fn sync_pair<R: Register>(
    replicas: &[Replica<OurMap<R>>],
) -> Result<horao_bench::crdt_workload::sizes::SyncSize> {
    match replicas {
        [a, b, ..] => Ok(sync_apart(a, b, 10)?),
        _ => anyhow::bail!("the sync measurement needs two replicas"),
    }
}
