//! The sync node as a server drives it: shared frames encoded once, chunked full states, the
//! per-peer byte bound, pending changes and the commit rule, clocks, and restarts from the
//! exported sync state.

use crate::common::{NOW, connect, deliver, drain, mesh, node, outbox, pump, received, write};
use horao_crdt::{
    CausalContext, Change, Frame, LwwReg, Message, OrMap, OrSet, Replica, ReplicaId, SyncConfig,
    SyncError, SyncNode, Timestamp, wire,
};

type Doc = OrMap<u32, LwwReg<u64>>;

fn ts(ms: u64) -> Timestamp {
    Timestamp::new(ms, 0).unwrap()
}

/// Writes `n` keys from `first` on `node`, committed.
fn fill(node: &mut SyncNode<Doc>, first: u32, n: u32) {
    for k in first..first + n {
        write(node, |m, tx| {
            m.update(k, tx, |r, tx| r.write(u64::from(k) * 1_000, ts(1_000), tx))
        })
        .unwrap();
    }
}

#[test]
fn a_committed_delta_is_encoded_once_for_sixteen_peers() {
    let mut hub: SyncNode<Doc> = node(1, SyncConfig::default());
    for id in 2..=17 {
        connect(&mut hub, &mut node::<Doc>(id, SyncConfig::default()));
    }
    fill(&mut hub, 0, 1);
    let sent = drain(&mut hub);
    assert_eq!(sent.len(), 16);
    assert_eq!(
        sent.iter().map(|t| t.to.0).collect::<Vec<_>>(),
        (2..=17).collect::<Vec<_>>()
    );
    // One encoding: every peer's frame is the same buffer.
    assert!(sent.iter().all(|t| Frame::same(&t.frame, &sent[0].frame)));
    // A relay forwards the frame it received, without encoding it again.
    let mut relay: SyncNode<Doc> = node(2, SyncConfig::default());
    for id in [1, 3, 4] {
        connect(&mut relay, &mut node::<Doc>(id, SyncConfig::default()));
    }
    let msg = relay.decode(&sent[0].frame).unwrap();
    let p = relay
        .handle(ReplicaId(1), msg, NOW)
        .unwrap()
        .pending
        .unwrap();
    let received = p.frame().clone();
    assert_eq!(relay.commit(p).unwrap(), Change::Delta);
    let forwarded = drain(&mut relay);
    assert_eq!(forwarded.len(), 2);
    assert!(forwarded.iter().all(|t| Frame::same(&t.frame, &received)));
}

#[test]
fn a_full_state_goes_in_chunks_under_the_message_limit() {
    let config = SyncConfig {
        max_message_bytes: 1_024,
        max_log_entries: 1,
        ..SyncConfig::default()
    };
    let mut nodes: Vec<SyncNode<Doc>> = mesh(2, &config);
    fill(&mut nodes[0], 0, 2_000);
    drain(&mut nodes[0]);
    // Node 2 asks; node 1's log was collected early, so it answers with its full state.
    nodes[1].tick();
    let asked = drain(&mut nodes[1]);
    assert_eq!(asked.len(), 1);
    deliver(&mut nodes[0], ReplicaId(2), &asked[0].frame).unwrap();
    let chunks = drain(&mut nodes[0]);
    let state = wire::encode_message(&Message::Full(
        nodes[0].replica().causal().clone(),
        Timestamp::default(),
    ))
    .unwrap();
    assert!(
        chunks.len() >= state.len() / 1_024,
        "{} chunks",
        chunks.len()
    );
    let mut last = Change::Nothing;
    for t in &chunks {
        assert!(t.frame.len() <= 1_024, "chunk of {} bytes", t.frame.len());
        assert!(matches!(
            received_message(&nodes[1], &t.frame),
            Message::Chunk(_) | Message::Digest(_)
        ));
        last = deliver(&mut nodes[1], ReplicaId(1), &t.frame).unwrap();
    }
    assert_eq!(last, Change::Full);
    assert_eq!(nodes[0].replica().causal(), nodes[1].replica().causal());
}

#[test]
fn full_state_transfers_are_bounded_and_the_deferred_peers_get_theirs_later() {
    let config = SyncConfig {
        max_message_bytes: 1_024,
        max_log_entries: 1,
        max_full_transfers: 1,
        ..SyncConfig::default()
    };
    let mut hub: SyncNode<Doc> = node(1, config.clone());
    let mut peers: Vec<SyncNode<Doc>> = (2..=4).map(|id| node(id, config.clone())).collect();
    for p in &mut peers {
        connect(&mut hub, p);
    }
    fill(&mut hub, 0, 2_000);
    drain(&mut hub);
    let mut rounds = 0;
    while peers
        .iter()
        .any(|p| p.replica().causal() != hub.replica().causal())
    {
        rounds += 1;
        assert!(
            rounds <= 3,
            "every lagging peer gets the full state in turn"
        );
        // Every lagging peer asks at once (its anti-entropy digest).
        for p in &mut peers {
            p.tick();
            for t in drain(p) {
                deliver(&mut hub, p.id(), &t.frame).unwrap();
            }
        }
        // One transfer runs; the other answers are deferred.
        assert_eq!(hub.full_transfers(), 1);
        let sent = drain(&mut hub);
        let to: std::collections::BTreeSet<u64> = sent.iter().map(|t| t.to.0).collect();
        assert_eq!(to.len(), 1, "chunks go to one peer at a time: {to:?}");
        assert_eq!(hub.full_transfers(), 0);
        let p = peers.iter_mut().find(|p| to.contains(&p.id().0)).unwrap();
        let mut last = Change::Nothing;
        for t in &sent {
            last = deliver(p, ReplicaId(1), &t.frame).unwrap();
        }
        assert_eq!(last, Change::Full);
    }
    assert_eq!(rounds, 3);
    // 2 answers deferred in the first round, 1 in the second.
    assert_eq!(hub.deferred_full_states(), 3);
}

fn received_message(n: &SyncNode<Doc>, frame: &[u8]) -> Message<Doc> {
    n.decode(frame).unwrap().into_message()
}

#[test]
fn reassembly_is_bounded_and_in_order() {
    let config = SyncConfig {
        max_transfer_bytes: 10_000,
        ..SyncConfig::default()
    };
    let mut nodes: Vec<SyncNode<Doc>> = mesh(2, &config);
    let chunk = |offset: u64, total: u64, len: usize| {
        received(&Message::<Doc>::Chunk(horao_crdt::sync::Chunk {
            transfer: 1,
            offset,
            total,
            bytes: vec![0; len],
        }))
    };
    let from = ReplicaId(1);
    for (msg, why) in [
        (chunk(0, 1 << 40, 10), "exceeds the limit"),
        (chunk(5, 100, 10), "never started"),
    ] {
        match nodes[1].handle(from, msg, NOW) {
            Err(SyncError::Transfer { why: w, .. }) => assert!(w.contains(why), "{w}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(nodes[1].handle(from, chunk(0, 100, 10), NOW).is_ok());
    assert!(matches!(
        nodes[1].handle(from, chunk(20, 100, 10), NOW),
        Err(SyncError::Transfer { .. })
    ));
    // A chunk overrunning its total never decodes.
    let over = wire::encode_message(&Message::<Doc>::Chunk(horao_crdt::sync::Chunk {
        transfer: 1,
        offset: 95,
        total: 100,
        bytes: vec![0; 10],
    }))
    .unwrap();
    assert!(nodes[1].decode(&over).is_err());
    // A whole transfer of garbage is a typed error, not a panic.
    let garbage = nodes[1].handle(from, chunk(0, 10, 10), NOW);
    assert!(matches!(garbage, Err(SyncError::Crdt(_))), "{garbage:?}");
}

#[test]
fn a_peer_that_stops_reading_is_bounded_and_caught_up_by_a_digest() {
    let config = SyncConfig {
        max_queued_bytes: 4_096,
        ..SyncConfig::default()
    };
    let mut nodes: Vec<SyncNode<Doc>> = mesh(2, &config);
    let slow = ReplicaId(2);
    let mut peak = 0;
    for k in 0..500 {
        fill(&mut nodes[0], k, 1);
        peak = peak.max(nodes[0].queued_bytes(slow));
    }
    let digest_len =
        wire::encode_message(&Message::<Doc>::Digest(nodes[0].replica().ctx().clone()))
            .unwrap()
            .len();
    assert!(peak <= 4_096 + digest_len, "{peak} bytes queued");
    // The peer reads again: what is queued (the newest deltas after a digest) and an
    // anti-entropy exchange bring it up to date.
    pump(&mut nodes);
    nodes[1].tick();
    pump(&mut nodes);
    assert_eq!(nodes[0].replica().causal(), nodes[1].replica().causal());
    assert_eq!(nodes[0].queued_bytes(slow), 0);
}

#[test]
fn nothing_is_applied_sent_or_advertised_before_commit() {
    let mut nodes: Vec<SyncNode<Doc>> = mesh(2, &SyncConfig::default());
    let p = nodes[0]
        .mutate(|m, tx| m.update(1, tx, |r, tx| r.write(5, ts(1), tx)))
        .unwrap();
    assert!(p.from().is_none());
    assert!(nodes[0].replica().ctx().is_empty());
    nodes[0].tick();
    let digest = outbox(&mut nodes[0]);
    assert_eq!(
        digest,
        vec![(ReplicaId(2), Message::Digest(CausalContext::new()))]
    );
    // A second change does not see the first, and mints the next dot.
    let q = nodes[0]
        .mutate(|m, tx| m.update(2, tx, |r, tx| r.write(6, ts(1), tx)))
        .unwrap();
    assert_eq!(q.change().ctx.max(ReplicaId(1)), 2);
    assert_eq!(nodes[0].pending_count(), 2);
    // Persisted form: a delta envelope, cut from the frame.
    let stored = p.stored().unwrap();
    assert_eq!(
        wire::decode_causal::<Doc>(wire::Kind::Delta, &stored, 1 << 20).unwrap(),
        *p.change()
    );
    assert_eq!(nodes[0].commit(q).unwrap(), Change::Delta);
    assert_eq!(nodes[0].commit(p).unwrap(), Change::Delta);
    assert_eq!(nodes[0].pending_count(), 0);
    assert_eq!(drain(&mut nodes[0]).len(), 2);
    assert!(nodes[0].replica().state().get(&1).is_some());
}

#[test]
fn a_received_change_is_pending_until_committed_and_an_abort_leaves_it_unseen() {
    let mut nodes: Vec<SyncNode<Doc>> = mesh(3, &SyncConfig::default());
    fill(&mut nodes[0], 0, 1);
    let push = drain(&mut nodes[0]).remove(0);
    assert_eq!(push.to, ReplicaId(2));
    let delta = match received_message(&nodes[1], &push.frame) {
        Message::Deltas(d, _) => d,
        other => panic!("{other:?}"),
    };
    // Handled: reported, not applied, not forwarded, not advertised.
    let msg = nodes[1].decode(&push.frame).unwrap();
    let p = nodes[1]
        .handle(ReplicaId(1), msg, NOW)
        .unwrap()
        .pending
        .unwrap();
    assert_eq!(p.change(), &delta);
    assert_eq!(p.from(), Some(ReplicaId(1)));
    assert!(nodes[1].replica().ctx().is_empty());
    assert!(drain(&mut nodes[1]).is_empty());
    // Persisting failed: aborted, so the retry is applied rather than dropped as a duplicate.
    nodes[1].abort(p);
    assert!(nodes[1].replica().ctx().is_empty());
    assert_eq!(
        deliver(&mut nodes[1], ReplicaId(1), &push.frame).unwrap(),
        Change::Delta
    );
    assert!(nodes[1].replica().ctx().includes(&delta.ctx));
    // Committed: forwarded to the third node, and a duplicate is no longer pending.
    let forwarded = drain(&mut nodes[1]);
    assert_eq!(forwarded.len(), 1);
    assert_eq!(forwarded[0].to, ReplicaId(3));
    let again = nodes[1].decode(&push.frame).unwrap();
    assert!(
        nodes[1]
            .handle(ReplicaId(1), again, NOW)
            .unwrap()
            .pending
            .is_none()
    );
    // A token is committed once.
    let p = nodes[0].mutate(|m, tx| m.remove(&0, tx)).unwrap();
    let other = nodes[2].mutate(|m, tx| m.remove(&0, tx)).unwrap();
    assert!(matches!(
        nodes[0].commit(other),
        Err(SyncError::UnknownPending(_))
    ));
    nodes[0].commit(p).unwrap();
}

#[test]
fn a_change_read_from_a_shared_log_is_applied_and_pushed_to_every_peer() {
    // Nodes 1 and 2 share a durable log; node 3 is a gossip peer of node 2 only.
    let mut writer: SyncNode<Doc> = node(1, SyncConfig::default());
    let mut reader: SyncNode<Doc> = node(2, SyncConfig::default());
    let mut peer: SyncNode<Doc> = node(3, SyncConfig::default());
    connect(&mut reader, &mut peer);
    let p = writer
        .mutate(|m, tx| m.update(7, tx, |r, tx| r.write(70, ts(1), tx)))
        .unwrap();
    let stored = p.stored().unwrap();
    writer.commit(p).unwrap();
    let delta: horao_crdt::Causal<Doc> =
        wire::decode_causal(wire::Kind::Delta, &stored, 1 << 20).unwrap();
    // Pending until committed, with no peer as its origin.
    let p = reader.shared_change(delta.clone(), false).unwrap().unwrap();
    assert!(p.is_shared() && !p.is_full_state());
    assert_eq!(p.from(), None);
    assert!(reader.replica().ctx().is_empty());
    assert!(drain(&mut reader).is_empty());
    assert_eq!(reader.commit(p).unwrap(), Change::Delta);
    assert_eq!(reader.replica().state(), writer.replica().state());
    // Pushed to the gossip peer, which never saw the shared log.
    let sent = drain(&mut reader);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, ReplicaId(3));
    deliver(&mut peer, ReplicaId(2), &sent[0].frame).unwrap();
    assert_eq!(peer.replica().state(), writer.replica().state());
    // Read again (the log is read from an older position): nothing new, nothing pending.
    assert!(reader.shared_change(delta, false).unwrap().is_none());
    assert_eq!(reader.pending_count(), 0);
    // A full state read from the log is merged, not forwarded.
    fill(&mut writer, 10, 3);
    let full = writer.replica().causal().clone();
    let p = reader.shared_change(full, true).unwrap().unwrap();
    assert!(p.is_full_state());
    assert_eq!(reader.commit(p).unwrap(), Change::Full);
    assert_eq!(reader.replica().state(), writer.replica().state());
    assert!(drain(&mut reader).is_empty());
}

#[test]
fn an_aborted_local_change_gives_its_counter_back() {
    let mut n: SyncNode<OrSet<u8>> = node(1, SyncConfig::default());
    let p = n.mutate(|s, tx| s.add(1, tx)).unwrap();
    n.abort(p);
    let q = n.mutate(|s, tx| s.add(2, tx)).unwrap();
    assert_eq!(q.change().ctx.max(ReplicaId(1)), 1);
    n.commit(q).unwrap();
    assert_eq!(n.replica().ctx().version_vector()[&ReplicaId(1)], 1);
}

#[test]
fn received_clocks_advance_the_node_clock_within_the_drift() {
    let config = SyncConfig {
        max_clock_drift_ms: 1_000,
        ..SyncConfig::default()
    };
    let mut nodes: Vec<SyncNode<Doc>> = mesh(2, &config);
    // Node 1's clock runs 500 ms ahead of node 2's.
    let t = nodes[0].now(10_500).unwrap();
    write(&mut nodes[0], |m, tx| {
        m.update(1, tx, |r, tx| r.write(1, t, tx))
    })
    .unwrap();
    let push = drain(&mut nodes[0]).remove(0);
    let msg = nodes[1].decode(&push.frame).unwrap();
    let h = nodes[1].handle(ReplicaId(1), msg, 10_000).unwrap();
    assert!(h.clock_error.is_none());
    assert!(nodes[1].clock().last() > t);
    // The change carries the origin's clock at its commit.
    assert_eq!(h.stamp.map(|s| s.physical()), Some(10_500));
    nodes[1].commit(h.pending.unwrap()).unwrap();
    // A copy brings nothing new, and no stamp.
    let again = nodes[1].decode(&push.frame).unwrap();
    let h = nodes[1].handle(ReplicaId(1), again, 10_000).unwrap();
    assert!(h.pending.is_none() && h.stamp.is_none());
    assert!(nodes[1].now(10_000).unwrap() > t);
    // Beyond the drift: the data is still handled, the clock does not follow.
    let far = nodes[0].now(60_000).unwrap();
    write(&mut nodes[0], |m, tx| {
        m.update(2, tx, |r, tx| r.write(2, far, tx))
    })
    .unwrap();
    let push = drain(&mut nodes[0]).remove(0);
    let before = nodes[1].clock().last();
    let msg = nodes[1].decode(&push.frame).unwrap();
    let h = nodes[1].handle(ReplicaId(1), msg, 10_000).unwrap();
    assert!(matches!(
        h.clock_error,
        Some(horao_crdt::Error::ClockDrift { .. })
    ));
    assert_eq!(nodes[1].clock().last(), before);
    assert!(h.pending.is_some());
    nodes[1].commit(h.pending.unwrap()).unwrap();
}

/// Node 1 and node 2 sync 10 writes; node 2 goes away; node 1 writes 5 more, saves its
/// sync state (`keep_log`: with its delta log) and restarts; node 2 comes back. Returns how
/// many full states node 2 received while catching up.
fn restart_and_catch_up(keep_log: bool) -> usize {
    let config = SyncConfig {
        incarnation: 1,
        ..SyncConfig::default()
    };
    let mut nodes: Vec<SyncNode<Doc>> = mesh(2, &config);
    fill(&mut nodes[0], 0, 10);
    pump(&mut nodes);
    nodes[0].disconnect(ReplicaId(2));
    nodes[1].disconnect(ReplicaId(1));
    fill(&mut nodes[0], 10, 5);
    // What the store holds: the state, and the sync state as bytes.
    let saved = wire::encode_sync_state(&nodes[0].export()).unwrap();
    let stored = nodes[0].replica().causal().clone();
    let mut saved = wire::decode_sync_state(&saved, 1 << 20).unwrap();
    if !keep_log {
        saved.log = Default::default();
    }
    let config = SyncConfig {
        incarnation: 2,
        ..config
    };
    nodes[0] = SyncNode::restore(Replica::from_state(ReplicaId(1), stored), config, saved);
    assert_eq!(
        nodes[0].membership().iter().collect::<Vec<_>>(),
        vec![(ReplicaId(2), 1)]
    );
    let (a, b) = crate::common::pair(&mut nodes, 0, 1);
    crate::common::open(a, b);
    let mut fulls = 0;
    for _ in 0..3 {
        for t in drain(&mut nodes[0]) {
            if deliver(&mut nodes[1], ReplicaId(1), &t.frame).unwrap() == Change::Full {
                fulls += 1;
            }
        }
        for t in drain(&mut nodes[1]) {
            deliver(&mut nodes[0], ReplicaId(2), &t.frame).unwrap();
        }
    }
    assert_eq!(nodes[0].replica().causal(), nodes[1].replica().causal());
    fulls
}

#[test]
fn a_restarted_node_answers_a_lagging_peer_with_deltas() {
    assert_eq!(restart_and_catch_up(true), 0);
    // Without its log, the restarted node could only answer with its full state.
    assert!(restart_and_catch_up(false) > 0);
}
