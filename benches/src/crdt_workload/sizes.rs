//! Deterministic size measurements of the CRDT workloads: metadata bytes per key, the encoded
//! delta of one changed key, and the bytes on the wire to sync two replicas 1% apart.
//!
//! Sizes are bytes of bincode 2 in its standard configuration (variable-length integers),
//! which is what `horao_crdt::wire` puts in its envelopes; [`Encoding::Fixint`] is bincode
//! 1's default layout (fixed 8-byte integers and lengths), for comparison with figures quoted
//! for `crdts` under bincode 1.

use super::{OurMap, Register, SEED, Sim, TheirMap, key, plain_ours, plain_theirs, replica_ids};
use super::{Ours, TheirsMap, run, writers_history};
use horao_crdt::wire::{self, Kind};
use horao_crdt::{Answer, Causal, Message, Replica, Timestamp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::fmt;

/// Why a measurement failed.
#[derive(Debug)]
pub enum SizeError {
    /// Encoding a value failed.
    Encode(String),
    /// The workload did not behave as the measurement requires.
    Workload(String),
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeError::Encode(e) => write!(f, "encoding failed: {e}"),
            SizeError::Workload(e) => write!(f, "unexpected workload outcome: {e}"),
        }
    }
}

impl std::error::Error for SizeError {}

impl From<horao_crdt::Error> for SizeError {
    fn from(e: horao_crdt::Error) -> Self {
        SizeError::Encode(e.to_string())
    }
}

/// The result of a measurement.
pub type Result<T> = std::result::Result<T, SizeError>;

/// A bincode layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// bincode 2 standard: variable-length integers (what the horao wire uses).
    Standard,
    /// bincode 1's default: fixed-width integers, 8-byte lengths.
    Fixint,
}

/// The encoded length of `value` in `encoding`.
pub fn encoded_len<T: Serialize>(value: &T, encoding: Encoding) -> Result<usize> {
    let bytes = match encoding {
        Encoding::Standard => bincode::serde::encode_to_vec(value, bincode::config::standard()),
        Encoding::Fixint => bincode::serde::encode_to_vec(value, bincode::config::legacy()),
    };
    bytes
        .map(|b| b.len())
        .map_err(|e| SizeError::Encode(e.to_string()))
}

/// The metadata of one state: its encoded size against the same entries with no CRDT
/// metadata (a plain list of `(key, value)` pairs in the same encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Keys present.
    pub keys: usize,
    /// Encoded size of the whole state (store and causal context).
    pub state_bytes: usize,
    /// Encoded size of the plain `(key, value)` pairs.
    pub plain_bytes: usize,
}

impl Metadata {
    /// Metadata bytes per key: `(state − plain) / keys`. Concurrent values beyond the one a
    /// reader sees count as metadata here.
    pub fn per_key(&self) -> f64 {
        if self.keys == 0 {
            return 0.0;
        }
        (self.state_bytes as f64 - self.plain_bytes as f64) / self.keys as f64
    }
}

/// The metadata of a horao-crdt state (store plus context, as a snapshot holds it).
pub fn metadata_ours<R: Register>(state: &Causal<OurMap<R>>) -> Result<Metadata> {
    let plain = plain_ours(&state.store);
    Ok(Metadata {
        keys: plain.len(),
        state_bytes: encoded_len(state, Encoding::Standard)?,
        plain_bytes: encoded_len(&plain, Encoding::Standard)?,
    })
}

/// The metadata of a `crdts` map in `encoding`.
pub fn metadata_theirs(map: &TheirMap, encoding: Encoding) -> Result<Metadata> {
    let plain = plain_theirs(map);
    Ok(Metadata {
        keys: plain.len(),
        state_bytes: encoded_len(map, encoding)?,
        plain_bytes: encoded_len(&plain, encoding)?,
    })
}

/// The replicas of the "W writers" workload ([`writers_history`]) on horao-crdt, after the
/// last sync, their delta logs collected.
pub fn synced_ours<R: Register>(keys: usize, writers: usize) -> Vec<Replica<OurMap<R>>> {
    run::<Ours<R>>(
        &replica_ids(writers, SEED),
        &writers_history(keys, writers, SEED),
    )
}

/// One replica's map of the "W writers" workload on `crdts`, after the last sync.
pub fn synced_theirs(keys: usize, writers: usize) -> Result<(u64, TheirMap)> {
    run::<TheirsMap>(
        &replica_ids(writers, SEED),
        &writers_history(keys, writers, SEED),
    )
    .into_iter()
    .next()
    .ok_or_else(|| SizeError::Workload("no replica".into()))
}

/// Sizes of the delta of one changed key, against the full state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeltaSize {
    /// The delta as a durable-log entry (`wire::encode_causal` with `Kind::Delta`).
    pub delta_bytes: usize,
    /// The delta as a sync message (`wire::encode_message` of `Message::Deltas`).
    pub message_bytes: usize,
    /// The full state as a snapshot (`wire::encode_causal` with `Kind::State`).
    pub state_bytes: usize,
}

/// Overwrites key `key_index` on (a copy of) `replica` and measures the delta.
pub fn one_key_delta<R: Register>(
    replica: &Replica<OurMap<R>>,
    key_index: usize,
) -> Result<DeltaSize> {
    let mut r = replica.clone();
    let ts = Timestamp::new(1_800_000_000_000, 0)?;
    let delta = r.mutate(|m, tx| m.update(key(key_index), tx, |reg, tx| reg.put(7, ts, tx)))?;
    Ok(DeltaSize {
        delta_bytes: wire::encode_causal(Kind::Delta, &delta)?.len(),
        message_bytes: wire::encode_message(&Message::Deltas(delta, ts))?.len(),
        state_bytes: wire::encode_causal(Kind::State, r.causal())?.len(),
    })
}

/// The op `crdts` ships for one changed key and the full map, both in `encoding` (no
/// envelope).
pub fn one_key_op_theirs(
    replica: &(u64, TheirMap),
    key_index: usize,
    encoding: Encoding,
) -> Result<(usize, usize)> {
    let mut r = replica.clone();
    let ts = Timestamp::default();
    let op = TheirsMap::write(&mut r, key(key_index), 7, ts);
    Ok((encoded_len(&op, encoding)?, encoded_len(&r.1, encoding)?))
}

/// A copy of a replica that changed some keys without shipping them (see [`drift`]).
#[derive(Clone, Debug)]
pub struct Drifted<R: Register> {
    /// The copy; its delta log holds the changes.
    pub replica: Replica<OurMap<R>>,
    /// The changed entries as plain `(key, value)` pairs, in key order.
    pub changed: Vec<(String, u64)>,
}

/// Copies `replica` and overwrites `changed_per_mille`‰ of its keys (distinct keys, new
/// random values) without shipping anything.
pub fn drift<R: Register>(
    replica: &Replica<OurMap<R>>,
    changed_per_mille: usize,
    seed: u64,
) -> Result<Drifted<R>> {
    let mut r = replica.clone();
    let keys: Vec<String> = r.state().keys().cloned().collect();
    let n = keys.len() * changed_per_mille / 1000;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5c);
    let picked = rand::seq::index::sample(&mut rng, keys.len(), n);
    let mut changed = Vec::with_capacity(n);
    for (i, k) in picked.into_iter().enumerate() {
        let value = rng.random_range(0..1u64 << 32);
        let ts = Timestamp::new(1_800_000_000_000 + i as u64, 0)?;
        let k = keys[k].clone();
        r.mutate(|m, tx| m.update(k.clone(), tx, |reg, tx| reg.put(value, ts, tx)))?;
        changed.push((k, value));
    }
    changed.sort();
    Ok(Drifted {
        replica: r,
        changed,
    })
}

/// Bytes on the wire to bring a replica up to date with a peer that changed some keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncSize {
    /// Keys changed on the up-to-date side.
    pub changed_keys: usize,
    /// The lagging side's digest (`Message::Digest`, enveloped).
    pub digest_bytes: usize,
    /// The answer (`Message::Deltas`, enveloped).
    pub answer_bytes: usize,
    /// The changed `(key, value)` pairs alone, in the same encoding without envelope.
    pub changed_plain_bytes: usize,
    /// Whether applying the answer made the lagging side equal to the other.
    pub converged: bool,
}

impl SyncSize {
    /// Digest plus answer, over the changed pairs alone.
    pub fn ratio(&self) -> f64 {
        (self.digest_bytes + self.answer_bytes) as f64 / self.changed_plain_bytes.max(1) as f64
    }
}

/// Two synced replicas `a` and `b`; `a` changes `changed_per_mille`‰ of the keys, then `b`
/// sends its digest and `a` answers with `Replica::answer`. Measures both messages as the
/// real wire encodes them, and checks that `b` converges.
pub fn sync_apart<R: Register>(
    a: &Replica<OurMap<R>>,
    b: &Replica<OurMap<R>>,
    changed_per_mille: usize,
) -> Result<SyncSize> {
    let Drifted {
        replica: a,
        changed,
    } = drift(a, changed_per_mille, SEED)?;
    let mut b = b.clone();
    let digest = Message::<OurMap<R>>::Digest(b.ctx().clone());
    let delta = match a.answer(b.ctx()) {
        Answer::Deltas(d) => d,
        Answer::Full(_) => return Err(SizeError::Workload("answered with a full state".into())),
        Answer::UpToDate => return Err(SizeError::Workload("answered up to date".into())),
    };
    // Stamped with the sender's clock, as a node sends it.
    let answer = Message::Deltas(delta.clone(), Timestamp::new(1_800_000_000_000, 0)?);
    let sizes = SyncSize {
        changed_keys: changed.len(),
        digest_bytes: wire::encode_message(&digest)?.len(),
        answer_bytes: wire::encode_message(&answer)?.len(),
        changed_plain_bytes: encoded_len(&changed, Encoding::Standard)?,
        converged: false,
    };
    b.apply(delta);
    Ok(SyncSize {
        converged: b.causal() == a.causal(),
        ..sizes
    })
}
