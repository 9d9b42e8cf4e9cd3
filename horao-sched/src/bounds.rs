//! Lower bounds on the number of bins: L1 (total size) and Martello–Toth L2.
//!
//! Every packing result carries the bound, so a result whose bin count equals it is proven
//! optimal without any further search.

use crate::Result;
use crate::check::check_input;

/// `ceil(a / b)` for `b > 0`.
fn div_ceil(a: u128, b: u128) -> u128 {
    a.div_ceil(b)
}

/// Saturating conversion for bounds, which can never exceed the item count in practice.
fn to_u64(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// The continuous bound L1 = ⌈Σ sizes / capacity⌉.
///
/// Errors on invalid input (zero capacity, an item larger than the capacity).
pub fn l1(items: &[u64], capacity: u64) -> Result<u64> {
    check_input(items, capacity)?;
    let sum: u128 = items.iter().map(|&s| u128::from(s)).sum();
    Ok(to_u64(div_ceil(sum, u128::from(capacity))))
}

/// The Martello–Toth bound L2, which dominates L1, in O(n log n).
///
/// For every threshold `K ≤ capacity/2` it counts the items too large to share a bin with an
/// item of size `K` or more (they need a bin each), adds the items larger than half a bin, and
/// spreads the remaining items of size at least `K` over the space those bins leave.
/// Errors on invalid input.
pub fn l2(items: &[u64], capacity: u64) -> Result<u64> {
    check_input(items, capacity)?;
    let c = u128::from(capacity);
    let mut sorted: Vec<u64> = items.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    // prefix[i] = sum of the i largest items.
    let mut prefix = Vec::with_capacity(sorted.len() + 1);
    prefix.push(0u128);
    for &s in &sorted {
        let last = prefix.last().copied().unwrap_or(0);
        prefix.push(last + u128::from(s));
    }
    // Number of items strictly larger than `x` (the sort is decreasing).
    let count_above = |x: u128| sorted.partition_point(|&s| u128::from(s) > x);
    // Number of items of size at least `x`.
    let count_at_least = |x: u128| sorted.partition_point(|&s| u128::from(s) >= x);
    let large = count_above(c / 2); // items with 2s > c are exactly those with s > c/2 (floor)
    let mut best = div_ceil(prefix[sorted.len()], c);
    let mut candidates: Vec<u64> = sorted
        .iter()
        .copied()
        .filter(|&s| 2 * u128::from(s) <= c)
        .collect();
    candidates.dedup();
    candidates.push(0);
    for k in candidates {
        let k = u128::from(k);
        let j1 = count_above(c - k);
        let j2 = large.max(j1) - j1;
        let j3_end = count_at_least(k.max(1)).max(large);
        let j3_sum = prefix[j3_end] - prefix[large];
        let j2_sum = prefix[large.max(j1)] - prefix[j1];
        let j2_free = (j2 as u128) * c - j2_sum;
        let extra = if j3_sum > j2_free {
            div_ceil(j3_sum - j2_free, c)
        } else {
            0
        };
        best = best.max(j1 as u128 + j2 as u128 + extra);
    }
    Ok(to_u64(best))
}

/// The best lower bound this module computes (currently L2, which dominates L1).
pub fn lower_bound(items: &[u64], capacity: u64) -> Result<u64> {
    l2(items, capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_rounds_up() {
        assert_eq!(l1(&[4, 4, 4], 10), Ok(2));
        assert_eq!(l1(&[5, 5], 10), Ok(1));
        assert_eq!(l1(&[], 10), Ok(0));
    }

    #[test]
    fn l2_counts_large_items_that_cannot_pair() {
        // Six items of size 6: no two share a bin, L1 says 4 but 6 bins are needed.
        assert_eq!(l1(&[6; 6], 10), Ok(4));
        assert_eq!(l2(&[6; 6], 10), Ok(6));
        // Items of 7 leave room 3 each; three items of 4 cannot use it.
        assert_eq!(l2(&[7, 7, 4, 4, 4], 10), Ok(4));
    }

    #[test]
    fn l2_with_zero_sized_items() {
        assert_eq!(l2(&[0, 0, 0], 10), Ok(0));
        assert_eq!(l2(&[0, 10], 10), Ok(1));
    }

    #[test]
    fn bounds_reject_invalid_input() {
        assert!(l1(&[11], 10).is_err());
        assert!(l2(&[1], 0).is_err());
    }
}
