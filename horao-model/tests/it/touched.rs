//! `Model::touched` names every entity a delta changes (report-only deltas included), and
//! agents' usage reports below the report step replicate nothing.

use horao_crdt::{Replica, ReplicaId, Timestamp};
use horao_model::model::{EntityKind, Model, Touched};
use horao_model::storage::{
    MachineReport, MachineSpec, MachineState, Permissions, VolumeReport, VolumeSpec, VolumeState,
};
use horao_model::{Actor, Label};

fn ts(i: u64) -> Timestamp {
    Timestamp::new(1_000 + i, 0).unwrap()
}

fn touched(kind: EntityKind, id: &str) -> Touched {
    Touched {
        kind,
        id: id.to_string(),
    }
}

/// A replica with machine `m1` (ready, 1 MB) and volume `v1` placed on it.
fn storage_world() -> Replica<Model> {
    let mut r: Replica<Model> = Replica::new(ReplicaId(1));
    let m1 = "m1".parse().unwrap();
    let agent = Actor::Agent("m1".parse().unwrap());
    let spec = MachineSpec {
        labels: vec![Label::new("ssd").unwrap()],
        device: None,
    };
    let report = MachineReport {
        state: MachineState::Ready,
        capacity_bytes: 1_000_000,
        used_bytes: 0,
        orphans: Vec::new(),
    };
    r.try_mutate(|m, tx| m.put_machine(&agent, &m1, spec, Some(report), ts(0), tx))
        .unwrap();
    let v = VolumeSpec {
        name: "data".parse().unwrap(),
        size_bytes: 10_000,
        dilation_percent: 0,
        permissions: Permissions::default(),
        labels: vec![],
        require_labels: vec![Label::new("ssd").unwrap()],
        tenant: None,
    };
    let v1 = "v1".parse().unwrap();
    r.try_mutate(|m, tx| m.create_and_place_volume(&Actor::Server, &v1, v, None, 0, ts(1), tx))
        .unwrap();
    r
}

#[test]
fn a_delta_names_what_it_touches() {
    let mut r = storage_world();
    let v1 = "v1".parse().unwrap();
    assert_eq!(
        r.state().storage.volume(&v1).unwrap().assigned()[0].as_str(),
        "m1"
    );
    let agent = Actor::Agent("m1".parse().unwrap());
    let report = VolumeReport::new(VolumeState::Ready, 100, true);
    let d = r
        .try_mutate(|m, tx| m.report_volume(&agent, &v1, report, ts(2), tx))
        .unwrap();
    assert_eq!(d.store.touched(), vec![touched(EntityKind::Volume, "v1")]);
    // A purge names the volume it removes; a datacenter and a volume in one merged delta
    // name both, sorted by kind.
    let dc = "dc-1".parse().unwrap();
    let info = horao_model::physical::DatacenterInfo {
        name: "one".into(),
        site: String::new(),
    };
    let a = r
        .try_mutate(|m, tx| m.create_datacenter(&Actor::User, &dc, info, &[], ts(3), tx))
        .unwrap();
    let mut both = a.clone();
    both.combine(d);
    assert_eq!(
        both.store.touched(),
        vec![
            touched(EntityKind::Datacenter, "dc-1"),
            touched(EntityKind::Volume, "v1")
        ]
    );
    let gone = r
        .try_mutate(|m, tx| m.delete_datacenter(&Actor::User, &dc, tx))
        .unwrap();
    assert_eq!(
        gone.store.touched(),
        vec![touched(EntityKind::Datacenter, "dc-1")]
    );
    assert!(Model::default().touched().is_empty());
}

#[test]
fn small_usage_changes_replicate_nothing() {
    let mut r = storage_world();
    let v1 = "v1".parse().unwrap();
    let m1 = "m1".parse().unwrap();
    let agent = Actor::Agent("m1".parse().unwrap());
    let mut report = VolumeReport::new(VolumeState::Ready, 1_000, true);
    report.limit_bytes = 10_000;
    let first = r
        .try_mutate(|m, tx| m.report_volume(&agent, &v1, report.clone(), ts(2), tx))
        .unwrap();
    assert!(!first.is_empty());
    // 99 bytes of a 10,000-byte limit is below the 1% step; 100 is not.
    for (used, replicated) in [(1_099, false), (1_100, true), (1_150, false)] {
        report.used_bytes = used;
        let d = r
            .try_mutate(|m, tx| m.report_volume(&agent, &v1, report.clone(), ts(used), tx))
            .unwrap();
        assert_eq!(!d.is_empty(), replicated, "used {used}");
    }
    // A changed state always replicates, whatever the usage.
    report.state = VolumeState::Failed;
    report.reason = "io error".into();
    let d = r
        .try_mutate(|m, tx| m.report_volume(&agent, &v1, report.clone(), ts(9), tx))
        .unwrap();
    assert!(!d.is_empty());
    // The machine: 1% of its 1,000,000-byte capacity.
    for (used, replicated) in [(9_999, false), (10_000, true)] {
        let mr = MachineReport {
            state: MachineState::Ready,
            capacity_bytes: 1_000_000,
            used_bytes: used,
            orphans: Vec::new(),
        };
        let d = r
            .try_mutate(|m, tx| m.report_machine(&agent, &m1, mr, ts(20 + used), tx))
            .unwrap();
        assert_eq!(!d.is_empty(), replicated, "machine used {used}");
    }
    // Orphans and nested subvolumes replicate whenever they change, whatever the usage.
    let mut mr = MachineReport {
        state: MachineState::Ready,
        capacity_bytes: 1_000_000,
        used_bytes: 10_001,
        orphans: vec!["stray".into()],
    };
    for (orphans, replicated) in [
        (vec!["stray"], true),
        (vec!["stray"], false),
        (vec![], true),
    ] {
        mr.orphans = orphans.into_iter().map(String::from).collect();
        let d = r
            .try_mutate(|m, tx| m.report_machine(&agent, &m1, mr.clone(), ts(40), tx))
            .unwrap();
        assert_eq!(!d.is_empty(), replicated, "orphans {:?}", mr.orphans);
    }
    report.nested = vec!["inner".into()];
    let d = r
        .try_mutate(|m, tx| m.report_volume(&agent, &v1, report.clone(), ts(50), tx))
        .unwrap();
    assert!(!d.is_empty(), "a nested subvolume replicates");
    let again = r
        .try_mutate(|m, tx| m.report_volume(&agent, &v1, report.clone(), ts(51), tx))
        .unwrap();
    assert!(again.is_empty(), "the same report does not");
}
