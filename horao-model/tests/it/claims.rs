//! Tests of claims: reservations and maintenance windows admitted only when they fit, the
//! earliest start search, quotas and tenant constraints, over-commitment after concurrent
//! claims, and a property test of admission and earliest start against a brute-force oracle
//! that checks every integer instant of a small horizon.

use crate::support::cases;
use crate::support::transcript::{World, check_after, check_dir};
use proptest::prelude::*;

/// One datacenter with three servers (4, 8 and 16 cores; nvme on the last), an
/// infrastructure over it, a tenant and a one-core profile.
const BASE: &str = "
a dc dc-a name=Alpha => ok
a row r1 dc=dc-a name=R1 => ok
a rack k1 row=r1 name=K1 height=42 => ok
a device d0 rack=k1 unit=1 cpus=4@2000 ram=1024 => ok
a device d1 rack=k1 unit=2 cpus=8@2000 ram=1024 => ok
a device d2 rack=k1 unit=3 cpus=16@2000 ram=1024 disks=nvme:100 => ok
a infra i1 name=Prod => ok
a member i1 dc-a => ok
a tenant t1 name=T1 owner=ann => ok
a profile p1 name=core cores=1 => ok
";

#[test]
fn scenario_files() {
    check_dir("claims");
}

#[test]
fn reservations_fit_the_capacity_left_in_their_window() {
    check_after(
        BASE,
        "
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=20 window=0..100 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=9 window=50..150 => does not fit infrastructure i1: cores needs 9 at time 50, 8 available
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=8 window=50..150 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=28 window=100..150 => does not fit infrastructure i1: cores needs 28 at time 100, 20 available
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=28 window=150..200 => ok
        a reserve c3 infra=i1 tenant=t1 profile=p1 count=1 window=0..1 => claim c3 already exists
        a reserve c4 infra=i1 tenant=t1 profile=p1 count=0 window=0..1 => invalid reservation.count: must be between 1 and 1000000
        a reserve c4 infra=i1 tenant=t1 profile=p1 count=1 window=5..5 => invalid reservation.window: start 5 must be before end 5
        a reserve c4 infra=i9 tenant=t1 profile=p1 count=1 window=0..1 => infrastructure i9 not found
        a reserve c4 infra=i1 tenant=t9 profile=p1 count=1 window=0..1 => tenant t9 not found
        a reserve c4 infra=i1 tenant=t1 profile=p9 count=1 window=0..1 => profile p9 not found
        a update-reservation c1 infra=i1 tenant=t1 profile=p1 count=21 window=0..50 => ok
        a update-reservation c1 infra=i1 tenant=t1 profile=p1 count=21 window=0..51 => does not fit infrastructure i1: cores needs 21 at time 50, 20 available
        a update-reservation c9 infra=i1 tenant=t1 profile=p1 count=1 window=0..1 => reservation c9 not found
        a delete profile p1 => profile p1 is in use by reservation c1
        a delete tenant t1 => tenant t1 is in use by reservation c1
        a delete infra i1 => infrastructure i1 is in use by reservation c1
        a delete reservation c2 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=28 window=50..150 => ok
        a show conflicts => -
        ",
    );
}

#[test]
fn maintenance_removes_capacity_for_its_window() {
    check_after(
        BASE,
        "
        a maintain m1 devices=d2 window=10..20 => ok
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=13 window=0..30 => does not fit infrastructure i1: cores needs 13 at time 10, 12 available
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=12 window=0..30 => ok
        a maintain m2 devices=d0 window=15..25 => does not fit infrastructure i1: cores needs 12 at time 15, 8 available
        a maintain m2 devices=d2 window=15..25 => ok
        a maintain m3 devices=d1 window=12..18 => does not fit infrastructure i1: cores needs 12 at time 12, 4 available
        a maintain m3 devices=d9 window=0..1 => device d9 not found
        a maintain m3 devices= window=0..1 => invalid maintenance.devices: must name between 1 and 100000 devices
        a maintain m3 devices=d0 window=3..1 => invalid maintenance.window: start 3 must be before end 1
        a maintain c1 devices=d0 window=100..200 => claim c1 already exists
        a delete maintenance m1 => ok
        a delete maintenance m1 => maintenance m1 not found
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=4 window=10..20 => does not fit infrastructure i1: cores needs 4 at time 15, 0 available
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=4 window=10..15 => ok
        a delete reservation c2 => ok
        a delete maintenance m2 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=4 window=10..20 => ok
        ",
    );
}

#[test]
fn maintenance_windows_are_replaced_when_they_fit() {
    check_after(
        BASE,
        "
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=12 window=0..30 => ok
        a maintain m1 devices=d2 window=10..20 => ok
        a update-maintenance m1 devices=d2 window=10..40 reason=firmware => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=13 window=35..36 => does not fit infrastructure i1: cores needs 13 at time 35, 12 available
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=13 window=40..41 => ok
        a update-maintenance m1 devices=d0,d2 window=10..40 => does not fit infrastructure i1: cores needs 12 at time 10, 8 available
        a update-maintenance m1 devices=d9 window=10..40 => device d9 not found
        a update-maintenance m1 devices=d2 window=40..10 => invalid maintenance.window: start 40 must be before end 10
        a update-maintenance m9 devices=d2 window=10..20 => maintenance m9 not found
        ",
    );
}

#[test]
fn a_maintenance_update_is_checked_without_the_window_it_replaces() {
    check_after(
        BASE,
        "
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=20 window=0..100 => ok
        a maintain m1 devices=d1 window=10..20 => ok
        a update-maintenance m1 devices=d0 window=10..20 => ok
        a update-maintenance m1 devices=d0,d1 window=10..20 => does not fit infrastructure i1: cores needs 20 at time 10, 16 available
        a update-maintenance m1 devices=d2 window=10..20 => does not fit infrastructure i1: cores needs 20 at time 10, 12 available
        a update-maintenance m1 devices=d1 window=50..60 => ok
        a maintain m2 devices=d1 window=10..20 => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=1 window=10..20 => does not fit infrastructure i1: cores needs 1 at time 10, 0 available
        ",
    );
}

#[test]
fn earliest_start_jumps_over_blocked_stretches() {
    check_after(
        BASE,
        "
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=20 window=0..100 => ok
        a maintain m1 devices=d2 window=120..200 => ok
        a earliest infra=i1 tenant=t1 profile=p1 count=10 duration=10 not-before=0 horizon=1000 => 100
        a earliest infra=i1 tenant=t1 profile=p1 count=13 duration=10 not-before=0 horizon=1000 => 100
        a earliest infra=i1 tenant=t1 profile=p1 count=13 duration=30 not-before=0 horizon=1000 => 200
        a earliest infra=i1 tenant=t1 profile=p1 count=4 duration=500 not-before=0 horizon=1000 => 0
        a earliest infra=i1 tenant=t1 profile=p1 count=13 duration=30 not-before=0 horizon=225 => none
        a earliest infra=i1 tenant=t1 profile=p1 count=29 duration=1 not-before=0 horizon=1000 => none
        a earliest infra=i1 tenant=t1 profile=p1 count=1 duration=0 not-before=0 horizon=1000 => invalid reservation.duration: must be positive
        a quota t1 cores=22 => ok
        a earliest infra=i1 tenant=t1 profile=p1 count=3 duration=10 not-before=0 horizon=1000 => 100
        ",
    );
}

#[test]
fn quotas_and_constraints_are_pools_of_their_own() {
    check_after(
        BASE,
        "
        a quota t1 cores=10 => ok
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=11 window=0..10 => does not fit quota of tenant t1: cores needs 11 at time 0, 10 available
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=10 window=0..10 => ok
        a quota t1 cores=- => ok
        a profile disk name=disk disk_nvme_gib=60 => ok
        a constraint t1 +label:big => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=1 window=0..10 => does not fit tenant t1 in infrastructure i1: cores needs 1 at time 0, 0 available
        a label device d2 +big => ok
        a reserve c2 infra=i1 tenant=t1 profile=p1 count=6 window=0..10 => ok
        a reserve c3 infra=i1 tenant=t1 profile=disk count=2 window=0..10 => does not fit infrastructure i1: disk_nvme_gib needs 120 at time 0, 100 available
        a reserve c3 infra=i1 tenant=t1 profile=disk count=1 window=0..10 => ok
        a tenant t2 name=T2 owner=bo => ok
        a reserve c4 infra=i1 tenant=t2 profile=p1 count=13 window=5..10 => does not fit infrastructure i1: cores needs 13 at time 5, 12 available
        ",
    );
}

#[test]
fn concurrent_reservations_over_capacity_are_reported_everywhere() {
    check_after(
        BASE,
        "
        a sync b => ok
        a reserve c1 infra=i1 tenant=t1 profile=p1 count=20 window=0..100 => ok
        b reserve c2 infra=i1 tenant=t1 profile=p1 count=10 window=50..150 => ok
        b maintain m1 devices=d0 window=120..140 => ok
        a sync b => ok
        b sync a => ok
        a show conflicts => infrastructure i1: cores over during [50, 100): needs 30, 28 available
        b show conflicts => infrastructure i1: cores over during [50, 100): needs 30, 28 available
        a delete reservation c2 => ok
        a show conflicts => -
        ",
    );
}

#[test]
fn deleting_a_profile_concurrently_with_a_reservation_is_reported() {
    check_after(
        BASE,
        "
        a profile p2 name=two cores=2 => ok
        a sync b => ok
        a delete profile p2 => ok
        b reserve c1 infra=i1 tenant=t1 profile=p2 count=1 window=0..10 => ok
        b sync a => ok
        a show conflicts => reservation c1: profile names missing profile p2
        ",
    );
}

/// A claim operation of the oracle test.
#[derive(Clone, Debug)]
enum Op {
    Reserve {
        count: u32,
        start: u64,
        len: u64,
    },
    /// A reservation of profile `nv` (one core and 8 GiB of NVMe per unit).
    ReserveNvme {
        count: u32,
        start: u64,
        len: u64,
    },
    Maintain {
        devices: u8,
        start: u64,
        len: u64,
    },
    Delete(usize),
    Earliest {
        count: u32,
        len: u64,
        not_before: u64,
    },
}

const HORIZON: u64 = 40;
const CORES: [u64; 3] = [4, 8, 16];
const NVME: [u64; 3] = [0, 0, 100];
const NVME_PER_UNIT: u64 = 8;
/// What refusing profile `nv` to a tenant allowed only SSDs says.
const NVME_FORBIDDEN: &str = "invalid reservation.profile: profile nv demands disk_nvme_gib, which tenant t1's constraints forbid (allowed: disk:ssd)";

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u32..16, 0..HORIZON - 1, 1..12u64).prop_map(|(count, start, len)| Op::Reserve { count, start, len }),
        2 => (1u32..16, 0..HORIZON - 1, 1..12u64).prop_map(|(count, start, len)| Op::ReserveNvme { count, start, len }),
        2 => (1u8..8, 0..HORIZON - 1, 1..10u64).prop_map(|(devices, start, len)| Op::Maintain { devices, start, len }),
        1 => (0usize..20).prop_map(Op::Delete),
        2 => (1u32..30, 1..15u64, 0..HORIZON).prop_map(|(count, len, not_before)| Op::Earliest { count, len, not_before }),
    ]
}

/// The oracle's state: accepted claims as plain lists. Reservations hold (id, cores, NVMe
/// GiB, start, end); amounts are (cores, NVMe GiB) pairs.
#[derive(Default)]
struct Oracle {
    reservations: Vec<(String, u64, u64, u64, u64)>,
    maintenance: Vec<(String, u8, u64, u64)>,
}

impl Oracle {
    fn used(&self, t: u64) -> (u64, u64) {
        self.reservations
            .iter()
            .filter(|r| r.3 <= t && t < r.4)
            .fold((0, 0), |(c, n), r| (c + r.1, n + r.2))
    }
    fn capacity(&self, t: u64) -> (u64, u64) {
        // A device is down while any of its windows is open, counted once.
        (0..3)
            .filter(|&i| {
                !self
                    .maintenance
                    .iter()
                    .any(|m| m.1 & (1 << i) != 0 && m.2 <= t && t < m.3)
            })
            .fold((0, 0), |(c, n), i| (c + CORES[i], n + NVME[i]))
    }
    fn holds(&self, t: u64) -> bool {
        let (used, cap) = (self.used(t), self.capacity(t));
        used.0 <= cap.0 && used.1 <= cap.1
    }
    fn fits(&self, need: (u64, u64), quota: Option<u64>, start: u64, end: u64) -> bool {
        (start..end).all(|t| {
            let (used, cap) = (self.used(t), self.capacity(t));
            used.0 + need.0 <= cap.0
                && used.1 + need.1 <= cap.1
                && quota.is_none_or(|q| used.0 + need.0 <= q)
        })
    }
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn admission_and_earliest_start_match_a_brute_force_oracle(
        quota in proptest::option::of(10u64..30),
        ssd_only in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..25),
    ) {
        let mut w = World::default();
        w.script(BASE).unwrap();
        prop_assert_eq!(w.run("a", "profile nv name=nv cores=1 disk_nvme_gib=8"), "ok");
        if let Some(q) = quota {
            prop_assert_eq!(w.run("a", &format!("quota t1 cores={q}")), "ok");
        }
        // A tenant allowed only SSDs (which no device has) may still reserve cores, but every
        // NVMe demand is refused, never admitted against the infrastructure's NVMe.
        if ssd_only {
            prop_assert_eq!(w.run("a", "constraint t1 +disk:ssd"), "ok");
        }
        let mut o = Oracle::default();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Reserve { count, start, len } => {
                    let end = start + len;
                    let got = w.run("a", &format!("reserve c{n} infra=i1 tenant=t1 profile=p1 count={count} window={start}..{end}"));
                    let want = o.fits((u64::from(count), 0), quota, start, end);
                    prop_assert_eq!(got == "ok", want, "reserve {} {}..{}: {}", count, start, end, got);
                    if want {
                        o.reservations.push((format!("c{n}"), u64::from(count), 0, start, end));
                    }
                }
                Op::ReserveNvme { count, start, len } => {
                    let end = start + len;
                    let got = w.run("a", &format!("reserve c{n} infra=i1 tenant=t1 profile=nv count={count} window={start}..{end}"));
                    let need = (u64::from(count), u64::from(count) * NVME_PER_UNIT);
                    if ssd_only {
                        prop_assert_eq!(got, NVME_FORBIDDEN);
                        let got = w.run("a", &format!(
                            "earliest infra=i1 tenant=t1 profile=nv count={count} duration={len} not-before=0 horizon={HORIZON}"
                        ));
                        prop_assert_eq!(got, NVME_FORBIDDEN);
                        continue;
                    }
                    let want = o.fits(need, quota, start, end);
                    prop_assert_eq!(got == "ok", want, "reserve nvme {} {}..{}: {}", count, start, end, got);
                    if want {
                        o.reservations.push((format!("c{n}"), need.0, need.1, start, end));
                    }
                }
                Op::Maintain { devices, start, len } => {
                    let end = start + len;
                    let list: Vec<String> = (0..3).filter(|i| devices & (1 << i) != 0).map(|i| format!("d{i}")).collect();
                    let got = w.run("a", &format!("maintain m{n} devices={} window={start}..{end}", list.join(",")));
                    o.maintenance.push((format!("m{n}"), devices, start, end));
                    let want = (start..end).all(|t| o.holds(t));
                    prop_assert_eq!(got == "ok", want, "maintain {} {}..{}: {}", devices, start, end, got);
                    if !want {
                        o.maintenance.pop();
                    }
                }
                Op::Delete(i) => {
                    let total = o.reservations.len() + o.maintenance.len();
                    if total == 0 {
                        continue;
                    }
                    let i = i % total;
                    if i < o.reservations.len() {
                        let (id, ..) = o.reservations.remove(i);
                        prop_assert_eq!(w.run("a", &format!("delete reservation {id}")), "ok");
                    } else {
                        let (id, ..) = o.maintenance.remove(i - o.reservations.len());
                        prop_assert_eq!(w.run("a", &format!("delete maintenance {id}")), "ok");
                    }
                }
                Op::Earliest { count, len, not_before } => {
                    let got = w.run("a", &format!(
                        "earliest infra=i1 tenant=t1 profile=p1 count={count} duration={len} not-before={not_before} horizon={HORIZON}"
                    ));
                    let want = (not_before..=HORIZON.saturating_sub(len))
                        .find(|&s| o.fits((u64::from(count), 0), quota, s, s + len))
                        .map_or("none".to_string(), |s| s.to_string());
                    prop_assert_eq!(got, want, "earliest {} x {} from {}", count, len, not_before);
                }
            }
            // The fit index, patched by every admitted claim, equals one rebuilt from the state.
            prop_assert!(w.model("a").indexes_are_consistent());
        }
        prop_assert_eq!(w.run("a", "show conflicts"), "-");
    }
}
