//! An independent validity check for vector packings, sharing no code with the heuristics.

use serde::{Deserialize, Serialize};

use super::instance::{VectorInstance, VectorPacking};

/// Why a [`VectorPacking`] is not a valid packing of its [`VectorInstance`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Violation {
    /// The instance itself is malformed (wrong vector length or an item larger than a bin).
    #[error("malformed instance: {0}")]
    Instance(String),
    /// A bin names an item type that does not exist.
    #[error("bin {bin} holds unknown item type {item}")]
    UnknownItem {
        /// The bin.
        bin: usize,
        /// The out-of-range item-type index.
        item: usize,
    },
    /// A bin holds no item.
    #[error("bin {bin} is empty")]
    EmptyBin {
        /// The bin.
        bin: usize,
    },
    /// A bin's load exceeds the capacity in one dimension.
    #[error("bin {bin} holds {load} in dimension {dimension}, capacity {capacity}")]
    Overflow {
        /// The bin.
        bin: usize,
        /// The dimension.
        dimension: usize,
        /// The bin's total size in that dimension.
        load: u128,
        /// The capacity in that dimension.
        capacity: u64,
    },
    /// An item type is packed a different number of times than its count.
    #[error("item type {item} is packed {packed} times, its count is {count}")]
    WrongCount {
        /// The item type.
        item: usize,
        /// Copies found in the packing.
        packed: u64,
        /// Copies required.
        count: u64,
    },
    /// The packing uses fewer bins than its own lower bound, so the bound is wrong.
    #[error("{bins} bins is below the claimed lower bound {lower_bound}")]
    BelowLowerBound {
        /// Bins used.
        bins: usize,
        /// The claimed bound.
        lower_bound: u64,
    },
}

/// Verifies that `packing` packs every copy of every item type exactly once, into non-empty
/// bins that respect the capacity in every dimension, and that its lower bound is not above
/// its bin count. Loads are summed in 128 bits, so no input can overflow the check.
pub fn check_packing(instance: &VectorInstance, packing: &VectorPacking) -> Result<(), Violation> {
    instance
        .validate()
        .map_err(|e| Violation::Instance(e.to_string()))?;
    let d = instance.capacity.len();
    let mut packed = vec![0u64; instance.items.len()];
    for (bin, content) in packing.bins.iter().enumerate() {
        if content.is_empty() {
            return Err(Violation::EmptyBin { bin });
        }
        let mut load = vec![0u128; d];
        for &item in content {
            let Some(t) = instance.items.get(item) else {
                return Err(Violation::UnknownItem { bin, item });
            };
            packed[item] += 1;
            for (l, &s) in load.iter_mut().zip(&t.size) {
                *l += u128::from(s);
            }
        }
        for (dimension, (&load, &capacity)) in load.iter().zip(&instance.capacity).enumerate() {
            if load > u128::from(capacity) {
                return Err(Violation::Overflow {
                    bin,
                    dimension,
                    load,
                    capacity,
                });
            }
        }
    }
    for (item, (t, &packed)) in instance.items.iter().zip(&packed).enumerate() {
        if packed != t.count {
            return Err(Violation::WrongCount {
                item,
                packed,
                count: t.count,
            });
        }
    }
    if (packing.bins.len() as u64) < packing.lower_bound {
        return Err(Violation::BelowLowerBound {
            bins: packing.bins.len(),
            lower_bound: packing.lower_bound,
        });
    }
    Ok(())
}
