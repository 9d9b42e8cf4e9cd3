//! Sorting by decreasing size in linear time: a stable least-significant-digit radix sort.
//!
//! Every offline heuristic and the L2 bound start by sorting the items; on a million items a
//! comparison sort is the largest single cost of first-fit decreasing, while two or three
//! radix passes over 11-bit digits take a fraction of it.

/// Below this many elements a comparison sort is as fast and needs no scratch buffer.
const RADIX_MIN: usize = 4096;

/// Bits per radix digit (2,048 buckets: the counts stay in the L1 cache).
const DIGIT_BITS: u32 = 11;

/// Sorts `v` by decreasing `size`, keeping the input order among equal sizes.
pub(crate) fn by_decreasing_size<T: Copy>(v: Vec<T>, size: impl Fn(&T) -> u64) -> Vec<T> {
    if v.len() < RADIX_MIN {
        let mut v = v;
        v.sort_by_key(|x| std::cmp::Reverse(size(x)));
        return v;
    }
    let max = v.iter().map(&size).max().unwrap_or(0);
    // Keys `max - size` order by decreasing size and need only as many bits as `max`.
    let key = |x: &T| max - size(x);
    let bits = u64::BITS - max.leading_zeros();
    let mask = (1u64 << DIGIT_BITS) - 1;
    let mut src = v;
    let mut dst = src.clone();
    let mut shift = 0;
    while shift < bits {
        let digit = |x: &T| ((key(x) >> shift) & mask) as usize;
        let mut starts = [0usize; 1 << DIGIT_BITS];
        src.iter().for_each(|x| starts[digit(x)] += 1);
        let mut sum = 0;
        for s in starts.iter_mut() {
            let count = *s;
            *s = sum;
            sum += count;
        }
        for x in &src {
            let d = digit(x);
            dst[starts[d]] = *x;
            starts[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
        shift += DIGIT_BITS;
    }
    src
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn radix_sort_matches_a_stable_comparison_sort() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (n, max) in [
            (10_000, 1_000_000u64),
            (20_000, 7),
            (5_000, u64::MAX),
            (100, 50),
        ] {
            let items: Vec<(usize, u64)> = (0..n).map(|i| (i, rng.random_range(0..=max))).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|&(i, s)| (std::cmp::Reverse(s), i));
            assert_eq!(
                by_decreasing_size(items, |&(_, s)| s),
                expected,
                "n={n} max={max}"
            );
        }
    }
}
