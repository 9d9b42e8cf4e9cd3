//! Tests of the placement API: data-driven cases under testdata/placement (one `check` helper
//! renders a plan as lines and compares them), properties over random inputs (every plan passes
//! the independent checker, determinism, agreement with a brute-force best fit), and the
//! checker's own ability to reject broken plans.

use std::collections::BTreeSet;
use std::path::Path;

use horao_sched::placement::{
    Assignment, Config, Machine, PlacementInput, Plan, PlanViolation, Reason, Request, check_plan,
    place,
};
use horao_sched::vector::{Dilation, Heuristic, Resources};
use proptest::prelude::*;
use serde::Deserialize;

/// One data-driven case: an input, the heuristics to run (all when absent) and the expected
/// lines, one per request in input order, or a single `error: …` line.
#[derive(Deserialize)]
struct Case {
    input: PlacementInput,
    #[serde(default)]
    heuristics: Option<Vec<Heuristic>>,
    expect: Vec<String>,
}

/// Renders a plan as `id -> machine [reserved]` or `id ! reason`, in request order.
fn render(input: &PlacementInput, plan: &Plan) -> Vec<String> {
    input
        .requests
        .iter()
        .map(|r| {
            if let Some(a) = plan.assignments.iter().find(|a| a.request == r.id) {
                format!("{} -> {} {:?}", r.id, a.machine, a.reserved)
            } else if let Some(u) = plan.unplaced.iter().find(|u| u.request == r.id) {
                format!("{} ! {}", r.id, u.reason)
            } else {
                format!("{} missing", r.id)
            }
        })
        .collect()
}

/// Places `input` with `heuristic` and compares the rendered plan (or error) with `expect`.
/// Every successful plan must also pass the independent checker.
fn check(input: &PlacementInput, heuristic: Heuristic, expect: &[String], name: &str) {
    let got = match place(input, &Config { heuristic }) {
        Ok(plan) => {
            assert_eq!(check_plan(input, &plan), Ok(()), "{name} with {heuristic}");
            render(input, &plan)
        }
        Err(e) => vec![format!("error: {e}")],
    };
    assert_eq!(got, expect, "{name} with {heuristic}");
}

#[test]
fn data_driven_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/placement");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the placement cases in {}",
        dir.display()
    );
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let case: Case =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy();
        for h in case.heuristics.clone().unwrap_or(Heuristic::ALL.to_vec()) {
            check(&case.input, h, &case.expect, &name);
        }
    }
}

#[test]
fn every_reason_is_covered_by_a_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/placement");
    let all: String = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for needle in [
        "invalid request: zero demand",
        "overflows with dilation",
        "no machine has labels",
        "is schedulable",
        "anti-affinity group",
        "not enough",
        "error: duplicate machine",
        "error: duplicate request",
        "dimensions, expected",
    ] {
        assert!(
            all.contains(needle),
            "no data-driven case expects {needle:?}"
        );
    }
}

#[test]
fn reasons_serialize_with_a_kind_tag() {
    let reason = Reason::Insufficient {
        resource: "disk".into(),
        needed: 5,
        available: 3,
        machine: "m1".into(),
    };
    let json = serde_json::to_string(&reason).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"insufficient","resource":"disk","needed":5,"available":3,"machine":"m1"}"#
    );
    assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), reason);
}

fn machine(id: &str, capacity: Vec<u64>) -> Machine {
    Machine {
        id: id.into(),
        capacity,
        usage: vec![],
        labels: BTreeSet::new(),
        schedulable: true,
        groups: BTreeSet::new(),
    }
}

fn request(id: &str, demand: Vec<u64>) -> Request {
    Request {
        id: id.into(),
        demand,
        labels: BTreeSet::new(),
        anti_affinity: None,
        dilation: Dilation::NONE,
    }
}

#[test]
fn checker_rejects_broken_plans() {
    let mut input = PlacementInput {
        resources: Resources::new(["disk"]).unwrap(),
        machines: vec![machine("m1", vec![10]), machine("m2", vec![10])],
        requests: vec![request("a", vec![6]), request("b", vec![6])],
    };
    input.machines[1].labels.insert("ssd".into());
    let plan = place(&input, &Config::default()).unwrap();
    assert_eq!(check_plan(&input, &plan), Ok(()));

    let assign = |r: &str, m: &str, x: u64| Assignment {
        request: r.into(),
        machine: m.into(),
        reserved: vec![x],
    };
    let with = |assignments| Plan {
        assignments,
        unplaced: vec![],
    };
    assert_eq!(
        check_plan(
            &input,
            &with(vec![assign("a", "m1", 6), assign("b", "m1", 6)])
        ),
        Err(PlanViolation::Overcommit {
            machine: "m1".into(),
            resource: 0
        })
    );
    assert_eq!(
        check_plan(&input, &with(vec![assign("a", "m1", 6)])),
        Err(PlanViolation::Missing("b".into()))
    );
    assert_eq!(
        check_plan(
            &input,
            &with(vec![assign("a", "m1", 5), assign("b", "m2", 6)])
        ),
        Err(PlanViolation::WrongReservation("a".into()))
    );
    assert!(matches!(
        check_plan(
            &input,
            &with(vec![assign("a", "m3", 6), assign("b", "m2", 6)])
        ),
        Err(PlanViolation::BadMachine { .. })
    ));
    assert!(matches!(
        check_plan(
            &input,
            &with(vec![assign("a", "m1", 6), assign("a", "m2", 6)])
        ),
        Err(PlanViolation::Duplicate(_))
    ));
    // A request declared unplaceable while m2 still has room.
    let lying = Plan {
        assignments: vec![assign("a", "m1", 6)],
        unplaced: vec![horao_sched::placement::Unplaced {
            request: "b".into(),
            reason: Reason::NoMachineWithLabels { labels: vec![] },
        }],
    };
    assert!(matches!(
        check_plan(&input, &lying),
        Err(PlanViolation::WrongReason { .. })
    ));

    input.requests[1].labels.insert("hdd".into());
    assert!(matches!(
        check_plan(
            &input,
            &with(vec![assign("a", "m1", 6), assign("b", "m2", 6)])
        ),
        Err(PlanViolation::MissingLabel { .. })
    ));
    input.requests[1].labels.clear();
    input.machines[1].groups.insert("g".into());
    input.requests[1].anti_affinity = Some("g".into());
    assert!(matches!(
        check_plan(
            &input,
            &with(vec![assign("a", "m1", 6), assign("b", "m2", 6)])
        ),
        Err(PlanViolation::AntiAffinity { .. })
    ));
}

const LABELS: [&str; 3] = ["ssd", "zone=a", "gpu"];
const GROUPS: [&str; 2] = ["g1", "g2"];

fn label_set(bits: u8) -> BTreeSet<String> {
    (0..LABELS.len())
        .filter(|i| bits & (1 << i) != 0)
        .map(|i| LABELS[i].to_owned())
        .collect()
}

/// Random placement problems: 1–3 resources, up to 8 machines and 24 requests over a few
/// labels and groups, with usage (sometimes above capacity), dilation and zero demands.
#[allow(clippy::unwrap_used)] // The generated resource names are distinct by construction.
fn input() -> impl Strategy<Value = PlacementInput> {
    (1usize..=3).prop_flat_map(|d| {
        let m = (
            prop::collection::vec(0u64..=40, d),
            prop::collection::vec(0u64..=50, d),
            any::<u8>(),
            prop::bool::weighted(0.85),
            0u8..4,
        );
        let r = (
            prop::collection::vec(0u64..=15, d),
            0u8..8,
            0usize..4,
            prop_oneof![Just(0u32), 0u32..5000],
        );
        (
            prop::collection::vec(m, 1..=8),
            prop::collection::vec(r, 0..=24),
        )
            .prop_map(move |(ms, rs)| PlacementInput {
                resources: Resources::new((0..d).map(|i| format!("r{i}"))).unwrap(),
                machines: ms
                    .into_iter()
                    .enumerate()
                    .map(
                        |(i, (capacity, usage, labels, schedulable, groups))| Machine {
                            id: format!("m{i}"),
                            // A third of the machines start empty; the rest carry random usage.
                            usage: if labels % 3 == 0 { vec![] } else { usage },
                            capacity,
                            labels: label_set(labels & 0b11),
                            schedulable,
                            groups: label_groups(groups),
                        },
                    )
                    .collect(),
                requests: rs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (demand, labels, group, bp))| Request {
                        id: format!("r{i}"),
                        demand,
                        labels: label_set(labels & (labels >> 1)),
                        anti_affinity: GROUPS.get(group).map(|g| g.to_string()),
                        dilation: Dilation::from_basis_points(bp),
                    })
                    .collect(),
            })
    })
}

fn label_groups(bits: u8) -> BTreeSet<String> {
    (0..GROUPS.len())
        .filter(|i| bits & (1 << i) != 0)
        .map(|i| GROUPS[i].to_owned())
        .collect()
}

/// A brute-force rendition of the best-fit placement (FfdSum): same order, and for each
/// request the admitted machine with the least free amount of its dominant resource, found by
/// looking at every machine.
fn reference_ffd_sum(input: &PlacementInput) -> Vec<Option<String>> {
    let d = input.resources.len();
    let scale: Vec<f64> = (0..d)
        .map(|r| {
            let c = input
                .machines
                .iter()
                .map(|m| m.capacity[r])
                .max()
                .unwrap_or(0);
            if c == 0 { 0.0 } else { 1.0 / c as f64 }
        })
        .collect();
    let mut free: Vec<Vec<u64>> = input
        .machines
        .iter()
        .map(|m| {
            (0..d)
                .map(|r| m.capacity[r].saturating_sub(m.usage.get(r).copied().unwrap_or(0)))
                .collect()
        })
        .collect();
    let mut groups: Vec<BTreeSet<String>> =
        input.machines.iter().map(|m| m.groups.clone()).collect();
    let mut order: Vec<(f64, usize, Vec<u64>)> = Vec::new();
    for (i, r) in input.requests.iter().enumerate() {
        let Some(need) = r
            .demand
            .iter()
            .map(|&x| r.dilation.apply(x))
            .collect::<Option<Vec<u64>>>()
        else {
            continue;
        };
        if need.iter().all(|&x| x == 0) {
            continue;
        }
        let key: f64 = need.iter().zip(&scale).map(|(&s, &w)| s as f64 * w).sum();
        order.push((key, i, need));
    }
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = vec![None; input.requests.len()];
    for (_, i, need) in order {
        let r = &input.requests[i];
        let mut dom = (0, f64::NEG_INFINITY);
        for k in 0..d {
            let share = if need[k] > 0 && scale[k] == 0.0 {
                f64::INFINITY
            } else {
                need[k] as f64 * scale[k]
            };
            if share > dom.1 {
                dom = (k, share);
            }
        }
        let best = (0..input.machines.len())
            .filter(|&m| {
                let mm = &input.machines[m];
                mm.schedulable
                    && r.labels.is_subset(&mm.labels)
                    && !r
                        .anti_affinity
                        .as_ref()
                        .is_some_and(|g| groups[m].contains(g))
                    && (0..d).all(|k| need[k] <= free[m][k])
            })
            .min_by_key(|&m| (free[m][dom.0], m));
        if let Some(m) = best {
            for k in 0..d {
                free[m][k] -= need[k];
            }
            if let Some(g) = &r.anti_affinity {
                groups[m].insert(g.clone());
            }
            out[i] = Some(input.machines[m].id.clone());
        }
    }
    out
}

proptest! {
    #[test]
    fn every_plan_is_valid_and_deterministic(input in input()) {
        for heuristic in Heuristic::ALL {
            let config = Config { heuristic };
            let plan = place(&input, &config).unwrap();
            prop_assert_eq!(check_plan(&input, &plan), Ok(()), "{}", heuristic);
            prop_assert_eq!(
                plan.assignments.len() + plan.unplaced.len(),
                input.requests.len()
            );
            prop_assert_eq!(&place(&input, &config).unwrap(), &plan, "{}", heuristic);
            for u in &plan.unplaced {
                if let Reason::Insufficient { needed, available, .. } = &u.reason {
                    prop_assert!(needed > available, "{:?}", u);
                }
            }
        }
    }

    #[test]
    fn best_fit_index_agrees_with_brute_force(input in input()) {
        let plan = place(&input, &Config { heuristic: Heuristic::FfdSum }).unwrap();
        let got: Vec<Option<String>> = input
            .requests
            .iter()
            .map(|r| plan.assignments.iter().find(|a| a.request == r.id).map(|a| a.machine.clone()))
            .collect();
        prop_assert_eq!(got, reference_ffd_sum(&input));
    }

    #[test]
    fn a_second_batch_on_top_of_the_first_never_overcommits(input in input()) {
        // Feed the first plan back as usage and groups, then place the same requests again
        // under new ids: the combined load must still fit every machine.
        let plan = place(&input, &Config::default()).unwrap();
        let mut next = input.clone();
        let d = input.resources.len();
        for a in &plan.assignments {
            let m = next.machines.iter_mut().find(|m| m.id == a.machine).unwrap();
            if m.usage.is_empty() {
                m.usage = vec![0; d];
            }
            for (u, x) in m.usage.iter_mut().zip(&a.reserved) {
                *u += x;
            }
            let r = input.requests.iter().find(|r| r.id == a.request).unwrap();
            if let Some(g) = &r.anti_affinity {
                m.groups.insert(g.clone());
            }
        }
        for r in &mut next.requests {
            r.id.push_str("-again");
        }
        let second = place(&next, &Config::default()).unwrap();
        prop_assert_eq!(check_plan(&next, &second), Ok(()));
    }
}
