//! Scenario tests of the causal semantics every type relies on: add-wins, reset-remove,
//! removals carried by anti-entropy, full-state fallback after collection, the bounds of the
//! delta log, and forwarding without echo.

use crate::common::{connect, node, outbox, received, settle, write};
use horao_crdt::{
    Answer, CausalContext, LwwReg, Message, MvReg, OrMap, OrSet, PnCounter, Replica, ReplicaId,
    SyncConfig, SyncNode, Timestamp,
};

type Doc = OrMap<String, OrSet<u32>>;

fn ts(ms: u64) -> Timestamp {
    Timestamp::new(ms, 0).unwrap()
}

#[test]
fn concurrent_add_beats_remove() {
    let mut a: Replica<OrSet<u32>> = Replica::new(ReplicaId(1));
    let d = a.mutate(|s, tx| s.add(7, tx)).unwrap();
    let mut b = Replica::new(ReplicaId(2));
    b.apply(d);
    let rm = a.mutate(|s, tx| s.remove(&7, tx)).unwrap();
    let add = b.mutate(|s, tx| s.add(7, tx)).unwrap();
    a.apply(add);
    b.apply(rm);
    assert!(a.state().contains(&7));
    assert_eq!(a.causal(), b.causal());
}

#[test]
fn reset_remove_keeps_the_concurrent_edit_only() {
    let mut a: Replica<Doc> = Replica::new(ReplicaId(1));
    let d1 = a
        .mutate(|m, tx| m.update("k".into(), tx, |s, tx| s.add(1, tx)))
        .unwrap();
    let mut b = Replica::new(ReplicaId(2));
    b.apply(d1);
    let rm = a.mutate(|m, tx| m.remove(&"k".into(), tx)).unwrap();
    let edit = b
        .mutate(|m, tx| m.update("k".into(), tx, |s, tx| s.add(2, tx)))
        .unwrap();
    a.apply(edit);
    b.apply(rm);
    for r in [&a, &b] {
        let set = r.state().get(&"k".to_string()).unwrap();
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), vec![2]);
    }
}

#[test]
fn anti_entropy_carries_removals_and_overwrites() {
    let mut a: Replica<OrMap<String, LwwReg<u32>>> = Replica::new(ReplicaId(1));
    let mut b = Replica::new(ReplicaId(2));
    for i in 0..10u32 {
        let d = a
            .mutate(|m, tx| m.update(format!("k{i}"), tx, |r, tx| r.write(i, ts(1), tx)))
            .unwrap();
        b.apply(d);
    }
    // B misses these: an overwrite and a removal.
    a.mutate(|m, tx| m.update("k1".into(), tx, |r, tx| r.write(100, ts(2), tx)))
        .unwrap();
    a.mutate(|m, tx| m.remove(&"k2".into(), tx)).unwrap();
    match a.answer(b.ctx()) {
        Answer::Deltas(d) => {
            b.apply(d);
        }
        other => panic!("expected deltas, got {other:?}"),
    }
    assert_eq!(a.causal(), b.causal());
    assert_eq!(
        b.state().get(&"k1".into()).and_then(|r| r.get()),
        Some(&100)
    );
    assert_eq!(
        b.state().get(&"k1".into()).map(|r| r.concurrent_writes()),
        Some(1)
    );
    assert!(b.state().get(&"k2".into()).is_none());
}

#[test]
fn collected_deltas_fall_back_to_full_state() {
    let mut a: Replica<OrSet<u32>> = Replica::new(ReplicaId(1));
    let old = Replica::<OrSet<u32>>::new(ReplicaId(3));
    a.mutate(|s, tx| s.add(1, tx)).unwrap();
    a.mutate(|s, tx| s.remove(&1, tx)).unwrap();
    let everything = a.ctx().clone();
    assert_eq!(a.collect(&everything), 2);
    assert_eq!(a.log_len(), 0);
    match a.answer(old.ctx()) {
        Answer::Full(s) => assert_eq!(&s, a.causal()),
        other => panic!("expected full state, got {other:?}"),
    }
    assert_eq!(a.answer(&everything), Answer::UpToDate);
    assert!(!CausalContext::new().includes(&everything));
}

#[test]
fn multi_value_register_keeps_concurrent_writes_with_one_dot_each() {
    let mut a: Replica<MvReg<String>> = Replica::new(ReplicaId(1));
    let mut b: Replica<MvReg<String>> = Replica::new(ReplicaId(2));
    let da = a.mutate(|r, tx| r.write("a".into(), tx)).unwrap();
    let db = b.mutate(|r, tx| r.write("b".into(), tx)).unwrap();
    a.apply(db);
    b.apply(da);
    assert_eq!(a.state().values().collect::<Vec<_>>(), vec!["a", "b"]);
    let d = a.mutate(|r, tx| r.write("c".into(), tx)).unwrap();
    b.apply(d);
    assert_eq!(b.state().values().collect::<Vec<_>>(), vec!["c"]);
}

#[test]
fn lww_prefers_later_timestamp_then_replica() {
    let mut a: Replica<LwwReg<u8>> = Replica::new(ReplicaId(1));
    let mut b: Replica<LwwReg<u8>> = Replica::new(ReplicaId(2));
    let da = a.mutate(|r, tx| r.write(1, ts(10), tx)).unwrap();
    let db = b.mutate(|r, tx| r.write(2, ts(10), tx)).unwrap();
    a.apply(db);
    b.apply(da);
    assert_eq!(a.state().get(), Some(&2));
    assert_eq!(b.state().get(), Some(&2));
}

#[test]
fn counter_sums_replicas() {
    let mut a: Replica<PnCounter> = Replica::new(ReplicaId(1));
    let mut b: Replica<PnCounter> = Replica::new(ReplicaId(2));
    let d1 = a.mutate(|c, tx| c.add(5, tx)).unwrap();
    let d2 = b.mutate(|c, tx| c.add(-2, tx)).unwrap();
    let d3 = a.mutate(|c, tx| c.add(1, tx)).unwrap();
    b.apply(d3);
    b.apply(d1);
    a.apply(d2);
    assert_eq!(a.state().value(), 4);
    assert_eq!(a.causal(), b.causal());
}

#[test]
fn sync_config_bounds_the_log_in_entries_and_bytes() {
    // A peer that never answers: nothing becomes stable, only the bounds keep the log small.
    let config = |entries, bytes| SyncConfig {
        max_log_entries: entries,
        max_log_bytes: bytes,
        ..SyncConfig::default()
    };
    for (entries, bytes) in [(1_000_000, 2_000), (5, 1 << 20)] {
        let mut node: SyncNode<OrSet<u32>> =
            SyncNode::new(Replica::new(ReplicaId(1)), config(entries, bytes));
        let _ = node.add_peer(ReplicaId(2));
        for i in 0..500 {
            write(&mut node, |s, tx| s.add(i, tx)).unwrap();
        }
        let r = node.replica();
        assert!(r.log_bytes() <= bytes, "{} > {bytes}", r.log_bytes());
        assert!(r.log_len() <= entries);
        assert!(
            r.log_len() >= 5.min(entries),
            "log emptied: {}",
            r.log_len()
        );
        // The peer still gets everything: the newest deltas, and the full state for the rest.
        assert!(matches!(
            node.replica().answer(&CausalContext::new()),
            Answer::Full(_)
        ));
    }
}

#[test]
fn a_received_delta_is_forwarded_to_the_other_peers_never_back_to_its_sender() {
    let ids = [1, 2, 3, 4];
    // A node `me` connected to `peers`.
    let connected = |me: u64, forward: bool, peers: &[u64]| {
        let config = SyncConfig {
            forward,
            ..SyncConfig::default()
        };
        let mut n: SyncNode<OrSet<u32>> = node(me, config.clone());
        for &p in peers.iter().filter(|&&p| p != me) {
            connect(&mut n, &mut node::<OrSet<u32>>(p, config.clone()));
        }
        n
    };
    let mut origin = connected(ids[0], true, &ids);
    let delta = write(&mut origin, |s, tx| s.add(7, tx)).unwrap();
    let ids: Vec<ReplicaId> = ids.into_iter().map(ReplicaId).collect();
    // Every peer of the origin gets the delta itself (they have its dependencies: none).
    let pushed = outbox(&mut origin);
    assert_eq!(
        pushed.iter().map(|(to, _)| *to).collect::<Vec<_>>(),
        ids[1..]
    );
    assert!(
        pushed
            .iter()
            .all(|(_, m)| matches!(m, Message::Deltas(d, _) if *d == delta))
    );
    let msg = received(&pushed[0].1);

    // A relay forwards to every other peer (two of three, or the one of two), not to the
    // sender; the same delta again brings nothing new and is not forwarded twice.
    for (peers, expect) in [(&[1, 2, 3, 4][..], &ids[2..]), (&[1, 2, 3][..], &ids[2..3])] {
        let mut relay = connected(2, true, peers);
        let h = relay.handle(ids[0], msg.clone(), 0).unwrap();
        settle(&mut relay, h);
        assert!(relay.replica().state().contains(&7));
        let forwarded = outbox(&mut relay);
        assert_eq!(
            forwarded.iter().map(|(to, _)| *to).collect::<Vec<_>>(),
            expect
        );
        assert!(
            forwarded
                .iter()
                .all(|(_, m)| matches!(m, Message::Deltas(d, _) if *d == delta))
        );
        let again = relay.handle(ids[0], msg.clone(), 0).unwrap();
        assert!(again.pending.is_none());
        assert!(outbox(&mut relay).is_empty());
    }

    // A relay whose only peer is the sender, or with forwarding off, sends nothing.
    for mut quiet in [connected(2, true, &[1]), connected(2, false, &[1, 2, 3, 4])] {
        let h = quiet.handle(ids[0], msg.clone(), 0).unwrap();
        settle(&mut quiet, h);
        assert!(quiet.replica().state().contains(&7));
        assert!(outbox(&mut quiet).is_empty());
    }
}
