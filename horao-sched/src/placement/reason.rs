//! Explains why a request found no machine: the first obstacle among labels, schedulability,
//! anti-affinity and capacity, with the closest candidate's shortfall for the last.

use std::collections::HashSet;

use super::types::{PlacementInput, Reason};

/// Everything known about a request that found no machine.
pub(crate) struct Failure<'a> {
    /// The request's position in the input.
    pub(crate) request: usize,
    /// Its reserved demand (dilation applied).
    pub(crate) need: &'a [u64],
    /// The schedulable machines carrying its labels.
    pub(crate) candidates: Vec<usize>,
    /// The machines its anti-affinity group excludes.
    pub(crate) excluded: Option<&'a HashSet<usize>>,
}

/// The reason for a [`Failure`], given the current free capacity (flat, stride `d`).
pub(crate) fn diagnose(input: &PlacementInput, failure: &Failure<'_>, residual: &[u64]) -> Reason {
    let request = &input.requests[failure.request];
    if failure.candidates.is_empty() {
        let matching = input
            .machines
            .iter()
            .filter(|m| request.labels.is_subset(&m.labels))
            .count();
        return if matching == 0 {
            Reason::NoMachineWithLabels {
                labels: request.labels.iter().cloned().collect(),
            }
        } else {
            Reason::NoSchedulableMachine { matching }
        };
    }
    let open: Vec<usize> = failure
        .candidates
        .iter()
        .copied()
        .filter(|m| !failure.excluded.is_some_and(|e| e.contains(m)))
        .collect();
    if open.is_empty() {
        return Reason::AntiAffinity {
            group: request.anti_affinity.clone().unwrap_or_default(),
            excluded: failure.candidates.len(),
        };
    }
    let d = failure.need.len();
    // The closest machine minimises its largest relative shortfall (short / need), compared
    // exactly as fractions; its scarcest resource is the one reported.
    let mut best: Option<(u128, u128, usize, usize)> = None; // (short, need, machine, resource)
    for &m in &open {
        let free = &residual[m * d..(m + 1) * d];
        let mut worst: Option<(u128, u128, usize)> = None;
        for (r, (&need, &have)) in failure.need.iter().zip(free).enumerate() {
            if need > have {
                let (s, n) = (u128::from(need - have), u128::from(need));
                if worst.is_none_or(|(ws, wn, _)| s * wn > ws * n) {
                    worst = Some((s, n, r));
                }
            }
        }
        let (s, n, r) = worst.unwrap_or((0, 1, 0));
        if best.is_none_or(|(bs, bn, _, _)| s * bn < bs * n) {
            best = Some((s, n, m, r));
        }
    }
    let (_, _, m, r) = best.unwrap_or((0, 1, open[0], 0));
    Reason::Insufficient {
        resource: input.resources.name(r).unwrap_or_default().to_owned(),
        needed: failure.need[r],
        available: residual[m * d + r],
        machine: input.machines[m].id.clone(),
    }
}
