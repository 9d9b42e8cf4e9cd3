//! The improvement method: FFD and BFD, then the bounds that may already prove them (DFF,
//! then the LP bound by column generation), MBS' starts (plus perturbed MBS' restarts),
//! consistent neighbourhood search (see the `cns` module) that removes one bin at a time until
//! the packing meets the bound or the effort budget runs out, the LP dive (see `dive`) where
//! it stopped short, and the exact finish (the exact search on small instances, branch and
//! price); where branch and price runs in full, a quarter of the dive comes before it and the
//! whole dive after it only if it neither found nor proved. Where the items must fill every
//! bin and a shape of bin recurs (see `shape`), the bins of that shape are fixed first and
//! the rest packed by the same method on a share of the budgets. All work is counted against
//! budgets, so results depend only on the input and the RNG.

use rand::Rng;

use super::Config;
use super::cns::{Cns, Tuning};
use super::exact::Proven;
use super::fit::{self, Bins};
use super::proof::{Certificate, Proof};
use super::work::Meter;
use super::{branch, dff, dive, exact, lp, mbs, shape};
use crate::bounds;

/// The share of the total search effort one attempt at one bin less may spend: 1 / this.
const STEP_SHARE: u64 = 2;
/// The share of the dive's rounds that the dive before the exact search may spend: 1 / this.
const SHORT_DIVE: u64 = 4;

/// Tries to repack `start` (with `k` bins) into `k - 1` bins within the effort budget: CNS
/// runs that first empty the two lightest bins, then random pairs.
fn reduce(
    items: &[u64],
    capacity: u64,
    start: &Bins,
    tuning: Tuning,
    effort: &mut u64,
    rng: &mut impl Rng,
) -> Option<Bins> {
    let count = start.len();
    if count < 2 {
        return None;
    }
    let loads: Vec<u128> = start
        .iter()
        .map(|b| b.iter().map(|&i| u128::from(items[i])).sum())
        .collect();
    let mut by_load: Vec<usize> = (0..count).collect();
    by_load.sort_unstable_by_key(|&b| (loads[b], b));
    let mut attempt = 0u64;
    while *effort > 0 {
        let removed = if attempt == 0 {
            [by_load[0], by_load[1]]
        } else {
            let a = rng.random_range(0..count);
            let b = (a + rng.random_range(1..count)) % count;
            [a, b]
        };
        attempt += 1;
        let mut cns = Cns::new(items, capacity, start, removed, effort, rng);
        if cns.run(tuning) {
            return Some(cns.into_bins());
        }
    }
    None
}

/// Items by decreasing size after a random perturbation of up to 10 % of each size, so that
/// MBS' tries its candidates in a different order while still starting with large items.
fn perturbed_order(items: &[u64], rng: &mut impl Rng) -> Vec<usize> {
    let mut keyed: Vec<(u128, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let factor = rng.random_range(90u128..=110);
            (u128::from(s) * factor, i)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| b.cmp(a));
    // MBS' always opens a bin with the largest remaining item; keep the truly largest first.
    let mut order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    if let Some(largest) = (0..order.len()).max_by_key(|&p| (items[order[p]], std::cmp::Reverse(p)))
    {
        order[..=largest].rotate_right(1);
    }
    order
}

/// Raises `proof` with the dual-feasible-function bound and then, unless `incumbent` already
/// meets it, with the LP bound (column generation seeded with the incumbent's bins, stopped
/// once the bound reaches the incumbent, drawing its work from `work`). Returns the column
/// generation, if it ran.
pub(crate) fn strengthen(
    items: &[u64],
    capacity: u64,
    incumbent: &Bins,
    proof: &mut Certificate,
    config: &Config,
    work: &Meter,
) -> Option<(lp::Types, lp::Generation)> {
    if proof.meets(incumbent) {
        return None;
    }
    proof.raise(dff::bound(items, capacity), Proof::Dff);
    if proof.meets(incumbent) || config.lp_rounds == 0 {
        return None;
    }
    let types = lp::Types::new(items);
    if types.sizes.len() > config.max_lp_rows {
        return None;
    }
    let seed = types.patterns(incumbent, items.len());
    let target = incumbent.len() as u64;
    let generation = lp::generate(&types, capacity, seed, target, config.lp_rounds, work);
    proof.raise(generation.lp.bound, Proof::Lp);
    Some((types, generation))
}

/// The improvement method behind [`Algorithm::LocalSearch`](super::Algorithm::LocalSearch).
pub(crate) fn improve(
    items: &[u64],
    capacity: u64,
    lower_bound: u64,
    config: &Config,
    rng: &mut impl Rng,
) -> Proven {
    improve_from(items, capacity, lower_bound, config, rng, Goal::Whole)
}

/// What [`improve_from`] packs.
#[derive(Clone, Copy)]
enum Goal {
    /// A whole instance: a recurring shape is tried first.
    Whole,
    /// The items a recurring shape left, worth packing only into at most this many bins.
    Rest(u64),
}

/// Where `items` fill `target` bins exactly and a recurring shape fixes some of them (see
/// `shape`), packs the other items by the improvement method with 1 / `config.shape_share`
/// of each budget and returns the whole packing if they too fill their bins exactly.
fn by_shape(
    items: &[u64],
    capacity: u64,
    target: u64,
    config: &Config,
    rng: &mut impl Rng,
) -> Option<Bins> {
    let share = config.shape_share;
    if share == 0 {
        return None;
    }
    let split = shape::split(items, capacity, target)?;
    let room = target.checked_sub(split.fixed.len() as u64)?;
    let mut bins = split.fixed;
    if split.rest.is_empty() {
        return Some(bins);
    }
    let rest: Vec<u64> = split.rest.iter().map(|&i| items[i]).collect();
    // The rest's items come from checked input, so the bound cannot fail.
    let lower = bounds::l2(&rest, capacity).ok()?;
    if lower > room {
        return None;
    }
    let budget = Config {
        search_effort: config.search_effort / share,
        dive_rounds: config.dive_rounds / share,
        price_nodes: config.price_nodes / share,
        price_rounds: config.price_rounds / share,
        lp_work: config.lp_work / share,
        ..config.clone()
    };
    let packed = improve_from(&rest, capacity, lower, &budget, rng, Goal::Rest(room));
    if packed.bins.len() as u64 > room {
        return None;
    }
    let back = |bin: Vec<usize>| bin.into_iter().map(|i| split.rest[i]).collect();
    bins.extend(packed.bins.into_iter().map(back));
    Some(bins)
}

/// [`improve`] for `goal`; the rest of a packing stops as soon as a bound shows it cannot
/// fit its room.
fn improve_from(
    items: &[u64],
    capacity: u64,
    lower_bound: u64,
    config: &Config,
    rng: &mut impl Rng,
    goal: Goal,
) -> Proven {
    let sized = fit::decreasing(items);
    let mut best = fit::first_fit(&sized, capacity);
    let bfd = fit::best_fit(&sized, capacity);
    let order: Vec<usize> = sized.into_iter().map(|(i, _)| i).collect();
    if bfd.len() < best.len() {
        best = bfd;
    }
    let mut proof = Certificate::l2(lower_bound);
    if proof.meets(&best) || items.len() > config.max_search_items {
        return Proven { bins: best, proof };
    }
    if matches!(goal, Goal::Whole)
        && let Some(bins) = by_shape(items, capacity, proof.lower, config, rng)
    {
        return Proven { bins, proof };
    }
    // Stronger bounds prove many packings above L2 optimal, so no effort is wasted on them.
    // The LP-based phases (the bound, the dive, branch and price) share one work budget.
    let work = Meter::new(config.lp_work);
    let lp = strengthen(items, capacity, &best, &mut proof, config, &work);
    let done = |b: &Bins| proof.meets(b);
    let beyond = matches!(goal, Goal::Rest(room) if proof.lower > room);
    if done(&best) || beyond {
        return Proven { bins: best, proof };
    }
    let mbs = mbs::mbs_prime(items, &order, capacity, config.mbs_nodes_per_bin);
    if mbs.len() < best.len() {
        best = mbs;
    }
    // Perturbed MBS' restarts: the bin-oriented construction is what fills bins exactly
    // (triplet-like instances); shuffling the order of equal-priority candidates explores
    // other exact fills.
    for _ in 0..config.mbs_restarts {
        if done(&best) {
            return Proven { bins: best, proof };
        }
        let perturbed = perturbed_order(items, rng);
        let nodes = config.mbs_nodes_per_bin / 10;
        let mbs = mbs::mbs_prime(items, &perturbed, capacity, nodes);
        if mbs.len() < best.len() {
            best = mbs;
        }
    }
    let mut effort = config.search_effort;
    let tuning = Tuning {
        patience: 2_000,
        max_descents: 20,
        pack_nodes: 2_000,
    };
    // Each attempt at one bin less may spend a share of the total, so the last, failing
    // attempt (the optimum is often above the bound) does not eat the whole budget.
    while !done(&best) && effort > 0 {
        let mut step = (config.search_effort / STEP_SHARE).min(effort);
        let before = step;
        let outcome = reduce(items, capacity, &best, tuning, &mut step, rng);
        effort -= before - step;
        match outcome {
            Some(better) => best = better,
            None => break,
        }
    }
    best.retain(|bin| !bin.is_empty());
    if done(&best) {
        return Proven { bins: best, proof };
    }
    let nodes = config.search_exact_nodes;
    // Where local search stops short of the bound, rounding the LP solution fills bins
    // exactly when the optimum is ⌈z_LP⌉ (Hard28, the AI instances). Its successes come
    // early and its failures (an optimum above ⌈z_LP⌉, the ANI instances) spend its whole
    // budget, so where branch and price runs in full, a short dive comes first, then the
    // exact search, and the full dive only where the exact search neither found nor proved.
    let Some((types, generation)) = lp.as_ref().filter(|(_, g)| g.lp.solved) else {
        let bins = close(items, capacity, best, &mut proof, nodes, config, &work);
        return Proven { bins, proof };
    };
    let target = proof.lower;
    let dive = |rounds: u64, best: &mut Bins| {
        if let Some(bins) = dive::dive(types, capacity, generation, target, rounds)
            && bins.len() < best.len()
        {
            *best = bins;
        }
    };
    if !unlimited_price(items, config) {
        dive(config.dive_rounds, &mut best);
        let bins = close(items, capacity, best, &mut proof, nodes, config, &work);
        return Proven { bins, proof };
    }
    dive(config.dive_rounds / SHORT_DIVE, &mut best);
    if done(&best) {
        return Proven { bins: best, proof };
    }
    let mut bins = close(items, capacity, best, &mut proof, nodes, config, &work);
    if !proof.meets(&bins) && !proof.complete {
        // The full dive starts over from the root LP with all the dive's rounds.
        dive(config.dive_rounds, &mut bins);
    }
    Proven { bins, proof }
}

/// Whether [`close`] runs branch and price on an instance of `items` without the pivot
/// limit (larger instances rarely get a proof or a packing from it, so they dive in full
/// first).
fn unlimited_price(items: &[u64], config: &Config) -> bool {
    config.price_nodes > 0 && items.len() <= config.max_price_items
}

/// Closes the gap between `bins` and `proof`'s bound where a search left one: the
/// depth-first exact search (`nodes` nodes) on instances of at most `config.max_exact_items`
/// items, then branch and price on instances of at most `config.max_price_items` (and on those
/// of up to twice as many items under the pivot limit `config.large_price_pivots`), drawing
/// its work from `work`. Marks `proof` complete when either proves the packing returned
/// optimal.
pub(crate) fn close(
    items: &[u64],
    capacity: u64,
    mut bins: Bins,
    proof: &mut Certificate,
    nodes: u64,
    config: &Config,
    work: &Meter,
) -> Bins {
    if !proof.meets(&bins) && items.len() <= config.max_exact_items {
        let outcome = exact::search_below(items, capacity, proof.lower, bins, nodes);
        proof.complete = outcome.complete;
        bins = outcome.bins;
    }
    let open = !proof.meets(&bins) && !proof.complete;
    let allowed = items.len() <= config.max_price_items.saturating_mul(2);
    if open && allowed && config.price_nodes > 0 {
        let limits = branch::Limits {
            nodes: config.price_nodes,
            rounds: config.price_rounds,
            pivots: if unlimited_price(items, config) {
                u64::MAX
            } else {
                config.large_price_pivots
            },
            work: work.clone(),
        };
        let outcome = branch::branch_and_price(items, capacity, proof.lower, bins, limits);
        proof.complete = outcome.complete;
        bins = outcome.bins;
    }
    bins
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::check::check_packing;
    use crate::one_d::shape::tests::planted;

    #[test]
    fn a_recurring_shape_leaves_the_rest_to_the_search() {
        let items = planted(12, &[[600, 200, 200], [700, 150, 150]]);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let config = Config::default();
        let bins = by_shape(&items, 1_000, 14, &config, &mut rng).expect("fills 14 bins");
        assert_eq!(bins.len(), 14);
        assert_eq!(check_packing(&items, 1_000, &bins), Ok(()));
        let off = Config {
            shape_share: 0,
            ..config
        };
        assert_eq!(by_shape(&items, 1_000, 14, &off, &mut rng), None);
    }

    #[test]
    fn a_wrong_guess_falls_back_to_the_whole_search() {
        // The item of 620 has one completion of the planted shape, (317, 63), but its bin
        // is (620, 200, 180): 317 belongs with 600 and 63 with 937. Fixing the guess leaves
        // 600, 937, 200, 180 and 83 for two bins, which L2 rules out.
        let mut items = planted(10, &[]);
        items.extend([620, 600, 317, 83, 200, 180, 937, 63]);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(
            by_shape(&items, 1_000, 13, &Config::default(), &mut rng),
            None
        );
        let packed = improve(&items, 1_000, 13, &Config::default(), &mut rng);
        assert_eq!(packed.bins.len(), 13);
        assert_eq!(check_packing(&items, 1_000, &packed.bins), Ok(()));
    }
}
