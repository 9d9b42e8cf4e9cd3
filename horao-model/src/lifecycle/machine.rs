//! Machines (btrfs storage hosts): labels, desired state, and the agent's report of state,
//! capacity and usage.

use super::actor::Actor;
use super::ids::{MachineId, normalize_labels};
use super::state::{MachineState, check_transition};
use super::types::{MachineReport, MachineSpec, invalid};
use super::{Storage, Volume};
use crate::error::{Error, Result};
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

    /// Ok when the machine can hold `volume` (by id `vid`): it accepts volumes and carries
    /// every label of the volume's filters.
    pub(crate) fn check_can_hold(&self, mid: &MachineId, vid: &str, volume: &Volume) -> Result<()> {
        if !self.accepts_volumes() {
            return Err(invalid(
                "volume.assignment",
                format!("machine {mid} does not accept volumes"),
            ));
        }
        let labels = self.spec().map(|s| s.labels.as_slice()).unwrap_or_default();
        if let Some(spec) = volume.spec() {
            if let Some(l) = spec
                .filters
                .iter()
                .find(|l| labels.binary_search(l).is_err())
            {
                return Err(invalid(
                    "volume.filters",
                    format!("machine {mid} lacks label {l} required by volume {vid}"),
                ));
            }
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

    /// Registers a new machine (by a user, a server, or the machine's own agent).
    pub fn register_machine(
        &self,
        id: &MachineId,
        spec: MachineSpec,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        check_spec_writer(id, actor)?;
        if self.machine(id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "machine",
                id: id.to_string(),
            });
        }
        let spec = MachineSpec {
            labels: normalize_labels(spec.labels),
        };
        let delta = self.machines.update(id.clone(), tx, |m, tx| Machine {
            spec: m.spec.write(spec, ts, tx),
            desired: m.desired.write(MachineState::Provisioning, ts, tx),
            ..Machine::default()
        });
        Ok(Storage::with_machines(delta))
    }

    /// Replaces a machine's labels.
    pub fn set_machine_spec(
        &self,
        id: &MachineId,
        spec: MachineSpec,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        check_spec_writer(id, actor)?;
        self.existing_machine(id)?;
        let spec = MachineSpec {
            labels: normalize_labels(spec.labels),
        };
        let delta = self.machines.update(id.clone(), tx, |m, tx| Machine {
            spec: m.spec.write(spec, ts, tx),
            ..Machine::default()
        });
        Ok(Storage::with_machines(delta))
    }

    /// Sets the desired state (users and servers; only legal transitions).
    pub fn set_machine_state(
        &self,
        id: &MachineId,
        to: MachineState,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        actor.require_operator("machine", id.as_str(), "machine.desired")?;
        let m = self.existing_machine(id)?;
        check_transition(id.as_str(), m.desired_state(), to)?;
        let delta = self.machines.update(id.clone(), tx, |m, tx| Machine {
            desired: m.desired.write(to, ts, tx),
            ..Machine::default()
        });
        Ok(Storage::with_machines(delta))
    }

    /// Records the agent's report of state, capacity and usage (only that machine's agent;
    /// only legal state transitions).
    pub fn report_machine(
        &self,
        id: &MachineId,
        report: MachineReport,
        actor: &Actor,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Storage> {
        actor.require_agent_of([id], "machine", id.as_str(), "machine.current")?;
        let m = self.existing_machine(id)?;
        report.validate()?;
        check_transition(id.as_str(), m.current_state(), report.state)?;
        let delta = self.machines.update(id.clone(), tx, |m, tx| Machine {
            current: m.current.write(report, ts, tx),
            ..Machine::default()
        });
        Ok(Storage::with_machines(delta))
    }

    /// Removes a retired machine that holds no volume.
    pub fn remove_machine(&self, id: &MachineId, actor: &Actor, tx: &mut Tx) -> Result<Storage> {
        actor.require_operator("machine", id.as_str(), "machine")?;
        let m = self.existing_machine(id)?;
        if m.desired_state() != MachineState::Retired {
            return Err(invalid(
                "machine.state",
                format!("machine {id} must be retired before removal"),
            ));
        }
        if let Some((vid, _)) = self.volumes_on(id).next() {
            return Err(Error::in_use("machine", id, format!("volume {vid}")));
        }
        Ok(Storage::with_machines(self.machines.remove(id, tx)))
    }
}

fn check_spec_writer(id: &MachineId, actor: &Actor) -> Result<()> {
    match actor {
        Actor::Agent(m) if m != id => Err(Error::WrongWriter {
            entity: "machine",
            id: id.to_string(),
            field: "machine.spec",
            actor: actor.to_string(),
        }),
        _ => Ok(()),
    }
}
