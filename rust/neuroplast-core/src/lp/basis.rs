//! A fresh LU factorization of a simplex basis, built from the standard form's own columns.
//!
//! The dense tableau is updated pivot by pivot, so its rounding errors accumulate, and one
//! tiny pivot can multiply them by many orders of magnitude. Reinversion rebuilds the tableau,
//! the basic values and the duals from `B = [A | artificials]_basis` factored anew, which is
//! also what every claim of the simplex (optimal, infeasible, unbounded) is confirmed against.

use faer::linalg::solvers::{PartialPivLu, Solve};
use faer::Mat;

use super::stdform::{Col, StdForm};

/// Pivots of `U` below this fraction of its largest pivot mark a singular basis.
const SINGULAR: f64 = 1e-14;
/// Columns per block of the tableau rebuild (bounds the temporary right-hand side).
const BLOCK: usize = 256;

/// The columns of a simplex tableau: the standard form's, then one `±e_row` per artificial.
#[derive(Clone, Copy)]
pub(crate) struct Columns<'a> {
    pub sf: &'a StdForm,
    /// `(row, sign)` of each artificial column, in column order after the structural ones.
    pub art: &'a [(usize, f64)],
}

impl Columns<'_> {
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.sf.n() + self.art.len()
    }

    /// Writes column `j` into `out` (length `m`, overwritten).
    pub fn write(&self, j: usize, out: &mut [f64]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        let n = self.sf.n();
        if j < n {
            match self.sf.cols[j] {
                Col::Empty => {}
                Col::Single { row, v } => out[row] = v,
                Col::Dense { k, s } => out.iter_mut().zip(self.sf.dense_col(k)).for_each(|(o, d)| *o = s * d),
            }
        } else {
            let (row, v) = self.art[j - n];
            out[row] = v;
        }
    }
}

/// `B = LU` for the columns `basis` (one per row).
pub(crate) struct Basis {
    lu: PartialPivLu<f64>,
    m: usize,
}

impl Basis {
    /// Factors the basis; `None` if it is singular to working precision.
    pub fn factor(cols: Columns<'_>, basis: &[usize]) -> Option<Self> {
        let m = basis.len();
        let mut b = Mat::<f64>::zeros(m, m);
        let mut col = vec![0.0; m];
        for (k, &j) in basis.iter().enumerate() {
            cols.write(j, &mut col);
            col.iter().enumerate().for_each(|(i, v)| b[(i, k)] = *v);
        }
        let lu = PartialPivLu::new(b.as_ref());
        let u = lu.U();
        let umax = (0..m).fold(0.0f64, |a, i| a.max(u[(i, i)].abs()));
        let ok = (0..m).all(|i| u[(i, i)].is_finite() && u[(i, i)].abs() > SINGULAR * umax);
        ok.then_some(Self { lu, m })
    }

    /// `B⁻¹ v`.
    pub fn solve(&self, v: &[f64]) -> Vec<f64> {
        let mut r = Mat::from_fn(self.m, 1, |i, _| v[i]);
        self.lu.solve_in_place(r.as_mut());
        (0..self.m).map(|i| r[(i, 0)]).collect()
    }

    /// `B⁻ᵀ v` (the duals `y` for `v = c_B`).
    pub fn solve_transpose(&self, v: &[f64]) -> Vec<f64> {
        let mut r = Mat::from_fn(self.m, 1, |i, _| v[i]);
        self.lu.solve_transpose_in_place(r.as_mut());
        (0..self.m).map(|i| r[(i, 0)]).collect()
    }

    /// The tableau `B⁻¹ [A | artificials]`, row-major `m × cols.len()`, written into `t`.
    pub fn tableau(&self, cols: Columns<'_>, t: &mut [f64]) {
        let (m, w) = (self.m, cols.len());
        let mut col = vec![0.0; m];
        for j0 in (0..w).step_by(BLOCK) {
            let j1 = (j0 + BLOCK).min(w);
            let mut rhs = Mat::<f64>::zeros(m, j1 - j0);
            for j in j0..j1 {
                cols.write(j, &mut col);
                col.iter().enumerate().for_each(|(i, v)| rhs[(i, j - j0)] = *v);
            }
            self.lu.solve_in_place(rhs.as_mut());
            for i in 0..m {
                let row = &mut t[i * w + j0..i * w + j1];
                row.iter_mut().enumerate().for_each(|(c, v)| *v = rhs[(i, c)]);
            }
        }
    }
}
