//! Branch and price on the set-covering formulation with Ryan–Foster branching: the exact
//! search that proves an optimum above the LP bound, or finds a packing that meets it.
//!
//! Rows are single items (not sizes), so that a fractional LP solution always has a pair of
//! items that share patterns of total value strictly between 0 and 1; the node branches into
//! *together* (the pair becomes one row, a merged item) and *apart* (a conflict the pricing
//! knapsack must respect, the `conflict` module). Each node's LP is solved by column
//! generation, and its bound is Farley's, computed in integers from the scaled duals (as in
//! the `lp` module), so a pruned node is proven to hold no packing below the incumbent.
//!
//! The master keeps one row per item at every node (a *together* pair is two rows that every
//! allowed column covers both or neither of), so a child starts from its parent's master:
//! same basis, same columns, the columns its branch excludes forbidden (big-M cost, see
//! `Master::forbid`), and the patterns priced elsewhere in the tree since then added. Only a
//! node deep in the stack (beyond `WARM_STACK` waiting nodes) rebuilds its master from the
//! shared pool of patterns. A rounding of every node's LP solution (whole patterns,
//! then disjoint fractional ones, then first-fit decreasing) looks for better packings.
//! Depth-first, *together* first; work is limited by nodes and pricing rounds, never time.

use std::collections::BTreeSet;

use super::conflict::Knapsack;
use super::exact::Outcome;
use super::fit::{self, Bins};
use super::lp::{SCALE, farley};
use super::master::Master;
use super::work::Meter;

/// Nodes one pricing knapsack may expand before it settles for an upper bound.
const PRICING_NODES: u64 = 200_000;
/// Tolerance on LP values and reduced costs.
const EPS: f64 = 1e-6;
/// Waiting nodes that keep a copy of their parent's master (each holds an items² basis
/// inverse); the rest rebuild theirs from the pool.
const WARM_STACK: usize = 64;

/// Work limits of one branch and price.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Branch-and-price nodes.
    pub(crate) nodes: u64,
    /// Pricing rounds over all nodes.
    pub(crate) rounds: u64,
    /// Simplex pivots of the node masters over all nodes (`u64::MAX`: no limit). A pivot
    /// costs up to rows² operations on the basis, so this bounds the work on large instances
    /// where a few nodes already cost much.
    pub(crate) pivots: u64,
    /// The work budget every node's master and pricing draw from (see the `work` module).
    pub(crate) work: Meter,
}

/// A node: which items must share a bin (groups), and which pairs of items are kept apart.
#[derive(Clone)]
struct Node {
    /// The groups of items that go together; pricing packs a group as one item.
    groups: Vec<Vec<usize>>,
    /// Pairs of items that may not share a bin.
    apart: Vec<(usize, usize)>,
    /// A lower bound on the packings of this node, from its ancestors.
    bound: u64,
    /// The parent's master to start from; None to build one from the pool.
    warm: Option<Warm>,
}

/// A master with the number of pool patterns it has looked at.
#[derive(Clone)]
struct Warm {
    master: Master,
    /// Pool patterns before this index are in the master (or were not allowed).
    seen: usize,
}

/// How a node ended.
enum Solved {
    /// Its bound exceeds the target: nothing better below it.
    Pruned,
    /// Its LP is fractional on the pair of groups (together first); the master to start
    /// the children from.
    Branch(usize, usize, u64, Box<Warm>),
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
    /// Simplex pivots left.
    pivots: u64,
    /// The work budget.
    work: Meter,
}

/// A node's LP, solved.
struct Relaxed {
    master: Master,
    /// The basic patterns with a positive value, as items and value.
    solution: Vec<(Vec<usize>, f64)>,
    /// The node's bound (Farley's, or its parent's).
    bound: u64,
    /// The group of each item.
    group_of: Vec<usize>,
    /// The total size of each group.
    sizes: Vec<u64>,
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
    let mut nodes = limits.nodes;
    let mut search = Search::new(items, capacity, lower, incumbent, limits);
    let mut stack = vec![Node {
        groups: (0..items.len()).map(|i| vec![i]).collect(),
        apart: Vec::new(),
        bound: lower,
        warm: None,
    }];
    let mut complete = true;
    while let Some(mut node) = stack.pop() {
        if search.target < search.lower {
            break;
        }
        if node.bound > search.target {
            continue;
        }
        if nodes == 0 || search.rounds == 0 || search.pivots == 0 || search.work.exhausted() {
            complete = false;
            break;
        }
        nodes -= 1;
        match search.solve(&mut node) {
            Solved::Pruned => {}
            Solved::Stuck => complete = false,
            Solved::Branch(g, h, bound, warm) => {
                let (apart, together) = children(node, g, h, bound, *warm, stack.len());
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

impl<'a> Search<'a> {
    /// A search for a packing below `incumbent`, whose bins seed the pool.
    fn new(items: &'a [u64], capacity: u64, lower: u64, incumbent: Bins, limits: Limits) -> Self {
        let mut search = Search {
            items,
            capacity,
            pool: Vec::new(),
            known: BTreeSet::new(),
            target: (incumbent.len() as u64).saturating_sub(1),
            best: Vec::new(),
            lower,
            rounds: limits.rounds,
            pivots: limits.pivots,
            work: limits.work,
        };
        for bin in &incumbent {
            search.remember(bin.clone());
        }
        search.best = incumbent;
        search
    }

    /// Adds a pattern to the pool unless it is there already.
    fn remember(&mut self, mut pattern: Vec<usize>) {
        pattern.sort_unstable();
        if !pattern.is_empty() && self.known.insert(pattern.clone()) {
            self.pool.push(pattern);
        }
    }

    /// Solves the LP of `node` and decides what to do with it: rounds its solution to a
    /// packing, and picks the pair to branch on.
    fn solve(&mut self, node: &mut Node) -> Solved {
        let relaxed = match self.relax(node) {
            Ok(relaxed) => relaxed,
            Err(solved) => return solved,
        };
        let rounded = self.round(&relaxed.solution);
        if rounded.len() as u64 <= self.target {
            self.target = rounded.len() as u64 - 1;
            self.best = rounded;
            if relaxed.bound > self.target {
                return Solved::Pruned;
            }
        }
        match pair(&relaxed.solution, &relaxed.group_of, &relaxed.sizes) {
            Some((g, h)) => {
                let seen = self.pool.len();
                let warm = Warm {
                    master: relaxed.master,
                    seen,
                };
                Solved::Branch(g, h, relaxed.bound, Box::new(warm))
            }
            None => Solved::Stuck,
        }
    }

    /// Solves the LP of `node` by column generation, starting from its parent's master when
    /// it has one; Err when the node is pruned by its bound or the rounds ran out.
    fn relax(&mut self, node: &mut Node) -> Result<Relaxed, Solved> {
        let n = self.items.len();
        let rows = node.groups.len();
        let mut group_of = vec![0; n];
        for (g, members) in node.groups.iter().enumerate() {
            for &i in members {
                group_of[i] = g;
            }
        }
        let sizes: Vec<u64> = node
            .groups
            .iter()
            .map(|g| g.iter().map(|&i| self.items[i]).sum())
            .collect();
        let mut conflicts = vec![Vec::new(); rows];
        for &(a, b) in &node.apart {
            conflicts[group_of[a]].push(group_of[b]);
            conflicts[group_of[b]].push(group_of[a]);
        }
        for c in &mut conflicts {
            c.sort_unstable();
            c.dedup();
        }
        let rule = Rule {
            group_of: &group_of,
            groups: &node.groups,
            conflicts: &conflicts,
        };
        for group in &node.groups {
            if group.len() > 1 {
                self.remember(group.clone());
            }
        }
        let Warm { mut master, seen } = node.warm.take().unwrap_or_else(|| Warm {
            master: Master::new(&vec![1; n], (0..n).map(|i| vec![(i, 1)]).collect())
                .without_exchanges()
                .metered(self.work.clone()),
            seen: 0,
        });
        // A penalty above any number of rows a column covers (duals lie in [0, 1]).
        let penalty = n as f64 + 2.0;
        for j in 0..master.columns.len() {
            if master.allowed(j) && !rule.allows(master.columns[j].iter().map(|&(i, _)| i)) {
                master.forbid(j, penalty);
            }
        }
        master.reprice();
        for pattern in &self.pool[seen..] {
            if rule.allows(pattern.iter().copied()) {
                master.add(pattern.iter().map(|&i| (i, 1)).collect());
            }
        }
        let mut bound = node.bound;
        let mut values = vec![0u64; rows];
        loop {
            if self.rounds == 0 || self.pivots == 0 || self.work.exhausted() {
                return Err(Solved::Stuck);
            }
            self.rounds -= 1;
            let limit = (20 * n as u64 + 1_000).min(self.pivots);
            let made = master.optimize(usize::try_from(limit).unwrap_or(usize::MAX));
            self.pivots -= made as u64;
            let duals = master.duals();
            let clamped: Vec<u64> = duals
                .iter()
                .map(|&y| (y.clamp(0.0, 1.0) * SCALE).floor() as u64)
                .collect();
            for (w, members) in values.iter_mut().zip(&node.groups) {
                *w = members.iter().map(|&i| clamped[i]).sum();
            }
            let knapsack = Knapsack {
                sizes: &sizes,
                values: &values,
                conflicts: &conflicts,
                capacity: self.capacity,
            };
            let choice = knapsack.solve(PRICING_NODES);
            self.work.charge(choice.work);
            let total: u128 = values.iter().map(|&w| u128::from(w)).sum();
            bound = bound.max(farley(total, u128::from(choice.upper)));
            if bound > self.target {
                return Err(Solved::Pruned);
            }
            let mut pattern: Vec<usize> = choice
                .items
                .iter()
                .flat_map(|&g| node.groups[g].iter().copied())
                .collect();
            pattern.sort_unstable();
            let reduced = 1.0 - pattern.iter().map(|&i| duals[i]).sum::<f64>();
            if reduced >= -EPS * 1e-3 || pattern.is_empty() {
                break;
            }
            master.add(pattern.iter().map(|&i| (i, 1)).collect());
            self.remember(pattern);
        }
        let solution: Vec<(Vec<usize>, f64)> = master
            .solution()
            .into_iter()
            .map(|(j, x)| (master.columns[j].iter().map(|&(i, _)| i).collect(), x))
            .collect();
        Ok(Relaxed {
            master,
            solution,
            bound,
            group_of,
            sizes,
        })
    }

    /// A packing from an LP solution: whole patterns as often as their value, then
    /// fractional patterns by decreasing value while they touch no packed item, then first-fit
    /// decreasing of what is left.
    fn round(&self, solution: &[(Vec<usize>, f64)]) -> Bins {
        let mut order: Vec<&(Vec<usize>, f64)> = solution.iter().collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut packed = vec![false; self.items.len()];
        let mut bins: Bins = Vec::new();
        // No pattern is used more often than there are items, whatever the LP says.
        let most = self.items.len() as f64;
        for (pattern, x) in &order {
            for _ in 0..(x + EPS).floor().min(most) as u64 {
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

/// The children of `node` branched on groups `g` and `h`: *apart* (their first items may not
/// share a bin) and *together* (one group). Both get `bound`; *together* takes the parent's
/// master, *apart* a copy of it while fewer than `WARM_STACK` nodes wait (`waiting`).
fn children(
    node: Node,
    g: usize,
    h: usize,
    bound: u64,
    warm: Warm,
    waiting: usize,
) -> (Node, Node) {
    let (a, b) = (node.groups[g][0], node.groups[h][0]);
    let mut apart = Node {
        groups: node.groups.clone(),
        apart: node.apart.clone(),
        bound,
        warm: (waiting < WARM_STACK).then(|| warm.clone()),
    };
    apart.apart.push((a, b));
    let mut groups = node.groups;
    let merged = groups.remove(h.max(g));
    groups[h.min(g)].extend(merged);
    groups[h.min(g)].sort_unstable();
    let together = Node {
        groups,
        apart: node.apart,
        bound,
        warm: Some(warm),
    };
    (apart, together)
}

/// The branching decisions of a node, as a test on patterns.
struct Rule<'a> {
    /// The group of every item.
    group_of: &'a [usize],
    groups: &'a [Vec<usize>],
    /// Per group, the groups it may not share a bin with, increasing.
    conflicts: &'a [Vec<usize>],
}

impl Rule<'_> {
    /// Whether a pattern (its items, increasing, without repeats) respects the node: it
    /// holds every group it touches whole and no pair of groups kept apart.
    fn allows(&self, pattern: impl Iterator<Item = usize>) -> bool {
        let mut count = 0;
        let mut touched: Vec<usize> = pattern
            .inspect(|_| count += 1)
            .map(|i| self.group_of[i])
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let members: usize = touched.iter().map(|&g| self.groups[g].len()).sum();
        if members != count {
            return false;
        }
        touched.iter().enumerate().all(|(k, &g)| {
            touched[k + 1..]
                .iter()
                .all(|h| self.conflicts[g].binary_search(h).is_err())
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Far above any LP value, so that no node is pruned and each LP is solved to the end.
    const OPEN: u64 = u64::MAX / 2;

    /// Down random paths of the tree, each child solved from its parent's master and again
    /// from scratch: the two LP values agree, and the packings found stay valid.
    #[test]
    fn a_warm_started_node_has_the_lp_value_of_a_cold_one() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let mut compared = 0;
        for case in 0..150 {
            let capacity = 100;
            let n = rng.random_range(6..=28);
            let items: Vec<u64> = (0..n).map(|_| rng.random_range(15..=60)).collect();
            let ffd = fit::first_fit(&fit::decreasing(&items), capacity);
            let limits = Limits {
                nodes: u64::MAX,
                rounds: u64::MAX,
                pivots: u64::MAX,
                work: Meter::unlimited(),
            };
            let mut search = Search::new(&items, capacity, 0, ffd, limits);
            let mut node = Node {
                groups: (0..n).map(|i| vec![i]).collect(),
                apart: Vec::new(),
                bound: 0,
                warm: None,
            };
            for depth in 0..8 {
                search.target = OPEN;
                let Ok(relaxed) = search.relax(&mut node) else {
                    break;
                };
                let Some((g, h)) = pair(&relaxed.solution, &relaxed.group_of, &relaxed.sizes)
                else {
                    break;
                };
                let warm = Warm {
                    master: relaxed.master,
                    seen: search.pool.len(),
                };
                let (apart, together) = children(node, g, h, relaxed.bound, warm, 0);
                for child in [&apart, &together] {
                    let mut warm = child.clone();
                    let mut cold = child.clone();
                    cold.warm = None;
                    let values = [&mut warm, &mut cold].map(|node| {
                        search.target = OPEN;
                        search.relax(node).map(|r| r.master.objective()).ok()
                    });
                    let [Some(warm_value), Some(cold_value)] = values else {
                        panic!("case {case} depth {depth}: a node was pruned");
                    };
                    assert!(
                        (warm_value - cold_value).abs() < 1e-6,
                        "case {case} depth {depth}: warm {warm_value} cold {cold_value}"
                    );
                    compared += 1;
                }
                node = if rng.random_bool(0.5) {
                    apart
                } else {
                    together
                };
            }
            search.solve(&mut node);
            let mut seen = vec![0; n];
            for bin in &search.best {
                assert!(bin.iter().map(|&i| items[i]).sum::<u64>() <= capacity);
                for &i in bin {
                    seen[i] += 1;
                }
            }
            assert!(seen.iter().all(|&k| k == 1), "case {case}");
        }
        assert!(compared >= 300, "{compared}");
    }

    /// A rounding takes a pattern at most once per item whatever value the LP solution
    /// gives it (a numerically broken master could report a huge one), and still packs
    /// every item exactly once.
    #[test]
    fn rounding_survives_absurd_lp_values() {
        use crate::check::check_packing;

        let items = [60, 50, 40, 30, 20];
        let ffd = fit::first_fit(&fit::decreasing(&items), 100);
        let limits = Limits {
            nodes: 1,
            rounds: 1,
            pivots: 1,
            work: Meter::unlimited(),
        };
        let search = Search::new(&items, 100, 0, ffd, limits);
        let solution = [
            (vec![0, 2], 1e15),
            (vec![1, 3, 4], f64::NAN),
            (vec![3], 0.5),
        ];
        let bins = search.round(&solution);
        assert_eq!(check_packing(&items, 100, &bins), Ok(()), "{bins:?}");
    }

    /// A pivot limit stops the search, possibly in the middle of a node's LP: what it
    /// returns is a valid packing, never below the optimum, and when it claims completeness
    /// it has the optimum the unlimited search finds; small limits leave searches unfinished.
    #[test]
    fn a_pivot_limit_stops_the_search_soundly() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(41);
        let mut stopped = 0;
        for case in 0..120 {
            let capacity = 100;
            let n = rng.random_range(8..=24);
            let items: Vec<u64> = (0..n).map(|_| rng.random_range(18..=60)).collect();
            let ffd = fit::first_fit(&fit::decreasing(&items), capacity);
            let run = |pivots| {
                let limits = Limits {
                    nodes: 10_000,
                    rounds: u64::MAX,
                    pivots,
                    work: Meter::unlimited(),
                };
                branch_and_price(&items, capacity, 0, ffd.clone(), limits)
            };
            let full = run(u64::MAX);
            assert!(full.complete, "case {case}");
            for pivots in [1, 5, 20, 100] {
                let outcome = run(pivots);
                let mut seen = vec![0; n];
                for bin in &outcome.bins {
                    assert!(bin.iter().map(|&i| items[i]).sum::<u64>() <= capacity);
                    for &i in bin {
                        seen[i] += 1;
                    }
                }
                assert!(seen.iter().all(|&k| k == 1), "case {case}");
                assert!(outcome.bins.len() >= full.bins.len(), "case {case}");
                if outcome.complete {
                    assert_eq!(outcome.bins.len(), full.bins.len(), "case {case}");
                } else {
                    stopped += 1;
                }
            }
        }
        assert!(stopped >= 100, "{stopped}");
    }
}
