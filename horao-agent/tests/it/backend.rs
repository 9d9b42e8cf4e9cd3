//! The real backend against real btrfs: each operation, read back, and the error classes of
//! real failures.

use crate::support::{MIB, exists, scratch};
use horao_agent::btrfs::{Btrfs, Ownership};
use horao_agent::loopfs::LoopFs;
use horao_agent::{Error, RealBtrfs};
use std::collections::BTreeSet;

#[test]
fn subvolumes_snapshots_and_limits_read_back() {
    let Some(s) = scratch("subvolumes_snapshots_and_limits_read_back", 1 << 30) else {
        return;
    };
    let (b, root) = (&s.btrfs, &s.root);
    let status = b.status(root).unwrap();
    assert!(status.quotas_enabled && !status.inconsistent && !status.rescan_running);
    let usage = b.usage(root).unwrap();
    assert!(usage.capacity_bytes > 900 * MIB && usage.free_bytes <= usage.capacity_bytes);

    let a = s.path("a");
    b.create_subvolume(&a).unwrap();
    let id = b.subvolume_id(&a).unwrap();
    b.set_limit(root, id, Some(10 * MIB)).unwrap();
    let q = b.qgroup(root, id).unwrap().unwrap();
    assert_eq!(q.max_referenced, Some(10 * MIB));
    assert_eq!(q.max_exclusive, None, "never an exclusive limit");
    // sysfs and btrfs-progs agree.
    assert_eq!(b.qgroups(root).unwrap()[&id], q);

    // Snapshots inherit the source's limit; read-only or writable as asked.
    b.snapshot(&a, &s.path("rw"), false).unwrap();
    b.snapshot(&a, &s.path("ro"), true).unwrap();
    let rw_id = b.subvolume_id(&s.path("rw")).unwrap();
    assert_eq!(
        b.qgroup(root, rw_id).unwrap().unwrap().max_referenced,
        Some(10 * MIB)
    );
    assert!(!b.read_only(&s.path("rw")).unwrap());
    assert!(b.read_only(&s.path("ro")).unwrap());
    b.set_limit(root, rw_id, None).unwrap();
    assert_eq!(b.qgroup(root, rw_id).unwrap().unwrap().max_referenced, None);

    let want = Ownership {
        uid: 1234,
        gid: 99,
        mode: 0o2770,
    };
    b.set_ownership(&a, want).unwrap();
    assert_eq!(b.ownership(&a).unwrap(), want);

    let listed: BTreeSet<(String, bool)> = b
        .list(root)
        .unwrap()
        .into_iter()
        .map(|s| (s.path, s.read_only))
        .collect();
    let expected: BTreeSet<(String, bool)> = [("a", false), ("ro", true), ("rw", false)]
        .map(|(p, r)| (p.to_string(), r))
        .into();
    assert_eq!(listed, expected);
}

#[test]
fn recursive_delete_removes_nested_and_read_only_children_and_their_qgroups() {
    let Some(s) = scratch("recursive_delete", 1 << 30) else {
        return;
    };
    let (b, root) = (&s.btrfs, &s.root);
    let v = s.path("v");
    b.create_subvolume(&v).unwrap();
    std::fs::create_dir(v.join("dir")).unwrap();
    b.create_subvolume(&v.join("dir/inner")).unwrap();
    b.create_subvolume(&v.join("dir/inner/deeper")).unwrap();
    // A read-only child that itself holds a subvolume: its entry cannot be removed while it
    // is read-only.
    b.create_subvolume(&v.join("frozen")).unwrap();
    b.create_subvolume(&v.join("frozen/kid")).unwrap();
    let frozen = v.join("frozen");
    b.snapshot(&frozen, &v.join("frozen-ro"), true).unwrap();
    let ids = b.delete_subvolume(&v).unwrap();
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert!(!exists(&v));
    b.sync(root, &ids).unwrap();
    for id in &ids {
        b.destroy_qgroup(root, *id).unwrap();
        // Again: "not found" counts as done.
        b.destroy_qgroup(root, *id).unwrap();
        assert_eq!(b.qgroup(root, *id).unwrap(), None);
    }
    b.clear_stale(root).unwrap();
    assert!(b.list(root).unwrap().is_empty());
    s.assert_no_stale_qgroups();
}

#[test]
fn failures_are_classified() {
    let Some(s) = scratch("failures_are_classified", 1 << 30) else {
        return;
    };
    let (b, root) = (&s.btrfs, &s.root);
    let a = s.path("a");
    b.create_subvolume(&a).unwrap();
    let err = b.create_subvolume(&a).unwrap_err();
    assert!(matches!(err, Error::TargetExists(_)), "{err}");
    let err = b
        .snapshot(&s.path("missing"), &s.path("x"), false)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    let err = b.set_limit(root, 999_999, Some(MIB)).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    // Not btrfs: the directory holding the image file.
    let outside = std::env::temp_dir();
    let err = RealBtrfs::default().status(&outside).unwrap_err();
    assert!(matches!(err, Error::NotBtrfs(_)), "{err}");

    // A filesystem without quotas: limits fail with the typed error, status says so.
    let plain = LoopFs::create(1 << 30).unwrap();
    let fresh = RealBtrfs::default();
    assert!(!fresh.status(plain.path()).unwrap().quotas_enabled);
    let sub = plain.path().join("s");
    fresh.create_subvolume(&sub).unwrap();
    let id = fresh.subvolume_id(&sub).unwrap();
    let err = fresh.set_limit(plain.path(), id, Some(MIB)).unwrap_err();
    assert!(matches!(err, Error::QuotaNotEnabled(_)), "{err}");
}
