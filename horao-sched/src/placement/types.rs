//! The placement API's input and output types: owned, simple and serde-ready, so the server can
//! take them straight from and to JSON.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::vector::{Dilation, Heuristic, Resources};

/// A machine as the caller sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Unique id (a host name, a UUID, ...).
    pub id: String,
    /// Capacity per resource, indexed like [`PlacementInput::resources`].
    pub capacity: Vec<u64>,
    /// What is already in use per resource; an empty vector means nothing. Usage above the
    /// capacity (possible after a partition merged two placements) leaves no room, never less.
    #[serde(default)]
    pub usage: Vec<u64>,
    /// The machine's labels ("ssd", "zone=a", ...): resource filters match against these.
    #[serde(default)]
    pub labels: BTreeSet<String>,
    /// Whether new work may go here; false for machines in maintenance, draining or retired.
    #[serde(default = "yes")]
    pub schedulable: bool,
    /// Anti-affinity groups that already have a member on this machine.
    #[serde(default)]
    pub groups: BTreeSet<String>,
}

fn yes() -> bool {
    true
}

/// Something to place: a volume, an instance, one unit of a reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Unique id within the batch.
    pub id: String,
    /// Nominal demand per resource, indexed like [`PlacementInput::resources`].
    pub demand: Vec<u64>,
    /// Labels a machine must all carry to host this request.
    #[serde(default)]
    pub labels: BTreeSet<String>,
    /// Requests of the same group never share a machine (nor join a machine whose
    /// [`Machine::groups`] already holds the group).
    #[serde(default)]
    pub anti_affinity: Option<String>,
    /// Headroom reserved on top of the demand, applied to every resource: the request reserves
    /// [`Dilation::apply`] of each entry.
    #[serde(default)]
    pub dilation: Dilation,
}

/// One placement problem: the resources, the machines as they are and a batch of requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementInput {
    /// Names of the dimensions of every capacity, usage and demand vector.
    pub resources: Resources,
    /// The machines, in the caller's order (which breaks ties).
    pub machines: Vec<Machine>,
    /// The requests to place.
    pub requests: Vec<Request>,
}

/// How to place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The heuristic. `FfdSum`/`FfdProduct` order requests by decreasing normalised sum/product
    /// and put each on the machine with the least free amount of the request's dominant
    /// resource that still fits it (best fit, from a sorted index); `DotProduct` puts each on
    /// the machine whose free space aligns best with the demand (it spreads load; the sorted
    /// index prunes the search); `L2Norm` on
    /// the machine left with the smallest normalised free space (a multi-resource best fit).
    /// Sizes are normalised by the largest capacity of each resource.
    #[serde(default = "default_heuristic")]
    pub heuristic: Heuristic,
}

/// Dot-product greedy is the placement default: on the mixed cpu/ram/disk benchmark it placed
/// every request where the best-fit heuristics stranded capacity (docs/PERFORMANCE.md).
fn default_heuristic() -> Heuristic {
    Heuristic::DotProduct
}

impl Default for Config {
    fn default() -> Self {
        Self {
            heuristic: default_heuristic(),
        }
    }
}

/// The result of a placement: where each request goes, and why the others could not go.
///
/// Both lists follow the order of [`PlacementInput::requests`]; each request id appears in
/// exactly one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The placed requests.
    pub assignments: Vec<Assignment>,
    /// The requests that could not be placed, each with its reason.
    pub unplaced: Vec<Unplaced>,
}

/// One placed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The request id.
    pub request: String,
    /// The machine id.
    pub machine: String,
    /// What it reserves there per resource: the demand with its dilation applied.
    pub reserved: Vec<u64>,
}

/// One request that could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unplaced {
    /// The request id.
    pub request: String,
    /// Why.
    pub reason: Reason,
}

/// Why a request could not be placed. Checked in this order, so the reason names the first
/// obstacle: validity, then labels, then schedulability, then anti-affinity, then capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    /// The request itself cannot be satisfied by any machine.
    Invalid {
        /// What is wrong with it.
        problem: InvalidRequest,
    },
    /// No machine at all carries every required label.
    NoMachineWithLabels {
        /// The required labels.
        labels: Vec<String>,
    },
    /// Machines with the labels exist, but none of them is schedulable.
    NoSchedulableMachine {
        /// How many machines carry the labels.
        matching: usize,
    },
    /// Every schedulable machine with the labels already hosts a member of the group.
    AntiAffinity {
        /// The anti-affinity group.
        group: String,
        /// How many machines the group excluded.
        excluded: usize,
    },
    /// Candidate machines exist, but none has enough free capacity. The figures describe the
    /// candidate that comes closest (smallest largest relative shortfall) and its scarcest
    /// resource.
    Insufficient {
        /// The resource that is short.
        resource: String,
        /// The reserved amount needed (dilation included).
        needed: u64,
        /// What the closest machine has free of it.
        available: u64,
        /// The closest machine.
        machine: String,
    },
}

/// What makes a request invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum InvalidRequest {
    /// Every entry of the demand is zero: there is nothing to place.
    ZeroDemand,
    /// The demand with its dilation exceeds `u64::MAX` in a resource.
    DilationOverflow {
        /// The resource.
        resource: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid {
                problem: InvalidRequest::ZeroDemand,
            } => {
                write!(f, "invalid request: zero demand")
            }
            Self::Invalid {
                problem: InvalidRequest::DilationOverflow { resource },
            } => {
                write!(f, "invalid request: {resource} overflows with dilation")
            }
            Self::NoMachineWithLabels { labels } => {
                write!(f, "no machine has labels [{}]", labels.join(", "))
            }
            Self::NoSchedulableMachine { matching } => {
                write!(f, "none of the {matching} matching machines is schedulable")
            }
            Self::AntiAffinity { group, excluded } => {
                write!(
                    f,
                    "anti-affinity group {group} excludes all {excluded} candidates"
                )
            }
            Self::Insufficient {
                resource,
                needed,
                available,
                machine,
            } => write!(
                f,
                "not enough {resource}: needs {needed}, closest machine {machine} has {available}"
            ),
        }
    }
}
