//! Scenario tests of environments and resources: validation, the lifecycle table (every
//! illegal transition), the dependency graph (cycles refused, closures both ways), conflicts
//! after concurrent edits, and a convergence property over random histories.
//!
//! Scenarios are lines `<replica> <command> <args…> => <expected>` (see `testdata/
//! environments/`); [`check`] runs small inline cases through the same interpreter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use horao_crdt::{Answer, Causal, Replica, ReplicaId, Timestamp, Tx};
use horao_model::Result;
use horao_model::environments::*;
use horao_model::lifecycle::StateMachine;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Default)]
struct World {
    replicas: BTreeMap<String, Replica<Environments>>,
    step: u64,
}

fn rid(s: &str) -> ResourceId {
    ResourceId::new(s).unwrap()
}
fn eid(s: &str) -> EnvironmentId {
    EnvironmentId::new(s).unwrap()
}
fn dep(s: &str) -> Dependency {
    match s.strip_prefix("external:") {
        Some(e) => Dependency::External(e.to_string()),
        None => Dependency::Resource(rid(s)),
    }
}
fn join<T: ToString>(it: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = it.into_iter().map(|x| x.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

fn push(from: &Replica<Environments>, to: &mut Replica<Environments>) {
    match from.answer(to.ctx()) {
        Answer::UpToDate => {}
        Answer::Deltas(d) => {
            to.apply(d);
        }
        Answer::Full(s) => {
            to.merge(s);
        }
    }
}

/// `key=value` arguments; lists are comma separated, `_` stands for a space in text.
fn kv<'a>(words: &[&'a str]) -> BTreeMap<&'a str, String> {
    words
        .iter()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k, v.replace('_', " ")))
        .collect()
}
fn list(v: Option<&String>) -> Option<Vec<String>> {
    v.map(|s| {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
}

fn describe(c: &EnvironmentConflict) -> String {
    match c {
        EnvironmentConflict::DependencyCycle { cycle } => format!(
            "cycle {}",
            cycle
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(">")
        ),
        EnvironmentConflict::MissingDependency {
            resource,
            dependency,
        } => format!("missing-dependency {resource}>{dependency}"),
        EnvironmentConflict::MissingResource {
            environment,
            resource,
        } => format!("missing-resource {environment}/{resource}"),
        EnvironmentConflict::Fragment { kind, id } => format!("fragment {kind} {id}"),
    }
}

fn query(s: &Environments, cmd: &str, args: &[&str]) -> Option<String> {
    Some(match cmd {
        "env" => match s.environment(&eid(args[0])) {
            None => "absent".into(),
            Some(e) => {
                let d = e.described().unwrap();
                format!(
                    "name={} description={} status={} tags={} entry={} status-endpoints={} resources={}",
                    d.name,
                    d.description,
                    e.status(),
                    join(e.tags()),
                    join(e.entry_points()),
                    join(e.status_endpoints()),
                    join(e.resources()),
                )
            }
        },
        "res" => match s.resource(&rid(args[0])) {
            None => "absent".into(),
            Some(r) => {
                let d = r.described().unwrap();
                format!(
                    "name={} description={} tags={} status-endpoints={} deps={}",
                    d.name,
                    d.description,
                    join(r.tags()),
                    join(r.status_endpoints()),
                    join(r.dependencies()),
                )
            }
        },
        "depends-on" => match s.depends_on(&rid(args[0])) {
            Ok(d) => join(d),
            Err(e) => e.to_string(),
        },
        "dependents" => join(s.dependents(&dep(args[0]))),
        "conflicts" => {
            let c = s.conflicts();
            if c.is_empty() {
                "-".into()
            } else {
                c.iter().map(describe).collect::<Vec<_>>().join("; ")
            }
        }
        "search" => {
            let hits = horao_model::search::search(&args.join(" "), &[s], 10);
            join(
                hits.iter()
                    .map(|h| format!("{}:{}:{}", h.kind, h.id, h.score)),
            )
        }
        _ => return None,
    })
}

fn mutate(
    s: &Environments,
    cmd: &str,
    args: &[&str],
    ts: Timestamp,
    tx: &mut Tx,
) -> Result<Environments> {
    let a = kv(args);
    let env_input = || EnvironmentInput {
        name: a.get("name").cloned(),
        description: a.get("description").cloned(),
        tags: list(a.get("tags")),
        entry_points: list(a.get("entry")),
        status_endpoints: list(a.get("status")),
    };
    let res_input = || ResourceInput {
        name: a.get("name").cloned(),
        description: a.get("description").cloned(),
        tags: list(a.get("tags")),
        status_endpoints: list(a.get("status")),
    };
    match cmd {
        "env-create" => s.create_environment(&EnvironmentId::new(args[0])?, env_input(), ts, tx),
        "env-update" => s.update_environment(&eid(args[0]), env_input(), ts, tx),
        "env-status" => {
            let to = EnvironmentStatus::parse(args[1]).unwrap();
            s.set_environment_status(&eid(args[0]), to, ts, tx)
        }
        "env-delete" => s.delete_environment(&eid(args[0]), tx),
        "env-add" => s.add_environment_resource(&eid(args[0]), &rid(args[1]), tx),
        "env-remove" => s.remove_environment_resource(&eid(args[0]), &rid(args[1]), tx),
        "res-create" => s.create_resource(&ResourceId::new(args[0])?, res_input(), ts, tx),
        "res-update" => s.update_resource(&rid(args[0]), res_input(), ts, tx),
        "res-delete" => s.delete_resource(&rid(args[0]), tx),
        "dep-add" => s.add_dependency(&rid(args[0]), dep(args[1]), tx),
        "dep-remove" => s.remove_dependency(&rid(args[0]), &dep(args[1]), tx),
        other => panic!("unknown command {other}"),
    }
}

impl World {
    fn replica(&mut self, name: &str) -> &mut Replica<Environments> {
        let n = u64::try_from(self.replicas.len()).unwrap() + 1;
        self.replicas
            .entry(name.to_string())
            .or_insert_with(|| Replica::new(ReplicaId(n)))
    }

    fn run(&mut self, line: &str) -> String {
        self.step += 1;
        let ts = Timestamp::new(1_000 + self.step, 0).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if words[0] == "sync" {
            for _ in 0..2 {
                for x in &words[1..] {
                    for y in &words[1..] {
                        if x != y {
                            let from = self.replica(x).clone();
                            push(&from, self.replica(y));
                        }
                    }
                }
            }
            return "ok".into();
        }
        let (who, cmd, args) = (words[0], words[1], &words[2..]);
        let r = self.replica(who);
        if let Some(out) = query(r.state(), cmd, args) {
            return out;
        }
        match r.try_mutate(|s, tx| mutate(s, cmd, args, ts, tx)) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }
}

fn run_script(script: &str) -> (String, String) {
    let mut w = World::default();
    let (mut want, mut got) = (String::new(), String::new());
    for line in script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (cmd, expect) = line
            .split_once("=>")
            .unwrap_or_else(|| panic!("no `=>`: {line}"));
        let out = w.run(cmd.trim());
        writeln!(want, "{} => {}", cmd.trim(), expect.trim()).unwrap();
        writeln!(got, "{} => {}", cmd.trim(), out).unwrap();
    }
    (want, got)
}

fn check(setup: &[&str], input: &str, expect: &str) {
    let mut w = World::default();
    for l in setup {
        assert_eq!(w.run(l), "ok", "setup {l}");
    }
    assert_eq!(w.run(input), expect, "input {input}");
}

#[test]
fn scenario_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/environments");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "scenario files missing");
    for f in files {
        let (want, got) = run_script(&std::fs::read_to_string(&f).unwrap());
        assert_eq!(got, want, "scenario {}", f.display());
    }
}

#[test]
fn inputs_are_validated() {
    check(
        &[],
        "a env-create e1",
        "invalid environment.name: must not be empty",
    );
    check(
        &[],
        "a env-create e1 name=x tags=a,b_c",
        "invalid tag: must not contain whitespace",
    );
    check(&[], "a env-create e1 name=x entry=", "ok");
    check(
        &[],
        "a env-create e1 name=x entry=http://a_b",
        "invalid environment.entry_points: must not contain whitespace",
    );
    check(
        &[],
        "a res-create r1 name=x status=http://a_b",
        "invalid resource.status_endpoints: must not contain whitespace",
    );
    check(
        &[],
        "a res-create bad/../id? name=x",
        "invalid resource.id: character '?' not allowed (use letters, digits and . _ - : /)",
    );
    check(
        &["a res-create r1 name=x"],
        "a res-create r1 name=y",
        "resource r1 already exists",
    );
    check(
        &["a res-create r1 name=x"],
        "a dep-add r1 external:",
        "invalid resource.dependencies: must be 1 to 2048 bytes",
    );
    check(
        &["a res-create r1 name=x"],
        "a dep-add r1 r2",
        "resource r2 not found",
    );
    check(
        &["a res-create r1 name=x"],
        "a dep-add r1 r1",
        "dependency cycle: r1 -> r1",
    );
    check(
        &["a res-create r1 name=x"],
        "a dep-remove r1 r1",
        "dependency r1 -> r1 not found",
    );
    check(
        &["a res-create r1 name=x"],
        "a res-update r1 description=hello",
        "ok",
    );
    check(
        &[],
        "a res-update r1 description=hello",
        "resource r1 not found",
    );
    let long = format!(
        "a res-create r1 name=x description={}",
        "d".repeat(MAX_DESCRIPTION_LEN + 1)
    );
    check(
        &[],
        &long,
        "invalid resource.description: longer than 4096 bytes",
    );
}

#[test]
fn every_environment_transition_follows_the_table() {
    let walk = |to: EnvironmentStatus| -> Vec<&'static str> {
        match to {
            EnvironmentStatus::Deploying => vec![],
            EnvironmentStatus::DeployedValidating => vec!["deployed-validating"],
            EnvironmentStatus::DeployedOk => vec!["deployed-validating", "deployed-ok"],
            EnvironmentStatus::DeployedFailed => vec!["deployed-validating", "deployed-failed"],
            EnvironmentStatus::Destroying => {
                vec!["deployed-validating", "deployed-ok", "destroying"]
            }
            EnvironmentStatus::Destroyed => vec![
                "deployed-validating",
                "deployed-ok",
                "destroying",
                "destroyed",
            ],
        }
    };
    let mut illegal = 0;
    for &from in EnvironmentStatus::ALL {
        for &to in EnvironmentStatus::ALL {
            if from == to {
                continue;
            }
            let mut w = World::default();
            assert_eq!(w.run("a env-create e1 name=x"), "ok");
            for s in walk(from) {
                assert_eq!(w.run(&format!("a env-status e1 {s}")), "ok");
            }
            let out = w.run(&format!("a env-status e1 {to}"));
            if from.next().contains(&to) {
                assert_eq!(out, "ok");
            } else {
                illegal += 1;
                assert_eq!(
                    out,
                    format!("environment e1: illegal transition from {from} to {to}")
                );
            }
        }
    }
    // 30 ordered pairs, 6 legal.
    assert_eq!(illegal, 24);
}

#[test]
fn cycle_errors_name_the_shortest_cycle() {
    let setup = [
        "a res-create a name=a",
        "a res-create b name=b",
        "a res-create c name=c",
        "a res-create d name=d",
        "a dep-add a b",
        "a dep-add b c",
        "a dep-add c d",
        "a dep-add b d",
    ];
    check(
        &setup,
        "a dep-add d a",
        "dependency cycle: d -> a -> b -> d",
    );
    check(
        &setup,
        "a dep-add c a",
        "dependency cycle: c -> a -> b -> c",
    );
    check(&setup, "a dep-add d external:dns.example", "ok");
    check(&setup, "a depends-on a", "b,c,d");
    check(&setup, "a dependents d", "a,b,c");
    check(&setup, "a depends-on zz", "resource zz not found");
}

// Random histories of resource and dependency edits converge, and the conflict report
// (cycles included) is the same on every replica.

#[derive(Clone, Debug)]
enum Op {
    Create(usize),
    Delete(usize),
    AddDep(usize, usize),
    RemoveDep(usize, usize),
    Tags(usize, Vec<usize>),
    Env(usize, usize, bool),
}

fn r(i: usize) -> ResourceId {
    rid(&format!("r{i}"))
}

fn apply(s: &Environments, op: &Op, ts: Timestamp, tx: &mut Tx) -> Result<Environments> {
    match op {
        Op::Create(i) => s.create_resource(
            &r(*i),
            ResourceInput {
                name: Some(format!("res {i}")),
                ..Default::default()
            },
            ts,
            tx,
        ),
        Op::Delete(i) => s.delete_resource(&r(*i), tx),
        Op::AddDep(i, j) => s.add_dependency(&r(*i), Dependency::Resource(r(*j)), tx),
        Op::RemoveDep(i, j) => s.remove_dependency(&r(*i), &Dependency::Resource(r(*j)), tx),
        Op::Tags(i, t) => {
            let tags = t.iter().map(|x| format!("t{x}")).collect();
            s.update_resource(
                &r(*i),
                ResourceInput {
                    tags: Some(tags),
                    ..Default::default()
                },
                ts,
                tx,
            )
        }
        Op::Env(e, i, add) => {
            let e = eid(&format!("e{e}"));
            if s.environment(&e).is_none() {
                return s.create_environment(
                    &e,
                    EnvironmentInput {
                        name: Some("env".into()),
                        ..Default::default()
                    },
                    ts,
                    tx,
                );
            }
            if *add {
                s.add_environment_resource(&e, &r(*i), tx)
            } else {
                s.remove_environment_resource(&e, &r(*i), tx)
            }
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..5usize;
    prop_oneof![
        2 => n.clone().prop_map(Op::Create),
        1 => n.clone().prop_map(Op::Delete),
        4 => (n.clone(), n.clone()).prop_map(|(a, b)| Op::AddDep(a, b)),
        1 => (n.clone(), n.clone()).prop_map(|(a, b)| Op::RemoveDep(a, b)),
        1 => (n.clone(), prop::collection::vec(0..4usize, 0..3)).prop_map(|(a, b)| Op::Tags(a, b)),
        1 => (0..2usize, n, any::<bool>()).prop_map(|(a, b, c)| Op::Env(a, b, c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn histories_converge_with_identical_conflicts(
        (n, steps, shuffle) in (2..=5usize).prop_flat_map(|n| (
            Just(n),
            prop::collection::vec((0..n, op(), 0..n, prop::bool::weighted(0.2)), 1..60),
            prop::collection::vec(any::<u32>(), 0..300),
        ))
    ) {
        let mut rs: Vec<Replica<Environments>> = (0..n).map(|i| Replica::new(ReplicaId(i as u64 + 1))).collect();
        let mut deltas: Vec<Causal<Environments>> = Vec::new();
        for (t, (at, o, to, sync)) in steps.iter().enumerate() {
            let ts = Timestamp::new(10 + t as u64 % 5, 0).unwrap();
            if let Ok(d) = rs[*at].try_mutate(|s, tx| apply(s, o, ts, tx)) {
                // A single replica never holds a cycle it created itself.
                prop_assert!(rs[*at].state().cycles().is_empty() || !deltas.is_empty());
                deltas.push(d);
            }
            if *sync && at != to {
                let from = rs[*at].clone();
                push(&from, &mut rs[*to]);
            }
        }
        for _ in 0..2 {
            for a in 0..n {
                for b in 0..n {
                    if a != b {
                        let from = rs[a].clone();
                        push(&from, &mut rs[b]);
                    }
                }
            }
        }
        let conflicts = rs[0].state().conflicts();
        for x in &rs[1..] {
            prop_assert_eq!(x.causal(), rs[0].causal());
            prop_assert_eq!(x.state().conflicts(), conflicts.clone());
        }
        let mut order: Vec<usize> = (0..deltas.len()).collect();
        for (i, x) in shuffle.iter().enumerate() {
            if order.is_empty() { break; }
            let len = order.len();
            order.swap(i % len, *x as usize % len);
        }
        let mut fresh: Causal<Environments> = Causal::default();
        for &i in &order {
            fresh.apply(deltas[i].clone());
        }
        prop_assert_eq!(&fresh, rs[0].causal());
        prop_assert_eq!(fresh.store.conflicts(), conflicts);
    }
}

#[test]
fn replicas_without_merges_never_hold_cycles() {
    // Exhaustively: every ordered pair of dependency additions among three resources on one
    // replica leaves the graph acyclic.
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                let mut w = World::default();
                for x in 0..3 {
                    w.run(&format!("a res-create r{x} name=r{x}"));
                }
                w.run(&format!("a dep-add r{i} r{j}"));
                w.run(&format!("a dep-add r{j} r{k}"));
                w.run(&format!("a dep-add r{k} r{i}"));
                assert_eq!(w.run("a conflicts"), "-");
            }
        }
    }
}
