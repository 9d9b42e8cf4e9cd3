//! Tests of claims over time: `fits` and `earliest_start` against a brute-force oracle that
//! checks every integer instant of a small horizon, over random reservations, maintenance
//! windows and removals; plus edge cases at the ends of time and on invalid input.

use horao_sched::Error;
use horao_sched::timeline::{Claim, ClaimKind, Fit, Timeline};
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
