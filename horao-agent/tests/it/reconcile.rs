//! The real reconcile loop on real btrfs: every operation followed by reading back limit,
//! owner, mode and read-only flag; quota enforcement; deletes that leave nothing behind;
//! orphans, escapes, admission, and a restart from the persisted desired state.

use crate::support::{MIB, exists, owner, scratch, vol};
use horao_agent::btrfs::Btrfs;
use horao_agent::classify::classify_io;
use horao_agent::persist::StateFile;
use horao_agent::{DesiredImage, DesiredState, ErrorClass, Presence, State, VolumeSource};
use std::io::Write;

#[test]
fn create_resize_clone_image_delete_read_back() {
    let Some(s) = scratch("create_resize_clone_image_delete_read_back", 1 << 30) else {
        return;
    };
    let mut r = s.reconciler();
    let mut base = vol("base", 10 * MIB, 1);
    base.dilation_percent = 15;
    let mut desired = DesiredState {
        volumes: vec![base.clone()],
        images: vec![],
    };
    s.converge(&mut r, &desired, 3);
    // Dilation: ⌈10 MiB × 1.15⌉.
    let dilated = (10 * MIB * 115).div_ceil(100);
    let (limit, used, own, ro) = s.read_back("base");
    assert_eq!(
        (limit, own, ro),
        (Some(dilated), owner(1000, 1000, 0o750), false)
    );
    assert!(used <= 16384, "an empty volume (metadata only): {used}");

    // Resize.
    base.size_bytes = 20 * MIB;
    desired.volumes[0] = base.clone();
    let report = s.converge(&mut r, &desired, 3);
    assert_eq!(
        report.volumes[0].limit_bytes,
        Some((20 * MIB * 115).div_ceil(100))
    );
    assert_eq!(s.read_back("base").0, Some((20 * MIB * 115).div_ceil(100)));

    // An image from it (read-only, no limit), a volume from the image, a clone.
    std::fs::write(s.path("base/data"), vec![7u8; MIB as usize]).unwrap();
    desired.images.push(DesiredImage {
        name: "img".into(),
        from_volume: Some("base".into()),
        desired: Presence::Present,
        kept_here: false,
    });
    let mut from_image = vol("fromimg", 5 * MIB, 2);
    from_image.source = VolumeSource::Image("img".into());
    from_image.mode = 0o700;
    let mut clone = vol("clone", 6 * MIB, 3);
    clone.source = VolumeSource::Clone("base".into());
    clone.owner_uid = 42;
    desired.volumes.extend([from_image, clone]);
    let report = s.converge(&mut r, &desired, 3);
    assert!(
        report.orphans.is_empty() && report.escapes.is_empty(),
        "{report:#?}"
    );
    let (limit, _, _, ro) = s.read_back(".images/img");
    assert_eq!((limit, ro), (None, true));
    let (limit, used, own, ro) = s.read_back("fromimg");
    assert_eq!(
        (limit, own, ro),
        (Some(5 * MIB), owner(1000, 1000, 0o700), false)
    );
    assert!(used > MIB, "the image's data is referenced: {used}");
    assert_eq!(
        std::fs::read(s.path("fromimg/data")).unwrap().len(),
        MIB as usize
    );
    assert_eq!(s.read_back("clone").0, Some(6 * MIB));
    assert_eq!(s.read_back("clone").2, owner(42, 1000, 0o750));

    // Delete a volume and the image: no subvolume and no qgroup left.
    desired.volumes[2].desired = Presence::Deleted;
    desired.images[0].desired = Presence::Deleted;
    let report = s.converge(&mut r, &desired, 3);
    assert_eq!(report.volumes[2].state, State::Gone);
    assert_eq!(report.images[0].state, State::Gone);
    assert!(!exists(&s.path("clone")) && !exists(&s.path(".images/img")));
    let left: Vec<String> = s.subvolumes().into_iter().collect();
    assert_eq!(left, ["base", "fromimg"]);
    s.assert_no_stale_qgroups();
    // Destroying a qgroup that still counted bytes would have flagged them all inconsistent.
    assert!(!s.btrfs.status(&s.root).unwrap().inconsistent);
}

#[test]
fn quota_is_enforced_and_touches_nothing_else() {
    let Some(s) = scratch("quota_is_enforced_and_touches_nothing_else", 1 << 30) else {
        return;
    };
    let mut r = s.reconciler();
    let mut small = vol("small", 2 * MIB, 1);
    small.dilation_percent = 50;
    let desired = DesiredState {
        volumes: vec![small, vol("other", 8 * MIB, 2)],
        images: vec![DesiredImage {
            name: "img".into(),
            from_volume: Some("other".into()),
            desired: Presence::Present,
            kept_here: false,
        }],
    };
    s.converge(&mut r, &desired, 3);
    let before = (s.read_back("other"), s.read_back(".images/img"));
    // Write past the 3 MiB limit: the write fails with EDQUOT, classified.
    let mut file = std::fs::File::create(s.path("small/fill")).unwrap();
    let chunk = vec![1u8; 256 * 1024];
    let mut written = 0u64;
    let err = loop {
        match file.write_all(&chunk).and_then(|()| file.sync_data()) {
            Ok(()) => written += chunk.len() as u64,
            Err(e) => break e,
        }
        assert!(written < 64 * MIB, "no quota error after {written} bytes");
    };
    assert_eq!(classify_io(&err), ErrorClass::QuotaExceeded, "{err}");
    assert!(written <= 3 * MIB, "{written}");
    drop(file);
    s.sync_fs();
    assert_eq!((s.read_back("other"), s.read_back(".images/img")), before);
    let report = s.converge(&mut r, &desired, 3);
    let used = report.volumes[0].used_bytes.unwrap();
    assert!(used > 2 * MIB && used <= 3 * MIB + 64 * 1024, "{used}");
}

#[test]
fn orphans_escapes_admission_and_no_delete_on_empty() {
    let Some(s) = scratch("orphans_escapes_admission_and_no_delete_on_empty", 1 << 30) else {
        return;
    };
    let mut r = s.reconciler();
    let capacity = s.btrfs.usage(&s.root).unwrap().capacity_bytes;
    // Two volumes of 60% of the capacity each: the later assignment does not fit.
    let big = capacity / 100 * 60;
    let desired = DesiredState {
        volumes: vec![vol("second", big, 20), vol("first", big, 10)],
        images: vec![],
    };
    let report = s.converge(&mut r, &desired, 3);
    assert!(
        matches!(&report.volumes[0].state, State::Rejected { reason } if reason.contains("bytes of quota"))
    );
    assert_eq!(report.volumes[1].state, State::Ready);
    assert!(!exists(&s.path("second")));
    // A stray subvolume and one nested in a volume.
    s.btrfs.create_subvolume(&s.path("stray")).unwrap();
    s.btrfs.create_subvolume(&s.path("first/escape")).unwrap();
    let report = r.pass(&s.btrfs, &desired, std::time::Duration::from_secs(60));
    let orphans: Vec<&str> = report.orphans.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(orphans, ["stray"]);
    assert_eq!(report.escapes.len(), 1);
    assert_eq!(
        (
            report.escapes[0].inside.as_str(),
            report.escapes[0].path.as_str()
        ),
        ("first", "first/escape")
    );
    // An empty desired state deletes nothing.
    let report = r.pass(
        &s.btrfs,
        &DesiredState::default(),
        std::time::Duration::from_secs(61),
    );
    assert_eq!(report.changes, 0);
    assert!(exists(&s.path("first")) && exists(&s.path("stray")));
}

#[test]
fn restart_from_the_persisted_desired_state() {
    let Some(s) = scratch("restart_from_the_persisted_desired_state", 1 << 30) else {
        return;
    };
    let file = StateFile::new(s.fs.path().join("desired.json"));
    let desired = DesiredState {
        volumes: vec![vol("a", MIB, 1), vol("b", 2 * MIB, 2)],
        images: vec![],
    };
    file.save(&desired).unwrap();
    // A restarted agent without a server: it reconciles what it last saw.
    let loaded = file.load().unwrap().unwrap();
    let mut r = s.reconciler();
    s.converge(&mut r, &loaded, 3);
    assert_eq!(s.read_back("b").0, Some(2 * MIB));
}
