//! The LP bound of the Gilmore–Gomory set-covering formulation, by column generation.
//!
//! Items of equal size form one row with a demand. The restricted master LP (the `master`
//! module) is solved over the patterns generated so far; its duals price a new pattern by
//! an exact bounded knapsack (the `knapsack` module), until none has negative reduced cost.
//!
//! The reported bound is safe in floating point: the duals are scaled to integers
//! `w_i = ⌊y_i · 2^30⌋`, the knapsack finds (in integers) the largest pattern value `W`, so
//! `w / W` is a feasible dual solution and `⌈Σ b_i w_i / W⌉` — computed exactly — is a lower
//! bound on every packing (Farley's bound). Each pricing round yields one; the best is kept.
//! At the LP optimum it equals ⌈z_LP⌉ unless z_LP lies within about 10⁻⁶ above an integer.

use super::fit::Bins;
use super::knapsack::{ALTERNATIVES, Knapsack};
use super::master::{Column, DENSE_ROWS, Master};
use super::work::Meter;

/// Scale of the integer duals.
pub(crate) const SCALE: f64 = (1u64 << 30) as f64;
/// Nodes one knapsack branch and bound may expand (pricing on large capacities).
const KNAPSACK_NODES: u64 = 5_000;

/// Items grouped by size, largest first.
#[derive(Debug, Clone)]
pub(crate) struct Types {
    /// Distinct sizes, decreasing.
    pub(crate) sizes: Vec<u64>,
    /// Items of each size.
    pub(crate) demand: Vec<u64>,
    /// Indices (into the input) of the items of each size.
    pub(crate) members: Vec<Vec<usize>>,
}

impl Types {
    /// Groups `items` by size.
    pub(crate) fn new(items: &[u64]) -> Self {
        let mut types = Types {
            sizes: Vec::new(),
            demand: Vec::new(),
            members: Vec::new(),
        };
        for (i, size) in super::fit::decreasing(items) {
            if types.sizes.last() != Some(&size) {
                types.sizes.push(size);
                types.demand.push(0);
                types.members.push(Vec::new());
            }
            if let (Some(d), Some(m)) = (types.demand.last_mut(), types.members.last_mut()) {
                *d += 1;
                m.push(i);
            }
        }
        types
    }

    /// The type of every item, by input index.
    pub(crate) fn type_of(&self, items: usize) -> Vec<usize> {
        let mut of = vec![0; items];
        for (t, members) in self.members.iter().enumerate() {
            for &i in members {
                of[i] = t;
            }
        }
        of
    }

    /// The patterns of a packing's bins.
    pub(crate) fn patterns(&self, bins: &Bins, items: usize) -> Vec<Column> {
        let of = self.type_of(items);
        bins.iter()
            .map(|bin| {
                let mut column: Column = Vec::new();
                for &i in bin {
                    match column.iter_mut().find(|(t, _)| *t == of[i]) {
                        Some((_, c)) => *c += 1,
                        None => column.push((of[i], 1)),
                    }
                }
                column.sort_unstable();
                column
            })
            .collect()
    }
}

/// The outcome of column generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LpBound {
    /// A lower bound on the number of bins, proven in integer arithmetic; ⌈z_LP⌉ when
    /// `solved` (up to the rounding noted in the module documentation).
    pub bound: u64,
    /// The restricted master's objective at the end, an upper bound on z_LP (floating
    /// point); z_LP itself when `optimal`.
    pub value: f64,
    /// True when `bound` is ⌈z_LP⌉: the LP was solved, or the bound met the master's value
    /// rounded up.
    pub solved: bool,
    /// True when no pattern with negative reduced cost remained, so `value` is z_LP.
    pub optimal: bool,
    /// Pricing rounds spent.
    pub rounds: u64,
}

/// A column generation in progress or stopped: the bound, the master for diving, and the
/// (residual) demands it covers.
#[derive(Clone)]
pub(crate) struct Generation {
    pub(crate) lp: LpBound,
    pub(crate) master: Master,
    sizes: Vec<u64>,
    /// Demand left per type (what pricing may put into a pattern).
    demand: Vec<u64>,
    capacity: u64,
    /// Solve the LP to optimality instead of stopping once the bound is ⌈z_LP⌉.
    pub(crate) to_optimality: bool,
}

/// Column generation on `types` with the pricing-round limit `rounds` and the work budget
/// `work`, seeded with `seed` patterns (e.g. a heuristic packing's bins). Stops early once
/// the bound reaches `target`.
pub(crate) fn generate(
    types: &Types,
    capacity: u64,
    seed: Vec<Column>,
    target: u64,
    rounds: u64,
    work: &Meter,
) -> Generation {
    let mut generation =
        Generation::new(&types.sizes, &types.demand, capacity, seed).metered(work.clone());
    generation.run(target, rounds);
    generation
}

impl Generation {
    /// A master over `demand` (one row per type) with a homogeneous starting basis and the
    /// `seed` patterns in its pool.
    pub(crate) fn new(sizes: &[u64], demand: &[u64], capacity: u64, seed: Vec<Column>) -> Self {
        let m = demand.len();
        let homogeneous: Vec<Column> = (0..m)
            .map(|t| {
                let fit = capacity
                    .checked_div(sizes[t])
                    .unwrap_or(u64::MAX)
                    .min(demand[t])
                    .max(1);
                vec![(t, fit)]
            })
            .collect();
        let mut master = Master::new(demand, homogeneous);
        for column in seed {
            master.add(column);
        }
        let empty = demand.iter().all(|&d| d == 0);
        Generation {
            lp: LpBound {
                bound: 0,
                value: if empty { 0.0 } else { f64::INFINITY },
                solved: empty,
                optimal: empty,
                rounds: 0,
            },
            master,
            sizes: sizes.to_vec(),
            demand: demand.to_vec(),
            capacity,
            to_optimality: false,
        }
    }

    /// The same generation drawing its work from `meter` (see the `work` module).
    pub(crate) fn metered(mut self, meter: Meter) -> Self {
        self.master = self.master.metered(meter);
        self
    }

    /// Demand left per type.
    pub(crate) fn demand(&self) -> &[u64] {
        &self.demand
    }

    /// Packs `copies` copies of the basic pattern `column` (a pool index) for good: the
    /// demand drops by them and the master is re-optimised from its basis (dual simplex).
    /// False when the pattern is not basic or over-covers the demand (nothing changes), or
    /// when the dual simplex ran out of pivots (the generation is then unusable).
    pub(crate) fn fix(&mut self, column: usize, copies: u64) -> bool {
        let fits = self.master.columns.get(column).is_some_and(|c| {
            c.iter()
                .all(|&(t, k)| k.saturating_mul(copies) <= self.demand[t])
        });
        if !fits || !self.master.take(column, copies) {
            return false;
        }
        if !self.master.restore(20 * self.demand.len() + 1_000) {
            return false;
        }
        for &(t, k) in &self.master.columns[column] {
            self.demand[t] -= k * copies;
        }
        self.lp.bound = 0;
        self.lp.solved = self.demand.iter().all(|&d| d == 0);
        self.lp.optimal = self.lp.solved;
        true
    }

    /// Continues column generation for at most `rounds` pricing rounds, until the bound
    /// reaches `target` or until the work budget is spent; returns the rounds spent.
    pub(crate) fn run(&mut self, target: u64, rounds: u64) -> u64 {
        let m = self.demand.len();
        if self.demand.iter().all(|&d| d == 0) {
            self.lp.value = 0.0;
            self.lp.solved = true;
            self.lp.optimal = true;
            return 0;
        }
        let to_optimality = self.to_optimality;
        // The pricing tables' alternatives (the best pattern holding each item above half
        // the capacity) go into masters above `DENSE_ROWS` rows only: with many such items
        // these fill the master many times faster than one column per round. On smaller
        // masters they cost more than they save (Hard28 took 73 s with them and 52 s
        // without, the same packings and proofs), so the tables do not even build them.
        let alternatives = if m > DENSE_ROWS { ALTERNATIVES } else { 0 };
        let pivot_limit = 20 * m + 1_000;
        let lp = &mut self.lp;
        let master = &mut self.master;
        let meter = master.meter().clone();
        let mut pricing = Pricing::new(
            &meter,
            &self.sizes,
            &self.demand,
            self.capacity,
            alternatives,
        );
        let mut spent = 0;
        while spent < rounds && !meter.exhausted() {
            spent += 1;
            lp.rounds += 1;
            master.optimize(pivot_limit);
            pricing.alternatives.clear();
            lp.value = master.objective();
            let duals = master.duals().to_vec();
            // Wentges smoothing: price at a point between the best dual solution so far and
            // the master's, which cuts the tail of column generation; price at the master's
            // duals only when that point yields no improving pattern.
            let mut pattern = pricing.price(&duals, SMOOTHING);
            if reduced_cost(&pattern, &duals) >= -1e-9 && SMOOTHING > 0.0 {
                pattern = pricing.price(&duals, 0.0);
            }
            lp.bound = lp.bound.max(pricing.bound());
            if lp.bound as f64 >= (lp.value - 1e-6).ceil() {
                lp.solved = true;
                if !to_optimality {
                    break;
                }
            }
            if reduced_cost(&pattern, &duals) >= -1e-9 {
                // No improving pattern found; on large capacities the pricing may have been
                // inexact, so it is repeated exactly before the master is declared optimal.
                match pricing.price_exactly(&duals) {
                    Some(exact) if reduced_cost(&exact, &duals) < -1e-9 => pattern = exact,
                    _ => {
                        lp.solved = true;
                        lp.optimal = true;
                        lp.bound = lp.bound.max(pricing.bound());
                        break;
                    }
                }
            }
            if lp.bound >= target && !to_optimality {
                break;
            }
            // The best pattern, and every alternative the tables found that prices out at
            // the master's duals.
            let mut columns = vec![pattern];
            for other in pricing.alternatives.drain(..) {
                if reduced_cost(&other, &duals) < -1e-9 && !columns.contains(&other) {
                    columns.push(other);
                }
            }
            for pattern in columns {
                master.add(
                    pattern
                        .iter()
                        .enumerate()
                        .filter(|&(_, &c)| c > 0)
                        .map(|(t, &c)| (t, c))
                        .collect(),
                );
            }
        }
        spent
    }
}

/// Weight of the best dual solution in the smoothed pricing point.
const SMOOTHING: f64 = 0.9;

/// 1 − y·a for pattern `a`.
pub(crate) fn reduced_cost(pattern: &[u64], duals: &[f64]) -> f64 {
    1.0 - pattern
        .iter()
        .zip(duals)
        .map(|(&c, &y)| c as f64 * y)
        .sum::<f64>()
}

/// The pricing step: integer duals, the knapsack, and the best Farley bound seen.
struct Pricing<'a> {
    /// Charged the knapsack's work.
    meter: &'a Meter,
    sizes: &'a [u64],
    demand: &'a [u64],
    capacity: u64,
    values: Vec<u64>,
    /// The integer duals of the best bound so far (empty before the first round).
    best_values: Vec<u64>,
    /// That bound as a fraction (Σ b w, W).
    best: (u128, u128),
    /// Whether the last pricing was exact.
    exact: bool,
    /// Most alternatives each pricing table hands back (see `Knapsack::alternatives`).
    asked: usize,
    /// Other patterns the pricing tables of this round found (see `Priced::alternatives`).
    alternatives: Vec<Vec<u64>>,
}

impl<'a> Pricing<'a> {
    /// Pricing over `demand` copies of types of `sizes`, before its first round, keeping
    /// up to `asked` alternatives per table.
    fn new(
        meter: &'a Meter,
        sizes: &'a [u64],
        demand: &'a [u64],
        capacity: u64,
        asked: usize,
    ) -> Self {
        Pricing {
            meter,
            sizes,
            demand,
            capacity,
            values: vec![0; sizes.len()],
            best_values: Vec::new(),
            best: (0, 1),
            exact: true,
            asked,
            alternatives: Vec::new(),
        }
    }

    /// Sets the integer duals to `alpha · best + (1 − alpha) · duals`, scaled.
    fn set_values(&mut self, duals: &[f64], alpha: f64) {
        let smooth = alpha > 0.0 && !self.best_values.is_empty();
        for (t, (w, &y)) in self.values.iter_mut().zip(duals).enumerate() {
            let own = y.clamp(0.0, 1.0) * SCALE;
            let point = if smooth {
                alpha * self.best_values[t] as f64 + (1.0 - alpha) * own
            } else {
                own
            };
            *w = point.floor() as u64;
        }
    }

    fn knapsack(&self) -> Knapsack<'_> {
        Knapsack {
            sizes: self.sizes,
            counts: self.demand,
            values: &self.values,
            capacity: self.capacity,
            alternatives: self.asked,
        }
    }

    /// Keeps the current integer duals if, with `upper` bounding every pattern's value under
    /// them, they give the best bound so far.
    fn record(&mut self, upper: u64) {
        if upper == 0 {
            return;
        }
        let total = weighted(self.demand, &self.values);
        let upper = u128::from(upper);
        // total / upper > best.0 / best.1, compared exactly.
        if total * self.best.1 > self.best.0 * upper {
            self.best = (total, upper);
            self.best_values.clone_from(&self.values);
        }
    }

    /// Prices at the smoothed point (see [`Pricing::set_values`]); returns the best pattern
    /// found and records the bound.
    fn price(&mut self, duals: &[f64], alpha: f64) -> Vec<u64> {
        self.set_values(duals, alpha);
        let priced = self.knapsack().solve(KNAPSACK_NODES);
        self.meter.charge(priced.work);
        self.exact = priced.value == priced.upper;
        self.record(priced.upper);
        self.keep(priced.alternatives);
        priced.pattern
    }

    /// Prices exactly at `duals` when the pricing is not already exact, recording the bound;
    /// None when the exact table would be too large or pricing was exact anyway.
    fn price_exactly(&mut self, duals: &[f64]) -> Option<Vec<u64>> {
        if self.exact {
            return None;
        }
        self.set_values(duals, 0.0);
        let priced = self.knapsack().solve_exact()?;
        self.meter.charge(priced.work);
        self.record(priced.upper);
        self.keep(priced.alternatives);
        Some(priced.pattern)
    }

    /// Keeps a table's alternative patterns for this round.
    fn keep(&mut self, alternatives: Vec<(Vec<u64>, u64)>) {
        self.alternatives
            .extend(alternatives.into_iter().map(|(pattern, _)| pattern));
    }

    /// The best Farley bound so far, rounded up.
    fn bound(&self) -> u64 {
        farley(self.best.0, self.best.1)
    }
}

/// Σ b_i w_i, exactly.
pub(crate) fn weighted(demand: &[u64], values: &[u64]) -> u128 {
    demand
        .iter()
        .zip(values)
        .map(|(&b, &w)| u128::from(b) * u128::from(w))
        .sum()
}

/// Farley's bound ⌈Σ b_i w_i / W⌉ from `total` = Σ b_i w_i and an upper bound `best` = W on
/// every pattern's value under the integer duals w (0 when `best` is 0).
pub(crate) fn farley(total: u128, best: u128) -> u64 {
    if best == 0 {
        return 0;
    }
    u64::try_from(total.div_ceil(best)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn farley_rounds_up_exactly() {
        assert_eq!(farley(weighted(&[3, 1], &[10, 5]), 20), 2);
        assert_eq!(farley(weighted(&[4], &[5]), 10), 2);
        assert_eq!(farley(weighted(&[4], &[5]), 0), 0);
    }

    #[test]
    fn groups_items_by_size() {
        let types = Types::new(&[3, 7, 3, 5, 7, 7]);
        assert_eq!(types.sizes, vec![7, 5, 3]);
        assert_eq!(types.demand, vec![3, 1, 2]);
        assert_eq!(types.members, vec![vec![1, 4, 5], vec![3], vec![0, 2]]);
        let bins: Bins = vec![vec![1, 0], vec![4, 2], vec![5, 3]];
        assert_eq!(
            types.patterns(&bins, 6),
            vec![
                vec![(0, 1), (2, 1)],
                vec![(0, 1), (2, 1)],
                vec![(0, 1), (1, 1)]
            ]
        );
    }
}

#[cfg(test)]
mod warm_tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Fixing patterns one after another and re-optimising warm (dual simplex, then more
    /// columns) gives the bound a cold solve of the residual gives, with a consistent basis.
    #[test]
    fn fixing_a_pattern_warm_matches_a_cold_solve() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for case in 0..50 {
            let capacity = 100;
            let items: Vec<u64> = (0..40).map(|_| rng.random_range(10..60)).collect();
            let types = Types::new(&items);
            let unlimited = Meter::unlimited();
            let mut warm = generate(&types, capacity, Vec::new(), u64::MAX, 10_000, &unlimited);
            assert!(warm.lp.solved);
            let mut residual = types.demand.clone();
            let mut x = 0.0;
            for step in 0..3 {
                let solution = warm.master.solution();
                let (j, value) = solution[(case + step) % solution.len()];
                x = value;
                let column = warm.master.columns[j].clone();
                if !warm.fix(j, 1) {
                    continue;
                }
                warm.run(u64::MAX, 10_000);
                for &(t, c) in &column {
                    residual[t] -= c;
                }
                let before = warm.master.objective();
                warm.master.refresh();
                assert!(
                    (before - warm.master.objective()).abs() < 1e-6,
                    "case {case} step {step}: {before} vs {}",
                    warm.master.objective()
                );
            }
            let mut cold = Generation::new(&types.sizes, &residual, capacity, Vec::new());
            cold.run(u64::MAX, 10_000);
            // Both stop once the bound meets the master's value rounded up.
            assert_eq!(warm.lp.bound, cold.lp.bound, "case {case}: x {x}");
            assert!(
                warm.lp.bound as f64 >= (warm.lp.value - 1e-6).ceil(),
                "case {case}"
            );
            assert_eq!(warm.demand(), &residual[..]);
        }
    }
}
