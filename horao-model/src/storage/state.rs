//! Explicit state machines: machine, volume and instance states with their transition tables.
//!
//! Every state change, desired or current, goes through [`check_transition`], which refuses
//! any pair not in the table with [`Error::IllegalTransition`] naming both states. Writing the
//! state a field already holds is not a transition and is always accepted (agents report the
//! same state with fresh usage figures).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug, Display};

/// A state machine given by its table of legal transitions.
pub trait StateMachine: Copy + Eq + Debug + Display + 'static {
    /// The entity name used in errors (for example `volume`).
    const ENTITY: &'static str;
    /// Every state, in declaration order.
    const ALL: &'static [Self];
    /// The states reachable from `self` in one step.
    fn next(self) -> &'static [Self];
    /// The state's name as written in the API (snake_case).
    fn name(self) -> &'static str;
    /// Parses a state name (the inverse of [`StateMachine::name`]).
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|x| x.name() == s)
    }
}

/// Ok when `from == to` or `to` is in `from`'s row of the table; otherwise an
/// [`Error::IllegalTransition`] naming the entity `id` and both states.
pub fn check_transition<S: StateMachine>(id: &str, from: S, to: S) -> Result<()> {
    if from == to || from.next().contains(&to) {
        Ok(())
    } else {
        Err(Error::IllegalTransition {
            entity: S::ENTITY,
            id: id.to_string(),
            from: from.name().to_string(),
            to: to.name().to_string(),
        })
    }
}

macro_rules! display_by_name {
    ($ty:ty) => {
        impl Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(StateMachine::name(*self))
            }
        }
    };
}

/// State of a storage host.
///
/// ```text
/// provisioning → ready
/// ready        → maintenance
/// maintenance  → ready | retired
/// retired      → (none)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MachineState {
    /// Registered, not yet serving.
    Provisioning,
    /// Serving volumes.
    Ready,
    /// Taken out of service for a while: receives no new volumes.
    Maintenance,
    /// Permanently out of service.
    Retired,
}

impl StateMachine for MachineState {
    const ENTITY: &'static str = "machine";
    const ALL: &'static [Self] = &[
        Self::Provisioning,
        Self::Ready,
        Self::Maintenance,
        Self::Retired,
    ];
    fn next(self) -> &'static [Self] {
        match self {
            Self::Provisioning => &[Self::Ready],
            Self::Ready => &[Self::Maintenance],
            Self::Maintenance => &[Self::Ready, Self::Retired],
            Self::Retired => &[],
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Ready => "ready",
            Self::Maintenance => "maintenance",
            Self::Retired => "retired",
        }
    }
}
display_by_name!(MachineState);

/// State of a volume.
///
/// The desired state follows this table (written by operators, servers and owning tenants):
///
/// ```text
/// scheduling → ready | deleting
/// ready      → pending | deleting | scheduling (re-placement, once the agent rejected it)
/// pending    → resizing | moving | cloning | deleting
/// resizing   → ready | deleting
/// moving     → ready (once the destination's agent reported it ready) | deleting
/// cloning    → ready | deleting
/// deleting   → gone (once the agent reported the subvolume gone)
/// gone       → (none)
/// ```
///
/// A volume waits in `scheduling` until it is placed on a machine; `pending` announces an
/// operation, which then runs as `resizing`, `moving` or `cloning` and ends back in `ready`.
/// Any live volume may be deleted, even mid-operation, so a stuck operation can be abandoned.
///
/// The current state is what the agent sees on disk ([`VolumeState::is_reported`]): it may
/// report any of those states after any other but `gone` (the agent is the authority on its
/// disk; an operation's progress is reported straight from `ready`), including its two
/// refusals, `rejected` (admission: the filesystem has no room for the quota; a server then
/// re-places the volume) and `failed` (an error it keeps retrying; an operator may retry at
/// once).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum VolumeState {
    /// Waiting to be placed on a machine.
    Scheduling,
    /// Placed and usable.
    Ready,
    /// An operation is about to start.
    Pending,
    /// Its quota is being changed.
    Resizing,
    /// It is being copied to another machine.
    Moving,
    /// It is being copied into a new volume.
    Cloning,
    /// Being removed from its machine.
    Deleting,
    /// Removed; the entry can be purged.
    Gone,
    /// Reported by the agent: it refused the volume (no room for its quota).
    Rejected,
    /// Reported by the agent: its last attempt failed; it retries with backoff.
    Failed,
}

impl StateMachine for VolumeState {
    const ENTITY: &'static str = "volume";
    const ALL: &'static [Self] = &[
        Self::Scheduling,
        Self::Ready,
        Self::Pending,
        Self::Resizing,
        Self::Moving,
        Self::Cloning,
        Self::Deleting,
        Self::Gone,
        Self::Rejected,
        Self::Failed,
    ];
    fn next(self) -> &'static [Self] {
        match self {
            Self::Scheduling => &[Self::Ready, Self::Deleting],
            Self::Ready => &[Self::Pending, Self::Deleting, Self::Scheduling],
            Self::Pending => &[Self::Resizing, Self::Moving, Self::Cloning, Self::Deleting],
            Self::Resizing | Self::Moving | Self::Cloning => &[Self::Ready, Self::Deleting],
            Self::Deleting => &[Self::Gone],
            Self::Gone | Self::Rejected | Self::Failed => &[],
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Scheduling => "scheduling",
            Self::Ready => "ready",
            Self::Pending => "pending",
            Self::Resizing => "resizing",
            Self::Moving => "moving",
            Self::Cloning => "cloning",
            Self::Deleting => "deleting",
            Self::Gone => "gone",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }
}
display_by_name!(VolumeState);

impl VolumeState {
    /// True for the three operation states.
    pub fn is_operation(self) -> bool {
        matches!(self, Self::Resizing | Self::Moving | Self::Cloning)
    }

    /// True for the states an agent reports (all but `scheduling` and `pending`, which only
    /// exist on the desired side).
    pub fn is_reported(self) -> bool {
        !matches!(self, Self::Scheduling | Self::Pending)
    }

    /// Ok when an agent may report `to` after having reported `from`: any reported state
    /// but after `gone`, which is final.
    pub fn check_report(id: &str, from: Option<Self>, to: Self) -> Result<()> {
        match from {
            Some(Self::Gone) if to != Self::Gone => Err(Error::IllegalTransition {
                entity: "volume",
                id: id.to_string(),
                from: Self::Gone.name().to_string(),
                to: to.name().to_string(),
            }),
            _ if !to.is_reported() => Err(Error::invalid(
                "volume.current.state",
                format!("{to} is not a state an agent reports"),
            )),
            _ => Ok(()),
        }
    }
}

/// State of a compute instance.
///
/// ```text
/// stopped → running
/// running → stopped
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Not running.
    Stopped,
    /// Running (every disk was initialized when it started).
    Running,
}

impl StateMachine for InstanceState {
    const ENTITY: &'static str = "instance";
    const ALL: &'static [Self] = &[Self::Stopped, Self::Running];
    fn next(self) -> &'static [Self] {
        match self {
            Self::Stopped => &[Self::Running],
            Self::Running => &[Self::Stopped],
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Running => "running",
        }
    }
}
display_by_name!(InstanceState);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair outside the table is refused, every pair inside accepted.
    fn exhaustive<S: StateMachine>() {
        for &from in S::ALL {
            for &to in S::ALL {
                let legal = from == to || from.next().contains(&to);
                let got = check_transition("x", from, to);
                assert_eq!(got.is_ok(), legal, "{from} -> {to}");
                if let Err(e) = got {
                    let want = format!("{} x: illegal transition from {from} to {to}", S::ENTITY);
                    assert_eq!(e.to_string(), want);
                }
            }
            assert_eq!(S::parse(from.name()), Some(from));
        }
    }

    #[test]
    fn tables_are_enforced() {
        exhaustive::<MachineState>();
        exhaustive::<VolumeState>();
        exhaustive::<InstanceState>();
    }
}
