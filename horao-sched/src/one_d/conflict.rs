//! The pricing problem of branch and price: a 0-1 knapsack whose items may conflict (two
//! items kept apart by branching may not share a pattern), solved by depth-first branch and
//! bound with a node limit.
//!
//! Each node is bounded by the best value the remaining items reach within the remaining
//! room *ignoring* conflicts: a suffix dynamic-programming table over the capacity when it is
//! small, else the continuous relaxation. Values are integers (scaled duals), so the maximum
//! is exact when the search finishes, and an upper bound is reported when it does not.

use super::work::{CELL_UNITS, NODE_UNITS};

/// Largest suffix table, in (items × capacity) cells; above it the continuous bound is used.
const TABLE_CELLS: u64 = 1 << 23;

/// The answer of one pricing call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    /// The items of the best pattern found, increasing.
    pub(crate) items: Vec<usize>,
    /// Its value.
    pub(crate) value: u64,
    /// An upper bound on every feasible pattern's value (equal to `value` when exact).
    pub(crate) upper: u64,
    /// The work spent, in the units of the `work` module: [`CELL_UNITS`] per suffix-table
    /// cell and [`NODE_UNITS`] per search node.
    pub(crate) work: u64,
}

/// A 0-1 knapsack with conflicting pairs.
pub(crate) struct Knapsack<'a> {
    /// Size of each item.
    pub(crate) sizes: &'a [u64],
    /// Value of each item.
    pub(crate) values: &'a [u64],
    /// Per item, the items it may not share a pattern with, increasing.
    pub(crate) conflicts: &'a [Vec<usize>],
    /// The bin capacity.
    pub(crate) capacity: u64,
}

impl Knapsack<'_> {
    /// The most valuable feasible pattern, expanding at most `nodes` search nodes.
    pub(crate) fn solve(&self, nodes: u64) -> Choice {
        let mut order: Vec<usize> = (0..self.sizes.len())
            .filter(|&i| self.values[i] > 0 && self.sizes[i] <= self.capacity)
            .collect();
        // Decreasing value per size, compared exactly; ties by index.
        order.sort_by(|&a, &b| {
            let left = u128::from(self.values[b]) * u128::from(self.sizes[a]);
            let right = u128::from(self.values[a]) * u128::from(self.sizes[b]);
            left.cmp(&right).then(a.cmp(&b))
        });
        let cells = (order.len() as u64 + 1).saturating_mul(self.capacity.saturating_add(1));
        let table = (cells <= TABLE_CELLS).then(|| self.table(&order));
        let table_work = if table.is_some() {
            cells.saturating_mul(CELL_UNITS)
        } else {
            0
        };
        let mut search = Search {
            knapsack: self,
            order: &order,
            table,
            current: Vec::new(),
            best: Vec::new(),
            best_value: 0,
            nodes_left: nodes.max(1),
        };
        let root = search.bound(0, self.capacity);
        search.explore(0, self.capacity, 0);
        let exact = search.nodes_left > 0;
        let expanded = nodes.max(1) - search.nodes_left;
        let mut items = search.best;
        items.sort_unstable();
        let value = search.best_value;
        Choice {
            items,
            value,
            upper: if exact { value } else { root.max(value) },
            work: table_work.saturating_add(expanded.saturating_mul(NODE_UNITS)),
        }
    }

    /// best[d · (C + 1) + r]: the most value `order[d..]` reach within room r, conflicts
    /// ignored.
    fn table(&self, order: &[usize]) -> Vec<u64> {
        let width = usize::try_from(self.capacity).unwrap_or(usize::MAX) + 1;
        let mut best = vec![0u64; (order.len() + 1) * width];
        for d in (0..order.len()).rev() {
            let (row, next) = best[d * width..].split_at_mut(width);
            let size = usize::try_from(self.sizes[order[d]]).unwrap_or(usize::MAX);
            let value = self.values[order[d]];
            for r in 0..width {
                let mut v = next[r];
                if r >= size {
                    v = v.max(next[r - size].saturating_add(value));
                }
                row[r] = v;
            }
        }
        best
    }
}

/// State of the branch and bound.
struct Search<'a> {
    knapsack: &'a Knapsack<'a>,
    /// Candidate items by decreasing value per size.
    order: &'a [usize],
    /// The suffix table, if small enough.
    table: Option<Vec<u64>>,
    current: Vec<usize>,
    best: Vec<usize>,
    best_value: u64,
    nodes_left: u64,
}

impl Search<'_> {
    /// An upper bound on what `order[from..]` add within `room`, conflicts ignored.
    fn bound(&self, from: usize, room: u64) -> u64 {
        let k = self.knapsack;
        if let Some(table) = &self.table {
            let width = usize::try_from(k.capacity).unwrap_or(usize::MAX) + 1;
            let r = usize::try_from(room).unwrap_or(usize::MAX);
            return table[from * width + r];
        }
        let mut room = u128::from(room);
        let mut total = 0u128;
        for &i in &self.order[from..] {
            let size = u128::from(k.sizes[i]);
            let value = u128::from(k.values[i]);
            if size <= room {
                room -= size;
                total += value;
            } else {
                total += (room * value).div_ceil(size);
                break;
            }
        }
        u64::try_from(total).unwrap_or(u64::MAX)
    }

    fn explore(&mut self, depth: usize, room: u64, value: u64) {
        if value > self.best_value {
            self.best_value = value;
            self.best.clone_from(&self.current);
        }
        if depth == self.order.len() || self.nodes_left == 0 {
            return;
        }
        if value.saturating_add(self.bound(depth, room)) <= self.best_value {
            return;
        }
        self.nodes_left -= 1;
        let item = self.order[depth];
        let k = self.knapsack;
        let clashes = self
            .current
            .iter()
            .any(|c| k.conflicts[item].binary_search(c).is_ok());
        if k.sizes[item] <= room && !clashes {
            self.current.push(item);
            self.explore(depth + 1, room - k.sizes[item], value + k.values[item]);
            self.current.pop();
        }
        self.explore(depth + 1, room, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The best value over every subset.
    fn brute(k: &Knapsack<'_>) -> u64 {
        let n = k.sizes.len();
        (0..1usize << n)
            .filter(|&mask| {
                let size: u64 = (0..n)
                    .filter(|&i| mask >> i & 1 == 1)
                    .map(|i| k.sizes[i])
                    .sum();
                let clash = (0..n).any(|i| {
                    mask >> i & 1 == 1 && k.conflicts[i].iter().any(|&j| mask >> j & 1 == 1)
                });
                size <= k.capacity && !clash
            })
            .map(|mask| {
                (0..n)
                    .filter(|&i| mask >> i & 1 == 1)
                    .map(|i| k.values[i])
                    .sum()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn finds_the_best_pattern_without_conflicting_pairs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
        for case in 0..400 {
            let n = rng.random_range(1..11usize);
            let capacity = rng.random_range(1..60u64);
            // Large capacities take the continuous bound instead of the table.
            let capacity = if case % 2 == 0 {
                capacity
            } else {
                capacity * 1_000_000
            };
            let scale = capacity / 60 + 1;
            let sizes: Vec<u64> = (0..n).map(|_| rng.random_range(1..=60) * scale).collect();
            let values: Vec<u64> = (0..n).map(|_| rng.random_range(0..1000)).collect();
            let mut conflicts = vec![Vec::new(); n];
            for _ in 0..rng.random_range(0..n * 2) {
                let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
                if a != b {
                    conflicts[a].push(b);
                    conflicts[b].push(a);
                }
            }
            for c in &mut conflicts {
                c.sort_unstable();
                c.dedup();
            }
            let k = Knapsack {
                sizes: &sizes,
                values: &values,
                conflicts: &conflicts,
                capacity,
            };
            let expected = brute(&k);
            let found = k.solve(u64::MAX);
            assert_eq!(
                (found.value, found.upper),
                (expected, expected),
                "case {case}"
            );
            let size: u64 = found.items.iter().map(|&i| sizes[i]).sum();
            assert!(size <= capacity, "case {case}");
            let worth: u64 = found.items.iter().map(|&i| values[i]).sum();
            assert_eq!(worth, found.value, "case {case}");
            for &i in &found.items {
                assert!(found.items.iter().all(|j| !conflicts[i].contains(j)));
            }
            // A node limit leaves a feasible pattern and a valid upper bound.
            let short = k.solve(2);
            assert!(
                short.value <= expected && short.upper >= expected,
                "case {case}"
            );
        }
    }
}
