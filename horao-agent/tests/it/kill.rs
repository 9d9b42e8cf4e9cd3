//! An agent killed with SIGKILL in the middle of a pass, then restarted: the next pass
//! converges with no leftover or duplicated subvolumes or qgroups.
//!
//! The agent is this test binary run again as a child on the ignored test [`kill_child`],
//! which reconciles the desired state file it is given until it is done (or killed).

use crate::support::{MIB, Scratch, scratch, vol};
use horao_agent::btrfs::Btrfs;
use horao_agent::persist::StateFile;
use horao_agent::{DesiredImage, DesiredState, Presence, RealBtrfs, Reconciler, VolumeSource};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROOT_VAR: &str = "HORAO_KILL_CHILD_ROOT";
const STATE_VAR: &str = "HORAO_KILL_CHILD_STATE";

/// The child: reconciles the state file's desired state under the given root until settled.
#[test]
#[ignore = "run as a child process by sigkill_mid_pass_then_a_fresh_pass_converges"]
fn kill_child() {
    let (Ok(root), Ok(state)) = (std::env::var(ROOT_VAR), std::env::var(STATE_VAR)) else {
        panic!("{ROOT_VAR} and {STATE_VAR} must be set");
    };
    let desired = StateFile::new(state).load().unwrap().unwrap();
    let btrfs = RealBtrfs::default();
    let mut r = Reconciler::new(horao_agent::Config::new(root));
    let started = Instant::now();
    for _ in 0..20 {
        let report = r.pass(&btrfs, &desired, started.elapsed());
        if report.settled() && report.changes == 0 {
            return;
        }
    }
    panic!("the child did not converge");
}

/// Before: 10 volumes (the first five each holding a nested subvolume) and an image.
fn before() -> DesiredState {
    DesiredState {
        volumes: (0..10).map(|i| vol(&format!("old{i}"), MIB, i)).collect(),
        images: vec![DesiredImage {
            name: "img".into(),
            from_volume: Some("old9".into()),
            desired: Presence::Present,
            kept_here: false,
        }],
    }
}

/// After: the first five deleted, the next five resized, 30 new ones (empty, from the image,
/// clones).
fn after() -> DesiredState {
    let mut d = before();
    for (i, v) in d.volumes.iter_mut().enumerate() {
        if i < 5 {
            v.desired = Presence::Deleted;
        } else {
            v.size_bytes = 3 * MIB;
        }
    }
    for i in 0..30u64 {
        let mut v = vol(&format!("new{i}"), 2 * MIB, 100 + i);
        v.mode = 0o700;
        v.source = match i % 3 {
            0 => VolumeSource::None,
            1 => VolumeSource::Image("img".into()),
            _ => VolumeSource::Clone(format!("old{}", 5 + i % 5)),
        };
        d.volumes.push(v);
    }
    d
}

fn set_up(s: &Scratch) {
    let mut r = s.reconciler();
    s.converge(&mut r, &before(), 3);
    for i in 0..5 {
        s.btrfs
            .create_subvolume(&s.path(&format!("old{i}/nested")))
            .unwrap();
    }
}

/// Starts the child on `root` and kills it after `delay`; true when it was still running.
fn run_and_kill(root: &Path, state: &Path, delay: Duration) -> bool {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill::kill_child",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(ROOT_VAR, root)
        .env(STATE_VAR, state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    // SIGKILL on Unix.
    child.kill().unwrap();
    child.wait().unwrap();
    running
}

fn check_converged(s: &Scratch, desired: &DesiredState) {
    // The restarted agent: a fresh loop, which converges in one pass and then rests.
    let mut r = s.reconciler();
    let report = r.pass(&s.btrfs, desired, Duration::ZERO);
    assert!(report.settled(), "{report:#?}");
    let again = r.pass(&s.btrfs, desired, Duration::from_secs(1));
    assert_eq!(again.changes, 0, "{again:#?}");
    assert!(
        again.orphans.is_empty() && again.escapes.is_empty(),
        "{again:#?}"
    );
    assert!(!again.degraded, "qgroup figures left inconsistent");
    let want: BTreeSet<String> = desired
        .present_volumes()
        .map(|v| v.name.clone())
        .chain([".images/img".to_string()])
        .collect();
    assert_eq!(s.subvolumes(), want);
    for v in desired.present_volumes() {
        let (limit, _, owner, ro) = s.read_back(&v.name);
        assert_eq!(limit, Some(v.size_bytes), "{}", v.name);
        assert_eq!((owner.mode, ro), (v.mode, false), "{}", v.name);
    }
    s.assert_no_stale_qgroups();
}

#[test]
fn sigkill_mid_pass_then_a_fresh_pass_converges() {
    let mut killed = 0;
    let delays = [10, 40, 80, 150, 250, 400];
    for ms in delays {
        let Some(s) = scratch("sigkill_mid_pass_then_a_fresh_pass_converges", 1 << 30) else {
            return;
        };
        set_up(&s);
        let desired = after();
        let state = s.fs.path().join("desired.json");
        StateFile::new(&state).save(&desired).unwrap();
        if run_and_kill(&s.root, &state, Duration::from_millis(ms)) {
            killed += 1;
        }
        check_converged(&s, &desired);
    }
    assert!(
        killed >= delays.len() / 2,
        "only {killed} children were killed while running"
    );
}
