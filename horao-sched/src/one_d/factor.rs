//! A sparse LU factorization of the simplex basis, with product-form updates: the master's
//! solves with B and Bᵀ at the cost of the factors' entries instead of m² per pivot.
//!
//! The basis B (m × m, its columns the basic variables by position) is factorized by
//! Gaussian elimination in the order of Markowitz's rule (the pivot of least (r − 1)(c − 1),
//! r and c its row and column counts in the part not yet eliminated), among the entries of
//! at least a tenth of their column's largest (threshold pivoting, for stability). Cutting-
//! stock bases have three or four entries per column and stay nearly as sparse in L and U,
//! although B⁻¹ itself is mostly dense. Each pivot of the simplex then appends one eta
//! column (the entering column in the basis's terms) instead of changing the factors; the
//! master refactorizes when the etas outweigh the factors.

/// Entries below this fraction of their column's largest are not taken as pivots.
const THRESHOLD: f64 = 0.1;
/// Entries smaller than this are not taken as pivots at all (the basis is then singular).
const TINY_PIVOT: f64 = 1e-9;
/// Columns the Markowitz search examines for a pivot (the shortest first).
const SEARCH: usize = 4;
/// Entries that cancel to below this in the elimination, or in an eta column, are dropped.
const DROP: f64 = 1e-13;

/// One step of the elimination: the pivot's row and position, its value, and where its
/// multipliers (in `lower`) and the rest of its row (in `upper`) end.
#[derive(Clone, Debug)]
struct Step {
    row: usize,
    position: usize,
    pivot: f64,
    lower_end: usize,
    upper_end: usize,
}

/// A basis change after the factorization: the column at `position` was replaced by one
/// whose solve B⁻¹a had `pivot` there and the entries up to `end` (in `eta_entries`)
/// elsewhere.
#[derive(Clone, Debug)]
struct Eta {
    position: usize,
    pivot: f64,
    end: usize,
}

/// B = L⁻¹ U (rows and positions permuted) times the eta columns of the later pivots.
#[derive(Clone, Debug)]
pub(crate) struct Factor {
    m: usize,
    steps: Vec<Step>,
    /// (row, multiplier) of each step: that row lost multiplier × the pivot row.
    lower: Vec<(usize, f64)>,
    /// (position, value) of each step's pivot row beyond the pivot, in positions eliminated
    /// later.
    upper: Vec<(usize, f64)>,
    etas: Vec<Eta>,
    /// (position, value) of each eta column beyond its pivot.
    eta_entries: Vec<(usize, f64)>,
}

/// The basis has no usable pivot left: it is singular, or nearly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Singular;

/// The part of the matrix not yet eliminated: columns with their entries, rows with the
/// positions of theirs.
struct Active {
    columns: Vec<Vec<(usize, f64)>>,
    rows: Vec<Vec<usize>>,
    column_done: Vec<bool>,
    row_done: Vec<bool>,
    /// Columns that had one entry when pushed (checked again when popped).
    column_singletons: Vec<usize>,
    /// Rows that had one entry when pushed (checked again when popped).
    row_singletons: Vec<usize>,
    /// Columns by their number of entries when pushed (checked again when read): the
    /// Markowitz search looks at the shortest first.
    by_count: Vec<Vec<usize>>,
    /// Per row, its index in the column being updated (usize::MAX when absent).
    mark: Vec<usize>,
    /// Elementary operations spent.
    work: u64,
}

/// Takes `candidate` (Markowitz cost, size relative to its column, row, position) if its cost
/// is lower, or equal with a larger relative size.
fn consider(best: &mut Option<(usize, f64, usize, usize)>, candidate: (usize, f64, usize, usize)) {
    let (cost, relative, ..) = candidate;
    if best.is_none_or(|(c, r, ..)| cost < c || (cost == c && relative > r)) {
        *best = Some(candidate);
    }
}

/// The largest magnitude among `column`'s entries.
fn largest(column: &[(usize, f64)]) -> f64 {
    column.iter().fold(0.0f64, |a, &(_, v)| a.max(v.abs()))
}

/// Whether entry `v` of `column` may be a pivot (threshold pivoting).
fn acceptable(v: f64, column: &[(usize, f64)]) -> bool {
    v.abs() >= TINY_PIVOT && v.abs() >= THRESHOLD * largest(column)
}

impl Active {
    /// The matrix of `columns` (by position), nothing eliminated yet.
    fn new(columns: Vec<Vec<(usize, f64)>>) -> Self {
        let m = columns.len();
        let mut rows = vec![Vec::new(); m];
        for (j, column) in columns.iter().enumerate() {
            for &(i, _) in column {
                rows[i].push(j);
            }
        }
        let column_singletons = (0..m).rev().filter(|&j| columns[j].len() == 1).collect();
        let row_singletons = (0..m).rev().filter(|&i| rows[i].len() == 1).collect();
        let mut by_count = vec![Vec::new(); m + 1];
        for (j, column) in columns.iter().enumerate().rev() {
            by_count[column.len().min(m)].push(j);
        }
        Self {
            columns,
            rows,
            column_done: vec![false; m],
            row_done: vec![false; m],
            column_singletons,
            row_singletons,
            by_count,
            mark: vec![usize::MAX; m],
            work: m as u64,
        }
    }

    /// The next pivot (row, position): a singleton column, else a singleton row, else the
    /// entry of least Markowitz cost among the columns of the fewest entries (and one more);
    /// ties go to the larger entry relative to its column.
    fn choose(&mut self) -> Result<(usize, usize), Singular> {
        while let Some(j) = self.column_singletons.pop() {
            if let [(i, v)] = self.columns[j][..]
                && !self.column_done[j]
                && v.abs() >= TINY_PIVOT
            {
                return Ok((i, j));
            }
        }
        while let Some(i) = self.row_singletons.pop() {
            if let [j] = self.rows[i][..]
                && !self.row_done[i]
            {
                let column = &self.columns[j];
                self.work += column.len() as u64;
                if let Some(&(_, v)) = column.iter().find(|&&(r, _)| r == i)
                    && acceptable(v, column)
                {
                    return Ok((i, j));
                }
            }
        }
        let mut best: Option<(usize, f64, usize, usize)> = None;
        let mut examined = 0;
        for count in 0..self.by_count.len() {
            let mut k = self.by_count[count].len();
            while k > 0 && examined < SEARCH {
                k -= 1;
                let j = self.by_count[count][k];
                if self.column_done[j] || self.columns[j].len() != count {
                    self.by_count[count].swap_remove(k);
                    continue;
                }
                if count == 0 {
                    return Err(Singular);
                }
                let column = &self.columns[j];
                let top = largest(column);
                self.work += column.len() as u64;
                examined += 1;
                for &(i, v) in column {
                    if v.abs() >= TINY_PIVOT && v.abs() >= THRESHOLD * top {
                        let cost = (self.rows[i].len() - 1) * (count - 1);
                        consider(&mut best, (cost, v.abs() / top, i, j));
                    }
                }
            }
            if examined >= SEARCH && best.is_some() {
                break;
            }
        }
        best.map(|(_, _, i, j)| (i, j)).ok_or(Singular)
    }

    /// Removes position `j` from the pattern of row `i`, noting the row if one entry is left.
    fn unlink(&mut self, i: usize, j: usize) {
        let row = &mut self.rows[i];
        self.work += row.len() as u64;
        row.retain(|&k| k != j);
        if row.len() == 1 {
            self.row_singletons.push(i);
        }
    }

    /// Eliminates column `q` with the pivot in row `p`: appends the step's multipliers to
    /// `lower` and the rest of its row to `upper`, and updates the columns of that row.
    fn eliminate(
        &mut self,
        p: usize,
        q: usize,
        lower: &mut Vec<(usize, f64)>,
        upper: &mut Vec<(usize, f64)>,
    ) -> f64 {
        let column = std::mem::take(&mut self.columns[q]);
        let pivot = column
            .iter()
            .find(|&&(i, _)| i == p)
            .map_or(0.0, |&(_, v)| v);
        let first = lower.len();
        self.column_done[q] = true;
        self.row_done[p] = true;
        for &(i, v) in &column {
            if i != p {
                lower.push((i, v / pivot));
                self.unlink(i, q);
            }
        }
        for j in std::mem::take(&mut self.rows[p]) {
            if j == q {
                continue;
            }
            let mut entries = std::mem::take(&mut self.columns[j]);
            let Some(at) = entries.iter().position(|&(i, _)| i == p) else {
                self.columns[j] = entries;
                continue;
            };
            let (_, value) = entries.swap_remove(at);
            upper.push((j, value));
            if lower.len() > first {
                for (k, &(i, _)) in entries.iter().enumerate() {
                    self.mark[i] = k;
                }
                for &(i, l) in &lower[first..] {
                    match self.mark[i] {
                        usize::MAX => {
                            self.mark[i] = entries.len();
                            entries.push((i, -l * value));
                            self.rows[i].push(j);
                        }
                        k => entries[k].1 -= l * value,
                    }
                }
                self.work += (entries.len() + lower.len() - first) as u64;
                for &(i, _) in &entries {
                    self.mark[i] = usize::MAX;
                }
                if entries.iter().any(|&(_, v)| v.abs() < DROP) {
                    for &(i, _) in entries.iter().filter(|&&(_, v)| v.abs() < DROP) {
                        self.unlink(i, j);
                    }
                    entries.retain(|&(_, v)| v.abs() >= DROP);
                }
            }
            if entries.len() == 1 {
                self.column_singletons.push(j);
            }
            let last = self.by_count.len() - 1;
            self.by_count[entries.len().min(last)].push(j);
            self.columns[j] = entries;
        }
        pivot
    }
}

impl Factor {
    /// Factorizes the m × m basis whose column at each position is given as (row, value)
    /// entries; also returns the elementary operations it took.
    pub(crate) fn new(columns: Vec<Vec<(usize, f64)>>) -> Result<(Self, u64), Singular> {
        let m = columns.len();
        let mut active = Active::new(columns);
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        let mut steps = Vec::with_capacity(m);
        for _ in 0..m {
            let (row, position) = active.choose()?;
            let pivot = active.eliminate(row, position, &mut lower, &mut upper);
            steps.push(Step {
                row,
                position,
                pivot,
                lower_end: lower.len(),
                upper_end: upper.len(),
            });
        }
        let factor = Self {
            m,
            steps,
            lower,
            upper,
            etas: Vec::new(),
            eta_entries: Vec::new(),
        };
        Ok((factor, active.work))
    }

    /// The factorization of a diagonal basis: `pivots[i]` in row and position i.
    pub(crate) fn diagonal(pivots: &[f64]) -> Self {
        let steps = pivots
            .iter()
            .enumerate()
            .map(|(i, &pivot)| Step {
                row: i,
                position: i,
                pivot,
                lower_end: 0,
                upper_end: 0,
            })
            .collect();
        Self {
            m: pivots.len(),
            steps,
            lower: Vec::new(),
            upper: Vec::new(),
            etas: Vec::new(),
            eta_entries: Vec::new(),
        }
    }

    /// The entries of L and U (the work of a solve without etas).
    pub(crate) fn factor_entries(&self) -> usize {
        self.lower.len() + self.upper.len() + self.m
    }

    /// The entries of the eta columns appended since the factorization.
    pub(crate) fn eta_entries(&self) -> usize {
        self.eta_entries.len() + self.etas.len()
    }

    /// The elementary operations of one solve, at most.
    pub(crate) fn solve_work(&self) -> u64 {
        (self.factor_entries() + self.eta_entries()) as u64
    }

    /// Where the multipliers and the row of U of step `k` begin.
    fn starts(&self, k: usize) -> (usize, usize) {
        k.checked_sub(1).map_or((0, 0), |k| {
            (self.steps[k].lower_end, self.steps[k].upper_end)
        })
    }

    /// Where the entries of eta column `k` begin.
    fn eta_start(&self, k: usize) -> usize {
        k.checked_sub(1).map_or(0, |k| self.etas[k].end)
    }

    /// B⁻¹a for `a` given by row (overwritten); the result is by position.
    pub(crate) fn solve(&self, a: &mut [f64]) -> Vec<f64> {
        for (k, step) in self.steps.iter().enumerate() {
            let v = a[step.row];
            if v != 0.0 {
                for &(i, l) in &self.lower[self.starts(k).0..step.lower_end] {
                    a[i] -= l * v;
                }
            }
        }
        let mut x = vec![0.0; self.m];
        for (k, step) in self.steps.iter().enumerate().rev() {
            let mut v = a[step.row];
            for &(j, u) in &self.upper[self.starts(k).1..step.upper_end] {
                v -= u * x[j];
            }
            x[step.position] = v / step.pivot;
        }
        for (k, eta) in self.etas.iter().enumerate() {
            let v = x[eta.position] / eta.pivot;
            x[eta.position] = v;
            if v != 0.0 {
                for &(i, e) in &self.eta_entries[self.eta_start(k)..eta.end] {
                    x[i] -= e * v;
                }
            }
        }
        x
    }

    /// cᵀB⁻¹ for `c` given by position (overwritten); the result is by row.
    pub(crate) fn solve_transposed(&self, c: &mut [f64]) -> Vec<f64> {
        for (k, eta) in self.etas.iter().enumerate().rev() {
            let mut v = c[eta.position];
            for &(i, e) in &self.eta_entries[self.eta_start(k)..eta.end] {
                v -= e * c[i];
            }
            c[eta.position] = v / eta.pivot;
        }
        let mut y = vec![0.0; self.m];
        for (k, step) in self.steps.iter().enumerate() {
            let v = c[step.position] / step.pivot;
            y[step.row] = v;
            if v != 0.0 {
                for &(j, u) in &self.upper[self.starts(k).1..step.upper_end] {
                    c[j] -= u * v;
                }
            }
        }
        for (k, step) in self.steps.iter().enumerate().rev() {
            let mut v = y[step.row];
            for &(i, l) in &self.lower[self.starts(k).0..step.lower_end] {
                v -= l * y[i];
            }
            y[step.row] = v;
        }
        y
    }

    /// Replaces the basis column at `position` by the column whose [`Factor::solve`] is
    /// `alpha` (its entry at `position` must be far from zero).
    pub(crate) fn update(&mut self, position: usize, alpha: &[f64]) {
        self.eta_entries.extend(
            alpha
                .iter()
                .enumerate()
                .filter(|&(i, &a)| i != position && a.abs() >= DROP)
                .map(|(i, &a)| (i, a)),
        );
        self.etas.push(Eta {
            position,
            pivot: alpha[position],
            end: self.eta_entries.len(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A random m × m basis by position: a permuted diagonal of 1 to 4 copies (so it is
    /// nonsingular) and up to `extra` more entries per column, some of them −1.
    fn random_basis(rng: &mut impl Rng, m: usize, extra: usize) -> Vec<Vec<(usize, f64)>> {
        let mut rows: Vec<usize> = (0..m).collect();
        for i in (1..m).rev() {
            rows.swap(i, rng.random_range(0..=i));
        }
        (0..m)
            .map(|j| {
                let mut column = vec![(rows[j], rng.random_range(1..=4) as f64)];
                for _ in 0..rng.random_range(0..=extra) {
                    let i = rng.random_range(0..m);
                    if column.iter().all(|&(r, _)| r != i) {
                        let v = if rng.random_bool(0.2) {
                            -1.0
                        } else {
                            rng.random_range(1..=3) as f64
                        };
                        column.push((i, v));
                    }
                }
                column
            })
            .collect()
    }

    /// B x by row, for B given by position.
    fn times(basis: &[Vec<(usize, f64)>], x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; basis.len()];
        for (column, &v) in basis.iter().zip(x) {
            for &(i, b) in column {
                out[i] += b * v;
            }
        }
        out
    }

    /// yᵀB by position.
    fn times_transposed(basis: &[Vec<(usize, f64)>], y: &[f64]) -> Vec<f64> {
        basis
            .iter()
            .map(|column| column.iter().map(|&(i, b)| b * y[i]).sum())
            .collect()
    }

    fn close(a: &[f64], b: &[f64]) -> f64 {
        let scale = b.iter().fold(1.0f64, |s, v| s.max(v.abs()));
        a.iter()
            .zip(b)
            .fold(0.0f64, |d, (x, y)| d.max((x - y).abs()))
            / scale
    }

    /// Both solves agree with the basis they factorize, on random sparse bases and after a
    /// run of column replacements (the product-form etas).
    #[test]
    fn solves_with_the_basis_and_its_transpose_through_updates() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        let (mut checked, mut updated, mut fill) = (0, 0, 0);
        for case in 0..300 {
            let m = rng.random_range(1..=80);
            let mut basis = random_basis(&mut rng, m, 3);
            let Ok((mut factor, _)) = Factor::new(basis.clone()) else {
                continue;
            };
            fill += factor.factor_entries();
            for round in 0..30 {
                let a: Vec<f64> = (0..m).map(|_| rng.random_range(-2.0..2.0)).collect();
                let x = factor.solve(&mut a.clone());
                assert!(
                    close(&times(&basis, &x), &a) < 1e-8,
                    "case {case} round {round}"
                );
                let c: Vec<f64> = (0..m).map(|_| rng.random_range(-2.0..2.0)).collect();
                let y = factor.solve_transposed(&mut c.clone());
                assert!(
                    close(&times_transposed(&basis, &y), &c) < 1e-8,
                    "case {case} round {round}"
                );
                checked += 1;
                // Replace a column by a random sparse one, when its pivot is sound.
                let r = rng.random_range(0..m);
                let mut column: Vec<(usize, f64)> = Vec::new();
                for _ in 0..rng.random_range(1..=4) {
                    let i = rng.random_range(0..m);
                    if column.iter().all(|&(k, _)| k != i) {
                        column.push((i, rng.random_range(1..=3) as f64));
                    }
                }
                let mut dense = vec![0.0; m];
                for &(i, v) in &column {
                    dense[i] = v;
                }
                let alpha = factor.solve(&mut dense);
                if alpha[r].abs() > 0.1 {
                    factor.update(r, &alpha);
                    basis[r] = column;
                    updated += 1;
                }
            }
        }
        assert!(checked > 5_000, "{checked}");
        assert!(updated > 2_000, "{updated}");
        assert!(fill > 0);
    }

    /// A basis with a column of zeros, or two equal columns, is reported singular.
    #[test]
    fn a_singular_basis_is_reported() {
        let zero = vec![vec![(0, 1.0)], vec![], vec![(2, 1.0)]];
        assert_eq!(Factor::new(zero).err(), Some(Singular));
        let twice = vec![
            vec![(0, 1.0), (1, 2.0)],
            vec![(0, 1.0), (1, 2.0)],
            vec![(2, 1.0)],
        ];
        assert_eq!(Factor::new(twice).err(), Some(Singular));
        let fine = vec![
            vec![(0, 1.0), (1, 2.0)],
            vec![(0, 1.0), (1, 3.0)],
            vec![(2, 1.0)],
        ];
        assert!(Factor::new(fine).is_ok());
    }
}
