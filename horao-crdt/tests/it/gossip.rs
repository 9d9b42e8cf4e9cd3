//! Dissemination at scale, measured in the seeded simulator's style: 1,000 replicas, each
//! connected to a random partial view of the others, in synchronous gossip rounds (every
//! frame sent in round r is handled in round r + 1). A write is pushed to a fan-out of the
//! writer's peers and forwarded by each replica that learns it to a fan-out of its own;
//! each round every replica also sends its digest to a fan-out (anti-entropy), which catches
//! up the few a push missed. Measured: rounds until every replica has the write, and bytes
//! sent per write per replica.
//!
//! `cargo test -p horao-crdt --release --test it gossip::report -- --ignored --nocapture`
//! prints the figures of docs/PERFORMANCE.md.

use crate::common::{NOW, drain, node};
use horao_crdt::{LwwReg, OrMap, ReplicaId, SyncConfig, SyncNode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Doc = OrMap<u32, LwwReg<u64>>;

/// One configuration of the measurement.
#[derive(Clone, Copy, Debug)]
struct Setup {
    replicas: usize,
    /// Peers each replica dials (connections are both ways, so views average twice this).
    dials: usize,
    fanout: Option<usize>,
    /// Whether every replica sends its digest every round.
    anti_entropy: bool,
    seed: u64,
}

/// What dissemination of the writes cost.
#[derive(Debug)]
struct Outcome {
    /// Most rounds any write needed to reach every replica.
    max_rounds: usize,
    /// Mean over the writes.
    mean_rounds: f64,
    /// Bytes sent, all replicas together, per write and per replica (digests included).
    bytes_per_write_per_replica: f64,
}

fn build(s: Setup) -> Vec<SyncNode<Doc>> {
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let config = SyncConfig {
        fanout: s.fanout,
        ..SyncConfig::default()
    };
    let mut nodes: Vec<SyncNode<Doc>> = (1..=s.replicas as u64)
        .map(|i| {
            node(
                i,
                SyncConfig {
                    seed: s.seed,
                    ..config.clone()
                },
            )
        })
        .collect();
    for i in 0..s.replicas {
        for _ in 0..s.dials {
            let j = rng.random_range(0..s.replicas);
            if j != i && !nodes[i].is_connected(ReplicaId(j as u64 + 1)) {
                let (a, b) = crate::common::pair(&mut nodes, i, j);
                crate::common::connect(a, b);
            }
        }
    }
    nodes
}

/// Runs `writes` writes from random replicas, one after another, each until every replica
/// has it and the network is quiet.
fn measure(s: Setup, writes: usize) -> Outcome {
    let mut nodes = build(s);
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed ^ 0xfeed);
    let mut rounds = Vec::new();
    let mut bytes = 0usize;
    for w in 0..writes {
        let origin = rng.random_range(0..s.replicas);
        let key = w as u32;
        let ts = nodes[origin].now(NOW + w as u64).unwrap();
        let p = nodes[origin]
            .mutate(|m, tx| m.update(key, tx, |r, tx| r.write(7, ts, tx)))
            .unwrap();
        let dot = p.change().ctx.max(ReplicaId(origin as u64 + 1));
        nodes[origin].commit(p).unwrap();
        let mut inflight: Vec<(usize, usize, Vec<u8>)> = Vec::new();
        let mut reached_at = None;
        for round in 1..=64 {
            for (i, n) in nodes.iter_mut().enumerate() {
                if s.anti_entropy {
                    n.tick();
                }
                for t in drain(n) {
                    bytes += t.frame.len();
                    inflight.push((i, (t.to.0 - 1) as usize, t.frame.to_vec()));
                }
            }
            for (from, to, frame) in std::mem::take(&mut inflight) {
                let n = &mut nodes[to];
                let msg = n.decode(&frame).unwrap();
                let h = n.handle(ReplicaId(from as u64 + 1), msg, NOW).unwrap();
                if let Some(p) = h.pending {
                    n.commit(p).unwrap();
                }
            }
            let id = ReplicaId(origin as u64 + 1);
            if reached_at.is_none() && nodes.iter().all(|n| n.replica().ctx().max(id) >= dot) {
                reached_at = Some(round);
                if s.anti_entropy {
                    break;
                }
            }
            if reached_at.is_some() && inflight.is_empty() && nodes.iter().all(quiet) {
                break;
            }
        }
        rounds.push(reached_at.unwrap_or(usize::MAX));
    }
    Outcome {
        max_rounds: rounds.iter().copied().max().unwrap_or(0),
        mean_rounds: rounds.iter().sum::<usize>() as f64 / writes as f64,
        bytes_per_write_per_replica: bytes as f64 / writes as f64 / s.replicas as f64,
    }
}

/// True when nothing is queued on `n` for any peer.
fn quiet(n: &SyncNode<Doc>) -> bool {
    n.peers().all(|p| n.queued_bytes(p) == 0)
}

/// The bound of the issue: log2(N) + 3 rounds.
fn bound(n: usize) -> usize {
    (n as f64).log2().ceil() as usize + 3
}

#[test]
fn a_write_reaches_a_thousand_replicas_within_log2_n_plus_3_rounds() {
    let s = Setup {
        replicas: 1_000,
        dials: 4,
        fanout: Some(4),
        anti_entropy: true,
        seed: 2026,
    };
    let o = measure(s, 5);
    assert!(
        o.max_rounds <= bound(s.replicas),
        "{o:?} (bound {})",
        bound(s.replicas)
    );
}

#[test]
#[ignore = "prints the figures of docs/PERFORMANCE.md"]
fn report() {
    println!("replicas dials fanout anti-entropy | rounds max mean (bound) | bytes/write/replica");
    for (dials, fanout, anti_entropy) in [
        (4, None, false),
        (4, Some(4), true),
        (4, Some(2), true),
        (8, Some(4), true),
    ] {
        let s = Setup {
            replicas: 1_000,
            dials,
            fanout,
            anti_entropy,
            seed: 2026,
        };
        let o = measure(s, 20);
        println!(
            "{:>8} {dials:>5} {:>6} {anti_entropy:>12} | {:>10} {:>4.1} ({:>2}) | {:>10.0}",
            s.replicas,
            fanout.map_or("all".to_string(), |f| f.to_string()),
            o.max_rounds,
            o.mean_rounds,
            bound(s.replicas),
            o.bytes_per_write_per_replica
        );
    }
}
