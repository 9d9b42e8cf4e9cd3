//! Unit tests of the encoded delta log: its bytes are the wire payload, its dot look-up agrees
//! with `CausalContext::includes`, an undecodable entry falls back to the full state, its
//! accounting and its buffer follow what it holds.

#![allow(clippy::unwrap_used, clippy::panic)] // Tests fail by panicking.

use super::*;
use crate::replica::{Answer, Replica};
use crate::types::{LwwReg, OrMap};
use crate::wire::{self, HEADER_LEN, Kind};
use crate::{Dot, Timestamp};
use proptest::prelude::*;

type Doc = OrMap<u32, LwwReg<u32>>;

fn write(r: &mut Replica<Doc>, k: u32, v: u32) -> Causal<Doc> {
    let ts = Timestamp::new(1_000 + u64::from(v), 0).unwrap();
    r.mutate(|m, tx| m.update(k, tx, |reg, tx| reg.write(v, ts, tx)))
        .unwrap()
}

#[test]
fn logged_bytes_are_the_wire_payload_of_a_delta() {
    let mut r: Replica<Doc> = Replica::new(ReplicaId(7));
    let deltas: Vec<_> = (0..5).map(|i| write(&mut r, i % 3, i)).collect();
    assert_eq!(r.log.entries.len(), deltas.len());
    for (e, d) in r.log.entries.iter().zip(&deltas) {
        let enveloped = wire::encode_causal(Kind::Delta, d).unwrap();
        assert_eq!(&enveloped[HEADER_LEN..], &e.delta[..]);
    }
}

#[test]
fn an_undecodable_entry_is_answered_with_the_full_state() {
    let mut r: Replica<Doc> = Replica::new(ReplicaId(7));
    for i in 0..4 {
        write(&mut r, i, i);
    }
    let empty = CausalContext::new();
    assert!(matches!(r.answer(&empty), Answer::Deltas(_)));
    // A truncated entry, then one with a trailing byte.
    let good = r.log.entries[2].delta.clone();
    r.log.entries[2].delta = good[..good.len() - 1].into();
    assert_eq!(r.answer(&empty), Answer::Full(r.causal().clone()));
    let mut longer = good.to_vec();
    longer.push(0);
    r.log.entries[2].delta = longer.into();
    assert_eq!(r.answer(&empty), Answer::Full(r.causal().clone()));
    // A peer that has the broken entry's dots is still answered with deltas.
    let mut has_it = CausalContext::new();
    r.log.entries[2].add_to(&mut has_it);
    assert!(matches!(r.answer(&has_it), Answer::Deltas(_)));
}

#[test]
fn accounting_and_buffer_follow_the_entries() {
    let mut r: Replica<Doc> = Replica::new(ReplicaId(7));
    for i in 0..5_000 {
        write(&mut r, i, i);
    }
    let sum: usize = r.log.entries.iter().map(Entry::footprint).sum();
    assert_eq!(r.log_bytes(), sum);
    assert!(r.log.entries.capacity() >= 5_000);
    // Collect all but the last 10 entries: the buffer gives back most of its slots.
    let mut stable = CausalContext::new();
    stable.insert_range(ReplicaId(7), 1, 4_990);
    assert_eq!(r.collect(&stable), 4_990);
    assert_eq!(r.log_len(), 10);
    assert!(r.log.entries.capacity() < 5_000 / 4, "buffer kept");
    let sum: usize = r.log.entries.iter().map(Entry::footprint).sum();
    assert_eq!(r.log_bytes(), sum);
    let everything = r.ctx().clone();
    assert_eq!(r.collect(&everything), 10);
    assert_eq!(r.log_bytes(), 0);
    assert!(r.log.entries.capacity() <= MIN_SHRINK);
}

#[test]
fn collecting_the_oldest_stops_at_the_first_unstable_delta() {
    let mut r: Replica<Doc> = Replica::new(ReplicaId(7));
    for i in 0..6 {
        write(&mut r, i, i);
    }
    // Dots 1, 2 and 4..=6 are stable, 3 is not: only 1 and 2 go; the full sweep takes the rest.
    let mut stable = CausalContext::new();
    stable.insert_range(ReplicaId(7), 1, 2);
    stable.insert_range(ReplicaId(7), 4, 6);
    assert_eq!(r.collect_oldest([&stable]), 2);
    assert_eq!(r.log_len(), 4);
    assert_eq!(r.collect_oldest([&stable]), 0);
    assert_eq!(r.collect(&stable), 3);
    assert_eq!(r.log_len(), 1);
    let sum: usize = r.log.entries.iter().map(Entry::footprint).sum();
    assert_eq!(r.log_bytes(), sum);
    assert_eq!(r.log.collected(), &stable);
}

#[test]
fn collecting_the_oldest_needs_every_peer_to_know_the_dots() {
    let mut r: Replica<Doc> = Replica::new(ReplicaId(7));
    for i in 0..4 {
        write(&mut r, i, i);
    }
    let (mut one, mut two) = (CausalContext::new(), CausalContext::new());
    one.insert_range(ReplicaId(7), 1, 3);
    two.insert_range(ReplicaId(7), 1, 2);
    two.insert_range(ReplicaId(7), 4, 4);
    // Dots 1 and 2 are known to both; 3 only to the first peer.
    assert_eq!(r.collect_oldest([&one, &two]), 2);
    assert_eq!(r.collect_oldest([&two, &one]), 0);
    assert_eq!(r.log_len(), 2);
    // No peers: every logged delta is stable.
    assert_eq!(r.collect_oldest([]), 2);
    assert_eq!(r.log_len(), 0);
    assert_eq!(r.log_bytes(), 0);
}

#[test]
fn lowering_a_bound_trims_and_shrinks() {
    let mut r: Replica<Doc> = Replica::new(ReplicaId(7));
    for i in 0..2_000 {
        write(&mut r, i, i);
    }
    r.set_max_log_entries(100);
    assert_eq!(r.log_len(), 100);
    assert!(r.log.entries.capacity() < 2_000 / 4);
    let per_entry = r.log_bytes() / 100;
    r.set_max_log_bytes(per_entry * 10);
    assert!(r.log_len() <= 10 && r.log_len() >= 8, "{}", r.log_len());
    assert!(r.log_bytes() <= per_entry * 10);
    r.set_max_log_bytes(0);
    assert_eq!((r.log_len(), r.log_bytes()), (0, 0));
    assert_eq!(r.log.collected(), r.ctx());
}

#[test]
fn a_delta_larger_than_the_byte_bound_is_not_logged_and_evicts_nothing() {
    let mut r: Replica<Doc> = Replica::new(ReplicaId(7));
    for i in 0..10 {
        write(&mut r, i, i);
    }
    r.set_max_log_bytes(r.log_bytes());
    let (len, bytes) = (r.log_len(), r.log_bytes());
    let before = r.ctx().clone();
    // One delta carrying 300 keys from another replica, larger than the whole log.
    let mut other: Replica<Doc> = Replica::new(ReplicaId(8));
    let mut big = Causal::default();
    for i in 0..300 {
        big.combine(write(&mut other, 100 + i, i));
    }
    assert!(r.apply(big));
    assert_eq!((r.log_len(), r.log_bytes()), (len, bytes));
    assert_eq!(r.answer(&before), Answer::Full(r.causal().clone()));
    // A peer that has the big delta but lacks the last logged one gets just that one.
    let mut peer = r.ctx().clone();
    peer = peer.difference(&CausalContext::from_iter([Dot::new(ReplicaId(7), 10)]));
    match r.answer(&peer) {
        Answer::Deltas(d) => assert_eq!(
            d.ctx,
            CausalContext::from_iter([Dot::new(ReplicaId(7), 10)])
        ),
        other => panic!("expected deltas, got {other:?}"),
    }
}

fn context() -> impl Strategy<Value = CausalContext> {
    prop::collection::vec((1u64..4, 1u64..40, 0u64..6), 0..8).prop_map(|v| {
        let mut c = CausalContext::new();
        for (r, s, n) in v {
            c.insert_range(ReplicaId(r), s, s + n);
        }
        c
    })
}

fn ranges(ctx: &CausalContext) -> Vec<DotRange> {
    ctx.iter()
        .flat_map(|(r, rs)| {
            rs.intervals().iter().map(|&(start, end)| DotRange {
                replica: *r,
                start,
                end,
            })
        })
        .collect()
}

proptest! {
    #[test]
    fn entry_known_by_agrees_with_context_inclusion(a in context(), b in context()) {
        let entry = Entry { dots: ranges(&b).into(), delta: Box::new([]) };
        prop_assert_eq!(entry.known_by(&a), a.includes(&b));
        let mut back = CausalContext::new();
        for r in ranges(&b) {
            for c in r.start..=r.end {
                back.insert(Dot::new(r.replica, c));
            }
        }
        prop_assert_eq!(back, b);
    }
}
