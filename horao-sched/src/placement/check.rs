//! An independent check of a placement plan against its input, sharing no code with the
//! placement engine: every request accounted for once, constraints respected, no machine
//! over-committed, and no request left out that still fits somewhere.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::types::{InvalidRequest, PlacementInput, Plan, Reason};

/// Why a [`Plan`] is wrong for its [`PlacementInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PlanViolation {
    /// The plan mentions a request that is not in the input.
    #[error("unknown request {0}")]
    UnknownRequest(String),
    /// A request appears more than once.
    #[error("request {0} appears more than once")]
    Duplicate(String),
    /// A request of the input appears nowhere in the plan.
    #[error("request {0} is missing from the plan")]
    Missing(String),
    /// A request went to a machine that does not exist or is not schedulable.
    #[error("request {request} went to unknown or unschedulable machine {machine}")]
    BadMachine {
        /// The request.
        request: String,
        /// The machine.
        machine: String,
    },
    /// A request went to a machine without one of its labels.
    #[error("request {request} needs label {label}, which machine {machine} lacks")]
    MissingLabel {
        /// The request.
        request: String,
        /// The machine.
        machine: String,
        /// The missing label.
        label: String,
    },
    /// Two members of an anti-affinity group share a machine.
    #[error("request {request} joins group {group} on machine {machine}, which already has one")]
    AntiAffinity {
        /// The request.
        request: String,
        /// The machine.
        machine: String,
        /// The group.
        group: String,
    },
    /// An assignment's reservation is not its demand with dilation applied.
    #[error("request {0} reserves the wrong amounts")]
    WrongReservation(String),
    /// A machine's reservations exceed its free capacity.
    #[error("machine {machine} is over-committed in resource {resource}")]
    Overcommit {
        /// The machine.
        machine: String,
        /// The resource index.
        resource: usize,
    },
    /// An unplaced request's reason is false: it is valid or invalid differently, or some
    /// machine could still take it after all the assignments.
    #[error("request {request} was left out although {detail}")]
    WrongReason {
        /// The request.
        request: String,
        /// What contradicts the reason.
        detail: String,
    },
}

/// Verifies `plan` against `input` (see the module documentation for what is checked).
pub fn check_plan(input: &PlacementInput, plan: &Plan) -> Result<(), PlanViolation> {
    let d = input.resources.len();
    let requests: HashMap<&str, usize> = input
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let machines: HashMap<&str, usize> = input
        .machines
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.as_str(), i))
        .collect();
    let mut seen = HashSet::new();
    let mut record = |id: &str| -> Result<usize, PlanViolation> {
        let &i = requests
            .get(id)
            .ok_or_else(|| PlanViolation::UnknownRequest(id.to_owned()))?;
        if !seen.insert(i) {
            return Err(PlanViolation::Duplicate(id.to_owned()));
        }
        Ok(i)
    };
    // Free capacity (in 128 bits, may go negative only through a bug we then report).
    let mut free: Vec<i128> = input
        .machines
        .iter()
        .flat_map(|m| {
            (0..d).map(move |r| {
                let used = m.usage.get(r).copied().unwrap_or(0);
                i128::from(m.capacity[r]) - i128::from(used.min(m.capacity[r]))
            })
        })
        .collect();
    let mut groups: Vec<HashSet<&str>> = input
        .machines
        .iter()
        .map(|m| m.groups.iter().map(String::as_str).collect())
        .collect();

    for a in &plan.assignments {
        let i = record(&a.request)?;
        let request = &input.requests[i];
        let bad = || PlanViolation::BadMachine {
            request: a.request.clone(),
            machine: a.machine.clone(),
        };
        let &m = machines.get(a.machine.as_str()).ok_or_else(bad)?;
        let machine = &input.machines[m];
        if !machine.schedulable {
            return Err(bad());
        }
        if let Some(label) = request.labels.difference(&machine.labels).next() {
            return Err(PlanViolation::MissingLabel {
                request: a.request.clone(),
                machine: a.machine.clone(),
                label: label.clone(),
            });
        }
        if let Some(group) = &request.anti_affinity {
            if !groups[m].insert(group.as_str()) {
                return Err(PlanViolation::AntiAffinity {
                    request: a.request.clone(),
                    machine: a.machine.clone(),
                    group: group.clone(),
                });
            }
        }
        let expected: Option<Vec<u64>> = request
            .demand
            .iter()
            .map(|&s| request.dilation.apply(s))
            .collect();
        if expected.as_ref() != Some(&a.reserved) || a.reserved.iter().all(|&x| x == 0) {
            return Err(PlanViolation::WrongReservation(a.request.clone()));
        }
        for (resource, &x) in a.reserved.iter().enumerate() {
            free[m * d + resource] -= i128::from(x);
            if free[m * d + resource] < 0 {
                return Err(PlanViolation::Overcommit {
                    machine: a.machine.clone(),
                    resource,
                });
            }
        }
    }

    for u in &plan.unplaced {
        let i = record(&u.request)?;
        let request = &input.requests[i];
        let wrong = |detail: String| PlanViolation::WrongReason {
            request: u.request.clone(),
            detail,
        };
        let reserved: Option<Vec<u64>> = request
            .demand
            .iter()
            .map(|&s| request.dilation.apply(s))
            .collect();
        let really_invalid = match &reserved {
            None => true,
            Some(v) => v.iter().all(|&x| x == 0),
        };
        if let Reason::Invalid { problem } = &u.reason {
            let zero = request.demand.iter().all(|&x| x == 0);
            if zero != matches!(problem, InvalidRequest::ZeroDemand) || !really_invalid {
                return Err(wrong(format!(
                    "its invalidity is misreported as {problem:?}"
                )));
            }
            continue;
        }
        let Some(need) = reserved.filter(|_| !really_invalid) else {
            return Err(wrong("it is invalid".to_owned()));
        };
        for (m, machine) in input.machines.iter().enumerate() {
            let open = machine.schedulable
                && request.labels.is_subset(&machine.labels)
                && !request
                    .anti_affinity
                    .as_ref()
                    .is_some_and(|g| groups[m].contains(g.as_str()))
                && need
                    .iter()
                    .enumerate()
                    .all(|(r, &x)| i128::from(x) <= free[m * d + r]);
            if open {
                return Err(wrong(format!("machine {} can still take it", machine.id)));
            }
        }
    }

    if let Some(r) = input
        .requests
        .iter()
        .enumerate()
        .find(|(i, _)| !seen.contains(i))
    {
        return Err(PlanViolation::Missing(r.1.id.clone()));
    }
    Ok(())
}
