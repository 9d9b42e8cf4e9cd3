//! Workloads of the CRDT benchmarks, replayed identically on horao-crdt and on the `crdts`
//! crate (rust-crdt) so the two are measured side by side.
//!
//! A workload is a list of [`Round`]s of [`Op`]s. Each op is performed on its writer's own
//! replica, which returns what the implementation ships to the others (a delta for horao-crdt,
//! an op for `crdts`). At the end of a round marked `sync`, every replica receives everything
//! the others shipped during the round, in the order it was produced; a round without `sync`
//! leaves the replicas diverged. The [`Sim`] trait is the only per-implementation code.
//!
//! Keys look like inventory paths (`dc1/row-03/rack-042/host-17`, 27 bytes); values are
//! random 32-bit numbers in a `u64` (a reading, an asset number). Replica ids are random
//! `u64`s, as real replica ids are (drawn once and persisted), so they cost their full width
//! on the wire. Everything is seeded: the same call builds the same states.
//!
//! The size measurements built on these workloads live in [`sizes`].

pub mod sizes;

use crdts::{CmRDT, Map, Orswot};
use horao_crdt::{Causal, DotStore, LwwReg, MvReg, OrMap, Replica, ReplicaId, Timestamp, Tx};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::marker::PhantomData;

/// The seed every published figure uses.
pub const SEED: u64 = 0x484f_5241_4f00;

/// Physical time (ms) of the first operation; each later operation is one millisecond on.
const T0_MS: u64 = 1_700_000_000_000;

/// The key with index `i`, shaped like an inventory path. Distinct indices give distinct keys.
pub fn key(i: usize) -> String {
    format!(
        "dc1/row-{:02}/rack-{:03}/host-{:02}",
        i / 4000,
        (i / 40) % 100,
        i % 40
    )
}

/// `n` distinct random replica ids (never 0), the same for every implementation.
pub fn replica_ids(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1d5);
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let id = rng.random::<u64>();
        if id != 0 && seen.insert(id) {
            out.push(id);
        }
    }
    out
}

/// One local operation: `writer` indexes the replica that performs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Writes `value` under key `key` (creating the key if absent).
    Write {
        /// The replica performing the write.
        writer: usize,
        /// The key's index (see [`key`]).
        key: usize,
        /// The value written.
        value: u64,
    },
    /// Removes key `key`.
    Remove {
        /// The replica performing the removal.
        writer: usize,
        /// The key's index (see [`key`]).
        key: usize,
    },
}

impl Op {
    /// The replica performing the operation.
    pub fn writer(&self) -> usize {
        match *self {
            Op::Write { writer, .. } | Op::Remove { writer, .. } => writer,
        }
    }
}

/// Operations performed concurrently on their writers' replicas, optionally followed by a
/// full synchronisation.
#[derive(Clone, Debug, Default)]
pub struct Round {
    /// The operations, in the order they happen.
    pub ops: Vec<Op>,
    /// Whether every replica receives every other replica's operations at the end.
    pub sync: bool,
}

fn value(rng: &mut ChaCha8Rng) -> u64 {
    rng.random_range(0..1u64 << 32)
}

/// The "W writers" workload over `keys` keys, for `writers` replicas:
///
/// - round 0 creates every key, key `i` by writer `i % writers`;
/// - rounds 1 and 2 overwrite every key once, each by a writer drawn uniformly, and 1% of the
///   keys a second time by another writer in the same round (a concurrent write: neither
///   writer has seen the other's);
/// - every round ends with a full sync.
///
/// So after the last sync each key's value may have been written by any writer, and 1% of
/// the keys hold two concurrent writes. With one writer there is no concurrency: the second
/// write is skipped.
pub fn writers_history(keys: usize, writers: usize, seed: u64) -> Vec<Round> {
    let writers = writers.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rounds = vec![Round {
        ops: (0..keys)
            .map(|k| Op::Write {
                writer: k % writers,
                key: k,
                value: value(&mut rng),
            })
            .collect(),
        sync: true,
    }];
    for _ in 0..2 {
        let mut ops = Vec::with_capacity(keys + keys / 100 + 1);
        for k in 0..keys {
            let writer = rng.random_range(0..writers);
            ops.push(Op::Write {
                writer,
                key: k,
                value: value(&mut rng),
            });
            if writers > 1 && rng.random_range(0..100) == 0 {
                let other = (writer + rng.random_range(1..writers)) % writers;
                ops.push(Op::Write {
                    writer: other,
                    key: k,
                    value: value(&mut rng),
                });
            }
        }
        rounds.push(Round { ops, sync: true });
    }
    rounds
}

/// The "diverged pair" workload behind the merge benchmark, for three replicas: writer 0
/// creates `keys` keys and syncs (a common base); then, without syncing, writer 1 and
/// writer 2 each overwrite 5% of the keys (1% of the keys are overwritten by both: concurrent
/// writes), remove 0.5% of the keys and add 0.5% new keys. Merging the states of replicas 1
/// and 2 then does real work on about 11% of the keys and skims the rest.
pub fn diverged_pair(keys: usize, seed: u64) -> Vec<Round> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xd1f);
    let base = Round {
        ops: (0..keys)
            .map(|k| Op::Write {
                writer: 0,
                key: k,
                value: value(&mut rng),
            })
            .collect(),
        sync: true,
    };
    let mut edits = Vec::new();
    for k in 0..keys {
        let draw = rng.random_range(0..1000);
        let writers: &[usize] = match draw {
            0..10 => &[1, 2],
            10..50 => &[1],
            50..90 => &[2],
            _ => &[],
        };
        for &writer in writers {
            edits.push(Op::Write {
                writer,
                key: k,
                value: value(&mut rng),
            });
        }
        match draw {
            100..105 => edits.push(Op::Remove { writer: 1, key: k }),
            105..110 => edits.push(Op::Remove { writer: 2, key: k }),
            _ => {}
        }
    }
    let added = keys / 200;
    for (i, k) in (keys..keys + 2 * added).enumerate() {
        edits.push(Op::Write {
            writer: 1 + usize::from(i >= added),
            key: k,
            value: value(&mut rng),
        });
    }
    vec![
        base,
        Round {
            ops: edits,
            sync: false,
        },
    ]
}

/// One implementation under test: how a replica performs an operation and receives another
/// replica's.
pub trait Sim {
    /// One replica.
    type Replica: Clone;
    /// What an operation ships to the other replicas.
    type Shipped: Clone;

    /// An empty replica with id `id`.
    fn replica(id: u64) -> Self::Replica;
    /// Writes `value` under `key` at hybrid time `ts`.
    fn write(r: &mut Self::Replica, key: String, value: u64, ts: Timestamp) -> Self::Shipped;
    /// Removes `key`.
    fn remove(r: &mut Self::Replica, key: String) -> Self::Shipped;
    /// Receives what another replica shipped.
    fn deliver(r: &mut Self::Replica, shipped: Self::Shipped);
    /// Called after a full sync, when every replica has seen everything.
    fn settle(_replicas: &mut [Self::Replica]) {}
}

/// Replays `rounds` on one replica per id of `ids` and returns the replicas.
pub fn run<S: Sim>(ids: &[u64], rounds: &[Round]) -> Vec<S::Replica> {
    let mut replicas: Vec<S::Replica> = ids.iter().map(|&id| S::replica(id)).collect();
    let mut now = T0_MS;
    for round in rounds {
        let mut shipped = Vec::with_capacity(if round.sync { round.ops.len() } else { 0 });
        for op in &round.ops {
            now += 1;
            let w = op.writer();
            let s = match *op {
                Op::Write { key: k, value, .. } => {
                    // Physical time grows by 1 ms per operation, so a plain timestamp is what
                    // every writer's hybrid clock would return.
                    let ts = Timestamp::new(now, 0).unwrap_or_default();
                    S::write(&mut replicas[w], key(k), value, ts)
                }
                Op::Remove { key: k, .. } => S::remove(&mut replicas[w], key(k)),
            };
            if round.sync {
                shipped.push((w, s));
            }
        }
        if round.sync {
            for (r, replica) in replicas.iter_mut().enumerate() {
                for (w, s) in &shipped {
                    if *w != r {
                        S::deliver(replica, s.clone());
                    }
                }
            }
            S::settle(&mut replicas);
        }
    }
    replicas
}

/// A register type of horao-crdt the workloads can write a `u64` into.
pub trait Register: DotStore + serde::Serialize + serde::de::DeserializeOwned {
    /// Short name for reports.
    const NAME: &'static str;
    /// Delta writing `value` at time `ts`.
    fn put(&self, value: u64, ts: Timestamp, tx: &mut Tx) -> Self;
    /// The value a reader sees (for a multi-value register with concurrent values, the
    /// largest).
    fn read(&self) -> Option<u64>;
}

impl Register for LwwReg<u64> {
    const NAME: &'static str = "LwwReg<u64>";
    fn put(&self, value: u64, ts: Timestamp, tx: &mut Tx) -> Self {
        self.write(value, ts, tx)
    }
    fn read(&self) -> Option<u64> {
        self.get().copied()
    }
}

impl Register for MvReg<u64> {
    const NAME: &'static str = "MvReg<u64>";
    fn put(&self, value: u64, _ts: Timestamp, tx: &mut Tx) -> Self {
        self.write(value, tx)
    }
    fn read(&self) -> Option<u64> {
        self.values().max().copied()
    }
}

/// The horao-crdt map of the benchmarks.
pub type OurMap<R> = OrMap<String, R>;

/// horao-crdt: a [`Replica`] of an `OrMap<String, R>`, shipping deltas.
#[derive(Debug)]
pub struct Ours<R>(PhantomData<R>);

impl<R: Register> Sim for Ours<R> {
    type Replica = Replica<OurMap<R>>;
    type Shipped = Causal<OurMap<R>>;

    fn replica(id: u64) -> Self::Replica {
        Replica::new(ReplicaId(id))
    }

    fn write(r: &mut Self::Replica, key: String, value: u64, ts: Timestamp) -> Self::Shipped {
        r.mutate(|m, tx| m.update(key, tx, |reg, tx| reg.put(value, ts, tx)))
            .unwrap_or_default()
    }

    fn remove(r: &mut Self::Replica, key: String) -> Self::Shipped {
        r.mutate(|m, tx| m.remove(&key, tx)).unwrap_or_default()
    }

    fn deliver(r: &mut Self::Replica, shipped: Self::Shipped) {
        r.apply(shipped);
    }

    /// After a full sync every dot is stable, so every replica collects its delta log, as a
    /// sync node does once all peers have acknowledged.
    fn settle(replicas: &mut [Self::Replica]) {
        if let Some(stable) = replicas.first().map(|r| r.ctx().clone()) {
            for r in replicas {
                r.collect(&stable);
            }
        }
    }
}

/// The `crdts` map compared against: string keys, multi-value registers, `u64` actors.
pub type TheirMap = Map<String, crdts::MVReg<u64, u64>, u64>;
/// The `crdts` observed-remove set compared against (keys only).
pub type TheirSet = Orswot<String, u64>;

/// `crdts`: a `Map<String, MVReg<u64, u64>, u64>` with its actor, shipping ops.
#[derive(Debug)]
pub struct TheirsMap;

impl Sim for TheirsMap {
    type Replica = (u64, TheirMap);
    type Shipped = crdts::map::Op<String, crdts::MVReg<u64, u64>, u64>;

    fn replica(id: u64) -> Self::Replica {
        (id, Map::new())
    }

    fn write(r: &mut Self::Replica, key: String, value: u64, _ts: Timestamp) -> Self::Shipped {
        let (actor, map) = r;
        let ctx = map.read_ctx().derive_add_ctx(*actor);
        let op = map.update(key, ctx, |reg, ctx| reg.write(value, ctx));
        map.apply(op.clone());
        op
    }

    fn remove(r: &mut Self::Replica, key: String) -> Self::Shipped {
        let map = &mut r.1;
        let ctx = map.get(&key).derive_rm_ctx();
        let op = map.rm(key, ctx);
        map.apply(op.clone());
        op
    }

    fn deliver(r: &mut Self::Replica, shipped: Self::Shipped) {
        r.1.apply(shipped);
    }
}

/// `crdts`: an `Orswot<String, u64>` of the keys (a write re-adds its key), shipping ops.
#[derive(Debug)]
pub struct TheirsSet;

impl Sim for TheirsSet {
    type Replica = (u64, TheirSet);
    type Shipped = crdts::orswot::Op<String, u64>;

    fn replica(id: u64) -> Self::Replica {
        (id, Orswot::new())
    }

    fn write(r: &mut Self::Replica, key: String, _value: u64, _ts: Timestamp) -> Self::Shipped {
        let (actor, set) = r;
        let ctx = set.read_ctx().derive_add_ctx(*actor);
        let op = set.add(key, ctx);
        set.apply(op.clone());
        op
    }

    fn remove(r: &mut Self::Replica, key: String) -> Self::Shipped {
        let set = &mut r.1;
        let ctx = set.contains(&key).derive_rm_ctx();
        let op = set.rm(key, ctx);
        set.apply(op.clone());
        op
    }

    fn deliver(r: &mut Self::Replica, shipped: Self::Shipped) {
        r.1.apply(shipped);
    }
}

/// The two diverged states of the merge benchmark (replicas 1 and 2 of [`diverged_pair`]).
pub fn diverged_states<S: Sim>(keys: usize, seed: u64) -> (S::Replica, S::Replica) {
    let mut replicas = run::<S>(&replica_ids(3, seed), &diverged_pair(keys, seed));
    let b = replicas.pop();
    let a = replicas.pop();
    match (a, b) {
        (Some(a), Some(b)) => (a, b),
        // `run` returns one replica per id, and there are three ids.
        _ => unreachable!("three replicas"),
    }
}

/// The horao-crdt map's entries as plain `(key, value)` pairs: the data without any CRDT
/// metadata.
pub fn plain_ours<R: Register>(m: &OurMap<R>) -> Vec<(String, u64)> {
    m.iter()
        .filter_map(|(k, r)| r.read().map(|v| (k.clone(), v)))
        .collect()
}

/// The `crdts` map's entries as plain `(key, value)` pairs (the largest of concurrent values).
pub fn plain_theirs(m: &TheirMap) -> Vec<(String, u64)> {
    m.iter()
        .filter_map(|e| {
            let (k, reg) = e.val;
            reg.read().val.into_iter().max().map(|v| (k.clone(), v))
        })
        .collect()
}
