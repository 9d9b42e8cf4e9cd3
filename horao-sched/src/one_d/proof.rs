//! What a packing proves: the [`Packing`] result, the lower bound it carries and which
//! argument ([`Proof`]) establishes that bound.

use std::fmt;

use super::Algorithm;
use super::fit::Bins;

/// The argument behind a packing's lower bound, and so behind a proof of optimality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proof {
    /// The Martello–Toth bound L2 (computed for every algorithm).
    L2,
    /// A dual-feasible-function bound (Fekete–Schepers, Carlier–Clautiaux–Moukrim).
    Dff,
    /// The LP bound of the set-covering formulation, by column generation.
    Lp,
    /// An exhaustive search that found no packing with fewer bins.
    Exact,
}

impl Proof {
    /// The short name used in reports: `L2`, `DFF`, `LP` or `exact`.
    pub fn name(self) -> &'static str {
        match self {
            Proof::L2 => "L2",
            Proof::Dff => "DFF",
            Proof::Lp => "LP",
            Proof::Exact => "exact",
        }
    }
}

impl fmt::Display for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A packing of items into bins, with the lower bound that certifies its quality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    /// The algorithm that produced the packing.
    pub algorithm: Algorithm,
    /// Per bin, the indices (into the input slice) of the items it holds. No bin is empty.
    pub bins: Vec<Vec<usize>>,
    /// A lower bound on the number of bins of any packing: L2 for every algorithm, the
    /// stronger DFF and LP bounds where the search-based algorithms computed them, and the
    /// bin count itself when an exhaustive search proved it minimal.
    pub lower_bound: u64,
    /// Which argument gives `lower_bound`.
    pub bound: Proof,
    /// True when the exact search finished and proved `bins.len()` minimal, even above the
    /// other lower bounds.
    pub search_complete: bool,
}

impl Packing {
    /// Number of bins used.
    pub fn bin_count(&self) -> u64 {
        self.bins.len() as u64
    }

    /// True when the packing is known to use the fewest bins possible.
    pub fn is_proven_optimal(&self) -> bool {
        self.proof().is_some()
    }

    /// The argument that proves the packing optimal, if any: the bin count meets
    /// `lower_bound`, established by `bound`.
    pub fn proof(&self) -> Option<Proof> {
        (self.bin_count() <= self.lower_bound).then_some(self.bound)
    }

    /// Sum of item sizes per bin.
    pub fn loads(&self, items: &[u64]) -> Vec<u128> {
        self.bins
            .iter()
            .map(|bin| bin.iter().map(|&i| u128::from(items[i])).sum())
            .collect()
    }
}

/// The best lower bound an algorithm established, and whether its exact search finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Certificate {
    /// The bound.
    pub(crate) lower: u64,
    /// Its argument.
    pub(crate) kind: Proof,
    /// True when an exhaustive search proved the packing's bin count minimal.
    pub(crate) complete: bool,
}

impl Certificate {
    /// The L2 bound every algorithm reports.
    pub(crate) fn l2(lower: u64) -> Self {
        Self {
            lower,
            kind: Proof::L2,
            complete: false,
        }
    }

    /// Keeps `lower` if it is stronger than the current bound.
    pub(crate) fn raise(&mut self, lower: u64, kind: Proof) {
        if lower > self.lower {
            self.lower = lower;
            self.kind = kind;
        }
    }

    /// True once `bins` meets the bound.
    pub(crate) fn meets(&self, bins: &Bins) -> bool {
        bins.len() as u64 <= self.lower
    }

    /// The packing result for `bins`.
    pub(crate) fn finish(mut self, algorithm: Algorithm, bins: Bins) -> Packing {
        let count = bins.len() as u64;
        if self.complete && count > self.lower {
            self.raise(count, Proof::Exact);
        }
        Packing {
            algorithm,
            bins,
            lower_bound: self.lower,
            bound: self.kind,
            search_complete: self.complete,
        }
    }
}
