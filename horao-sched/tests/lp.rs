//! The LP bound and the proofs of the 1-D packers against independent oracles: the LP value
//! against an exact rational vertex enumeration of the dual LP over every pattern, a value
//! published in the literature, L2 and every packing found; the exact search's proofs
//! against the optimum found by brute force.

use horao_sched::bounds::l2;
use horao_sched::check::check_packing;
use horao_sched::one_d::{Algorithm, Config, Proof, lp_bound, pack_with};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::falkenauer_triplets;

/// Every feasible pattern (copies per type, not all zero) of sizes `sizes` with at most
/// `demand[t]` copies of type t.
fn patterns(sizes: &[u64], demand: &[u64], capacity: u64) -> Vec<Vec<i128>> {
    fn go(
        t: usize,
        room: u64,
        s: &[u64],
        d: &[u64],
        cur: &mut Vec<i128>,
        out: &mut Vec<Vec<i128>>,
    ) {
        if t == s.len() {
            if cur.iter().any(|&c| c > 0) {
                out.push(cur.clone());
            }
            return;
        }
        let mut k = 0;
        while k <= d[t] && k * s[t] <= room {
            cur.push(k as i128);
            go(t + 1, room - k * s[t], s, d, cur, out);
            cur.pop();
            k += 1;
        }
    }
    let mut out = Vec::new();
    go(0, capacity, sizes, demand, &mut Vec::new(), &mut out);
    out
}

/// Determinant of a small integer matrix by cofactor expansion.
fn det(a: &[Vec<i128>]) -> i128 {
    let n = a.len();
    if n == 1 {
        return a[0][0];
    }
    (0..n)
        .map(|j| {
            let minor: Vec<Vec<i128>> = a[1..]
                .iter()
                .map(|row| (0..n).filter(|&k| k != j).map(|k| row[k]).collect())
                .collect();
            let sign = if j % 2 == 0 { 1 } else { -1 };
            sign * a[0][j] * det(&minor)
        })
        .sum()
}

/// The LP optimum max Σ b y subject to a·y ≤ 1 for every pattern a and y ≥ 0, as an exact
/// fraction (numerator, denominator > 0), by enumerating the vertices of the dual polytope
/// (every choice of m tight constraints, solved by Cramer's rule).
fn lp_by_vertices(sizes: &[u64], demand: &[u64], capacity: u64) -> (i128, i128) {
    let m = sizes.len();
    let pats = patterns(sizes, demand, capacity);
    // Constraint rows: patterns (a·y ≤ 1) and the sign constraints (−y_i ≤ 0).
    let mut rows: Vec<(Vec<i128>, i128)> = pats.iter().map(|p| (p.clone(), 1)).collect();
    for i in 0..m {
        let mut e = vec![0; m];
        e[i] = -1;
        rows.push((e, 0));
    }
    let mut best: Option<(i128, i128)> = None;
    let mut choose = vec![0usize; m];
    fn combos(
        k: usize,
        start: usize,
        n: usize,
        choose: &mut Vec<usize>,
        f: &mut dyn FnMut(&[usize]),
    ) {
        if k == choose.len() {
            f(choose);
            return;
        }
        for i in start..n {
            choose[k] = i;
            combos(k + 1, i + 1, n, choose, f);
        }
    }
    let n = rows.len();
    combos(0, 0, n, &mut choose, &mut |picked| {
        let a: Vec<Vec<i128>> = picked.iter().map(|&r| rows[r].0.clone()).collect();
        let d = det(&a);
        if d == 0 {
            return;
        }
        // y_i = det_i / d, where det_i replaces column i by the right-hand sides.
        let y: Vec<i128> = (0..m)
            .map(|i| {
                let ai: Vec<Vec<i128>> = a
                    .iter()
                    .zip(picked)
                    .map(|(row, &r)| {
                        let mut row = row.clone();
                        row[i] = rows[r].1;
                        row
                    })
                    .collect();
                det(&ai)
            })
            .collect();
        let (y, d) = if d < 0 {
            (y.iter().map(|v| -v).collect::<Vec<_>>(), -d)
        } else {
            (y, d)
        };
        let feasible = rows
            .iter()
            .all(|(row, rhs)| row.iter().zip(&y).map(|(a, v)| a * v).sum::<i128>() <= rhs * d);
        if !feasible {
            return;
        }
        let value: i128 = demand.iter().zip(&y).map(|(&b, v)| b as i128 * v).sum();
        if best.is_none_or(|(bn, bd)| value * bd > bn * d) {
            best = Some((value, d));
        }
    });
    best.unwrap_or((0, 1))
}

/// Items from sizes and demands.
fn expand(sizes: &[u64], demand: &[u64]) -> Vec<u64> {
    sizes
        .iter()
        .zip(demand)
        .flat_map(|(&s, &d)| std::iter::repeat_n(s, d as usize))
        .collect()
}

#[test]
fn lp_matches_the_dual_vertices_on_small_instances() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for case in 0..300 {
        let capacity = rng.random_range(5u64..=40);
        let m = rng.random_range(1usize..=3);
        let mut sizes: Vec<u64> = (0..m).map(|_| rng.random_range(1..=capacity)).collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.dedup();
        let demand: Vec<u64> = sizes.iter().map(|_| rng.random_range(1..=5)).collect();
        let items = expand(&sizes, &demand);
        let (num, den) = lp_by_vertices(&sizes, &demand, capacity);
        let lp = lp_bound(&items, capacity, &Config::default()).unwrap();
        assert!(lp.solved && lp.optimal, "case {case}");
        let exact = num as f64 / den as f64;
        assert!(
            (lp.value - exact).abs() < 1e-6,
            "case {case}: {items:?} in {capacity}: {} vs {num}/{den}",
            lp.value
        );
        assert_eq!(
            lp.bound as i128,
            (num + den - 1) / den,
            "case {case}: {items:?}"
        );
    }
}

/// Chvátal, Linear Programming (1983), ch. 13: rolls of width 100, orders of 97 × 45,
/// 610 × 36, 395 × 31 and 211 × 14; the LP optimum is 452¼ rolls.
#[test]
fn lp_matches_chvatals_cutting_stock_example() {
    let items = expand(&[45, 36, 31, 14], &[97, 610, 395, 211]);
    let lp = lp_bound(&items, 100, &Config::default()).unwrap();
    assert!((lp.value - 452.25).abs() < 1e-6, "{}", lp.value);
    assert_eq!(lp.bound, 453);
}

/// Too many distinct sizes for the dense master: no bound rather than a huge allocation.
#[test]
fn lp_is_skipped_above_the_row_limit() {
    let items: Vec<u64> = (1..=50).collect();
    let config = Config {
        max_lp_rows: 49,
        ..Config::default()
    };
    let lp = lp_bound(&items, 100, &config).unwrap();
    assert_eq!((lp.bound, lp.solved), (0, false));
    let lp = lp_bound(&items, 100, &Config::default()).unwrap();
    assert!(lp.solved && lp.bound >= 13);
}

/// Bins filled exactly by triplets (the Falkenauer T structure): the LP value is the number
/// of bins.
#[test]
fn lp_of_exactly_filled_bins_is_their_number() {
    for bins in [10u64, 40, 80] {
        let items = falkenauer_triplets(bins as usize, bins);
        let lp = lp_bound(&items, 1000, &Config::default()).unwrap();
        assert_eq!(lp.bound, bins);
        assert!((lp.value - bins as f64).abs() < 1e-6);
    }
}

/// Bins filled exactly by one item above half the capacity and two below, with hundreds of
/// distinct sizes: the master is above 256 rows, where pricing adds the best pattern holding
/// each big item as well, and the LP value is still the number of bins.
#[test]
fn lp_of_exactly_filled_bins_is_their_number_on_large_masters() {
    let capacity = 10_000u64;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for bins in [100u64, 120] {
        let mut items = Vec::new();
        for _ in 0..bins {
            let big = rng.random_range(5_001..8_000);
            let small = rng.random_range(1..capacity - big);
            items.extend([big, small, capacity - big - small]);
        }
        let distinct: std::collections::BTreeSet<u64> = items.iter().copied().collect();
        assert!(distinct.len() > 256, "{} sizes", distinct.len());
        let lp = lp_bound(&items, capacity, &Config::default()).unwrap();
        assert!(
            lp.optimal,
            "{bins} bins: not solved in {} rounds",
            lp.rounds
        );
        assert_eq!(lp.bound, bins);
        assert!((lp.value - bins as f64).abs() < 1e-6, "{}", lp.value);
    }
}

/// The optimum by dynamic programming over subsets: the best (bins, load of the last bin)
/// reachable for each set of packed items, packing items one at a time.
fn brute_force_optimum(items: &[u64], capacity: u64) -> u64 {
    let n = items.len();
    if n == 0 {
        return 0;
    }
    let mut best = vec![(u64::MAX, 0u64); 1 << n];
    best[0] = (1, 0);
    for mask in 0..1usize << n {
        let (bins, load) = best[mask];
        if bins == u64::MAX {
            continue;
        }
        for (i, &size) in items.iter().enumerate() {
            if mask & (1 << i) == 0 {
                let next = if load + size <= capacity {
                    (bins, load + size)
                } else {
                    (bins + 1, size)
                };
                let slot = &mut best[mask | (1 << i)];
                *slot = (*slot).min(next);
            }
        }
    }
    best[(1 << n) - 1].0
}

/// Small instances (at most 14 items), with or without the LP bound: the exact search finds
/// the brute-force optimum and proves it, by a bound or by exhausting the search.
#[test]
fn exact_search_matches_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let mut by_search = 0;
    for case in 0..300 {
        let (capacity, items) = random_case(&mut rng, 1, 8, (3, 4));
        let optimum = brute_force_optimum(&items, capacity);
        for lp_rounds in [0, Config::default().lp_rounds] {
            let config = Config {
                lp_rounds,
                ..Config::default()
            };
            let mut rng = ChaCha8Rng::seed_from_u64(case);
            let p = pack_with(&items, capacity, Algorithm::Exact, &config, &mut rng).unwrap();
            assert_eq!(check_packing(&items, capacity, &p.bins), Ok(()));
            assert_eq!(
                p.bin_count(),
                optimum,
                "case {case}: {items:?} in {capacity}"
            );
            assert!(p.is_proven_optimal(), "case {case}");
            assert!(p.lower_bound <= optimum);
            by_search += u64::from(p.proof() == Some(Proof::Exact));
            if lp_rounds > 0 {
                let lp = lp_bound(&items, capacity, &config).unwrap();
                assert!(lp.bound <= optimum, "case {case}");
            }
        }
    }
    // Without the LP, some optima lie above every bound and only the search proves them.
    assert!(by_search > 0);
}

fn small_instance() -> impl Strategy<Value = (u64, Vec<u64>)> {
    (1u64..=300)
        .prop_flat_map(|capacity| (Just(capacity), prop::collection::vec(0..=capacity, 0..40)))
}

proptest! {
    /// ⌈LP⌉ is at least L2 and at most every packing any algorithm finds.
    #[test]
    fn lp_bound_lies_between_l2_and_every_packing((capacity, items) in small_instance()) {
        let config = Config { search_effort: 100_000, ..Config::default() };
        let lp = lp_bound(&items, capacity, &config).unwrap();
        prop_assert!(lp.bound >= l2(&items, capacity).unwrap());
        for algorithm in [Algorithm::FirstFitDecreasing, Algorithm::MinimumBinSlack, Algorithm::LocalSearch] {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let p = pack_with(&items, capacity, algorithm, &config, &mut rng).unwrap();
            prop_assert!(lp.bound <= p.bin_count(), "{} {} < LP {}", algorithm, p.bin_count(), lp.bound);
            prop_assert!(p.lower_bound <= p.bin_count());
        }
    }
}

/// Branch and price alone (the depth-first search gets no nodes) on small random instances:
/// it finds the brute-force optimum and proves it, also where first-fit and best-fit
/// decreasing are above it, so that the branching and the rounding had to find it.
#[test]
fn branch_and_price_matches_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let config = Config {
        exact_nodes: 0,
        ..Config::default()
    };
    let mut improved = 0;
    for case in 0..400 {
        let (capacity, items) = random_case(&mut rng, 1, 6, (3, 5));
        let optimum = brute_force_optimum(&items, capacity);
        let mut rng = ChaCha8Rng::seed_from_u64(case);
        let ffd = pack_with(
            &items,
            capacity,
            Algorithm::BestFitDecreasing,
            &config,
            &mut rng,
        );
        let p = pack_with(&items, capacity, Algorithm::Exact, &config, &mut rng).unwrap();
        assert_eq!(check_packing(&items, capacity, &p.bins), Ok(()));
        let what = format!("case {case}: {items:?} in {capacity}");
        assert_eq!(p.bin_count(), optimum, "{what}");
        assert!(p.is_proven_optimal(), "{what}");
        improved += u64::from(ffd.unwrap().bin_count() > optimum);
    }
    assert!(improved >= 10, "{improved}");
}

/// A random instance of `min_items` to 14 items in a capacity of 10 to 100, each item above
/// capacity / `smallest` and at most capacity · `largest`.0 / `largest`.1.
fn random_case(
    rng: &mut ChaCha8Rng,
    min_items: usize,
    smallest: u64,
    largest: (u64, u64),
) -> (u64, Vec<u64>) {
    let capacity = rng.random_range(10u64..=100);
    let n = rng.random_range(min_items..=14);
    let items = (0..n)
        .map(|_| rng.random_range(capacity / smallest + 1..=capacity * largest.0 / largest.1))
        .collect();
    (capacity, items)
}

/// The better of first-fit and best-fit decreasing: what the exact algorithm starts from.
fn greedy_bins(items: &[u64], capacity: u64) -> u64 {
    [Algorithm::FirstFitDecreasing, Algorithm::BestFitDecreasing]
        .map(|a| {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            pack_with(items, capacity, a, &Config::default(), &mut rng)
                .map_or(u64::MAX, |p| p.bin_count())
        })
        .into_iter()
        .min()
        .unwrap_or(u64::MAX)
}

/// Branch and price on instances of more than `max_price_items` items runs under
/// `large_price_pivots`: without a pivot limit it finds and proves the brute-force optimum as
/// below the item limit, with no pivots it leaves the better of FFD and BFD, and above twice
/// the item limit it does not run.
#[test]
fn branch_and_price_above_the_item_limit_runs_under_the_pivot_limit() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let mut improved = 0;
    for case in 0..300 {
        let (capacity, items) = random_case(&mut rng, 4, 6, (3, 5));
        let n = items.len();
        let optimum = brute_force_optimum(&items, capacity);
        let run = |max_price_items: usize, large_price_pivots: u64| {
            let config = Config {
                exact_nodes: 0,
                max_price_items,
                large_price_pivots,
                ..Config::default()
            };
            let mut rng = ChaCha8Rng::seed_from_u64(case);
            let p = pack_with(&items, capacity, Algorithm::Exact, &config, &mut rng).unwrap();
            assert_eq!(check_packing(&items, capacity, &p.bins), Ok(()));
            p.bin_count()
        };
        let greedy = greedy_bins(&items, capacity);
        let what = format!("case {case}: {items:?} in {capacity}");
        assert_eq!(run(n - 1, u64::MAX), optimum, "{what}");
        assert_eq!(run(n - 1, 0), greedy, "{what}");
        assert_eq!(run((n - 1) / 2, u64::MAX), greedy, "{what}");
        improved += u64::from(greedy > optimum);
    }
    assert!(improved >= 10, "{improved}");
}

/// The work budget of the LP-based phases (`lp_work`) stops them soundly: with none, the
/// exact algorithm (its depth-first search given no nodes) returns the better of FFD and BFD
/// and proves nothing the simple bounds do not; with a little, it lands between that and the
/// optimum and claims a proof only for an optimal packing; with the default it finds and
/// proves the brute-force optimum.
#[test]
fn the_lp_work_budget_stops_the_lp_phases_soundly() {
    let mut rng = ChaCha8Rng::seed_from_u64(37);
    let mut improved = 0;
    let mut cut_short = 0;
    for case in 0..300 {
        let (capacity, items) = random_case(&mut rng, 4, 6, (3, 5));
        let optimum = brute_force_optimum(&items, capacity);
        let run = |lp_work: u64| {
            let config = Config {
                exact_nodes: 0,
                lp_work,
                ..Config::default()
            };
            let mut rng = ChaCha8Rng::seed_from_u64(case);
            let p = pack_with(&items, capacity, Algorithm::Exact, &config, &mut rng).unwrap();
            assert_eq!(check_packing(&items, capacity, &p.bins), Ok(()));
            assert!(p.lower_bound <= optimum);
            assert!(!p.is_proven_optimal() || p.bin_count() == optimum);
            p
        };
        let greedy = greedy_bins(&items, capacity);
        let what = format!("case {case}: {items:?} in {capacity}");
        let none = run(0);
        assert_eq!(none.bin_count(), greedy, "{what}");
        assert!(
            !matches!(none.proof(), Some(Proof::Lp | Proof::Exact)),
            "{what}"
        );
        let little = run(2_000);
        assert!(
            little.bin_count() >= optimum && little.bin_count() <= greedy,
            "{what}"
        );
        let full = run(Config::default().lp_work);
        assert_eq!(full.bin_count(), optimum, "{what}");
        assert!(full.is_proven_optimal(), "{what}");
        improved += u64::from(greedy > optimum);
        cut_short += u64::from(full.is_proven_optimal() && !little.is_proven_optimal());
    }
    assert!(improved >= 10, "{improved}");
    assert!(cut_short >= 10, "{cut_short}");
}
