//! Vector-packing heuristics for identical bins: FFD by sum and by product, dot-product and
//! L2-norm greedy, all with sizes normalised by the bin capacity.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::instance::{VectorInstance, VectorPacking, lower_bound};
use super::kernel::{dot, fits, inverse_scale, l2_gap, normalized_product, normalized_sum, take};
use crate::Result;

/// A vector-packing heuristic. Sizes are normalised per dimension by the bin capacity (by the
/// largest machine capacity in [`crate::placement`]), so no single resource dominates the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Heuristic {
    /// First fit decreasing, items ordered by the sum of their normalised sizes.
    #[default]
    FfdSum,
    /// First fit decreasing, items ordered by the product of their normalised sizes.
    FfdProduct,
    /// Greedy: fill the open bin with the item whose size vector has the largest dot product
    /// with the bin's free space (Panigrahy et al.'s DotProduct).
    DotProduct,
    /// Greedy: fill the open bin with the item that leaves the smallest L2 norm of free space
    /// (Panigrahy et al.'s norm-based greedy).
    L2Norm,
}

impl Heuristic {
    /// Every heuristic, in a fixed order.
    pub const ALL: [Self; 4] = [
        Self::FfdSum,
        Self::FfdProduct,
        Self::DotProduct,
        Self::L2Norm,
    ];

    /// The short name used on command lines and in reports ("ffd-sum", "dot-product", ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::FfdSum => "ffd-sum",
            Self::FfdProduct => "ffd-product",
            Self::DotProduct => "dot-product",
            Self::L2Norm => "l2-norm",
        }
    }
}

impl fmt::Display for Heuristic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Heuristic {
    type Err = String;

    /// Parses a [`Heuristic::name`].
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| format!("unknown vector heuristic {s:?}"))
    }
}

/// Packs every copy of every item type into as few identical bins as the heuristic manages.
///
/// The result lists, per bin, the item-type index of each copy, and carries [`lower_bound`].
/// Deterministic: ties are broken by item-type index. Errors only on malformed instances
/// (a size vector of the wrong length, an item larger than the bin).
pub fn pack(instance: &VectorInstance, heuristic: Heuristic) -> Result<VectorPacking> {
    let lower_bound = lower_bound(instance)?;
    let bins = match heuristic {
        Heuristic::FfdSum => first_fit_decreasing(instance, |s, w| (normalized_sum(s, w), 0.0)),
        // Ties in the product (items with a zero dimension) are ordered by the sum.
        Heuristic::FfdProduct => first_fit_decreasing(instance, |s, w| {
            (normalized_product(s, w), normalized_sum(s, w))
        }),
        Heuristic::DotProduct => bin_centric(instance, dot),
        Heuristic::L2Norm => bin_centric(instance, |s, r, w| -l2_gap(s, r, w)),
    };
    Ok(VectorPacking { bins, lower_bound })
}

/// First fit over item types sorted by decreasing `key`. Copies of one type are placed in a
/// row, and each copy's search starts at the bin that took the previous copy: earlier bins
/// already failed to fit that size and only get fuller.
fn first_fit_decreasing(
    instance: &VectorInstance,
    key: fn(&[u64], &[f64]) -> (f64, f64),
) -> Vec<Vec<usize>> {
    let d = instance.dimensions();
    let inv = inverse_scale(&instance.capacity);
    let keys: Vec<(f64, f64)> = instance.items.iter().map(|t| key(&t.size, &inv)).collect();
    let mut order: Vec<usize> = (0..instance.items.len())
        .filter(|&t| instance.items[t].count > 0)
        .collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (keys[a], keys[b]);
        kb.0.total_cmp(&ka.0)
            .then(kb.1.total_cmp(&ka.1))
            .then(a.cmp(&b))
    });

    // Residual capacities of all bins, flattened with stride `d` for cache-friendly scans.
    let mut residual: Vec<u64> = Vec::new();
    let mut bins: Vec<Vec<usize>> = Vec::new();
    for t in order {
        let size = &instance.items[t].size;
        let mut from = 0;
        for _ in 0..instance.items[t].count {
            let found = (from..bins.len()).find(|&b| fits(size, &residual[b * d..(b + 1) * d]));
            let b = match found {
                Some(b) => b,
                None => {
                    residual.extend_from_slice(&instance.capacity);
                    bins.push(Vec::new());
                    bins.len() - 1
                }
            };
            take(&mut residual[b * d..(b + 1) * d], size);
            bins[b].push(t);
            from = b;
        }
    }
    bins
}

/// Bin-centric greedy: open one bin, repeatedly add the fitting item type with the highest
/// `score(size, free, inverse_capacity)` until none fits, then open the next bin.
fn bin_centric(
    instance: &VectorInstance,
    score: fn(&[u64], &[u64], &[f64]) -> f64,
) -> Vec<Vec<usize>> {
    let inv = inverse_scale(&instance.capacity);
    let mut remaining: Vec<u64> = instance.items.iter().map(|t| t.count).collect();
    let mut alive: Vec<usize> = (0..remaining.len()).filter(|&t| remaining[t] > 0).collect();
    let mut bins = Vec::new();
    while !alive.is_empty() {
        let mut free = instance.capacity.clone();
        let mut items = Vec::new();
        // Types that no longer fit stay out for the rest of this bin: it only gets fuller.
        let mut candidates = alive.clone();
        loop {
            let mut best: Option<(usize, f64)> = None;
            candidates.retain(|&t| {
                let size = &instance.items[t].size;
                if remaining[t] == 0 || !fits(size, &free) {
                    return false;
                }
                let s = score(size, &free, &inv);
                if best.is_none_or(|(_, b)| s > b) {
                    best = Some((t, s));
                }
                true
            });
            let Some((t, _)) = best else { break };
            take(&mut free, &instance.items[t].size);
            items.push(t);
            remaining[t] -= 1;
        }
        alive.retain(|&t| remaining[t] > 0);
        bins.push(items);
    }
    bins
}
