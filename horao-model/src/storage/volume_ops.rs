//! Volume state changes: desired transitions by operators, servers and owning tenants,
//! operations (resize, move, clone) started from `pending`, an operator's retry of a failed
//! volume, and the agent's reports of current state.

use super::state::{VolumeState, check_transition};
use super::types::{DesiredVolume, Source, VolumeCurrent, VolumeOp, VolumeReport, validate_size};
use super::volume::new_volume;
use super::{Storage, Volume};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::ids::{MachineId, VolumeId};
use crate::model::Model;
use horao_crdt::{Timestamp, Tx};

/// A usage report is replicated when it moves usage by at least this share of the volume's
/// limit (or of the machine's capacity), in percent; smaller changes are not worth a delta.
pub const REPORT_STEP_PERCENT: u64 = 1;

/// True when `new` differs from `old` by at least [`REPORT_STEP_PERCENT`] of `scale`.
pub(crate) fn moved_enough(old: u64, new: u64, scale: u64) -> bool {
    u128::from(old.abs_diff(new)) * 100
        >= u128::from(scale.max(1)) * u128::from(REPORT_STEP_PERCENT)
}

/// True when a volume report says something the stored one does not: anything but a small
/// change of usage.
fn significant(old: Option<&VolumeCurrent>, machine: &MachineId, new: &VolumeReport) -> bool {
    let Some(old) = old else {
        return true;
    };
    let o = &old.report;
    &old.machine != machine
        || o.state != new.state
        || o.initialized != new.initialized
        || o.degraded != new.degraded
        || o.limit_bytes != new.limit_bytes
        || o.reason != new.reason
        || o.nested != new.nested
        || moved_enough(
            o.used_bytes,
            new.used_bytes,
            new.limit_bytes.max(o.used_bytes),
        )
}

impl Model {
    /// Moves a volume's desired state along the table (see [`VolumeState`]).
    ///
    /// `scheduling → ready` happens by placement ([`Model::place_volume`]), and the operation
    /// states by [`Model::begin_volume_op`], since both need more than a state. The agent's
    /// reports gate two steps: `moving → ready` (the assignment then moves to the
    /// destination) only once the destination's agent reported the volume ready there, and
    /// `deleting → gone` only once the agent reported the subvolume gone (or the volume was
    /// never placed). `ready → scheduling` takes a volume its agent rejected off that
    /// machine. A volume attached to an instance cannot be deleted.
    pub fn set_volume_state(
        &self,
        by: &Actor,
        id: &VolumeId,
        to: VolumeState,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let v = self.storage.existing_volume(id)?;
        let owner = v.spec().and_then(|s| s.tenant.as_ref());
        by.require_owner(owner, VolumeId::KIND, id.as_str(), "volume.desired")?;
        let desired = v.desired();
        let from = desired.state;
        check_transition(id.as_str(), from, to)?;
        if from == to {
            return Ok(Model::default());
        }
        if to.is_operation() {
            return Err(Error::invalid(
                "volume.state",
                format!("{to} needs parameters: use begin_volume_op"),
            ));
        }
        let current = v.current();
        let waits = |what: String| {
            Err(Error::IllegalTransition {
                entity: "volume",
                id: id.to_string(),
                from: format!("{from} ({what})"),
                to: to.to_string(),
            })
        };
        match (from, to) {
            (VolumeState::Scheduling, VolumeState::Ready) => {
                return Err(Error::invalid(
                    "volume.assignment",
                    "a volume becomes ready by being placed on a machine",
                ));
            }
            (VolumeState::Ready, VolumeState::Scheduling)
                if v.current_state() != VolumeState::Rejected =>
            {
                return waits("only a volume its agent rejected is re-placed".into());
            }
            (VolumeState::Deleting, VolumeState::Gone)
                if !v.assigned().is_empty() && v.current_state() != VolumeState::Gone =>
            {
                return waits("the agent has not reported it gone".into());
            }
            (VolumeState::Moving, VolumeState::Ready) => {
                if let Some(VolumeOp::Move { to: dest }) = desired.op.as_deref() {
                    let arrived = current.is_some_and(|c| {
                        &c.machine == dest && c.report.state == VolumeState::Ready
                    });
                    if !arrived {
                        return waits(format!("{dest}'s agent has not reported it ready"));
                    }
                }
            }
            _ => {}
        }
        if to == VolumeState::Deleting
            && let Some(inst) = self.storage.instance_using(id)
        {
            return Err(Error::in_use("volume", id, format!("instance {inst}")));
        }
        let assignment = match (desired.op.as_deref(), to) {
            (Some(VolumeOp::Move { to: m }), VolumeState::Ready) => Some(Some(m.clone())),
            (_, VolumeState::Scheduling) => Some(None),
            _ => None,
        };
        Ok(self.storage.write_volume(id, tx, |v, tx| Volume {
            desired: v.desired.write(DesiredVolume::new(to), ts, tx),
            assignment: match assignment {
                Some(Some(m)) => v.assignment.write(m, tx),
                Some(None) => v.assignment.clear(tx),
                None => Default::default(),
            },
            ..Volume::default()
        }))
    }

    /// Starts an operation on a `pending` volume: a resize (new size and dilation, whose
    /// quota must still hold the bytes in use and fit the machine), a move to another machine
    /// that can hold it, or a clone into a new volume on the same machine (created desired
    /// `ready` there with this one as its source).
    pub fn begin_volume_op(
        &self,
        by: &Actor,
        id: &VolumeId,
        op: VolumeOp,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let v = self.storage.existing_volume(id)?;
        let owner = v.spec().and_then(|s| s.tenant.as_ref());
        by.require_owner(owner, VolumeId::KIND, id.as_str(), "volume.desired")?;
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
            return Err(Error::not_found(VolumeId::KIND, id));
        };
        let old_quota = v.quota_bytes().unwrap_or(0);
        let mut clone = None;
        match &op {
            VolumeOp::Resize {
                size_bytes,
                dilation_percent,
            } => {
                let quota = validate_size(*size_bytes, *dilation_percent)?;
                let used = v.current().map_or(0, |c| c.report.used_bytes);
                if quota < used {
                    return Err(Error::invalid(
                        "volume.size_bytes",
                        format!("quota {quota} is below the {used} bytes in use"),
                    ));
                }
                spec.size_bytes = *size_bytes;
                spec.dilation_percent = *dilation_percent;
                for m in v.assigned() {
                    self.storage
                        .check_room(m, &spec, quota.saturating_sub(old_quota))?;
                }
            }
            VolumeOp::Move { to } => {
                if v.is_assigned_to(to) {
                    return Err(Error::invalid(
                        "volume.assignment",
                        format!("volume {id} is already on {to}"),
                    ));
                }
                self.storage.check_room(to, &spec, old_quota)?;
            }
            VolumeOp::Clone {
                into,
                name,
                size_bytes,
                dilation_percent,
            } => {
                if self.storage.volume(into).is_some() {
                    return Err(Error::already_exists(VolumeId::KIND, into));
                }
                let quota = validate_size(*size_bytes, *dilation_percent)?;
                self.storage.check_name_free(into, name)?;
                let mut new = spec.clone();
                new.name = name.clone();
                new.size_bytes = *size_bytes;
                new.dilation_percent = *dilation_percent;
                let machine = v.assigned().first().map(|m| (*m).clone());
                if let Some(m) = &machine {
                    self.storage.check_room(m, &new, quota)?;
                }
                clone = Some((into.clone(), new, machine));
            }
        }
        let resized = matches!(op, VolumeOp::Resize { .. });
        let next = DesiredVolume {
            state: op.state(),
            op: Some(Box::new(op)),
            attempt: 0,
            rejected_by: Vec::new(),
        };
        let mut delta = self.storage.volumes.update(id.clone(), tx, |v, tx| Volume {
            desired: v.desired.write(next, ts, tx),
            spec: if resized {
                v.spec.write(Box::new(spec), ts, tx)
            } else {
                Default::default()
            },
            ..Volume::default()
        });
        if let Some((into, new, machine)) = clone {
            let source = Some(Source::Volume(id.clone()));
            let d = self.storage.volumes.update(into, tx, |v, tx| {
                new_volume(v, new, source, machine, ts, tx)
            });
            delta = horao_crdt::combine(delta, d)?;
        }
        Ok(Storage::with_volumes(delta))
    }

    /// An operator's retry of a volume its agent reported `failed`: the desired state is
    /// written anew with its attempt counter bumped, so the agent retries at once instead of
    /// waiting out its backoff.
    pub fn retry_volume(
        &self,
        by: &Actor,
        id: &VolumeId,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let v = self.storage.existing_volume(id)?;
        let owner = v.spec().and_then(|s| s.tenant.as_ref());
        by.require_owner(owner, VolumeId::KIND, id.as_str(), "volume.desired")?;
        if v.current().map(|c| c.report.state) != Some(VolumeState::Failed) {
            let reported = v.current().map_or("not reported".to_string(), |c| {
                format!("reported {}", c.report.state)
            });
            return Err(Error::invalid(
                "volume.state",
                format!("volume {id} is {reported}; only volumes reported failed are retried"),
            ));
        }
        let mut next = v.desired();
        next.attempt = next.attempt.saturating_add(1);
        Ok(self.storage.write_volume(id, tx, |v, tx| Volume {
            desired: v.desired.write(next, ts, tx),
            ..Volume::default()
        }))
    }

    /// Records the report of the agent of an assigned machine (or of a move's destination):
    /// what is on its disk, including its refusals (`rejected`, `failed`, with a reason).
    /// Any reported state may follow any other but `gone`. A report that only moves usage by
    /// less than [`REPORT_STEP_PERCENT`] of the limit returns an empty delta (nothing to
    /// persist or replicate), so frequent usage reports do not flood the delta log.
    pub fn report_volume(
        &self,
        by: &Actor,
        id: &VolumeId,
        report: VolumeReport,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let v = self.storage.existing_volume(id)?;
        let writers = super::index::occupied(v);
        let machine = by
            .require_agent_of(&writers, "volume", id.as_str(), "volume.current")?
            .clone();
        report.validate()?;
        let last = v.current().map(|c| c.report.state);
        VolumeState::check_report(id.as_str(), last, report.state)?;
        if !significant(v.current(), &machine, &report) {
            return Ok(Model::default());
        }
        let current = VolumeCurrent { machine, report };
        Ok(self.storage.write_volume(id, tx, |v, tx| Volume {
            current: v.current.write(current, ts, tx),
            ..Volume::default()
        }))
    }
}
