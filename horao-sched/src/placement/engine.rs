//! The placement loop: order the requests, pick a machine for each from the indexes, and
//! collect the plan.

use std::collections::{HashMap, HashSet};

use super::index::{FilterMemo, LabelClasses, ResidualIndex};
use super::reason::{Failure, diagnose};
use super::types::{Assignment, Config, PlacementInput, Plan, Reason, Unplaced};
use super::validate::{reserve, validate};
use crate::Result;
use crate::vector::Heuristic;
use crate::vector::kernel::{dot, fits, inverse_scale, l2_gap, normalized_product, normalized_sum};

/// Places a batch of requests onto machines, given what the machines already carry.
///
/// Returns a [`Plan`]: an [`Assignment`] for each placed request and an [`Unplaced`] with a
/// [`Reason`] for each other one. Never over-commits: the reservations placed on a machine
/// fit within `capacity − usage` in every resource. Deterministic: the same input and config
/// always give the same plan (ties go to the earlier request and the earlier machine).
///
/// Errors only on malformed input: duplicate machine or request ids, or a capacity, usage or
/// demand vector whose length differs from the number of resources.
pub fn place(input: &PlacementInput, config: &Config) -> Result<Plan> {
    validate(input)?;
    let d = input.resources.len();
    let machines = &input.machines;

    let mut residual = Vec::with_capacity(machines.len() * d);
    for machine in machines {
        for r in 0..d {
            let used = machine.usage.get(r).copied().unwrap_or(0);
            residual.push(machine.capacity[r].saturating_sub(used));
        }
    }
    let scale: Vec<u64> = (0..d)
        .map(|r| machines.iter().map(|m| m.capacity[r]).max().unwrap_or(0))
        .collect();
    let inv = inverse_scale(&scale);

    let classes = LabelClasses::new(machines);
    let mut memo = FilterMemo::default();
    // Every heuristic but the L2 norm answers from the sorted index.
    let indexed = config.heuristic != Heuristic::L2Norm;
    let mut sorted = indexed.then(|| ResidualIndex::new(&classes, &residual, d));
    let mut hosts: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (m, machine) in machines.iter().enumerate() {
        for group in &machine.groups {
            hosts.entry(group.as_str()).or_default().insert(m);
        }
    }

    let mut outcome: Vec<Option<(usize, Vec<u64>)>> = vec![None; input.requests.len()];
    let mut reasons: Vec<Option<Reason>> = vec![None; input.requests.len()];
    let mut order = Vec::with_capacity(input.requests.len());
    for (i, request) in input.requests.iter().enumerate() {
        match reserve(&input.resources, request) {
            Ok(need) => {
                let key = match config.heuristic {
                    Heuristic::FfdProduct => normalized_product(&need, &inv),
                    _ => normalized_sum(&need, &inv),
                };
                order.push((key, normalized_sum(&need, &inv), i, need));
            }
            Err(problem) => reasons[i] = Some(Reason::Invalid { problem }),
        }
    }
    order.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(a.2.cmp(&b.2))
    });

    for (_, _, i, need) in order {
        let request = &input.requests[i];
        let matching = memo.matching(&classes, &request.labels);
        let excluded = request.anti_affinity.as_deref().and_then(|g| hosts.get(g));
        let ctx = Choice {
            need: &need,
            residual: &residual,
            d,
            inv: &inv,
            excluded,
        };
        let chosen = match (&sorted, config.heuristic) {
            (Some(index), Heuristic::DotProduct) => ctx.best_dot(index, matching),
            (Some(index), _) => ctx.best_fit(index, matching),
            (None, _) => ctx.scan(&classes.members, matching, |s, r, w| -l2_gap(s, r, w)),
        };
        let Some(m) = chosen else {
            let failure = Failure {
                request: i,
                need: &need,
                candidates: matching
                    .iter()
                    .flat_map(|&c| classes.members[c].iter().copied())
                    .collect(),
                excluded,
            };
            reasons[i] = Some(diagnose(input, &failure, &residual));
            continue;
        };
        let old: Vec<u64> = residual[m * d..(m + 1) * d].to_vec();
        for (free, n) in residual[m * d..(m + 1) * d].iter_mut().zip(&need) {
            *free -= n;
        }
        if let (Some(index), Some(class)) = (&mut sorted, classes.class_of[m]) {
            index.update(class, m, &old, &residual[m * d..(m + 1) * d]);
        }
        if let Some(group) = request.anti_affinity.as_deref() {
            hosts.entry(group).or_default().insert(m);
        }
        outcome[i] = Some((m, need));
    }

    let mut plan = Plan::default();
    for (i, request) in input.requests.iter().enumerate() {
        if let Some((m, reserved)) = outcome[i].take() {
            plan.assignments.push(Assignment {
                request: request.id.clone(),
                machine: machines[m].id.clone(),
                reserved,
            });
        } else if let Some(reason) = reasons[i].take() {
            plan.unplaced.push(Unplaced {
                request: request.id.clone(),
                reason,
            });
        }
    }
    Ok(plan)
}

/// What choosing a machine for one request needs to know.
struct Choice<'a> {
    need: &'a [u64],
    residual: &'a [u64],
    d: usize,
    inv: &'a [f64],
    excluded: Option<&'a HashSet<usize>>,
}

impl Choice<'_> {
    /// Whether machine `m` is allowed and has room.
    fn admits(&self, m: usize) -> bool {
        !self.excluded.is_some_and(|e| e.contains(&m))
            && fits(self.need, &self.residual[m * self.d..(m + 1) * self.d])
    }

    /// The request's dominant resource: the largest demand relative to the largest capacity.
    fn dominant(&self) -> usize {
        let mut best = (0, f64::NEG_INFINITY);
        for (r, (&n, &w)) in self.need.iter().zip(self.inv).enumerate() {
            let share = if n > 0 && w == 0.0 {
                f64::INFINITY
            } else {
                n as f64 * w
            };
            if share > best.1 {
                best = (r, share);
            }
        }
        best.0
    }

    /// Best fit on the dominant resource: the admitted machine with the least free amount of
    /// it (then the earliest), found by walking each class's sorted set upward from the need.
    fn best_fit(&self, index: &ResidualIndex, classes: &[usize]) -> Option<usize> {
        let r = self.dominant();
        let mut best: Option<(u64, usize)> = None;
        for &class in classes {
            for entry in index.ascending(class, r, self.need[r]) {
                if best.is_some_and(|b| entry >= b) {
                    break;
                }
                if self.admits(entry.1) {
                    best = Some(entry);
                    break;
                }
            }
        }
        best.map(|(_, m)| m)
    }

    /// The admitted machine with the largest dot product of demand and free space (then the
    /// earliest). Each class is walked from the most free dominant resource down, and the walk
    /// stops once even the class's best free amounts in the other resources could not beat
    /// the best score found (a small slack keeps float rounding from pruning a tie).
    fn best_dot(&self, index: &ResidualIndex, classes: &[usize]) -> Option<usize> {
        let k = self.dominant();
        let weight = |r: usize| self.need[r] as f64 * self.inv[r] * self.inv[r];
        let mut best: Option<(f64, usize)> = None;
        for &class in classes {
            let rest: f64 = (0..self.d)
                .filter(|&r| r != k)
                .map(|r| weight(r) * index.max(class, r) as f64)
                .sum();
            for (free, m) in index.descending(class, k, self.need[k]) {
                let bound = weight(k) * free as f64 + rest;
                if best.is_some_and(|(bs, _)| bound * (1.0 + 1e-9) < bs) {
                    break;
                }
                if !self.admits(m) {
                    continue;
                }
                let s = dot(
                    self.need,
                    &self.residual[m * self.d..(m + 1) * self.d],
                    self.inv,
                );
                let better = match best {
                    None => true,
                    Some((bs, bm)) => s > bs || (s == bs && m < bm),
                };
                if better {
                    best = Some((s, m));
                }
            }
        }
        best.map(|(_, m)| m)
    }

    /// The admitted machine with the highest `score(need, free, inverse scale)` (then the
    /// earliest), by scanning every machine of the matching classes.
    fn scan(
        &self,
        members: &[Vec<usize>],
        classes: &[usize],
        score: fn(&[u64], &[u64], &[f64]) -> f64,
    ) -> Option<usize> {
        let mut best: Option<(f64, usize)> = None;
        for &class in classes {
            for &m in &members[class] {
                if !self.admits(m) {
                    continue;
                }
                let s = score(
                    self.need,
                    &self.residual[m * self.d..(m + 1) * self.d],
                    self.inv,
                );
                let better = match best {
                    None => true,
                    Some((bs, bm)) => s > bs || (s == bs && m < bm),
                };
                if better {
                    best = Some((s, m));
                }
            }
        }
        best.map(|(_, m)| m)
    }
}
