//! Claims over time: does a reservation fit into `[start, end)` given the capacity, the other
//! reservations and the maintenance windows, and what is the earliest start where it fits?
//!
//! Time is a plain `u64` (seconds, or any unit) passed in by the caller; the crate reads no
//! clock. A [`Timeline`] holds the capacity per dimension and a set of [`Claim`]s, each an
//! amount per dimension over a half-open window: reservations use capacity, maintenance
//! windows remove it, and both simply count against the capacity while they last.
//!
//! The claims are kept as net usage changes at their start and end instants, in a crit-bit
//! tree keyed by instant whose nodes carry per-dimension sums and largest prefix sums. Adding
//! or removing a claim updates it in place in O(log n · d) (never deeper than 64 levels,
//! whatever the instants), so nothing is rebuilt between a change and the next query;
//! [`Timeline::fits`] costs O(log n · d) and [`Timeline::earliest_start`]
//! O((1 + b) · log n · d), where `b` is the number of blocked stretches it has to jump over.
//! Nothing scans time unit by unit. [`Timeline::add_all`] builds the tree bottom-up from many
//! claims at once, and [`Timeline::what_if`] answers `fits` as if some claims were set aside
//! or added, without changing the timeline.
//!
//! ```
//! use horao_sched::timeline::{Fit, Timeline};
//!
//! let mut t = Timeline::new(vec![10]);
//! t.add_reservation(vec![6], 0, 100).unwrap();
//! t.add_maintenance(vec![10], 200, 300).unwrap(); // the whole capacity is down
//! assert!(t.fits(&[4], 0, 100).unwrap().is_fit());
//! assert_eq!(
//!     t.fits(&[5], 50, 150).unwrap(),
//!     Fit::Overflow { dimension: 0, at: 50, needed: 5, available: 4 }
//! );
//! // Five units for 120 seconds: blocked until 100, then until 300 by the maintenance.
//! assert_eq!(t.earliest_start(&[5], 120, 0, 1_000).unwrap(), Some(300));
//! ```

mod query;
mod store;
mod tree;
mod types;
mod what_if;

pub use store::Timeline;
pub use types::{Claim, ClaimId, ClaimKind, Fit};
pub use what_if::WhatIf;
