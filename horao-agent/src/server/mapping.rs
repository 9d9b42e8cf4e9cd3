//! The mapping between the server's views and the reconcile loop's types, both ways.
//!
//! Server → agent (`VolumeView` → [`DesiredVolume`]):
//! - `desired_state` `deleting` or `gone` → [`Presence::Deleted`] (the only way a volume is
//!   deleted); any other state → present.
//! - size and dilation: a running `resize` operation's figures, else the volume's.
//! - `mode` from its octal string; `image` → [`VolumeSource::Image`] named by the image's id
//!   (images live at `root/.images/<image id>`: ids are unique, display names need not be);
//!   `clone_of` → [`VolumeSource::Clone`] with the source volume's name.
//! - `assigned_at`: the order in which this agent first saw the assignment. The view carries
//!   no assignment time, so the agent keeps the value from its previous (persisted) desired
//!   state and numbers new volumes after the largest one, in the listing's (id) order. The
//!   admission order is thereby stable across passes and restarts, and earlier assignments
//!   keep their room.
//! - A `move` operation is refused (moves between hosts are not implemented yet): the volume
//!   stays as it is and its report says why.
//! - Images (`ImageView` → [`DesiredImage`], named by id): an image taken from a volume this
//!   machine holds is snapshotted from it (read-only, at `root/.images/<id>`); an image a
//!   volume here is made from, but whose source is elsewhere, is only checked (copying images
//!   between hosts is later work). An image this agent made before and that a complete
//!   listing no longer has while its source volume is still listed was deleted on the
//!   server: it is deleted here, unless a volume still names it. Once its source volume is
//!   gone too, a missing image is deleted when the server named this machine its home
//!   ([`DesiredImage::kept_here`]: the watch feed shows an image to its home until it is
//!   deleted); an image without a home (made before homes existed) is left alone, as the
//!   feed shows it only while its source volume is on this machine.
//! - A volume the watch feed deleted explicitly (a `delete` record) keeps its previous
//!   entry as [`Presence::Deleted`] until it is gone ([`with_deletes`]); a volume merely
//!   absent from a listing or a snapshot is dropped (an orphan on disk, never deleted).
//! - A view that cannot be mapped (a mode that does not parse, a clone source this machine
//!   does not have) is reported failed with the reason; when the previous desired state has
//!   the volume, that entry is kept, so a bad update never turns a volume into an orphan.
//!
//! Agent → server ([`VolumeReport`] → `VolumeCurrentView`): ready and degraded → `ready`
//! (`degraded` set, as it is for every volume while the pass saw inconsistent qgroups);
//! rejected and failed → `rejected`/`failed` with the reason; gone → `gone`. Used bytes are
//! the qgroup's referenced bytes, the limit is the one read back. The subvolumes nested in a
//! volume go with its report (`nested`, relative to the volume), the orphans with the
//! machine's (`orphans`, relative to the root): the first 256 of each, sorted.

use crate::desired::{DesiredImage, DesiredState, DesiredVolume, Presence, VolumeSource};
use crate::report::{Escape, Orphan, State, VolumeReport};
use horao_model::api::storage::{
    ImageView, OperationView, VolumeCurrentView, VolumeView, parse_mode,
};
use horao_model::ids::{MachineId, VolumeId};
use horao_model::storage::{MAX_REPORTED_PATH_LEN, MAX_REPORTED_PATHS, VolumeState};
use std::collections::{BTreeMap, BTreeSet};

/// The reason a move is refused.
pub const MOVE_REFUSED: &str =
    "moving a volume between machines is not implemented yet; it stays on this machine";

/// A listing mapped to the loop's desired state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapped {
    /// What the loop reconciles.
    pub desired: DesiredState,
    /// Volumes reported failed whatever the pass does, by id, with the reason.
    pub refused: BTreeMap<String, String>,
}

fn source_of(
    v: &VolumeView,
    names: &BTreeMap<&str, &str>,
    previous: Option<&DesiredVolume>,
) -> Result<VolumeSource, String> {
    if let Some(image) = &v.image {
        return Ok(VolumeSource::Image(image.as_str().to_owned()));
    }
    let Some(from) = &v.clone_of else {
        return Ok(VolumeSource::None);
    };
    match (names.get(from.as_str()), previous) {
        (Some(name), _) => Ok(VolumeSource::Clone((*name).to_owned())),
        (None, Some(p)) => Ok(p.source.clone()),
        (None, None) => Err(format!(
            "the clone source {} is not on this machine",
            from.as_str()
        )),
    }
}

fn volume_of(
    v: &VolumeView,
    names: &BTreeMap<&str, &str>,
    previous: Option<&DesiredVolume>,
    assigned_at: u64,
) -> Result<DesiredVolume, String> {
    let mode = parse_mode(&v.mode).map_err(|e| e.to_string())?;
    let (size_bytes, dilation_percent) = match &v.operation {
        Some(OperationView::Resize {
            size_bytes,
            dilation_percent,
        }) => (*size_bytes, *dilation_percent),
        _ => (v.size_bytes, v.dilation_percent),
    };
    let desired = match v.desired_state {
        VolumeState::Deleting | VolumeState::Gone => Presence::Deleted,
        _ => Presence::Present,
    };
    Ok(DesiredVolume {
        id: v.id.as_str().to_owned(),
        name: v.name.as_str().to_owned(),
        size_bytes,
        dilation_percent,
        owner_uid: v.owner_uid,
        owner_gid: v.owner_gid,
        mode,
        source: source_of(v, names, previous)?,
        assigned_at,
        desired,
    })
}

/// Maps the volumes listed for this machine and the images, given the previous desired state.
pub fn desired_from(views: &[VolumeView], images: &[ImageView], previous: &DesiredState) -> Mapped {
    let before: BTreeMap<&str, &DesiredVolume> = previous
        .volumes
        .iter()
        .map(|v| (v.id.as_str(), v))
        .collect();
    let names: BTreeMap<&str, &str> = views
        .iter()
        .map(|v| (v.id.as_str(), v.name.as_str()))
        .collect();
    let mut next_at = previous
        .volumes
        .iter()
        .map(|v| v.assigned_at.saturating_add(1))
        .max()
        .unwrap_or(0);
    let mut mapped = Mapped::default();
    for v in views {
        let id = v.id.as_str();
        let prev = before.get(id).copied();
        let at = prev.map_or_else(
            || {
                next_at += 1;
                next_at - 1
            },
            |p| p.assigned_at,
        );
        match volume_of(v, &names, prev, at) {
            Ok(d) => mapped.desired.volumes.push(d),
            Err(reason) => {
                mapped.desired.volumes.extend(prev.cloned());
                mapped.refused.insert(id.to_owned(), reason);
            }
        }
        if matches!(v.operation, Some(OperationView::Move { .. })) {
            mapped
                .refused
                .insert(id.to_owned(), MOVE_REFUSED.to_owned());
        }
    }
    mapped.desired.images = images_of(images, views, &names, &mapped.desired, previous);
    mapped
}

/// Adds the volumes the watch feed deleted explicitly (`deleted`, by id) that the listing no
/// longer has: each keeps its previous entry, marked [`Presence::Deleted`], until the agent
/// has removed it. An id the previous state does not have is not on disk by this agent's
/// doing and is left alone.
pub fn with_deletes(mapped: &mut Mapped, deleted: &BTreeSet<String>, previous: &DesiredState) {
    for id in deleted {
        if mapped.desired.volumes.iter().any(|v| &v.id == id) {
            continue;
        }
        if let Some(p) = previous.volumes.iter().find(|v| &v.id == id) {
            mapped.desired.volumes.push(DesiredVolume {
                desired: Presence::Deleted,
                ..p.clone()
            });
        }
    }
}

/// The images this machine should hold: those taken from its volumes (made here), those its
/// present volumes are made from (checked), and those it made before that the server deleted.
fn images_of(
    images: &[ImageView],
    views: &[VolumeView],
    names: &BTreeMap<&str, &str>,
    desired: &DesiredState,
    previous: &DesiredState,
) -> Vec<DesiredImage> {
    let mut out: BTreeMap<&str, DesiredImage> = BTreeMap::new();
    let machine_of: BTreeMap<&VolumeId, Option<&MachineId>> =
        views.iter().map(|v| (&v.id, v.machine.as_ref())).collect();
    for image in images {
        let source = image
            .from_volume
            .as_ref()
            .and_then(|v| names.get(v.as_str()));
        if let Some(volume) = source {
            // Its home is this machine when it is the machine of the volume it is made from.
            let here = image
                .from_volume
                .as_ref()
                .and_then(|v| machine_of.get(v).copied().flatten());
            out.insert(
                image.id.as_str(),
                DesiredImage {
                    name: image.id.as_str().to_owned(),
                    from_volume: Some((*volume).to_owned()),
                    desired: Presence::Present,
                    kept_here: image.machine.is_some() && image.machine.as_ref() == here,
                },
            );
        }
    }
    for v in desired.present_volumes() {
        if let VolumeSource::Image(i) = &v.source {
            out.entry(i.as_str()).or_insert_with(|| DesiredImage {
                name: i.clone(),
                from_volume: None,
                desired: Presence::Present,
                kept_here: false,
            });
        }
    }
    let listed: BTreeSet<&str> = images.iter().map(|i| i.id.as_str()).collect();
    let volumes: BTreeSet<&str> = names.values().copied().collect();
    for old in &previous.images {
        let made_here = old.from_volume.is_some();
        // Missing while its volume is still listed: deleted on the server. Missing once its
        // volume is gone too: deleted when this machine is its home (the watch feed shows an
        // image to its home until it is deleted); otherwise (an image of a server before
        // homes) it may only have left this machine's watch feed, which shows an image taken
        // from a volume while that volume is here, so it is left alone, unless it was already
        // being deleted.
        let source_here = old
            .from_volume
            .as_deref()
            .is_some_and(|v| volumes.contains(v));
        if old.kept_here
            && old.desired == Presence::Present
            && listed.contains(old.name.as_str())
            && !out.contains_key(old.name.as_str())
        {
            // Its source volume is gone, the image is not: still this machine's to keep.
            out.insert(old.name.as_str(), old.clone());
            continue;
        }
        if made_here
            && (source_here || old.kept_here || old.desired == Presence::Deleted)
            && !listed.contains(old.name.as_str())
            && !out.contains_key(old.name.as_str())
        {
            out.insert(
                old.name.as_str(),
                DesiredImage {
                    desired: Presence::Deleted,
                    ..old.clone()
                },
            );
        }
    }
    out.into_values().collect()
}

/// A failed report with `reason` and no figures.
pub fn failed(reason: &str) -> VolumeCurrentView {
    VolumeCurrentView {
        state: VolumeState::Failed,
        used_bytes: 0,
        limit_bytes: 0,
        initialized: false,
        degraded: false,
        reason: reason.to_owned(),
        nested: Vec::new(),
    }
}

/// The current state to report for one volume; `degraded` is the pass's flag, `refused` the
/// mapping's reason, if any.
pub fn current_of(r: &VolumeReport, degraded: bool, refused: Option<&str>) -> VolumeCurrentView {
    let (state, reason) = match &r.state {
        State::Ready | State::Degraded => (VolumeState::Ready, String::new()),
        State::Rejected { reason } => (VolumeState::Rejected, reason.clone()),
        State::Failed { class, message, .. } => {
            (VolumeState::Failed, format!("{}: {message}", class.name()))
        }
        State::Gone => (VolumeState::Gone, String::new()),
    };
    let mut view = VolumeCurrentView {
        state,
        used_bytes: r.used_bytes.unwrap_or(0),
        limit_bytes: r.limit_bytes.unwrap_or(0),
        initialized: r.subvolume_id.is_some(),
        degraded: degraded || r.state == State::Degraded,
        reason,
        nested: Vec::new(),
    };
    if let Some(reason) = refused {
        view.state = VolumeState::Failed;
        view.reason = reason.to_owned();
    }
    view
}

/// At most `MAX_REPORTED_PATHS` of `paths`, sorted (the model refuses longer lists and
/// longer paths; the agent's metrics count them all).
fn reportable(mut paths: Vec<String>) -> Vec<String> {
    paths.retain(|p| !p.is_empty() && p.len() <= MAX_REPORTED_PATH_LEN);
    paths.sort();
    paths.dedup();
    paths.truncate(MAX_REPORTED_PATHS);
    paths
}

/// The machine's orphans as its report lists them: paths relative to the root.
pub fn orphans_of(orphans: &[Orphan]) -> Vec<String> {
    reportable(orphans.iter().map(|o| o.path.clone()).collect())
}

/// The subvolumes nested in the volume named `name`, as paths relative to it.
pub fn nested_in(escapes: &[Escape], name: &str) -> Vec<String> {
    reportable(
        escapes
            .iter()
            .filter(|e| e.inside == name)
            .map(|e| {
                e.path
                    .strip_prefix(name)
                    .and_then(|p| p.strip_prefix('/'))
                    .unwrap_or(&e.path)
                    .to_owned()
            })
            .collect(),
    )
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
