//! Scenario tests of storage: machines, volumes, images and instances, their state machines
//! (every illegal transition), writer checks and concurrent placement. Larger scenarios live
//! under `testdata/storage/`; the stored shape is pinned in `formats`.

use crate::support::check_transitions;
use crate::support::transcript::{World, check, check_after, check_dir, desired_path};
use horao_crdt::{Replica, ReplicaId, Timestamp};
use horao_model::ids::VolumeName;
use horao_model::model::Model;
use horao_model::storage::*;
use horao_model::{Actor, Error};

/// A machine registered with two labels.
const REGISTERED: &str = "a machine-register m1 labels=ssd,zone-a => ok";
/// That machine reported ready by its agent.
const READY: &str = "
a machine-register m1 labels=ssd,zone-a => ok
a machine-report m1 state=ready capacity=10000 used=0 by=agent:m1 => ok
";

#[test]
fn scenario_files() {
    check_dir("storage");
}

#[test]
fn machines_validate_their_writers() {
    check(
        "
        a machine-register m1 by=agent:m2 => machine m1: machine.spec may not be written by agent:m2
        a machine-register bad!id => invalid machine.id: contains '!'; only ASCII letters, digits, '-', '_' and '.' are allowed
        a machine-register m1:a => invalid machine.id: contains ':'; only ASCII letters, digits, '-', '_' and '.' are allowed
        a machine-register .m1 => invalid machine.id: must not start with '.'
        a machine-state m9 ready => machine m9 not found
        ",
    );
    check_after(
        REGISTERED,
        "
        a machine-register m1 => machine m1 already exists
        a machine-report m1 state=ready capacity=10 used=0 by=user => machine m1: machine.current may not be written by user
        a machine-report m1 state=ready capacity=10 used=0 by=server => machine m1: machine.current may not be written by server
        a machine-report m1 state=ready capacity=10 used=0 by=agent:m2 => machine m1: machine.current may not be written by agent:m2
        a machine-report m1 state=ready capacity=10 used=11 by=agent:m1 => invalid machine.used_bytes: 11 exceeds capacity 10
        a machine-state m1 maintenance by=agent:m1 => machine m1: machine.desired may not be written by agent:m1
        ",
    );
    check_after(
        READY,
        "
        a show machine m1 => desired=provisioning current=ready capacity=10000 used=0 labels=ssd,zone-a reserved=0
        ",
    );
}

#[test]
fn volumes_validate_their_fields() {
    check(
        "
        a volume-create v1 size=0 dilation=0 => invalid volume.size_bytes: must be at least 1
        a volume-create v1 size=1 dilation=1001 => invalid volume.dilation_percent: 1001 exceeds 1000
        a volume-create v1 size=18446744073709551615 dilation=1 => invalid volume.dilation_percent: quota overflows 64 bits
        a volume-create v1 size=1 dilation=0 mode=17777 => invalid volume.permissions.mode: 17777 exceeds 7777
        a volume-create v1 size=1 dilation=0 by=agent:m1 => volume v1: volume.spec may not be written by agent:m1
        a volume-create v1 size=1 dilation=0 image=nope => image nope not found
        a volume-create v1/a size=1 dilation=0 => invalid volume.id: contains '/'; only ASCII letters, digits, '-', '_' and '.' are allowed
        a volume-create v1 size=1 require=zone= => invalid label: the value must not be empty
        a volume-create v1 size=18446744073709551615 dilation=0 => ok
        a volume-create v1 size=1 dilation=0 => volume v1 already exists
        ",
    );
    check(
        "
        a volume-create v1 size=100 dilation=10 => ok
        a show volume v1 => desired=scheduling op=- assigned=- current=- init=false used=- size=100 quota=110 source=-
        a volume-create v2 size=3 dilation=33 => ok
        a show volume v2 => desired=scheduling op=- assigned=- current=- init=false used=- size=3 quota=4 source=-
        ",
    );
}

#[test]
fn quota_is_size_times_one_plus_dilation_without_overflow() {
    assert_eq!(quota_bytes(100, 10), Some(110));
    assert_eq!(quota_bytes(1, 1), Some(2)); // rounded up: headroom is never lost
    assert_eq!(quota_bytes(1000, 0), Some(1000));
    assert_eq!(quota_bytes(u64::MAX, 0), Some(u64::MAX));
    assert_eq!(quota_bytes(u64::MAX, 1), None);
    assert_eq!(quota_bytes(u64::MAX / 11, 1000), Some(u64::MAX / 11 * 11));
}

#[test]
fn placed_volumes_are_frozen_and_checked() {
    let unplaced = format!("{READY}\na volume-create v1 size=100 dilation=10 require=ssd => ok");
    check_after(
        &unplaced,
        "
        a volume-assign v1 m1 by=agent:m1 => volume v1: volume.assignment may not be written by agent:m1
        a volume-assign v1 m9 => machine m9 not found
        a volume-spec v1 size=200 dilation=0 => ok
        ",
    );
    check_after(
        &unplaced,
        "
        a volume-assign v1 m1 by=server => ok
        a volume-spec v1 size=200 dilation=0 => volume v1: volume.spec is immutable: the volume is placed; resize, clone or move it instead
        a volume-assign v1 m1 => volume v1: volume.assignment is immutable: already assigned to m1; move it instead
        a volume-report v1 state=ready by=agent:m2 => volume v1: volume.current may not be written by agent:m2
        a volume-report v1 state=ready by=user => volume v1: volume.current may not be written by user
        a volume-state v1 pending by=agent:m1 => volume v1: volume.desired may not be written by agent:m1
        a volume-state v1 resizing => volume v1: illegal transition from ready to resizing
        ",
    );
}

/// `v1`'s id.
fn v1() -> VolumeId {
    VolumeId::new("v1").unwrap()
}

/// The states a volume's desired side can be in (`rejected` and `failed` are only reported).
const DESIRED: [VolumeState; 8] = [
    VolumeState::Scheduling,
    VolumeState::Ready,
    VolumeState::Pending,
    VolumeState::Resizing,
    VolumeState::Moving,
    VolumeState::Cloning,
    VolumeState::Deleting,
    VolumeState::Gone,
];

#[test]
fn every_desired_volume_transition_follows_the_table() {
    // Two steps wait for the agents: a volume goes back to scheduling only once its agent
    // rejected it, and a move ends only once the destination's agent reported it ready.
    let reach = |from| {
        let gate = match from {
            VolumeState::Ready => {
                "\na volume-report v1 state=rejected reason=full by=agent:m1 => ok"
            }
            VolumeState::Moving => "\na volume-report v1 state=ready by=agent:m2 => ok",
            _ => "",
        };
        format!("{}{gate}", desired_path(from))
    };
    let request = |from, to| match to {
        VolumeState::Ready if from == VolumeState::Scheduling => "volume-assign v1 m1".into(),
        VolumeState::Resizing => "volume-resize v1 size=30 dilation=0".into(),
        VolumeState::Moving => "volume-move v1 m2".into(),
        VolumeState::Cloning => "volume-clone v1 v3 size=10 dilation=0".into(),
        other => format!("volume-state v1 {other}"),
    };
    let illegal = check_transitions("v1", &DESIRED, reach, request, |m: &Model| {
        m.storage.volume(&v1()).map(Volume::desired_state)
    });
    // 8 states to 9 others, 16 legal.
    assert_eq!(illegal, 8 * 9 - 16);
}

#[test]
fn steps_that_wait_for_an_agent_are_refused_until_it_reported() {
    let ready = desired_path(VolumeState::Ready);
    check_after(
        &ready,
        "
        a volume-state v1 scheduling => volume v1: illegal transition from ready (only a volume its agent rejected is re-placed) to scheduling
        a volume-report v1 state=rejected reason=no_room by=agent:m1 => ok
        a show volume v1 => desired=ready op=- assigned=m1 current=rejected@m1(no room) init=false used=0 size=10 quota=10 source=-
        a volume-state v1 scheduling => ok
        a show volume v1 => desired=scheduling op=- assigned=- current=rejected@m1(no room) init=false used=0 size=10 quota=10 source=-
        ",
    );
    check_after(
        &desired_path(VolumeState::Moving),
        "
        a volume-state v1 ready => volume v1: illegal transition from moving (m2's agent has not reported it ready) to ready
        a volume-report v1 state=moving by=agent:m2 => ok
        a volume-state v1 ready => volume v1: illegal transition from moving (m2's agent has not reported it ready) to ready
        a volume-report v1 state=ready by=agent:m2 => ok
        a volume-state v1 ready => ok
        a show volume v1 => desired=ready op=- assigned=m2 current=ready@m2 init=false used=0 size=10 quota=10 source=-
        ",
    );
    check_after(
        &ready,
        "
        a volume-state v1 deleting => ok
        a volume-state v1 gone => volume v1: illegal transition from deleting (the agent has not reported it gone) to gone
        a volume-report v1 state=deleting by=agent:m1 => ok
        a volume-state v1 gone => volume v1: illegal transition from deleting (the agent has not reported it gone) to gone
        a volume-report v1 state=gone by=agent:m1 => ok
        a volume-state v1 gone => ok
        a volume-purge v1 => ok
        ",
    );
}

#[test]
fn an_agent_reports_any_state_it_sees_but_nothing_after_gone() {
    let mut refused = 0;
    for &from in VolumeState::ALL.iter().filter(|s| s.is_reported()) {
        for &to in VolumeState::ALL.iter().filter(|&&s| s != from) {
            let mut w = World::default();
            w.script(&desired_path(VolumeState::Ready)).unwrap();
            let report =
                |s: VolumeState| format!("volume-report v1 state={s} reason=why by=agent:m1");
            assert_eq!(w.run("a", &report(from)), "ok", "{from}");
            let out = w.run("a", &report(to));
            let expected = if !to.is_reported() {
                format!("invalid volume.current.state: {to} is not a state an agent reports")
            } else if from == VolumeState::Gone {
                format!("volume v1: illegal transition from gone to {to}")
            } else {
                "ok".into()
            };
            assert_eq!(out, expected, "{from} -> {to}");
            if out == "ok" {
                let current = w
                    .model("a")
                    .storage
                    .volume(&v1())
                    .map(Volume::current_state);
                assert_eq!(current, Some(to));
            } else {
                refused += 1;
            }
        }
    }
    // 8 reported states to 9 others: the 2 desired-only states are never reported, and
    // nothing follows gone.
    assert_eq!(refused, 8 * 2 + 7);
}

#[test]
fn every_machine_transition_follows_the_table() {
    let m1 = MachineId::new("m1").unwrap();
    // Requests of users (desired state) and reports of the machine's agent (current state).
    let desired = |s: MachineState| format!("machine-state m1 {s}");
    let current = |s: MachineState| format!("machine-report m1 state={s} capacity=1 by=agent:m1");
    let mut illegal = 0;
    for (request, read) in [
        (
            &desired as &dyn Fn(MachineState) -> String,
            Machine::desired_state as fn(&Machine) -> MachineState,
        ),
        (&current, Machine::current_state),
    ] {
        let reach = |from| {
            let walk: &[MachineState] = match from {
                MachineState::Provisioning => &[],
                MachineState::Ready => &[MachineState::Ready],
                MachineState::Maintenance => &[MachineState::Ready, MachineState::Maintenance],
                MachineState::Retired => &[
                    MachineState::Ready,
                    MachineState::Maintenance,
                    MachineState::Retired,
                ],
            };
            let mut lines = vec!["a machine-register m1 => ok".to_string()];
            lines.extend(walk.iter().map(|&s| format!("a {} => ok", request(s))));
            lines.join("\n")
        };
        illegal += check_transitions(
            "m1",
            MachineState::ALL,
            reach,
            |_, to| request(to),
            |m: &Model| m.storage.machine(&m1).map(read),
        );
    }
    // 12 ordered pairs, 4 legal, each tried on desired and current.
    assert_eq!(illegal, 2 * (12 - 4));
}

#[test]
fn instances_need_initialized_disks() {
    let ready = desired_path(VolumeState::Ready);
    check_after(
        &ready,
        "
        a instance-create i1 name=web => ok
        a instance-attach i1 v1 => instance i1: disk v1 is not initialized
        a volume-report v1 state=ready initialized=false by=agent:m1 => ok
        a instance-attach i1 v1 => instance i1: disk v1 is not initialized
        a volume-report v1 state=ready initialized=true by=agent:m1 => ok
        a instance-attach i1 v1 => ok
        a instance-attach i1 v1 => disk i1/v1 already exists
        a volume-state v1 deleting => volume v1 is in use by instance i1
        a instance-detach i1 v9 => disk i1/v9 not found
        a instance-state i1 running => ok
        a instance-state i1 stopped => ok
        # A disk that stops being initialized blocks the start.
        a volume-report v1 state=ready initialized=false by=agent:m1 => ok
        a instance-state i1 running => instance i1: disk v1 is not initialized
        a instance-detach i1 v1 => ok
        a instance-state i1 running => ok
        ",
    );
}

#[test]
fn every_instance_transition_follows_the_table() {
    check(
        "
        a instance-create i1 name= => invalid instance.name: must not be empty
        a instance-create i1 name=x => ok
        a instance-state i1 stopped => ok
        a instance-state i1 running => ok
        a instance-state i1 running => ok
        a instance-delete i1 => invalid instance.state: instance i1 must be stopped
        a instance-state i1 stopped => ok
        a instance-delete i1 => ok
        ",
    );
    // The only pairs are stopped <-> running, both legal: there is no illegal instance
    // transition to try.
    assert_eq!(InstanceState::Stopped.next(), &[InstanceState::Running]);
    assert_eq!(InstanceState::Running.next(), &[InstanceState::Stopped]);
}

#[test]
fn concurrent_placement_keeps_both_and_reports_one_conflict() {
    check(
        "
        a machine-register m1 labels=ssd => ok
        a machine-register m2 labels=ssd => ok
        a machine-report m1 state=ready capacity=1000 by=agent:m1 => ok
        a machine-report m2 state=ready capacity=1000 by=agent:m2 => ok
        a volume-create v1 size=10 dilation=0 => ok
        a exchange b c => ok
        a volume-assign v1 m1 by=server => ok
        b volume-assign v1 m2 by=server => ok
        c show conflicts => -
        a exchange b c => ok
        a show conflicts => volume v1 is assigned to several machines: m1, m2
        b show conflicts => volume v1 is assigned to several machines: m1, m2
        c show conflicts => volume v1 is assigned to several machines: m1, m2
        c show volumes-on m1 => v1
        c show volumes-on m2 => v1
        c volume-report v1 state=ready by=agent:m2 => ok
        c volume-report v1 state=ready by=agent:m3 => volume v1: volume.current may not be written by agent:m3
        ",
    );
}

#[test]
fn errors_are_typed() {
    let mut r: Replica<Model> = Replica::new(ReplicaId(1));
    let ts = Timestamp::new(1, 0).unwrap();
    let v1 = VolumeId::new("v1").unwrap();
    let e = r
        .try_mutate(|m, tx| m.set_volume_state(&Actor::User, &v1, VolumeState::Ready, ts, tx))
        .unwrap_err();
    assert_eq!(e, Error::not_found("volume", "v1"));
    let e = r
        .try_mutate(|m, tx| {
            m.create_volume(
                &Actor::Agent(MachineId::new("m1").unwrap()),
                &v1,
                spec(),
                None,
                ts,
                tx,
            )
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::WrongWriter {
                entity: "volume",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(r.state().storage.volume(&v1).is_none());
}

fn spec() -> VolumeSpec {
    VolumeSpec {
        name: VolumeName::new("v1").unwrap(),
        size_bytes: 1,
        dilation_percent: 0,
        permissions: Permissions::default(),
        labels: Vec::new(),
        require_labels: Vec::new(),
        tenant: None,
    }
}
