//! Minimum bin slack, MBS' (Fleszar & Hindi 2002): bins are filled one at a time, each with
//! the largest remaining item plus the subset of the remaining items that leaves the least
//! room, found by a depth-first search with a node limit per bin.

use super::fit::Bins;

/// The subset search for one bin.
struct Fill<'a> {
    items: &'a [u64],
    /// Candidate item indices, normally by decreasing size.
    candidates: &'a [usize],
    /// Whether the candidates' sizes never increase: then the ones that cannot fit a slack
    /// come first and are skipped by a binary search.
    sorted: bool,
    current: Vec<usize>,
    best: Vec<usize>,
    best_slack: u64,
    nodes_left: u64,
}

impl Fill<'_> {
    fn search(&mut self, from: usize, slack: u64) {
        if slack < self.best_slack {
            self.best_slack = slack;
            self.best.clone_from(&self.current);
        }
        let mut previous_size = None;
        // The loop below passes over the candidates larger than the slack without doing
        // anything; in sorted candidates they are a prefix, found by a binary search.
        let first = if self.sorted {
            from + self.candidates[from..].partition_point(|&i| self.items[i] > slack)
        } else {
            from
        };
        for pos in first..self.candidates.len() {
            if self.best_slack == 0 || self.nodes_left == 0 {
                return;
            }
            let item = self.candidates[pos];
            let size = self.items[item];
            // Trying an item of the size just tried at this depth cannot do better.
            if size > slack || previous_size == Some(size) {
                continue;
            }
            previous_size = Some(size);
            self.nodes_left -= 1;
            self.current.push(item);
            self.search(pos + 1, slack - size);
            self.current.pop();
        }
    }
}

/// Fills one bin starting with `first`, choosing among `candidates`, and returns the chosen
/// candidates (not including `first`).
pub(crate) fn fill_bin(
    items: &[u64],
    candidates: &[usize],
    room: u64,
    nodes: u64,
) -> (Vec<usize>, u64) {
    let mut fill = Fill {
        items,
        candidates,
        sorted: candidates
            .windows(2)
            .all(|pair| items[pair[0]] >= items[pair[1]]),
        current: Vec::new(),
        best: Vec::new(),
        best_slack: u64::MAX,
        nodes_left: nodes.max(1),
    };
    fill.search(0, room);
    (fill.best, fill.best_slack)
}

/// MBS' over items in `order` (normally by decreasing size): each bin takes the first
/// remaining item and the remaining subset that fits best.
pub(crate) fn mbs_prime(items: &[u64], order: &[usize], capacity: u64, nodes_per_bin: u64) -> Bins {
    let mut remaining: Vec<usize> = order.to_vec();
    let mut bins: Bins = Vec::new();
    let mut taken = vec![false; items.len()];
    while let Some((&first, rest)) = remaining.split_first() {
        let (chosen, _) = fill_bin(items, rest, capacity - items[first], nodes_per_bin);
        let mut bin = Vec::with_capacity(chosen.len() + 1);
        bin.push(first);
        bin.extend_from_slice(&chosen);
        for &i in &bin {
            taken[i] = true;
        }
        bins.push(bin);
        remaining.retain(|&i| !taken[i]);
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The search without the binary search: every candidate from `from` on is looked at.
    fn scan(fill: &mut Fill<'_>, from: usize, slack: u64) {
        if slack < fill.best_slack {
            fill.best_slack = slack;
            fill.best.clone_from(&fill.current);
        }
        let mut previous_size = None;
        for pos in from..fill.candidates.len() {
            if fill.best_slack == 0 || fill.nodes_left == 0 {
                return;
            }
            let item = fill.candidates[pos];
            let size = fill.items[item];
            if size > slack || previous_size == Some(size) {
                continue;
            }
            previous_size = Some(size);
            fill.nodes_left -= 1;
            fill.current.push(item);
            scan(fill, pos + 1, slack - size);
            fill.current.pop();
        }
    }

    /// [`fill_bin`] chooses the subset, slack and node count of the plain scan, on sorted
    /// and unsorted candidates, with node limits that stop the search and ones that do not.
    #[test]
    fn the_binary_search_start_changes_nothing() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let mut sorted_cases = 0;
        for case in 0..2_000 {
            let n = rng.random_range(0..40usize);
            let items: Vec<u64> = (0..n).map(|_| rng.random_range(1..=60u64)).collect();
            let mut candidates: Vec<usize> = (0..n).collect();
            if case % 4 != 0 {
                candidates.sort_by_key(|&i| std::cmp::Reverse(items[i]));
                sorted_cases += 1;
            }
            let room = rng.random_range(0..150u64);
            let nodes = [1, 7, 50, 1_000, u64::MAX][case % 5];
            let (chosen, slack) = fill_bin(&items, &candidates, room, nodes);
            let mut reference = Fill {
                items: &items,
                candidates: &candidates,
                sorted: false,
                current: Vec::new(),
                best: Vec::new(),
                best_slack: u64::MAX,
                nodes_left: nodes.max(1),
            };
            scan(&mut reference, 0, room);
            assert_eq!(
                (chosen, slack),
                (reference.best, reference.best_slack),
                "case {case}"
            );
        }
        assert!(sorted_cases > 1_000);
    }
}
