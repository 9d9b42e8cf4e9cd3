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
    let sorted = crate::sort::by_decreasing_size(items.to_vec(), |&s| s);
    Ok(l2_sorted(&sorted, capacity))
}

/// L2 of items already sorted by decreasing size (and checked), in O(n): the thresholds are
/// visited in decreasing order, so both counts move monotonically and two cursors with running
/// sums replace binary searches and prefix sums.
pub(crate) fn l2_sorted(sorted: &[u64], capacity: u64) -> u64 {
    let c = u128::from(capacity);
    let size = |i: usize| u128::from(sorted[i]);
    let n = sorted.len();
    let total: u128 = sorted.iter().map(|&s| u128::from(s)).sum();
    // Items larger than half a bin (2s > c) come first; they need a bin each.
    let large = sorted.partition_point(|&s| 2 * u128::from(s) > c);
    let sum_large: u128 = (0..large).map(size).sum();
    let mut best = div_ceil(total, c);
    // For a threshold k ≤ c/2: j1 = items larger than c − k (a prefix of the large ones),
    // j3 = items of size at least max(k, 1) (the large ones and a prefix of the rest).
    let (mut j1, mut sum_j1) = (large, sum_large);
    let (mut j3, mut sum_j3) = (large, sum_large);
    let thresholds = (large..n)
        .map(size)
        .enumerate()
        .filter(|&(i, k)| i == 0 || size(large + i - 1) != k)
        .map(|(_, k)| k)
        .chain(std::iter::once(0));
    for k in thresholds {
        while j1 > 0 && size(j1 - 1) <= c - k {
            j1 -= 1;
            sum_j1 -= size(j1);
        }
        while j3 < n && size(j3) >= k.max(1) {
            sum_j3 += size(j3);
            j3 += 1;
        }
        // The j2 = large − j1 items that admit an item of size k leave this much room.
        let j2 = (large - j1) as u128;
        let j2_free = j2 * c - (sum_large - sum_j1);
        let j3_sum = sum_j3 - sum_large;
        let extra = if j3_sum > j2_free {
            div_ceil(j3_sum - j2_free, c)
        } else {
            0
        };
        best = best.max(large as u128 + extra);
    }
    to_u64(best)
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

    /// L2 straight from its definition, in O(n²): for every threshold k in {0} ∪ {sizes ≤ c/2},
    /// J1 = items > c − k, J2 = items in (c/2, c − k], J3 = items in [k, c/2];
    /// L(k) = |J1| + |J2| + max(0, ⌈(ΣJ3 − (|J2|·c − ΣJ2)) / c⌉).
    fn l2_by_definition(items: &[u64], c: u64) -> u64 {
        let c = u128::from(c);
        let mut best = div_ceil(items.iter().map(|&s| u128::from(s)).sum(), c);
        let thresholds = items.iter().map(|&s| u128::from(s)).filter(|&s| 2 * s <= c);
        for k in thresholds.chain([0]) {
            let sizes = items.iter().map(|&s| u128::from(s));
            let j1 = sizes.clone().filter(|&s| s > c - k).count() as u128;
            let j2: Vec<u128> = sizes.clone().filter(|&s| 2 * s > c && s <= c - k).collect();
            let j3: u128 = sizes.filter(|&s| 2 * s <= c && s >= k.max(1)).sum();
            let free = j2.len() as u128 * c - j2.iter().sum::<u128>();
            let extra = if j3 > free { div_ceil(j3 - free, c) } else { 0 };
            best = best.max(j1 + j2.len() as u128 + extra);
        }
        to_u64(best)
    }

    #[test]
    fn l2_matches_its_definition_on_random_instances() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for case in 0..500 {
            let c = rng.random_range(1..=200u64);
            let n = rng.random_range(0..60);
            let items: Vec<u64> = (0..n).map(|_| rng.random_range(0..=c)).collect();
            assert_eq!(
                l2(&items, c),
                Ok(l2_by_definition(&items, c)),
                "case {case}: {items:?} in {c}"
            );
        }
        // Large enough to take the radix-sort path.
        let items: Vec<u64> = (0..10_000).map(|_| rng.random_range(1..=1000)).collect();
        assert_eq!(l2(&items, 1000), Ok(l2_by_definition(&items, 1000)));
    }

    #[test]
    fn bounds_reject_invalid_input() {
        assert!(l1(&[11], 10).is_err());
        assert!(l2(&[1], 0).is_err());
    }
}
