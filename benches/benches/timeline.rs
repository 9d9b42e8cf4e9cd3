//! Criterion benchmark of horao-sched claims over time: `fits` and `earliest_start` queries
//! against 10,000 existing claims (reservations and maintenance windows over a year, three
//! dimensions), a query right after a claim is added (nothing is rebuilt: the change-point
//! tree is updated in place), adding and removing a claim, a hypothetical query with one
//! claim set aside, and building the 10,000-claim timeline claim by claim and all at once.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use horao_sched::timeline::{Claim, Timeline};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CLAIMS: usize = 10_000;
const YEAR: u64 = 365 * 24 * 3600;
const CAPACITY: [u64; 3] = [10_000, 40_000, 1_000_000];

/// 10,000 claims of 1 hour to 30 days over one year; one in ten is maintenance. Their sum
/// keeps the timeline busy but not full (about 60% average use of each dimension).
fn timeline(seed: u64) -> Timeline {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = Timeline::new(CAPACITY.to_vec());
    for i in 0..CLAIMS {
        let start = rng.random_range(0..YEAR);
        let end = start + rng.random_range(3_600..=30 * 24 * 3600);
        let amount: Vec<u64> = CAPACITY
            .iter()
            .map(|&c| rng.random_range(0..=c / 250))
            .collect();
        let added = if i % 10 == 0 {
            t.add_maintenance(amount, start, end)
        } else {
            t.add_reservation(amount, start, end)
        };
        added.unwrap_or_else(|_| unreachable!());
    }
    t
}

/// Random (demand, start, duration) queries.
fn queries(seed: u64) -> Vec<(Vec<u64>, u64, u64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..1_024)
        .map(|_| {
            let demand = CAPACITY
                .iter()
                .map(|&c| rng.random_range(0..=c / 10))
                .collect();
            (
                demand,
                rng.random_range(0..YEAR),
                rng.random_range(3_600..=14 * 24 * 3600),
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("timeline");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    let mut t = timeline(3);
    let qs = queries(5);
    let mut i = 0;
    group.bench_function("fits/10k-claims", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            let (demand, start, len) = &qs[i];
            t.fits(black_box(demand), *start, start + len)
        })
    });
    group.bench_function("earliest-start/10k-claims", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            let (demand, start, len) = &qs[i];
            t.earliest_start(black_box(demand), *len, *start, 2 * YEAR)
        })
    });
    group.bench_function("add-then-fits/10k-claims", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            let (demand, start, len) = &qs[i];
            let id = t.add_reservation(demand.clone(), *start, start + len);
            let fit = t.fits(black_box(demand), *start, start + len);
            if let Ok(id) = id {
                t.remove(id);
            }
            fit
        })
    });
    group.bench_function("add-remove/10k-claims", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            let (demand, start, len) = &qs[i];
            let id = t.add_reservation(black_box(demand.clone()), *start, start + len);
            if let Ok(id) = id {
                t.remove(id);
            }
        })
    });
    let ids: Vec<_> = t.claims().into_iter().map(|(id, _)| id).collect();
    group.bench_function("what-if-without/10k-claims", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            let (demand, start, len) = &qs[i];
            t.what_if()
                .without(ids[i % ids.len()])
                .fits(black_box(demand), *start, start + len)
        })
    });
    group.bench_function("build/10k-claims", |b| b.iter(|| timeline(black_box(3))));
    let claims: Vec<Claim> = t.claims().into_iter().map(|(_, c)| c.clone()).collect();
    group.bench_function("build-all-at-once/10k-claims", |b| {
        b.iter(|| {
            let mut fresh = Timeline::new(CAPACITY.to_vec());
            fresh.add_all(black_box(claims.clone()));
            fresh
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
