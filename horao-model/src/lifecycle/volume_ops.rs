//! Volume state changes: desired transitions by users and servers, operations (resize, move,
//! clone) started from `pending`, and the agent's reports of current state.

use super::actor::Actor;
use super::ids::{MachineId, VolumeId};
use super::state::{VolumeState, check_transition};
use super::types::{
    DesiredVolume, Source, VolumeCurrent, VolumeOp, VolumeReport, invalid, validate_size,
};
use super::volume::new_volume;
use super::{Storage, Volume};
use crate::error::{Error, Result};
use horao_crdt::{Timestamp, Tx};

impl Storage {
    /// Moves a volume's desired state along the table (see [`VolumeState`]).
    ///
    /// `scheduling → ready` happens by [`Storage::assign_volume`], and the operation states by
    /// [`Storage::begin_volume_op`], since both need more than a state. Finishing a move
    /// (`moving → ready`) moves the assignment to the destination. A volume attached to an
    /// instance cannot be deleted.
    pub fn set_volume_state(
        &self,
        id: &VolumeId,
        to: VolumeState,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        actor.require_operator("volume", id.as_str(), "volume.desired")?;
        let v = self.existing_volume(id)?;
        let desired = v.desired();
        let from = desired.state;
        check_transition(id.as_str(), from, to)?;
        if from == to {
            return Ok(Storage::default());
        }
        if to.is_operation() {
            return Err(invalid(
                "volume.state",
                format!("{to} needs parameters: use begin_volume_op"),
            ));
        }
        if from == VolumeState::Scheduling && to == VolumeState::Ready {
            return Err(invalid(
                "volume.assignment",
                "a volume becomes ready by being assigned to a machine",
            ));
        }
        if to == VolumeState::Deleting {
            if let Some(inst) = self.instance_using(id) {
                return Err(Error::in_use("volume", id, format!("instance {inst}")));
            }
        }
        let move_to = match (&desired.op, to) {
            (Some(VolumeOp::Move { to: m }), VolumeState::Ready) => Some(m.clone()),
            _ => None,
        };
        let next = DesiredVolume {
            state: to,
            op: None,
        };
        Ok(Storage::with_volumes(self.volumes.update(
            id.clone(),
            tx,
            |v, tx| Volume {
                desired: v.desired.write(next, ts, tx),
                assignment: match move_to {
                    Some(m) => v.assignment.write(m, tx),
                    None => Default::default(),
                },
                ..Volume::default()
            },
        )))
    }

    /// Starts an operation on a `pending` volume: a resize (new size and dilation, whose
    /// quota must still hold the bytes in use), a move to another machine that can hold it,
    /// or a clone into a new volume (created in `scheduling` with this one as its source).
    pub fn begin_volume_op(
        &self,
        id: &VolumeId,
        op: VolumeOp,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        actor.require_operator("volume", id.as_str(), "volume.desired")?;
        let v = self.existing_volume(id)?;
        let from = v.desired_state();
        if from != VolumeState::Pending {
            return Err(Error::IllegalTransition {
                entity: "volume",
                id: id.to_string(),
                from: from.to_string(),
                to: op.state().to_string(),
            });
        }
        let Some(mut spec) = v.spec().cloned() else {
            return Err(Error::NotFound {
                kind: "volume",
                id: id.to_string(),
            });
        };
        let mut clone = None;
        match &op {
            VolumeOp::Resize {
                size_bytes,
                dilation_percent,
            } => {
                let quota = validate_size(*size_bytes, *dilation_percent)?;
                let used = v.current().map_or(0, |c| c.report.used_bytes);
                if quota < used {
                    return Err(invalid(
                        "volume.size_bytes",
                        format!("quota {quota} is below the {used} bytes in use"),
                    ));
                }
                spec.size_bytes = *size_bytes;
                spec.dilation_percent = *dilation_percent;
            }
            VolumeOp::Move { to } => {
                if v.is_assigned_to(to) {
                    return Err(invalid(
                        "volume.assignment",
                        format!("volume {id} is already on {to}"),
                    ));
                }
                self.existing_machine(to)?
                    .check_can_hold(to, id.as_str(), v)?;
            }
            VolumeOp::Clone {
                into,
                size_bytes,
                dilation_percent,
            } => {
                if self.volume(into).is_some() {
                    return Err(Error::AlreadyExists {
                        kind: "volume",
                        id: into.to_string(),
                    });
                }
                validate_size(*size_bytes, *dilation_percent)?;
                let mut new = spec.clone();
                new.size_bytes = *size_bytes;
                new.dilation_percent = *dilation_percent;
                clone = Some((into.clone(), new));
            }
        }
        let resized = matches!(op, VolumeOp::Resize { .. });
        let next = DesiredVolume {
            state: op.state(),
            op: Some(op),
        };
        let mut delta = self.volumes.update(id.clone(), tx, |v, tx| Volume {
            desired: v.desired.write(next, ts, tx),
            spec: if resized {
                v.spec.write(spec, ts, tx)
            } else {
                Default::default()
            },
            ..Volume::default()
        });
        if let Some((into, new)) = clone {
            let source = Some(Source::Volume(id.clone()));
            let d = self
                .volumes
                .update(into, tx, |v, tx| new_volume(v, new, source, ts, tx));
            delta = super::combine(delta, d);
        }
        Ok(Storage::with_volumes(delta))
    }

    /// Records the report of the agent of an assigned machine (or of a move's destination).
    /// Only legal transitions from the last reported state are accepted; once the volume is
    /// reported initialized, its source reference is dropped.
    pub fn report_volume(
        &self,
        id: &VolumeId,
        report: VolumeReport,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        let v = self.existing_volume(id)?;
        let mut writers: Vec<&MachineId> = v.assigned();
        if let Some(VolumeOp::Move { to }) = v.desired.get().and_then(|d| d.op.as_ref()) {
            writers.push(to);
        }
        let machine = actor
            .require_agent_of(writers, "volume", id.as_str(), "volume.current")?
            .clone();
        check_transition(id.as_str(), v.current_state(), report.state)?;
        let drop_source = report.initialized && v.source().is_some();
        let current = VolumeCurrent { machine, report };
        Ok(Storage::with_volumes(self.volumes.update(
            id.clone(),
            tx,
            |v, tx| Volume {
                current: v.current.write(current, ts, tx),
                source: if drop_source {
                    v.source.clear(tx)
                } else {
                    Default::default()
                },
                ..Volume::default()
            },
        )))
    }
}
