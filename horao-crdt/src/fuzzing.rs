//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable replay test
//! (`tests/it/fuzz_replay.rs`), so both run exactly the same code on the same bytes.
//!
//! Each entry point takes arbitrary bytes and must return normally for every input: malformed
//! input is an `Err` that the entry point swallows. Every check of an invariant that decoded
//! or applied data must satisfy is an `assert!`, because a panic is what the fuzzer reports.
//! Nothing here does I/O or reads a clock; the replicas are built from fixed data.

// Panicking on a violated invariant is the purpose of this module.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use crate::causal::Causal;
use crate::context::CausalContext;
use crate::error::Error;
use crate::hlc::Timestamp;
use crate::id::ReplicaId;
use crate::replica::Replica;
use crate::seq_rng::SeqRng;
use crate::sync::{Handled, Message, SyncConfig, SyncError, SyncNode};
use crate::types::{FracArray, LwwReg, MvReg, OrMap, OrSet, PnCounter};
use crate::wire::{self, Kind};
use serde::{Deserialize, Serialize};

/// Payload limit the entry points decode with: small, so oversized input is exercised too.
pub const FUZZ_MAX_PAYLOAD: usize = 1 << 20;

/// The replica the fuzzed node runs as.
pub const NODE: ReplicaId = ReplicaId(1);
/// The peer fuzzed messages claim to come from (it holds state of its own).
pub const PEER: ReplicaId = ReplicaId(2);
/// A second peer of the node, so forwarding and collection have someone to consider.
pub const OTHER_PEER: ReplicaId = ReplicaId(3);
/// A member of the node that never connected: collection waits for it.
pub const LATE_PEER: ReplicaId = ReplicaId(4);

/// A host entry nesting one of each register, set and counter type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FuzzHost {
    /// Opaque bytes, last writer wins.
    pub blob: LwwReg<Vec<u8>>,
    /// Labels, add-wins.
    pub labels: OrSet<String>,
    /// Concurrent owners are all kept.
    pub owner: MvReg<String>,
    /// A counter.
    pub load: PnCounter,
}
crate::dot_store_struct!(FuzzHost {
    blob,
    labels,
    owner,
    load
});

/// The representative document the fuzz targets decode and apply: maps, nested structs and
/// every CRDT type of the crate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FuzzDoc {
    /// Plain key to last-writer-wins bytes.
    pub blobs: OrMap<String, LwwReg<Vec<u8>>>,
    /// Hosts by name, each a nested struct of CRDTs.
    pub hosts: OrMap<String, FuzzHost>,
    /// A top-level set.
    pub tags: OrSet<String>,
    /// A top-level counter.
    pub total: PnCounter,
    /// An ordered list (fractional positions) of registers.
    pub racks: FracArray<MvReg<String>>,
}
crate::dot_store_struct!(FuzzDoc {
    blobs,
    hosts,
    tags,
    total,
    racks
});

/// Decodes `bytes` as every kind of envelope the crate defines, for [`FuzzDoc`], and checks
/// that whatever decodes is valid and survives re-encoding unchanged.
///
/// Never panics unless decoding is broken (a panic inside the decoder, an accepted value that
/// fails validation, or a value that does not round-trip).
pub fn decode_any(bytes: &[u8]) {
    for max in [FUZZ_MAX_PAYLOAD, bytes.len() / 2] {
        if let Ok(msg) = wire::decode_message::<FuzzDoc>(bytes, max) {
            check_message(msg.message());
        }
        for kind in [Kind::State, Kind::Delta] {
            if let Ok(c) = wire::decode_causal::<FuzzDoc>(kind, bytes, max) {
                check_causal(kind, &c);
            }
        }
        if let Ok(s) = wire::decode_sync_state(bytes, max) {
            let again = wire::encode_sync_state(&s).expect("encode sync state");
            assert_eq!(wire::decode_sync_state(&again, usize::MAX), Ok(s));
        }
        // The raw envelope without validation: it must not panic either, whatever it holds.
        let _ = wire::decode::<CausalContext>(Kind::Message, bytes, max);
    }
    if let Ok(h) = wire::decode_handshake(bytes) {
        let again = wire::encode(Kind::Handshake, &h).expect("encode handshake");
        assert_eq!(wire::decode_handshake(&again), Ok(h));
    }
}

/// Physical time of the fuzzed exchanges, in milliseconds.
const NOW: u64 = 1_000_000;

/// Decodes `bytes` as a sync message and feeds it, then a short scripted exchange, to a node
/// that already holds state; checks the node's invariants after every step.
///
/// Invariants: a message from a stranger or a member without a session is refused without
/// effect; a decoded message other than a chunk is never refused (it was validated at
/// decode); a refused chunk changes nothing; the replica's state always validates and
/// round-trips through the wire format; contexts only grow and include what was committed;
/// handling a message twice is the same as once; local mutations keep working (or report
/// counter exhaustion); and every message the node sends decodes back to itself and is
/// accepted by the honest peer.
pub fn apply_message(bytes: &[u8]) {
    let Ok(msg) = wire::decode_message::<FuzzDoc>(bytes, FUZZ_MAX_PAYLOAD) else {
        return;
    };
    let (mut node, mut peer) = seeded_pair();

    let before = node.replica().causal().clone();
    for (stranger, expected) in [
        (ReplicaId(99), SyncError::UnknownPeer(ReplicaId(99))),
        (LATE_PEER, SyncError::NoSession(LATE_PEER)),
    ] {
        let refused = node.handle(stranger, msg.clone(), NOW);
        assert_eq!(refused.err(), Some(expected));
        assert_eq!(node.replica().causal(), &before);
    }
    let chunk = matches!(msg.message(), Message::Chunk(_));
    match node.handle(PEER, msg.clone(), NOW) {
        Ok(h) => commit(&mut node, h),
        Err(e) => {
            assert!(chunk, "a validated message was refused: {e:?}");
            assert_eq!(
                node.replica().causal(),
                &before,
                "refused chunk changed state"
            );
            return;
        }
    }
    check_replica(node.replica());
    assert!(node.replica().ctx().includes(&before.ctx), "context shrank");
    match msg.message() {
        Message::Digest(_) | Message::Chunk(_) => assert_eq!(node.replica().causal(), &before),
        Message::Deltas(c, _) | Message::Full(c, _) => {
            assert!(
                node.replica().ctx().includes(&c.ctx),
                "committed dots missing"
            );
        }
    }

    // Idempotence: the same message again changes nothing.
    let after = node.replica().causal().clone();
    match node.handle(PEER, msg, NOW) {
        Ok(h) => commit(&mut node, h),
        Err(e) => assert!(chunk, "second delivery rejected: {e:?}"),
    }
    assert_eq!(node.replica().causal(), &after, "message not idempotent");

    // Local mutations still work on top of whatever arrived.
    script(&mut node);
    check_replica(node.replica());

    // A few rounds of anti-entropy with the honest peer: everything the node sends must be
    // well formed and accepted.
    for _ in 0..3 {
        node.tick();
        peer.tick();
        exchange(&mut node, &mut peer);
    }
    check_replica(peer.replica());
}

/// Commits whatever a handled message left pending.
fn commit(node: &mut SyncNode<FuzzDoc>, h: Handled<FuzzDoc>) {
    if let Some(p) = h.pending {
        p.change().validate().expect("pending change invalid");
        node.commit(p).expect("commit");
    }
}

/// Opens a session between `a` and `b`: each handles the other's hello.
fn connect(a: &mut SyncNode<FuzzDoc>, b: &mut SyncNode<FuzzDoc>) {
    let hello = |n: &SyncNode<FuzzDoc>| {
        wire::decode_handshake(&n.hello().expect("encode hello")).expect("decode hello")
    };
    let (ha, hb) = (hello(a), hello(b));
    b.handle_handshake(ha).expect("hello accepted");
    a.handle_handshake(hb).expect("hello accepted");
}

/// A node and its peer, each holding a few local changes the other has partly seen. The
/// node has a second connected peer (so forwarding has someone to consider) and a member
/// that never connected (so collection waits for it).
fn seeded_pair() -> (SyncNode<FuzzDoc>, SyncNode<FuzzDoc>) {
    let config = SyncConfig {
        max_log_entries: 8,
        max_log_bytes: 4_096,
        max_message_bytes: 2_048,
        max_transfer_bytes: FUZZ_MAX_PAYLOAD,
        max_queued_bytes: 16_384,
        ..SyncConfig::default()
    };
    let mut node = SyncNode::new(Replica::new(NODE), config.clone());
    let mut peer = SyncNode::new(Replica::new(PEER), config.clone());
    let mut other = SyncNode::new(Replica::new(OTHER_PEER), config);
    connect(&mut node, &mut peer);
    connect(&mut node, &mut other);
    let _ = node.add_peer(LATE_PEER);
    exchange(&mut node, &mut peer);
    script(&mut node);
    script(&mut peer);
    // The node has seen the peer's first changes; the peer has not seen the node's.
    while let Some(t) = peer.poll_transmit() {
        if t.to == NODE {
            deliver(&mut node, PEER, &t.frame);
        }
    }
    script(&mut peer);
    drain(&mut node);
    drain(&mut peer);
    (node, peer)
}

/// Decodes `frame` and hands it to `to` as a message from `from`, committing what it brings.
fn deliver(to: &mut SyncNode<FuzzDoc>, from: ReplicaId, frame: &[u8]) {
    let msg = to.decode(frame).expect("honest message decodes");
    let h = to.handle(from, msg, NOW).expect("honest message accepted");
    commit(to, h);
}

/// One scripted local change: reads the document, returns the delta.
type Step = fn(&FuzzDoc, &mut crate::Tx, Timestamp, &mut SeqRng) -> FuzzDoc;

/// A fixed sequence of local changes touching every field of [`FuzzDoc`].
fn script(node: &mut SyncNode<FuzzDoc>) {
    let who = node.id().0;
    let ts = Timestamp::new(1_000 + who, 0).expect("small timestamp");
    let mut rng = SeqRng::new(0x9e37_79b9_7f4a_7c15 ^ who);
    let steps: [Step; 8] = [
        |d, tx, ts, _| FuzzDoc {
            blobs: d
                .blobs
                .update("a".into(), tx, |r, tx| r.write(vec![1, 2, 3], ts, tx)),
            ..FuzzDoc::default()
        },
        |d, tx, ts, _| FuzzDoc {
            hosts: d.hosts.update("h1".into(), tx, |h, tx| FuzzHost {
                blob: h.blob.write(vec![9], ts, tx),
                labels: h.labels.add("rack".into(), tx),
                owner: h.owner.write("ops".into(), tx),
                load: h.load.add(3, tx),
            }),
            ..FuzzDoc::default()
        },
        |d, tx, _, _| FuzzDoc {
            tags: d.tags.add("t".into(), tx),
            total: d.total.add(-1, tx),
            ..FuzzDoc::default()
        },
        |d, tx, _, _| FuzzDoc {
            blobs: d.blobs.remove(&"a".to_string(), tx),
            ..FuzzDoc::default()
        },
        |d, tx, _, _| FuzzDoc {
            hosts: d.hosts.update("h1".into(), tx, |h, tx| FuzzHost {
                labels: h.labels.remove(&"rack".to_string(), tx),
                ..FuzzHost::default()
            }),
            ..FuzzDoc::default()
        },
        // The array's mutators validate their arguments; an error leaves the step a no-op.
        |d, tx, ts, rng| FuzzDoc {
            racks: d
                .racks
                .push_back(ts, tx, rng, |v, tx| v.write("r".into(), tx))
                .map(|(delta, _)| delta)
                .unwrap_or_default(),
            ..FuzzDoc::default()
        },
        |d, tx, ts, rng| FuzzDoc {
            racks: match d.racks.ids().first() {
                Some(&id) => d
                    .racks
                    .move_to(id, d.racks.len().saturating_sub(1), ts, tx, rng)
                    .unwrap_or_default(),
                None => FracArray::default(),
            },
            ..FuzzDoc::default()
        },
        |d, tx, _, _| FuzzDoc {
            racks: match d.racks.ids().last() {
                Some(&id) => d.racks.remove(id, tx).unwrap_or_default(),
                None => FracArray::default(),
            },
            ..FuzzDoc::default()
        },
    ];
    for step in steps {
        match node.mutate(|d, tx| step(d, tx, ts, &mut rng)) {
            Ok(p) => {
                let delta = p.change();
                assert!(delta.validate().is_ok(), "local delta invalid: {delta:?}");
                node.commit(p).expect("commit a local change");
            }
            // A peer may have claimed this node's last counter; that is reported, not hidden.
            Err(e) => assert_eq!(e, Error::CounterExhausted(node.id())),
        }
        check_replica(node.replica());
    }
}

/// Delivers queued messages between the two nodes until both outboxes are empty (bounded).
fn exchange(a: &mut SyncNode<FuzzDoc>, b: &mut SyncNode<FuzzDoc>) {
    for _ in 0..16 {
        let moved =
            flow(a, b, &mut |f| round_trip_message(f)) | flow(b, a, &mut round_trip_message);
        if !moved {
            return;
        }
    }
}

/// Moves every frame `from` has queued: those for `to` are delivered (and its replica
/// checked), the others dropped; `seen` sees each. Returns whether any frame moved.
fn flow(
    from: &mut SyncNode<FuzzDoc>,
    to: &mut SyncNode<FuzzDoc>,
    seen: &mut dyn FnMut(&[u8]),
) -> bool {
    let mut moved = false;
    while let Some(t) = from.poll_transmit() {
        moved = true;
        seen(&t.frame);
        if t.to == to.id() {
            deliver(to, from.id(), &t.frame);
            check_replica(to.replica());
        }
    }
    moved
}

/// Discards queued messages.
fn drain(node: &mut SyncNode<FuzzDoc>) {
    while node.poll_transmit().is_some() {}
}

/// Checks a replica's full state: valid, and unchanged by a trip through the wire format.
fn check_replica(r: &Replica<FuzzDoc>) {
    let c = r.causal();
    if let Err(e) = c.validate() {
        panic!("replica state invalid: {e}: {c:?}");
    }
    check_causal(Kind::State, c);
}

/// Checks that a decoded (or computed) causal value validates and round-trips.
fn check_causal(kind: Kind, c: &Causal<FuzzDoc>) {
    assert!(c.validate().is_ok(), "accepted state does not validate");
    let bytes = wire::encode_causal(kind, c).expect("encode state");
    let back = wire::decode_causal::<FuzzDoc>(kind, &bytes, usize::MAX)
        .unwrap_or_else(|e| panic!("re-encoded state does not decode: {e}"));
    assert_eq!(&back, c, "state does not round-trip");
    assert_eq!(wire::encode_causal(kind, &back).expect("encode"), bytes);
}

/// Checks that a frame decodes to a message that encodes back to the same bytes.
fn round_trip_message(frame: &[u8]) {
    let back = wire::decode_message::<FuzzDoc>(frame, usize::MAX)
        .unwrap_or_else(|e| panic!("sent message does not decode: {e}"));
    check_message(back.message());
    assert_eq!(wire::encode_message(back.message()).expect("encode"), frame);
}

/// Checks a decoded message: valid (the decoder validates) and round-trips.
fn check_message(m: &Message<FuzzDoc>) {
    match m {
        Message::Digest(ctx) => assert!(ctx.validate().is_ok()),
        Message::Deltas(c, _) | Message::Full(c, _) => assert!(c.validate().is_ok()),
        Message::Chunk(c) => assert!(c.offset + c.bytes.len() as u64 <= c.total),
    }
    let bytes = wire::encode_message(m).expect("encode message");
    let back = wire::decode_message::<FuzzDoc>(&bytes, usize::MAX)
        .unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}"));
    assert_eq!(back.message(), m, "message does not round-trip");
}

/// Valid encodings of messages, states and deltas of [`FuzzDoc`]: seeds for both fuzz targets
/// and inputs for tests. Deterministic.
pub fn seeds() -> Vec<Vec<u8>> {
    let (mut node, mut peer) = seeded_pair();
    let mut out = Vec::new();
    let mut push_msg = |m: &Message<FuzzDoc>| {
        out.push(wire::encode_message(m).expect("encode seed"));
    };
    let clock = Timestamp::new(NOW, 0).expect("small timestamp");
    push_msg(&Message::Digest(node.replica().ctx().clone()));
    push_msg(&Message::Digest(CausalContext::new()));
    push_msg(&Message::Full(peer.replica().causal().clone(), clock));
    push_msg(&Message::Deltas(Causal::default(), clock));
    // Every delta of a fresh script, one message each.
    let mut fresh = SyncNode::new(Replica::new(PEER), SyncConfig::default());
    let mut sink = SyncNode::new(Replica::new(NODE), SyncConfig::default());
    connect(&mut fresh, &mut sink);
    script(&mut fresh);
    let mut frames: Vec<Vec<u8>> = std::iter::from_fn(|| fresh.poll_transmit())
        .map(|t| t.frame.to_vec())
        .collect();
    // Whatever the two nodes send each other during anti-entropy, chunks included.
    node.tick();
    peer.tick();
    for _ in 0..8 {
        let mut keep = |f: &[u8]| frames.push(f.to_vec());
        let moved = flow(&mut node, &mut peer, &mut keep) | flow(&mut peer, &mut node, &mut keep);
        if !moved {
            break;
        }
    }
    out.append(&mut frames);
    out.push(wire::encode_causal(Kind::State, node.replica().causal()).expect("encode seed"));
    let p = node
        .mutate(|d, tx| FuzzDoc {
            total: d.total.add(7, tx),
            ..FuzzDoc::default()
        })
        .expect("mutate");
    out.push(p.stored().expect("encode seed"));
    out.push(wire::encode_sync_state(&node.export()).expect("encode seed"));
    node.abort(p);
    out.sort();
    out.dedup();
    out
}
