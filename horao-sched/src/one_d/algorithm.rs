//! The [`Algorithm`] enum: names, parsing and the list of every 1-D algorithm.

use std::fmt;
use std::str::FromStr;

/// A one-dimensional packing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// Online: one open bin; a new one when the item does not fit. O(n).
    NextFit,
    /// Online: the lowest-numbered bin with room. O(n log n) with a tournament tree.
    FirstFit,
    /// Online: the fullest bin with room. O(n log n) with an ordered set.
    BestFit,
    /// Online: the emptiest bin if the item fits there. O(n log n) with a heap.
    WorstFit,
    /// First fit over the items sorted by decreasing size (≤ 11/9·OPT + 6/9).
    FirstFitDecreasing,
    /// Best fit over the items sorted by decreasing size.
    BestFitDecreasing,
    /// Online, bounded space: Harmonic-k (k from [`Config`](super::Config)).
    Harmonic,
    /// Online, bounded space: refined harmonic (pairs medium items with a share of smaller).
    RefinedHarmonic,
    /// Minimum bin slack MBS' (Fleszar & Hindi): fill bin after bin as full as possible.
    MinimumBinSlack,
    /// The improvement method: greedy and MBS' starts, then a local search that empties bins.
    LocalSearch,
    /// Branch and bound with a node limit; returns the best packing found if it stops early.
    Exact,
}

impl Algorithm {
    /// Every algorithm, cheapest first.
    pub const ALL: [Algorithm; 11] = [
        Algorithm::NextFit,
        Algorithm::FirstFit,
        Algorithm::BestFit,
        Algorithm::WorstFit,
        Algorithm::FirstFitDecreasing,
        Algorithm::BestFitDecreasing,
        Algorithm::Harmonic,
        Algorithm::RefinedHarmonic,
        Algorithm::MinimumBinSlack,
        Algorithm::LocalSearch,
        Algorithm::Exact,
    ];

    /// The algorithm that gets closest to the optimum within the default limits.
    pub const BEST: Algorithm = Algorithm::LocalSearch;

    /// The stable, lowercase name used on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::NextFit => "next-fit",
            Algorithm::FirstFit => "first-fit",
            Algorithm::BestFit => "best-fit",
            Algorithm::WorstFit => "worst-fit",
            Algorithm::FirstFitDecreasing => "ffd",
            Algorithm::BestFitDecreasing => "bfd",
            Algorithm::Harmonic => "harmonic",
            Algorithm::RefinedHarmonic => "refined-harmonic",
            Algorithm::MinimumBinSlack => "mbs",
            Algorithm::LocalSearch => "local-search",
            Algorithm::Exact => "exact",
        }
    }

    /// True for algorithms that see items one at a time in input order.
    pub fn is_online(self) -> bool {
        matches!(
            self,
            Algorithm::NextFit
                | Algorithm::FirstFit
                | Algorithm::BestFit
                | Algorithm::WorstFit
                | Algorithm::Harmonic
                | Algorithm::RefinedHarmonic
        )
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown algorithm name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlgorithm(pub String);

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        write!(
            f,
            "unknown algorithm {:?} (known: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Parses a name from [`Algorithm::name`], case-insensitively, with a few long aliases
    /// (`first-fit-decreasing`, `best-fit-decreasing`, `mbs-prime`, `branch-and-bound`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match lower.as_str() {
            "first-fit-decreasing" => Some(Algorithm::FirstFitDecreasing),
            "best-fit-decreasing" => Some(Algorithm::BestFitDecreasing),
            "mbs-prime" | "minimum-bin-slack" => Some(Algorithm::MinimumBinSlack),
            "branch-and-bound" => Some(Algorithm::Exact),
            "harmonic-k" => Some(Algorithm::Harmonic),
            _ => None,
        };
        alias
            .or_else(|| Algorithm::ALL.into_iter().find(|a| a.name() == lower))
            .ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}
