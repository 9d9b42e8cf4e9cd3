//! Lower bounds from dual feasible functions, stronger than Martello–Toth L2 on many
//! instances whose optimum exceeds L2. The improvement method stops as soon as it meets this
//! bound instead of spending its whole budget trying to beat a proven optimum.
//!
//! A dual feasible function `f` maps sizes so that items fitting together in a bin still fit
//! together after mapping, hence `ceil(Σ f(w_i) / f(C))` bins are always needed. Used here:
//! the functions `u^(k)` of Fekete & Schepers (2001), composed with the threshold function of
//! Martello & Toth (items above `C - ε` count as a full bin, items below `ε` as nothing), and
//! the function `f_CCM,1` of Carlier, Clautiaux & Moukrim (2007).

/// Largest `k` of the Fekete–Schepers family that is tried.
const MAX_K: u128 = 12;
/// Most thresholds `ε` (and CCM parameters `λ`) that are tried.
const MAX_PARAMS: usize = 64;

/// Ceiling of `a / b` for `b > 0`.
fn ceil_div(a: u128, b: u128) -> u128 {
    a.div_ceil(b)
}

/// Up to [`MAX_PARAMS`] distinct sizes in `1..=capacity / 2`, spread over their range.
fn parameters(items: &[u64], capacity: u128) -> Vec<u128> {
    let mut sizes: Vec<u128> = items
        .iter()
        .map(|&w| u128::from(w))
        .filter(|&w| w >= 1 && 2 * w <= capacity)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() <= MAX_PARAMS {
        return sizes;
    }
    let step = sizes.len() as f64 / MAX_PARAMS as f64;
    (0..MAX_PARAMS)
        .filter_map(|i| sizes.get((i as f64 * step) as usize).copied())
        .collect()
}

/// `k · u^(k)(x)` for capacity `c`: integral so the sum can be divided once at the end.
fn fekete_schepers(x: u128, c: u128, k: u128) -> u128 {
    if ((k + 1) * x) % c == 0 {
        k * x
    } else {
        ((k + 1) * x / c) * c
    }
}

/// The Martello–Toth threshold function for `ε ≤ C / 2`.
fn threshold(x: u128, c: u128, epsilon: u128) -> u128 {
    if x > c - epsilon {
        c
    } else if x < epsilon {
        0
    } else {
        x
    }
}

/// `f_CCM,1(x; λ)` for capacity `c`, whose image of `c` is `2 ⌊c / λ⌋`.
fn ccm(x: u128, c: u128, lambda: u128) -> u128 {
    if 2 * x > c {
        2 * (c / lambda - (c - x) / lambda)
    } else if 2 * x == c {
        c / lambda
    } else {
        2 * (x / lambda)
    }
}

/// The best of the dual-feasible-function bounds (0 for no items; never above the optimum).
pub(crate) fn bound(items: &[u64], capacity: u64) -> u64 {
    let c = u128::from(capacity);
    if c == 0 || items.is_empty() {
        return 0;
    }
    let params = parameters(items, c);
    let mut best = 0u128;
    let mut thresholds = vec![0u128];
    thresholds.extend_from_slice(&params);
    for &epsilon in &thresholds {
        let mapped: Vec<u128> = items
            .iter()
            .map(|&w| threshold(u128::from(w), c, epsilon))
            .filter(|&x| x > 0)
            .collect();
        for k in 1..=MAX_K {
            let total: u128 = mapped.iter().map(|&x| fekete_schepers(x, c, k)).sum();
            best = best.max(ceil_div(total, k * c));
        }
    }
    for &lambda in &params {
        let image = 2 * (c / lambda);
        if image == 0 {
            continue;
        }
        let total: u128 = items.iter().map(|&w| ccm(u128::from(w), c, lambda)).sum();
        best = best.max(ceil_div(total, image));
    }
    u64::try_from(best).unwrap_or(u64::MAX)
}
