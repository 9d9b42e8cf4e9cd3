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
mod cns;
mod dff;
mod exact;
mod fit;
mod harmonic;
mod mbs;
mod search;
mod subset;
#[cfg(test)]
mod tests;

pub use algorithm::{Algorithm, UnknownAlgorithm};

use rand::Rng;

use crate::Result;
use crate::bounds::l2_sorted;
use crate::check::check_input;

/// Work limits of the search-based algorithms. Limits are counts, not durations, so results
/// are reproducible; the defaults keep the whole BPPLIB literature set under a minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Number of classes of [`Algorithm::Harmonic`] (at least 1).
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
        }
    }
}

/// A packing of items into bins, with the lower bound that certifies its quality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    /// The algorithm that produced the packing.
    pub algorithm: Algorithm,
    /// Per bin, the indices (into the input slice) of the items it holds. No bin is empty.
    pub bins: Vec<Vec<usize>>,
    /// A lower bound on the number of bins of any packing (Martello–Toth L2).
    pub lower_bound: u64,
    /// True when the exact search finished and proved `bins.len()` minimal, even above the
    /// lower bound.
    pub search_complete: bool,
}

impl Packing {
    /// Number of bins used.
    pub fn bin_count(&self) -> u64 {
        self.bins.len() as u64
    }

    /// True when the packing is known to use the fewest bins possible.
    pub fn is_proven_optimal(&self) -> bool {
        self.search_complete || self.bin_count() == self.lower_bound
    }

    /// Sum of item sizes per bin.
    pub fn loads(&self, items: &[u64]) -> Vec<u128> {
        self.bins
            .iter()
            .map(|bin| bin.iter().map(|&i| u128::from(items[i])).sum())
            .collect()
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
    let mut search_complete = false;
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
        Algorithm::LocalSearch => search::improve(items, capacity, bound, config, rng),
        Algorithm::Exact => {
            let outcome = exact::branch_and_bound(items, capacity, bound, config);
            search_complete = outcome.complete;
            outcome.bins
        }
    };
    Ok(Packing {
        algorithm,
        bins,
        lower_bound: bound,
        search_complete,
    })
}
