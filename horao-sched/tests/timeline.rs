//! Tests of claims over time: `fits` and `earliest_start` against a brute-force oracle that
//! checks every integer instant of a small horizon, over random reservations, maintenance
//! windows and removals; a timeline changed one claim at a time against one rebuilt from its
//! remaining claims and against the oracle after every step, over small and 64-bit instants;
//! hypothetical (`what_if`) queries against a changed copy; plus edge cases at the ends of
//! time and on invalid input.

use horao_sched::Error;
use horao_sched::timeline::{Claim, ClaimId, ClaimKind, Fit, Timeline};
use proptest::prelude::*;

/// Usage per dimension at instant `t`, from the claims directly.
fn usage_at(claims: &[Claim], d: usize, t: u64) -> Vec<u64> {
    let mut u = vec![0u64; d];
    for c in claims.iter().filter(|c| c.start <= t && t < c.end) {
        for (x, a) in u.iter_mut().zip(&c.amount) {
            *x += a;
        }
    }
    u
}

/// The oracle for `fits`: walk every instant of the window.
fn fits_oracle(cap: &[u64], claims: &[Claim], demand: &[u64], start: u64, end: u64) -> Fit {
    for t in start..end {
        let u = usage_at(claims, cap.len(), t);
        for r in 0..cap.len() {
            if u[r] + demand[r] > cap[r] {
                return Fit::Overflow {
                    dimension: r,
                    at: t,
                    needed: demand[r],
                    available: cap[r].saturating_sub(u[r]),
                };
            }
        }
    }
    Fit::Fits
}

/// The oracle for `earliest_start`: try every start in turn.
fn earliest_oracle(
    cap: &[u64],
    claims: &[Claim],
    demand: &[u64],
    duration: u64,
    not_before: u64,
    horizon: u64,
) -> Option<u64> {
    (not_before..)
        .take_while(|s| s + duration <= horizon)
        .find(|&s| fits_oracle(cap, claims, demand, s, s + duration).is_fit())
}

/// A random timeline: capacity, claims (each possibly removed again) in a horizon of ~60.
#[derive(Debug, Clone)]
struct Scenario {
    capacity: Vec<u64>,
    claims: Vec<(Claim, bool)>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..=3).prop_flat_map(|d| {
        let claim = (
            prop::bool::weighted(0.7),
            prop::collection::vec(0u64..=6, d),
            0u64..45,
            1u64..=15,
            prop::bool::weighted(0.2),
        )
            .prop_map(|(reservation, amount, start, len, removed)| {
                let kind = if reservation {
                    ClaimKind::Reservation
                } else {
                    ClaimKind::Maintenance
                };
                (
                    Claim {
                        kind,
                        amount,
                        start,
                        end: start + len,
                    },
                    removed,
                )
            });
        (
            prop::collection::vec(0u64..=12, d),
            prop::collection::vec(claim, 0..=14),
        )
            .prop_map(|(capacity, claims)| Scenario { capacity, claims })
    })
}

/// Builds the timeline by adding every claim, then removing the marked ones; returns it with
/// the claims that remain.
#[allow(clippy::unwrap_used)] // Generated claims are well formed; a failure is a test failure.
fn build(s: &Scenario) -> (Timeline, Vec<Claim>) {
    let mut t = Timeline::new(s.capacity.clone());
    let ids: Vec<_> = s
        .claims
        .iter()
        .map(|(c, _)| t.add(c.clone()).unwrap())
        .collect();
    // Query once in between so removal has to invalidate a built index.
    let _ = t.fits(&vec![0; s.capacity.len()], 0, 1).unwrap();
    for ((_, removed), id) in s.claims.iter().zip(ids) {
        if *removed {
            assert!(t.remove(id).is_some());
            assert!(t.remove(id).is_none());
        }
    }
    let kept = s
        .claims
        .iter()
        .filter(|(_, r)| !r)
        .map(|(c, _)| c.clone())
        .collect();
    (t, kept)
}

proptest! {
    #[test]
    fn fits_matches_the_brute_force_oracle(
        s in scenario(),
        demand_seed in prop::collection::vec(0u64..=8, 3),
        start in 0u64..60,
        len in 1u64..=20,
    ) {
        let (t, kept) = build(&s);
        let demand = &demand_seed[..s.capacity.len()];
        prop_assert_eq!(
            t.fits(demand, start, start + len).unwrap(),
            fits_oracle(&s.capacity, &kept, demand, start, start + len)
        );
    }

    #[test]
    fn earliest_start_matches_the_brute_force_oracle(
        s in scenario(),
        demand_seed in prop::collection::vec(0u64..=8, 3),
        duration in 1u64..=15,
        not_before in 0u64..60,
        horizon in 0u64..90,
    ) {
        let (t, kept) = build(&s);
        let demand = &demand_seed[..s.capacity.len()];
        let got = t.earliest_start(demand, duration, not_before, horizon).unwrap();
        prop_assert_eq!(got, earliest_oracle(&s.capacity, &kept, demand, duration, not_before, horizon));
        if let Some(start) = got {
            prop_assert!(t.fits(demand, start, start + duration).unwrap().is_fit());
        }
    }

    #[test]
    fn incremental_updates_equal_a_fresh_build(s in scenario(), start in 0u64..60, len in 1u64..=20) {
        let (t, kept) = build(&s);
        let mut fresh = Timeline::new(s.capacity.clone());
        for c in &kept {
            fresh.add(c.clone()).unwrap();
        }
        prop_assert_eq!(t.len(), kept.len());
        for demand in [vec![1; s.capacity.len()], vec![3; s.capacity.len()]] {
            prop_assert_eq!(
                t.fits(&demand, start, start + len).unwrap(),
                fresh.fits(&demand, start, start + len).unwrap()
            );
            prop_assert_eq!(
                t.earliest_start(&demand, len, start, 200).unwrap(),
                fresh.earliest_start(&demand, len, start, 200).unwrap()
            );
        }
    }
}

#[test]
fn maintenance_blocks_and_reservations_stack() {
    let mut t = Timeline::new(vec![8, 4]);
    t.add_reservation(vec![4, 1], 10, 20).unwrap();
    t.add_reservation(vec![4, 1], 15, 30).unwrap();
    let m = t.add_maintenance(vec![0, 4], 40, 50).unwrap();
    assert_eq!(
        t.fits(&[1, 0], 0, 100).unwrap(),
        Fit::Overflow {
            dimension: 0,
            at: 15,
            needed: 1,
            available: 0
        }
    );
    assert_eq!(
        t.fits(&[0, 1], 35, 45).unwrap(),
        Fit::Overflow {
            dimension: 1,
            at: 40,
            needed: 1,
            available: 0
        }
    );
    assert_eq!(t.earliest_start(&[1, 1], 11, 0, 100).unwrap(), Some(0));
    assert_eq!(t.earliest_start(&[1, 1], 16, 0, 100).unwrap(), Some(20));
    assert_eq!(t.earliest_start(&[1, 1], 21, 0, 100).unwrap(), Some(50));
    assert_eq!(
        t.earliest_start(&[1, 1], 21, 0, 60).unwrap(),
        None,
        "horizon"
    );
    assert_eq!(t.earliest_start(&[5, 0], 5, 12, 100).unwrap(), Some(30));
    assert_eq!(
        t.earliest_start(&[9, 0], 1, 0, 100).unwrap(),
        None,
        "above capacity"
    );
    assert_eq!(t.remove(m).map(|c| c.kind), Some(ClaimKind::Maintenance));
    assert_eq!(t.earliest_start(&[1, 1], 21, 0, 100).unwrap(), Some(20));
}

#[test]
fn over_committed_timelines_report_zero_available() {
    let mut t = Timeline::new(vec![5]);
    t.add_reservation(vec![4], 0, 10).unwrap();
    t.add_reservation(vec![4], 5, 10).unwrap();
    assert!(t.fits(&[0], 0, 5).unwrap().is_fit());
    // Fitting means staying within capacity, which an over-committed stretch already is not.
    assert_eq!(
        t.fits(&[0], 0, 10).unwrap(),
        Fit::Overflow {
            dimension: 0,
            at: 5,
            needed: 0,
            available: 0
        }
    );
    assert_eq!(
        t.fits(&[1], 6, 7).unwrap(),
        Fit::Overflow {
            dimension: 0,
            at: 6,
            needed: 1,
            available: 0
        }
    );
}

#[test]
fn the_ends_of_time_do_not_overflow() {
    let mut t = Timeline::new(vec![1]);
    t.add_reservation(vec![1], u64::MAX - 10, u64::MAX).unwrap();
    assert!(t.fits(&[1], u64::MAX - 11, u64::MAX - 10).unwrap().is_fit());
    assert!(!t.fits(&[1], u64::MAX - 1, u64::MAX).unwrap().is_fit());
    assert_eq!(
        t.earliest_start(&[1], 5, u64::MAX - 12, u64::MAX).unwrap(),
        None
    );
    assert_eq!(
        t.earliest_start(&[1], 2, u64::MAX - 12, u64::MAX).unwrap(),
        Some(u64::MAX - 12)
    );
    assert_eq!(t.earliest_start(&[1], u64::MAX, 1, u64::MAX).unwrap(), None);
}

#[test]
fn invalid_input_is_an_error() {
    let mut t = Timeline::new(vec![1, 1]);
    assert_eq!(
        t.add_reservation(vec![1], 0, 1),
        Err(Error::DimensionMismatch {
            what: "claim amount".into(),
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        t.add_maintenance(vec![1, 1], 5, 5),
        Err(Error::InvalidWindow { start: 5, end: 5 })
    );
    assert_eq!(
        t.fits(&[1, 1], 7, 3),
        Err(Error::InvalidWindow { start: 7, end: 3 })
    );
    assert_eq!(
        t.earliest_start(&[1, 1], 0, 3, 9),
        Err(Error::InvalidWindow { start: 3, end: 3 })
    );
    assert!(matches!(
        t.fits(&[1], 0, 1),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(t.is_empty());
}

/// Usage at `t` as the timeline reports it (clamped at zero), from the claims directly.
fn usage_oracle(claims: &[Claim], d: usize, t: u64) -> Vec<u64> {
    usage_at(claims, d, t)
}

/// The oracle for `fits` over 64-bit instants: usage only changes where a claim starts or
/// ends, so the first overflow in a window is at its start or at one of those instants.
fn fits_oracle_sparse(cap: &[u64], claims: &[Claim], demand: &[u64], start: u64, end: u64) -> Fit {
    let mut candidates: Vec<u64> = claims
        .iter()
        .flat_map(|c| [c.start, c.end])
        .filter(|&x| start < x && x < end)
        .collect();
    candidates.push(start);
    candidates.sort_unstable();
    candidates.dedup();
    for t in candidates {
        let u = usage_at(claims, cap.len(), t);
        for r in 0..cap.len() {
            if u128::from(u[r]) + u128::from(demand[r]) > u128::from(cap[r]) {
                return Fit::Overflow {
                    dimension: r,
                    at: t,
                    needed: demand[r],
                    available: cap[r].saturating_sub(u[r]),
                };
            }
        }
    }
    Fit::Fits
}

/// One step of a random history: add a claim, or remove the `i`-th live one (modulo).
#[derive(Debug, Clone)]
enum Op {
    Add(Claim),
    Remove(usize),
}

/// Instants in the whole 64-bit range: clustered near both ends and around bit boundaries,
/// so that the tree's keys differ in high, low and many bits at once.
fn instant() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..40,
        (0u64..40).prop_map(|x| u64::MAX - x),
        (0u64..40).prop_map(|x| (1u64 << 63) - 20 + x),
        (0u32..64, 0u64..3).prop_map(|(b, x)| (1u64 << b).wrapping_add(x)),
        any::<u64>(),
    ]
}

fn history(d: usize) -> impl Strategy<Value = (Vec<u64>, Vec<Op>)> {
    let claim = (
        prop::bool::ANY,
        prop::collection::vec(0u64..=6, d),
        instant(),
        instant(),
    )
        .prop_filter_map("empty window", |(reservation, amount, a, b)| {
            (a != b).then(|| Claim {
                kind: if reservation {
                    ClaimKind::Reservation
                } else {
                    ClaimKind::Maintenance
                },
                amount,
                start: a.min(b),
                end: a.max(b),
            })
        });
    let op = prop_oneof![
        3 => claim.prop_map(Op::Add),
        1 => any::<usize>().prop_map(Op::Remove),
    ];
    (
        prop::collection::vec(0u64..=12, d),
        prop::collection::vec(op, 0..=30),
    )
}

/// A timeline holding exactly `claims`, added in order to an empty one.
#[allow(clippy::unwrap_used)]
fn rebuilt(capacity: &[u64], claims: &[Claim]) -> Timeline {
    let mut t = Timeline::new(capacity.to_vec());
    for c in claims {
        t.add(c.clone()).unwrap();
    }
    t
}

proptest! {
    #[test]
    fn a_timeline_changed_claim_by_claim_equals_a_rebuilt_one_and_the_oracle(
        (capacity, ops) in (1usize..=3).prop_flat_map(history),
        probes in prop::collection::vec((instant(), instant(), prop::collection::vec(0u64..=8, 3)), 4),
    ) {
        let d = capacity.len();
        let mut t = Timeline::new(capacity.clone());
        // The same history, with every third claim recorded by a bulk rebuild (`add_all`), so
        // that incremental changes also run on bulk-built trees.
        let mut mixed = Timeline::new(capacity.clone());
        let mut live: Vec<(ClaimId, ClaimId, Claim)> = Vec::new();
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Add(c) => {
                    let id = t.add(c.clone()).unwrap();
                    let other = if step % 3 == 0 {
                        mixed.add_all([c.clone()]).remove(0).unwrap()
                    } else {
                        mixed.add(c.clone()).unwrap()
                    };
                    live.push((id, other, c));
                }
                Op::Remove(i) if !live.is_empty() => {
                    let (id, other, c) = live.remove(i % live.len());
                    let removed = mixed.remove(other);
                    prop_assert_eq!(removed.as_ref(), Some(&c));
                    prop_assert_eq!(t.remove(id), Some(c));
                }
                Op::Remove(_) => {}
            }
            let claims: Vec<Claim> = live.iter().map(|(_, _, c)| c.clone()).collect();
            let fresh = rebuilt(&capacity, &claims);
            // Half the claims one by one, then the rest in bulk on top of them.
            let mut bulk = rebuilt(&capacity, &claims[..claims.len() / 2]);
            for r in bulk.add_all(claims[claims.len() / 2..].to_vec()) {
                prop_assert!(r.is_ok());
            }
            prop_assert_eq!(t.len(), claims.len());
            prop_assert_eq!(bulk.len(), claims.len());
            // The change points do not depend on the history, only on the claims held.
            prop_assert_eq!(t.changes(), fresh.changes());
            prop_assert_eq!(mixed.changes(), fresh.changes());
            prop_assert_eq!(bulk.changes(), fresh.changes());
            prop_assert_eq!(t.change_points(), fresh.change_points());
            for (a, b, demand) in &probes {
                let (start, end) = (*a.min(b), *a.max(b));
                let demand = &demand[..d];
                prop_assert_eq!(t.usage_at(start), usage_oracle(&claims, d, start));
                if start == end {
                    continue;
                }
                let want = fits_oracle_sparse(&capacity, &claims, demand, start, end);
                prop_assert_eq!(&t.fits(demand, start, end).unwrap(), &want);
                prop_assert_eq!(&fresh.fits(demand, start, end).unwrap(), &want);
                prop_assert_eq!(&mixed.fits(demand, start, end).unwrap(), &want);
                prop_assert_eq!(&bulk.fits(demand, start, end).unwrap(), &want);
                let duration = (end - start).min(1 << 20);
                prop_assert_eq!(
                    t.earliest_start(demand, duration, start, end).unwrap(),
                    fresh.earliest_start(demand, duration, start, end).unwrap()
                );
            }
        }
    }

    #[test]
    fn earliest_start_matches_the_oracle_after_interleaved_changes(
        s in scenario(),
        extra in prop::collection::vec((0u64..45, 1u64..=15, prop::collection::vec(0u64..=6, 3)), 0..6),
        demand_seed in prop::collection::vec(0u64..=8, 3),
        duration in 1u64..=15,
        not_before in 0u64..60,
    ) {
        // Queries between every change: nothing may depend on a structure built earlier.
        let (mut t, mut kept) = build(&s);
        let d = s.capacity.len();
        let demand = &demand_seed[..d];
        for (start, len, amount) in extra {
            let c = Claim { kind: ClaimKind::Reservation, amount: amount[..d].to_vec(), start, end: start + len };
            let id = t.add(c.clone()).unwrap();
            kept.push(c);
            prop_assert_eq!(
                t.earliest_start(demand, duration, not_before, 90).unwrap(),
                earliest_oracle(&s.capacity, &kept, demand, duration, not_before, 90)
            );
            if start % 2 == 0 {
                prop_assert!(t.remove(id).is_some());
                kept.pop();
            }
            prop_assert_eq!(
                t.fits(demand, not_before, not_before + duration).unwrap(),
                fits_oracle(&s.capacity, &kept, demand, not_before, not_before + duration)
            );
        }
    }

    #[test]
    fn what_if_answers_as_the_changed_timeline_would(
        s in scenario(),
        aside_seed in prop::collection::vec(any::<usize>(), 0..4),
        added in prop::collection::vec((0u64..45, 1u64..=15, prop::collection::vec(0u64..=6, 3)), 0..4),
        demand_seed in prop::collection::vec(0u64..=8, 3),
        start in 0u64..60,
        len in 1u64..=20,
    ) {
        let mut t = Timeline::new(s.capacity.clone());
        let d = s.capacity.len();
        let ids: Vec<(ClaimId, Claim)> =
            s.claims.iter().map(|(c, _)| (t.add(c.clone()).unwrap(), c.clone())).collect();
        let mut changed = t.clone();
        let mut view = t.what_if();
        let mut aside = Vec::new();
        for i in aside_seed {
            if ids.is_empty() {
                break;
            }
            let (id, _) = &ids[i % ids.len()];
            // Setting a claim aside twice is the same as once.
            view = view.without(*id).without(*id);
            if !aside.contains(id) {
                changed.remove(*id);
                aside.push(*id);
            }
        }
        let mut claims: Vec<Claim> = ids
            .iter()
            .filter(|(id, _)| !aside.contains(id))
            .map(|(_, c)| c.clone())
            .collect();
        for (s0, l, amount) in added {
            let c = Claim { kind: ClaimKind::Maintenance, amount: amount[..d].to_vec(), start: s0, end: s0 + l };
            view = view.with(&c).unwrap();
            changed.add(c.clone()).unwrap();
            claims.push(c);
        }
        let demand = &demand_seed[..d];
        let got = view.fits(demand, start, start + len).unwrap();
        prop_assert_eq!(&got, &changed.fits(demand, start, start + len).unwrap());
        prop_assert_eq!(&got, &fits_oracle(&s.capacity, &claims, demand, start, start + len));
        // The view changed nothing.
        prop_assert_eq!(t.len(), ids.len());
    }

    #[test]
    fn a_new_capacity_answers_as_a_timeline_built_with_it(
        s in scenario(),
        cap_seed in prop::collection::vec(0u64..=12, 3),
        demand_seed in prop::collection::vec(0u64..=8, 3),
        start in 0u64..60,
        len in 1u64..=20,
    ) {
        let (mut t, kept) = build(&s);
        let d = s.capacity.len();
        let _ = t.fits(&vec![0; d], 0, 1).unwrap();
        t.set_capacity(cap_seed[..d].to_vec()).unwrap();
        let demand = &demand_seed[..d];
        prop_assert_eq!(t.capacity(), &cap_seed[..d]);
        prop_assert_eq!(
            t.fits(demand, start, start + len).unwrap(),
            fits_oracle(&cap_seed[..d], &kept, demand, start, start + len)
        );
        prop_assert_eq!(
            t.earliest_start(demand, len, start, 90).unwrap(),
            earliest_oracle(&cap_seed[..d], &kept, demand, len, start, 90)
        );
    }
}

#[test]
fn what_if_rejects_malformed_claims_and_ignores_unknown_ids() {
    let mut t = Timeline::new(vec![4]);
    let id = t.add_reservation(vec![3], 0, 10).unwrap();
    assert_eq!(
        t.what_if()
            .with(&Claim {
                kind: ClaimKind::Maintenance,
                amount: vec![1, 1],
                start: 0,
                end: 1
            })
            .err(),
        Some(Error::DimensionMismatch {
            what: "claim amount".into(),
            expected: 1,
            found: 2
        })
    );
    let view = t.what_if().without(ClaimId(99));
    assert_eq!(
        view.fits(&[2], 0, 5).unwrap(),
        Fit::Overflow {
            dimension: 0,
            at: 0,
            needed: 2,
            available: 1
        }
    );
    assert!(t.what_if().without(id).fits(&[4], 0, 10).unwrap().is_fit());
    assert_eq!(
        t.what_if().fits(&[1], 4, 4),
        Err(Error::InvalidWindow { start: 4, end: 4 })
    );
    assert_eq!(
        t.set_capacity(vec![1, 2]),
        Err(Error::DimensionMismatch {
            what: "capacity".into(),
            expected: 1,
            found: 2
        })
    );
}

#[test]
fn removing_every_claim_leaves_no_change_points() {
    let mut t = Timeline::new(vec![10, 10]);
    let ids: Vec<_> = (0..200u64)
        .map(|i| {
            t.add_reservation(vec![i % 3, 1], i * 7 % 101, i * 7 % 101 + 1 + i % 13)
                .unwrap()
        })
        .collect();
    assert!(t.change_points() > 0);
    for id in ids.into_iter().rev() {
        assert!(t.remove(id).is_some());
    }
    assert_eq!(t.change_points(), 0);
    assert!(t.changes().is_empty());
    assert!(t.fits(&[10, 10], 0, u64::MAX).unwrap().is_fit());
}

#[test]
fn add_all_records_the_valid_claims_and_reports_the_others() {
    let mut t = Timeline::new(vec![10, 10]);
    t.add_reservation(vec![2, 2], 0, 10).unwrap();
    let claim = |amount: Vec<u64>, start, end| Claim {
        kind: ClaimKind::Reservation,
        amount,
        start,
        end,
    };
    let got = t.add_all([
        claim(vec![3, 0], 5, 15),
        claim(vec![1, 1], 7, 7),
        claim(vec![1], 0, 1),
        claim(vec![0, 0], 1, 2),
        claim(vec![5, 8], 12, 20),
    ]);
    assert_eq!(got[1], Err(Error::InvalidWindow { start: 7, end: 7 }));
    assert!(matches!(got[2], Err(Error::DimensionMismatch { .. })));
    assert!(got[0].is_ok() && got[3].is_ok() && got[4].is_ok());
    assert_eq!(t.len(), 4);
    // Usage: [0,5) 2/2, [5,10) 5/2, [10,12) 3/0, [12,15) 8/8, [15,20) 5/8.
    assert_eq!(t.usage_at(12), vec![8, 8]);
    assert_eq!(
        t.fits(&[3, 0], 0, 20).unwrap(),
        Fit::Overflow {
            dimension: 0,
            at: 12,
            needed: 3,
            available: 2
        }
    );
    assert_eq!(t.earliest_start(&[6, 3], 3, 0, 100).unwrap(), Some(0));
    assert_eq!(t.earliest_start(&[6, 3], 3, 6, 100).unwrap(), Some(20));
    // The zero claim changes nothing but is still a claim, and removable.
    assert_eq!(
        t.remove(got[3].clone().unwrap()).map(|c| c.amount),
        Some(vec![0, 0])
    );
    assert_eq!(t.change_points(), 6);
}
