//! Unit tests of the loop's logic against the in-memory fake backend.

use super::*;
use crate::btrfs::Ownership;
use crate::desired::VolumeSource;
use crate::fake::{FakeBtrfs, World};
use crate::report::Escape;
use std::path::Path;

const ROOT: &str = "/srv/horao";
const GIB: u64 = 1 << 30;
const S: fn(u64) -> Duration = Duration::from_secs;

fn vol(id: &str, size: u64, at: u64) -> DesiredVolume {
    DesiredVolume {
        id: format!("id-{id}"),
        name: id.into(),
        size_bytes: size,
        dilation_percent: 10,
        owner_uid: 1000,
        owner_gid: 100,
        mode: 0o750,
        source: VolumeSource::None,
        assigned_at: at,
        desired: Presence::Present,
    }
}

fn deleted(mut v: DesiredVolume) -> DesiredVolume {
    v.desired = Presence::Deleted;
    v
}

fn state(volumes: Vec<DesiredVolume>, images: Vec<DesiredImage>) -> DesiredState {
    DesiredState { volumes, images }
}

fn reconciler() -> Reconciler {
    Reconciler::new(Config::new(ROOT))
}

fn path(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

fn limit_of(fake: &FakeBtrfs, rel: &str) -> Option<u64> {
    let w = fake.world.borrow();
    let id = w.subvols[&path(rel)].id;
    w.qgroups[&id].max_referenced
}

fn states(report: &PassReport) -> Vec<String> {
    report
        .volumes
        .iter()
        .map(|v| match &v.state {
            State::Failed { class, .. } => format!("{}: failed {class}", v.name),
            State::Rejected { reason } => format!("{}: rejected {reason}", v.name),
            s => format!("{}: {}", v.name, serde_json::to_value(s).unwrap()["state"]),
        })
        .collect()
}

#[test]
fn creates_a_volume_with_its_limit_owner_and_mode_then_rests() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    let desired = state(vec![vol("a", 100_001, 1)], vec![]);
    let report = r.pass(&fake, &desired, S(0));
    assert_eq!(states(&report), [r#"a: "ready""#]);
    let v = &report.volumes[0];
    assert_eq!(v.limit_bytes, Some(110_002), "ceil(100,001 × 1.1)");
    assert_eq!(v.used_bytes, Some(16384));
    assert_eq!(v.read_only, Some(false));
    assert_eq!(limit_of(&fake, "a"), Some(110_002));
    let owner = fake.world.borrow().subvols[&path("a")].owner;
    assert_eq!(
        owner,
        Ownership {
            uid: 1000,
            gid: 100,
            mode: 0o750
        }
    );
    assert_eq!(report.changes, 3, "create, limit, owner");
    let again = r.pass(&fake, &desired, S(1));
    assert_eq!(again.changes, 0);
    assert_eq!(again.volumes, report.volumes);
}

#[test]
fn resizes_but_never_below_what_is_referenced() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    let mut a = vol("a", 100_000, 1);
    let b = vol("b", 100_000, 2);
    r.pass(&fake, &state(vec![a.clone(), b.clone()], vec![]), S(0));
    a.size_bytes = 200_000;
    let report = r.pass(&fake, &state(vec![a.clone(), b.clone()], vec![]), S(1));
    assert_eq!(report.volumes[0].limit_bytes, Some(220_000));
    fake.set_referenced(&path("a").display().to_string(), 150_000);
    a.size_bytes = 100_000;
    let report = r.pass(&fake, &state(vec![a.clone(), b.clone()], vec![]), S(2));
    assert_eq!(states(&report), ["a: failed below-usage", r#"b: "ready""#]);
    assert_eq!(limit_of(&fake, "a"), Some(220_000), "left as it was");
    // Enough headroom after all: the same desired state is retried after the backoff.
    a.dilation_percent = 50;
    let report = r.pass(&fake, &state(vec![a, b], vec![]), S(3));
    assert_eq!(report.volumes[0].limit_bytes, Some(150_000));
}

#[test]
fn deletes_only_on_an_explicit_delete() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    r.pass(
        &fake,
        &state(vec![vol("a", 100_000, 1), vol("b", 100_000, 1)], vec![]),
        S(0),
    );
    // A user nests a subvolume inside a (escaping its quota).
    fake.create_subvolume(&path("a/inner")).unwrap();
    // An empty listing (server lost everything, or unreachable) deletes nothing.
    let report = r.pass(&fake, &DesiredState::default(), S(1));
    assert_eq!(report.changes, 0);
    let orphans: Vec<_> = report.orphans.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(orphans, ["a", "b"]);
    assert_eq!(report.escapes.len(), 1);
    let report = r.pass(
        &fake,
        &state(
            vec![deleted(vol("a", 100_000, 1)), vol("b", 100_000, 1)],
            vec![],
        ),
        S(2),
    );
    assert_eq!(states(&report), [r#"a: "gone""#, r#"b: "ready""#]);
    let w = fake.world.borrow();
    assert!(
        !w.subvols.keys().any(|p| p.starts_with(path("a"))),
        "nested removed too"
    );
    let live: BTreeSet<u64> = w.subvols.values().map(|s| s.id).collect();
    let qgroups: BTreeSet<u64> = w.qgroups.keys().copied().collect();
    assert_eq!(live, qgroups, "no qgroup left behind");
}

#[test]
fn images_and_clones() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    let base = vol("base", 500_000, 1);
    let image = DesiredImage {
        name: "img".into(),
        from_volume: Some("base".into()),
        desired: Presence::Present,
        kept_here: false,
    };
    r.pass(&fake, &state(vec![base.clone()], vec![]), S(0));
    let mut from_image = vol("fromimg", 800_000, 2);
    from_image.source = VolumeSource::Image("img".into());
    let mut clone = vol("clone", 900_000, 3);
    clone.source = VolumeSource::Clone("base".into());
    let desired = state(vec![base, from_image, clone], vec![image]);
    let report = r.pass(&fake, &desired, S(1));
    assert!(report.settled(), "{report:#?}");
    let w = fake.world.borrow();
    let img = &w.subvols[&path(".images/img")];
    assert!(img.read_only);
    assert_eq!(
        w.qgroups[&img.id].max_referenced, None,
        "images have no limit"
    );
    assert!(!w.subvols[&path("fromimg")].read_only);
    drop(w);
    assert_eq!(
        limit_of(&fake, "fromimg"),
        Some(880_000),
        "not the inherited limit"
    );
    assert_eq!(limit_of(&fake, "clone"), Some(990_000));
    assert_eq!(r.pass(&fake, &desired, S(2)).changes, 0);
}

#[test]
fn an_image_that_is_missing_fails_its_volumes_only() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    let mut v = vol("v", 100_000, 1);
    v.source = VolumeSource::Image("nope".into());
    let image = DesiredImage {
        name: "nope".into(),
        from_volume: None,
        desired: Presence::Present,
        kept_here: false,
    };
    let report = r.pass(
        &fake,
        &state(vec![v, vol("w", 100_000, 2)], vec![image]),
        S(0),
    );
    assert_eq!(states(&report), ["v: failed not-found", r#"w: "ready""#]);
    assert!(matches!(
        report.images[0].state,
        State::Failed {
            class: ErrorClass::NotFound,
            ..
        }
    ));
}

#[test]
fn admission_rejects_what_does_not_fit() {
    let fake = FakeBtrfs::new(ROOT, 1_000_000);
    let mut r = reconciler();
    // Limits are 550,000 each: two do not fit in 1,000,000; the later assignment is rejected.
    let report = r.pass(
        &fake,
        &state(
            vec![vol("late", 500_000, 9), vol("early", 500_000, 3)],
            vec![],
        ),
        S(0),
    );
    assert_eq!(
        states(&report),
        [
            "late: rejected needs 550000 bytes of quota; 450000 of 1000000 bytes are left",
            r#"early: "ready""#
        ]
    );
    assert!(!fake.world.borrow().subvols.contains_key(&path("late")));
}

#[test]
fn a_failing_volume_backs_off_without_blocking_others() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    fake.fail("create_subvolume", "/bad", ErrorClass::NoSpace, 2);
    let desired = state(
        vec![vol("bad", 100_000, 1), vol("good", 100_000, 2)],
        vec![],
    );
    let report = r.pass(&fake, &desired, S(0));
    assert_eq!(
        states(&report),
        ["bad: failed no-space", r#"good: "ready""#]
    );
    let State::Failed { retry_at_ms, .. } = report.volumes[0].state else {
        panic!("not failed");
    };
    assert_eq!(retry_at_ms, 1000);
    // Before its retry time it is not tried again.
    let calls = fake.calls().len();
    r.pass(&fake, &desired, Duration::from_millis(999));
    assert!(!fake.calls()[calls..].iter().any(|c| c.contains("/bad")));
    // Second failure: the delay doubles.
    let report = r.pass(&fake, &desired, S(1));
    assert!(matches!(
        report.volumes[0].state,
        State::Failed {
            retry_at_ms: 3000,
            ..
        }
    ));
    let report = r.pass(&fake, &desired, S(3));
    assert_eq!(states(&report), [r#"bad: "ready""#, r#"good: "ready""#]);
}

#[test]
fn quotas_off_blocks_and_inconsistent_degrades() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    fake.world.borrow_mut().status.quotas_enabled = false;
    let desired = state(vec![vol("a", 100_000, 1)], vec![]);
    let report = r.pass(&fake, &desired, S(0));
    let blocked = report.blocked.unwrap();
    assert_eq!(blocked.class, ErrorClass::QuotaNotEnabled);
    assert_eq!(
        blocked.remedy.as_deref(),
        Some("btrfs quota enable /srv/horao")
    );
    assert!(fake.world.borrow().subvols.is_empty());
    fake.world.borrow_mut().status.quotas_enabled = true;
    r.pass(&fake, &desired, S(1));
    fake.world.borrow_mut().status.inconsistent = true;
    fake.set_referenced(&path("a").display().to_string(), 150_000);
    let mut smaller = desired.clone();
    smaller.volumes[0].size_bytes = 10_000;
    let report = r.pass(&fake, &smaller, S(2));
    assert!(report.degraded);
    assert_eq!(states(&report), [r#"a: "degraded""#]);
    assert_eq!(limit_of(&fake, "a"), Some(110_000), "shrink deferred");
}

#[test]
fn preflight_refuses_with_a_remedy_and_enables_only_when_asked() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    fake.world.borrow_mut().status.quotas_enabled = false;
    let refusal = preflight(&fake, Path::new(ROOT), false).unwrap_err();
    assert_eq!(
        refusal.remedy.as_deref(),
        Some("btrfs quota enable /srv/horao && btrfs quota rescan -W /srv/horao")
    );
    assert!(preflight(&fake, Path::new(ROOT), true).is_ok());
    assert!(fake.world.borrow().status.quotas_enabled);
    fake.world.borrow_mut().status.inconsistent = true;
    let refusal = preflight(&fake, Path::new(ROOT), true).unwrap_err();
    assert_eq!(
        refusal.remedy.as_deref(),
        Some("btrfs quota rescan -w /srv/horao")
    );
    fake.fail("status", "", ErrorClass::NotBtrfs, 1);
    assert_eq!(
        preflight(&fake, Path::new(ROOT), true).unwrap_err().class,
        ErrorClass::NotBtrfs
    );
}

#[test]
fn stale_qgroups_are_cleared_first_after_deletes_and_periodically() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    let count = |fake: &FakeBtrfs| {
        fake.calls()
            .iter()
            .filter(|c| c.starts_with("clear_stale"))
            .count()
    };
    let desired = state(vec![vol("a", 100_000, 1)], vec![]);
    r.pass(&fake, &desired, S(0));
    assert_eq!(count(&fake), 1, "first pass");
    r.pass(&fake, &desired, S(1));
    assert_eq!(count(&fake), 1);
    r.pass(
        &fake,
        &state(vec![deleted(vol("a", 100_000, 1))], vec![]),
        S(2),
    );
    assert_eq!(count(&fake), 2, "after a delete");
    r.pass(&fake, &DesiredState::default(), S(602));
    assert_eq!(count(&fake), 3, "every ten minutes");
}

#[test]
fn escapes_name_their_volume() {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    let desired = state(vec![vol("a", 100_000, 1)], vec![]);
    r.pass(&fake, &desired, S(0));
    fake.create_subvolume(&path("a/mine")).unwrap();
    let report = r.pass(&fake, &desired, S(1));
    let id = fake.world.borrow().subvols[&path("a/mine")].id;
    assert_eq!(
        report.escapes,
        [Escape {
            inside: "a".into(),
            path: "a/mine".into(),
            subvolume_id: id
        }]
    );
    assert!(report.orphans.is_empty());
}

/// Everything that matters about the fake filesystem, by path (ids depend on history).
fn shape(w: &World) -> Vec<(PathBuf, bool, Ownership, Option<u64>)> {
    w.subvols
        .iter()
        .map(|(p, s)| {
            (
                p.clone(),
                s.read_only,
                s.owner,
                w.qgroups.get(&s.id).and_then(|q| q.max_referenced),
            )
        })
        .collect()
}

/// A world with volumes to resize, delete (with a nested subvolume) and clone, and a desired
/// state that creates, snapshots, resizes and deletes.
fn crash_scenario() -> (FakeBtrfs, DesiredState) {
    let fake = FakeBtrfs::new(ROOT, GIB);
    let mut r = reconciler();
    let setup = state(
        vec![vol("keep", 100_000, 1), vol("gone", 100_000, 2)],
        vec![],
    );
    r.pass(&fake, &setup, S(0));
    fake.create_subvolume(&path("gone/nested")).unwrap();
    let mut keep = vol("keep", 200_000, 1);
    keep.mode = 0o700;
    let mut from_image = vol("fromimg", 300_000, 4);
    from_image.source = VolumeSource::Image("img".into());
    let mut clone = vol("clone", 400_000, 5);
    clone.source = VolumeSource::Clone("keep".into());
    let image = DesiredImage {
        name: "img".into(),
        from_volume: Some("keep".into()),
        desired: Presence::Present,
        kept_here: false,
    };
    let desired = state(
        vec![
            keep,
            deleted(vol("gone", 100_000, 2)),
            vol("new", 500_000, 3),
            from_image,
            clone,
        ],
        vec![image],
    );
    (fake, desired)
}

#[test]
fn a_crash_after_any_change_is_repaired_by_the_next_pass() {
    let (fake, desired) = crash_scenario();
    // The outcome without a crash, and how many changes it takes.
    let mut r = reconciler();
    let report = r.pass(&fake, &desired, S(10));
    assert!(report.settled(), "{report:#?}");
    let want = shape(&fake.world.borrow());
    let total = report.changes;
    assert!(total >= 10, "{total}");
    for n in 0..total {
        let (fake, desired) = crash_scenario();
        fake.die_after(n);
        let _ = reconciler().pass(&fake, &desired, S(10));
        fake.revive();
        // A restarted agent: no memory of the crashed one.
        let mut fresh = reconciler();
        let report = fresh.pass(&fake, &desired, S(20));
        assert!(report.settled(), "crash after {n} changes: {report:#?}");
        let w = fake.world.borrow();
        assert_eq!(shape(&w), want, "crash after {n} changes");
        let live: BTreeSet<u64> = w.subvols.values().map(|s| s.id).collect();
        let qgroups: BTreeSet<u64> = w.qgroups.keys().copied().collect();
        assert_eq!(qgroups, live, "crash after {n}: stale qgroups");
    }
}
