//! Volumes: creation, specification changes before placement, placement onto a machine, and
//! purging once gone. State changes and agent reports live in `volume_ops`, the placement
//! query in `placement`.

use super::Storage;
use super::state::VolumeState;
use super::types::{
    DesiredVolume, MAX_REJECTED_BY, Source, VolumeCurrent, VolumeSpec, validate_size,
};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::ids::{MachineId, TenantId, VolumeId, VolumeName};
use crate::model::Model;
use horao_crdt::{LwwReg, MvReg, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// A volume. Exists once its `spec` is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// Boxed: the spec is the volume's largest field and rarely written, and a volume table's
    /// B-tree leaves hold their values inline (eleven slots each, part full), so a small
    /// inline value saves more than the extra allocation costs. The encoding is unchanged.
    pub(crate) spec: LwwReg<Box<VolumeSpec>>,
    /// Boxed for the same reason: most volumes have no source, and those that do hold it
    /// in a register written once.
    pub(crate) source: LwwReg<Box<Source>>,
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
    /// Name, size, dilation, permissions, labels, required labels and owner.
    pub fn spec(&self) -> Option<&VolumeSpec> {
        self.spec.get().map(|s| &**s)
    }

    /// The quota the agent sets: `size × (1 + dilation)`.
    pub fn quota_bytes(&self) -> Option<u64> {
        self.spec().and_then(VolumeSpec::quota_bytes)
    }

    /// Where the initial content came from: an image or another volume (kept after the
    /// volume is initialized).
    pub fn source(&self) -> Option<&Source> {
        self.source.get().map(|s| &**s)
    }

    /// The source while the volume is not yet initialized and is still wanted (what an
    /// image's deletion waits for): a volume being deleted, or gone, never needs its source
    /// again, even if it was never initialized or its last report says so.
    pub fn pending_source(&self) -> Option<&Source> {
        let leaving = matches!(
            self.desired_state(),
            VolumeState::Deleting | VolumeState::Gone
        );
        self.source().filter(|_| !leaving && !self.is_initialized())
    }

    /// The desired state and running operation.
    pub fn desired(&self) -> DesiredVolume {
        self.desired
            .get()
            .cloned()
            .unwrap_or(DesiredVolume::new(VolumeState::Scheduling))
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

    /// The volume called `name`, if one is (the first by id if concurrent creations gave
    /// two volumes one name, a conflict).
    pub fn volume_named<'a>(&'a self, name: &'a VolumeName) -> Option<(&'a VolumeId, &'a Volume)> {
        self.volumes_named(name).next()
    }

    /// Every volume called `name`, by id (one, unless concurrent creations collided).
    pub fn volumes_named<'a>(
        &'a self,
        name: &'a VolumeName,
    ) -> impl Iterator<Item = (&'a VolumeId, &'a Volume)> + 'a {
        self.index()
            .maybe_named(name)
            .filter_map(|id| self.volume(id).map(|v| (id, v)))
            .filter(move |(_, v)| v.spec().is_some_and(|s| &s.name == name))
    }

    pub(crate) fn existing_volume(&self, id: &VolumeId) -> Result<&Volume> {
        self.volume(id)
            .ok_or_else(|| Error::not_found(VolumeId::KIND, id))
    }

    /// Checks a source reference and that the spec can hold it.
    fn check_source(&self, spec: &VolumeSpec, source: &Source) -> Result<()> {
        match source {
            Source::Image(img) => {
                let image = self.existing_image(img)?;
                let need = image.spec().map_or(0, |s| s.size_bytes);
                if spec.size_bytes < need {
                    return Err(Error::invalid(
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

    /// Refuses `name` when a volume other than `id` holds it.
    pub(crate) fn check_name_free(&self, id: &VolumeId, name: &VolumeName) -> Result<()> {
        match self
            .volumes_named(name)
            .map(|(x, _)| x)
            .find(|other| *other != id)
        {
            Some(other) => Err(Error::AlreadyExists {
                kind: "volume name",
                id: format!("{name} (volume {other})"),
            }),
            None => Ok(()),
        }
    }

    /// Ok when `machine` accepts volumes, carries every label `spec` requires and has room
    /// for `quota` more bytes (its reported capacity less what it has reserved).
    pub(crate) fn check_room(
        &self,
        machine: &MachineId,
        spec: &VolumeSpec,
        quota: u64,
    ) -> Result<()> {
        let m = self.existing_machine(machine)?;
        m.check_can_hold(machine, spec)?;
        let capacity = m.current().map_or(0, |r| r.capacity_bytes);
        let free = capacity.saturating_sub(self.index().reserved(machine));
        if quota > free {
            return Err(Error::NoRoom {
                machine: machine.to_string(),
                needed: quota,
                available: free,
            });
        }
        Ok(())
    }
}

impl Model {
    /// Checks what a volume's spec names in the rest of the model: its owning tenant.
    fn check_volume_refs(&self, spec: &VolumeSpec) -> Result<()> {
        if let Some(t) = &spec.tenant
            && !self.logical.tenants.contains_key(t)
        {
            return Err(Error::not_found(TenantId::KIND, t));
        }
        Ok(())
    }

    /// Creates a volume in `scheduling`, optionally populated from an image or a volume. An
    /// operator or server may create any volume; a tenant only one it owns.
    pub fn create_volume(
        &self,
        by: &Actor,
        id: &VolumeId,
        spec: VolumeSpec,
        source: Option<Source>,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        self.new_volume_delta(by, id, spec, source, None, ts, tx)
    }

    /// Creates a volume and places it in one delta: horao-sched picks a machine (see
    /// [`Model::place_volumes`]) and the volume starts desired `ready` there. Refused with
    /// [`Error::NotPlaced`] naming the reason when no machine can hold it.
    #[allow(clippy::too_many_arguments)] // Each argument is a distinct input of the request.
    pub fn create_and_place_volume(
        &self,
        by: &Actor,
        id: &VolumeId,
        spec: VolumeSpec,
        source: Option<Source>,
        now: u64,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let spec = spec.validated()?;
        let machine = self.place_one(id, &spec, now, &[])?;
        self.new_volume_delta(by, id, spec, source, Some(machine), ts, tx)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_volume_delta(
        &self,
        by: &Actor,
        id: &VolumeId,
        spec: VolumeSpec,
        source: Option<Source>,
        machine: Option<MachineId>,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_owner(
            spec.tenant.as_ref(),
            VolumeId::KIND,
            id.as_str(),
            "volume.spec",
        )?;
        if self.storage.volume(id).is_some() {
            return Err(Error::already_exists(VolumeId::KIND, id));
        }
        let spec = spec.validated()?;
        self.check_volume_refs(&spec)?;
        self.storage.check_name_free(id, &spec.name)?;
        if let Some(s) = &source {
            self.storage.check_source(&spec, s)?;
        }
        if let Some(m) = &machine {
            let quota = validate_size(spec.size_bytes, spec.dilation_percent)?;
            self.storage.check_room(m, &spec, quota)?;
        }
        Ok(self
            .storage
            .write_volume(id, tx, |v, tx| new_volume(v, spec, source, machine, ts, tx)))
    }

    /// Replaces the specification of a volume not yet placed. Once placed, only its state
    /// changes: size and dilation change through a resize or a clone.
    pub fn update_volume_spec(
        &self,
        by: &Actor,
        id: &VolumeId,
        spec: VolumeSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let v = self.storage.existing_volume(id)?;
        let owner = v.spec().and_then(|s| s.tenant.as_ref());
        by.require_owner(owner, VolumeId::KIND, id.as_str(), "volume.spec")?;
        by.require_owner(
            spec.tenant.as_ref(),
            VolumeId::KIND,
            id.as_str(),
            "volume.spec",
        )?;
        if !v.assigned().is_empty() || v.desired_state() != VolumeState::Scheduling {
            return Err(Error::Immutable {
                entity: "volume",
                id: id.to_string(),
                field: "volume.spec",
                reason: "the volume is placed; resize, clone or move it instead".into(),
            });
        }
        let spec = spec.validated()?;
        self.check_volume_refs(&spec)?;
        self.storage.check_name_free(id, &spec.name)?;
        if let Some(s) = v.source() {
            self.storage.check_source(&spec, s)?;
        }
        Ok(self.storage.write_volume(id, tx, |v, tx| Volume {
            spec: v.spec.write(Box::new(spec), ts, tx),
            ..Volume::default()
        }))
    }

    /// Places a volume in `scheduling` on `machine`, which must accept volumes, carry the
    /// labels the volume requires and have room for its quota; the volume becomes desired
    /// `ready`. (Servers normally let [`Model::place_volume`] pick the machine.)
    pub fn assign_volume(
        &self,
        by: &Actor,
        id: &VolumeId,
        machine: &MachineId,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(VolumeId::KIND, id.as_str(), "volume.assignment")?;
        let v = self.storage.existing_volume(id)?;
        self.check_placeable(id, v)?;
        let spec = v
            .spec()
            .ok_or_else(|| Error::not_found(VolumeId::KIND, id))?;
        let quota = validate_size(spec.size_bytes, spec.dilation_percent)?;
        self.storage.check_room(machine, spec, quota)?;
        let desired = DesiredVolume::new(VolumeState::Ready);
        Ok(self.assignment_delta(id, machine.clone(), desired, ts, tx))
    }

    /// Places a volume with horao-sched: a volume in `scheduling`, or one its agent
    /// rejected (it then goes elsewhere). The volume becomes desired `ready` on the machine
    /// chosen; [`Error::NotPlaced`] names the reason when none can hold it. `now` is the
    /// instant maintenance windows are checked at.
    pub fn place_volume(
        &self,
        by: &Actor,
        id: &VolumeId,
        now: u64,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let v = self.storage.existing_volume(id)?;
        let spec = v
            .spec()
            .ok_or_else(|| Error::not_found(VolumeId::KIND, id))?;
        by.require_owner(
            spec.tenant.as_ref(),
            VolumeId::KIND,
            id.as_str(),
            "volume.assignment",
        )?;
        self.check_placeable(id, v)?;
        // Every machine that rejected it since an operator last placed it, and the one whose
        // rejection this answers.
        let mut rejected_by = v.desired().rejected_by;
        if let Some(c) = v
            .current()
            .filter(|c| c.report.state == VolumeState::Rejected)
        {
            rejected_by.retain(|m| m != &c.machine);
            rejected_by.push(c.machine.clone());
        }
        if rejected_by.len() > MAX_REJECTED_BY {
            rejected_by.drain(..rejected_by.len() - MAX_REJECTED_BY);
        }
        let machine = self.place_one(id, spec, now, &rejected_by)?;
        rejected_by.sort();
        let mut desired = DesiredVolume::new(VolumeState::Ready);
        desired.rejected_by = rejected_by;
        Ok(self.assignment_delta(id, machine, desired, ts, tx))
    }

    /// Ok for a volume waiting in `scheduling`, or desired `ready` but rejected by its agent.
    fn check_placeable(&self, id: &VolumeId, v: &Volume) -> Result<()> {
        let rejected = v.current_state() == VolumeState::Rejected;
        match v.desired_state() {
            VolumeState::Scheduling if v.assigned().is_empty() => Ok(()),
            VolumeState::Ready if rejected => Ok(()),
            VolumeState::Scheduling | VolumeState::Ready => Err(Error::Immutable {
                entity: "volume",
                id: id.to_string(),
                field: "volume.assignment",
                reason: format!(
                    "already assigned to {}; move it instead",
                    v.assigned().first().map_or("?", |m| m.as_str())
                ),
            }),
            from => Err(Error::IllegalTransition {
                entity: "volume",
                id: id.to_string(),
                from: from.to_string(),
                to: VolumeState::Ready.to_string(),
            }),
        }
    }

    /// The delta assigning volume `id` to `machine` (replacing any assignment it saw) with
    /// the desired state `desired` (`ready`, with the machines left out of this placement).
    fn assignment_delta(
        &self,
        id: &VolumeId,
        machine: MachineId,
        desired: DesiredVolume,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Model {
        self.storage.write_volume(id, tx, |v, tx| Volume {
            assignment: v.assignment.write(machine, tx),
            desired: v.desired.write(desired, ts, tx),
            ..Volume::default()
        })
    }

    /// Removes a volume whose desired state is `gone` from the table.
    pub fn purge_volume(&self, by: &Actor, id: &VolumeId, tx: &mut Tx) -> Result<Model> {
        let v = self.storage.existing_volume(id)?;
        let owner = v.spec().and_then(|s| s.tenant.as_ref());
        by.require_owner(owner, VolumeId::KIND, id.as_str(), "volume")?;
        if v.desired_state() != VolumeState::Gone {
            return Err(Error::invalid(
                "volume.state",
                format!(
                    "volume {id} is {}; only gone volumes are purged",
                    v.desired_state()
                ),
            ));
        }
        Ok(Storage::with_volumes(self.storage.volumes.remove(id, tx)))
    }
}

/// The delta creating a volume over whatever `v` holds (bottom for a new id): desired
/// `scheduling`, or `ready` on `machine` when it is placed at once.
pub(crate) fn new_volume(
    v: &Volume,
    spec: VolumeSpec,
    source: Option<Source>,
    machine: Option<MachineId>,
    ts: Timestamp,
    tx: &mut Tx,
) -> Volume {
    let state = if machine.is_some() {
        VolumeState::Ready
    } else {
        VolumeState::Scheduling
    };
    Volume {
        spec: v.spec.write(Box::new(spec), ts, tx),
        source: match source {
            Some(s) => v.source.write(Box::new(s), ts, tx),
            None => v.source.clear(tx),
        },
        desired: v.desired.write(DesiredVolume::new(state), ts, tx),
        assignment: match machine {
            Some(m) => v.assignment.write(m, tx),
            None => v.assignment.clear(tx),
        },
        current: v.current.clear(tx),
    }
}
