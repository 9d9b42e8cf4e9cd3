//! Read queries for the API and the agent: listings, filters, cursor pagination and the
//! volumes placed on one machine.

use super::api::{MachineView, Page, VolumeView};
use super::ids::{ImageId, InstanceId};
use super::ids::{Label, MachineId, VolumeId};
use super::state::VolumeState;
use super::{Image, Instance, Machine, Storage, Volume};
use serde::{Deserialize, Serialize};
use std::ops::Bound;

/// Which volumes a listing returns; every field set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeFilter {
    /// Assigned to this machine.
    pub machine: Option<MachineId>,
    /// In this desired state.
    pub desired: Option<VolumeState>,
    /// In this reported state.
    pub current: Option<VolumeState>,
    /// Requiring this label.
    pub label: Option<Label>,
}

impl VolumeFilter {
    /// True when `v` matches every field set.
    pub fn matches(&self, v: &Volume) -> bool {
        self.machine.as_ref().is_none_or(|m| v.is_assigned_to(m))
            && self.desired.is_none_or(|s| v.desired_state() == s)
            && self.current.is_none_or(|s| v.current_state() == s)
            && self
                .label
                .as_ref()
                .is_none_or(|l| v.spec().is_some_and(|s| s.filters.binary_search(l).is_ok()))
    }
}

impl Storage {
    /// Every machine, in id order.
    pub fn machines(&self) -> impl Iterator<Item = (&MachineId, &Machine)> {
        self.machines.iter().filter(|(_, m)| m.spec().is_some())
    }

    /// Every volume, in id order.
    pub fn volumes(&self) -> impl Iterator<Item = (&VolumeId, &Volume)> {
        self.volumes.iter().filter(|(_, v)| v.spec().is_some())
    }

    /// Every image, in id order.
    pub fn images(&self) -> impl Iterator<Item = (&ImageId, &Image)> {
        self.images.iter().filter(|(_, i)| i.spec().is_some())
    }

    /// Every instance, in id order.
    pub fn instances(&self) -> impl Iterator<Item = (&InstanceId, &Instance)> {
        self.instances.iter().filter(|(_, i)| i.spec().is_some())
    }

    /// The volumes assigned to `machine` (what its agent reconciles), in id order.
    pub fn volumes_on<'a>(
        &'a self,
        machine: &'a MachineId,
    ) -> impl Iterator<Item = (&'a VolumeId, &'a Volume)> + 'a {
        self.volumes()
            .filter(move |(_, v)| v.is_assigned_to(machine))
    }

    /// The sum of the quotas of the volumes assigned to `machine` (saturating).
    pub fn reserved_bytes(&self, machine: &MachineId) -> u64 {
        self.volumes_on(machine)
            .filter(|(_, v)| v.desired_state() != VolumeState::Gone)
            .fold(0u64, |acc, (_, v)| {
                acc.saturating_add(v.quota_bytes().unwrap_or(0))
            })
    }

    /// One page of volumes matching `filter`, after the id `after` (exclusive), at most
    /// `limit` (at least 1) long; `next` is the cursor for the following page.
    pub fn list_volumes(
        &self,
        filter: &VolumeFilter,
        after: Option<&VolumeId>,
        limit: usize,
    ) -> Page<VolumeView> {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let it = self
            .volumes
            .range((lower, Bound::Unbounded))
            .filter(|(_, v)| v.spec().is_some() && filter.matches(v));
        Page::collect(it, limit, |(id, v)| {
            (id.to_string(), VolumeView::new(id, v))
        })
    }

    /// One page of machines after the id `after` (exclusive), at most `limit` long.
    pub fn list_machines(&self, after: Option<&MachineId>, limit: usize) -> Page<MachineView> {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let it = self
            .machines
            .range((lower, Bound::Unbounded))
            .filter(|(_, m)| m.spec().is_some());
        Page::collect(it, limit, |(id, m)| {
            (
                id.to_string(),
                MachineView::new(id, m, self.reserved_bytes(id)),
            )
        })
    }
}
