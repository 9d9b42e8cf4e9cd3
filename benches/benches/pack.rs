//! Criterion benchmarks of the 1-D packers: every heuristic on a million random items, the
//! search-based ones at the sizes they are meant for.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use horao_sched::one_d::{Algorithm, Config, pack, pack_with};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CAPACITY: u64 = 1_000_000;

fn items(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(1..=CAPACITY)).collect()
}

fn heuristics(c: &mut Criterion) {
    let million = items(1_000_000, 1);
    let mut group = c.benchmark_group("one_d_1m");
    group.sample_size(10);
    for algorithm in [
        Algorithm::FirstFitDecreasing,
        Algorithm::BestFitDecreasing,
        Algorithm::NextFit,
        Algorithm::FirstFit,
        Algorithm::BestFit,
        Algorithm::WorstFit,
        Algorithm::Harmonic,
        Algorithm::RefinedHarmonic,
    ] {
        group.bench_function(BenchmarkId::from_parameter(algorithm.name()), |b| {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            b.iter(|| pack(&million, CAPACITY, algorithm, &mut rng).map(|p| p.bins.len()))
        });
    }
    group.finish();
}

fn search(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_d_search");
    group.sample_size(10);
    let thousand = items(1_000, 2);
    for algorithm in [Algorithm::MinimumBinSlack, Algorithm::LocalSearch] {
        group.bench_function(BenchmarkId::new(algorithm.name(), 1_000), |b| {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            b.iter(|| pack(&thousand, CAPACITY, algorithm, &mut rng).map(|p| p.bins.len()))
        });
    }
    let small = items(30, 3);
    let config = Config {
        exact_nodes: 100_000,
        ..Config::default()
    };
    group.bench_function(BenchmarkId::new("exact", 30), |b| {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        b.iter(|| {
            pack_with(&small, CAPACITY, Algorithm::Exact, &config, &mut rng).map(|p| p.bins.len())
        })
    });
    group.finish();
}

criterion_group!(benches, heuristics, search);
criterion_main!(benches);
