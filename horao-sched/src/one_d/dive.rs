//! A diving heuristic on the LP of column generation: fix the patterns the LP uses at
//! value one or more, or else the one it uses most, re-solve the LP over the items left
//! (seeded with every pattern generated so far) and repeat until every item is packed.
//!
//! On instances whose optimum equals ⌈z_LP⌉ (the AI instances, most of Hard28) the LP
//! solution is close to an integer one, and rounding it this way fills bins exactly where
//! local search struggles. The dive abandons as soon as the bins fixed plus the LP bound of
//! what is left exceed its target; its work is the LP's pricing rounds, a count.

use super::fit::Bins;
use super::lp::{self, Generation, Types};
use super::master::Column;

/// Most discrepancies (choices other than the LP's first) along one path of the dive.
const DISCREPANCIES: u32 = 3;
/// Patterns tried at one node: the LP's first choice and this many alternatives.
const ALTERNATIVES: usize = 2;
/// Residual instances with at most this many items are finished by the exact search.
const EXACT_ITEMS: u64 = 40;
/// Nodes of that exact search.
const EXACT_NODES: u64 = 20_000;

/// A node of the dive: what is left to pack, the patterns fixed, and the LP over the rest.
#[derive(Clone)]
struct Node {
    residual: Vec<u64>,
    fixed: Vec<Vec<u64>>,
    /// The LP solution over the residual, as (pattern in the original numbering, value).
    solution: Vec<(Column, f64)>,
}

/// The search state shared by every node.
struct Dive<'a> {
    types: &'a Types,
    capacity: u64,
    target: u64,
    rounds: u64,
    /// Every pattern generated so far, in the original numbering.
    pool: Vec<Column>,
}

/// Dives from the LP `start` towards a packing of at most `target` bins with limited
/// discrepancy backtracking, spending at most `rounds` pricing rounds; None when no packing
/// of `target` bins was found.
pub(crate) fn dive(
    types: &Types,
    capacity: u64,
    start: &Generation,
    target: u64,
    rounds: u64,
) -> Option<Bins> {
    let solution = start
        .master
        .solution()
        .into_iter()
        .map(|(j, x)| (start.master.columns[j].clone(), x))
        .collect();
    let mut search = Dive {
        types,
        capacity,
        target,
        rounds,
        pool: start.master.columns.clone(),
    };
    let root = Node {
        residual: types.demand.clone(),
        fixed: Vec::new(),
        solution,
    };
    let fixed = search.descend(root, DISCREPANCIES)?;
    Some(assign(types, &fixed))
}

impl Dive<'_> {
    /// Explores `node`'s children, first the LP's choice, then alternatives while
    /// `discrepancies` last; returns the patterns of a packing within the target.
    fn descend(&mut self, mut node: Node, discrepancies: u32) -> Option<Vec<Vec<u64>>> {
        let m = self.types.sizes.len();
        node.solution
            .sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let tries = if discrepancies > 0 {
            1 + ALTERNATIVES
        } else {
            1
        };
        for choice in 0..tries.min(node.solution.len()) {
            if self.rounds == 0 {
                return None;
            }
            let mut child = Node {
                residual: node.residual.clone(),
                fixed: node.fixed.clone(),
                solution: Vec::new(),
            };
            let mut took = false;
            if choice == 0 {
                for (column, x) in &node.solution {
                    let copies = (x + 1e-6).floor() as u64;
                    for _ in 0..copies {
                        took |= fix(column, &mut child.residual, &mut child.fixed, m);
                    }
                }
            }
            if !took {
                took = fix(
                    &node.solution[choice].0,
                    &mut child.residual,
                    &mut child.fixed,
                    m,
                );
            }
            if !took {
                continue;
            }
            if let Some(done) = self.finish(&child) {
                return Some(done);
            }
            if !self.resolve(&mut child) {
                continue;
            }
            let left = if choice == 0 {
                discrepancies
            } else {
                discrepancies - 1
            };
            if let Some(done) = self.descend(child, left) {
                return Some(done);
            }
        }
        None
    }

    /// Completes `node` directly when nothing is left or few enough items are left for the
    /// exact search to pack them within the target.
    fn finish(&self, node: &Node) -> Option<Vec<Vec<u64>>> {
        let left = self.target.checked_sub(node.fixed.len() as u64)?;
        let count: u64 = node.residual.iter().sum();
        if count == 0 {
            return Some(node.fixed.clone());
        }
        if count > EXACT_ITEMS || left == 0 {
            return None;
        }
        // The residual as single items (type indices), packed by the exact search.
        let of: Vec<usize> = node
            .residual
            .iter()
            .enumerate()
            .flat_map(|(t, &d)| std::iter::repeat_n(t, d as usize))
            .collect();
        let sizes: Vec<u64> = of.iter().map(|&t| self.types.sizes[t]).collect();
        let sized = super::fit::decreasing(&sizes);
        let start = super::fit::first_fit(&sized, self.capacity);
        let bins = if start.len() as u64 <= left {
            start
        } else {
            let outcome =
                super::exact::search_below(&sizes, self.capacity, left, start, EXACT_NODES);
            outcome.bins
        };
        if bins.len() as u64 > left {
            return None;
        }
        let mut fixed = node.fixed.clone();
        for bin in bins {
            let mut pattern = vec![0u64; self.types.sizes.len()];
            for i in bin {
                pattern[of[i]] += 1;
            }
            fixed.push(pattern);
        }
        Some(fixed)
    }

    /// Solves the LP over `node`'s residual; false when its bound rules the target out.
    fn resolve(&mut self, node: &mut Node) -> bool {
        let m = self.types.sizes.len();
        let residual = &node.residual;
        let keep: Vec<usize> = (0..m).filter(|&t| residual[t] > 0).collect();
        let mut index = vec![usize::MAX; m];
        for (k, &t) in keep.iter().enumerate() {
            index[t] = k;
        }
        let sub = Types {
            sizes: keep.iter().map(|&t| self.types.sizes[t]).collect(),
            demand: keep.iter().map(|&t| residual[t]).collect(),
            members: Vec::new(),
        };
        let mut seed: Vec<Column> = self
            .pool
            .iter()
            .map(|column| {
                column
                    .iter()
                    .filter(|&&(t, _)| index[t] != usize::MAX)
                    .map(|&(t, c)| (index[t], c.min(residual[t])))
                    .collect::<Column>()
            })
            .filter(|c: &Column| !c.is_empty())
            .collect();
        seed.sort_unstable();
        seed.dedup();
        let seeded = seed.len();
        let left = self.target.saturating_sub(node.fixed.len() as u64);
        let budget = self.rounds.min(20 * keep.len() as u64 + 100);
        let generation = lp::generate(&sub, self.capacity, seed, u64::MAX, budget);
        self.rounds -= generation.lp.rounds.min(self.rounds);
        if generation.lp.bound > left {
            return false;
        }
        let back =
            |column: &Column| -> Column { column.iter().map(|&(k, c)| (keep[k], c)).collect() };
        let new = generation.master.columns.iter().skip(keep.len() + seeded);
        self.pool.extend(new.map(back));
        node.solution = generation
            .master
            .solution()
            .into_iter()
            .map(|(j, x)| (back(&generation.master.columns[j]), x))
            .collect();
        !node.solution.is_empty()
    }
}

/// Fixes one copy of `column`, trimmed to the residual demand; false if it packs nothing.
fn fix(column: &Column, residual: &mut [u64], fixed: &mut Vec<Vec<u64>>, m: usize) -> bool {
    let mut pattern = vec![0u64; m];
    for &(t, c) in column {
        pattern[t] = c.min(residual[t]);
    }
    if pattern.iter().all(|&c| c == 0) {
        return false;
    }
    for (r, &c) in residual.iter_mut().zip(&pattern) {
        *r -= c;
    }
    fixed.push(pattern);
    true
}

/// Bins of item indices from patterns over types.
fn assign(types: &Types, fixed: &[Vec<u64>]) -> Bins {
    let mut next = vec![0usize; types.sizes.len()];
    fixed
        .iter()
        .map(|pattern| {
            let mut bin = Vec::new();
            for (t, &c) in pattern.iter().enumerate() {
                let from = next[t];
                next[t] += c as usize;
                bin.extend(types.members[t].get(from..next[t]).unwrap_or(&[]));
            }
            bin
        })
        .collect()
}
