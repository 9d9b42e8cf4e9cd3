//! Tests of the model's derived fit index: after every change that moves capacity (devices
//! added, removed, re-equipped, relabelled or moved with their rack or chassis; maintenance
//! added and removed; profiles, constraints, quotas and memberships changed; deltas and full
//! states from other replicas) the next fit query sees the change, the index patched delta by
//! delta equals one rebuilt from the state, and its answers equal the ones derived from the
//! model directly ([`FitContext::pool_claims`]), in scripted scenarios and random histories.

use crate::support::cases;
use crate::support::transcript::{World, split_line};
use horao_model::claims::{
    ClaimId, FitContext, MaintenanceSpec, Pool, PoolClaims, ReservationRequest, ReservationSpec,
    Window,
};
use horao_model::logical::{Capacity, DIMENSIONS, Dimension};
use horao_model::model::Model;
use horao_sched::timeline::Fit;
use proptest::prelude::*;

/// Two datacenters. dc-a: servers d0, d1, d2 (4, 8 and 16 cores; NVMe on d2) in rack k1; dc-b:
/// a chassis c1 with one 2-core blade b1 in rack k2, and an empty rack k3. Infrastructure i1
/// holds dc-a; tenant t1; profile p1 is one core.
const BASE: &str = "
a dc dc-a name=Alpha => ok
a dc dc-b name=Bravo => ok
a row r1 dc=dc-a name=R1 => ok
a row r2 dc=dc-b name=R2 => ok
a rack k1 row=r1 name=K1 height=42 => ok
a rack k2 row=r2 name=K2 height=42 => ok
a rack k3 row=r2 name=K3 height=42 => ok
a device d0 rack=k1 unit=1 cpus=4@2000 ram=1024 => ok
a device d1 rack=k1 unit=2 cpus=8@2000 ram=1024 => ok
a device d2 rack=k1 unit=3 cpus=16@2000 ram=1024 disks=nvme:100 => ok
a device c1 kind=chassis rack=k2 unit=1 height=4 => ok
a device b1 kind=blade chassis=c1 slot=1 cpus=2@2000 => ok
a infra i1 name=Prod => ok
a member i1 dc-a => ok
a tenant t1 name=T1 owner=ann => ok
a profile p1 name=core cores=1 => ok
";

/// Replicas the scripted scenarios use.
const REPLICAS: [&str; 2] = ["a", "b"];

fn reservation(tenant: &str, count: u32, start: u64, end: u64) -> ReservationSpec {
    ReservationSpec {
        infrastructure: "i1".parse().unwrap(),
        tenant: tenant.parse().unwrap(),
        profile: "p1".parse().unwrap(),
        count,
        window: Window { start, end },
    }
}

/// What `FitContext::check_reservation` would answer if it derived every pool from the model.
fn reference_check(ctx: &FitContext<'_>, skip: Option<&ClaimId>, spec: &ReservationSpec) -> String {
    let Some(demand) = ctx.demand(spec) else {
        return format!("profile {} not found", spec.profile);
    };
    for pool in ctx.pools_of(&spec.infrastructure, &spec.tenant) {
        let t = ctx.pool_claims(&pool, skip).timeline();
        if let Fit::Overflow {
            dimension,
            at,
            needed,
            available,
        } = t
            .fits(&demand.0, spec.window.start, spec.window.end)
            .unwrap()
        {
            let d = Dimension::ALL[dimension];
            return format!(
                "does not fit {pool}: {d} needs {needed} at time {at}, {available} available"
            );
        }
    }
    "ok".into()
}

fn sum_active(items: impl Iterator<Item = (Capacity, Window)>, at: u64) -> [u64; DIMENSIONS] {
    let mut u = Capacity::default();
    for (c, _) in items.filter(|(_, w)| w.start <= at && at < w.end) {
        u.add(&c);
    }
    u.0
}

/// What `FitContext::check_window` would answer if it derived every pool from the model.
fn reference_window(ctx: &FitContext<'_>, window: Window) -> String {
    for pool in ctx.all_pools() {
        if matches!(pool, Pool::Quota(_)) {
            continue;
        }
        let pc: PoolClaims = ctx.pool_claims(&pool, None);
        let t = pc.timeline();
        if let Fit::Overflow { dimension, at, .. } =
            t.fits(&[0; DIMENSIONS], window.start, window.end).unwrap()
        {
            let used = sum_active(pc.reservations.iter().map(|(_, c, w)| (*c, *w)), at);
            let down = sum_active(pc.maintenance.iter().copied(), at);
            let d = Dimension::ALL[dimension];
            return format!(
                "does not fit {pool}: {d} needs {} at time {at}, {} available",
                used[dimension],
                pc.capacity.0[dimension].saturating_sub(down[dimension])
            );
        }
    }
    "ok".into()
}

/// What `FitContext::earliest_start` would answer if it derived every pool from the model.
fn reference_earliest(ctx: &FitContext<'_>, req: &ReservationRequest) -> Option<u64> {
    let spec = reservation(&req.tenant.to_string(), req.count, 0, 1);
    let demand = ctx.demand(&spec)?;
    let timelines: Vec<_> = ctx
        .pools_of(&req.infrastructure, &req.tenant)
        .iter()
        .map(|p| ctx.pool_claims(p, None).timeline())
        .collect();
    (req.not_before..=req.horizon.saturating_sub(req.duration)).find(|&s| {
        timelines
            .iter()
            .all(|t| t.fits(&demand.0, s, s + req.duration).unwrap().is_fit())
    })
}

/// Asserts that `m`'s fit index equals a rebuild and answers probes as the model-derived
/// reference does.
fn assert_index_agrees(m: &Model, context: &str) {
    assert!(m.indexes_are_consistent(), "index drifted after {context}");
    let tenants: Vec<String> = m.logical.tenants.keys().map(|t| t.to_string()).collect();
    if !m.logical.profiles.contains_key(&"p1".parse().unwrap())
        || !m
            .logical
            .infrastructures
            .contains_key(&"i1".parse().unwrap())
    {
        return;
    }
    for t in &tenants {
        for (count, start, end) in [(1, 0, 10), (6, 5, 25), (13, 0, 40), (30, 12, 18)] {
            let spec = reservation(t, count, start, end);
            let ctx = FitContext::new(m);
            let got = ctx
                .check_reservation(None, &spec)
                .map_or_else(|e| e.to_string(), |()| "ok".into());
            assert_eq!(
                got,
                reference_check(&ctx, None, &spec),
                "{t} x{count} [{start}, {end}) after {context}"
            );
            // Replacing an existing reservation leaves it out of every pool.
            if let Some((id, _)) = m.claims.reservation_specs().next() {
                let got = ctx
                    .check_reservation(Some(id), &spec)
                    .map_or_else(|e| e.to_string(), |()| "ok".into());
                assert_eq!(
                    got,
                    reference_check(&ctx, Some(id), &spec),
                    "replacing {id} after {context}"
                );
            }
        }
        for (count, duration) in [(1, 5), (10, 8), (20, 30)] {
            let req = ReservationRequest {
                infrastructure: "i1".parse().unwrap(),
                tenant: t.parse().unwrap(),
                profile: "p1".parse().unwrap(),
                count,
                duration,
                not_before: 0,
                horizon: 60,
            };
            let ctx = FitContext::new(m);
            assert_eq!(
                ctx.earliest_start(&req).unwrap(),
                reference_earliest(&ctx, &req),
                "earliest {t} x{count} for {duration} after {context}"
            );
        }
    }
    for devices in [&["d0"][..], &["d2", "b1"], &["d1", "d2"]] {
        let spec = MaintenanceSpec {
            devices: devices.iter().map(|d| d.parse().unwrap()).collect(),
            window: Window { start: 8, end: 30 },
            reason: "probe".into(),
        };
        let mut ctx = FitContext::new(m);
        ctx.include_maintenance(&spec);
        let got = ctx
            .check_window(spec.window)
            .map_or_else(|e| e.to_string(), |()| "ok".into());
        assert_eq!(
            got,
            reference_window(&ctx, spec.window),
            "maintenance of {devices:?} after {context}"
        );
    }
}

/// Runs scenario lines, building every replica's fit index before each line (so that the
/// line's deltas patch a built index) and checking it after.
fn run(w: &mut World, text: &str) {
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (who, cmd, expect) = split_line(line).unwrap();
        for r in REPLICAS {
            w.model(r).build_fit_index();
        }
        assert_eq!(w.run(who, cmd), expect, "{line}");
        for r in REPLICAS {
            assert_index_agrees(w.model(r), line);
        }
    }
}

fn scenario(rest: &str) {
    let mut w = World::default();
    w.script(BASE).unwrap();
    run(&mut w, rest);
}

#[test]
fn devices_added_removed_and_reequipped_change_the_capacity_seen() {
    scenario(
        "
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=28 window=0..10 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=4 window=0..10 => does not fit infrastructure i1: cores needs 4 at time 0, 0 available
        a device d3 rack=k1 unit=4 cpus=4@2000 ram=1024 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=4 window=0..10 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=1 window=5..6 => does not fit infrastructure i1: cores needs 1 at time 5, 0 available
        a hardware d3 cpus=6@2000 ram=1024 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=3 window=5..6 => does not fit infrastructure i1: cores needs 3 at time 5, 2 available
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=2 window=5..6 => ok
        a delete reservation c3 => ok
        a delete reservation c2 => ok
        a delete device d3 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=1 window=9..12 => does not fit infrastructure i1: cores needs 1 at time 9, 0 available
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=28 window=10..12 => ok
        ",
    );
}

#[test]
fn maintenance_added_and_removed_changes_the_capacity_seen() {
    scenario(
        "
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=20 window=0..100 => ok
        a maintain m1 devices=d0 window=10..20 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=5 window=5..20 => does not fit infrastructure i1: cores needs 5 at time 10, 4 available
        a maintain m2 devices=d0,d1 window=15..30 => does not fit infrastructure i1: cores needs 20 at time 15, 16 available
        a maintain m2 devices=d0 window=15..30 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=5 window=20..30 => does not fit infrastructure i1: cores needs 5 at time 20, 4 available
        a delete maintenance m1 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=5 window=5..15 => ok
        a delete maintenance m2 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=3 window=15..30 => ok
        a earliest infra=i1 tenant=t1 profile=p1 count=9 duration=10 not-before=0 horizon=200 => 100
        ",
    );
}

#[test]
fn profile_changes_change_every_reservation_using_them() {
    scenario(
        "
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=10 window=0..10 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=19 window=0..10 => does not fit infrastructure i1: cores needs 19 at time 0, 18 available
        a update-profile p1 name=two cores=2 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=4 window=5..10 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=1 window=0..10 => does not fit infrastructure i1: cores needs 2 at time 5, 0 available
        a update-profile p1 name=one cores=1 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=14 window=0..10 => ok
        ",
    );
}

#[test]
fn constraints_labels_and_quotas_change_the_tenant_pools() {
    scenario(
        "
        a constraint t1 +label:big => ok
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=1 window=0..10 => does not fit tenant t1 in infrastructure i1: cores needs 1 at time 0, 0 available
        a label device d1 +big => ok
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=9 window=0..10 => does not fit tenant t1 in infrastructure i1: cores needs 9 at time 0, 8 available
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=8 window=0..10 => ok
        a maintain m1 devices=d1 window=20..30 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=1 window=25..26 => does not fit tenant t1 in infrastructure i1: cores needs 1 at time 25, 0 available
        a label device d2 +big => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=16 window=25..26 => ok
        a label device d1 -big => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=9 window=5..6 => does not fit tenant t1 in infrastructure i1: cores needs 9 at time 5, 8 available
        a quota t1 cores=10 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=3 window=5..6 => does not fit quota of tenant t1: cores needs 3 at time 5, 2 available
        a quota t1 cores=12 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=3 window=5..6 => ok
        a constraint t1 -label:big => ok
        a quota t1 cores=- => ok
        a reserve c4 infra=i1 tenant=t1 profile=p1 count=17 window=5..6 => ok
        ",
    );
}

#[test]
fn memberships_and_moved_racks_and_chassis_move_capacity() {
    scenario(
        "
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=28 window=0..10 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=2 window=0..10 => does not fit infrastructure i1: cores needs 2 at time 0, 0 available
        a member i1 dc-b => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=2 window=0..10 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=1 window=0..10 => does not fit infrastructure i1: cores needs 1 at time 0, 0 available
        a delete reservation c2 => ok
        a member i1 dc-b role=standby => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=1 window=0..10 => does not fit infrastructure i1: cores needs 1 at time 0, 0 available
        a move-device c1 rack=k1 unit=10 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=2 window=0..10 => ok
        a delete reservation c2 => ok
        a move-device c1 rack=k3 unit=10 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=1 window=0..10 => does not fit infrastructure i1: cores needs 1 at time 0, 0 available
        a member i1 dc-b => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=2 window=0..10 => ok
        a delete device b1 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=1 window=5..6 => does not fit infrastructure i1: cores needs 1 at time 5, 0 available
        ",
    );
}

#[test]
fn deltas_and_full_states_from_other_replicas_patch_or_rebuild_the_index() {
    scenario(
        "
        a sync b => ok
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=20 window=0..10 => ok
        b reserve c2 infra=i1 tenant=t1 profile=p1 count=10 window=5..15 => ok
        b maintain m1 devices=d0 window=12..14 => ok
        a sync b => ok
        b reserve c3 infra=i1 tenant=t1 profile=p1 count=1 window=5..6 => does not fit infrastructure i1: cores needs 1 at time 5, 0 available
        b delete reservation c2 => ok
        b reserve c3 infra=i1 tenant=t1 profile=p1 count=8 window=5..6 => ok
        b show conflicts => -
        ",
    );
}

/// One random operation of the history test, as a scenario command.
fn op() -> impl Strategy<Value = String> {
    let dev = 0..4u8;
    prop_oneof![
        (dev.clone(), 1..4u8, 1..4u8, 1..5u8).prop_map(|(d, k, u, c)| format!(
            "device d{d} rack=k{k} unit={} cpus={}@2000 disks=nvme:{}",
            u + 10 * d,
            4 * c,
            20 * c
        )),
        (dev.clone(), 1..5u8).prop_map(|(d, c)| format!("hardware d{d} cpus={}@2000", 3 * c)),
        (dev.clone(), 1..4u8)
            .prop_map(|(d, k)| format!("move-device d{d} rack=k{k} unit={}", 30 + d)),
        (1..4u8, 1..3u8).prop_map(|(k, r)| format!("move-rack k{k} row=r{r}")),
        (1..4u8).prop_map(|k| format!("delete rack k{k}")),
        (1..4u8, 1..4u8).prop_map(|(k, r)| format!("rack k{k} row=r{r} name=K height=42")),
        (1..4u8).prop_map(|k| format!("move-device c1 rack=k{k} unit=40")),
        (1..3u8).prop_map(|s| format!("device b{s} kind=blade chassis=c1 slot={s} cpus=2@2000")),
        dev.clone().prop_map(|d| format!("delete device d{d}")),
        (dev.clone(), 0..2u8, any::<bool>()).prop_map(|(d, l, add)| format!(
            "label device d{d} {}l{l}",
            if add { '+' } else { '-' }
        )),
        (0..2u8, any::<bool>()).prop_map(|(l, add)| format!(
            "constraint t{} {}label:l{l}",
            l + 1,
            if add { '+' } else { '-' }
        )),
        (any::<bool>(), any::<bool>()).prop_map(|(dc, add)| format!(
            "constraint t2 {}dc:dc-{}",
            if add { '+' } else { '-' },
            if dc { 'a' } else { 'b' }
        )),
        (1..3u8, 0..30u8).prop_map(|(t, q)| if q < 5 {
            format!("quota t{t} cores=-")
        } else {
            format!("quota t{t} cores={q}")
        }),
        (1..3u8).prop_map(|c| format!("update-profile p1 name=p cores={c}")),
        any::<bool>().prop_map(|b| format!(
            "member i1 dc-b role={}",
            if b { "active" } else { "standby" }
        )),
        (0..5u8, 1..3u8, 1..12u32, 0..30u64, 1..15u64).prop_map(|(c, t, n, s, l)| format!(
            "reserve c{c} infra=i1 tenant=t{t} profile=p1 count={n} window={s}..{}",
            s + l
        )),
        (0..5u8, 1..3u8, 1..12u32, 0..30u64, 1..15u64).prop_map(|(c, t, n, s, l)| format!(
            "update-reservation c{c} infra=i1 tenant=t{t} profile=p1 count={n} window={s}..{}",
            s + l
        )),
        (0..5u8).prop_map(|c| format!("delete reservation c{c}")),
        (0..3u8, dev.clone(), 0..3u8, 0..30u64, 1..10u64).prop_map(|(m, d, e, s, l)| format!(
            "maintain m{m} devices=d{d},d{e} window={s}..{}",
            s + l
        )),
        (0..3u8).prop_map(|m| format!("delete maintenance m{m}")),
    ]
}

/// The starting point of the history test: BASE, a second tenant and a third row.
const HISTORY_BASE: &str = "
a tenant t2 name=T2 owner=bo => ok
a row r3 dc=dc-b name=R3 => ok
";

#[derive(Clone, Debug)]
enum Step {
    Op(usize, String),
    /// `to` applies what `from` has that it lacks (deltas, or the full state).
    Exchange(usize, usize),
    /// `to` merges `from`'s full state.
    Merge(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..2usize, op()).prop_map(|(r, o)| Step::Op(r, o)),
        2 => (0..2usize).prop_map(|r| Step::Exchange(r, 1 - r)),
        1 => (0..2usize).prop_map(|r| Step::Merge(r, 1 - r)),
    ]
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn a_patched_index_equals_a_rebuilt_one_and_the_model_derived_answers(
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let mut w = World::default();
        w.script(BASE).unwrap();
        w.script(HISTORY_BASE).unwrap();
        w.run("a", "sync b");
        for s in &steps {
            for r in REPLICAS {
                w.model(r).build_fit_index();
            }
            let context = format!("{s:?}");
            match s {
                Step::Op(r, o) => {
                    w.run(REPLICAS[*r], o);
                }
                Step::Exchange(from, to) => w.exchange(REPLICAS[*from], REPLICAS[*to]),
                Step::Merge(from, to) => {
                    w.run(REPLICAS[*from], &format!("sync {}", REPLICAS[*to]));
                }
            }
            for r in REPLICAS {
                assert_index_agrees(w.model(r), &context);
            }
        }
    }
}

#[test]
fn clones_share_the_index_until_one_changes() {
    let mut w = World::default();
    w.script(BASE).unwrap();
    w.run(
        "a",
        "reserve c1 infra=i1 tenant=t1 profile=p1 count=20 window=0..10",
    );
    let before = w.model("a").clone();
    assert_eq!(
        w.run(
            "a",
            "reserve c2 infra=i1 tenant=t1 profile=p1 count=8 window=0..10"
        ),
        "ok"
    );
    // The clone still answers from the state it was cloned with.
    let spec = reservation("t1", 8, 0, 10);
    assert!(
        FitContext::new(&before)
            .check_reservation(None, &spec)
            .is_ok()
    );
    assert!(before.indexes_are_consistent());
    let after = w.model("a");
    assert_eq!(
        FitContext::new(after)
            .check_reservation(None, &spec)
            .unwrap_err()
            .to_string(),
        "does not fit infrastructure i1: cores needs 8 at time 0, 0 available"
    );
    assert!(after.indexes_are_consistent());
    // The derived index never takes part in equality.
    let fresh: Model = before.clone();
    assert_eq!(fresh, before);
}
