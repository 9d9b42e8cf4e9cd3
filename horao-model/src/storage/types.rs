//! The values held in the storage registers, grouped by who writes them: a specification
//! (users and servers), a desired state (users and servers), a current state (the agent) and
//! an assignment (servers). These shapes are schema version 3 of the stored document; the
//! encoding is pinned by the test vectors under `testdata/`. Schema 3 gave machine reports
//! their orphans, volume reports their nested subvolumes, images their home machine and a
//! volume's desired state the machines that rejected it; the schema-2 shapes of those four
//! records are read by [`super::v2`].

use super::state::{MachineState, VolumeState};
use crate::error::{Error, Result};
use crate::ids::{DeviceId, ImageId, MachineId, PoolId, TenantId, VolumeId, VolumeName};
use crate::label::Label;
use horao_sched::vector::Dilation;
use serde::{Deserialize, Serialize};

/// Largest accepted dilation, in percent (ten times the size as headroom).
pub const MAX_DILATION_PERCENT: u32 = 1_000;

/// Largest accepted permission mode (`0o7777`: setuid, setgid, sticky and rwx bits).
pub const MAX_MODE: u32 = 0o7777;

/// What a machine's owner declares: its labels, and the inventory device it runs on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineSpec {
    /// Labels, sorted, one value per key.
    pub labels: Vec<Label>,
    /// The device of the physical inventory the machine runs on: a maintenance window on
    /// that device takes the machine out of placement while it lasts.
    pub device: Option<DeviceId>,
}

/// Implements `Serialize` and `Deserialize` for a record whose derived impls are generated
/// with `#[serde(remote = "Self")]`: it serializes in the current shape, and deserializes the
/// schema-2 shape `$old` (migrated by `From`) while a schema-2 document is decoded
/// ([`crate::schema::decoding_as`]).
macro_rules! versioned_serde {
    ($ty:ident, $old:path) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                $ty::serialize(self, s)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                if crate::schema::decoding() < 3 {
                    <$old>::deserialize(d).map(Into::into)
                } else {
                    $ty::deserialize(d)
                }
            }
        }
    };
}

/// Most paths one report may list (orphans of a machine, nested subvolumes of a volume): an
/// agent lists the first ones in sorted order and counts the rest in its own metrics.
pub const MAX_REPORTED_PATHS: usize = 256;

/// Longest path a report may list, in bytes.
pub const MAX_REPORTED_PATH_LEN: usize = 1024;

/// Checks a list of reported paths: at most [`MAX_REPORTED_PATHS`], each non-empty, at most
/// [`MAX_REPORTED_PATH_LEN`] bytes and without control characters.
fn check_paths(field: &'static str, paths: &[String]) -> Result<()> {
    if paths.len() > MAX_REPORTED_PATHS {
        return Err(Error::invalid(
            field,
            format!(
                "{} paths; a report lists at most {MAX_REPORTED_PATHS}",
                paths.len()
            ),
        ));
    }
    if let Some(bad) = paths.iter().find(|p| {
        p.is_empty() || p.len() > MAX_REPORTED_PATH_LEN || p.chars().any(char::is_control)
    }) {
        return Err(Error::invalid(
            field,
            format!(
                "{bad:?}: each path must be 1 to {MAX_REPORTED_PATH_LEN} bytes without control characters"
            ),
        ));
    }
    Ok(())
}

/// What a machine's agent reports: its state, its filesystem's capacity and usage, and the
/// subvolumes it found that no volume names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct MachineReport {
    /// The state the agent observes.
    pub state: MachineState,
    /// Filesystem capacity in bytes.
    pub capacity_bytes: u64,
    /// Bytes in use.
    pub used_bytes: u64,
    /// Subvolumes under the agent's root that no volume assigned to the machine names, as
    /// paths relative to the root, sorted (orphans: reported, never deleted by the agent);
    /// at most [`MAX_REPORTED_PATHS`]. Empty in reports of schema 2.
    #[serde(default)]
    pub orphans: Vec<String>,
}

versioned_serde!(MachineReport, super::v2::MachineReport);

impl MachineReport {
    /// Checks that usage does not exceed capacity and that the orphans are well formed.
    pub fn validate(&self) -> Result<()> {
        check_paths("machine.orphans", &self.orphans)?;
        if self.used_bytes > self.capacity_bytes {
            return Err(Error::invalid(
                "machine.used_bytes",
                format!(
                    "{} exceeds capacity {}",
                    self.used_bytes, self.capacity_bytes
                ),
            ));
        }
        Ok(())
    }
}

/// Ownership and mode of a volume's root directory on the btrfs filesystem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Permission bits, at most `0o7777`.
    pub mode: u32,
}

/// What a volume's creator declares. Frozen once the volume is placed: size and dilation then
/// change only through a resize (or a clone into a new volume).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSpec {
    /// The volume's name, unique among volumes; the agent's subvolume is called so.
    pub name: VolumeName,
    /// Nominal size in bytes (at least 1).
    pub size_bytes: u64,
    /// Headroom in percent on top of the size (at most [`MAX_DILATION_PERCENT`]).
    pub dilation_percent: u32,
    /// Owner and mode.
    pub permissions: Permissions,
    /// The volume's own labels, sorted, one value per key.
    pub labels: Vec<Label>,
    /// Labels a machine must carry to hold the volume (see [`Label::is_met_by`]), sorted,
    /// one value per key.
    pub require_labels: Vec<Label>,
    /// The tenant that owns the volume, if any: it may then manage the volume itself.
    pub tenant: Option<TenantId>,
}

/// The quota for a volume: `size × (1 + dilation_percent / 100)`, rounded up, computed in
/// integer arithmetic (shared with the scheduler); `None` when it does not fit in a `u64`.
pub fn quota_bytes(size_bytes: u64, dilation_percent: u32) -> Option<u64> {
    Dilation::from_percent(dilation_percent).apply(size_bytes)
}

/// Checks a size and dilation pair and returns its quota.
pub fn validate_size(size_bytes: u64, dilation_percent: u32) -> Result<u64> {
    if size_bytes == 0 {
        return Err(Error::invalid("volume.size_bytes", "must be at least 1"));
    }
    if dilation_percent > MAX_DILATION_PERCENT {
        return Err(Error::invalid(
            "volume.dilation_percent",
            format!("{dilation_percent} exceeds {MAX_DILATION_PERCENT}"),
        ));
    }
    quota_bytes(size_bytes, dilation_percent)
        .ok_or_else(|| Error::invalid("volume.dilation_percent", "quota overflows 64 bits"))
}

impl VolumeSpec {
    /// The quota the agent sets on the volume's qgroup.
    pub fn quota_bytes(&self) -> Option<u64> {
        quota_bytes(self.size_bytes, self.dilation_percent)
    }

    /// Checks every field; normalizes the label lists.
    pub fn validated(mut self) -> Result<Self> {
        validate_size(self.size_bytes, self.dilation_percent)?;
        if self.permissions.mode > MAX_MODE {
            return Err(Error::invalid(
                "volume.permissions.mode",
                format!("{:o} exceeds 7777", self.permissions.mode),
            ));
        }
        self.labels = crate::label::normalize("volume.labels", self.labels)?;
        self.require_labels =
            crate::label::normalize("volume.require_labels", self.require_labels)?;
        Ok(self)
    }
}

/// Where a volume's initial content comes from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Source {
    /// An image.
    Image(ImageId),
    /// Another volume (a clone).
    Volume(VolumeId),
}

/// An operation on a placed volume, started from `pending`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeOp {
    /// Change size and dilation in place.
    Resize {
        /// New nominal size.
        size_bytes: u64,
        /// New dilation.
        dilation_percent: u32,
    },
    /// Copy to another machine; the assignment moves there when the operation finishes.
    Move {
        /// The destination.
        to: MachineId,
    },
    /// Copy into a new volume on the same machine (created by the operation, possibly with a
    /// new size).
    Clone {
        /// The new volume.
        into: VolumeId,
        /// Its name.
        name: VolumeName,
        /// Its nominal size.
        size_bytes: u64,
        /// Its dilation.
        dilation_percent: u32,
    },
}

impl VolumeOp {
    /// The state the operation runs in.
    pub fn state(&self) -> VolumeState {
        match self {
            Self::Resize { .. } => VolumeState::Resizing,
            Self::Move { .. } => VolumeState::Moving,
            Self::Clone { .. } => VolumeState::Cloning,
        }
    }
}

/// Most machines a volume's desired state remembers as having rejected it.
pub const MAX_REJECTED_BY: usize = 64;

/// What users and servers want a volume to be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct DesiredVolume {
    /// The desired state.
    pub state: VolumeState,
    /// The running operation, while the state is an operation state. Boxed: most volumes
    /// run none, and the register sits inline in the volumes table's B-tree nodes (16 bytes
    /// instead of 80; the encoding is a `VolumeOp`'s all the same).
    pub op: Option<Box<VolumeOp>>,
    /// Bumped by an operator's retry of a failed volume, so its agent retries at once.
    pub attempt: u32,
    /// The machines whose agents rejected the volume since it was last placed by an
    /// operator, sorted (at most [`MAX_REJECTED_BY`], the latest kept): placing it again
    /// leaves them all out, so two full machines never pass it back and forth. Any other
    /// change of the desired state starts the list afresh. Empty in schema 2.
    #[serde(default)]
    pub rejected_by: Vec<MachineId>,
}

versioned_serde!(DesiredVolume, super::v2::DesiredVolume);

impl DesiredVolume {
    /// The desired state `state` with no operation, at attempt 0.
    pub fn new(state: VolumeState) -> Self {
        DesiredVolume {
            state,
            op: None,
            attempt: 0,
            rejected_by: Vec::new(),
        }
    }
}

/// What the agent of the assigned machine reports about a volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct VolumeReport {
    /// The state on disk: `ready`, an operation in progress, `deleting`, `gone`, or the
    /// agent's refusals `rejected` (admission: no room) and `failed` (an error it retries).
    pub state: VolumeState,
    /// Bytes used (qgroup referenced bytes).
    pub used_bytes: u64,
    /// The quota limit read back from the filesystem (0 until set).
    pub limit_bytes: u64,
    /// The subvolume exists and holds its initial content.
    pub initialized: bool,
    /// The figures may be stale: the filesystem's quota accounting is inconsistent.
    pub degraded: bool,
    /// Why the volume is `rejected` or `failed` (the error's class and message); empty
    /// otherwise.
    pub reason: String,
    /// Subvolumes a user created inside the volume, as paths relative to it, sorted: their
    /// data escapes the volume's quota. At most [`MAX_REPORTED_PATHS`]; empty in reports of
    /// schema 2.
    #[serde(default)]
    pub nested: Vec<String>,
}

versioned_serde!(VolumeReport, super::v2::VolumeReport);

/// Longest reason an agent may give, in bytes.
pub const MAX_REASON_LEN: usize = 1024;

impl VolumeReport {
    /// A report of `state` with the given usage and nothing else to say.
    pub fn new(state: VolumeState, used_bytes: u64, initialized: bool) -> Self {
        VolumeReport {
            state,
            used_bytes,
            limit_bytes: 0,
            initialized,
            degraded: false,
            reason: String::new(),
            nested: Vec::new(),
        }
    }

    /// Checks the state is one an agent reports, the reason fits it and the nested paths are
    /// well formed.
    pub fn validate(&self) -> Result<()> {
        check_paths("volume.current.nested", &self.nested)?;
        if !self.state.is_reported() {
            return Err(Error::invalid(
                "volume.current.state",
                format!("{} is not a state an agent reports", self.state),
            ));
        }
        if self.reason.len() > MAX_REASON_LEN || self.reason.chars().any(char::is_control) {
            return Err(Error::invalid(
                "volume.current.reason",
                format!("must be at most {MAX_REASON_LEN} bytes without control characters"),
            ));
        }
        let refusal = matches!(self.state, VolumeState::Rejected | VolumeState::Failed);
        if refusal && self.reason.trim().is_empty() {
            return Err(Error::invalid(
                "volume.current.reason",
                format!("a {} volume needs a reason", self.state),
            ));
        }
        Ok(())
    }
}

/// A volume's current state as stored: the last report and the machine that sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeCurrent {
    /// The reporting machine.
    pub machine: MachineId,
    /// The report.
    pub report: VolumeReport,
}

/// Where an image's data was copied from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageOrigin {
    /// An existing volume.
    Volume(VolumeId),
    /// External storage, such as an HTTP server.
    Url(String),
}

/// An image: an immutable snapshot, written once at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ImageSpec {
    /// Human-readable name.
    pub name: String,
    /// Size of the content in bytes; a volume made from the image must be at least as large.
    pub size_bytes: u64,
    /// Where the data came from.
    pub origin: ImageOrigin,
    /// The machine whose agent takes it from its source volume and keeps it: that volume's
    /// machine when the image is created (set by the model, whatever the request says), so
    /// the agent still learns of the image's deletion after the volume is gone. `None` for an
    /// image from a URL, one whose volume was not placed yet, and images of schema 2.
    #[serde(default)]
    pub home: Option<MachineId>,
}

versioned_serde!(ImageSpec, super::v2::ImageSpec);

/// One copy of an image: a volume holding it in a storage pool.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageReplica {
    /// The pool.
    pub pool: PoolId,
    /// The volume holding the copy.
    pub volume: VolumeId,
}

/// What an instance's owner declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// Human-readable name.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_paths_are_bounded_and_printable() {
        let report = |orphans: Vec<String>| MachineReport {
            state: MachineState::Ready,
            capacity_bytes: 10,
            used_bytes: 1,
            orphans,
        };
        assert!(report(vec!["a".into(), "b/c".into()]).validate().is_ok());
        let many = (0..=MAX_REPORTED_PATHS).map(|i| i.to_string()).collect();
        for bad in [
            many,
            vec![String::new()],
            vec!["a\nb".into()],
            vec!["x".repeat(MAX_REPORTED_PATH_LEN + 1)],
        ] {
            let err = report(bad).validate().unwrap_err().to_string();
            assert!(err.contains("machine.orphans"), "{err}");
        }
        let mut volume = VolumeReport::new(VolumeState::Ready, 0, true);
        volume.nested = vec!["in\0side".into()];
        let err = volume.validate().unwrap_err().to_string();
        assert!(err.contains("volume.current.nested"), "{err}");
    }
}
