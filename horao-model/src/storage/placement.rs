//! Placement from the model: horao-sched's [`PlacementInput`] built from the storage
//! document — each machine's reported capacity, the bytes it has reserved (moves in flight
//! included), whether it may take new volumes now (its state, and maintenance on the device it
//! runs on), its labels — and the volumes to place with their required labels and dilation.
//!
//! Machine labels are given to horao-sched both as written (`zone=a`) and as their bare key
//! (`zone`), so a required bare key is met by any value, as [`crate::label`] defines.

use super::{Storage, VolumeSpec};
use crate::error::{Error, Result};
use crate::ids::{DeviceId, MachineId, VolumeId};
use crate::model::Model;
use horao_sched::placement::{self, Config, Machine, PlacementInput, Plan, Request};
use horao_sched::vector::{Dilation, Resources};
use std::collections::BTreeSet;

/// The one resource volumes are placed by.
pub const DISK_BYTES: &str = "disk_bytes";

impl Model {
    /// The devices under maintenance at instant `now`.
    fn devices_down(&self, now: u64) -> BTreeSet<&DeviceId> {
        self.claims
            .maintenance_specs()
            .filter(|(_, m)| m.window.start <= now && now < m.window.end)
            .flat_map(|(_, m)| m.devices.iter())
            .collect()
    }

    /// True when machine `id` may take new volumes at `now`: its agent reports it ready,
    /// nobody asked for maintenance or retirement, and the device it runs on is not in a
    /// maintenance window.
    pub fn machine_schedulable(&self, id: &MachineId, now: u64) -> bool {
        let down = self.devices_down(now);
        self.storage
            .machine(id)
            .is_some_and(|m| schedulable(m, &down))
    }

    /// The placement problem of the volumes `requests` (id and spec) against every machine
    /// at instant `now`; `exclude` are machines none of them may go to (ones that rejected
    /// them).
    pub fn placement_input(
        &self,
        requests: &[(&VolumeId, &VolumeSpec)],
        now: u64,
        exclude: &[MachineId],
    ) -> Result<PlacementInput> {
        let resources =
            Resources::new([DISK_BYTES]).map_err(|e| Error::invalid("placement", e.to_string()))?;
        let down = self.devices_down(now);
        let s: &Storage = &self.storage;
        let machines = s
            .machines()
            .map(|(id, m)| {
                let mut labels = BTreeSet::new();
                for l in m.labels() {
                    labels.insert(l.as_str().to_string());
                    labels.insert(l.key().to_string());
                }
                Machine {
                    id: id.to_string(),
                    capacity: vec![m.current().map_or(0, |r| r.capacity_bytes)],
                    usage: vec![s.reserved_bytes(id)],
                    labels,
                    schedulable: schedulable(m, &down) && !exclude.contains(id),
                    groups: BTreeSet::new(),
                }
            })
            .collect();
        let requests = requests
            .iter()
            .map(|(id, spec)| Request {
                id: id.to_string(),
                demand: vec![spec.size_bytes],
                labels: spec
                    .require_labels
                    .iter()
                    .map(|l| l.as_str().to_string())
                    .collect(),
                anti_affinity: None,
                dilation: Dilation::from_percent(spec.dilation_percent),
            })
            .collect();
        Ok(PlacementInput {
            resources,
            machines,
            requests,
        })
    }

    /// Places the volumes `ids` (each must exist) at instant `now` with horao-sched's default
    /// heuristic: a plan of assignments, and the volumes it could not place with the reason.
    /// A query: nothing changes until the plan's assignments are written
    /// ([`Model::assign_volume`]).
    pub fn place_volumes(&self, ids: &[VolumeId], now: u64) -> Result<Plan> {
        let specs = ids
            .iter()
            .map(|id| {
                let spec = self
                    .storage
                    .volume(id)
                    .and_then(|v| v.spec())
                    .ok_or_else(|| Error::not_found(VolumeId::KIND, id))?;
                Ok((id, spec))
            })
            .collect::<Result<Vec<_>>>()?;
        sched(&self.placement_input(&specs, now, &[])?)
    }

    /// The machine horao-sched picks for one volume, or [`Error::NotPlaced`] with its reason.
    pub(crate) fn place_one(
        &self,
        id: &VolumeId,
        spec: &VolumeSpec,
        now: u64,
        exclude: &[MachineId],
    ) -> Result<MachineId> {
        let plan = sched(&self.placement_input(&[(id, spec)], now, exclude)?)?;
        if let Some(a) = plan.assignments.first() {
            return MachineId::new(a.machine.as_str());
        }
        let reason = plan
            .unplaced
            .first()
            .map_or_else(|| "no machine".to_string(), |u| u.reason.to_string());
        Err(Error::NotPlaced {
            volume: id.to_string(),
            reason,
        })
    }
}

fn schedulable(m: &super::Machine, down: &BTreeSet<&DeviceId>) -> bool {
    m.accepts_volumes()
        && m.spec()
            .and_then(|s| s.device.as_ref())
            .is_none_or(|d| !down.contains(d))
}

fn sched(input: &PlacementInput) -> Result<Plan> {
    placement::place(input, &Config::default())
        .map_err(|e| Error::invalid("placement", e.to_string()))
}
