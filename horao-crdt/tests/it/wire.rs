//! The wire format: committed test vectors that pin the encoding, and malformed, truncated and
//! oversized inputs that must be typed errors (never a panic or a large allocation).
//!
//! The vectors live in `tests/vectors/*.hex` (hex, 32 bytes a line). After a deliberate
//! format change, regenerate them with
//! `UPDATE_VECTORS=1 cargo test -p horao-crdt --test it wire::`, bump [`wire::VERSION`] and keep a
//! reader for the old version; an unexplained diff in these files is a compatibility break.

use crate::common;
use horao_crdt::sync::{Chunk, Handshake, Hello};
use horao_crdt::wire::{
    self, DEFAULT_MAX_PAYLOAD, HEADER_LEN, Kind, MAGIC, MIN_VERSION, STORED_VERSION, VERSION,
};
use horao_crdt::{
    Causal, CausalContext, DotStore, Error, LwwReg, Message, MvReg, OrMap, OrSet, PnCounter,
    Replica, ReplicaId, SyncConfig, SyncNode, Timestamp, dot_store_struct,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------
// Vectors
// ---------------------------------------------------------------------------------------------

/// A host record: one of each nested type. Defined here, not shared with other tests, so the
/// vectors change only when the format does.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Host {
    name: LwwReg<String>,
    owners: MvReg<String>,
    labels: OrSet<String>,
    cores: PnCounter,
}
dot_store_struct!(Host {
    name,
    owners,
    labels,
    cores
});

/// The document of the state vectors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Doc {
    hosts: OrMap<String, Host>,
    racks: OrSet<String>,
}
dot_store_struct!(Doc { hosts, racks });

fn ts(ms: u64, logical: u16) -> Timestamp {
    Timestamp::new(ms, logical).unwrap()
}

/// The sender's clock in the data vectors.
fn clock() -> Timestamp {
    ts(1_700_000_000_123, 4)
}

fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(format!("{name}.hex"))
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for line in bytes.chunks(32) {
        for b in line {
            out.push_str(&format!("{b:02x}"));
        }
        out.push('\n');
    }
    out
}

fn from_hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The committed bytes of vector `name`; with `UPDATE_VECTORS=1`, first rewrites the file
/// with `fresh`.
fn vector(name: &str, fresh: &[u8]) -> Vec<u8> {
    let path = vector_path(name);
    if std::env::var_os("UPDATE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, to_hex(fresh)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_VECTORS=1 to create it)",
            path.display()
        )
    });
    from_hex(&text)
}

/// The committed bytes of vector `name`, never rewritten.
fn read_vector(name: &str) -> Vec<u8> {
    from_hex(&std::fs::read_to_string(vector_path(name)).unwrap())
}

/// Pins a message: its encoding equals the committed vector and the vector decodes to it.
fn check_message<S: DotStore + Serialize + DeserializeOwned>(name: &str, msg: &Message<S>) {
    let fresh = wire::encode_message(msg).unwrap();
    let stored = vector(name, &fresh);
    assert_eq!(
        to_hex(&fresh),
        to_hex(&stored),
        "encoding of {name} changed"
    );
    assert_eq!(
        wire::decode_message::<S>(&stored, DEFAULT_MAX_PAYLOAD)
            .unwrap()
            .message(),
        msg
    );
}

/// Pins a state or delta envelope the same way.
fn check_causal<S: DotStore + Serialize + DeserializeOwned>(name: &str, kind: Kind, c: &Causal<S>) {
    let fresh = wire::encode_causal(kind, c).unwrap();
    let stored = vector(name, &fresh);
    assert_eq!(
        to_hex(&fresh),
        to_hex(&stored),
        "encoding of {name} changed"
    );
    assert_eq!(
        &wire::decode_causal::<S>(kind, &stored, DEFAULT_MAX_PAYLOAD).unwrap(),
        c
    );
}

/// A context with a version-vector entry, a gapped entry and a large replica id.
fn sample_context() -> CausalContext {
    let mut ctx = CausalContext::new();
    ctx.insert_range(ReplicaId(1), 1, 5);
    ctx.insert_range(ReplicaId(2), 1, 3);
    ctx.insert_range(ReplicaId(2), 7, 9);
    ctx.insert_range(ReplicaId(0xdead_beef_cafe), 300, 300);
    ctx
}

/// One local mutation: reads the state, returns the delta store.
type Step<'a, S> = &'a dyn Fn(&S, &mut horao_crdt::Tx) -> S;

/// A replica of `S` with id `id`, after `steps` local mutations; returns the last delta too.
fn mutated<S: DotStore + Serialize + DeserializeOwned>(
    id: u64,
    steps: &[Step<'_, S>],
) -> (Replica<S>, Causal<S>) {
    let mut r = Replica::new(ReplicaId(id));
    let mut last = Causal::default();
    for step in steps {
        last = r.mutate(|s, tx| step(s, tx)).unwrap();
    }
    (r, last)
}

/// The document every state vector holds: two hosts (one edited from two replicas), a removed
/// host and a rack set.
fn sample_doc() -> (Replica<Doc>, Causal<Doc>) {
    let (mut a, _) = mutated::<Doc>(
        10,
        &[
            &|d, tx| Doc {
                hosts: d.hosts.update("node-a".into(), tx, |h, tx| Host {
                    name: h
                        .name
                        .write("node-a.dc1".into(), ts(1_700_000_000_000, 0), tx),
                    cores: h.cores.add(64, tx),
                    ..Host::default()
                }),
                ..Doc::default()
            },
            &|d, tx| Doc {
                racks: d.racks.add("r1".into(), tx),
                ..Doc::default()
            },
            &|d, tx| Doc {
                hosts: d.hosts.update("gone".into(), tx, |h, tx| Host {
                    labels: h.labels.add("old".into(), tx),
                    ..Host::default()
                }),
                ..Doc::default()
            },
            &|d, tx| Doc {
                hosts: d.hosts.remove(&"gone".to_string(), tx),
                ..Doc::default()
            },
        ],
    );
    let mut b = Replica::new(ReplicaId(11));
    b.merge(a.causal().clone());
    let delta = b
        .mutate(|d, tx| Doc {
            hosts: d.hosts.update("node-a".into(), tx, |h, tx| Host {
                owners: h.owners.write("ops".into(), tx),
                labels: h.labels.add("gpu".into(), tx),
                cores: h.cores.add(-4, tx),
                ..Host::default()
            }),
            ..Doc::default()
        })
        .unwrap();
    a.apply(delta.clone());
    (a, delta)
}

#[test]
fn vector_digest() {
    check_message::<Doc>("digest", &Message::Digest(sample_context()));
    check_message::<Doc>("digest_empty", &Message::Digest(CausalContext::new()));
}

#[test]
fn vector_deltas_of_each_type() {
    let t = ts(1_700_000_000_000, 3);
    let (_, lww) = mutated::<LwwReg<String>>(
        7,
        &[&|r, tx| r.write("a".into(), t, tx), &|r, tx| {
            r.write("b".into(), t, tx)
        }],
    );
    check_message("deltas_lww", &Message::Deltas(lww, clock()));

    let (_, mv) = mutated::<MvReg<u32>>(7, &[&|r, tx| r.write(1, tx), &|r, tx| r.write(2, tx)]);
    check_message("deltas_mvreg", &Message::Deltas(mv, clock()));

    let (_, set) = mutated::<OrSet<String>>(
        7,
        &[
            &|s, tx| s.add("x".into(), tx),
            &|s, tx| s.add("y".into(), tx),
            &|s, tx| s.remove(&"x".to_string(), tx),
        ],
    );
    check_message("deltas_orset_remove", &Message::Deltas(set, clock()));

    let (_, ctr) = mutated::<PnCounter>(7, &[&|c, tx| c.add(5, tx), &|c, tx| c.add(-2, tx)]);
    check_message("deltas_counter", &Message::Deltas(ctr, clock()));

    let (_, map) = mutated::<OrMap<String, LwwReg<u64>>>(
        7,
        &[
            &|m, tx| m.update("k".into(), tx, |r, tx| r.write(9, t, tx)),
            &|m, tx| m.remove(&"k".to_string(), tx),
        ],
    );
    check_message("deltas_ormap_remove", &Message::Deltas(map, clock()));

    let (_, doc) = sample_doc();
    check_message("deltas_doc", &Message::Deltas(doc, clock()));
}

#[test]
fn vector_full_state_snapshot_and_logged_delta() {
    let (replica, delta) = sample_doc();
    check_message(
        "full_doc",
        &Message::Full(replica.causal().clone(), clock()),
    );
    check_causal("snapshot_doc", Kind::State, replica.causal());
    check_causal("delta_doc", Kind::Delta, &delta);
}

#[test]
fn vector_handshake_chunk_and_sync_state() {
    // The handshake's layout is frozen: these bytes must never change, whatever the version.
    let hello = Hello {
        replica: ReplicaId(0xdead_beef),
        incarnation: 7,
        wire_version: VERSION,
        schema_version: 3,
    };
    for (name, h) in [
        ("hello", Handshake::Hello(hello)),
        ("refusal", refusal_of(hello)),
    ] {
        let fresh = wire::encode(Kind::Handshake, &h).unwrap();
        let stored = vector(name, &fresh);
        assert_eq!(
            to_hex(&fresh),
            to_hex(&stored),
            "encoding of {name} changed"
        );
        assert_eq!(wire::decode_handshake(&stored), Ok(h));
    }
    check_message::<Doc>(
        "chunk",
        &Message::Chunk(Chunk {
            transfer: 3,
            offset: 1_000,
            total: 1_005,
            bytes: b"HRAO!".to_vec(),
        }),
    );
    let (replica, _) = sample_doc();
    let mut node: SyncNode<Doc> = SyncNode::new(replica, SyncConfig::default());
    let _ = node.add_peer(ReplicaId(11));
    let state = node.export();
    let fresh = wire::encode_sync_state(&state).unwrap();
    let stored = vector("sync_state", &fresh);
    assert_eq!(
        to_hex(&fresh),
        to_hex(&stored),
        "encoding of sync_state changed"
    );
    assert_eq!(
        wire::decode_sync_state(&stored, DEFAULT_MAX_PAYLOAD).unwrap(),
        state
    );
    assert!(!state.log.is_empty());
}

/// The refusal a node with a mismatched schema answers `hello` with.
fn refusal_of(hello: Hello) -> Handshake {
    let mut node: SyncNode<Doc> = SyncNode::new(
        Replica::new(ReplicaId(1)),
        SyncConfig {
            schema_version: 4,
            ..SyncConfig::default()
        },
    );
    let reply = node
        .handle_handshake(Handshake::Hello(hello))
        .unwrap_err()
        .reply;
    wire::decode_handshake(&reply.unwrap()).unwrap()
}

#[test]
fn vector_header_layout() {
    // The header is documented byte by byte in wire.rs; pin it independently of bincode.
    let bytes = read_vector("digest_empty");
    assert_eq!(&bytes[..4], b"HRAO");
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), VERSION);
    assert_eq!(bytes[6], Kind::Message as u8);
    let len = u32::from_le_bytes(bytes[7..11].try_into().unwrap());
    assert_eq!(len as usize, bytes.len() - HEADER_LEN);
    // Variant 0 (Digest) of an empty map.
    assert_eq!(&bytes[HEADER_LEN..], &[0, 0]);
}

// ---------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------

/// Every committed message vector, decoded as a `Doc` message.
fn message_vectors() -> Vec<(&'static str, Vec<u8>)> {
    ["digest", "full_doc", "deltas_doc"]
        .into_iter()
        .map(|n| (n, read_vector(n)))
        .collect()
}

fn decode_doc(bytes: &[u8]) -> Result<Message<Doc>, Error> {
    wire::decode_message::<Doc>(bytes, DEFAULT_MAX_PAYLOAD).map(|m| m.into_message())
}

/// Writes `len` into the header's payload-length field.
fn set_len(bytes: &mut [u8], len: u32) {
    bytes[7..11].copy_from_slice(&len.to_le_bytes());
}

/// An envelope of `kind` around raw payload bytes.
fn envelope(kind: Kind, payload: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&kind.version().to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// bincode's varint for a `u64`: the 0xfd marker and eight little-endian bytes.
fn varint_u64(v: u64) -> Vec<u8> {
    let mut out = vec![0xfd];
    out.extend_from_slice(&v.to_le_bytes());
    out
}

#[test]
fn every_truncation_is_truncated() {
    for (name, bytes) in message_vectors() {
        assert!(decode_doc(&bytes).is_ok());
        for n in 0..bytes.len() {
            assert_eq!(
                decode_doc(&bytes[..n]),
                Err(Error::Truncated { len: n }),
                "{name} cut at {n}"
            );
        }
    }
}

#[test]
fn every_truncated_payload_with_a_matching_header_is_a_typed_error() {
    // The header is fixed up to claim the shorter payload, so bincode itself runs out.
    for (name, bytes) in message_vectors() {
        for n in HEADER_LEN..bytes.len() {
            let mut cut = bytes[..n].to_vec();
            set_len(&mut cut, u32::try_from(n - HEADER_LEN).unwrap());
            match decode_doc(&cut) {
                Err(Error::Truncated { .. } | Error::Malformed(_) | Error::Invalid { .. }) => {}
                other => panic!("{name} payload cut at {n}: {other:?}"),
            }
        }
    }
}

#[test]
fn bad_magic() {
    let (_, bytes) = &message_vectors()[0];
    for i in 0..4 {
        let mut b = bytes.clone();
        b[i] ^= 0x20;
        assert_eq!(decode_doc(&b), Err(Error::BadMagic));
    }
}

#[test]
fn unsupported_versions() {
    // Messages: exactly this build's version (peers agreed on it in the handshake).
    let (_, bytes) = &message_vectors()[0];
    for v in [0, VERSION - 1, VERSION + 1, u16::MAX] {
        let mut b = bytes.clone();
        b[4..6].copy_from_slice(&v.to_le_bytes());
        assert_eq!(
            decode_doc(&b),
            Err(Error::UnsupportedVersion {
                found: v,
                min: VERSION,
                max: VERSION
            })
        );
    }
    // Stored kinds: from the oldest stored version on; a message-layout change did not
    // rewrite them.
    let snap = read_vector("snapshot_doc");
    assert_eq!(u16::from_le_bytes([snap[4], snap[5]]), STORED_VERSION);
    for v in [0, STORED_VERSION + 1] {
        let mut b = snap.clone();
        b[4..6].copy_from_slice(&v.to_le_bytes());
        assert_eq!(
            wire::decode_causal::<Doc>(Kind::State, &b, DEFAULT_MAX_PAYLOAD),
            Err(Error::UnsupportedVersion {
                found: v,
                min: MIN_VERSION,
                max: STORED_VERSION
            })
        );
    }
}

#[test]
fn wrong_kind() {
    let (_, msg) = &message_vectors()[1];
    assert_eq!(
        wire::decode_causal::<Doc>(Kind::State, msg, DEFAULT_MAX_PAYLOAD),
        Err(Error::WrongKind {
            found: 1,
            expected: 2
        })
    );
    let snap = read_vector("snapshot_doc");
    assert_eq!(
        wire::decode_causal::<Doc>(Kind::Delta, &snap, DEFAULT_MAX_PAYLOAD),
        Err(Error::WrongKind {
            found: 2,
            expected: 3
        })
    );
    assert_eq!(
        decode_doc(&snap),
        Err(Error::WrongKind {
            found: 2,
            expected: 1
        })
    );
    for k in [0, 4, 255] {
        let mut b = msg.clone();
        b[6] = k;
        assert_eq!(
            decode_doc(&b),
            Err(Error::WrongKind {
                found: k,
                expected: 1
            })
        );
    }
}

#[test]
fn trailing_bytes() {
    for (_, bytes) in message_vectors() {
        // Beyond the declared length.
        let mut b = bytes.clone();
        b.extend_from_slice(&[0, 0, 0]);
        assert_eq!(decode_doc(&b), Err(Error::TrailingBytes(3)));
        // Inside the declared length, after a complete value.
        let mut b = bytes.clone();
        b.push(0);
        set_len(&mut b, u32::try_from(bytes.len() + 1 - HEADER_LEN).unwrap());
        assert_eq!(decode_doc(&b), Err(Error::TrailingBytes(1)));
    }
}

#[test]
fn oversized_declared_length_fails_before_reading() {
    // A header alone, claiming 4 GiB: the length is refused before anything is read (had the
    // decoder tried to read, this would be `Truncated`).
    let mut b = envelope(Kind::Message, &[]);
    set_len(&mut b, u32::MAX);
    assert_eq!(
        decode_doc(&b),
        Err(Error::TooLarge {
            len: u32::MAX as usize,
            limit: DEFAULT_MAX_PAYLOAD
        })
    );
    // A valid message over the caller's limit.
    let (_, full) = &message_vectors()[1];
    let payload = full.len() - HEADER_LEN;
    assert_eq!(
        wire::decode_message::<Doc>(full, payload - 1),
        Err(Error::TooLarge {
            len: payload,
            limit: payload - 1
        })
    );
    assert!(wire::decode_message::<Doc>(full, payload).is_ok());
}

#[test]
fn huge_declared_string_fails_without_allocating() {
    // Deltas(Causal { store: [(dot 1:1, <string of 512 MiB>)], ctx: {} }) for an MvReg<String>,
    // in 16 bytes. Bincode allocates a string at its declared length before reading it, so
    // this used to allocate 512 MiB and then fail as truncated; the allocation limit now
    // scales with the payload, and the claim is refused before anything is allocated.
    let mut payload = vec![1, 1, 1, 1];
    payload.extend(varint_u64(512 << 20));
    let b = envelope(Kind::Message, &payload);
    match wire::decode_message::<MvReg<String>>(&b, DEFAULT_MAX_PAYLOAD) {
        Err(Error::TooLarge { .. }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // Even larger declared lengths never reach the allocator either.
    for len in [u64::from(u32::MAX), 1 << 40, u64::MAX] {
        let mut payload = vec![1, 1, 1, 1];
        payload.extend(varint_u64(len));
        let b = envelope(Kind::Message, &payload);
        assert!(matches!(
            wire::decode_message::<MvReg<String>>(&b, DEFAULT_MAX_PAYLOAD),
            Err(Error::TooLarge { .. })
        ));
    }
}

#[test]
fn huge_declared_collections_fail_fast() {
    // Collections are not claimed against bincode's limit; serde preallocates at most 1 MiB
    // for them ("cautious" size hints) and reading then runs out of input. Each case finishes
    // in microseconds; a decoder that trusted the length would abort or take gigabytes.
    for len in [1 << 20, 1 << 40, u64::MAX] {
        // A digest whose context claims `len` replicas.
        let mut payload = vec![0];
        payload.extend(varint_u64(len));
        let b = envelope(Kind::Message, &payload);
        assert_eq!(decode_doc(&b), Err(Error::Truncated { len: b.len() }));
        // A delta whose dot store claims `len` entries.
        let mut payload = vec![1];
        payload.extend(varint_u64(len));
        let b = envelope(Kind::Message, &payload);
        assert_eq!(
            wire::decode_message::<MvReg<u8>>(&b, DEFAULT_MAX_PAYLOAD),
            Err(Error::Truncated { len: b.len() })
        );
        // An LWW register of bytes whose single value claims `len` bytes.
        let mut payload = vec![1, 1, 1, 1, 1];
        payload.extend(varint_u64(len));
        let b = envelope(Kind::Message, &payload);
        assert!(matches!(
            wire::decode_message::<LwwReg<Vec<u8>>>(&b, DEFAULT_MAX_PAYLOAD),
            Err(Error::Truncated { .. } | Error::TooLarge { .. })
        ));
    }
}

#[test]
fn large_valid_payloads_still_decode() {
    // The allocation limit scales with the payload: check values whose bincode "claims" are
    // as large as they get (a 16-byte integer per payload byte) and long strings, on both
    // sides of every limit tier.
    for n in [0, 1, 250, 251, 255, 256, 4_000, 70_000, 300_000, 1_100_000] {
        let ints = vec![0u128; n];
        let b = wire::encode(Kind::Message, &ints).unwrap();
        assert_eq!(
            wire::decode::<Vec<u128>>(Kind::Message, &b, DEFAULT_MAX_PAYLOAD).unwrap(),
            ints
        );
        let text = "x".repeat(n);
        let b = wire::encode(Kind::Message, &text).unwrap();
        assert_eq!(
            wire::decode::<String>(Kind::Message, &b, DEFAULT_MAX_PAYLOAD).unwrap(),
            text
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Structures that decode but are invalid
// ---------------------------------------------------------------------------------------------

/// The wire shape of a `Causal<MvReg<u8>>` without its invariants: `store` is the dot store's
/// entries `((replica, counter), value)` and `ctx` the per-replica interval lists.
#[derive(Serialize)]
struct RawCausal {
    store: Vec<((u64, u64), u8)>,
    ctx: Vec<(u64, Vec<(u64, u64)>)>,
}

fn decode_raw(raw: &RawCausal) -> Result<Causal<MvReg<u8>>, Error> {
    let b = wire::encode(Kind::Delta, raw).unwrap();
    wire::decode_causal::<MvReg<u8>>(Kind::Delta, &b, DEFAULT_MAX_PAYLOAD)
}

fn assert_invalid(r: Result<impl std::fmt::Debug, Error>, what: &str) {
    match r {
        Err(Error::Invalid { what: w, .. }) if w == what => {}
        other => panic!("expected invalid {what}, got {other:?}"),
    }
}

#[test]
fn raw_shape_matches_the_real_encoding() {
    // Guards the invalid-structure tests below: a valid RawCausal decodes to what it says.
    let raw = RawCausal {
        store: vec![((1, 1), 7), ((1, 3), 8)],
        ctx: vec![(1, vec![(1, 3)])],
    };
    let c = decode_raw(&raw).unwrap();
    assert_eq!(c.store.entries().len(), 2);
    assert_eq!(c.ctx.max(ReplicaId(1)), 3);
}

#[test]
fn unsorted_or_duplicate_dots_are_invalid() {
    let ctx = vec![(1, vec![(1, 3)])];
    for store in [
        vec![((1, 3), 8), ((1, 1), 7)],
        vec![((1, 2), 8), ((1, 2), 7)],
        vec![((2, 1), 8), ((1, 2), 7)],
    ] {
        let mut ctx = ctx.clone();
        ctx.push((2, vec![(1, 1)]));
        assert_invalid(decode_raw(&RawCausal { store, ctx }), "dot store");
    }
}

#[test]
fn malformed_context_intervals_are_invalid() {
    for ranges in [
        vec![(1, 5), (3, 8)],
        vec![(1, 5), (6, 8)],
        vec![(4, 8), (1, 2)],
        vec![(0, 3)],
        vec![(5, 4)],
        vec![(1, 1), (1, 1)],
    ] {
        let raw = RawCausal {
            store: vec![],
            ctx: vec![(1, ranges.clone())],
        };
        assert_invalid(decode_raw(&raw), "causal context");
        // The same context as a digest.
        let mut payload = vec![0];
        payload.extend(wire_of(&vec![(1u64, ranges)]));
        assert_invalid(
            decode_doc(&envelope(Kind::Message, &payload)),
            "causal context",
        );
    }
}

/// The bare bincode payload of a value (what follows the header).
fn wire_of<T: Serialize>(v: &T) -> Vec<u8> {
    wire::encode(Kind::Message, v).unwrap()[HEADER_LEN..].to_vec()
}

#[test]
fn stored_dot_missing_from_context_is_invalid() {
    for ctx in [vec![], vec![(1, vec![(1, 1)])], vec![(2, vec![(1, 5)])]] {
        let raw = RawCausal {
            store: vec![((1, 2), 8)],
            ctx,
        };
        assert_invalid(decode_raw(&raw), "causal state");
    }
}

#[test]
fn a_dot_stored_under_two_keys_is_invalid() {
    // Map joins match values holding the same dot without comparing keys, so a state that
    // stores one dot twice must not get in.
    type RawMap = std::collections::BTreeMap<String, Vec<((u64, u64), u8)>>;
    #[derive(Serialize)]
    struct RawMapState {
        store: RawMap,
        ctx: Vec<(u64, Vec<(u64, u64)>)>,
    }
    let decode = |store: RawMap| {
        let raw = RawMapState {
            store,
            ctx: vec![(1, vec![(1, 3)])],
        };
        let b = wire::encode(Kind::Delta, &raw).unwrap();
        wire::decode_causal::<OrMap<String, MvReg<u8>>>(Kind::Delta, &b, DEFAULT_MAX_PAYLOAD)
    };
    let entry = |k: &str, dots: &[u64]| {
        let vals = dots.iter().map(|&c| ((1, c), 7)).collect();
        (k.to_string(), vals)
    };
    let ok = decode(RawMap::from([entry("a", &[1]), entry("b", &[2, 3])])).unwrap();
    assert_eq!(ok.store.len(), 2);
    for store in [
        RawMap::from([entry("a", &[1]), entry("b", &[1])]),
        RawMap::from([entry("a", &[1, 3]), entry("b", &[2, 3])]),
    ] {
        assert_invalid(decode(store), "causal state");
    }
}

#[test]
fn invalid_messages_never_reach_a_node() {
    // The raw decoder does not validate; `decode_message` does, and it is the only way to
    // the `Validated` message a node handles, so the node never validates again.
    let raw = RawCausal {
        store: vec![((2, 9), 1)],
        ctx: vec![(2, vec![(1, 1)])],
    };
    let mut payload = vec![1];
    payload.extend(wire_of(&raw));
    payload.push(0); // the sender's clock
    let b = envelope(Kind::Message, &payload);
    let msg: Message<MvReg<u8>> = wire::decode(Kind::Message, &b, DEFAULT_MAX_PAYLOAD).unwrap();
    assert!(matches!(msg, Message::Deltas(..)));
    assert_invalid(
        wire::decode_message::<MvReg<u8>>(&b, DEFAULT_MAX_PAYLOAD),
        "causal state",
    );
}

#[test]
fn duplicate_map_keys_do_not_panic() {
    // Serde builds maps by insertion, so a repeated key keeps its last value; the result is
    // still validated like any other decoded state.
    let mut payload = vec![1];
    payload.extend(wire_of(&(
        vec![
            ("k".to_string(), vec![((1u64, 1u64), ())]),
            ("k".to_string(), vec![((1, 2), ())]),
        ],
        vec![(1u64, vec![(1u64, 2u64)])],
    )));
    payload.push(0); // the sender's clock
    let b = envelope(Kind::Message, &payload);
    let msg = wire::decode_message::<OrSet<String>>(&b, DEFAULT_MAX_PAYLOAD).unwrap();
    let Message::Deltas(c, _) = msg.into_message() else {
        panic!("not deltas")
    };
    assert!(c.store.contains(&"k".to_string()));
    assert!(c.validate().is_ok());
}

// ---------------------------------------------------------------------------------------------
// Cost of untrusted input
// ---------------------------------------------------------------------------------------------

/// A context whose replica 1 has `n` one-dot intervals, at `offset`, `offset + 4`, ...
fn gapped(n: u64, offset: u64) -> CausalContext {
    let mut ctx = CausalContext::new();
    for i in 0..n {
        ctx.insert_range(ReplicaId(1), offset + 4 * i, offset + 4 * i);
    }
    ctx
}

#[test]
fn digests_full_of_gaps_merge_in_linear_time() {
    // A peer's digests are unioned into what the node knows of it. That union used to insert
    // interval by interval, copying the list each time: two 2 MB digests with interleaved
    // gaps then cost ~10^11 steps (minutes). It is now a linear merge; this test would hang.
    let n = 300_000;
    let mut node: SyncNode<MvReg<u8>> = common::node(9, SyncConfig::default());
    common::connect(&mut node, &mut common::node(2, SyncConfig::default()));
    for offset in [3, 1] {
        let digest = common::received(&Message::Digest(gapped(n, offset)));
        let h = node.handle(ReplicaId(2), digest, 0).unwrap();
        assert!(h.pending.is_none());
    }
    let mut both = gapped(n, 3);
    both.union(&gapped(n, 1));
    assert_eq!(both.dot_count(), 2 * n);
    assert!(both.validate().is_ok());
}

proptest::proptest! {
    #[test]
    fn context_union_is_the_set_union(
        a in proptest::collection::vec((0u64..3, 1u64..60, 0u64..6), 0..20),
        b in proptest::collection::vec((0u64..3, 1u64..60, 0u64..6), 0..20),
    ) {
        let build = |v: &[(u64, u64, u64)]| {
            let mut c = CausalContext::new();
            for &(r, s, len) in v {
                c.insert_range(ReplicaId(r), s, s + len);
            }
            c
        };
        let (ca, cb) = (build(&a), build(&b));
        let mut joined = ca.clone();
        joined.union(&cb);
        // The reference: every interval inserted one at a time.
        let mut expect = ca.clone();
        for &(r, s, len) in &b {
            expect.insert_range(ReplicaId(r), s, s + len);
        }
        proptest::prop_assert_eq!(&joined, &expect);
        proptest::prop_assert!(joined.validate().is_ok());
        for r in 0..3 {
            for c in 1..70 {
                let d = horao_crdt::Dot::new(ReplicaId(r), c);
                proptest::prop_assert_eq!(joined.contains(&d), ca.contains(&d) || cb.contains(&d));
            }
        }
    }
}
