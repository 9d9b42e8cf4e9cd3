//! Branch and price on the set-covering formulation with Ryan–Foster branching: the exact
//! search that proves an optimum above the LP bound, or finds a packing that meets it.
//!
//! Rows are single items (not sizes), so that a fractional LP solution always has a pair of
//! items that share patterns of total value strictly between 0 and 1; the node branches into
//! *together* (the pair becomes one row, a merged item) and *apart* (a conflict the pricing
//! knapsack must respect, the `conflict` module). Each node's LP is solved by column
//! generation over the shared pool of patterns, and its bound is Farley's, computed in
//! integers from the scaled duals (as in the `lp` module), so a pruned node is proven to hold
//! no packing below the incumbent. A rounding of every node's LP solution (whole patterns,
//! then disjoint fractional ones, then first-fit decreasing) looks for better packings.
//! Depth-first, *together* first; work is limited by nodes and pricing rounds, never time.

use std::collections::BTreeSet;

use super::conflict::Knapsack;
use super::exact::Outcome;
use super::fit::{self, Bins};
use super::lp::{SCALE, farley};
use super::master::{Column, Master};

/// Nodes one pricing knapsack may expand before it settles for an upper bound.
const PRICING_NODES: u64 = 200_000;
/// Tolerance on LP values and reduced costs.
const EPS: f64 = 1e-6;

/// Work limits of one branch and price.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Branch-and-price nodes.
    pub(crate) nodes: u64,
    /// Pricing rounds over all nodes.
    pub(crate) rounds: u64,
}

/// A node: which items are merged into one row, and which pairs of items are kept apart.
#[derive(Debug, Clone)]
struct Node {
    /// The items of each row.
    groups: Vec<Vec<usize>>,
    /// Pairs of items that may not share a bin.
    apart: Vec<(usize, usize)>,
    /// A lower bound on the packings of this node, from its ancestors.
    bound: u64,
}

/// How a node ended.
enum Solved {
    /// Its bound exceeds the target: nothing better below it.
    Pruned,
    /// Its LP is fractional on the pair of rows (together first).
    Branch(usize, usize, u64),
    /// A limit stopped it, or no pair could be branched on.
    Stuck,
}

/// The search state shared by every node.
struct Search<'a> {
    items: &'a [u64],
    capacity: u64,
    /// Every pattern generated so far, as increasing item indices.
    pool: Vec<Vec<usize>>,
    known: BTreeSet<Vec<usize>>,
    best: Bins,
    /// One bin less than `best`: what the search looks for.
    target: u64,
    /// A proven lower bound on the optimum.
    lower: u64,
    rounds: u64,
}

/// Looks for a packing of fewer bins than `incumbent` by branch and price; `complete` when
/// the search finished, so the packing returned is optimal. `lower` is a proven lower bound
/// (the search stops once it is met).
pub(crate) fn branch_and_price(
    items: &[u64],
    capacity: u64,
    lower: u64,
    incumbent: Bins,
    limits: Limits,
) -> Outcome {
    let count = incumbent.len() as u64;
    if count <= lower || items.is_empty() {
        return Outcome {
            bins: incumbent,
            complete: true,
        };
    }
    let mut search = Search {
        items,
        capacity,
        pool: Vec::new(),
        known: BTreeSet::new(),
        target: count - 1,
        best: Vec::new(),
        lower,
        rounds: limits.rounds,
    };
    for bin in &incumbent {
        search.remember(bin.clone());
    }
    search.best = incumbent;
    let mut stack = vec![Node {
        groups: (0..items.len()).map(|i| vec![i]).collect(),
        apart: Vec::new(),
        bound: lower,
    }];
    let mut nodes = limits.nodes;
    let mut complete = true;
    while let Some(node) = stack.pop() {
        if search.target < search.lower {
            break;
        }
        if node.bound > search.target {
            continue;
        }
        if nodes == 0 || search.rounds == 0 {
            complete = false;
            break;
        }
        nodes -= 1;
        match search.solve(&node) {
            Solved::Pruned => {}
            Solved::Stuck => complete = false,
            Solved::Branch(g, h, bound) => {
                let mut apart = node.clone();
                apart.bound = bound;
                let (a, b) = (node.groups[g][0], node.groups[h][0]);
                apart.apart.push((a, b));
                let mut together = apart.clone();
                together.apart.pop();
                let merged = together.groups.remove(h.max(g));
                together.groups[h.min(g)].extend(merged);
                together.groups[h.min(g)].sort_unstable();
                stack.push(apart);
                stack.push(together);
            }
        }
    }
    let done = search.target < search.lower;
    Outcome {
        bins: search.best,
        complete: done || complete,
    }
}

impl Search<'_> {
    /// Adds a pattern to the pool unless it is there already.
    fn remember(&mut self, mut pattern: Vec<usize>) {
        pattern.sort_unstable();
        if !pattern.is_empty() && self.known.insert(pattern.clone()) {
            self.pool.push(pattern);
        }
    }

    /// Solves the LP of `node` by column generation and decides what to do with it.
    fn solve(&mut self, node: &Node) -> Solved {
        let rows = node.groups.len();
        let mut row_of = vec![0; self.items.len()];
        for (g, members) in node.groups.iter().enumerate() {
            for &i in members {
                row_of[i] = g;
            }
        }
        let sizes: Vec<u64> = node
            .groups
            .iter()
            .map(|g| g.iter().map(|&i| self.items[i]).sum())
            .collect();
        let mut conflicts = vec![Vec::new(); rows];
        for &(a, b) in &node.apart {
            conflicts[row_of[a]].push(row_of[b]);
            conflicts[row_of[b]].push(row_of[a]);
        }
        for c in &mut conflicts {
            c.sort_unstable();
            c.dedup();
        }
        let singles: Vec<Column> = (0..rows).map(|g| vec![(g, 1)]).collect();
        let mut master = Master::new(&vec![1; rows], singles).without_exchanges();
        for pattern in &self.pool {
            if let Some(column) = column(pattern, &row_of, &node.groups, &conflicts) {
                master.add(column);
            }
        }
        let mut bound = node.bound;
        let mut values = vec![0u64; rows];
        loop {
            if self.rounds == 0 {
                return Solved::Stuck;
            }
            self.rounds -= 1;
            master.optimize(20 * rows + 1_000);
            let duals = master.duals();
            for (w, &y) in values.iter_mut().zip(duals) {
                *w = (y.clamp(0.0, 1.0) * SCALE).floor() as u64;
            }
            let knapsack = Knapsack {
                sizes: &sizes,
                values: &values,
                conflicts: &conflicts,
                capacity: self.capacity,
            };
            let choice = knapsack.solve(PRICING_NODES);
            let total: u128 = values.iter().map(|&w| u128::from(w)).sum();
            bound = bound.max(farley(total, u128::from(choice.upper)));
            if bound > self.target {
                return Solved::Pruned;
            }
            let reduced = 1.0 - choice.items.iter().map(|&g| duals[g]).sum::<f64>();
            if reduced >= -EPS * 1e-3 || choice.items.is_empty() {
                break;
            }
            let column: Column = choice.items.iter().map(|&g| (g, 1)).collect();
            master.add(column);
            let pattern = choice
                .items
                .iter()
                .flat_map(|&g| node.groups[g].iter().copied());
            self.remember(pattern.collect());
        }
        let solution: Vec<(Vec<usize>, f64)> = master
            .solution()
            .into_iter()
            .map(|(j, x)| {
                let members = master.columns[j].iter();
                let items = members.flat_map(|&(g, _)| node.groups[g].iter().copied());
                (items.collect(), x)
            })
            .collect();
        let rounded = self.round(&solution);
        if rounded.len() as u64 <= self.target {
            self.target = rounded.len() as u64 - 1;
            self.best = rounded;
            if bound > self.target {
                return Solved::Pruned;
            }
        }
        match pair(&solution, &row_of, &sizes) {
            Some((g, h)) => Solved::Branch(g, h, bound),
            None => Solved::Stuck,
        }
    }

    /// A packing from an LP solution: whole patterns as often as their value, then
    /// fractional patterns by decreasing value while they touch no packed item, then first-fit
    /// decreasing of what is left.
    fn round(&self, solution: &[(Vec<usize>, f64)]) -> Bins {
        let mut order: Vec<&(Vec<usize>, f64)> = solution.iter().collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut packed = vec![false; self.items.len()];
        let mut bins: Bins = Vec::new();
        for (pattern, x) in &order {
            for _ in 0..(x + EPS).floor() as u64 {
                take(pattern, &mut packed, &mut bins);
            }
        }
        for (pattern, x) in &order {
            let whole = (x + EPS).floor();
            if x - whole > EPS && pattern.iter().all(|&i| !packed[i]) {
                take(pattern, &mut packed, &mut bins);
            }
        }
        let rest: Vec<(usize, u64)> = fit::decreasing(self.items)
            .into_iter()
            .filter(|&(i, _)| !packed[i])
            .collect();
        bins.extend(fit::first_fit(&rest, self.capacity));
        bins
    }
}

/// Packs the items of `pattern` not yet packed into a new bin, if there are any.
fn take(pattern: &[usize], packed: &mut [bool], bins: &mut Bins) {
    let fresh: Vec<usize> = pattern.iter().copied().filter(|&i| !packed[i]).collect();
    for &i in &fresh {
        packed[i] = true;
    }
    if !fresh.is_empty() {
        bins.push(fresh);
    }
}

/// The column of `pattern` at a node, or None when it splits a merged row or holds a pair
/// kept apart.
fn column(
    pattern: &[usize],
    row_of: &[usize],
    groups: &[Vec<usize>],
    conflicts: &[Vec<usize>],
) -> Option<Column> {
    let mut rows: Vec<usize> = pattern.iter().map(|&i| row_of[i]).collect();
    rows.sort_unstable();
    rows.dedup();
    let members: usize = rows.iter().map(|&g| groups[g].len()).sum();
    if members != pattern.len() {
        return None;
    }
    for (k, &g) in rows.iter().enumerate() {
        if rows[k + 1..]
            .iter()
            .any(|h| conflicts[g].binary_search(h).is_ok())
        {
            return None;
        }
    }
    Some(rows.into_iter().map(|g| (g, 1)).collect())
}

/// The Ryan–Foster pair of rows: the one whose patterns' total value is most fractional,
/// ties to the largest rows; None when every pair is integral.
fn pair(solution: &[(Vec<usize>, f64)], row_of: &[usize], sizes: &[u64]) -> Option<(usize, usize)> {
    let mut shared: std::collections::BTreeMap<(usize, usize), f64> = Default::default();
    for (pattern, x) in solution {
        let mut rows: Vec<usize> = pattern.iter().map(|&i| row_of[i]).collect();
        rows.sort_unstable();
        rows.dedup();
        for (k, &g) in rows.iter().enumerate() {
            for &h in &rows[k + 1..] {
                *shared.entry((g, h)).or_insert(0.0) += x;
            }
        }
    }
    shared
        .into_iter()
        .filter(|&(_, v)| v > EPS && v < 1.0 - EPS)
        .max_by(|&((a, b), v), &((c, d), w)| {
            let (fv, fw) = (v.min(1.0 - v), w.min(1.0 - w));
            fv.total_cmp(&fw)
                .then((sizes[a] + sizes[b]).cmp(&(sizes[c] + sizes[d])))
                .then((c, d).cmp(&(a, b)))
        })
        .map(|(rows, _)| rows)
}
