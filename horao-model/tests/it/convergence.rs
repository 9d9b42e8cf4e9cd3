//! Convergence of the physical, logical and claims layers: random concurrent histories on 2–5
//! replicas (see [`check_history`]), and full states merged in any order.

use crate::support::cases;
use crate::support::history::{check_history, history};
use crate::support::transcript::{Clock, World};
use horao_crdt::Causal;
use horao_model::model::Model;
use proptest::prelude::*;

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
fn op() -> impl Strategy<Value = String> + Clone {
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

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn concurrent_histories_converge_with_one_conflict_report(h in history(op(), 40)) {
        check_history(BASE, Clock::default(), &h)?;
    }
}

#[test]
fn merging_full_states_in_any_order_gives_one_model() {
    let mut w = World::default();
    w.script(BASE).unwrap();
    w.script("a sync b c => ok").unwrap();
    w.script(
        "
        a device d1 rack=k1 unit=1 ports=eth0:1000 => ok
        b device d2 rack=k1 unit=1 ports=eth0:1000 => ok
        c delete rack k2 => ok
        b device d3 rack=k2 unit=2 => ok
        ",
    )
    .unwrap();
    let states: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|r| w.replica(r).causal().clone())
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
