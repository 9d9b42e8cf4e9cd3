//! Read queries of the storage document: every entity of a table, and the volumes placed
//! on one machine (what its agent reconciles) with the bytes they reserve.

use super::{Image, Instance, Machine, Storage, Volume};
use crate::ids::{ImageId, InstanceId};
use crate::ids::{MachineId, VolumeId};

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
        self.index()
            .on(machine)
            .filter_map(|id| self.volume(id).map(|v| (id, v)))
    }

    /// The bytes `machine` has reserved: the quotas of its live volumes, moves to it
    /// included (saturating).
    pub fn reserved_bytes(&self, machine: &MachineId) -> u64 {
        self.index().reserved(machine)
    }
}
