//! Property: random concurrent histories of storage operations on 2–5 replicas, with random
//! partial synchronisation, converge to one state whatever the order deltas arrive in, and
//! every replica reports the same conflicts. `PROPTEST_CASES` sets the number of cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use horao_crdt::{Answer, Causal, Replica, ReplicaId, Timestamp, Tx};
use horao_model::Result;
use horao_model::lifecycle::*;
use proptest::prelude::*;

const MACHINES: usize = 3;
const VOLUMES: usize = 4;

fn m(i: usize) -> MachineId {
    MachineId::new(format!("m{i}")).unwrap()
}
fn v(i: usize) -> VolumeId {
    VolumeId::new(format!("v{i}")).unwrap()
}
fn img() -> ImageId {
    ImageId::new("img").unwrap()
}
fn inst(i: usize) -> InstanceId {
    InstanceId::new(format!("i{i}")).unwrap()
}

/// One step of a history.
#[derive(Clone, Debug)]
enum Step {
    /// Replica `r` performs `op`.
    Op(usize, Op),
    /// Replica `a` sends replica `b` what it lacks.
    Sync(usize, usize),
}

#[derive(Clone, Debug)]
enum Op {
    CreateVolume(usize, u64, u32, bool),
    Assign(usize, usize),
    State(usize, usize),
    Resize(usize, u64),
    Move(usize, usize),
    Clone(usize, usize),
    Report(usize, usize, usize, bool),
    Purge(usize),
    MachineState(usize, usize),
    MachineReport(usize, usize, u64),
    Attach(usize, usize),
    Detach(usize, usize),
    Start(usize, bool),
    ImageReplica(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    let vs = 0..VOLUMES;
    let ms = 0..MACHINES;
    prop_oneof![
        (vs.clone(), 1..100u64, 0..50u32, any::<bool>())
            .prop_map(|(a, b, c, d)| Op::CreateVolume(a, b, c, d)),
        (vs.clone(), ms.clone()).prop_map(|(a, b)| Op::Assign(a, b)),
        (vs.clone(), ms.clone()).prop_map(|(a, b)| Op::Assign(a, b)),
        (vs.clone(), ms.clone()).prop_map(|(a, b)| Op::Assign(a, b)),
        (vs.clone(), 0..8usize).prop_map(|(a, b)| Op::State(a, b)),
        (vs.clone(), 0..8usize).prop_map(|(a, b)| Op::State(a, b)),
        (vs.clone(), ms.clone(), 0..8usize, any::<bool>())
            .prop_map(|(a, b, c, d)| Op::Report(a, b, c, d)),
        (vs.clone(), 1..200u64).prop_map(|(a, b)| Op::Resize(a, b)),
        (vs.clone(), ms.clone()).prop_map(|(a, b)| Op::Move(a, b)),
        (vs.clone(), vs.clone()).prop_map(|(a, b)| Op::Clone(a, b)),
        (vs.clone(), ms.clone(), 0..8usize, any::<bool>())
            .prop_map(|(a, b, c, d)| Op::Report(a, b, c, d)),
        vs.clone().prop_map(Op::Purge),
        (ms.clone(), 0..4usize).prop_map(|(a, b)| Op::MachineState(a, b)),
        (ms.clone(), 0..4usize, 0..100u64).prop_map(|(a, b, c)| Op::MachineReport(a, b, c)),
        (0..2usize, vs.clone()).prop_map(|(a, b)| Op::Attach(a, b)),
        (0..2usize, vs.clone()).prop_map(|(a, b)| Op::Detach(a, b)),
        (0..2usize, any::<bool>()).prop_map(|(a, b)| Op::Start(a, b)),
        (vs, any::<bool>()).prop_map(|(a, b)| Op::ImageReplica(a, b)),
    ]
}

fn apply(s: &Storage, op: &Op, ts: Timestamp, tx: &mut Tx) -> Result<Storage> {
    let (u, srv) = (Actor::User, Actor::Server);
    match op {
        Op::CreateVolume(i, size, dil, from_image) => {
            let spec = VolumeSpec {
                size_bytes: *size + 10,
                dilation_percent: *dil,
                permissions: Permissions::default(),
                filters: Vec::new(),
            };
            let src = from_image.then(|| Source::Image(img()));
            s.create_volume(&v(*i), spec, src, &u, ts, tx)
        }
        Op::Assign(i, j) => s.assign_volume(&v(*i), &m(*j), &srv, ts, tx),
        Op::State(i, k) => s.set_volume_state(&v(*i), VolumeState::ALL[*k], &u, ts, tx),
        Op::Resize(i, size) => {
            let op = VolumeOp::Resize {
                size_bytes: *size,
                dilation_percent: 0,
            };
            s.begin_volume_op(&v(*i), op, &u, ts, tx)
        }
        Op::Move(i, j) => s.begin_volume_op(&v(*i), VolumeOp::Move { to: m(*j) }, &srv, ts, tx),
        Op::Clone(i, j) => {
            let op = VolumeOp::Clone {
                into: v(*j),
                size_bytes: 50,
                dilation_percent: 0,
            };
            s.begin_volume_op(&v(*i), op, &u, ts, tx)
        }
        Op::Report(i, j, k, init) => {
            let report = VolumeReport {
                state: VolumeState::ALL[*k],
                used_bytes: 1,
                initialized: *init,
            };
            s.report_volume(&v(*i), report, &Actor::Agent(m(*j)), ts, tx)
        }
        Op::Purge(i) => s.purge_volume(&v(*i), &u, tx),
        Op::MachineState(j, k) => s.set_machine_state(&m(*j), MachineState::ALL[*k], &u, ts, tx),
        Op::MachineReport(j, k, used) => {
            let report = MachineReport {
                state: MachineState::ALL[*k],
                capacity_bytes: 100,
                used_bytes: *used,
            };
            s.report_machine(&m(*j), report, &Actor::Agent(m(*j)), ts, tx)
        }
        Op::Attach(n, i) => s.attach_disk(&inst(*n), &v(*i), &u, tx),
        Op::Detach(n, i) => s.detach_disk(&inst(*n), &v(*i), &u, tx),
        Op::Start(n, run) => {
            let to = if *run {
                InstanceState::Running
            } else {
                InstanceState::Stopped
            };
            s.set_instance_state(&inst(*n), to, &u, ts, tx)
        }
        Op::ImageReplica(i, add) => {
            let r = ImageReplica {
                pool: PoolId::new("p").unwrap(),
                volume: v(*i),
            };
            if *add {
                s.add_image_replica(&img(), r, &u, tx)
            } else {
                s.remove_image_replica(&img(), &r, &u, tx)
            }
        }
    }
}

/// Machines ready, an image, volumes waiting for placement and two instances: a common start so histories reach placement.
fn seed(r: &mut Replica<Storage>) -> Vec<Causal<Storage>> {
    let ts = Timestamp::new(1, 0).unwrap();
    let mut out = Vec::new();
    for j in 0..MACHINES {
        out.push(
            r.try_mutate(|s, tx| {
                s.register_machine(&m(j), MachineSpec::default(), &Actor::User, ts, tx)
            })
            .unwrap(),
        );
        let rep = MachineReport {
            state: MachineState::Ready,
            capacity_bytes: 100,
            used_bytes: 0,
        };
        out.push(
            r.try_mutate(|s, tx| s.report_machine(&m(j), rep, &Actor::Agent(m(j)), ts, tx))
                .unwrap(),
        );
    }
    let spec = ImageSpec {
        name: "base".into(),
        size_bytes: 5,
        origin: ImageOrigin::Url("http://x.invalid/i".into()),
    };
    out.push(
        r.try_mutate(|s, tx| s.create_image(&img(), spec, &Actor::User, ts, tx))
            .unwrap(),
    );
    for i in 0..VOLUMES - 1 {
        let spec = VolumeSpec {
            size_bytes: 10,
            dilation_percent: 0,
            permissions: Permissions::default(),
            filters: Vec::new(),
        };
        out.push(
            r.try_mutate(|s, tx| s.create_volume(&v(i), spec, None, &Actor::User, ts, tx))
                .unwrap(),
        );
    }
    for n in 0..2 {
        let spec = InstanceSpec {
            name: format!("vm{n}"),
        };
        out.push(
            r.try_mutate(|s, tx| s.create_instance(&inst(n), spec, &Actor::User, ts, tx))
                .unwrap(),
        );
    }
    out
}

fn push(from: &Replica<Storage>, to: &mut Replica<Storage>) {
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

fn history() -> impl Strategy<Value = (usize, Vec<Step>, Vec<u32>)> {
    (2..=5usize).prop_flat_map(|n| {
        let step = prop_oneof![
            4 => (0..n, op()).prop_map(|(r, o)| Step::Op(r, o)),
            1 => (0..n, 0..n).prop_map(|(a, b)| Step::Sync(a, b)),
        ];
        (
            Just(n),
            prop::collection::vec(step, 1..60),
            prop::collection::vec(any::<u32>(), 0..400),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn histories_converge_with_identical_conflicts((n, steps, shuffle) in history()) {
        let mut rs: Vec<Replica<Storage>> =
            (0..n).map(|i| Replica::new(ReplicaId(i as u64 + 1))).collect();
        let mut deltas = seed(&mut rs[0]);
        for k in 1..n {
            let (head, tail) = rs.split_at_mut(k);
            push(&head[0], &mut tail[0]);
        }
        for (t, step) in steps.iter().enumerate() {
            match step {
                Step::Op(r, o) => {
                    let ts = Timestamp::new(10 + (t as u64 % 7), 0).unwrap();
                    if let Ok(d) = rs[*r].try_mutate(|s, tx| apply(s, o, ts, tx)) {
                        deltas.push(d);
                    }
                }
                Step::Sync(a, b) if a != b => {
                    let from = rs[*a].clone();
                    push(&from, &mut rs[*b]);
                }
                Step::Sync(..) => {}
            }
        }
        // Full exchange: everyone sends everyone what they lack.
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
        for r in &rs[1..] {
            prop_assert_eq!(r.causal(), rs[0].causal());
            prop_assert_eq!(r.state().conflicts(), conflicts.clone());
        }
        // The same deltas applied in a shuffled order, with duplicates, give the same state.
        let mut order: Vec<usize> = (0..deltas.len()).collect();
        for (i, x) in shuffle.iter().enumerate() {
            let len = order.len();
            order.swap(i % len, *x as usize % len);
        }
        let mut fresh: Causal<Storage> = Causal::default();
        for &i in order.iter().chain(order.iter().take(3)) {
            fresh.apply(deltas[i].clone());
        }
        prop_assert_eq!(&fresh, rs[0].causal());
        prop_assert_eq!(fresh.store.conflicts(), conflicts);
    }
}
