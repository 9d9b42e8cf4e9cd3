//! Recurring shapes: where the items fill the lower bound's bins exactly, finds the ratio
//! that recurs between the two items completing the large items' bins, fixes the bins whose
//! large item has a single completion of that ratio, and leaves the rest to the search.
//!
//! Generated perfect packings often build most bins alike: in the AI instances of Delorme,
//! Iori and Martello, a large item is completed by two smaller ones whose sizes stand in
//! nearly one ratio (about 5 to 1). Among all the pairs that complete a large item exactly,
//! those of the generator's bins then crowd into one narrow band of ratios while the
//! accidental pairs spread over all of them. The band is read from the instance, never
//! assumed, and a split is only a guess: the caller keeps the whole search as its fallback.

use std::collections::BTreeMap;

use super::fit::Bins;

/// Buckets per octave of the ratio between a completion's two items (linear within the
/// octave: a bucket spans 2–3 % of the ratio).
const MANTISSA_BITS: u32 = 5;
/// Consecutive buckets that make one shape.
const WINDOW: u32 = 2;
/// A shape recurs when at least 1 / this of the large items have a completion of it.
const SHARE: usize = 2;
/// Fewest large items with a completion of the shape for it to count as recurring.
const MIN_RECURRING: usize = 8;
/// Most completions kept per item of the instance (the AI and ANI instances have 1.3 to 4.4).
const MAX_COMPLETIONS: usize = 16;

/// Bins fixed by the recurring shape and the items left for the search.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Split {
    /// Each bin holds a large item and its two completing items (indices into the input).
    pub(crate) fixed: Bins,
    /// The other items, in increasing index order.
    pub(crate) rest: Vec<usize>,
}

/// A pair of distinct-size indices (`larger`, `smaller`) into the small sizes completing one
/// large item, and the bucket of its ratio.
#[derive(Clone, Copy)]
struct Completion {
    bucket: u32,
    larger: usize,
    smaller: usize,
}

/// The bucket of the ratio `larger / smaller` (`larger ≥ smaller > 0`): the octave and the
/// next `MANTISSA_BITS` bits of the ratio in fixed point, so equal ratios share a bucket on
/// every machine.
fn bucket(larger: u64, smaller: u64) -> u32 {
    let ratio = (u128::from(larger) << 16) / u128::from(smaller);
    let octave = ratio.ilog2();
    let mantissa = (ratio >> (octave - MANTISSA_BITS)) & ((1 << MANTISSA_BITS) - 1);
    // Octaves reach 16 + 64 and the mantissa 31: the bucket fits a u32.
    octave * (1 << MANTISSA_BITS) + mantissa as u32
}

/// The distinct sizes of the items no larger than half the capacity, increasing, with the
/// indices of the items of each size.
fn small_types(items: &[u64], capacity: u64) -> (Vec<u64>, Vec<Vec<usize>>) {
    let mut by_size: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, &s) in items.iter().enumerate() {
        if 2 * u128::from(s) <= u128::from(capacity) {
            by_size.entry(s).or_default().push(i);
        }
    }
    by_size.into_iter().unzip()
}

/// Every pair of small types whose sizes sum to `room` (a pair of one type only where it has
/// two items), by a two-pointer scan of the increasing `sizes`. Pairs with an empty item are
/// left out: they have no ratio.
fn completions(room: u64, sizes: &[u64], members: &[Vec<usize>]) -> Vec<Completion> {
    let mut found = Vec::new();
    let (mut lo, mut hi) = (0, sizes.len());
    while hi > 0 && lo < hi {
        let sum = u128::from(sizes[lo]) + u128::from(sizes[hi - 1]);
        match sum.cmp(&u128::from(room)) {
            std::cmp::Ordering::Less => lo += 1,
            std::cmp::Ordering::Greater => hi -= 1,
            std::cmp::Ordering::Equal => {
                let pair = lo + 1 < hi || members[lo].len() >= 2;
                if pair && sizes[lo] > 0 {
                    found.push(Completion {
                        bucket: bucket(sizes[hi - 1], sizes[lo]),
                        larger: hi - 1,
                        smaller: lo,
                    });
                }
                lo += 1;
                hi -= 1;
            }
        }
    }
    found
}

/// The completions of each distinct size among the `large` items (many large items of one
/// size must not make their completions look like a shape), or `None` once they number
/// more than `MAX_COMPLETIONS` per item: a generated perfect packing has a few per large
/// item, and an instance of many small sizes that complete everything would only cost
/// memory.
fn by_large_size(
    items: &[u64],
    capacity: u64,
    large: &[usize],
    sizes: &[u64],
    members: &[Vec<usize>],
) -> Option<BTreeMap<u64, Vec<Completion>>> {
    let most = MAX_COMPLETIONS.saturating_mul(items.len());
    let mut stored = 0usize;
    let mut by_size = BTreeMap::new();
    for &i in large {
        if let std::collections::btree_map::Entry::Vacant(slot) = by_size.entry(items[i]) {
            let found = completions(capacity - items[i], sizes, members);
            stored += found.len();
            if stored > most {
                return None;
            }
            slot.insert(found);
        }
    }
    Some(by_size)
}

/// The first of `WINDOW` consecutive buckets that hold the most of `all` completions (the
/// lowest such start on ties), and how many they hold.
fn densest_window<'a>(all: impl Iterator<Item = &'a Vec<Completion>>) -> Option<(u32, usize)> {
    let mut histogram: BTreeMap<u32, usize> = BTreeMap::new();
    for c in all.flatten() {
        *histogram.entry(c.bucket).or_default() += 1;
    }
    let mut best: Option<(u32, usize)> = None;
    for &key in histogram.keys() {
        for start in key.saturating_sub(WINDOW - 1)..=key {
            let count = histogram
                .range(start..start + WINDOW)
                .map(|(_, &n)| n)
                .sum();
            if best.is_none_or(|(_, most)| count > most) {
                best = Some((start, count));
            }
        }
    }
    best
}

/// Whether `left` (items per small type) still holds the pair `c`.
fn available(c: &Completion, left: &[usize]) -> bool {
    if c.larger == c.smaller {
        left[c.larger] >= 2
    } else {
        left[c.larger] >= 1 && left[c.smaller] >= 1
    }
}

/// Splits `items` when they fill `target` bins of `capacity` exactly and a shape recurs:
/// the bins of the large items (over half the capacity) whose only remaining completion in
/// the recurring band is one pair are fixed, repeatedly, as earlier fixes use up the other
/// completions of the rest. A pair wanted by more large items than there are items of its
/// sizes is fixed for none of them. `None` when the sums differ, no shape recurs or nothing
/// is fixed.
pub(crate) fn split(items: &[u64], capacity: u64, target: u64) -> Option<Split> {
    let total: u128 = items.iter().map(|&s| u128::from(s)).sum();
    if total != u128::from(target) * u128::from(capacity) {
        return None;
    }
    let (sizes, mut members) = small_types(items, capacity);
    let large: Vec<usize> = (0..items.len())
        .filter(|&i| 2 * u128::from(items[i]) > u128::from(capacity))
        .collect();
    let by_size = by_large_size(items, capacity, &large, &sizes, &members)?;
    let (start, _) = densest_window(by_size.values())?;
    let all = large
        .iter()
        .map(|i| by_size.get(&items[*i]).cloned().unwrap_or_default());
    let band = start..start + WINDOW;
    let mut open: Vec<(usize, Vec<Completion>)> = large
        .iter()
        .zip(all)
        .map(|(&i, c)| {
            (
                i,
                c.into_iter().filter(|c| band.contains(&c.bucket)).collect(),
            )
        })
        .filter(|(_, c): &(usize, Vec<Completion>)| !c.is_empty())
        .collect();
    if open.len() < MIN_RECURRING || open.len() * SHARE < large.len() {
        return None;
    }
    let mut left: Vec<usize> = members.iter().map(Vec::len).collect();
    let mut chosen: Vec<(usize, Completion)> = Vec::new();
    loop {
        let single = |cands: &[Completion], left: &[usize]| {
            let mut live = cands.iter().filter(|c| available(c, left));
            match (live.next(), live.next()) {
                (Some(&c), None) => Some(c),
                _ => None,
            }
        };
        let mut demand = vec![0usize; left.len()];
        for (_, cands) in &open {
            if let Some(c) = single(cands, &left) {
                demand[c.larger] += 1;
                demand[c.smaller] += 1;
            }
        }
        let before = chosen.len();
        open.retain(|(i, cands)| match single(cands, &left) {
            Some(c)
                if demand[c.larger] <= left[c.larger] && demand[c.smaller] <= left[c.smaller] =>
            {
                chosen.push((*i, c));
                false
            }
            _ => true,
        });
        for (_, c) in &chosen[before..] {
            left[c.larger] -= 1;
            left[c.smaller] -= 1;
        }
        if chosen.len() == before {
            break;
        }
    }
    if chosen.is_empty() {
        return None;
    }
    let mut used = vec![false; items.len()];
    let fixed: Bins = chosen
        .into_iter()
        .map(|(i, c)| {
            // `left` counted these items out, so each type still has them.
            let a = members[c.larger].pop().unwrap_or(i);
            let b = members[c.smaller].pop().unwrap_or(i);
            for j in [i, a, b] {
                used[j] = true;
            }
            vec![i, a, b]
        })
        .collect();
    let rest = (0..items.len()).filter(|&i| !used[i]).collect();
    Some(Split { fixed, rest })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_ratio() {
        // One octave per doubling, 32 buckets within it.
        assert_eq!(bucket(1, 1), 16 * 32);
        assert_eq!(bucket(2, 1), 17 * 32);
        assert_eq!(bucket(5, 1), 18 * 32 + 8);
        assert_eq!(bucket(500, 100), bucket(5, 1));
        assert!(bucket(51, 10) == bucket(5, 1) && bucket(52, 10) > bucket(5, 1));
        assert_eq!(bucket(u64::MAX, 1), 79 * 32 + 31);
    }

    #[test]
    fn completions_are_every_exact_pair() {
        let items = [10, 20, 30, 30, 40, 50, 0, 60];
        let (sizes, members) = small_types(&items, 120);
        assert_eq!(sizes, [0, 10, 20, 30, 40, 50, 60]);
        let pairs = |room| -> Vec<(u64, u64)> {
            completions(room, &sizes, &members)
                .iter()
                .map(|c| (sizes[c.larger], sizes[c.smaller]))
                .collect()
        };
        assert_eq!(pairs(60), [(50, 10), (40, 20), (30, 30)]);
        assert_eq!(pairs(50), [(40, 10), (30, 20)]);
        // 40 = 40 + 0 has no ratio; one item of 20 is no pair.
        assert_eq!(pairs(40), [(30, 10)]);
        assert_eq!(pairs(200), []);
    }

    /// Bins of a large item and two items in ratio 5 : 1 (plus `odd` bins of other shapes),
    /// all of capacity 1,000, sizes listed bin after bin.
    pub(crate) fn planted(bins: u64, odd: &[[u64; 3]]) -> Vec<u64> {
        let mut items = Vec::new();
        for k in 0..bins {
            let small = 40 + 2 * k;
            items.extend([1_000 - 6 * small - 1, 5 * small + 1, small]);
        }
        for bin in odd {
            items.extend(bin);
        }
        items
    }

    #[test]
    fn fixes_the_bins_of_the_recurring_shape() {
        let odd = [[600, 200, 200], [700, 150, 150]];
        let items = planted(12, &odd);
        let target = 14;
        let split = split(&items, 1_000, target).expect("a shape recurs");
        assert_eq!(split.fixed.len(), 12);
        for bin in &split.fixed {
            let sizes: Vec<u64> = bin.iter().map(|&i| items[i]).collect();
            assert_eq!(sizes.iter().sum::<u64>(), 1_000, "{sizes:?}");
            assert!(
                sizes[1] > 4 * sizes[2] && sizes[1] < 6 * sizes[2],
                "{sizes:?}"
            );
        }
        let mut all: Vec<usize> = split.fixed.concat();
        all.extend(&split.rest);
        all.sort_unstable();
        assert_eq!(all, (0..items.len()).collect::<Vec<_>>());
        let rest: Vec<u64> = split.rest.iter().map(|&i| items[i]).collect();
        assert_eq!(rest.iter().sum::<u64>(), 2_000);
    }

    /// `n` bins of a large item of 600 completed by two even items in `n` different ratios
    /// (even sums, so they complete no planted bin, whose room is odd).
    fn assorted(n: u64) -> Vec<[u64; 3]> {
        (0..n).map(|j| [600, 300 - 8 * j, 100 + 8 * j]).collect()
    }

    #[test]
    fn needs_exact_fills_and_a_recurring_shape() {
        let items = planted(12, &[]);
        assert!(split(&items, 1_000, 12).is_some());
        // The items do not fill 13 bins.
        assert_eq!(split(&items, 1_000, 13), None);
        // Too few large items share a shape.
        assert_eq!(split(&planted(7, &[]), 1_000, 7), None);
        // Half the large items complete in other shapes: still a shape; more: none.
        let split_with = |n| split(&planted(12, &assorted(n)), 1_000, 12 + n);
        assert_eq!(split_with(12).map(|s| s.fixed.len()), Some(12));
        assert_eq!(split_with(13), None);
    }

    #[test]
    fn completions_are_kept_per_large_size_and_within_bounds() {
        let count = |items: &[u64]| {
            let (sizes, members) = small_types(items, 1_000);
            let large: Vec<usize> = (0..items.len()).filter(|&i| items[i] > 500).collect();
            by_large_size(items, 1_000, &large, &sizes, &members)
                .map(|m| (m.len(), m.values().map(Vec::len).sum::<usize>()))
        };
        // Twelve planted large sizes; twelve copies of a thirteenth with one completion,
        // (200, 200), count once.
        let Some((12, planted_pairs)) = count(&planted(12, &[])) else {
            panic!("twelve large sizes");
        };
        let mut items = planted(12, &[]);
        items.extend([600; 12]);
        items.extend([200; 24]);
        assert_eq!(count(&items), Some((13, planted_pairs + 1)));
        // Every size from 1 to 400 completes every large item from 501 to 600 in up to 199
        // ways: about 15,000 completions for 501 items, over the bound.
        // With 750 they sum to 136 bins exactly.
        let dense: Vec<u64> = (1..=400).chain(501..=600).chain([750]).collect();
        assert_eq!(dense.iter().sum::<u64>(), 136_000);
        assert_eq!(count(&dense), None);
        assert_eq!(split(&dense, 1_000, 136), None);
    }

    #[test]
    fn a_pair_wanted_by_two_large_items_is_fixed_for_neither() {
        // Two large items of 620 whose only 5 : 1 completion is the single pair (317, 63).
        let mut items = planted(10, &[]);
        items.extend([620, 620, 317, 63, 200, 180]);
        let split = split(&items, 1_000, 12).expect("a shape recurs");
        assert_eq!(split.fixed.len(), 10);
        assert_eq!(split.rest, (30..36).collect::<Vec<_>>());
    }
}
