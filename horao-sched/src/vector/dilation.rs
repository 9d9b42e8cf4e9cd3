//! Volume dilation: the headroom reserved on top of an item's nominal size.

use serde::{Deserialize, Serialize};

/// Basis points in one whole (100 %).
const ONE: u128 = 10_000;

/// Headroom reserved on top of a demand, in basis points (1/100 of a percent): a dilation of
/// 2,500 reserves `size × 1.25`.
///
/// The reserved size is computed exactly in integer arithmetic as
/// `size + ceil(size × basis_points / 10_000)` in 128 bits, so it never overflows internally,
/// never rounds the headroom down, and a dilation of zero reserves exactly `size`. A result that
/// does not fit in a `u64` is reported as `None` (the placement API turns that into an invalid
/// request rather than wrapping around).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Dilation {
    /// Headroom in basis points: 100 = 1 %, 10,000 = 100 %.
    pub basis_points: u32,
}

impl Dilation {
    /// No headroom: the reserved size equals the nominal size.
    pub const NONE: Self = Self { basis_points: 0 };

    /// A dilation given in basis points (1/100 of a percent).
    pub const fn from_basis_points(basis_points: u32) -> Self {
        Self { basis_points }
    }

    /// A dilation given in whole percent (saturating at `u32::MAX` basis points).
    pub const fn from_percent(percent: u32) -> Self {
        Self {
            basis_points: percent.saturating_mul(100),
        }
    }

    /// The reserved size `size × (1 + dilation)`, rounded up; `None` if it exceeds `u64::MAX`.
    pub fn apply(self, size: u64) -> Option<u64> {
        let size = u128::from(size);
        let extra = (size * u128::from(self.basis_points)).div_ceil(ONE);
        u64::try_from(size + extra).ok()
    }

    /// Applies the dilation to every entry of a demand vector; on overflow returns the index
    /// of the first dimension that overflowed.
    pub fn apply_all(self, demand: &[u64]) -> Result<Vec<u64>, usize> {
        demand
            .iter()
            .enumerate()
            .map(|(i, &s)| self.apply(s).ok_or(i))
            .collect()
    }
}
