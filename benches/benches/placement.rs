//! Criterion benchmark of horao-sched placement: a batch of 10,000 requests (cpu, ram, disk;
//! label filters, anti-affinity groups of three replicas, dilation) onto 1,000 labelled
//! machines that are already partly used, once per heuristic; plus a volumes-only batch
//! (disk alone, as the Cobalt server places volumes).

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use horao_sched::placement::{Config, Machine, PlacementInput, Request, check_plan, place};
use horao_sched::vector::{Dilation, Heuristic, Resources};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MACHINES: usize = 1_000;
const REQUESTS: usize = 10_000;
const ZONES: [&str; 4] = ["zone=a", "zone=b", "zone=c", "zone=d"];
const MEDIA: [&str; 2] = ["ssd", "hdd"];

/// 1,000 machines in 4 zones × 2 media (8 label sets), 2% not schedulable, 0–40% used; and
/// 10,000 requests sized so the batch asks for roughly 80% of what is free: a third filter on a
/// medium, a sixth on a zone too, a fifth belong to 3-replica anti-affinity groups.
fn workload(resources: &[&str], seed: u64) -> PlacementInput {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = resources.len();
    let base = [64u64, 256, 4_000];
    let machines = (0..MACHINES)
        .map(|i| {
            let capacity: Vec<u64> = (0..d)
                .map(|r| base[3 - d + r] * rng.random_range(1..=4))
                .collect();
            let usage = capacity
                .iter()
                .map(|&c| c * rng.random_range(0..=40) / 100)
                .collect();
            let labels: BTreeSet<String> = [ZONES[i % 4], MEDIA[(i / 4) % 2]]
                .iter()
                .map(|s| s.to_string())
                .collect();
            Machine {
                id: format!("m{i:04}"),
                capacity,
                usage,
                labels,
                schedulable: rng.random_ratio(49, 50),
                groups: BTreeSet::new(),
            }
        })
        .collect();
    let requests = (0..REQUESTS)
        .map(|i| {
            let demand = (0..d)
                .map(|r| rng.random_range(1..=base[3 - d + r] * 2 / 7))
                .collect();
            let mut labels = BTreeSet::new();
            if i % 3 == 0 {
                labels.insert(MEDIA[i % 2].to_string());
            }
            if i % 6 == 0 {
                labels.insert(ZONES[(i / 6) % 4].to_string());
            }
            Request {
                id: format!("r{i:05}"),
                demand,
                labels,
                anti_affinity: (i % 5 == 0).then(|| format!("g{}", i / 15)),
                dilation: Dilation::from_basis_points(rng.random_range(0..=2_500)),
            }
        })
        .collect();
    PlacementInput {
        resources: Resources::new(resources.iter().copied()).unwrap_or_else(|_| unreachable!()),
        machines,
        requests,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("placement");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    let vm = workload(&["cpu", "ram", "disk"], 7);
    for heuristic in Heuristic::ALL {
        let config = Config { heuristic };
        // The benchmark's own sanity check: the plan is valid and places most requests.
        if let Ok(plan) = place(&vm, &config) {
            assert_eq!(check_plan(&vm, &plan), Ok(()));
            println!(
                "placement/{heuristic}: placed {} of {}",
                plan.assignments.len(),
                vm.requests.len()
            );
        }
        group.bench_function(format!("10k-requests-1k-machines-3d/{heuristic}"), |b| {
            b.iter(|| place(black_box(&vm), &config))
        });
    }
    let volumes = workload(&["disk"], 11);
    group.bench_function("10k-volumes-1k-machines-disk/dot-product", |b| {
        b.iter(|| place(black_box(&volumes), &Config::default()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
