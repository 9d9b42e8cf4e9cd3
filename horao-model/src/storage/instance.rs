//! Instances: compute instances whose disks are volumes. An instance cannot start until
//! every disk is initialized, and a disk cannot be attached until it is initialized.

use super::Storage;
use super::state::{InstanceState, check_transition};
use super::types::InstanceSpec;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::ids::{InstanceId, VolumeId};
use crate::model::Model;
use crate::validate::check_name;
use horao_crdt::{LwwReg, OrSet, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// A compute instance. Exists once its `spec` is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub(crate) spec: LwwReg<InstanceSpec>,
    pub(crate) desired: LwwReg<InstanceState>,
    pub(crate) disks: OrSet<VolumeId>,
}

dot_store_struct!(Instance {
    spec,
    desired,
    disks
});

impl Instance {
    /// Name.
    pub fn spec(&self) -> Option<&InstanceSpec> {
        self.spec.get()
    }

    /// The desired run state (stopped until started).
    pub fn state(&self) -> InstanceState {
        self.desired
            .get()
            .copied()
            .unwrap_or(InstanceState::Stopped)
    }

    /// The attached volumes, in id order.
    pub fn disks(&self) -> impl Iterator<Item = &VolumeId> {
        self.disks.iter()
    }
}

impl Storage {
    /// The instance `id`, if it exists.
    pub fn instance(&self, id: &InstanceId) -> Option<&Instance> {
        self.instances.get(id).filter(|i| i.spec().is_some())
    }

    fn existing_instance(&self, id: &InstanceId) -> Result<&Instance> {
        self.instance(id).ok_or_else(|| Error::NotFound {
            kind: "instance",
            id: id.to_string(),
        })
    }

    /// The first instance (in id order) with `volume` attached.
    pub fn instance_using(&self, volume: &VolumeId) -> Option<&InstanceId> {
        self.instances
            .iter()
            .find(|(_, i)| i.disks.contains(volume))
            .map(|(id, _)| id)
    }
}

impl Model {
    /// Creates a stopped instance with no disks.
    pub fn create_instance(
        &self,
        by: &Actor,
        id: &InstanceId,
        spec: InstanceSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator("instance", id.as_str(), "instance.spec")?;
        if self.storage.instance(id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "instance",
                id: id.to_string(),
            });
        }
        check_name("instance.name", &spec.name)?;
        Ok(Storage::with_instances(self.storage.instances.update(
            id.clone(),
            tx,
            |i, tx| Instance {
                spec: i.spec.write(spec, ts, tx),
                desired: i.desired.write(InstanceState::Stopped, ts, tx),
                ..Instance::default()
            },
        )))
    }

    /// Attaches an initialized volume as a disk (hot-plugged if the instance runs).
    pub fn attach_disk(
        &self,
        by: &Actor,
        id: &InstanceId,
        volume: &VolumeId,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator("instance", id.as_str(), "instance.disks")?;
        let inst = self.storage.existing_instance(id)?;
        if !self.storage.existing_volume(volume)?.is_initialized() {
            return Err(Error::DiskNotInitialized {
                instance: id.to_string(),
                volume: volume.to_string(),
            });
        }
        if inst.disks.contains(volume) {
            return Err(Error::AlreadyExists {
                kind: "disk",
                id: format!("{id}/{volume}"),
            });
        }
        Ok(Storage::with_instances(self.storage.instances.update(
            id.clone(),
            tx,
            |i, tx| Instance {
                disks: i.disks.add(volume.clone(), tx),
                ..Instance::default()
            },
        )))
    }

    /// Detaches a disk.
    pub fn detach_disk(
        &self,
        by: &Actor,
        id: &InstanceId,
        volume: &VolumeId,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator("instance", id.as_str(), "instance.disks")?;
        if !self.storage.existing_instance(id)?.disks.contains(volume) {
            return Err(Error::NotFound {
                kind: "disk",
                id: format!("{id}/{volume}"),
            });
        }
        Ok(Storage::with_instances(self.storage.instances.update(
            id.clone(),
            tx,
            |i, tx| Instance {
                disks: i.disks.remove(volume, tx),
                ..Instance::default()
            },
        )))
    }

    /// Sets the run state; starting requires every disk to exist and be initialized.
    pub fn set_instance_state(
        &self,
        by: &Actor,
        id: &InstanceId,
        to: InstanceState,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator("instance", id.as_str(), "instance.desired")?;
        let inst = self.storage.existing_instance(id)?;
        check_transition(id.as_str(), inst.state(), to)?;
        if to == InstanceState::Running {
            for d in inst.disks() {
                if !self.storage.volume(d).is_some_and(|v| v.is_initialized()) {
                    return Err(Error::DiskNotInitialized {
                        instance: id.to_string(),
                        volume: d.to_string(),
                    });
                }
            }
        }
        Ok(Storage::with_instances(self.storage.instances.update(
            id.clone(),
            tx,
            |i, tx| Instance {
                desired: i.desired.write(to, ts, tx),
                ..Instance::default()
            },
        )))
    }

    /// Deletes a stopped instance (its volumes stay).
    pub fn delete_instance(&self, by: &Actor, id: &InstanceId, tx: &mut Tx) -> Result<Model> {
        by.require_operator("instance", id.as_str(), "instance")?;
        if self.storage.existing_instance(id)?.state() != InstanceState::Stopped {
            return Err(Error::invalid(
                "instance.state",
                format!("instance {id} must be stopped"),
            ));
        }
        Ok(Storage::with_instances(
            self.storage.instances.remove(id, tx),
        ))
    }
}
