//! Exact search: depth-first branch and bound over items by decreasing size, with a node limit.
//!
//! Each item goes into an open bin with room or a new bin. Bins with equal loads are tried
//! once (symmetry), an item that fills a bin exactly is placed there without branching
//! (dominance), and a node is cut when the bins in use plus the room the remaining items
//! still need reach the incumbent. The incumbent starts as the better of FFD and BFD.

use super::Config;
use super::fit::{self, Bins};
use super::proof::Certificate;

/// The result of the search: the best packing and whether it is proven minimal.
pub(crate) struct Outcome {
    pub(crate) bins: Bins,
    pub(crate) complete: bool,
}

/// A packing with what proves its quality.
pub(crate) struct Proven {
    pub(crate) bins: Bins,
    pub(crate) proof: Certificate,
}

struct Search<'a> {
    items: &'a [u64],
    order: Vec<usize>,
    capacity: u128,
    /// suffix[i] = total size of order[i..].
    suffix: Vec<u128>,
    loads: Vec<u128>,
    assignment: Vec<usize>,
    best: Option<Vec<usize>>,
    best_count: usize,
    lower_bound: usize,
    nodes_left: u64,
}

impl Search<'_> {
    /// Explores placements of `order[depth..]`; returns false when the node limit stopped it.
    fn explore(&mut self, depth: usize) -> bool {
        if self.best_count <= self.lower_bound {
            return true;
        }
        if depth == self.order.len() {
            self.best_count = self.loads.len();
            self.best = Some(self.assignment.clone());
            return true;
        }
        if self.nodes_left == 0 {
            return false;
        }
        self.nodes_left -= 1;
        let open = self.loads.len();
        let free: u128 = self.loads.iter().map(|&l| self.capacity - l).sum();
        let rest = self.suffix[depth];
        let needed = if rest > free {
            (rest - free).div_ceil(self.capacity)
        } else {
            0
        };
        if open + needed as usize >= self.best_count {
            return true;
        }
        let size = u128::from(self.items[self.order[depth]]);
        if let Some(bin) = self.loads.iter().position(|&l| l + size == self.capacity) {
            return self.place(depth, bin, size);
        }
        let mut tried: Vec<u128> = Vec::new();
        for bin in 0..open {
            let load = self.loads[bin];
            if load + size > self.capacity || tried.contains(&load) {
                continue;
            }
            tried.push(load);
            if !self.place(depth, bin, size) {
                return false;
            }
        }
        if open + 1 < self.best_count {
            self.loads.push(size);
            self.assignment[depth] = open;
            let finished = self.explore(depth + 1);
            self.loads.pop();
            return finished;
        }
        true
    }

    fn place(&mut self, depth: usize, bin: usize, size: u128) -> bool {
        self.loads[bin] += size;
        self.assignment[depth] = bin;
        let finished = self.explore(depth + 1);
        self.loads[bin] -= size;
        finished
    }
}

/// Runs the branch and bound with `config.exact_nodes` nodes at most, starting from the better
/// of FFD and BFD, against the strongest bound available (L2, DFF, LP), then branch and price
/// if that did not settle it.
pub(crate) fn branch_and_bound(items: &[u64], capacity: u64, l2: u64, config: &Config) -> Proven {
    let sized = fit::decreasing(items);
    let ffd = fit::first_fit(&sized, capacity);
    let bfd = fit::best_fit(&sized, capacity);
    let incumbent = if bfd.len() < ffd.len() { bfd } else { ffd };
    let mut proof = Certificate::l2(l2);
    let work = super::work::Meter::new(config.lp_work);
    super::search::strengthen(items, capacity, &incumbent, &mut proof, config, &work);
    let nodes = config.exact_nodes;
    let exact = Config {
        max_exact_items: usize::MAX,
        ..config.clone()
    };
    let bins = super::search::close(items, capacity, incumbent, &mut proof, nodes, &exact, &work);
    Proven { bins, proof }
}

/// Runs the branch and bound for at most `nodes` nodes, looking for fewer bins than
/// `incumbent` (which it returns if it finds nothing better).
pub(crate) fn search_below(
    items: &[u64],
    capacity: u64,
    lower_bound: u64,
    incumbent: Bins,
    nodes: u64,
) -> Outcome {
    let order = fit::decreasing_order(items);
    let lower = usize::try_from(lower_bound).unwrap_or(usize::MAX);
    if incumbent.len() <= lower {
        return Outcome {
            bins: incumbent,
            complete: true,
        };
    }
    let mut suffix = vec![0u128; order.len() + 1];
    for pos in (0..order.len()).rev() {
        suffix[pos] = suffix[pos + 1] + u128::from(items[order[pos]]);
    }
    let mut search = Search {
        items,
        suffix,
        capacity: u128::from(capacity),
        loads: Vec::new(),
        assignment: vec![0; order.len()],
        best: None,
        best_count: incumbent.len(),
        lower_bound: lower,
        nodes_left: nodes,
        order,
    };
    let complete = search.explore(0);
    let bins = match search.best {
        Some(assignment) => {
            let mut bins: Bins = vec![Vec::new(); search.best_count];
            for (pos, &bin) in assignment.iter().enumerate() {
                bins[bin].push(search.order[pos]);
            }
            bins
        }
        None => incumbent,
    };
    Outcome { bins, complete }
}
