//! Bin packing and placement for HORAO: 1-D heuristics and exact search, lower bounds,
//! vector packing with constraints, incremental placement plans and claims over time.
//!
//! The crate is pure: it performs no I/O, reads no clock and uses randomness only through
//! an `&mut impl Rng` parameter, so every result is reproducible from its inputs and seed.

#![forbid(unsafe_code)]

pub mod error;

pub mod bounds;
pub mod check;
pub mod one_d;

pub mod placement;
mod sort;
pub mod timeline;
pub mod vector;

pub use error::{Error, Result};
