//! The pure vector-bin-packing problem: identical bins, item types with demand counts.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One item type: its size in every dimension and how many copies must be packed.
///
/// This is one line of a VPSolver `.vbp` file (`w_1 … w_d b`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorItem {
    /// Size per dimension; same length as [`VectorInstance::capacity`].
    pub size: Vec<u64>,
    /// Number of copies (the demand `b` of a `.vbp` file); zero is allowed and packs nothing.
    pub count: u64,
}

/// A vector-bin-packing instance: identical bins of capacity `capacity` (one entry per
/// dimension) and the item types to pack into as few of them as possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorInstance {
    /// Bin capacity per dimension. A zero entry is allowed; items must then be zero there.
    pub capacity: Vec<u64>,
    /// The item types.
    pub items: Vec<VectorItem>,
}

impl VectorInstance {
    /// The number of dimensions.
    pub fn dimensions(&self) -> usize {
        self.capacity.len()
    }

    /// The total number of item copies.
    pub fn item_count(&self) -> u64 {
        self.items
            .iter()
            .map(|t| t.count)
            .fold(0, u64::saturating_add)
    }

    /// Checks that every item type has one size per dimension and fits an empty bin.
    pub fn validate(&self) -> Result<()> {
        for (item, t) in self.items.iter().enumerate() {
            if t.size.len() != self.capacity.len() {
                return Err(Error::DimensionMismatch {
                    what: format!("item type {item}"),
                    expected: self.capacity.len(),
                    found: t.size.len(),
                });
            }
            for (dimension, (&size, &capacity)) in t.size.iter().zip(&self.capacity).enumerate() {
                if size > capacity {
                    return Err(Error::VectorItemTooLarge {
                        item,
                        dimension,
                        size,
                        capacity,
                    });
                }
            }
        }
        Ok(())
    }
}

/// A packing of a [`VectorInstance`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorPacking {
    /// One entry per bin: the item-type index of every copy in it (a type may repeat).
    pub bins: Vec<Vec<usize>>,
    /// A lower bound on the number of bins of any packing ([`lower_bound`]); a packing with
    /// `bins.len() == lower_bound` is optimal.
    pub lower_bound: u64,
}

impl VectorPacking {
    /// The number of bins used.
    pub fn bin_count(&self) -> usize {
        self.bins.len()
    }
}

/// The per-dimension continuous bound: `max over d of ceil(Σ count × size_d / capacity_d)`,
/// and at least 1 when there is any item copy.
///
/// Errors on malformed instances (see [`VectorInstance::validate`]).
pub fn lower_bound(instance: &VectorInstance) -> Result<u64> {
    instance.validate()?;
    let mut bound: u128 = u128::from(instance.item_count() > 0);
    for (d, &cap) in instance.capacity.iter().enumerate() {
        if cap == 0 {
            // Validation guarantees every item is zero here, so the dimension binds nothing.
            continue;
        }
        let total: u128 = instance
            .items
            .iter()
            .map(|t| u128::from(t.size[d]) * u128::from(t.count))
            .sum();
        bound = bound.max(total.div_ceil(u128::from(cap)));
    }
    Ok(u64::try_from(bound).unwrap_or(u64::MAX))
}
