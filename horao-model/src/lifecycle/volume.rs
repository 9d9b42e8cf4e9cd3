//! Volumes: creation, specification changes before placement, placement onto a machine, and
//! purging once gone. State changes and agent reports live in `volume_ops`.

use super::Storage;
use super::actor::Actor;
use super::ids::{MachineId, VolumeId};
use super::state::VolumeState;
use super::types::{DesiredVolume, Source, VolumeCurrent, VolumeSpec, invalid};
use crate::error::{Error, Result};
use horao_crdt::{LwwReg, MvReg, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// A volume. Exists once its `spec` is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub(crate) spec: LwwReg<VolumeSpec>,
    pub(crate) source: LwwReg<Source>,
    pub(crate) desired: LwwReg<DesiredVolume>,
    pub(crate) assignment: MvReg<MachineId>,
    pub(crate) current: LwwReg<VolumeCurrent>,
}

dot_store_struct!(Volume {
    spec,
    source,
    desired,
    assignment,
    current
});

impl Volume {
    /// Size, dilation, permissions and filters.
    pub fn spec(&self) -> Option<&VolumeSpec> {
        self.spec.get()
    }

    /// The quota the agent sets: `size × (1 + dilation)`.
    pub fn quota_bytes(&self) -> Option<u64> {
        self.spec().and_then(VolumeSpec::quota_bytes)
    }

    /// Where the initial content comes from, until the agent reports the volume initialized.
    pub fn source(&self) -> Option<&Source> {
        self.source.get()
    }

    /// The desired state and running operation.
    pub fn desired(&self) -> DesiredVolume {
        self.desired.get().cloned().unwrap_or(DesiredVolume {
            state: VolumeState::Scheduling,
            op: None,
        })
    }

    /// The desired state alone.
    pub fn desired_state(&self) -> VolumeState {
        self.desired
            .get()
            .map_or(VolumeState::Scheduling, |d| d.state)
    }

    /// The machines the volume is assigned to, sorted and unique: none before placement, one
    /// normally, several after concurrent placements (a conflict).
    pub fn assigned(&self) -> Vec<&MachineId> {
        let mut v: Vec<&MachineId> = self.assignment.values().collect();
        v.sort();
        v.dedup();
        v
    }

    /// True when the volume is assigned to `machine` (possibly among others).
    pub fn is_assigned_to(&self, machine: &MachineId) -> bool {
        self.assignment.values().any(|m| m == machine)
    }

    /// The agent's last report and who sent it.
    pub fn current(&self) -> Option<&VolumeCurrent> {
        self.current.get()
    }

    /// The state the agent reported (scheduling until the first report).
    pub fn current_state(&self) -> VolumeState {
        self.current
            .get()
            .map_or(VolumeState::Scheduling, |c| c.report.state)
    }

    /// True once the agent reported the volume created and populated.
    pub fn is_initialized(&self) -> bool {
        self.current.get().is_some_and(|c| c.report.initialized)
    }
}

impl Storage {
    /// The volume `id`, if it exists.
    pub fn volume(&self, id: &VolumeId) -> Option<&Volume> {
        self.volumes.get(id).filter(|v| v.spec().is_some())
    }

    pub(crate) fn existing_volume(&self, id: &VolumeId) -> Result<&Volume> {
        self.volume(id).ok_or_else(|| Error::NotFound {
            kind: "volume",
            id: id.to_string(),
        })
    }

    /// Checks a source reference and that the spec can hold it.
    fn check_source(&self, spec: &VolumeSpec, source: &Source) -> Result<()> {
        match source {
            Source::Image(img) => {
                let image = self.existing_image(img)?;
                let need = image.spec().map_or(0, |s| s.size_bytes);
                if spec.size_bytes < need {
                    return Err(invalid(
                        "volume.size_bytes",
                        format!("{} is smaller than image {img} ({need})", spec.size_bytes),
                    ));
                }
            }
            Source::Volume(v) => {
                self.existing_volume(v)?;
            }
        }
        Ok(())
    }

    /// Creates a volume in `scheduling`, optionally populated from an image or a volume.
    pub fn create_volume(
        &self,
        id: &VolumeId,
        spec: VolumeSpec,
        source: Option<Source>,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        actor.require_operator("volume", id.as_str(), "volume.spec")?;
        if self.volume(id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "volume",
                id: id.to_string(),
            });
        }
        let spec = spec.validated()?;
        if let Some(s) = &source {
            self.check_source(&spec, s)?;
        }
        Ok(Storage::with_volumes(self.volumes.update(
            id.clone(),
            tx,
            |v, tx| new_volume(v, spec, source, ts, tx),
        )))
    }

    /// Replaces the specification of a volume not yet placed. Once placed, only its state
    /// changes: size and dilation change through a resize or a clone.
    pub fn update_volume_spec(
        &self,
        id: &VolumeId,
        spec: VolumeSpec,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        actor.require_operator("volume", id.as_str(), "volume.spec")?;
        let v = self.existing_volume(id)?;
        if !v.assigned().is_empty() || v.desired_state() != VolumeState::Scheduling {
            return Err(Error::Immutable {
                entity: "volume",
                id: id.to_string(),
                field: "volume.spec",
                reason: "the volume is placed; resize, clone or move it instead".into(),
            });
        }
        let spec = spec.validated()?;
        if let Some(s) = v.source() {
            self.check_source(&spec, s)?;
        }
        Ok(Storage::with_volumes(self.volumes.update(
            id.clone(),
            tx,
            |v, tx| Volume {
                spec: v.spec.write(spec, ts, tx),
                ..Volume::default()
            },
        )))
    }

    /// Places a volume in `scheduling` on a machine that accepts volumes and carries its
    /// filter labels; the volume becomes desired `ready`.
    pub fn assign_volume(
        &self,
        id: &VolumeId,
        machine: &MachineId,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        actor.require_operator("volume", id.as_str(), "volume.assignment")?;
        let v = self.existing_volume(id)?;
        if let Some(m) = v.assigned().first() {
            return Err(Error::Immutable {
                entity: "volume",
                id: id.to_string(),
                field: "volume.assignment",
                reason: format!("already assigned to {m}; move it instead"),
            });
        }
        if v.desired_state() != VolumeState::Scheduling {
            return Err(Error::IllegalTransition {
                entity: "volume",
                id: id.to_string(),
                from: v.desired_state().to_string(),
                to: VolumeState::Ready.to_string(),
            });
        }
        self.existing_machine(machine)?
            .check_can_hold(machine, id.as_str(), v)?;
        let desired = DesiredVolume {
            state: VolumeState::Ready,
            op: None,
        };
        Ok(Storage::with_volumes(self.volumes.update(
            id.clone(),
            tx,
            |v, tx| Volume {
                assignment: v.assignment.write(machine.clone(), tx),
                desired: v.desired.write(desired, ts, tx),
                ..Volume::default()
            },
        )))
    }

    /// Removes a volume whose desired state is `gone` from the table.
    pub fn purge_volume(&self, id: &VolumeId, actor: &Actor, tx: &mut Tx) -> Result<Storage> {
        actor.require_operator("volume", id.as_str(), "volume")?;
        let v = self.existing_volume(id)?;
        if v.desired_state() != VolumeState::Gone {
            return Err(invalid(
                "volume.state",
                format!(
                    "volume {id} is {}; only gone volumes are purged",
                    v.desired_state()
                ),
            ));
        }
        Ok(Storage::with_volumes(self.volumes.remove(id, tx)))
    }
}

/// The delta creating a volume over whatever `v` holds (bottom for a new id).
pub(crate) fn new_volume(
    v: &Volume,
    spec: VolumeSpec,
    source: Option<Source>,
    ts: Timestamp,
    tx: &mut Tx,
) -> Volume {
    Volume {
        spec: v.spec.write(spec, ts, tx),
        source: match source {
            Some(s) => v.source.write(s, ts, tx),
            None => v.source.clear(tx),
        },
        desired: v.desired.write(
            DesiredVolume {
                state: VolumeState::Scheduling,
                op: None,
            },
            ts,
            tx,
        ),
        ..Volume::default()
    }
}
