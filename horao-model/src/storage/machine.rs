//! Machines (btrfs storage hosts): labels, desired state, and the agent's report of state,
//! capacity and usage.

use super::Storage;
use super::state::{MachineState, check_transition};
use super::types::{MachineReport, MachineSpec, VolumeSpec};
use super::volume_ops::moved_enough;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::ids::MachineId;
use crate::label::Label;
use crate::model::Model;
use horao_crdt::{LwwReg, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// A storage host. Exists once its `spec` is written; `desired` defaults to provisioning and
/// `current` is empty until its agent reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub(crate) spec: LwwReg<MachineSpec>,
    pub(crate) desired: LwwReg<MachineState>,
    pub(crate) current: LwwReg<MachineReport>,
}

dot_store_struct!(Machine {
    spec,
    desired,
    current
});

impl Machine {
    /// The declared labels and other specification (`None` for an entry that only holds an
    /// edit concurrent with its removal).
    pub fn spec(&self) -> Option<&MachineSpec> {
        self.spec.get()
    }

    /// The state users and servers want.
    pub fn desired_state(&self) -> MachineState {
        self.desired
            .get()
            .copied()
            .unwrap_or(MachineState::Provisioning)
    }

    /// The agent's last report.
    pub fn current(&self) -> Option<&MachineReport> {
        self.current.get()
    }

    /// The state the agent reported (provisioning until the first report).
    pub fn current_state(&self) -> MachineState {
        self.current
            .get()
            .map_or(MachineState::Provisioning, |r| r.state)
    }

    /// True when the machine may receive new volumes: its agent reports it ready and nobody
    /// asked for maintenance or retirement.
    pub fn accepts_volumes(&self) -> bool {
        self.current_state() == MachineState::Ready
            && !matches!(
                self.desired_state(),
                MachineState::Maintenance | MachineState::Retired
            )
    }

    /// The machine's labels.
    pub fn labels(&self) -> &[Label] {
        self.spec().map(|s| s.labels.as_slice()).unwrap_or_default()
    }

    /// Ok when the machine can hold a volume of `spec`: it accepts volumes and carries every
    /// label the volume requires.
    pub(crate) fn check_can_hold(&self, mid: &MachineId, spec: &VolumeSpec) -> Result<()> {
        if !self.accepts_volumes() {
            return Err(Error::invalid(
                "volume.assignment",
                format!("machine {mid} does not accept volumes"),
            ));
        }
        if let Some(l) = crate::label::first_unmet(&spec.require_labels, self.labels()) {
            return Err(Error::invalid(
                "volume.require_labels",
                format!(
                    "machine {mid} lacks label {l} required by volume {}",
                    spec.name
                ),
            ));
        }
        Ok(())
    }
}

impl Storage {
    /// The machine `id`, if it exists.
    pub fn machine(&self, id: &MachineId) -> Option<&Machine> {
        self.machines.get(id).filter(|m| m.spec().is_some())
    }

    pub(crate) fn existing_machine(&self, id: &MachineId) -> Result<&Machine> {
        self.machine(id).ok_or_else(|| Error::NotFound {
            kind: "machine",
            id: id.to_string(),
        })
    }
}

impl Model {
    /// Registers a new machine (by a user, a server, or the machine's own agent).
    pub fn register_machine(
        &self,
        by: &Actor,
        id: &MachineId,
        spec: MachineSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        check_spec_writer(id, by)?;
        if self.storage.machine(id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "machine",
                id: id.to_string(),
            });
        }
        let spec = self.checked_machine_spec(spec)?;
        Ok(self.storage.write_machine(id, tx, |m, tx| Machine {
            spec: m.spec.write(spec, ts, tx),
            desired: m.desired.write(MachineState::Provisioning, ts, tx),
            ..Machine::default()
        }))
    }

    /// Normalizes the labels and checks the device of `spec`.
    fn checked_machine_spec(&self, spec: MachineSpec) -> Result<MachineSpec> {
        if let Some(d) = &spec.device
            && !self.physical.devices.contains_key(d)
        {
            return Err(Error::not_found(crate::ids::DeviceId::KIND, d));
        }
        Ok(MachineSpec {
            labels: crate::label::normalize("machine.labels", spec.labels)?,
            device: spec.device,
        })
    }

    /// Registers machine `id` or updates its spec, and records its agent's report when one
    /// is given: what an agent sends when it starts and whenever its labels or figures
    /// change. Writes nothing that would not change (an unchanged spec, an insignificant
    /// report), so the delta may be empty.
    pub fn put_machine(
        &self,
        by: &Actor,
        id: &MachineId,
        spec: MachineSpec,
        report: Option<MachineReport>,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let spec = self.checked_machine_spec(spec)?;
        let mut delta = match self.storage.machine(id) {
            None => self.register_machine(by, id, spec, ts, tx)?,
            Some(m) if m.spec() != Some(&spec) => self.set_machine_spec(by, id, spec, ts, tx)?,
            Some(_) => {
                check_spec_writer(id, by)?;
                Model::default()
            }
        };
        if let Some(report) = report {
            // A new machine's report is checked against the machine it is being registered
            // as: the state table starts at provisioning.
            let current = self.storage.machine(id).and_then(|m| m.current());
            let r = self.machine_report_delta(by, id, current, report, ts, tx)?;
            delta = horao_crdt::combine(delta, r)?;
        }
        Ok(delta)
    }

    /// Replaces a machine's labels and device.
    pub fn set_machine_spec(
        &self,
        by: &Actor,
        id: &MachineId,
        spec: MachineSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        check_spec_writer(id, by)?;
        self.storage.existing_machine(id)?;
        let spec = self.checked_machine_spec(spec)?;
        Ok(self.storage.write_machine(id, tx, |m, tx| Machine {
            spec: m.spec.write(spec, ts, tx),
            ..Machine::default()
        }))
    }

    /// Sets the desired state (users and servers; only legal transitions).
    pub fn set_machine_state(
        &self,
        by: &Actor,
        id: &MachineId,
        to: MachineState,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator("machine", id.as_str(), "machine.desired")?;
        let m = self.storage.existing_machine(id)?;
        check_transition(id.as_str(), m.desired_state(), to)?;
        Ok(self.storage.write_machine(id, tx, |m, tx| Machine {
            desired: m.desired.write(to, ts, tx),
            ..Machine::default()
        }))
    }

    /// Records the agent's report of state, capacity and usage (only that machine's agent;
    /// only legal state transitions). A report that changes neither the state nor the
    /// capacity and moves usage by less than
    /// [`REPORT_STEP_PERCENT`](super::volume_ops::REPORT_STEP_PERCENT) of the capacity
    /// returns an empty delta.
    pub fn report_machine(
        &self,
        by: &Actor,
        id: &MachineId,
        report: MachineReport,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let current = self.storage.existing_machine(id)?.current();
        self.machine_report_delta(by, id, current, report, ts, tx)
    }

    fn machine_report_delta(
        &self,
        by: &Actor,
        id: &MachineId,
        last: Option<&MachineReport>,
        report: MachineReport,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_agent_of([id], "machine", id.as_str(), "machine.current")?;
        report.validate()?;
        let from = last.map_or(MachineState::Provisioning, |r| r.state);
        check_transition(id.as_str(), from, report.state)?;
        if let Some(l) = last
            && l.state == report.state
            && l.capacity_bytes == report.capacity_bytes
            && l.orphans == report.orphans
            && !moved_enough(l.used_bytes, report.used_bytes, report.capacity_bytes)
        {
            return Ok(Model::default());
        }
        Ok(self.storage.write_machine(id, tx, |m, tx| Machine {
            current: m.current.write(report, ts, tx),
            ..Machine::default()
        }))
    }

    /// Removes a retired machine that holds no volume.
    pub fn remove_machine(&self, by: &Actor, id: &MachineId, tx: &mut Tx) -> Result<Model> {
        by.require_operator("machine", id.as_str(), "machine")?;
        let m = self.storage.existing_machine(id)?;
        if m.desired_state() != MachineState::Retired {
            return Err(Error::invalid(
                "machine.state",
                format!("machine {id} must be retired before removal"),
            ));
        }
        if let Some((vid, _)) = self.storage.volumes_on(id).next() {
            return Err(Error::in_use("machine", id, format!("volume {vid}")));
        }
        Ok(Storage::with_machines(self.storage.machines.remove(id, tx)))
    }
}

/// A machine's spec is written by operators, servers and the machine's own agent.
fn check_spec_writer(id: &MachineId, actor: &Actor) -> Result<()> {
    match actor {
        Actor::Agent(m) if m == id => Ok(()),
        _ => actor.require_operator("machine", id.as_str(), "machine.spec"),
    }
}
