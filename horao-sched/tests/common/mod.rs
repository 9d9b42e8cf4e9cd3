//! Instance generators shared by the integration tests (each test binary that needs one
//! declares `mod common;`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `bins` bins of capacity 1000, each filled exactly by three items in (250, 500), shuffled:
/// the structure of the Falkenauer triplet instances (every bin of an optimum is full).
pub(crate) fn falkenauer_triplets(bins: usize, seed: u64) -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut items = Vec::with_capacity(3 * bins);
    while items.len() < 3 * bins {
        let a = rng.random_range(380u64..=490);
        let b = rng.random_range(255u64..=(1000 - a - 251).min(495));
        let c = 1000 - a - b;
        if (251..=499).contains(&c) {
            items.extend([a, b, c]);
        }
    }
    for i in (1..items.len()).rev() {
        items.swap(i, rng.random_range(0..=i));
    }
    items
}
