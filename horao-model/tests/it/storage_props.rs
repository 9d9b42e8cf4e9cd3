//! Convergence of storage: random concurrent histories of machine, volume, image and
//! instance operations on 2–5 replicas (see [`check_history`]) — placements by hand and by
//! the scheduler, the agents' reports and refusals, retries — with timestamps that repeat
//! across replicas so last-writer-wins ties are broken by replica.

use crate::support::cases;
use crate::support::history::{check_history, history};
use crate::support::transcript::Clock;
use horao_model::storage::{MachineState, StateMachine, VolumeState};
use proptest::prelude::*;

const MACHINES: usize = 3;
const VOLUMES: usize = 4;

/// Machines ready, an image, volumes waiting for placement and two instances: a common
/// start so that histories reach placement.
const BASE: &str = "
a machine-register m0 => ok
a machine-report m0 state=ready capacity=100 by=agent:m0 => ok
a machine-register m1 => ok
a machine-report m1 state=ready capacity=100 by=agent:m1 => ok
a machine-register m2 => ok
a machine-report m2 state=ready capacity=100 by=agent:m2 => ok
a image-create img name=base size=5 url=http://x.invalid/i => ok
a volume-create v0 size=10 => ok
a volume-create v1 size=10 => ok
a volume-create v2 size=10 => ok
a instance-create i0 name=vm0 => ok
a instance-create i1 name=vm1 => ok
";

/// One random storage operation, as a transcript command.
fn op() -> impl Strategy<Value = String> + Clone {
    let vs = 0..VOLUMES;
    let ms = 0..MACHINES;
    let volume_state = (0..VolumeState::ALL.len()).prop_map(|k| VolumeState::ALL[k].name());
    let machine_state = (0..MachineState::ALL.len()).prop_map(|k| MachineState::ALL[k].name());
    prop_oneof![
        1 => (vs.clone(), 1..100u64, 0..50u32, any::<bool>()).prop_map(|(v, size, d, image)| {
            let image = if image { " image=img" } else { "" };
            format!("volume-create v{v} size={} dilation={d}{image}", size + 10)
        }),
        3 => (vs.clone(), ms.clone()).prop_map(|(v, m)| format!("volume-assign v{v} m{m} by=server")),
        2 => (vs.clone(), volume_state.clone()).prop_map(|(v, s)| format!("volume-state v{v} {s}")),
        2 => (vs.clone(), ms.clone(), volume_state, any::<bool>()).prop_map(|(v, m, s, init)| {
            format!("volume-report v{v} state={s} used=1 initialized={init} reason=r by=agent:m{m}")
        }),
        1 => vs.clone().prop_map(|v| format!("volume-place v{v} by=server")),
        1 => vs.clone().prop_map(|v| format!("volume-retry v{v}")),
        1 => (vs.clone(), 1..200u64).prop_map(|(v, size)| format!("volume-resize v{v} size={size}")),
        1 => (vs.clone(), ms.clone()).prop_map(|(v, m)| format!("volume-move v{v} m{m} by=server")),
        1 => (vs.clone(), vs.clone()).prop_map(|(v, w)| format!("volume-clone v{v} v{w} size=50")),
        1 => vs.clone().prop_map(|v| format!("volume-purge v{v}")),
        1 => (ms.clone(), machine_state.clone()).prop_map(|(m, s)| format!("machine-state m{m} {s}")),
        1 => (ms, machine_state, 0..100u64).prop_map(|(m, s, used)| {
            format!("machine-report m{m} state={s} capacity=100 used={used} by=agent:m{m}")
        }),
        1 => (0..2usize, vs.clone()).prop_map(|(i, v)| format!("instance-attach i{i} v{v}")),
        1 => (0..2usize, vs.clone()).prop_map(|(i, v)| format!("instance-detach i{i} v{v}")),
        1 => (0..2usize, any::<bool>()).prop_map(|(i, run)| {
            format!("instance-state i{i} {}", if run { "running" } else { "stopped" })
        }),
        1 => (vs, any::<bool>()).prop_map(|(v, add)| {
            let verb = if add { "add" } else { "remove" };
            format!("image-replica-{verb} img pool=p volume=v{v}")
        }),
    ]
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn histories_converge_with_identical_conflicts(h in history(op(), 60)) {
        let clock = Clock { epoch_ms: 10, tick_ms: 1, period: Some(7) };
        check_history(BASE, clock, &h)?;
    }
}
