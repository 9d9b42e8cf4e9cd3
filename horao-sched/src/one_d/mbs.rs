//! Minimum bin slack, MBS' (Fleszar & Hindi 2002): bins are filled one at a time, each with
//! the largest remaining item plus the subset of the remaining items that leaves the least
//! room, found by a depth-first search with a node limit per bin.

use super::fit::Bins;

/// The subset search for one bin.
struct Fill<'a> {
    items: &'a [u64],
    /// Candidate item indices, by decreasing size.
    candidates: &'a [usize],
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
        for pos in from..self.candidates.len() {
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
