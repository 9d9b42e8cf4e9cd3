//! Unit tests of the 1-D algorithms on tiny hand-checked cases.

use super::*;
use crate::check::check_packing;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn run(items: &[u64], capacity: u64, algorithm: Algorithm) -> Packing {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let packing = pack(items, capacity, algorithm, &mut rng);
    assert!(packing.is_ok(), "{algorithm}: {packing:?}");
    let packing = packing.unwrap_or_else(|_| unreachable!());
    assert_eq!(
        check_packing(items, capacity, &packing.bins),
        Ok(()),
        "{algorithm}"
    );
    packing
}

#[test]
fn next_fit_never_looks_back() {
    // 6 | 5,5 | 4: next fit cannot put the 4 back next to the 6, first fit does.
    let p = run(&[6, 5, 5, 4], 10, Algorithm::NextFit);
    assert_eq!(p.bins, vec![vec![0], vec![1, 2], vec![3]]);
    let p = run(&[6, 5, 5, 4], 10, Algorithm::FirstFit);
    assert_eq!(p.bins, vec![vec![0, 3], vec![1, 2]]);
}

#[test]
fn first_best_worst_fit_differ_as_documented() {
    let items = [5, 7, 3, 2];
    assert_eq!(
        run(&items, 10, Algorithm::FirstFit).bins,
        vec![vec![0, 2, 3], vec![1]]
    );
    assert_eq!(
        run(&items, 10, Algorithm::BestFit).bins,
        vec![vec![0, 3], vec![1, 2]]
    );
    assert_eq!(
        run(&items, 10, Algorithm::WorstFit).bins,
        vec![vec![0, 2], vec![1, 3]]
    );
}

#[test]
fn decreasing_variants_sort_first() {
    let p = run(&[2, 5, 3, 5, 5], 10, Algorithm::FirstFitDecreasing);
    assert_eq!(p.bins, vec![vec![1, 3], vec![4, 2, 0]]);
    assert!(p.is_proven_optimal());
}

#[test]
fn harmonic_keeps_classes_apart() {
    // 6 (class 1) and 4 (class 2) would fit together, but harmonic keeps them apart.
    let p = run(&[6, 4], 10, Algorithm::Harmonic);
    assert_eq!(p.bins.len(), 2);
    let p = run(&[3, 3, 3, 3], 10, Algorithm::Harmonic);
    assert_eq!(p.bins, vec![vec![0, 1, 2], vec![3]]);
}

#[test]
fn harmonic_takes_a_huge_class_count_as_its_largest() {
    // Items of 1 to 200 in bins of 1,000,000: classes 5,000 to 1,000,000 without the cap.
    let items: Vec<u64> = (1..=200).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let with = |k: usize, rng: &mut ChaCha8Rng| {
        let config = Config {
            harmonic_k: k,
            ..Config::default()
        };
        pack_with(&items, 1_000_000, Algorithm::Harmonic, &config, rng)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let huge = with(usize::MAX, &mut rng);
    assert_eq!(huge.bins, with(1 << 16, &mut rng).bins);
    // Sizes 1 to 15 (1,000,000 / size at least 65,536: the last class) share one bin; every
    // larger size is a class of its own.
    assert!(
        huge.bins.contains(&(0..15).collect::<Vec<usize>>()),
        "{:?}",
        huge.bins
    );
    assert_eq!(huge.bins.len(), 186);
    assert!(check_packing(&items, 1_000_000, &huge.bins).is_ok());
}

#[test]
fn refined_harmonic_pairs_medium_items() {
    // Six B items (in (1/3, 37/96]) pair up; the seventh waits for an A item.
    let mut items = vec![35; 7];
    items.push(55);
    let p = run(&items, 96, Algorithm::RefinedHarmonic);
    assert_eq!(p.bins.len(), 4);
    assert!(p.bins.contains(&vec![6, 7]));
}

#[test]
fn local_search_and_exact_find_a_triplet_optimum() {
    // Three bins filled exactly by triplets, shuffled so that FFD needs four.
    let items = [45, 30, 25, 44, 29, 27, 43, 33, 24];
    let ffd = run(&items, 100, Algorithm::FirstFitDecreasing);
    assert_eq!(ffd.bin_count(), 4);
    assert_eq!(run(&items, 100, Algorithm::LocalSearch).bin_count(), 3);
    let exact = run(&items, 100, Algorithm::Exact);
    assert_eq!(exact.bin_count(), 3);
    assert!(exact.is_proven_optimal());
}

#[test]
fn exact_proves_optimum_above_the_bound() {
    // Five items of 4 in bins of 10: L2 = 2, but only two fit per bin, so 3 are needed; the
    // dual-feasible-function bound proves it before any search.
    let p = run(&[4, 4, 4, 4, 4], 10, Algorithm::Exact);
    assert_eq!((p.lower_bound, p.bound), (3, Proof::Dff));
    assert_eq!(p.bin_count(), 3);
    assert_eq!(p.proof(), Some(Proof::Dff));
    // Four pairs 6 + 5 fill four bins of 11: proven by a bound.
    let q = run(&[6, 6, 6, 6, 5, 5, 5, 5], 11, Algorithm::Exact);
    assert_eq!(q.bin_count(), 4);
    assert!(q.is_proven_optimal());
}

#[test]
fn rejects_invalid_input_for_every_algorithm() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for algorithm in Algorithm::ALL {
        assert_eq!(
            pack(&[1], 0, algorithm, &mut rng),
            Err(crate::Error::ZeroCapacity)
        );
        assert!(matches!(
            pack(&[3, 12], 10, algorithm, &mut rng),
            Err(crate::Error::ItemTooLarge { index: 1, .. })
        ));
        assert_eq!(run(&[], 10, algorithm).bins.len(), 0);
    }
}

#[test]
fn names_round_trip() {
    for algorithm in Algorithm::ALL {
        assert_eq!(algorithm.name().parse::<Algorithm>(), Ok(algorithm));
    }
    assert_eq!(
        "FFD".parse::<Algorithm>(),
        Ok(Algorithm::FirstFitDecreasing)
    );
    assert!("nope".parse::<Algorithm>().is_err());
}

#[test]
fn dual_feasible_bound_beats_l2_and_never_the_optimum() {
    // Five items of 4 in bins of 10: L2 = 2, but u^(2) of Fekete & Schepers proves 3.
    assert_eq!(dff::bound(&[4, 4, 4, 4, 4], 10), 3);
    assert_eq!(dff::bound(&[], 10), 0);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..400 {
        let capacity = rng.random_range(5u64..=60);
        let len = rng.random_range(1usize..=9);
        let items: Vec<u64> = (0..len).map(|_| rng.random_range(1..=capacity)).collect();
        let exact = run(&items, capacity, Algorithm::Exact);
        assert!(exact.is_proven_optimal(), "{items:?} / {capacity}");
        let bound = dff::bound(&items, capacity);
        assert!(
            bound <= exact.bin_count(),
            "bound {bound} above optimum {} for {items:?} / {capacity}",
            exact.bin_count()
        );
    }
}

/// `bins` bins of capacity 1000, each filled exactly by three items in (250, 500), shuffled:
/// the structure of the Falkenauer triplet instances.
pub(crate) fn falkenauer_triplets(bins: usize, rng: &mut ChaCha8Rng) -> Vec<u64> {
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

#[test]
fn local_search_fills_triplet_bins_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for bins in [20usize, 33, 40] {
        let items = falkenauer_triplets(bins, &mut rng);
        let ffd = run(&items, 1000, Algorithm::FirstFitDecreasing);
        let best = run(&items, 1000, Algorithm::BEST);
        assert_eq!(best.bin_count(), bins as u64, "FFD {}", ffd.bin_count());
        assert!(best.is_proven_optimal());
        assert_eq!(best, run(&items, 1000, Algorithm::BEST), "deterministic");
    }
}
