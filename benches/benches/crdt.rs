//! Criterion benchmarks of horao-crdt beside the `crdts` crate (rust-crdt 7.3) on the same
//! workloads (`horao_bench::crdt_workload`): full-state merge of two diverged 100k-key maps,
//! applying one delta (or op) to a 100k-key map, answering a peer 1% behind, handling
//! one pushed delta on a node with 100k logged deltas, and committing a local delta to 1 or
//! 16 peers (one encoding either way). After the criterion groups it times
//! each merge again (median of several runs) and prints the throughput ratio ours / theirs.
//!
//! `cargo bench -p horao-bench --bench crdt` for the figures; under `-- --test` (CI) the maps
//! have 2,000 keys and everything runs once. Both implementations run under mimalloc;
//! `--features system-alloc` runs them under the system allocator instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A bench fails by panicking.

use crdts::{CmRDT, CvRDT};
use criterion::{BatchSize, Criterion, Throughput};
use horao_bench::crdt_workload::sizes::{Drifted, drift, synced_ours};
use horao_bench::crdt_workload::{
    OurMap, Ours, Register, SEED, Sim, TheirMap, TheirSet, TheirsMap, TheirsSet, diverged_states,
    key,
};
use horao_crdt::sync::Hello;
use horao_crdt::{
    Answer, Causal, Frame, Handshake, LwwReg, Message, MvReg, Replica, ReplicaId, SyncConfig,
    SyncNode, Timestamp, wire,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Both implementations run under mimalloc unless the `system-alloc` feature is on (see
/// `benches/Cargo.toml` for why).
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Under `cargo bench -- --test` criterion runs each benchmark once; keep the setup small too.
fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// Two replicas of one implementation.
type Pair<T> = (T, T);

/// The diverged pairs of every implementation (see `crdt_workload::diverged_pair`).
struct Pairs {
    keys: usize,
    lww: Pair<Replica<OurMap<LwwReg<u64>>>>,
    mv: Pair<Replica<OurMap<MvReg<u64>>>>,
    map: Pair<(u64, TheirMap)>,
    set: Pair<(u64, TheirSet)>,
}

impl Pairs {
    fn build(keys: usize) -> Self {
        Self {
            keys,
            lww: diverged_states::<Ours<LwwReg<u64>>>(keys, SEED),
            mv: diverged_states::<Ours<MvReg<u64>>>(keys, SEED),
            map: diverged_states::<TheirsMap>(keys, SEED),
            set: diverged_states::<TheirsSet>(keys, SEED),
        }
    }
}

fn states<R: Register>(pair: &Pair<Replica<OurMap<R>>>) -> Pair<Causal<OurMap<R>>> {
    (pair.0.causal().clone(), pair.1.causal().clone())
}

const LWW: &str = "horao OrMap<String, LwwReg<u64>>";
const MV: &str = "horao OrMap<String, MvReg<u64>>";
const MAP: &str = "crdts Map<String, MVReg<u64, u64>, u64>";
const SET: &str = "crdts Orswot<String, u64>";

/// Full-state merge of the two diverged replicas; cloning the inputs and dropping the result
/// are outside the timing.
fn merge(c: &mut Criterion, p: &Pairs) {
    let mut g = c.benchmark_group(format!("crdt/merge_{}k", p.keys / 1000));
    g.throughput(Throughput::Elements(p.keys as u64))
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    let lww = states(&p.lww);
    g.bench_function(LWW, |b| {
        b.iter_batched(
            || lww.clone(),
            |(mut a, o)| {
                a.merge(o);
                a
            },
            BatchSize::LargeInput,
        )
    });
    let mv = states(&p.mv);
    g.bench_function(MV, |b| {
        b.iter_batched(
            || mv.clone(),
            |(mut a, o)| {
                a.merge(o);
                a
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function(MAP, |b| {
        b.iter_batched(
            || (p.map.0.1.clone(), p.map.1.1.clone()),
            |(mut a, o)| {
                a.merge(o);
                a
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function(SET, |b| {
        b.iter_batched(
            || (p.set.0.1.clone(), p.set.1.1.clone()),
            |(mut a, o)| {
                a.merge(o);
                a
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Applying one delta (horao, through `Replica::apply`, which also logs it for peers) or one
/// op (`crdts`, `CmRDT::apply`) to a 100k-key map. The target and the source replica live
/// across samples (dropping and re-cloning 100k-key maps between samples would bill the
/// allocator's deferred work to the next timed section); each timed batch applies `iters`
/// fresh one-key changes the source made untimed just before.
fn apply_one(c: &mut Criterion, p: &Pairs) {
    let mut g = c.benchmark_group(format!("crdt/apply_one_{}k", p.keys / 1000));
    g.throughput(Throughput::Elements(1));
    let n = p.keys;
    let (mut target, mut src, mut next) = (p.lww.0.clone(), p.lww.1.clone(), 0u64);
    g.bench_function(LWW, |b| {
        b.iter_custom(|iters| {
            let deltas: Vec<_> = (next..next + iters)
                .map(|i| Ours::<LwwReg<u64>>::write(&mut src, changed_key(i, n), i, ts(i)))
                .collect();
            next += iters;
            let t = Instant::now();
            for d in deltas {
                target.apply(d);
            }
            t.elapsed()
        })
    });
    let (mut target, mut src, mut next) = (p.map.0.clone(), p.map.1.clone(), 0u64);
    g.bench_function(MAP, |b| {
        b.iter_custom(|iters| {
            let ops: Vec<_> = (next..next + iters)
                .map(|i| TheirsMap::write(&mut src, changed_key(i, n), i, ts(i)))
                .collect();
            next += iters;
            let t = Instant::now();
            for op in ops {
                target.1.apply(op);
            }
            t.elapsed()
        })
    });
    g.finish();
}

/// The key changed by the `i`-th change: spread over the map, distinct for the first `n`.
fn changed_key(i: u64, n: usize) -> String {
    key((i as usize).wrapping_mul(7919) % n.max(1))
}

fn ts(i: u64) -> Timestamp {
    Timestamp::new(1_800_000_000_000 + i, 0).unwrap()
}

/// Anti-entropy between two synced replicas after one changed 1% of the keys: answering the
/// lagging peer's digest (joining the logged deltas it lacks), and applying that answer.
fn sync_one_percent(c: &mut Criterion, keys: usize) {
    let replicas = synced_ours::<LwwReg<u64>>(keys, 2);
    let Drifted {
        replica: ahead,
        changed,
    } = drift(&replicas[0], 10, SEED).unwrap();
    let behind = &replicas[1];
    let digest = behind.ctx().clone();
    let Answer::Deltas(answer) = ahead.answer(&digest) else {
        panic!("expected deltas");
    };
    let mut g = c.benchmark_group(format!("crdt/sync_1pct_{}k", keys / 1000));
    g.throughput(Throughput::Elements(changed.len() as u64));
    g.bench_function(format!("{LWW}: answer"), |b| {
        b.iter(|| ahead.answer(black_box(&digest)))
    });
    g.bench_function(format!("{LWW}: apply answer"), |b| {
        b.iter_batched(
            || (behind.clone(), answer.clone()),
            |(mut r, d)| {
                r.apply(d);
                r
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// A sync node of the bench's map type.
type Node = SyncNode<OurMap<LwwReg<u64>>>;

/// A hello from replica `id` (a connected peer, for a node under test).
fn hello(id: ReplicaId) -> Handshake {
    Handshake::Hello(Hello {
        replica: id,
        incarnation: 0,
        wire_version: wire::VERSION,
        schema_version: 0,
    })
}

/// A local write on `n`, committed at once; returns the frame that carries it.
fn commit_write(n: &mut Node, i: u64, keys: usize) -> Frame {
    let p = n
        .mutate(|m, tx| m.update(changed_key(i, keys), tx, |r, tx| r.write(i, ts(i), tx)))
        .unwrap();
    let frame = p.frame().clone();
    n.commit(p).unwrap();
    frame
}

/// `SyncNode::handle` and `commit` of one delta pushed by a peer, on a node whose log holds
/// `logged` deltas that peer has not acknowledged (so none can be collected): what every
/// message costs a busy node, including the search for stable deltas to collect. With
/// `peers` > 1 the other peers have acknowledged every logged delta but the first (so the
/// node keeps checking stability against all of them), and the node forwards each delta to
/// them (the received frame itself: nothing is encoded). Decoding is outside the timing.
fn sync_handle(c: &mut Criterion, logged: usize, peers: u64) {
    let (a, b) = (ReplicaId(1), ReplicaId(2));
    let others: Vec<ReplicaId> = (3..peers + 2).map(ReplicaId).collect();
    let mut busy: Node = SyncNode::new(Replica::new(a), SyncConfig::default());
    let mut peer: Node = SyncNode::new(Replica::new(b), SyncConfig::default());
    peer.handle_handshake(hello(a)).unwrap();
    while peer.poll_transmit().is_some() {}
    for id in std::iter::once(b).chain(others.iter().copied()) {
        busy.handle_handshake(hello(id)).unwrap();
    }
    for i in 0..logged as u64 {
        commit_write(&mut busy, i, logged);
    }
    let mut all_but_first = busy.replica().ctx().clone();
    all_but_first.forget(a);
    all_but_first.insert_range(a, 2, logged as u64);
    let digest =
        wire::encode_message(&Message::<OurMap<LwwReg<u64>>>::Digest(all_but_first)).unwrap();
    for id in &others {
        let h = busy.handle(*id, busy.decode(&digest).unwrap(), 0).unwrap();
        assert!(h.pending.is_none());
    }
    while busy.poll_transmit().is_some() {}
    assert_eq!(busy.replica().log_len(), logged);
    let mut next = 0u64;
    let mut g = c.benchmark_group(format!("crdt/sync_handle_{}k", logged / 1000));
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        format!("{LWW}: handle a pushed delta, {peers} peer(s)"),
        |bch| {
            bch.iter_custom(|iters| {
                // The deltas themselves, whether or not the peer would push them (it does not
                // know what the busy node has, so overwrites would go as digests).
                let pushed: Vec<_> = (next..next + iters)
                    .map(|i| busy.decode(&commit_write(&mut peer, i, logged)).unwrap())
                    .collect();
                while peer.poll_transmit().is_some() {}
                next += iters;
                let t = Instant::now();
                for msg in pushed {
                    let p = busy.handle(b, msg, 0).unwrap().pending.unwrap();
                    busy.commit(p).unwrap();
                }
                let elapsed = t.elapsed();
                while busy.poll_transmit().is_some() {}
                elapsed
            })
        },
    );
    g.finish();
}

/// A committed local delta on a node with `peers` connected peers: mutate, commit and drain
/// the outbox. The delta is encoded once; every peer's frame shares those bytes (checked).
fn sync_push(c: &mut Criterion, keys: usize, peers: u64) {
    let mut node: Node = SyncNode::new(Replica::new(ReplicaId(1)), SyncConfig::default());
    for id in 2..peers + 2 {
        node.handle_handshake(hello(ReplicaId(id))).unwrap();
    }
    while node.poll_transmit().is_some() {}
    let mut i = 0u64;
    let mut g = c.benchmark_group("crdt/sync_push");
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        format!("{LWW}: commit a local delta to {peers} peer(s)"),
        |bch| {
            bch.iter(|| {
                let _ = commit_write(&mut node, i, keys);
                i += 1;
                let frames: Vec<_> = std::iter::from_fn(|| node.poll_transmit()).collect();
                assert_eq!(frames.len() as u64, peers);
                assert!(
                    frames
                        .iter()
                        .all(|t| Frame::same(&t.frame, &frames[0].frame))
                );
                frames
            })
        },
    );
    g.finish();
}

/// Median wall time of `runs` merges, setup excluded.
fn median_merge<T: Clone>(runs: usize, pair: &(T, T), merge: impl Fn(&mut T, T)) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let (mut a, o) = pair.clone();
            let t = Instant::now();
            merge(&mut a, o);
            let d = t.elapsed();
            drop(black_box(a));
            d
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Times each merge again and prints throughput and the ratio ours / theirs.
fn print_ratios(p: &Pairs, runs: usize) {
    let ours = [
        (LWW, median_merge(runs, &states(&p.lww), |a, o| a.merge(o))),
        (MV, median_merge(runs, &states(&p.mv), |a, o| a.merge(o))),
    ];
    let theirs = [
        (
            MAP,
            median_merge(runs, &(p.map.0.1.clone(), p.map.1.1.clone()), |a, o| {
                a.merge(o)
            }),
        ),
        (
            SET,
            median_merge(runs, &(p.set.0.1.clone(), p.set.1.1.clone()), |a, o| {
                a.merge(o)
            }),
        ),
    ];
    let rate = |d: Duration| p.keys as f64 / d.as_secs_f64() / 1e6;
    println!();
    println!(
        "merge of two diverged {}-key maps, median of {runs} run(s):",
        p.keys
    );
    for (name, d) in ours.iter().chain(&theirs) {
        println!(
            "  {name:<42} {:>9.2} ms  {:>7.2} M keys/s",
            d.as_secs_f64() * 1e3,
            rate(*d)
        );
    }
    println!("throughput ratio ours / theirs (goal ≥ 3):");
    for (on, od) in &ours {
        for (tn, td) in &theirs {
            println!("  {on} / {tn}: {:.1}×", td.as_secs_f64() / od.as_secs_f64());
        }
    }
}

fn main() {
    let test = test_mode();
    let keys = if test { 2_000 } else { 100_000 };
    let pairs = Pairs::build(keys);
    let mut c = Criterion::default().configure_from_args();
    merge(&mut c, &pairs);
    apply_one(&mut c, &pairs);
    sync_one_percent(&mut c, keys);
    sync_handle(&mut c, keys, 1);
    sync_handle(&mut c, keys, 16);
    sync_push(&mut c, keys, 1);
    sync_push(&mut c, keys, 16);
    c.final_summary();
    print_ratios(&pairs, if test { 1 } else { 15 });
}
