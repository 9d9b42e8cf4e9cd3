//! The explicit basis inverse of the master LP on small bases: m × m numbers, a rank-one
//! update per pivot (vectorised, four columns per pass) and a Gauss–Jordan rebuild every few
//! pivots per row, so rounding errors do not pile up.
//!
//! Below a few hundred rows this beats the sparse factorization of the `factor` module: a
//! pivot's m² multiply-adds run in a few microseconds, while the sparse solves chase indices.

/// Pivot elements below this are not used when rebuilding.
const PIVOT: f64 = 1e-9;

/// The rank-one update of four columns of the inverse in one pass over `alpha`: each column
/// loses its factor × alpha and takes the factor in row `r`; empties `batch`.
#[inline(always)]
fn update_four(batch: &mut Vec<(&mut [f64], f64)>, alpha: &[f64], r: usize) {
    let mut columns = batch.drain(..);
    let (Some((c0, f0)), Some((c1, f1)), Some((c2, f2)), Some((c3, f3))) = (
        columns.next(),
        columns.next(),
        columns.next(),
        columns.next(),
    ) else {
        unreachable!("a batch of four columns");
    };
    drop(columns);
    let m = alpha.len();
    let (c0, c1, c2, c3) = (&mut c0[..m], &mut c1[..m], &mut c2[..m], &mut c3[..m]);
    for i in 0..m {
        let a = alpha[i];
        c0[i] -= a * f0;
        c1[i] -= a * f1;
        c2[i] -= a * f2;
        c3[i] -= a * f3;
    }
    c0[r] = f0;
    c1[r] = f1;
    c2[r] = f2;
    c3[r] = f3;
}

/// The rank-one update of [`Inverse::update`] on the column-major `values` of an m × m
/// inverse. Compiled for wide vectors as well and chosen at run time by the processor; the
/// same multiplications and subtractions in the same order (never fused), so the same bits
/// on every processor.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+avx2",
    "x86_64+avx2+avx"
))]
fn replace_column(values: &mut [f64], m: usize, r: usize, alpha: &[f64], row: &[f64]) {
    let pivot = alpha[r];
    // Column k of B⁻¹ loses factor_k × alpha and takes factor_k in row r (factor_k =
    // B⁻¹[r][k] / pivot; a zero factor leaves the column alone). Four columns are
    // updated per pass over alpha, each entry by the same operation as alone.
    let mut batch: Vec<(&mut [f64], f64)> = Vec::with_capacity(4);
    for (column, &entry) in values.chunks_exact_mut(m).zip(row) {
        let factor = entry / pivot;
        if factor == 0.0 {
            continue;
        }
        batch.push((column, factor));
        if batch.len() == 4 {
            update_four(&mut batch, alpha, r);
        }
    }
    for (column, factor) in batch {
        for (b, &a) in column.iter_mut().zip(alpha) {
            *b -= a * factor;
        }
        column[r] = factor;
    }
}

/// B⁻¹, column-major: `values[k * m + i]` is B⁻¹[i][k].
#[derive(Clone, Debug)]
pub(crate) struct Inverse {
    m: usize,
    values: Vec<f64>,
}

impl Inverse {
    /// The inverse of a diagonal basis with `pivots[i]` in row and position i.
    pub(crate) fn diagonal(pivots: &[f64]) -> Self {
        let m = pivots.len();
        let mut values = vec![0.0; m * m];
        for (i, &p) in pivots.iter().enumerate() {
            values[i * m + i] = 1.0 / p;
        }
        Self { m, values }
    }

    /// B⁻¹a for the column a of (row, value) `entries`, added column by column in their
    /// order.
    pub(crate) fn solve(&self, entries: &[(usize, f64)]) -> Vec<f64> {
        let m = self.m;
        let mut alpha = vec![0.0; m];
        for &(k, factor) in entries {
            let column = &self.values[k * m..(k + 1) * m];
            for (a, &b) in alpha.iter_mut().zip(column) {
                *a += factor * b;
            }
        }
        alpha
    }

    /// Row `r` of B⁻¹.
    pub(crate) fn row(&self, r: usize) -> Vec<f64> {
        (0..self.m).map(|k| self.values[k * self.m + r]).collect()
    }

    /// cᵀB⁻¹ for the costs `c` by basis row, skipping the zero costs.
    pub(crate) fn duals(&self, costs: &[f64]) -> Vec<f64> {
        let m = self.m;
        (0..m)
            .map(|k| {
                (0..m)
                    .filter(|&r| costs[r] != 0.0)
                    .map(|r| costs[r] * self.values[k * m + r])
                    .sum()
            })
            .collect()
    }

    /// B⁻¹b for the right-hand side `b` by row, over every row.
    pub(crate) fn values(&self, b: &[f64]) -> Vec<f64> {
        let m = self.m;
        (0..m)
            .map(|r| (0..m).map(|k| self.values[k * m + r] * b[k]).sum())
            .collect()
    }

    /// The inverse after the basis column at row `r` is replaced by the column whose solve
    /// is `alpha`, given row `r` of the inverse before (`row`).
    pub(crate) fn update(&mut self, r: usize, alpha: &[f64], row: &[f64]) {
        replace_column(&mut self.values, self.m, r, alpha, row);
    }

    /// Rebuilds the inverse of the basis whose columns (by basis row) are `columns`, by
    /// Gauss–Jordan elimination with partial pivoting; false (nothing changes) if the basis
    /// looks singular.
    pub(crate) fn rebuild(&mut self, columns: &[Vec<(usize, f64)>]) -> bool {
        let m = self.m;
        // Row-major augmented [B | I].
        let width = 2 * m;
        let mut a = vec![0.0; m * width];
        for (r, column) in columns.iter().enumerate() {
            for &(i, v) in column {
                a[i * width + r] = v;
            }
        }
        for i in 0..m {
            a[i * width + m + i] = 1.0;
        }
        for col in 0..m {
            let Some(p) = (col..m).max_by(|&p, &q| {
                a[p * width + col]
                    .abs()
                    .total_cmp(&a[q * width + col].abs())
            }) else {
                return false;
            };
            if a[p * width + col].abs() < PIVOT {
                return false;
            }
            if p != col {
                for k in 0..width {
                    a.swap(p * width + k, col * width + k);
                }
            }
            // Columns up to `col` are never read again (later steps pivot on the columns to
            // their right, and the inverse is the right half), so only the rest is updated.
            let scale = 1.0 / a[col * width + col];
            for k in col + 1..width {
                a[col * width + k] *= scale;
            }
            let pivot_row: Vec<f64> = a[col * width + col + 1..(col + 1) * width].to_vec();
            for i in 0..m {
                let factor = a[i * width + col];
                if i == col || factor == 0.0 {
                    continue;
                }
                let row = &mut a[i * width + col + 1..(i + 1) * width];
                for (v, &p) in row.iter_mut().zip(&pivot_row) {
                    *v -= factor * p;
                }
            }
        }
        // Row r of B⁻¹ is row r of the right half; store column-major.
        for r in 0..m {
            for k in 0..m {
                self.values[k * m + r] = a[r * width + m + k];
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The reference update of one column, scalar: it loses `factor` × `alpha` and takes
    /// `factor` in row `r`.
    fn update_alone(column: &mut [f64], alpha: &[f64], factor: f64, r: usize) {
        for (b, &a) in column.iter_mut().zip(alpha) {
            *b -= a * factor;
        }
        column[r] = factor;
    }

    /// The bits of every value, for comparisons to the bit.
    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|f| f.to_bits()).collect()
    }

    /// Four columns updated in one pass hold, to the bit, what the update of each column
    /// alone gives (factor × alpha subtracted, the factor written in the pivot row).
    #[test]
    fn four_columns_at_once_update_as_one_at_a_time() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        for case in 0..500 {
            let m = rng.random_range(1..200);
            let r = rng.random_range(0..m);
            let alpha: Vec<f64> = (0..m).map(|_| rng.random_range(-3.0..3.0)).collect();
            let factors: Vec<f64> = (0..4).map(|_| rng.random_range(-2.0..2.0)).collect();
            let start: Vec<f64> = (0..4 * m).map(|_| rng.random_range(-5.0..5.0)).collect();
            let mut expected = start.clone();
            for (column, &factor) in expected.chunks_exact_mut(m).zip(&factors) {
                update_alone(column, &alpha, factor, r);
            }
            let mut got = start;
            let mut batch: Vec<(&mut [f64], f64)> = got
                .chunks_exact_mut(m)
                .zip(factors.iter().copied())
                .collect();
            update_four(&mut batch, &alpha, r);
            assert!(batch.is_empty());
            assert_eq!(bits(&got), bits(&expected), "case {case}");
        }
    }

    /// The update as the processor runs it (wide vectors where it has them) holds, to the
    /// bit, what the update of each column alone with scalar arithmetic gives, zero factors
    /// included: so the simplex pivots the same way on every machine.
    #[test]
    fn the_dispatched_update_has_the_bits_of_the_scalar_one() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29);
        for case in 0..300 {
            let m = rng.random_range(1..120);
            let r = rng.random_range(0..m);
            let mut alpha: Vec<f64> = (0..m).map(|_| rng.random_range(-3.0..3.0)).collect();
            alpha[r] = rng.random_range(0.5..3.0);
            let row: Vec<f64> = (0..m)
                .map(|_| {
                    if rng.random_bool(0.3) {
                        0.0
                    } else {
                        rng.random_range(-2.0..2.0)
                    }
                })
                .collect();
            let start: Vec<f64> = (0..m * m).map(|_| rng.random_range(-5.0..5.0)).collect();
            let mut expected = start.clone();
            for (column, &entry) in expected.chunks_exact_mut(m).zip(&row) {
                let factor = entry / alpha[r];
                if factor != 0.0 {
                    update_alone(column, &alpha, factor, r);
                }
            }
            let mut inverse = Inverse { m, values: start };
            inverse.update(r, &alpha, &row);
            assert_eq!(bits(&inverse.values), bits(&expected), "case {case}");
        }
    }

    /// The rebuilt inverse times B is the identity, and it agrees with the one the rank-one
    /// updates kept through random column replacements.
    #[test]
    fn rebuild_and_updates_agree_with_the_basis() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let mut updates = 0;
        for case in 0..60 {
            let m = rng.random_range(1..=40);
            let mut columns: Vec<Vec<(usize, f64)>> = (0..m)
                .map(|i| vec![(i, rng.random_range(1..=4) as f64)])
                .collect();
            let pivots: Vec<f64> = columns.iter().map(|c| c[0].1).collect();
            let mut inverse = Inverse::diagonal(&pivots);
            for _ in 0..3 * m {
                let r = rng.random_range(0..m);
                let mut column: Vec<(usize, f64)> = Vec::new();
                for i in 0..m {
                    if rng.random_bool(0.15) {
                        column.push((i, rng.random_range(1..=3) as f64));
                    }
                }
                let alpha = inverse.solve(&column);
                if alpha[r].abs() > 0.1 {
                    let row = inverse.row(r);
                    inverse.update(r, &alpha, &row);
                    columns[r] = column;
                    updates += 1;
                }
            }
            let kept = inverse.clone();
            assert!(inverse.rebuild(&columns), "case {case}");
            for (k, column) in columns.iter().enumerate() {
                // B⁻¹ times column k of B is unit vector k.
                let x = inverse.solve(column);
                for (i, &v) in x.iter().enumerate() {
                    let unit = if i == k { 1.0 } else { 0.0 };
                    assert!((v - unit).abs() < 1e-9, "case {case}: {v}");
                }
            }
            for (a, b) in kept.values.iter().zip(&inverse.values) {
                assert!((a - b).abs() < 1e-6, "case {case}: {a} {b}");
            }
        }
        assert!(updates > 500, "{updates}");
        let singular = vec![vec![(0, 1.0)], vec![(0, 2.0)]];
        assert!(!Inverse::diagonal(&[1.0, 1.0]).rebuild(&singular));
    }
}
