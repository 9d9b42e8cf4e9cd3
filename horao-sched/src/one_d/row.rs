//! One row of the knapsack's dynamic-programming table: a piece of weight w and gain g taken
//! into the best values by capacity, best[c] = max(best[c], best[c − w] + g), with a bit per
//! capacity recording where the piece was taken.
//!
//! The row is computed two ways with the same integers, so the same table whatever the
//! processor: cell by cell from the top (a branch per cell), or, where the processor has
//! 512-bit vectors, 64 cells at a time, whose comparisons give the word of bits directly.
//! Each block reads the values below it before anything under them is written, as the cell
//! by cell update does, so both compute the row from the values before it.
//!
//! The wide path is compiled for AVX-512 by `multiversion` (runtime dispatch needs `unsafe`,
//! which the macro keeps out of this crate's code) and taken only when the processor has
//! it. With 256-bit vectors or none the blocks were no faster than the branch per cell
//! (a standalone timing of both on tables like Scholl_3's, not kept), so every other
//! processor runs the cells one by one. On the literature set the blocks took Scholl_3 from
//! 9.8 s to 2.7 s (docs/PERFORMANCE.md).

/// Cells per block of the wide path, one word of bits.
const BLOCK: usize = 64;

/// Takes the piece (`weight`, `gain`) into `best` (values by capacity, a multiple of 64
/// long) for every capacity from `weight` up, setting the bit of `taken` (one bit per
/// capacity) where it improves the value: by blocks where this runs compiled for AVX-512,
/// cell by cell elsewhere.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2+bmi1+bmi2"))]
pub(crate) fn take(best: &mut [u64], taken: &mut [u64], weight: usize, gain: u64) {
    debug_assert_eq!(best.len() % BLOCK, 0);
    if multiversion::target::target_cfg_f!(target_feature = "avx512bw") {
        by_blocks(best, taken, weight, gain);
    } else {
        by_cells(best, taken, weight, gain, best.len());
    }
}

/// The row cell by cell from capacity `below` − 1 down to `weight`.
#[inline(always)]
fn by_cells(best: &mut [u64], taken: &mut [u64], weight: usize, gain: u64, below: usize) {
    for c in (weight..below).rev() {
        let with = best[c - weight].saturating_add(gain);
        if with > best[c] {
            best[c] = with;
            taken[c / BLOCK] |= 1 << (c % BLOCK);
        }
    }
}

/// The row by blocks of 64 cells from the top, then cell by cell below the lowest block that
/// lies wholly at or above `weight`.
#[inline(always)]
fn by_blocks(best: &mut [u64], taken: &mut [u64], weight: usize, gain: u64) {
    let words = best.len() / BLOCK;
    let first = weight.div_ceil(BLOCK);
    for word in (first..words).rev() {
        let start = word * BLOCK;
        let mut below = [0u64; BLOCK];
        below.copy_from_slice(&best[start - weight..start - weight + BLOCK]);
        taken[word] |= block(&below, &mut best[start..start + BLOCK], gain);
    }
    by_cells(best, taken, weight, gain, (first * BLOCK).min(best.len()));
}

/// One block: `cells` take `below` + `gain` where that is larger; the bits of those cells.
#[inline(always)]
fn block(below: &[u64; BLOCK], cells: &mut [u64], gain: u64) -> u64 {
    let mut bits = 0u64;
    for (k, (cell, &under)) in cells.iter_mut().zip(below).enumerate() {
        let with = under.saturating_add(gain);
        let better = with > *cell;
        if better {
            *cell = with;
        }
        bits |= u64::from(better) << k;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Both paths give the same values and bits as the cell-by-cell row, on random rows of
    /// every weight relative to the block (below, at and above 64, past the end), gains that
    /// saturate, and tables of one to many blocks.
    #[test]
    fn blocks_and_cells_compute_the_same_row() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut compared, mut bits) = (0, 0);
        for case in 0..400 {
            let words = rng.random_range(1..=12);
            let width = words * BLOCK;
            let mut best: Vec<u64> = (0..width).map(|_| rng.random_range(0..1_000)).collect();
            if case % 7 == 0 {
                best[rng.random_range(0..width)] = u64::MAX - 3;
            }
            let mut expected = (best.clone(), vec![0u64; words]);
            let mut wide = (best.clone(), vec![0u64; words]);
            let mut dispatched = (best, vec![0u64; words]);
            for _ in 0..6 {
                let weight = match rng.random_range(0..4) {
                    0 => rng.random_range(0..BLOCK),
                    1 => BLOCK * rng.random_range(0..=words),
                    _ => rng.random_range(0..width + 70),
                };
                let gain = if case % 5 == 0 {
                    u64::MAX - rng.random_range(0..10)
                } else {
                    rng.random_range(0..400)
                };
                by_cells(&mut expected.0, &mut expected.1, weight, gain, width);
                by_blocks(&mut wide.0, &mut wide.1, weight, gain);
                take(&mut dispatched.0, &mut dispatched.1, weight, gain);
                assert_eq!(wide, expected, "case {case} weight {weight}");
                assert_eq!(dispatched, expected, "case {case} weight {weight}");
                compared += 1;
            }
            bits += expected.1.iter().map(|w| w.count_ones()).sum::<u32>();
        }
        assert!(compared >= 2_400, "{compared}");
        assert!(bits > 10_000, "{bits}");
    }
}
