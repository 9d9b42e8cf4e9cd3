//! The handshake: versions checked on both sides with typed errors, incarnations that replace
//! an old session instead of leaving a ghost, and no message before a hello.

use crate::common::{NOW, connect, drain, node, open, outbox, received, write};
use horao_crdt::sync::{Hello, Refusal, RefusalReason};
use horao_crdt::{
    CausalContext, Handshake, HandshakeError, Message, OrSet, ReplicaId, SyncConfig, SyncError,
    SyncNode, wire,
};

type Set = OrSet<u8>;

fn config(schema: u16, incarnation: u64) -> SyncConfig {
    SyncConfig {
        schema_version: schema,
        incarnation,
        ..SyncConfig::default()
    }
}

/// What `n` makes of `hello` (as bytes on the wire).
fn offer(
    n: &mut SyncNode<Set>,
    hello: Hello,
) -> Result<horao_crdt::sync::Accepted, horao_crdt::sync::Refused> {
    let bytes = wire::encode(wire::Kind::Handshake, &Handshake::Hello(hello)).unwrap();
    n.handle_handshake(wire::decode_handshake(&bytes).unwrap())
}

#[test]
fn a_schema_mismatch_is_refused_on_both_sides_naming_both_versions() {
    let mut old: SyncNode<Set> = node(1, config(3, 1));
    let mut new: SyncNode<Set> = node(2, config(4, 1));
    let refused = offer(&mut new, old.hello_message()).unwrap_err();
    assert_eq!(
        refused.error,
        HandshakeError::SchemaVersion {
            peer: ReplicaId(1),
            ours: 4,
            theirs: 3
        }
    );
    assert!(
        refused.to_string().contains("schema version 3"),
        "{refused}"
    );
    // The refused side reads the reply and reports the same mismatch from its side.
    let reply = wire::decode_handshake(&refused.reply.unwrap()).unwrap();
    let theirs = old.handle_handshake(reply).unwrap_err();
    assert_eq!(
        theirs.error,
        HandshakeError::SchemaVersion {
            peer: ReplicaId(2),
            ours: 3,
            theirs: 4
        }
    );
    assert!(theirs.reply.is_none());
    // Nothing was opened on either side.
    assert!(!new.is_connected(ReplicaId(1)) && !old.is_connected(ReplicaId(2)));
    assert!(new.peers().next().is_none());
}

#[test]
fn a_wire_version_mismatch_is_refused_and_readable_by_any_version() {
    let mut n: SyncNode<Set> = node(2, config(0, 1));
    let mut older = n.hello_message();
    older.replica = ReplicaId(1);
    older.wire_version = wire::VERSION - 1;
    let refused = offer(&mut n, older).unwrap_err();
    assert_eq!(
        refused.error,
        HandshakeError::WireVersion {
            peer: ReplicaId(1),
            ours: wire::VERSION,
            theirs: wire::VERSION - 1
        }
    );
    // The refusal decodes whatever version its envelope says (the layout is frozen).
    let mut reply = refused.reply.unwrap().to_vec();
    reply[4..6].copy_from_slice(&u16::MAX.to_le_bytes());
    let Handshake::Refuse(r) = wire::decode_handshake(&reply).unwrap() else {
        panic!("not a refusal");
    };
    assert_eq!(r.reason(), RefusalReason::WireVersion);
    assert_eq!(r.by.wire_version, wire::VERSION);
    assert_eq!(
        r.error(&older),
        HandshakeError::WireVersion {
            peer: ReplicaId(2),
            ours: wire::VERSION - 1,
            theirs: wire::VERSION
        }
    );
}

#[test]
fn its_own_id_is_refused() {
    let mut n: SyncNode<Set> = node(1, config(0, 1));
    let mine = n.hello_message();
    let refused = offer(&mut n, mine).unwrap_err();
    assert_eq!(refused.error, HandshakeError::SameReplica(ReplicaId(1)));
    let reply = wire::decode_handshake(&refused.reply.unwrap()).unwrap();
    assert!(matches!(reply, Handshake::Refuse(r) if r.reason() == RefusalReason::SameReplica));
}

#[test]
fn messages_before_a_hello_are_refused() {
    let mut n: SyncNode<Set> = node(1, config(0, 1));
    let digest = received(&Message::<Set>::Digest(CausalContext::new()));
    assert_eq!(
        n.handle(ReplicaId(2), digest.clone(), NOW).err(),
        Some(SyncError::UnknownPeer(ReplicaId(2)))
    );
    let _ = n.add_peer(ReplicaId(2));
    assert_eq!(
        n.handle(ReplicaId(2), digest, NOW).err(),
        Some(SyncError::NoSession(ReplicaId(2)))
    );
}

#[test]
fn a_new_incarnation_replaces_the_old_session_and_a_stale_one_is_refused() {
    let mut a: SyncNode<Set> = node(1, config(0, 1));
    let mut b: SyncNode<Set> = node(2, config(0, 7));
    let accepted = offer(&mut a, b.hello_message()).unwrap();
    assert!(!accepted.replaced);
    assert_eq!(
        accepted.membership.unwrap().iter().collect::<Vec<_>>(),
        vec![(ReplicaId(2), 7)]
    );
    offer(&mut b, a.hello_message()).unwrap();
    drain(&mut a);
    drain(&mut b);
    // B's digest teaches A what B has; A queues data for B that B never reads.
    write(&mut b, |s, tx| s.add(1, tx)).unwrap();
    for t in drain(&mut b) {
        crate::common::deliver(&mut a, ReplicaId(2), &t.frame).unwrap();
    }
    write(&mut a, |s, tx| s.add(2, tx)).unwrap();
    assert!(a.queued_bytes(ReplicaId(2)) > 0);
    // The same incarnation reconnects: a new session, what B is known to have is kept.
    let again = offer(&mut a, b.hello_message()).unwrap();
    assert!(!again.replaced && again.membership.is_none());
    // B restarts: incarnation 8 replaces the session — no queued frame of the old session
    // survives, and what the old session claimed is forgotten (only the opening digest).
    let mut restarted = b.hello_message();
    restarted.incarnation = 8;
    let replaced = offer(&mut a, restarted).unwrap();
    assert!(replaced.replaced);
    assert_eq!(
        replaced.membership.unwrap().iter().collect::<Vec<_>>(),
        vec![(ReplicaId(2), 8)]
    );
    let queued = outbox(&mut a);
    assert_eq!(queued.len(), 1);
    assert!(matches!(queued[0].1, Message::Digest(_)));
    assert_eq!(a.export().known[&ReplicaId(2)], CausalContext::new());
    // A late connection of incarnation 7 is a ghost: refused.
    let ghost = offer(&mut a, b.hello_message()).unwrap_err();
    assert_eq!(
        ghost.error,
        HandshakeError::StaleIncarnation {
            peer: ReplicaId(2),
            current: 8,
            offered: 7
        }
    );
    let reply = wire::decode_handshake(&ghost.reply.unwrap()).unwrap();
    assert_eq!(
        b.handle_handshake(reply).unwrap_err().error,
        HandshakeError::RefusedByPeer {
            peer: ReplicaId(1),
            reason: RefusalReason::StaleIncarnation
        }
    );
    // The live session is untouched by the ghost.
    assert!(a.is_connected(ReplicaId(2)));
}

#[test]
fn a_refusal_of_an_unknown_reason_is_still_an_error() {
    let mut n: SyncNode<Set> = node(1, config(0, 1));
    let by = Hello {
        replica: ReplicaId(2),
        incarnation: 1,
        wire_version: wire::VERSION,
        schema_version: 0,
    };
    // A newer peer's reason code, built through the wire form.
    let mut bytes = wire::encode(wire::Kind::Handshake, &Handshake::Refuse(refusal(by))).unwrap();
    let last = bytes.len() - 1;
    bytes[last] = 200;
    let r = n
        .handle_handshake(wire::decode_handshake(&bytes).unwrap())
        .unwrap_err();
    assert_eq!(
        r.error,
        HandshakeError::RefusedByPeer {
            peer: ReplicaId(2),
            reason: RefusalReason::Other(200)
        }
    );
}

/// A refusal by `by` (for its own id, the simplest one to provoke).
fn refusal(by: Hello) -> Refusal {
    let mut n: SyncNode<Set> = node(by.replica.0, config(0, 1));
    let reply = offer(&mut n, by).unwrap_err().reply.unwrap();
    match wire::decode_handshake(&reply).unwrap() {
        Handshake::Refuse(r) => r,
        Handshake::Hello(_) => panic!("not a refusal"),
    }
}

#[test]
fn connected_nodes_exchange_digests_first() {
    let mut a: SyncNode<Set> = node(1, config(0, 1));
    let mut b: SyncNode<Set> = node(2, config(0, 1));
    write(&mut a, |s, tx| s.add(1, tx)).unwrap();
    open(&mut a, &mut b);
    let first = outbox(&mut a);
    assert!(matches!(first[..], [(ReplicaId(2), Message::Digest(_))]));
    connect(&mut a, &mut b);
}
