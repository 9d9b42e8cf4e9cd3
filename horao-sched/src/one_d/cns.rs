//! Consistent neighbourhood search for one bin less, after Buljubašić & Vasquez (2016).
//!
//! From a packing with `k` bins, two bins are emptied into a "trash" and the other `k - 2`
//! bins are kept feasible at all times. A tabu search swaps up to two items of a bin with up
//! to three items of the trash (Swap(0,1), (1,1), (2,1), (1,2), (2,2), …), always taking the
//! best allowed move even when it makes things worse, under the lexicographic objective
//! "lightest trash, then most trash items" (many small items are easier to place later). An
//! item may not return to the bin or trash it just left for a few iterations unless that
//! gives the lightest trash seen. When the search stalls, a descent repacks single bins
//! optimally from their items and the trash and concentrates free space between bins. As
//! soon as the trash fits into one bin, it becomes the `(k - 1)`-th bin.

use std::cmp::Reverse;

use rand::Rng;

use super::fit::Bins;
use super::mbs;
use super::subset::{Subset, same_sizes, subsets, take};

/// Place marker of the trash in the tabu list.
const TRASH: usize = usize::MAX;

/// Tuning of one CNS run.
#[derive(Clone, Copy)]
pub(crate) struct Tuning {
    /// Iterations without a lighter trash before a descent and perturbation.
    pub(crate) patience: u64,
    /// Descents before the run gives up.
    pub(crate) max_descents: u64,
    /// Nodes of the subset search that repacks one bin.
    pub(crate) pack_nodes: u64,
}

/// The partial packing of one CNS run: feasible bins plus the trash.
pub(crate) struct Cns<'a, R: Rng> {
    items: &'a [u64],
    capacity: u128,
    bins: Vec<Vec<usize>>,
    loads: Vec<u128>,
    trash: Vec<usize>,
    trash_weight: u128,
    /// Per item, the place (bin index or [`TRASH`]) it last left and the iteration until
    /// which it may not return there.
    left: Vec<(usize, u64)>,
    iteration: u64,
    effort: &'a mut u64,
    rng: &'a mut R,
}

/// The best move found so far in one tabu step.
struct Candidate {
    key: (u128, Reverse<usize>),
    bin: usize,
    out: Subset,
    incoming: Subset,
}

impl<'a, R: Rng> Cns<'a, R> {
    /// A partial packing: `start` without the bins `removed`, whose items form the trash.
    pub(crate) fn new(
        items: &'a [u64],
        capacity: u64,
        start: &Bins,
        removed: [usize; 2],
        effort: &'a mut u64,
        rng: &'a mut R,
    ) -> Self {
        let mut bins = Vec::with_capacity(start.len());
        let mut trash = Vec::new();
        for (b, bin) in start.iter().enumerate() {
            if removed.contains(&b) {
                trash.extend_from_slice(bin);
            } else {
                bins.push(bin.clone());
            }
        }
        let weight = |list: &[usize]| list.iter().map(|&i| u128::from(items[i])).sum::<u128>();
        let loads = bins.iter().map(|b| weight(b)).collect();
        let trash_weight = weight(&trash);
        Self {
            items,
            capacity: u128::from(capacity),
            bins,
            loads,
            trash,
            trash_weight,
            left: vec![(TRASH, 0); items.len()],
            iteration: 0,
            effort,
            rng,
        }
    }

    fn spend(&mut self, work: u64) {
        *self.effort = self.effort.saturating_sub(work.max(1));
    }

    fn is_tabu(&self, item: usize, place: usize) -> bool {
        let (left, until) = self.left[item];
        left == place && until > self.iteration
    }

    /// One tabu-search move between a bin and the trash; false if no move is allowed.
    fn tabu_step(&mut self, best_weight: u128) -> bool {
        let max_in = if self.trash.len() <= 12 { 3 } else { 2 };
        let mut pool = subsets(self.items, &self.trash, 1, max_in);
        pool.sort_unstable_by_key(|s| (s.weight, Reverse(s.len)));
        let mut work = pool.len() as u64;
        let mut best: Option<Candidate> = None;
        let mut ties = 0u32;
        let count = self.trash.len();
        for bin in 0..self.bins.len() {
            let room = self.capacity - self.loads[bin];
            let members = &self.bins[bin];
            let outs = subsets(self.items, members, 0, 2);
            work += outs.len() as u64 * 2;
            for out in outs {
                let out_tabu = out.items(members).any(|i| self.is_tabu(i, TRASH));
                let limit = room + out.weight;
                let mut p = pool.partition_point(|s| s.weight <= limit);
                let mut scanned = 0;
                while p > 0 && scanned < 8 {
                    p -= 1;
                    scanned += 1;
                    let incoming = pool[p];
                    let weight = self.trash_weight + out.weight - incoming.weight;
                    let key = (weight, Reverse(count + out.len - incoming.len));
                    if best.as_ref().is_some_and(|b| key > b.key) {
                        break;
                    }
                    if same_sizes(self.items, &out, members, &incoming, &self.trash) {
                        continue;
                    }
                    let tabu =
                        out_tabu || incoming.items(&self.trash).any(|i| self.is_tabu(i, bin));
                    if tabu && weight >= best_weight {
                        continue;
                    }
                    let candidate = Candidate {
                        key,
                        bin,
                        out,
                        incoming,
                    };
                    match &best {
                        Some(b) if b.key == key => {
                            ties += 1;
                            if self.rng.random_range(0..=ties) == 0 {
                                best = Some(candidate);
                            }
                        }
                        _ => {
                            ties = 0;
                            best = Some(candidate);
                        }
                    }
                    break;
                }
            }
        }
        self.spend(work);
        let Some(chosen) = best else {
            return false;
        };
        self.apply(chosen.bin, &chosen.out, &chosen.incoming);
        true
    }

    /// Moves `out` of `bin` to the trash and `incoming` of the trash into `bin`.
    fn apply(&mut self, bin: usize, out: &Subset, incoming: &Subset) {
        let tenure = self.iteration + self.rng.random_range(3..=10);
        let moved_in = take(&mut self.trash, incoming);
        let moved_out = take(&mut self.bins[bin], out);
        for &i in &moved_in {
            self.left[i] = (TRASH, tenure);
        }
        for &i in &moved_out {
            self.left[i] = (bin, tenure);
        }
        self.loads[bin] = self.loads[bin] - out.weight + incoming.weight;
        self.trash_weight = self.trash_weight + out.weight - incoming.weight;
        self.bins[bin].extend(moved_in);
        self.trash.extend(moved_out);
    }

    /// Refills each bin, in random order, with the fullest subset of its items and the
    /// trash; returns true if the trash got lighter.
    fn pack_bins(&mut self, nodes: u64) -> bool {
        let start = self.trash_weight;
        let count = self.bins.len();
        if count == 0 {
            return false;
        }
        let offset = self.rng.random_range(0..count);
        for k in 0..count {
            let bin = (offset + k) % count;
            let mut candidates: Vec<usize> = self.bins[bin].clone();
            candidates.extend_from_slice(&self.trash);
            candidates.sort_unstable_by_key(|&i| (Reverse(self.items[i]), i));
            let room = u64::try_from(self.capacity).unwrap_or(u64::MAX);
            let (chosen, slack) = mbs::fill_bin(self.items, &candidates, room, nodes);
            self.spend(nodes.min(candidates.len() as u64 * 8));
            let fill = self.capacity - u128::from(slack);
            if fill <= self.loads[bin] || slack == u64::MAX {
                continue;
            }
            let mut chosen_mark = chosen.clone();
            chosen_mark.sort_unstable();
            self.trash = candidates
                .into_iter()
                .filter(|i| chosen_mark.binary_search(i).is_err())
                .collect();
            self.trash_weight -= fill - self.loads[bin];
            self.loads[bin] = fill;
            self.bins[bin] = chosen;
        }
        self.trash_weight < start
    }

    /// Runs the search; true (and the packing via [`Cns::into_bins`]) once the trash fits
    /// into one bin.
    pub(crate) fn run(&mut self, tuning: Tuning) -> bool {
        let mut best_weight = self.trash_weight;
        let mut stale = 0u64;
        let mut descents = 0u64;
        while *self.effort > 0 {
            if self.trash_weight <= self.capacity {
                return true;
            }
            self.iteration += 1;
            if !self.tabu_step(best_weight) {
                stale = tuning.patience;
            }
            if self.trash_weight < best_weight {
                best_weight = self.trash_weight;
                stale = 0;
            } else {
                stale += 1;
            }
            if stale >= tuning.patience {
                if descents >= tuning.max_descents {
                    return false;
                }
                descents += 1;
                stale = 0;
                self.pack_bins(tuning.pack_nodes);
                if self.trash_weight < best_weight {
                    best_weight = self.trash_weight;
                }
            }
        }
        self.trash_weight <= self.capacity
    }

    /// The packing: the kept bins plus the trash as one more bin (when not empty).
    pub(crate) fn into_bins(self) -> Bins {
        let mut bins = self.bins;
        if !self.trash.is_empty() {
            bins.push(self.trash);
        }
        bins.retain(|b| !b.is_empty());
        bins
    }
}
