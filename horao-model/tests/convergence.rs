//! Property tests: random concurrent histories of physical, logical and claim operations on
//! 2–5 replicas, exchanged by delta anti-entropy in random order, converge to one model with
//! one conflict report; the derived indexes (physical, and the fit index of claims) patched
//! by deltas equal ones rebuilt from scratch; and the stored encoding round-trips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "physical/script.rs"]
mod script;

use horao_crdt::{Answer, Causal, wire};
use horao_model::model::Model;
use proptest::prelude::*;
use script::World;

/// The shared starting point every replica has seen.
const BASE: &str = "
a dc dc-a name=Alpha => ok
a dc dc-b name=Bravo => ok
a row r1 dc=dc-a name=R1 => ok
a row r2 dc=dc-b name=R2 => ok
a rack k1 row=r1 name=K1 height=8 => ok
a rack k2 row=r1 name=K2 height=8 => ok
a rack k3 row=r2 name=K3 height=8 => ok
a device s1 kind=switch rack=k1 unit=8 ports=p1:1000,p2:1000,p3:1000 => ok
a device c1 kind=chassis rack=k3 unit=1 height=4 => ok
a infra i1 name=Prod => ok
a member i1 dc-a => ok
a tenant t1 name=T1 owner=ann => ok
a profile p1 name=core cores=1 => ok
";

/// One random operation, rendered as a scenario command.
fn op() -> impl Strategy<Value = String> {
    let dev = 0..6u8;
    prop_oneof![
        (dev.clone(), 1..3u8, 1..8u8, 1..3u8, 0..4u8).prop_map(|(d, k, u, h, at)| {
            let at = ["end", "start", "after:s1", "before:d1"][at as usize];
            format!("device d{d} rack=k{k} unit={u} height={h} cpus=4@2000 ports=eth0:1000 at={at}")
        }),
        (dev.clone(), 1..4u8)
            .prop_map(|(d, s)| format!("device b{d} kind=blade chassis=c1 slot={s} cpus=2@2000")),
        (dev.clone(), 1..4u8, 1..8u8)
            .prop_map(|(d, k, u)| format!("move-device d{d} rack=k{k} unit={u}")),
        (dev.clone(), 0..2u8).prop_map(|(d, b)| if b == 0 {
            format!("delete device d{d}")
        } else {
            format!("delete device b{d}")
        }),
        (0..4u8, dev.clone(), 1..4u8)
            .prop_map(|(l, d, p)| format!("link l{l} a=d{d}:eth0 b=s1:p{p} speed=1000")),
        (0..4u8).prop_map(|l| format!("delete link l{l}")),
        (dev.clone(), 0..3u8).prop_map(|(d, l)| format!("label device d{d} +l{l}")),
        (dev.clone(), 0..3u8).prop_map(|(d, l)| format!("label device d{d} -l{l}")),
        (1..4u8, 4..10u8).prop_map(|(k, h)| format!("update-rack k{k} name=K height={h}")),
        (1..3u8, 0..2u8).prop_map(|(k, at)| format!(
            "move-rack k{k} row=r1 at={}",
            ["start", "end"][at as usize]
        )),
        (0..2u8).prop_map(|r| format!("member i1 dc-a role={}", ["active", "standby"][r as usize])),
        Just("delete rack k2".to_string()),
        Just("delete profile p1".to_string()),
        (0..4u8, 1..12u32, 0..20u64, 1..10u64).prop_map(|(c, n, s, l)| format!(
            "reserve c{c} infra=i1 tenant=t1 profile=p1 count={n} window={s}..{}",
            s + l
        )),
        (0..4u8).prop_map(|c| format!("delete reservation c{c}")),
        (0..2u8, dev.clone(), 0..20u64)
            .prop_map(|(m, d, s)| format!("maintain m{m} devices=d{d} window={s}..{}", s + 5)),
    ]
}

/// A step of a history: an operation on a replica, or a one-way anti-entropy exchange.
#[derive(Clone, Debug)]
enum Step {
    Op(usize, String),
    Sync(usize, usize),
}

fn history() -> impl Strategy<Value = (usize, Vec<Step>, Vec<(usize, usize)>)> {
    (2..=5usize).prop_flat_map(|n| {
        let step = prop_oneof![
            4 => (0..n, op()).prop_map(|(r, o)| Step::Op(r, o)),
            1 => (0..n, 0..n).prop_map(|(a, b)| Step::Sync(a, b)),
        ];
        (
            Just(n),
            proptest::collection::vec(step, 1..40),
            proptest::collection::vec((0..n, 0..n), 0..20),
        )
    })
}

fn name(i: usize) -> String {
    ["a", "b", "c", "d", "e"][i].to_string()
}

/// `to` asks `from` for what it lacks and applies the answer (deltas or a full state).
fn exchange(w: &mut World, from: usize, to: usize) {
    let peer = w.node(&name(to)).replica.ctx().clone();
    let answer = w.node(&name(from)).replica.answer(&peer);
    let target = &mut w.node(&name(to)).replica;
    match answer {
        Answer::UpToDate => {}
        Answer::Deltas(d) => {
            target.apply(d);
        }
        Answer::Full(s) => {
            target.merge(s);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn concurrent_histories_converge_with_one_conflict_report((n, steps, order) in history()) {
        let mut w = World::default();
        w.script(BASE).unwrap();
        for i in 1..n {
            exchange(&mut w, 0, i);
        }
        for s in &steps {
            match s {
                Step::Op(r, o) => {
                    // A built fit index is patched by the operation's delta, never rebuilt.
                    w.model(&name(*r)).build_fit_index();
                    w.run(&name(*r), o);
                    // Removal deltas patch the index in place: it must match a rebuild.
                    prop_assert!(w.model(&name(*r)).physical.index_is_consistent(), "after {}", o);
                    prop_assert!(w.model(&name(*r)).fit_index_is_consistent(), "fit index after {}", o);
                }
                Step::Sync(a, b) => {
                    w.model(&name(*b)).build_fit_index();
                    exchange(&mut w, *a, *b);
                    prop_assert!(w.model(&name(*b)).physical.index_is_consistent());
                    prop_assert!(w.model(&name(*b)).fit_index_is_consistent(), "fit index after a sync");
                }
            }
        }
        // Heal: a random prefix of exchanges, then rounds until everyone has everything.
        for (a, b) in &order {
            exchange(&mut w, *a, *b);
        }
        for _ in 0..2 {
            for a in 0..n {
                for b in 0..n {
                    exchange(&mut w, a, b);
                }
            }
        }
        let first = w.model("a").clone();
        let conflicts = first.conflicts();
        // The index patched delta by delta equals one rebuilt from the decoded state.
        let bytes = wire::encode(wire::Kind::State, w.node("a").replica.causal()).unwrap();
        let decoded: Causal<Model> = wire::decode(wire::Kind::State, &bytes, 1 << 24).unwrap();
        prop_assert_eq!(&decoded.store, &first);
        // `Index` compares equal whatever it holds, so compare its entries explicitly.
        prop_assert!(decoded.store.physical.index().same_entries(first.physical.index()));
        prop_assert!(first.physical.index_is_consistent(), "replica a's patched index drifted");
        prop_assert_eq!(decoded.store.conflicts(), conflicts.clone());
        for i in 1..n {
            let m = w.model(&name(i)).clone();
            prop_assert_eq!(&m, &first, "replica {} differs", i);
            prop_assert_eq!(m.conflicts(), conflicts.clone(), "replica {} reports differently", i);
            prop_assert!(m.physical.index_is_consistent(), "replica {}'s patched index drifted", i);
            prop_assert!(m.fit_index_is_consistent(), "replica {}'s fit index drifted", i);
            for k in ["k1", "k2", "k3"] {
                let k = k.parse().unwrap();
                prop_assert_eq!(m.physical.devices_in_rack(&k), first.physical.devices_in_rack(&k));
            }
        }
    }
}

#[test]
fn merging_full_states_in_any_order_gives_one_model() {
    let mut w = World::default();
    w.script(BASE).unwrap();
    w.run("a", "sync b c");
    w.run("a", "device d1 rack=k1 unit=1 ports=eth0:1000");
    w.run("b", "device d2 rack=k1 unit=1 ports=eth0:1000");
    w.run("c", "delete rack k2");
    w.run("b", "device d3 rack=k2 unit=2");
    let states: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|r| w.node(r).replica.causal().clone())
        .collect();
    let mut results = Vec::new();
    for perm in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]] {
        let mut s = Causal::<Model>::default();
        for i in perm {
            s.merge(states[i].clone());
        }
        results.push((s.store.conflicts(), s));
    }
    for r in &results[1..] {
        assert_eq!(r.1, results[0].1);
        assert_eq!(r.0, results[0].0);
    }
    let text: Vec<String> = results[0].0.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        text,
        [
            "rack k1 unit 1: devices d1 and d2 overlap",
            "device d3: place.rack names missing rack k2",
        ]
    );
}
