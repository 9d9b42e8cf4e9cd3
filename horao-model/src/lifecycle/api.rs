//! API views: the JSON shapes the server returns for storage entities (version 1 of the
//! `/api/v1` resources). They are built from the stored document and never stored.

use super::ids::{ImageId, InstanceId, Label, MachineId, VolumeId};
use super::state::{InstanceState, MachineState};
use super::types::{
    DesiredVolume, ImageReplica, ImageSpec, InstanceSpec, MachineReport, Source, VolumeCurrent,
    VolumeSpec,
};
use super::{Image, Instance, Machine, Volume};
use serde::{Deserialize, Serialize};

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// The cursor for the next page (the last id returned), if more items follow.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Takes at most `limit` (at least 1) items from `it`, mapping each to `(id, view)`.
    pub(crate) fn collect<I, X>(mut it: I, limit: usize, f: impl Fn(X) -> (String, T)) -> Self
    where
        I: Iterator<Item = X>,
    {
        let limit = limit.max(1);
        let mut items = Vec::new();
        let mut last = None;
        for x in it.by_ref().take(limit) {
            let (id, v) = f(x);
            last = Some(id);
            items.push(v);
        }
        let next = if it.next().is_some() { last } else { None };
        Self { items, next }
    }
}

/// A machine as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineView {
    /// Its id.
    pub id: MachineId,
    /// Its labels.
    pub labels: Vec<Label>,
    /// The state users and servers want.
    pub desired_state: MachineState,
    /// The agent's last report.
    pub current: Option<MachineReport>,
    /// Sum of the quotas of the volumes assigned to it.
    pub reserved_bytes: u64,
}

impl MachineView {
    /// The view of machine `id`.
    pub fn new(id: &MachineId, m: &Machine, reserved_bytes: u64) -> Self {
        Self {
            id: id.clone(),
            labels: m.spec().map(|s| s.labels.clone()).unwrap_or_default(),
            desired_state: m.desired_state(),
            current: m.current().cloned(),
            reserved_bytes,
        }
    }
}

/// A volume as the API (and the agent) sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeView {
    /// Its id.
    pub id: VolumeId,
    /// Size, dilation, permissions, filters.
    pub spec: Option<VolumeSpec>,
    /// The qgroup limit: `size × (1 + dilation)`.
    pub quota_bytes: Option<u64>,
    /// The initial content, until initialized.
    pub source: Option<Source>,
    /// Desired state and operation.
    pub desired: DesiredVolume,
    /// Assigned machines (more than one is a conflict).
    pub assigned: Vec<MachineId>,
    /// The agent's last report.
    pub current: Option<VolumeCurrent>,
}

impl VolumeView {
    /// The view of volume `id`.
    pub fn new(id: &VolumeId, v: &Volume) -> Self {
        Self {
            id: id.clone(),
            spec: v.spec().cloned(),
            quota_bytes: v.quota_bytes(),
            source: v.source().cloned(),
            desired: v.desired(),
            assigned: v.assigned().into_iter().cloned().collect(),
            current: v.current().cloned(),
        }
    }
}

/// An image as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageView {
    /// Its id.
    pub id: ImageId,
    /// Name, size, origin.
    pub spec: Option<ImageSpec>,
    /// Its copies.
    pub replicas: Vec<ImageReplica>,
}

impl ImageView {
    /// The view of image `id`.
    pub fn new(id: &ImageId, i: &Image) -> Self {
        Self {
            id: id.clone(),
            spec: i.spec().cloned(),
            replicas: i.replicas().cloned().collect(),
        }
    }
}

/// An instance as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    /// Its id.
    pub id: InstanceId,
    /// Name.
    pub spec: Option<InstanceSpec>,
    /// Run state.
    pub state: InstanceState,
    /// Attached volumes.
    pub disks: Vec<VolumeId>,
}

impl InstanceView {
    /// The view of instance `id`.
    pub fn new(id: &InstanceId, i: &Instance) -> Self {
        Self {
            id: id.clone(),
            spec: i.spec().cloned(),
            state: i.state(),
            disks: i.disks().cloned().collect(),
        }
    }
}
