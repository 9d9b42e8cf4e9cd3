//! Tests of the mapping both ways.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail by panicking.

use super::*;
use crate::error::ErrorClass;
use crate::server::fake::{image_view, volume_view};
use horao_model::ids::{ImageId, MachineId, VolumeId};

fn view(id: &str, name: &str) -> VolumeView {
    volume_view(id, name, "m1", 100).unwrap()
}

#[test]
fn views_map_to_desired_volumes() {
    let mut a = view("va", "a");
    a.mode = "0700".into();
    a.dilation_percent = 10;
    let mut b = view("vb", "b");
    b.image = Some(ImageId::new("img1").unwrap());
    let mut c = view("vc", "c");
    c.clone_of = Some(VolumeId::new("va").unwrap());
    c.operation = Some(OperationView::Resize {
        size_bytes: 500,
        dilation_percent: 5,
    });
    let mut d = view("vd", "d");
    d.desired_state = VolumeState::Deleting;
    let mut e = view("ve", "e");
    e.desired_state = VolumeState::Gone;
    let m = desired_from(&[a, b, c, d, e], &[], &DesiredState::default());
    assert!(m.refused.is_empty(), "{:?}", m.refused);
    let vols = &m.desired.volumes;
    assert_eq!(vols.len(), 5);
    assert_eq!((vols[0].mode, vols[0].dilation_percent), (0o700, 10));
    assert_eq!((vols[0].owner_uid, vols[0].owner_gid), (1000, 1000));
    assert_eq!(vols[1].source, VolumeSource::Image("img1".into()));
    assert_eq!(vols[2].source, VolumeSource::Clone("a".into()));
    assert_eq!((vols[2].size_bytes, vols[2].dilation_percent), (500, 5));
    assert_eq!(vols[3].desired, Presence::Deleted);
    assert_eq!(vols[4].desired, Presence::Deleted);
    assert_eq!(vols[0].desired, Presence::Present);
    let at: Vec<u64> = vols.iter().map(|v| v.assigned_at).collect();
    assert_eq!(at, [0, 1, 2, 3, 4]);
    assert_eq!(
        m.desired.images,
        [DesiredImage {
            name: "img1".into(),
            from_volume: None,
            desired: Presence::Present,
            kept_here: false,
        }]
    );
}

#[test]
fn assignment_order_survives_relisting() {
    let first = desired_from(
        &[view("v5", "x"), view("v7", "y")],
        &[],
        &DesiredState::default(),
    );
    // A new volume sorting before the others is still admitted after them.
    let second = desired_from(
        &[view("v1", "n"), view("v5", "x"), view("v7", "y")],
        &[],
        &first.desired,
    );
    let at: BTreeMap<&str, u64> = second
        .desired
        .volumes
        .iter()
        .map(|v| (v.id.as_str(), v.assigned_at))
        .collect();
    assert_eq!(at, BTreeMap::from([("v1", 2), ("v5", 0), ("v7", 1)]));
}

#[test]
fn unmappable_views_are_refused_and_keep_their_previous_entry() {
    let ok = desired_from(&[view("va", "a")], &[], &DesiredState::default());
    let mut bad = view("va", "a");
    bad.mode = "999".into();
    let mut orphan_clone = view("vb", "b");
    orphan_clone.clone_of = Some(VolumeId::new("elsewhere").unwrap());
    let m = desired_from(&[bad, orphan_clone], &[], &ok.desired);
    assert_eq!(m.desired.volumes, ok.desired.volumes);
    assert!(m.refused["va"].contains("999"), "{:?}", m.refused);
    assert!(m.refused["vb"].contains("elsewhere"), "{:?}", m.refused);
}

#[test]
fn moves_are_refused_but_the_volume_stays() {
    let mut v = view("va", "a");
    v.operation = Some(OperationView::Move {
        to: MachineId::new("m2").unwrap(),
    });
    let m = desired_from(&[v], &[], &DesiredState::default());
    assert_eq!(m.desired.volumes.len(), 1);
    assert_eq!(m.desired.volumes[0].desired, Presence::Present);
    assert_eq!(m.refused["va"], MOVE_REFUSED);
}

fn report(state: State) -> VolumeReport {
    VolumeReport {
        id: "va".into(),
        name: "a".into(),
        state,
        subvolume_id: Some(256),
        used_bytes: Some(10),
        limit_bytes: Some(110),
        read_only: Some(false),
    }
}

#[test]
fn reports_map_to_current_views() {
    let ready = current_of(&report(State::Ready), false, None);
    assert_eq!(
        ready,
        VolumeCurrentView {
            state: VolumeState::Ready,
            used_bytes: 10,
            limit_bytes: 110,
            initialized: true,
            degraded: false,
            reason: String::new(),
            nested: Vec::new(),
        }
    );
    assert!(current_of(&report(State::Ready), true, None).degraded);
    let degraded = current_of(&report(State::Degraded), false, None);
    assert_eq!(
        (degraded.state, degraded.degraded),
        (VolumeState::Ready, true)
    );
    let rejected = current_of(
        &report(State::Rejected {
            reason: "no room".into(),
        }),
        false,
        None,
    );
    assert_eq!(
        (rejected.state, rejected.reason.as_str()),
        (VolumeState::Rejected, "no room")
    );
    let failed = current_of(
        &report(State::Failed {
            class: ErrorClass::NoSpace,
            message: "full".into(),
            retry_at_ms: 5,
        }),
        false,
        None,
    );
    assert_eq!(
        (failed.state, failed.reason.as_str()),
        (VolumeState::Failed, "no-space: full")
    );
    let mut gone = report(State::Gone);
    gone.subvolume_id = None;
    gone.used_bytes = None;
    gone.limit_bytes = None;
    let gone = current_of(&gone, false, None);
    assert_eq!(
        (gone.state, gone.initialized, gone.used_bytes),
        (VolumeState::Gone, false, 0)
    );
    let moved = current_of(&report(State::Ready), false, Some(MOVE_REFUSED));
    assert_eq!((moved.state, moved.used_bytes), (VolumeState::Failed, 10));
    assert_eq!(failed_view_reason(), "why");
}

fn failed_view_reason() -> String {
    failed("why").reason
}

#[test]
fn images_from_local_volumes_are_made_used_ones_checked_and_deleted_ones_removed() {
    let mut from_img = view("vb", "b");
    from_img.image = Some(ImageId::new("used").unwrap());
    let volumes = [view("va", "a"), from_img];
    let images = [
        image_view("snap", "snapshot of a", Some("va")).unwrap(),
        image_view("used", "made elsewhere", Some("v-elsewhere")).unwrap(),
        image_view("far", "not ours", Some("v-elsewhere")).unwrap(),
    ];
    let first = desired_from(&volumes, &images, &DesiredState::default());
    let by_name = |m: &Mapped| -> BTreeMap<String, (Option<String>, Presence)> {
        m.desired
            .images
            .iter()
            .map(|i| (i.name.clone(), (i.from_volume.clone(), i.desired)))
            .collect()
    };
    let got = by_name(&first);
    assert_eq!(got["snap"], (Some("a".to_owned()), Presence::Present));
    assert_eq!(got["used"], (None, Presence::Present));
    assert!(!got.contains_key("far"), "{got:?}");

    // The server deletes `snap`: the image made here goes; `used` stays while `b` names it.
    let second = desired_from(&volumes, &images[1..], &first.desired);
    let got = by_name(&second);
    assert_eq!(got["snap"], (Some("a".to_owned()), Presence::Deleted));
    assert_eq!(got["used"], (None, Presence::Present));
    // It stays deleted on later listings, so a delete a kill interrupted is finished.
    let third = desired_from(&volumes, &images[1..], &second.desired);
    assert_eq!(by_name(&third)["snap"].1, Presence::Deleted);

    // An image taken from `a` that goes missing together with `a` (the watch feed no longer
    // shows it once `a` left this machine) is not deleted: its absence proves nothing.
    let kept = desired_from(&volumes[1..], &images[1..], &first.desired);
    assert!(!by_name(&kept).contains_key("snap"), "{:?}", by_name(&kept));

    // With a home: the server names `a`'s machine (this one) the image's home, so the feed
    // shows the image here until it is deleted. It stays this machine's after `a` is gone,
    // and a listing without it then means deleted.
    let mut homed = image_view("snap", "snapshot of a", Some("va")).unwrap();
    homed.machine = Some(MachineId::new("m1").unwrap());
    let made = desired_from(
        &volumes,
        std::slice::from_ref(&homed),
        &DesiredState::default(),
    );
    assert!(
        made.desired
            .images
            .iter()
            .any(|i| i.name == "snap" && i.kept_here)
    );
    let source_gone = desired_from(&volumes[1..], std::slice::from_ref(&homed), &made.desired);
    assert_eq!(
        by_name(&source_gone)["snap"],
        (Some("a".to_owned()), Presence::Present)
    );
    let deleted = desired_from(&volumes[1..], &[], &source_gone.desired);
    assert_eq!(
        by_name(&deleted)["snap"],
        (Some("a".to_owned()), Presence::Deleted)
    );
    // An image whose home is another machine is not this machine's to keep.
    homed.machine = Some(MachineId::new("m2").unwrap());
    let elsewhere = desired_from(
        &volumes,
        std::slice::from_ref(&homed),
        &DesiredState::default(),
    );
    assert!(elsewhere.desired.images.iter().all(|i| !i.kept_here));
}

#[test]
fn explicit_deletes_keep_the_previous_entry_as_deleted() {
    let previous = desired_from(
        &[view("va", "a"), view("vb", "b")],
        &[],
        &DesiredState::default(),
    );
    // `va` was deleted on the feed, `vb` only dropped out of the listing, `vz` never here.
    let mut m = desired_from(&[], &[], &previous.desired);
    let deleted: BTreeSet<String> = ["va".to_owned(), "vz".to_owned()].into();
    with_deletes(&mut m, &deleted, &previous.desired);
    let got: Vec<(&str, Presence, u64)> = m
        .desired
        .volumes
        .iter()
        .map(|v| (v.id.as_str(), v.desired, v.assigned_at))
        .collect();
    assert_eq!(got, [("va", Presence::Deleted, 0)]);
    // A listed volume is the listing's, whatever the deletes say.
    let mut listed = desired_from(&[view("va", "a")], &[], &previous.desired);
    with_deletes(&mut listed, &deleted, &previous.desired);
    assert_eq!(listed.desired.volumes.len(), 1);
    assert_eq!(listed.desired.volumes[0].desired, Presence::Present);
}
