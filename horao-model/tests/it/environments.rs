//! Scenario tests of environments and resources: validation, the lifecycle table (every
//! illegal transition), the dependency graph (cycles refused, closures both ways), conflicts
//! after concurrent edits, and a convergence property over random histories. Larger
//! scenarios live under `testdata/environments/`.

use crate::support::history::{check_history, history};
use crate::support::transcript::{Clock, World, check, check_dir};
use crate::support::{cases, check_transitions};
use horao_model::environments::*;
use horao_model::model::Model;
use horao_model::storage::StateMachine;
use proptest::prelude::*;

#[test]
fn scenario_files() {
    check_dir("environments");
}

#[test]
fn inputs_are_validated() {
    let long = "d".repeat(MAX_DESCRIPTION_LEN + 1);
    check(&format!(
        "
        a env-create e1 => invalid environment.name: must not be empty
        a env-create e1 name=x tags=a,b_c => invalid tag: must not contain whitespace
        a env-create e1 name=x entry=http://a_b => invalid environment.entry_points: must not contain whitespace
        a env-create e1 name=x by=agent:m1 => environment e1: environment may not be written by agent:m1
        a res-create r1 name=x status=http://a_b => invalid resource.status_endpoints: must not contain whitespace
        a res-create bad/../id? name=x => invalid resource.id: contains '/'; only ASCII letters, digits, '-', '_' and '.' are allowed
        a res-create bad?id name=x => invalid resource.id: contains '?'; only ASCII letters, digits, '-', '_' and '.' are allowed
        a res-update r1 description=hello => resource r1 not found
        a res-create r1 name=x description={long} => invalid resource.description: is 4097 bytes long, at most 4096 allowed
        a env-create e1 name=x entry= => ok
        a res-create r1 name=x => ok
        a res-create r1 name=y => resource r1 already exists
        a dep-add r1 external: => invalid resource.dependencies: must be 1 to 2048 bytes
        a dep-add r1 r2 => resource r2 not found
        a dep-add r1 r1 => dependency cycle: r1 -> r1
        a dep-remove r1 r1 => dependency r1 -> r1 not found
        a res-update r1 description=hello => ok
        "
    ));
}

#[test]
fn every_environment_transition_follows_the_table() {
    let reach = |from| {
        let walk: &[&str] = match from {
            EnvironmentStatus::Deploying => &[],
            EnvironmentStatus::DeployedValidating => &["deployed_validating"],
            EnvironmentStatus::DeployedOk => &["deployed_validating", "deployed_ok"],
            EnvironmentStatus::DeployedFailed => &["deployed_validating", "deployed_failed"],
            EnvironmentStatus::Destroying => &["deployed_validating", "deployed_ok", "destroying"],
            EnvironmentStatus::Destroyed => &[
                "deployed_validating",
                "deployed_ok",
                "destroying",
                "destroyed",
            ],
        };
        let mut lines = vec!["a env-create e1 name=x => ok".to_string()];
        lines.extend(walk.iter().map(|s| format!("a env-status e1 {s} => ok")));
        lines.join("\n")
    };
    let e1 = EnvironmentId::new("e1").unwrap();
    let illegal = check_transitions(
        "e1",
        EnvironmentStatus::ALL,
        reach,
        |_, to| format!("env-status e1 {to}"),
        |m: &Model| m.environments.environment(&e1).map(Environment::status),
    );
    // 30 ordered pairs, 6 legal.
    assert_eq!(illegal, 24);
}

#[test]
fn cycle_errors_name_the_shortest_cycle() {
    const GRAPH: &str = "
    a res-create a name=a => ok
    a res-create b name=b => ok
    a res-create c name=c => ok
    a res-create d name=d => ok
    a dep-add a b => ok
    a dep-add b c => ok
    a dep-add c d => ok
    a dep-add b d => ok
    ";
    check(&format!(
        "{GRAPH}
        a dep-add d a => dependency cycle: d -> a -> b -> d
        a dep-add c a => dependency cycle: c -> a -> b -> c
        a show depends-on a => b,c,d
        a show dependents d => a,b,c
        a show depends-on zz => resource zz not found
        a dep-add d external:dns.example => ok
        a show depends-on a => b,c,d,external:dns.example
        "
    ));
}

#[test]
fn replicas_without_merges_never_hold_cycles() {
    // Exhaustively: every ordered triple of dependency additions among three resources on
    // one replica leaves the graph acyclic.
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                let mut w = World::default();
                for x in 0..3 {
                    assert_eq!(w.run("a", &format!("res-create r{x} name=r{x}")), "ok");
                }
                w.run("a", &format!("dep-add r{i} r{j}"));
                w.run("a", &format!("dep-add r{j} r{k}"));
                w.run("a", &format!("dep-add r{k} r{i}"));
                assert_eq!(w.run("a", "show conflicts"), "-");
                assert!(w.model("a").environments.cycles().is_empty());
            }
        }
    }
}

/// One random environment or resource operation, as a transcript command.
fn op() -> impl Strategy<Value = String> + Clone {
    let n = 0..5usize;
    prop_oneof![
        2 => n.clone().prop_map(|i| format!("res-create r{i} name=res_{i}")),
        1 => n.clone().prop_map(|i| format!("res-delete r{i}")),
        4 => (n.clone(), n.clone()).prop_map(|(a, b)| format!("dep-add r{a} r{b}")),
        1 => (n.clone(), n.clone()).prop_map(|(a, b)| format!("dep-remove r{a} r{b}")),
        1 => (n.clone(), prop::collection::vec(0..4usize, 0..3)).prop_map(|(a, t)| {
            let tags: Vec<String> = t.iter().map(|x| format!("t{x}")).collect();
            format!("res-update r{a} tags={}", tags.join(","))
        }),
        1 => (0..2usize).prop_map(|e| format!("env-create e{e} name=env")),
        1 => (0..2usize, n.clone()).prop_map(|(e, i)| format!("env-add e{e} r{i}")),
        1 => (0..2usize, n).prop_map(|(e, i)| format!("env-remove e{e} r{i}")),
    ]
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn histories_converge_with_identical_conflicts(h in history(op(), 60)) {
        let clock = Clock { epoch_ms: 10, tick_ms: 1, period: Some(5) };
        check_history("", clock, &h)?;
    }
}
