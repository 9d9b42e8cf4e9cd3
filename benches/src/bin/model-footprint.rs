//! `model-footprint`: the memory, snapshot size and build time of the horao-model inventory at
//! the scale of the model's goals (50,000 devices, 10,000 machines, 100,000 volumes).
//!
//! Run with `cargo run --release -p horao-bench --bin model-footprint [-- --small]
//! [--max-log N] [--max-log-bytes B]`. Bytes are counted by a counting global allocator (`cap`)
//! wrapped around mimalloc, the allocator of the server and the agent (`--features
//! system-alloc`: around the system allocator): the bytes the program asked for, without the
//! allocator's own rounding and bookkeeping, so VmRSS and VmHWM from `/proc/self/status` are
//! printed beside them. Peaks cannot be reset, so the
//! snapshot decode runs in a child process of this binary (`--decode FILE`) to get its own
//! peak. The workload is `horao_bench::model_workload`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use anyhow::{Context, Result};
use cap::Cap;
use clap::Parser;
use horao_bench::model_workload::{BuiltModel, ModelConfig, build_model};
use horao_crdt::{Causal, DerivedIndex, DotStore};
use horao_model::model::Model;
use horao_model::physical::DeviceKind;
use horao_model::snapshot::{decode_snapshot, encode_snapshot};
use std::collections::BTreeMap;
use std::time::Instant;

/// Counts every allocation of this process (current and peak bytes), made by mimalloc as in
/// the server.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOC: Cap<mimalloc::MiMalloc> = Cap::new(mimalloc::MiMalloc, usize::MAX);

/// Counts every allocation of this process (current and peak bytes), made by the system
/// allocator.
#[cfg(feature = "system-alloc")]
#[global_allocator]
static ALLOC: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

/// The allocator under the counter, as printed.
const ALLOCATOR: &str = if cfg!(feature = "system-alloc") {
    "system"
} else {
    "mimalloc"
};

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "Memory, snapshot size and build time of the horao-model inventory")]
struct Args {
    /// Build the small model (for a quick check) instead of the goal's.
    #[arg(long)]
    small: bool,
    /// Bound on the number of deltas in the replica's log while building (the server default
    /// is 100,000).
    #[arg(long)]
    max_log: Option<usize>,
    /// Bound on the bytes of the replica's log while building (default: horao-crdt's `DEFAULT_MAX_LOG_BYTES`).
    #[arg(long)]
    max_log_bytes: Option<usize>,
    /// Internal: decode the snapshot in FILE and report, then exit.
    #[arg(long, value_name = "FILE")]
    decode: Option<std::path::PathBuf>,
}

const MIB: f64 = (1u64 << 20) as f64;

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB)
}

/// VmRSS and VmHWM of this process, in bytes.
fn rss() -> (usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<usize>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn rss_line() -> String {
    let (rss, hwm) = rss();
    format!("VmRSS {}, VmHWM {}", mib(rss), mib(hwm))
}

/// Heap bytes a deep copy of `value` allocates (close to what the original holds; a cloned
/// B-tree can be packed slightly tighter than one grown by inserts).
fn heap_of<T: Clone>(value: &T) -> usize {
    let before = ALLOC.allocated();
    let copy = value.clone();
    let bytes = ALLOC.allocated().saturating_sub(before);
    drop(copy);
    bytes
}

fn dots_of(s: &impl DotStore) -> usize {
    let mut n = 0;
    s.for_each_dot(&mut |_| n += 1);
    n
}

/// The child process: decodes a snapshot and reports time, retained and peak bytes.
fn decode_only(path: &std::path::Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let base = ALLOC.allocated();
    let t = Instant::now();
    let state: Causal<Model> = decode_snapshot(&bytes, bytes.len())?;
    let elapsed = t.elapsed();
    let retained = ALLOC.allocated() - base;
    let peak = ALLOC.max_allocated() - base;
    println!(
        "{} {} {} {}",
        elapsed.as_secs_f64(),
        retained,
        peak,
        rss().1
    );
    drop(state);
    Ok(())
}

fn breakdown(built: &BuiltModel) {
    let m = built.model();
    let p = &m.physical;
    println!();
    println!("Where the state's bytes go (heap bytes of a deep copy of each part):");
    let machines: BTreeMap<_, _> = m
        .storage
        .machines()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let volumes: BTreeMap<_, _> = m
        .storage
        .volumes()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let tables: [(&str, usize, usize); 8] = [
        ("datacenters", p.datacenters.len(), heap_of(&p.datacenters)),
        ("rows", p.rows.len(), heap_of(&p.rows)),
        ("racks", p.racks.len(), heap_of(&p.racks)),
        ("devices", p.devices.len(), heap_of(&p.devices)),
        ("machines", machines.len(), heap_of(&machines)),
        ("volumes", volumes.len(), heap_of(&volumes)),
        ("causal context", 1, heap_of(&built.replica.causal().ctx)),
        (
            "whole state (Causal<Model>)",
            1,
            heap_of(built.replica.causal()),
        ),
    ];
    for (name, n, bytes) in tables {
        if n > 1 {
            println!(
                "  {name:<28} {:>10}  {n:>7} × {:>5} B",
                mib(bytes),
                bytes / n.max(1)
            );
        } else {
            println!("  {name:<28} {:>10}", mib(bytes));
        }
    }
    // Volume and machine ids are reference-counted (`Arc<str>`): a deep copy shares their
    // text with the original, so the rows above leave it out. Each table key owns one.
    let arc_text = |len: usize| 2 * std::mem::size_of::<usize>() + len;
    let id_text: usize = m
        .storage
        .volumes()
        .map(|(id, _)| arc_text(id.as_str().len()))
        .chain(
            m.storage
                .machines()
                .map(|(id, _)| arc_text(id.as_str().len())),
        )
        .sum();
    println!(
        "  {:<28} {:>10}  (shared by reference, so not in the rows above)",
        "volume and machine ids' text",
        mib(id_text)
    );
    let built_size = |f: &dyn Fn() -> Box<dyn std::any::Any>| {
        let before = ALLOC.allocated();
        let ix = f();
        let bytes = ALLOC.allocated().saturating_sub(before);
        drop(ix);
        bytes
    };
    let physical_ix =
        built_size(&|| Box::new(<horao_model::physical::Index as DerivedIndex<_>>::build(p)));
    let storage_ix = built_size(&|| {
        Box::new(<horao_model::storage::StorageIndex as DerivedIndex<_>>::build(&m.storage))
    });
    println!(
        "  {:<28} {:>10}  (children by parent, links by port; built on first use)",
        "derived physical index",
        mib(physical_ix)
    );
    println!(
        "  {:<28} {:>10}  (volumes by name and by machine; built on first use)",
        "derived storage index",
        mib(storage_ix)
    );
    println!();
    println!("One entity (inline size in its B-tree node + heap of key and value; dots):");
    let one_device = |kind: DeviceKind| {
        built
            .devices
            .iter()
            .find(|(_, k)| *k == kind)
            .and_then(|(id, _)| p.devices.get(id).map(|d| (id, d)))
    };
    for kind in [
        DeviceKind::Server,
        DeviceKind::StorageHost,
        DeviceKind::Switch,
    ] {
        if let Some((id, d)) = one_device(kind) {
            println!(
                "  device ({:<12}) inline {:>3} B + key {:>3} B + value {:>5} B \
                 (info {} B, place {} B, hardware {} B, {} labels {} B), {} dots",
                kind.name(),
                std::mem::size_of_val(id) + std::mem::size_of_val(d),
                heap_of(id),
                heap_of(d),
                heap_of(&d.info),
                heap_of(&d.place),
                heap_of(&d.hardware),
                d.labels.len(),
                heap_of(&d.labels),
                dots_of(d)
            );
        }
    }
    if let Some((id, mc)) = m.storage.machines().next() {
        println!(
            "  machine                inline {:>3} B + key {:>3} B + value {:>5} B, {} dots",
            std::mem::size_of_val(id) + std::mem::size_of_val(mc),
            arc_text(id.as_str().len()),
            heap_of(mc),
            dots_of(mc)
        );
    }
    if let Some((id, v)) = m.storage.volumes().next() {
        println!(
            "  volume                 inline {:>3} B + key {:>3} B + value {:>5} B, {} dots",
            std::mem::size_of_val(id) + std::mem::size_of_val(v),
            arc_text(id.as_str().len()),
            heap_of(v),
            dots_of(v)
        );
        volume_registers(v);
    }
}

/// The inline size of each register of a volume, and the heap its values hold.
fn volume_registers(v: &horao_model::storage::Volume) {
    use horao_crdt::{LwwReg, MvReg};
    use horao_model::storage::{DesiredVolume, MachineId, Source, VolumeCurrent, VolumeSpec};
    use std::mem::size_of;
    println!(
        "    registers inline: spec {} B, source {} B, desired {} B, assignment {} B, \
         current {} B",
        size_of::<LwwReg<Box<VolumeSpec>>>(),
        size_of::<LwwReg<Box<Source>>>(),
        size_of::<LwwReg<DesiredVolume>>(),
        size_of::<MvReg<MachineId>>(),
        size_of::<LwwReg<VolumeCurrent>>(),
    );
    println!(
        "    values' heap: spec {} B ({} B inline), source {} B, desired {} B, assignment {} B, \
         current {} B",
        v.spec().map_or(0, |s| heap_of(s) + size_of::<VolumeSpec>()),
        size_of::<VolumeSpec>(),
        v.source().map_or(0, heap_of),
        heap_of(&v.desired()),
        v.assigned().iter().map(|m| heap_of(*m)).sum::<usize>(),
        v.current().map_or(0, heap_of),
    );
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.decode {
        return decode_only(path);
    }
    let mut cfg = if args.small {
        ModelConfig::small()
    } else {
        ModelConfig::goal()
    };
    if let Some(n) = args.max_log {
        cfg.max_log_entries = n;
    }
    if let Some(n) = args.max_log_bytes {
        cfg.max_log_bytes = n;
    }
    let base = ALLOC.allocated();
    println!(
        "horao-model footprint: {} devices, {} machines, {} volumes; delta log bounds {} \
         deltas, {}",
        cfg.devices,
        cfg.machines,
        cfg.volumes,
        cfg.max_log_entries,
        mib(cfg.max_log_bytes)
    );

    let t = Instant::now();
    let mut built = build_model(&cfg)?;
    let build_time = t.elapsed();
    let with_log = ALLOC.allocated() - base;
    let build_peak = ALLOC.max_allocated() - base;
    let build_rss = rss_line();
    let log_entries = built.replica.log_len();
    let log_bytes = built.replica.log_bytes();
    let c = built.counts();
    println!(
        "built {} datacenters, {} rows, {} racks, {} devices, {} machines, {} volumes \
         ({} assigned) in {:.2} s: {} mutations, {:.1} µs each",
        c.datacenters,
        c.rows,
        c.racks,
        c.devices,
        c.machines,
        c.volumes,
        c.assigned_volumes,
        build_time.as_secs_f64(),
        built.mutations,
        build_time.as_secs_f64() * 1e6 / built.mutations as f64
    );

    built.replica.set_max_log_bytes(0);
    let state_only = ALLOC.allocated() - base;
    println!();
    println!("Memory (counting allocator over {ALLOCATOR}; bytes requested):");
    println!("  peak while building          {:>10}", mib(build_peak));
    println!(
        "  retained, replica + log      {:>10}  ({log_entries} logged deltas)",
        mib(with_log)
    );
    println!(
        "  delta log alone              {:>10}  ({} B per delta; the log accounts for {}, \
         {} B per delta)",
        mib(with_log - state_only),
        (with_log - state_only) / log_entries.max(1),
        mib(log_bytes),
        log_bytes / log_entries.max(1)
    );
    println!(
        "  retained, replica, no log    {:>10}  (after dropping every logged delta)",
        mib(state_only)
    );
    println!("  after build: {build_rss}");

    let t = Instant::now();
    let snapshot = encode_snapshot(built.replica.causal())?;
    let encode_time = t.elapsed();
    println!();
    println!(
        "Snapshot: {} bytes ({}), encoded in {:.1} ms; {:.0} B per volume-equivalent entity",
        snapshot.len(),
        mib(snapshot.len()),
        encode_time.as_secs_f64() * 1e3,
        snapshot.len() as f64 / (c.devices + c.machines + c.volumes).max(1) as f64
    );

    breakdown(&built);
    drop(built);

    let path = std::env::temp_dir().join(format!("horao-model-{}.snapshot", std::process::id()));
    std::fs::write(&path, &snapshot)?;
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--decode")
        .arg(&path)
        .output()?;
    let _ = std::fs::remove_file(&path);
    anyhow::ensure!(
        out.status.success(),
        "decode child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout)?;
    let f: Vec<f64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()?;
    let [secs, retained, peak, hwm] = f[..] else {
        anyhow::bail!("unexpected decode report {line:?}");
    };
    println!();
    println!(
        "Decode + validate (child process): {:.1} ms; decoded state {}, peak {} above the \
         snapshot bytes; VmHWM {}",
        secs * 1e3,
        mib(retained as usize),
        mib(peak as usize),
        mib(hwm as usize)
    );
    println!(
        "Encode + decode: {:.1} ms",
        (encode_time.as_secs_f64() + secs) * 1e3
    );
    println!("Process: {}", rss_line());
    Ok(())
}
