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
use crate::sync::{Message, SyncConfig, SyncNode};
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
            check_message(&msg);
        }
        for kind in [Kind::State, Kind::Delta] {
            if let Ok(c) = wire::decode_causal::<FuzzDoc>(kind, bytes, max) {
                check_causal(kind, &c);
            }
        }
        // The raw envelope without validation: it must not panic either, whatever it holds.
        let _ = wire::decode::<CausalContext>(Kind::Message, bytes, max);
    }
}

/// Decodes `bytes` as a sync message and feeds it, then a short scripted exchange, to a node
/// that already holds state; checks the node's invariants after every step.
///
/// Invariants: a rejected message changes nothing; the replica's state always validates and
/// round-trips through the wire format; contexts only grow and include what was applied;
/// handling a message twice is the same as once; local mutations keep working (or report
/// counter exhaustion); and every message the node sends decodes back to itself and is
/// accepted by the honest peer.
pub fn apply_message(bytes: &[u8]) {
    let Ok(msg) = wire::decode_message::<FuzzDoc>(bytes, FUZZ_MAX_PAYLOAD) else {
        return;
    };
    let (mut node, mut peer) = seeded_pair();

    // The message as the known peer's; a message from a stranger is refused without effect.
    let before = node.replica().causal().clone();
    assert_eq!(
        node.handle(ReplicaId(99), msg.clone()),
        Err(Error::UnknownPeer(ReplicaId(99)))
    );
    assert_eq!(node.replica().causal(), &before);
    match node.handle(PEER, msg.clone()) {
        Ok(()) => {}
        Err(e) => {
            assert!(matches!(e, Error::Invalid { .. }), "unexpected error {e:?}");
            assert_eq!(
                node.replica().causal(),
                &before,
                "rejected message changed state"
            );
            return;
        }
    }
    check_replica(node.replica());
    assert!(node.replica().ctx().includes(&before.ctx), "context shrank");
    match &msg {
        Message::Digest(_) => assert_eq!(node.replica().causal(), &before),
        Message::Deltas(c) | Message::Full(c) => {
            assert!(
                node.replica().ctx().includes(&c.ctx),
                "applied dots missing"
            );
        }
    }

    // Idempotence: the same message again changes nothing.
    let after = node.replica().causal().clone();
    node.handle(PEER, msg).expect("second delivery rejected");
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

/// A node and its peer, each holding a few local changes the other has partly seen.
fn seeded_pair() -> (SyncNode<FuzzDoc>, SyncNode<FuzzDoc>) {
    let config = SyncConfig {
        forward: true,
        max_log_entries: 8,
        max_log_bytes: 4_096,
    };
    let mut node = SyncNode::new(Replica::new(NODE), config.clone());
    node.add_peer(PEER);
    node.add_peer(OTHER_PEER);
    let mut peer = SyncNode::new(Replica::new(PEER), config);
    peer.add_peer(NODE);
    script(&mut node);
    script(&mut peer);
    // The node has seen the peer's first changes; the peer has not seen the node's.
    while let Some((to, m)) = peer.poll_transmit() {
        if to == NODE {
            node.handle(PEER, m).expect("seed delivery");
        }
    }
    script(&mut peer);
    drain(&mut node);
    drain(&mut peer);
    (node, peer)
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
            Ok(delta) => {
                assert!(delta.validate().is_ok(), "local delta invalid: {delta:?}");
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
        let mut idle = true;
        while let Some((to, m)) = a.poll_transmit() {
            idle = false;
            let m = round_trip_message(&m);
            if to == b.id() {
                b.handle(a.id(), m).expect("honest peer rejected a message");
                check_replica(b.replica());
            }
        }
        while let Some((to, m)) = b.poll_transmit() {
            idle = false;
            let m = round_trip_message(&m);
            if to == a.id() {
                a.handle(b.id(), m)
                    .expect("node rejected an honest message");
                check_replica(a.replica());
            }
        }
        if idle {
            return;
        }
    }
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

/// Checks that a message round-trips and returns the decoded copy.
fn round_trip_message(m: &Message<FuzzDoc>) -> Message<FuzzDoc> {
    let bytes = wire::encode_message(m).expect("encode message");
    let back = wire::decode_message::<FuzzDoc>(&bytes, usize::MAX)
        .unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}"));
    assert_eq!(&back, m, "message does not round-trip");
    assert_eq!(wire::encode_message(&back).expect("encode"), bytes);
    back
}

/// Checks a decoded message: valid (the decoder validates) and round-trips.
fn check_message(m: &Message<FuzzDoc>) {
    match m {
        Message::Digest(ctx) => assert!(ctx.validate().is_ok()),
        Message::Deltas(c) | Message::Full(c) => assert!(c.validate().is_ok()),
    }
    round_trip_message(m);
}

/// Valid encodings of messages, states and deltas of [`FuzzDoc`]: seeds for both fuzz targets
/// and inputs for tests. Deterministic.
pub fn seeds() -> Vec<Vec<u8>> {
    let (mut node, mut peer) = seeded_pair();
    let mut out = Vec::new();
    let mut push_msg = |m: &Message<FuzzDoc>| {
        out.push(wire::encode_message(m).expect("encode seed"));
    };
    push_msg(&Message::Digest(node.replica().ctx().clone()));
    push_msg(&Message::Digest(CausalContext::new()));
    push_msg(&Message::Full(peer.replica().causal().clone()));
    push_msg(&Message::Deltas(Causal::default()));
    // Every delta of a fresh script, one message each.
    let mut fresh = SyncNode::new(Replica::new(PEER), SyncConfig::default());
    fresh.add_peer(NODE);
    script(&mut fresh);
    while let Some((_, m)) = fresh.poll_transmit() {
        push_msg(&m);
    }
    // Whatever the two nodes send each other during anti-entropy.
    node.tick();
    peer.tick();
    for _ in 0..4 {
        let mut any = false;
        while let Some((_, m)) = node.poll_transmit() {
            push_msg(&m);
            peer.handle(NODE, m).expect("seed exchange");
            any = true;
        }
        while let Some((_, m)) = peer.poll_transmit() {
            push_msg(&m);
            node.handle(PEER, m).expect("seed exchange");
            any = true;
        }
        if !any {
            break;
        }
    }
    out.push(wire::encode_causal(Kind::State, node.replica().causal()).expect("encode seed"));
    out.push(
        wire::encode_causal(
            Kind::Delta,
            &node
                .mutate(|d, tx| FuzzDoc {
                    total: d.total.add(7, tx),
                    ..FuzzDoc::default()
                })
                .expect("mutate"),
        )
        .expect("encode seed"),
    );
    out.sort();
    out.dedup();
    out
}
