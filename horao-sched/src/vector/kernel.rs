//! Inner-loop kernels shared by vector packing and placement: fit tests and normalised scores.

/// Whether `need` fits into `residual` in every dimension.
#[inline]
pub(crate) fn fits(need: &[u64], residual: &[u64]) -> bool {
    need.iter().zip(residual).all(|(n, r)| n <= r)
}

/// Subtracts `need` from `residual`; the caller has checked [`fits`].
#[inline]
pub(crate) fn take(residual: &mut [u64], need: &[u64]) {
    for (r, n) in residual.iter_mut().zip(need) {
        *r = r.saturating_sub(*n);
    }
}

/// The reciprocal of each scale entry, used to normalise sizes (a zero scale gives zero
/// weight: nothing can be demanded of that dimension anyway).
pub(crate) fn inverse_scale(scale: &[u64]) -> Vec<f64> {
    scale
        .iter()
        .map(|&c| if c == 0 { 0.0 } else { 1.0 / c as f64 })
        .collect()
}

/// Σ_d size_d / scale_d.
#[inline]
pub(crate) fn normalized_sum(size: &[u64], inv: &[f64]) -> f64 {
    size.iter().zip(inv).map(|(&s, &w)| s as f64 * w).sum()
}

/// Π_d size_d / scale_d over the dimensions with a positive scale.
#[inline]
pub(crate) fn normalized_product(size: &[u64], inv: &[f64]) -> f64 {
    size.iter()
        .zip(inv)
        .filter(|&(_, &w)| w > 0.0)
        .map(|(&s, &w)| s as f64 * w)
        .product()
}

/// Σ_d (size_d / scale_d) · (residual_d / scale_d): how well an item aligns with free space.
#[inline]
pub(crate) fn dot(size: &[u64], residual: &[u64], inv: &[f64]) -> f64 {
    size.iter()
        .zip(residual)
        .zip(inv)
        .map(|((&s, &r), &w)| s as f64 * r as f64 * w * w)
        .sum()
}

/// Σ_d ((residual_d − size_d) / scale_d)²: the free space an item would leave, squared.
/// The caller has checked that the item fits.
#[inline]
pub(crate) fn l2_gap(size: &[u64], residual: &[u64], inv: &[f64]) -> f64 {
    size.iter()
        .zip(residual)
        .zip(inv)
        .map(|((&s, &r), &w)| {
            let g = r.saturating_sub(s) as f64 * w;
            g * g
        })
        .sum()
}
