//! The value types of the timeline: claims, their ids and kinds, and the answer of a fit test.

use serde::{Deserialize, Serialize};

/// The handle of a claim in one [`crate::timeline::Timeline`], used to remove it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimId(pub u64);

/// What a claim is. Both kinds count against the capacity the same way; the kind is kept for
/// the caller's reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimKind {
    /// Capacity promised to someone.
    Reservation,
    /// Capacity taken away (devices down for maintenance).
    Maintenance,
}

/// An amount per dimension held over the half-open window `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Reservation or maintenance.
    pub kind: ClaimKind,
    /// The amount per dimension (demand, or capacity removed).
    pub amount: Vec<u64>,
    /// First instant of the window.
    pub start: u64,
    /// First instant after the window.
    pub end: u64,
}

/// Whether a demand fits a window, and if not, where it first breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fit", rename_all = "kebab-case")]
pub enum Fit {
    /// The demand fits throughout the window.
    Fits,
    /// The demand does not fit: at time `at` (the earliest such instant in the window),
    /// dimension `dimension` (the first one that overflows then) has only `available` free
    /// and the demand needs `needed`.
    Overflow {
        /// The dimension that overflows.
        dimension: usize,
        /// The earliest instant in the window at which it overflows.
        at: u64,
        /// The demand in that dimension.
        needed: u64,
        /// What is free in that dimension at `at`.
        available: u64,
    },
}

impl Fit {
    /// True for [`Fit::Fits`].
    pub fn is_fit(&self) -> bool {
        matches!(self, Self::Fits)
    }
}
