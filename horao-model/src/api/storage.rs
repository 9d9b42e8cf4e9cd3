//! Views and requests of storage and compute: machines, volumes, images and instances. These
//! field names are the contract scripts and the agent rely on.

use super::{LabelMap, ListQuery, Page, id, labels_from, labels_to, page};
use crate::error::{Error, Result};
use crate::ids::{DeviceId, ImageId, InstanceId, MachineId, TenantId, VolumeId, VolumeName};
use crate::model::Model;
use crate::storage::{
    ImageOrigin, ImageReplica, ImageSpec, InstanceSpec, InstanceState, MachineReport, MachineSpec,
    MachineState, Permissions, Source, VolumeOp, VolumeReport, VolumeSpec, VolumeState,
};
use serde::{Deserialize, Serialize};

/// A storage host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MachineView {
    /// Its id (its name).
    pub id: MachineId,
    /// Labels.
    pub labels: LabelMap,
    /// The inventory device it runs on.
    pub device: Option<DeviceId>,
    /// The state operators want.
    pub desired_state: MachineState,
    /// The state its agent reports (`provisioning` until the first report).
    pub state: MachineState,
    /// Filesystem capacity its agent reports.
    pub capacity_bytes: u64,
    /// Bytes in use its agent reports.
    pub used_bytes: u64,
    /// The quotas of the volumes placed on it.
    pub reserved_bytes: u64,
    /// Subvolumes its agent found under its root that no volume names (orphans), as paths
    /// relative to the root, sorted: reported, never deleted by the agent.
    pub orphans: Vec<String>,
}

/// What an agent (or an operator) puts for a machine: registers it or updates it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PutMachine {
    /// Labels.
    #[serde(default)]
    pub labels: LabelMap,
    /// The inventory device it runs on.
    #[serde(default)]
    pub device: Option<String>,
    /// The state the agent observes (with the figures below: an agent's report).
    #[serde(default)]
    pub state: Option<MachineState>,
    /// Filesystem capacity.
    #[serde(default)]
    pub capacity_bytes: Option<u64>,
    /// Bytes in use.
    #[serde(default)]
    pub used_bytes: Option<u64>,
    /// With a report: subvolumes under the agent's root that no volume names, as paths
    /// relative to the root (at most 256, each at most 1,024 bytes).
    #[serde(default)]
    pub orphans: Vec<String>,
}

/// A volume's current state as its agent reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct VolumeCurrentView {
    /// What is on disk: `ready`, an operation, `deleting`, `gone`, `rejected` or `failed`.
    pub state: VolumeState,
    /// Bytes used (the qgroup's referenced bytes).
    #[serde(default)]
    pub used_bytes: u64,
    /// The quota limit read back from the filesystem.
    #[serde(default)]
    pub limit_bytes: u64,
    /// The subvolume exists and holds its initial content.
    #[serde(default)]
    pub initialized: bool,
    /// The figures may be stale (quota accounting inconsistent).
    #[serde(default)]
    pub degraded: bool,
    /// Why it is `rejected` or `failed`.
    #[serde(default)]
    pub reason: String,
    /// Subvolumes a user created inside it, as paths relative to it (their data escapes its
    /// quota; at most 256, each at most 1,024 bytes).
    #[serde(default)]
    pub nested: Vec<String>,
}

/// An operation running on a volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", tag = "op", deny_unknown_fields)]
pub enum OperationView {
    /// A resize to a new size and dilation.
    Resize {
        /// New nominal size.
        size_bytes: u64,
        /// New dilation.
        dilation_percent: u32,
    },
    /// A move to another machine.
    Move {
        /// The destination.
        to: MachineId,
    },
    /// A clone into a new volume.
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

/// A volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VolumeView {
    /// Its id.
    pub id: VolumeId,
    /// Its unique name: the subvolume's name on its machine.
    pub name: VolumeName,
    /// Nominal size in bytes.
    pub size_bytes: u64,
    /// Headroom in percent on top of the size.
    pub dilation_percent: u32,
    /// The quota the agent sets: `size × (1 + dilation/100)`, rounded up.
    pub quota_bytes: Option<u64>,
    /// Owner user id of its root directory.
    pub owner_uid: u32,
    /// Owner group id.
    pub owner_gid: u32,
    /// Permission bits, in octal (`"0750"`).
    pub mode: String,
    /// Its own labels.
    pub labels: LabelMap,
    /// Labels a machine must carry to hold it.
    pub require_labels: LabelMap,
    /// The tenant that owns it.
    pub tenant: Option<TenantId>,
    /// The image it was made from.
    pub image: Option<ImageId>,
    /// The volume it was cloned from.
    pub clone_of: Option<VolumeId>,
    /// The machine it is on (the first, when concurrent placements gave it several).
    pub machine: Option<MachineId>,
    /// Every machine it is assigned to (more than one is a conflict).
    pub machines: Vec<MachineId>,
    /// The state operators want.
    pub desired_state: VolumeState,
    /// The operation running, if any.
    pub operation: Option<OperationView>,
    /// Bumped by each retry of a failed volume.
    pub attempt: u32,
    /// The machines whose agents rejected it before it was placed where it is now (since it
    /// was last placed by hand), sorted; a refusal by its current machine is in `current`.
    /// (Absent from servers before schema 3: read as empty.)
    #[serde(default)]
    pub rejected_by: Vec<MachineId>,
    /// The machine whose agent reported last.
    pub reported_by: Option<MachineId>,
    /// What its agent last reported.
    pub current: Option<VolumeCurrentView>,
}

fn default_mode() -> String {
    "0750".into()
}

/// Creates a volume (and places it): only `name` and `size_bytes` are required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateVolume {
    /// Unique name.
    pub name: String,
    /// Nominal size in bytes.
    pub size_bytes: u64,
    /// Headroom in percent (default 0).
    #[serde(default)]
    pub dilation_percent: u32,
    /// Owner user id (default 0).
    #[serde(default)]
    pub owner_uid: u32,
    /// Owner group id (default 0).
    #[serde(default)]
    pub owner_gid: u32,
    /// Permission bits in octal (default `"0750"`).
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Its own labels.
    #[serde(default)]
    pub labels: LabelMap,
    /// Labels a machine must carry to hold it.
    #[serde(default)]
    pub require_labels: LabelMap,
    /// Make it from this image.
    #[serde(default)]
    pub image: Option<String>,
    /// The tenant that owns it.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// Resizes a volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ResizeVolume {
    /// New nominal size in bytes.
    pub size_bytes: u64,
    /// New dilation (default: unchanged).
    #[serde(default)]
    pub dilation_percent: Option<u32>,
}

/// Clones a volume into a new one on the same machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CloneVolume {
    /// The new volume's unique name.
    pub name: String,
    /// Its size (default: the source's).
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// Its dilation (default: the source's).
    #[serde(default)]
    pub dilation_percent: Option<u32>,
}

/// Moves a volume to another machine. Not implemented yet: copying a volume's data between
/// agents (btrfs send/receive) is later work, and the server refuses the request with 422
/// ([`MOVE_NOT_IMPLEMENTED`]) rather than pretend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MoveVolume {
    /// The machine to move it to.
    pub to: String,
}

/// Why a move is refused.
pub const MOVE_NOT_IMPLEMENTED: &str = "moving a volume between machines is not implemented yet \
     (copying its data between agents is later work); the volume stays where it is";

/// An image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImageView {
    /// Its id.
    pub id: ImageId,
    /// Display name.
    pub name: String,
    /// Size of its content.
    pub size_bytes: u64,
    /// The volume it was taken from.
    pub from_volume: Option<VolumeId>,
    /// The URL it was copied from.
    pub url: Option<String>,
    /// Its copies, as `(pool, volume)`.
    pub replicas: Vec<ImageReplica>,
    /// The machine that took it from its source volume and keeps it (that volume's machine
    /// when the image was created).
    pub machine: Option<MachineId>,
}

/// Creates an image from a volume or a URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateImage {
    /// Display name.
    pub name: String,
    /// Size of its content.
    pub size_bytes: u64,
    /// Take it from this volume.
    #[serde(default)]
    pub from_volume: Option<String>,
    /// Copy it from this URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// A compute instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InstanceView {
    /// Its id.
    pub id: InstanceId,
    /// Display name.
    pub name: String,
    /// Run state.
    pub state: InstanceState,
    /// Its disks.
    pub disks: Vec<VolumeId>,
}

/// Creates an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInstance {
    /// Display name.
    pub name: String,
}

/// Parses an octal mode such as `"0750"` (at most `7777`).
pub fn parse_mode(s: &str) -> Result<u32> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(Error::invalid(
            "volume.mode",
            format!("{s:?} is not an octal mode such as \"0750\""),
        ));
    }
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= crate::storage::MAX_MODE)
        .ok_or_else(|| Error::invalid("volume.mode", format!("{s} exceeds 7777")))
}

impl CreateVolume {
    /// The model's spec and source.
    pub fn to_model(&self) -> Result<(VolumeSpec, Option<Source>)> {
        let spec = VolumeSpec {
            name: VolumeName::new(self.name.as_str())?,
            size_bytes: self.size_bytes,
            dilation_percent: self.dilation_percent,
            permissions: Permissions {
                uid: self.owner_uid,
                gid: self.owner_gid,
                mode: parse_mode(&self.mode)?,
            },
            labels: labels_from("volume.labels", &self.labels)?,
            require_labels: labels_from("volume.require_labels", &self.require_labels)?,
            tenant: self.tenant.as_deref().map(id).transpose()?,
        };
        let source = self
            .image
            .as_deref()
            .map(|i| id(i).map(Source::Image))
            .transpose()?;
        Ok((spec.validated()?, source))
    }
}

impl ResizeVolume {
    /// The operation, for a volume of dilation `old_dilation`.
    pub fn to_model(&self, old_dilation: u32) -> VolumeOp {
        VolumeOp::Resize {
            size_bytes: self.size_bytes,
            dilation_percent: self.dilation_percent.unwrap_or(old_dilation),
        }
    }
}

impl CloneVolume {
    /// The operation cloning a volume of `spec` into the new volume `into`.
    pub fn to_model(&self, into: VolumeId, spec: &VolumeSpec) -> Result<VolumeOp> {
        Ok(VolumeOp::Clone {
            into,
            name: VolumeName::new(self.name.as_str())?,
            size_bytes: self.size_bytes.unwrap_or(spec.size_bytes),
            dilation_percent: self.dilation_percent.unwrap_or(spec.dilation_percent),
        })
    }
}

impl PutMachine {
    /// The model's spec, and the report when the request carries one (a state and both
    /// figures).
    pub fn to_model(&self) -> Result<(MachineSpec, Option<MachineReport>)> {
        let spec = MachineSpec {
            labels: labels_from("machine.labels", &self.labels)?,
            device: self.device.as_deref().map(id).transpose()?,
        };
        let report = match (self.state, self.capacity_bytes, self.used_bytes) {
            (None, None, None) if self.orphans.is_empty() => None,
            (Some(state), Some(capacity_bytes), Some(used_bytes)) => Some(MachineReport {
                state,
                capacity_bytes,
                used_bytes,
                orphans: self.orphans.clone(),
            }),
            _ => {
                return Err(Error::invalid(
                    "machine.state",
                    "a report gives state, capacity_bytes and used_bytes together (and orphans only with them)",
                ));
            }
        };
        Ok((spec, report))
    }
}

impl VolumeCurrentView {
    /// The model's report.
    pub fn to_model(&self) -> VolumeReport {
        VolumeReport {
            state: self.state,
            used_bytes: self.used_bytes,
            limit_bytes: self.limit_bytes,
            initialized: self.initialized,
            degraded: self.degraded,
            reason: self.reason.clone(),
            nested: self.nested.clone(),
        }
    }

    fn of(r: &VolumeReport) -> Self {
        VolumeCurrentView {
            state: r.state,
            used_bytes: r.used_bytes,
            limit_bytes: r.limit_bytes,
            initialized: r.initialized,
            degraded: r.degraded,
            reason: r.reason.clone(),
            nested: r.nested.clone(),
        }
    }
}

impl CreateImage {
    /// The model's spec.
    pub fn to_model(&self) -> Result<ImageSpec> {
        let origin = match (&self.from_volume, &self.url) {
            (Some(v), None) => ImageOrigin::Volume(id(v)?),
            (None, Some(u)) => ImageOrigin::Url(u.clone()),
            _ => {
                return Err(Error::invalid(
                    "image.origin",
                    "give exactly one of from_volume and url",
                ));
            }
        };
        Ok(ImageSpec {
            name: self.name.clone(),
            size_bytes: self.size_bytes,
            origin,
            home: None,
        })
    }
}

impl CreateInstance {
    /// The model's spec.
    pub fn to_model(&self) -> InstanceSpec {
        InstanceSpec {
            name: self.name.clone(),
        }
    }
}

impl MachineView {
    /// The view of machine `id`, if it exists.
    pub fn of(m: &Model, id: &MachineId) -> Option<Self> {
        let x = m.storage.machine(id)?;
        let spec = x.spec()?;
        let report = x.current();
        Some(MachineView {
            id: id.clone(),
            labels: labels_to(&spec.labels),
            device: spec.device.clone(),
            desired_state: x.desired_state(),
            state: x.current_state(),
            capacity_bytes: report.map_or(0, |r| r.capacity_bytes),
            used_bytes: report.map_or(0, |r| r.used_bytes),
            reserved_bytes: m.storage.reserved_bytes(id),
            orphans: report.map_or_else(Vec::new, |r| r.orphans.clone()),
        })
    }
}

impl VolumeView {
    /// The view of volume `id`, if it exists.
    pub fn of(m: &Model, id: &VolumeId) -> Option<Self> {
        let v = m.storage.volume(id)?;
        let spec = v.spec()?;
        let desired = v.desired();
        let machines: Vec<MachineId> = v.assigned().into_iter().cloned().collect();
        let (image, clone_of) = match v.source() {
            Some(Source::Image(i)) => (Some(i.clone()), None),
            Some(Source::Volume(x)) => (None, Some(x.clone())),
            None => (None, None),
        };
        let operation = desired.op.as_deref().map(|op| match op {
            VolumeOp::Resize {
                size_bytes,
                dilation_percent,
            } => OperationView::Resize {
                size_bytes: *size_bytes,
                dilation_percent: *dilation_percent,
            },
            VolumeOp::Move { to } => OperationView::Move { to: to.clone() },
            VolumeOp::Clone {
                into,
                name,
                size_bytes,
                dilation_percent,
            } => OperationView::Clone {
                into: into.clone(),
                name: name.clone(),
                size_bytes: *size_bytes,
                dilation_percent: *dilation_percent,
            },
        });
        Some(VolumeView {
            id: id.clone(),
            name: spec.name.clone(),
            size_bytes: spec.size_bytes,
            dilation_percent: spec.dilation_percent,
            quota_bytes: spec.quota_bytes(),
            owner_uid: spec.permissions.uid,
            owner_gid: spec.permissions.gid,
            mode: format!("{:04o}", spec.permissions.mode),
            labels: labels_to(&spec.labels),
            require_labels: labels_to(&spec.require_labels),
            tenant: spec.tenant.clone(),
            image,
            clone_of,
            machine: machines.first().cloned(),
            machines,
            desired_state: desired.state,
            operation,
            attempt: desired.attempt,
            rejected_by: desired.rejected_by.clone(),
            reported_by: v.current().map(|c| c.machine.clone()),
            current: v.current().map(|c| VolumeCurrentView::of(&c.report)),
        })
    }
}

impl ImageView {
    /// The view of image `id`, if it exists.
    pub fn of(m: &Model, id: &ImageId) -> Option<Self> {
        let i = m.storage.image(id)?;
        let s = i.spec()?;
        let (from_volume, url) = match &s.origin {
            ImageOrigin::Volume(v) => (Some(v.clone()), None),
            ImageOrigin::Url(u) => (None, Some(u.clone())),
        };
        Some(ImageView {
            id: id.clone(),
            name: s.name.clone(),
            size_bytes: s.size_bytes,
            from_volume,
            url,
            replicas: i.replicas().cloned().collect(),
            machine: s.home.clone(),
        })
    }
}

impl InstanceView {
    /// The view of instance `id`, if it exists.
    pub fn of(m: &Model, id: &InstanceId) -> Option<Self> {
        let i = m.storage.instance(id)?;
        Some(InstanceView {
            id: id.clone(),
            name: i.spec()?.name.clone(),
            state: i.state(),
            disks: i.disks().cloned().collect(),
        })
    }
}

/// A page of machines (filters: name = id, label, datacenter of its device).
pub fn list_machines(m: &Model, q: &ListQuery) -> Result<Page<MachineView>> {
    let f = q.parse()?;
    page(
        &m.storage.machines,
        &f,
        |id, x| {
            x.spec().is_some_and(|s| {
                f.name_ok(id.as_str())
                    && f.labels_ok(&s.labels)
                    && f.datacenter_ok(
                        s.device
                            .as_ref()
                            .and_then(|d| m.physical.device_datacenter(d))
                            .map(|d| d.as_str()),
                    )
            })
        },
        |id, _| MachineView::of(m, id),
    )
}

/// A page of volumes (filters: name, label (its own labels), machine, and datacenter: of the
/// device its machine runs on).
pub fn list_volumes(m: &Model, q: &ListQuery) -> Result<Page<VolumeView>> {
    let f = q.parse()?;
    let dc_of = |machine: &MachineId| {
        let device = m.storage.machine(machine)?.spec()?.device.as_ref()?;
        m.physical.device_datacenter(device).map(|d| d.as_str())
    };
    page(
        &m.storage.volumes,
        &f,
        |_, v| {
            v.spec().is_some_and(|s| {
                f.name_ok(s.name.as_str())
                    && f.labels_ok(&s.labels)
                    && f.machine
                        .as_deref()
                        .is_none_or(|x| v.assigned().iter().any(|a| a.as_str() == x))
                    && (f.datacenter.is_none()
                        || v.assigned().iter().any(|a| f.datacenter_ok(dc_of(a))))
            })
        },
        |id, _| VolumeView::of(m, id),
    )
}

/// A page of images (filter: name).
pub fn list_images(m: &Model, q: &ListQuery) -> Result<Page<ImageView>> {
    let f = q.parse()?;
    page(
        &m.storage.images,
        &f,
        |_, i| {
            i.spec().is_some_and(|s| f.name_ok(&s.name))
                && f.label.is_none()
                && f.datacenter.is_none()
        },
        |id, _| ImageView::of(m, id),
    )
}

/// A page of instances (filter: name).
pub fn list_instances(m: &Model, q: &ListQuery) -> Result<Page<InstanceView>> {
    let f = q.parse()?;
    page(
        &m.storage.instances,
        &f,
        |_, i| {
            i.spec().is_some_and(|s| f.name_ok(&s.name))
                && f.label.is_none()
                && f.datacenter.is_none()
        },
        |id, _| InstanceView::of(m, id),
    )
}
