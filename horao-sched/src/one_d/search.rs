//! The improvement method: greedy and MBS' starts, then a local search that removes one bin
//! at a time, in the spirit of the consistent neighbourhood search of Buljubašić & Vasquez
//! (2016).
//!
//! To go from `k` to `k - 1` bins, the items of one bin are moved to a "trash" set and the
//! other bins are kept feasible. Moves swap up to two items of a bin with up to three items
//! of the trash when that lowers the trash's total size; when none does, bin-to-bin swaps
//! concentrate free space (raising the sum of squared loads) to open room, and when that is
//! stuck too a random kick pushes a trash item into a random bin. The trash empties exactly
//! when a packing with `k - 1` bins has been found. All work is counted against an effort
//! budget, so results depend only on the input and the RNG.

use rand::Rng;

use super::Config;
use super::fit::{self, Bins};
use super::{exact, mbs};

/// A subset of at most three items of a bin or of the trash, by position.
#[derive(Clone, Copy)]
struct Subset {
    weight: u128,
    len: usize,
    pos: [usize; 3],
}

/// All subsets of `members` with 0..=max_len elements (sizes from `items`).
fn subsets(items: &[u64], members: &[usize], min_len: usize, max_len: usize) -> Vec<Subset> {
    let w = |p: usize| u128::from(items[members[p]]);
    let n = members.len();
    let mut out = Vec::new();
    if min_len == 0 {
        out.push(Subset {
            weight: 0,
            len: 0,
            pos: [0; 3],
        });
    }
    for a in 0..n {
        if max_len >= 1 {
            out.push(Subset {
                weight: w(a),
                len: 1,
                pos: [a, 0, 0],
            });
        }
        for b in a + 1..n {
            if max_len >= 2 {
                out.push(Subset {
                    weight: w(a) + w(b),
                    len: 2,
                    pos: [a, b, 0],
                });
            }
            if max_len >= 3 {
                for c in b + 1..n {
                    out.push(Subset {
                        weight: w(a) + w(b) + w(c),
                        len: 3,
                        pos: [a, b, c],
                    });
                }
            }
        }
    }
    out
}

/// Removes the subset's members from `members` and returns them.
fn take(members: &mut Vec<usize>, subset: &Subset) -> Vec<usize> {
    let mut positions: Vec<usize> = subset.pos[..subset.len].to_vec();
    positions.sort_unstable_by(|a, b| b.cmp(a));
    positions
        .into_iter()
        .map(|p| members.swap_remove(p))
        .collect()
}

/// The search state for one attempt at `k - 1` bins.
struct Reduce<'a, R: Rng> {
    items: &'a [u64],
    capacity: u128,
    bins: Vec<Vec<usize>>,
    loads: Vec<u128>,
    trash: Vec<usize>,
    effort: &'a mut u64,
    rng: &'a mut R,
}

impl<R: Rng> Reduce<'_, R> {
    fn spend(&mut self, work: u64) -> bool {
        *self.effort = self.effort.saturating_sub(work.max(1));
        *self.effort > 0
    }

    fn trash_weight(&self) -> u128 {
        self.trash.iter().map(|&i| u128::from(self.items[i])).sum()
    }

    /// Applies the trash/bin swap that lowers the trash weight most; false if none does.
    fn trash_swap(&mut self) -> bool {
        let max_len = if self.trash.len() <= 12 { 3 } else { 2 };
        let mut pool = subsets(self.items, &self.trash, 1, max_len);
        pool.sort_unstable_by_key(|s| s.weight);
        let mut best: Option<(u128, usize, Subset, Subset)> = None;
        let mut work = pool.len() as u64;
        for bin in 0..self.bins.len() {
            let room = self.capacity - self.loads[bin];
            let outs = subsets(self.items, &self.bins[bin], 0, 2);
            work += outs.len() as u64 * 4;
            for out in outs {
                let limit = room + out.weight;
                let fit = pool.partition_point(|s| s.weight <= limit);
                let Some(candidate) = fit.checked_sub(1).map(|p| pool[p]) else {
                    continue;
                };
                if candidate.weight <= out.weight {
                    continue;
                }
                let gain = candidate.weight - out.weight;
                if best.as_ref().is_none_or(|b| gain > b.0) {
                    best = Some((gain, bin, out, candidate));
                }
            }
        }
        self.spend(work);
        let Some((_, bin, out, incoming)) = best else {
            return false;
        };
        let moved_in = take(&mut self.trash, &incoming);
        let moved_out = take(&mut self.bins[bin], &out);
        self.loads[bin] = self.loads[bin] - out.weight + incoming.weight;
        self.bins[bin].extend(moved_in);
        self.trash.extend(moved_out);
        true
    }

    /// Swaps items between a random bin and the other bins so that the fuller bin of each
    /// pair gets fuller; false if no such swap exists for the chosen bin.
    fn concentrate(&mut self) -> bool {
        let count = self.bins.len();
        if count < 2 {
            return false;
        }
        let start = self.rng.random_range(0..count);
        let mine = subsets(self.items, &self.bins[start], 0, 2);
        let mut work = 0u64;
        let mut best: Option<(u128, usize, Subset, Subset)> = None;
        for other in (0..count).filter(|&b| b != start) {
            // Make `full` the fuller bin; it gains weight, `empty` loses the same amount.
            let theirs = subsets(self.items, &self.bins[other], 0, 2);
            work += (mine.len() * theirs.len()) as u64;
            let (full, empty, give_sets, get_sets) = if self.loads[other] >= self.loads[start] {
                (other, start, &theirs, &mine)
            } else {
                (start, other, &mine, &theirs)
            };
            let room = self.capacity - self.loads[full];
            for give in give_sets {
                for get in get_sets {
                    if get.weight > give.weight && get.weight - give.weight <= room {
                        let gain = get.weight - give.weight;
                        // Prefer the move that makes the fuller bin fullest.
                        if best.as_ref().is_none_or(|b| gain > b.0) {
                            best = Some((gain, full, *give, *get));
                            let _ = empty;
                        }
                    }
                }
            }
            if let Some((gain, full_bin, give, get)) = best {
                let empty_bin = if full_bin == start { other } else { start };
                let _ = gain;
                self.spend(work);
                let from_full = take(&mut self.bins[full_bin], &give);
                let from_empty = take(&mut self.bins[empty_bin], &get);
                self.loads[full_bin] = self.loads[full_bin] - give.weight + get.weight;
                self.loads[empty_bin] = self.loads[empty_bin] + give.weight - get.weight;
                self.bins[full_bin].extend(from_empty);
                self.bins[empty_bin].extend(from_full);
                return true;
            }
        }
        self.spend(work);
        false
    }

    /// Puts a random trash item into a random bin, evicting random items until it fits.
    fn kick(&mut self) {
        if self.trash.is_empty() || self.bins.is_empty() {
            return;
        }
        let t = self.rng.random_range(0..self.trash.len());
        let item = self.trash.swap_remove(t);
        let size = u128::from(self.items[item]);
        let bin = self.rng.random_range(0..self.bins.len());
        while self.loads[bin] + size > self.capacity {
            let Some(len) = std::num::NonZeroUsize::new(self.bins[bin].len()) else {
                break;
            };
            let out = self.bins[bin].swap_remove(self.rng.random_range(0..len.get()));
            self.loads[bin] -= u128::from(self.items[out]);
            self.trash.push(out);
        }
        self.bins[bin].push(item);
        self.loads[bin] += size;
        self.spend(self.bins[bin].len() as u64);
    }

    /// Runs until the trash is empty (success) or the effort or kick budget runs out.
    fn run(&mut self, max_kicks: u64) -> bool {
        let mut kicks = 0;
        let mut best_weight = self.trash_weight();
        let mut stale = 0;
        while *self.effort > 0 {
            if self.trash.is_empty() {
                return true;
            }
            if self.trash_swap() {
                continue;
            }
            if self.concentrate() {
                continue;
            }
            let weight = self.trash_weight();
            if weight < best_weight {
                best_weight = weight;
                stale = 0;
            } else {
                stale += 1;
            }
            if kicks >= max_kicks || stale > max_kicks / 4 {
                return false;
            }
            kicks += 1;
            self.kick();
        }
        self.trash.is_empty()
    }
}

/// Tries to repack `start` (with `k` bins) into `k - 1` bins within the effort budget.
fn reduce(
    items: &[u64],
    capacity: u64,
    start: &Bins,
    effort: &mut u64,
    rng: &mut impl Rng,
) -> Option<Bins> {
    let loads: Vec<u128> = start
        .iter()
        .map(|b| b.iter().map(|&i| u128::from(items[i])).sum())
        .collect();
    let lightest = (0..start.len()).min_by_key(|&b| (loads[b], b))?;
    let mut attempt = 0u64;
    while *effort > 0 {
        let removed = if attempt == 0 {
            lightest
        } else {
            rng.random_range(0..start.len())
        };
        attempt += 1;
        let mut bins = start.clone();
        let mut bin_loads = loads.clone();
        let trash = bins.swap_remove(removed);
        bin_loads.swap_remove(removed);
        let mut state = Reduce {
            items,
            capacity: u128::from(capacity),
            bins,
            loads: bin_loads,
            trash,
            effort,
            rng,
        };
        if state.run(200) {
            return Some(state.bins);
        }
    }
    None
}

/// Items by decreasing size after a random perturbation of up to 10 % of each size, so that
/// MBS' tries its candidates in a different order while still starting with large items.
fn perturbed_order(items: &[u64], rng: &mut impl Rng) -> Vec<usize> {
    let mut keyed: Vec<(u128, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let factor = rng.random_range(90u128..=110);
            (u128::from(s) * factor, i)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| b.cmp(a));
    // MBS' always opens a bin with the largest remaining item; keep the truly largest first.
    let mut order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    if let Some(largest) = (0..order.len()).max_by_key(|&p| (items[order[p]], std::cmp::Reverse(p)))
    {
        order[..=largest].rotate_right(1);
    }
    order
}

/// The improvement method behind [`Algorithm::LocalSearch`](super::Algorithm::LocalSearch).
pub(crate) fn improve(
    items: &[u64],
    capacity: u64,
    lower_bound: u64,
    config: &Config,
    rng: &mut impl Rng,
) -> Bins {
    let order = fit::decreasing_order(items);
    let mut best = fit::first_fit(items, &order, capacity);
    let bfd = fit::best_fit(items, &order, capacity);
    if bfd.len() < best.len() {
        best = bfd;
    }
    let done = |b: &Bins| b.len() as u64 <= lower_bound;
    if done(&best) || items.len() > config.max_search_items {
        return best;
    }
    let mbs = mbs::mbs_prime(items, &order, capacity, config.mbs_nodes_per_bin);
    if mbs.len() < best.len() {
        best = mbs;
    }
    // Perturbed MBS' restarts: the bin-oriented construction is what fills bins exactly
    // (triplet-like instances); shuffling the order of equal-priority candidates explores
    // other exact fills.
    for _ in 0..config.mbs_restarts {
        if done(&best) {
            return best;
        }
        let perturbed = perturbed_order(items, rng);
        let nodes = config.mbs_nodes_per_bin / 10;
        let mbs = mbs::mbs_prime(items, &perturbed, capacity, nodes);
        if mbs.len() < best.len() {
            best = mbs;
        }
    }
    let mut effort = config.search_effort;
    while !done(&best) && effort > 0 {
        match reduce(items, capacity, &best, &mut effort, rng) {
            Some(better) => best = better,
            None => break,
        }
    }
    best.retain(|bin| !bin.is_empty());
    if !done(&best) && items.len() <= config.max_exact_items {
        best = exact::search_below(
            items,
            capacity,
            lower_bound,
            best,
            config.search_exact_nodes,
        )
        .bins;
    }
    best
}
