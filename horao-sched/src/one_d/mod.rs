//! One-dimensional bin packing: online and offline heuristics, an improvement method that
//! closes most of the gap to the optimum, and a node-limited exact search.
//!
//! Call [`pack`] (or [`pack_with`] for explicit [`Config`] limits) with item sizes, a bin
//! capacity and an [`Algorithm`]. The result is a [`Packing`]: bins as lists of item indices
//! plus the Martello–Toth lower bound, so a packing whose bin count equals the bound is proven
//! optimal. Work limits are node and iteration counts, never time: the same input and RNG seed
//! always give the same packing.
//!
//! ```
//! use horao_sched::one_d::{pack, Algorithm};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let packing = pack(&[6, 4, 5, 5, 3, 7], 10, Algorithm::LocalSearch, &mut rng)?;
//! assert_eq!(packing.bins.len(), 3);
//! assert!(packing.is_proven_optimal());
//! # Ok::<(), horao_sched::Error>(())
//! ```

mod algorithm;
mod branch;
mod cns;
mod conflict;
mod dff;
mod dive;
mod exact;
mod factor;
mod fit;
mod harmonic;
mod inverse;
mod knapsack;
mod limit;
mod lp;
mod master;
mod mbs;
mod proof;
mod row;
mod search;
mod shape;
mod subset;
#[cfg(test)]
mod tests;
mod work;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use limit::LimitError;
pub use lp::LpBound;
pub use proof::{Packing, Proof};

use rand::Rng;

use crate::Result;
use crate::bounds::l2_sorted;
use crate::check::check_input;

/// The default [`Config::lp_work`].
const LP_WORK: u64 = 60_000_000_000;

/// Work limits of the search-based algorithms. Limits are counts, not durations, so results
/// are reproducible; the defaults keep the whole BPPLIB literature set under a minute. Each
/// can also be read and set by name ([`Config::LIMITS`], [`Config::set_limit`],
/// [`Config::apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Number of classes of [`Algorithm::Harmonic`] (taken as 1 below 1 and as 65,536 above).
    pub harmonic_k: usize,
    /// Search nodes per bin that the minimum-bin-slack construction may spend.
    pub mbs_nodes_per_bin: u64,
    /// Extra MBS' constructions with randomly perturbed item orders.
    pub mbs_restarts: u64,
    /// Move evaluations the local search may spend in total on one instance.
    pub search_effort: u64,
    /// Nodes the exact branch and bound may expand before it returns its best packing.
    pub exact_nodes: u64,
    /// Instances with more items than this skip the quadratic-time improvement phases and
    /// return the best greedy packing, so huge inputs stay O(n log n).
    pub max_search_items: usize,
    /// The local search finishes with an exact search of this many nodes on instances of at
    /// most `max_exact_items` items that it has not solved to the lower bound.
    pub search_exact_nodes: u64,
    /// See `search_exact_nodes`.
    pub max_exact_items: usize,
    /// Pricing rounds (patterns generated) the LP bound may spend on one instance.
    pub lp_rounds: u64,
    /// Instances with more distinct item sizes than this get no LP bound (and no dive): the
    /// master has a row per size, and its pivots and pricing tables grow with them.
    pub max_lp_rows: usize,
    /// Pricing rounds the LP diving heuristic of the local search may spend in total.
    pub dive_rounds: u64,
    /// Nodes of the branch and price (Ryan–Foster branching on the set-covering LP) that
    /// the local search and the exact algorithm run where their packing is above the bound.
    pub price_nodes: u64,
    /// Pricing rounds that branch and price may spend over all its nodes.
    pub price_rounds: u64,
    /// Instances with more items than this get branch and price only under the pivot limit
    /// `large_price_pivots`, and those with more than twice as many skip it (its master has
    /// a row per item, and every node re-solves it).
    pub max_price_items: usize,
    /// Simplex pivots that branch and price may spend on an instance of more than
    /// `max_price_items` (and at most twice as many) items.
    pub large_price_pivots: u64,
    /// Work the LP-based phases (the LP bound, the LP dive and branch and price) may spend
    /// together on one instance, in the units of the `work` module: a simplex multiply-add
    /// is one (a pivot on an m-row master with an explicit inverse costs m²), an operation
    /// on a sparse factorization of the basis three, a column entry priced four, a
    /// pricing-table cell eight, a knapsack node 64. It binds on the AI/ANI instances
    /// (hundreds of distinct sizes, large capacities, or long branch-and-price trees), where
    /// one pivot or pricing call costs a thousand times what it costs on a small one, and on
    /// none of the literature set.
    pub lp_work: u64,
    /// Where the items fill the lower bound's bins exactly and one shape of bin recurs among
    /// the completions of the large items (the AI and ANI instances), the bins of that shape
    /// are fixed first and the other items packed with 1 / this of the search effort, the
    /// dive's rounds, branch and price's nodes and rounds and the LP work; the whole method
    /// runs only if they do not fill their bins. 0 turns the shape phase off.
    pub shape_share: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            harmonic_k: 10,
            mbs_nodes_per_bin: 20_000,
            mbs_restarts: 10,
            search_effort: 20_000_000,
            exact_nodes: 2_000_000,
            max_search_items: 20_000,
            search_exact_nodes: 100_000,
            max_exact_items: 60,
            lp_rounds: 5_000,
            max_lp_rows: 2_000,
            dive_rounds: 2_000,
            price_nodes: 1_000,
            price_rounds: 50_000,
            max_price_items: 250,
            large_price_pivots: 8_000,
            lp_work: LP_WORK,
            shape_share: 8,
        }
    }
}

/// Packs `items` into bins of size `capacity` with `algorithm` and the default [`Config`].
///
/// Errors only on invalid input: zero capacity or an item larger than the capacity.
pub fn pack(
    items: &[u64],
    capacity: u64,
    algorithm: Algorithm,
    rng: &mut impl Rng,
) -> Result<Packing> {
    pack_with(items, capacity, algorithm, &Config::default(), rng)
}

/// Packs `items` into bins of size `capacity` with `algorithm` and explicit limits.
///
/// Errors only on invalid input: zero capacity or an item larger than the capacity.
pub fn pack_with(
    items: &[u64],
    capacity: u64,
    algorithm: Algorithm,
    config: &Config,
    rng: &mut impl Rng,
) -> Result<Packing> {
    check_input(items, capacity)?;
    // One sort serves the bound and the decreasing heuristics.
    let sized = fit::decreasing(items);
    let sizes: Vec<u64> = sized.iter().map(|&(_, s)| s).collect();
    let bound = l2_sorted(&sizes, capacity);
    drop(sizes);
    let mut proof = proof::Certificate::l2(bound);
    let bins = match algorithm {
        Algorithm::NextFit => fit::next_fit(&fit::input_order(items), capacity),
        Algorithm::FirstFit => fit::first_fit(&fit::input_order(items), capacity),
        Algorithm::BestFit => fit::best_fit(&fit::input_order(items), capacity),
        Algorithm::WorstFit => fit::worst_fit(&fit::input_order(items), capacity),
        Algorithm::FirstFitDecreasing => fit::first_fit(&sized, capacity),
        Algorithm::BestFitDecreasing => fit::best_fit(&sized, capacity),
        Algorithm::Harmonic => harmonic::harmonic(items, capacity, config.harmonic_k),
        Algorithm::RefinedHarmonic => harmonic::refined_harmonic(items, capacity),
        Algorithm::MinimumBinSlack => {
            if items.len() > config.max_search_items {
                fit::best_fit(&sized, capacity)
            } else {
                let order: Vec<usize> = sized.iter().map(|&(i, _)| i).collect();
                mbs::mbs_prime(items, &order, capacity, config.mbs_nodes_per_bin)
            }
        }
        Algorithm::LocalSearch => {
            let improved = search::improve(items, capacity, bound, config, rng);
            proof = improved.proof;
            improved.bins
        }
        Algorithm::Exact => {
            let outcome = exact::branch_and_bound(items, capacity, bound, config);
            proof = outcome.proof;
            outcome.bins
        }
    };
    Ok(proof.finish(algorithm, bins))
}

/// The LP bound of the set-covering formulation by column generation (see [`LpBound`]),
/// spending at most `config.lp_rounds` pricing rounds. With more than
/// `config.max_lp_rows` distinct sizes nothing is solved: the bound is 0 and `solved` false.
///
/// Errors only on invalid input: zero capacity or an item larger than the capacity.
pub fn lp_bound(items: &[u64], capacity: u64, config: &Config) -> Result<LpBound> {
    check_input(items, capacity)?;
    let types = lp::Types::new(items);
    if types.sizes.len() > config.max_lp_rows {
        return Ok(LpBound {
            bound: 0,
            value: f64::INFINITY,
            solved: false,
            optimal: false,
            rounds: 0,
        });
    }
    // The bins of first-fit decreasing are the first patterns: a good primal start.
    let ffd = fit::first_fit(&fit::decreasing(items), capacity);
    let seed = types.patterns(&ffd, items.len());
    let mut generation = lp::Generation::new(&types.sizes, &types.demand, capacity, seed);
    generation.to_optimality = true;
    generation.run(u64::MAX, config.lp_rounds);
    Ok(generation.lp)
}
