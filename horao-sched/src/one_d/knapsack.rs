//! The pricing problem of column generation: a bounded knapsack with integer values, solved
//! exactly by dynamic programming over the capacity when that table is small.
//!
//! Values are integers (scaled duals), so the maximum is exact and the bound built on it
//! (see the `lp` module) holds without any floating-point tolerance. On large capacities the
//! table is built over sizes and capacity divided by a granularity `g` and rounded down:
//! every feasible pattern stays feasible there, so its maximum is an upper bound on the true
//! one (slightly above it: a pattern of k items may overrun the capacity by k·g). The pattern
//! returned is then made feasible by dropping its least valuable items, and a depth-first
//! branch and bound with a small node limit looks for a better one; when it finishes, the
//! maximum is exact again.

use super::row;
use super::work::{CELL_UNITS, NODE_UNITS};

/// Largest dynamic-programming table, in (item pieces × capacity) cells: 2²⁴, so that the
/// AI 402 and 600 instances (about 3 and 9 million cells) price exactly, which is what lets
/// the table hand back its alternatives (2²¹ before them).
const DP_CELLS: u64 = 1 << 24;
/// Largest value-only table of [`Knapsack::exact_max`].
const EXACT_CELLS: u64 = 1 << 27;

/// Most alternative patterns one exact table usefully hands back (see [`Knapsack::dynamic`]).
pub(crate) const ALTERNATIVES: usize = 8;

/// What one dynamic-programming table yields.
struct Table {
    /// The best pattern's (type, copies).
    taken: Vec<(usize, u64)>,
    /// Its value.
    value: u64,
    /// The best patterns holding each type of which only one copy fits, other than the
    /// best one, with their values, most valuable first (exact tables only).
    alternatives: Vec<(Vec<(usize, u64)>, u64)>,
}

/// The answer of one pricing call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Priced {
    /// Copies of each item type in the best pattern found.
    pub(crate) pattern: Vec<u64>,
    /// Its value.
    pub(crate) value: u64,
    /// An upper bound on the value of every feasible pattern (equal to `value` when the
    /// search was exact).
    pub(crate) upper: u64,
    /// Other good patterns the table found (copies of each type, value), most valuable
    /// first: exact, but not necessarily the best ones after `pattern`.
    pub(crate) alternatives: Vec<(Vec<u64>, u64)>,
    /// The work spent, in the units of the `work` module: [`CELL_UNITS`] per table cell
    /// and [`NODE_UNITS`] per branch-and-bound node.
    pub(crate) work: u64,
}

/// The size-zero pattern `zero` (of value `base`) with the chosen copies added.
fn complete(zero: &[u64], chosen: Vec<(usize, u64)>) -> Vec<u64> {
    let mut pattern = zero.to_vec();
    for (t, copies) in chosen {
        pattern[t] += copies;
    }
    pattern
}

/// The answer from the chosen copies, their value and an upper bound, the table's
/// alternatives and the work, all on top of the size-zero pattern `zero` of value `base`.
fn finish(
    zero: Vec<u64>,
    base: u64,
    chosen: Vec<(usize, u64)>,
    (value, upper): (u64, u64),
    alternatives: Vec<(Vec<(usize, u64)>, u64)>,
    work: u64,
) -> Priced {
    Priced {
        pattern: complete(&zero, chosen),
        value: base.saturating_add(value),
        upper: base.saturating_add(upper),
        alternatives: alternatives
            .into_iter()
            .map(|(chosen, v)| (complete(&zero, chosen), base.saturating_add(v)))
            .collect(),
        work,
    }
}

/// Item types of one knapsack: sizes, how many copies may be taken, and values.
pub(crate) struct Knapsack<'a> {
    /// Size of one copy of each type.
    pub(crate) sizes: &'a [u64],
    /// Copies available of each type.
    pub(crate) counts: &'a [u64],
    /// Value of one copy of each type.
    pub(crate) values: &'a [u64],
    /// The bin capacity.
    pub(crate) capacity: u64,
    /// Most alternative patterns an exact table hands back (0: none, and no backtracking
    /// for them).
    pub(crate) alternatives: usize,
}

impl Knapsack<'_> {
    /// Types worth packing: (type, copies that fit), the pattern of size-zero items and its
    /// value, and the number of binary pieces the table needs.
    fn prepare(&self) -> (Vec<(usize, u64)>, Vec<u64>, u64, u64) {
        let n = self.sizes.len();
        let mut pattern = vec![0u64; n];
        let mut base = 0u64;
        let mut useful = Vec::new();
        for (t, slot) in pattern.iter_mut().enumerate() {
            let fit =
                self.counts[t].min(self.capacity.checked_div(self.sizes[t]).unwrap_or(u64::MAX));
            if self.values[t] == 0 || fit == 0 {
                continue;
            }
            if self.sizes[t] == 0 {
                // Items of size zero go into every pattern.
                *slot = fit;
                base = base.saturating_add(fit.saturating_mul(self.values[t]));
            } else {
                useful.push((t, fit));
            }
        }
        let pieces: u64 = useful
            .iter()
            .map(|&(_, fit)| u64::from(u64::BITS - fit.leading_zeros()))
            .sum();
        (useful, pattern, base, pieces)
    }

    /// The pattern of greatest total value; exact when the table is small, otherwise
    /// `upper` bounds the true maximum (see the module documentation).
    pub(crate) fn solve(&self, nodes: u64) -> Priced {
        let (useful, pattern, base, pieces) = self.prepare();
        let cells = pieces.saturating_mul(self.capacity.saturating_add(1));
        if cells <= DP_CELLS {
            return self.exact_table(&useful, pattern, base, cells);
        }
        let (chosen, value, upper, work) = {
            let grain = cells.div_ceil(DP_CELLS);
            let Table {
                taken: relaxed,
                value: upper,
                ..
            } = self.dynamic(&useful, grain);
            let (repaired, repaired_value) = self.repair(relaxed);
            let (found, value, exact, expanded) = self.branch_and_bound(&useful, nodes);
            let work = (cells / grain)
                .saturating_mul(CELL_UNITS)
                .saturating_add(expanded.saturating_mul(NODE_UNITS));
            if exact == value {
                (found, value, value, work)
            } else if repaired_value >= value {
                (repaired, repaired_value, upper.max(exact.min(upper)), work)
            } else {
                (found, value, upper, work)
            }
        };
        finish(pattern, base, chosen, (value, upper), Vec::new(), work)
    }

    /// The exact maximum by a table over the full capacity, when it has at most
    /// [`EXACT_CELLS`] cells.
    pub(crate) fn solve_exact(&self) -> Option<Priced> {
        let (useful, pattern, base, pieces) = self.prepare();
        let cells = pieces.saturating_mul(self.capacity.saturating_add(1));
        if cells > EXACT_CELLS {
            return None;
        }
        Some(self.exact_table(&useful, pattern, base, cells))
    }

    /// The exact answer of the full table over `useful` (of `cells` cells), on top of the
    /// size-zero pattern `zero` of value `base`.
    fn exact_table(
        &self,
        useful: &[(usize, u64)],
        zero: Vec<u64>,
        base: u64,
        cells: u64,
    ) -> Priced {
        let table = self.dynamic(useful, 1);
        let work = cells.saturating_mul(CELL_UNITS);
        let value = (table.value, table.value);
        finish(zero, base, table.taken, value, table.alternatives, work)
    }

    /// Dynamic programming over the capacity; bounded counts are split into binary pieces.
    /// With `grain` g > 1, sizes and capacity are divided by g and rounded down, so the
    /// value is an upper bound and the pattern may overrun the real capacity.
    ///
    /// Types of which two copies do not fit (size above half the capacity) stay out of the
    /// table: a pattern holds at most one of them, so the maximum is the better of the
    /// table's value at the full capacity and, for each such type, its value plus the
    /// table's value in the room it leaves. Each of those is the best pattern holding that
    /// type; exact ones (`grain` 1) come back as alternatives, most valuable first.
    fn dynamic(&self, useful: &[(usize, u64)], grain: u64) -> Table {
        let size = |t: usize| self.sizes[t] / grain;
        let cap = usize::try_from(self.capacity / grain).unwrap_or(usize::MAX);
        let to_index = |w: u64| usize::try_from(w).unwrap_or(usize::MAX);
        let big_at_half = |t: usize| to_index(size(t)).saturating_mul(2) > cap;
        let big: Vec<(usize, u64)> = useful
            .iter()
            .copied()
            .filter(|&(t, _)| big_at_half(t))
            .collect();
        let small: Vec<(usize, u64)> = useful
            .iter()
            .copied()
            .filter(|&(t, _)| !big_at_half(t))
            .collect();
        let mut pieces: Vec<(usize, u64)> = Vec::new();
        for &(t, fit) in &small {
            let mut left = fit;
            let mut take = 1u64;
            while left > 0 {
                let k = take.min(left);
                pieces.push((t, k));
                left -= k;
                take *= 2;
            }
        }
        // One bit per (piece, capacity): was the piece taken at this capacity? The values
        // run past the capacity to a whole word of bits; those above it are never read.
        let words = (cap + 1).div_ceil(64);
        let mut best = vec![0u64; words * 64];
        let mut chosen = vec![0u64; pieces.len() * words];
        for (p, &(t, k)) in pieces.iter().enumerate() {
            let weight = to_index(size(t) * k);
            let gain = self.values[t].saturating_mul(k);
            if weight > cap {
                continue;
            }
            row::take(
                &mut best,
                &mut chosen[p * words..(p + 1) * words],
                weight,
                gain,
            );
        }
        let backtrack = |mut c: usize, head: Option<usize>| {
            let mut taken: Vec<(usize, u64)> = head.map(|t| (t, 1)).into_iter().collect();
            for (p, &(t, k)) in pieces.iter().enumerate().rev() {
                if chosen[p * words + c / 64] >> (c % 64) & 1 == 1 {
                    taken.push((t, k));
                    c -= to_index(size(t) * k);
                }
            }
            taken
        };
        // (value, the big type or None, room left for the table), best first.
        let mut options: Vec<(u64, Option<usize>, usize)> = vec![(best[cap], None, cap)];
        for &(t, _) in &big {
            if let Some(room) = cap.checked_sub(to_index(size(t))) {
                options.push((self.values[t].saturating_add(best[room]), Some(t), room));
            }
        }
        options.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let (value, head, room) = options[0];
        let alternatives = if grain == 1 {
            options[1..]
                .iter()
                .filter(|&&(v, t, _)| v > 0 && t.is_some())
                .take(self.alternatives)
                .map(|&(v, t, room)| (backtrack(room, t), v))
                .collect()
        } else {
            Vec::new()
        };
        Table {
            taken: backtrack(room, head),
            value,
            alternatives,
        }
    }

    /// Makes a pattern feasible by dropping copies of the least valuable types per size;
    /// returns it with its value.
    fn repair(&self, mut chosen: Vec<(usize, u64)>) -> (Vec<(usize, u64)>, u64) {
        let weight = |c: &[(usize, u64)]| -> u128 {
            c.iter()
                .map(|&(t, k)| u128::from(self.sizes[t]) * u128::from(k))
                .sum()
        };
        // Least value per size last.
        chosen.sort_by(|&(a, _), &(b, _)| {
            let left = u128::from(self.values[b]) * u128::from(self.sizes[a]);
            let right = u128::from(self.values[a]) * u128::from(self.sizes[b]);
            left.cmp(&right).then(a.cmp(&b))
        });
        while weight(&chosen) > u128::from(self.capacity) {
            match chosen.last_mut() {
                Some((_, k)) if *k > 1 => *k -= 1,
                Some(_) => {
                    chosen.pop();
                }
                None => break,
            }
        }
        let value = chosen
            .iter()
            .map(|&(t, k)| self.values[t].saturating_mul(k))
            .fold(0u64, u64::saturating_add);
        (chosen, value)
    }

    /// Depth-first branch and bound over the types by decreasing value per size, each node
    /// bounded by the continuous relaxation (rounded up, so it stays an upper bound).
    /// Returns the best pattern, its value, an upper bound on the maximum (equal to the
    /// value when the search finished within `nodes`) and the nodes expanded.
    fn branch_and_bound(
        &self,
        useful: &[(usize, u64)],
        nodes: u64,
    ) -> (Vec<(usize, u64)>, u64, u64, u64) {
        let mut order: Vec<(usize, u64)> = useful.to_vec();
        // Decreasing value / size, compared exactly by cross-multiplication.
        order.sort_by(|&(a, _), &(b, _)| {
            let left = u128::from(self.values[b]) * u128::from(self.sizes[a]);
            let right = u128::from(self.values[a]) * u128::from(self.sizes[b]);
            left.cmp(&right).then(a.cmp(&b))
        });
        let mut search = Search {
            knapsack: self,
            order: &order,
            current: vec![0; order.len()],
            best: vec![0; order.len()],
            best_value: 0,
            nodes_left: nodes.max(1),
        };
        let root = search.relaxation(0, u128::from(self.capacity));
        search.explore(0, u128::from(self.capacity), 0);
        let complete = search.nodes_left > 0;
        let expanded = nodes.max(1) - search.nodes_left;
        let value = search.best_value;
        let upper = if complete {
            value
        } else {
            u64::try_from(root).unwrap_or(u64::MAX).max(value)
        };
        let taken = order
            .iter()
            .zip(&search.best)
            .filter(|&(_, &k)| k > 0)
            .map(|(&(t, _), &k)| (t, k))
            .collect();
        (taken, value, upper, expanded)
    }
}

/// State of the knapsack branch and bound.
struct Search<'a> {
    knapsack: &'a Knapsack<'a>,
    /// (type, copies available) by decreasing value per size.
    order: &'a [(usize, u64)],
    current: Vec<u64>,
    best: Vec<u64>,
    best_value: u64,
    nodes_left: u64,
}

impl Search<'_> {
    /// Upper bound on the value the types `order[from..]` can add within `room`: whole types
    /// greedily, then the next one fractionally, rounded up.
    fn relaxation(&self, from: usize, room: u128) -> u128 {
        let k = self.knapsack;
        let mut room = room;
        let mut total = 0u128;
        for &(t, fit) in &self.order[from..] {
            let size = u128::from(k.sizes[t]);
            let value = u128::from(k.values[t]);
            let all = size * u128::from(fit);
            if all <= room {
                room -= all;
                total += value * u128::from(fit);
            } else {
                total += (room * value).div_ceil(size);
                break;
            }
        }
        total
    }

    fn explore(&mut self, depth: usize, room: u128, value: u64) {
        if value > self.best_value {
            self.best_value = value;
            self.best.clone_from(&self.current);
        }
        if depth == self.order.len() || self.nodes_left == 0 {
            return;
        }
        self.nodes_left -= 1;
        if u128::from(value) + self.relaxation(depth, room) <= u128::from(self.best_value) {
            return;
        }
        let (t, fit) = self.order[depth];
        let size = u128::from(self.knapsack.sizes[t]);
        let most = u64::try_from((room / size).min(u128::from(fit))).unwrap_or(fit);
        let gain = self.knapsack.values[t];
        for copies in (0..=most).rev() {
            self.current[depth] = copies;
            let used = size * u128::from(copies);
            self.explore(depth + 1, room - used, value + gain * copies);
            if self.nodes_left == 0 {
                break;
            }
        }
        self.current[depth] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The best value by enumerating every pattern.
    fn brute(sizes: &[u64], counts: &[u64], values: &[u64], capacity: u64) -> u64 {
        fn go(t: usize, room: u64, s: &[u64], c: &[u64], v: &[u64]) -> u64 {
            if t == s.len() {
                return 0;
            }
            (0..=c[t])
                .take_while(|&k| k * s[t] <= room)
                .map(|k| k * v[t] + go(t + 1, room - k * s[t], s, c, v))
                .max()
                .unwrap_or(0)
        }
        go(0, capacity, sizes, counts, values)
    }

    #[test]
    fn both_methods_find_the_maximum() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for case in 0..400 {
            let n = rng.random_range(1..7usize);
            let capacity = rng.random_range(1..40u64);
            let sizes: Vec<u64> = (0..n).map(|_| rng.random_range(0..=capacity)).collect();
            let counts: Vec<u64> = (0..n).map(|_| rng.random_range(1..4)).collect();
            let values: Vec<u64> = (0..n).map(|_| rng.random_range(0..1000)).collect();
            let expected = brute(&sizes, &counts, &values, capacity);
            let k = Knapsack {
                sizes: &sizes,
                counts: &counts,
                values: &values,
                capacity,
                alternatives: ALTERNATIVES,
            };
            let exact = k.solve(u64::MAX);
            assert_eq!(exact.value, expected, "case {case}");
            assert_eq!(exact.upper, expected, "case {case}");
            let useful: Vec<(usize, u64)> = (0..n)
                .filter(|&t| sizes[t] > 0 && values[t] > 0 && sizes[t] <= capacity)
                .map(|t| (t, counts[t].min(capacity / sizes[t])))
                .collect();
            let zero: u64 = (0..n)
                .filter(|&t| sizes[t] == 0)
                .map(|t| counts[t] * values[t])
                .sum();
            let (taken, value, upper, _) = k.branch_and_bound(&useful, u64::MAX);
            assert_eq!(
                (value + zero, upper + zero),
                (expected, expected),
                "case {case}"
            );
            let weight: u64 = taken.iter().map(|&(t, c)| sizes[t] * c).sum();
            assert!(weight <= capacity);
            let worth: u64 = taken.iter().map(|&(t, c)| values[t] * c).sum();
            assert_eq!(worth, value);
            // The pattern returned is feasible and worth what it claims.
            let used: u64 = (0..n).map(|t| exact.pattern[t] * sizes[t]).sum();
            assert!(used <= capacity, "case {case}");
            assert!((0..n).all(|t| exact.pattern[t] <= counts[t]));
            let worth: u64 = (0..n).map(|t| exact.pattern[t] * values[t]).sum();
            assert_eq!(worth, exact.value);
        }
    }

    #[test]
    fn alternatives_are_the_best_patterns_holding_each_item_above_half() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut seen = 0;
        for case in 0..300 {
            let n = rng.random_range(2..9usize);
            let capacity = rng.random_range(10..60u64);
            let sizes: Vec<u64> = (0..n).map(|_| rng.random_range(1..=capacity)).collect();
            let counts: Vec<u64> = (0..n).map(|_| rng.random_range(1..3)).collect();
            let values: Vec<u64> = (0..n).map(|_| rng.random_range(0..1000)).collect();
            let k = Knapsack {
                sizes: &sizes,
                counts: &counts,
                values: &values,
                capacity,
                alternatives: ALTERNATIVES,
            };
            let priced = k.solve(u64::MAX);
            let big = |t: usize| 2 * sizes[t] > capacity && values[t] > 0;
            let head = (0..n).find(|&t| big(t) && priced.pattern[t] > 0);
            let mut holders = Vec::new();
            for (pattern, value) in &priced.alternatives {
                let bigs: Vec<usize> = (0..n).filter(|&t| big(t) && pattern[t] > 0).collect();
                assert_eq!(bigs.len(), 1, "case {case}: {pattern:?}");
                let t = bigs[0];
                assert_eq!(pattern[t], 1, "case {case}");
                feasible(
                    &k,
                    &Priced {
                        pattern: pattern.clone(),
                        value: *value,
                        ..priced.clone()
                    },
                );
                // The best pattern holding t: t, then the best of the rest in the room left.
                let mut rest = counts.clone();
                rest[t] = 0;
                let best = values[t] + brute(&sizes, &rest, &values, capacity - sizes[t]);
                assert_eq!(*value, best, "case {case}: type {t}");
                holders.push(t);
            }
            assert!(priced.alternatives.windows(2).all(|w| w[0].1 >= w[1].1));
            holders.sort_unstable();
            holders.dedup();
            assert_eq!(holders.len(), priced.alternatives.len(), "case {case}");
            // Every type above half the capacity but the best pattern's own has one.
            let expected = (0..n).filter(|&t| big(t) && Some(t) != head).count();
            assert_eq!(holders.len(), expected.min(ALTERNATIVES), "case {case}");
            seen += holders.len();
            // Asking for fewer alternatives gives the same best pattern and a prefix of them.
            let fewer = case % (ALTERNATIVES + 1);
            let short = Knapsack {
                alternatives: fewer,
                ..k
            }
            .solve(u64::MAX);
            assert_eq!(
                (&short.pattern, short.value),
                (&priced.pattern, priced.value)
            );
            let prefix = priced.alternatives.len().min(fewer);
            assert_eq!(
                short.alternatives,
                priced.alternatives[..prefix],
                "case {case}"
            );
        }
        assert!(seen > 300, "only {seen} alternatives in 300 cases");
    }

    /// Checks that `priced` is a feasible pattern worth `priced.value`.
    fn feasible(k: &Knapsack<'_>, priced: &Priced) {
        let n = k.sizes.len();
        let used: u64 = (0..n).map(|t| priced.pattern[t] * k.sizes[t]).sum();
        assert!(used <= k.capacity);
        assert!((0..n).all(|t| priced.pattern[t] <= k.counts[t]));
        let worth: u64 = (0..n).map(|t| priced.pattern[t] * k.values[t]).sum();
        assert_eq!(worth, priced.value);
    }

    #[test]
    fn large_capacities_give_a_feasible_pattern_and_an_upper_bound() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        for case in 0..20 {
            let n = rng.random_range(20..40usize);
            let capacity = rng.random_range(100_000..400_000u64);
            let sizes: Vec<u64> = (0..n)
                .map(|_| rng.random_range(capacity / 10..capacity / 2))
                .collect();
            let counts: Vec<u64> = (0..n).map(|_| rng.random_range(1..3)).collect();
            // Values nearly proportional to sizes: the hard, subset-sum-like case.
            let values: Vec<u64> = sizes
                .iter()
                .map(|&s| s * 1000 + rng.random_range(0..500))
                .collect();
            let k = Knapsack {
                sizes: &sizes,
                counts: &counts,
                values: &values,
                capacity,
                alternatives: ALTERNATIVES,
            };
            let exact = k.solve_exact().expect("small enough for the exact table");
            assert_eq!(exact.value, exact.upper);
            feasible(&k, &exact);
            let fast = k.solve(50);
            feasible(&k, &fast);
            assert!(fast.value <= exact.value, "case {case}");
            assert!(fast.upper >= exact.value, "case {case}");
            let useful: Vec<(usize, u64)> = (0..n).map(|t| (t, counts[t])).collect();
            let (_, value, upper, expanded) = k.branch_and_bound(&useful, 3);
            assert!(value <= exact.value && upper >= exact.value, "case {case}");
            assert!(expanded <= 3, "case {case}");
        }
    }
}
