//! The internal standard form shared by both solvers: `min cᵀx  s.t.  A x = b,
//! 0 ≤ x ≤ u` (`u` may be `+inf`), with a column-wise structure the solvers exploit.
//!
//! Finite lower bounds are shifted to zero, `(-inf, u]` variables are negated, free variables
//! are split into `x⁺ - x⁻`, and every inequality row gets a slack column. Each column is then
//! classified as empty, a *singleton* (one nonzero; slacks, surplus and artificial variables
//! of data LPs) or *dense*. Dense columns equal up to sign (a split free variable, or a pair
//! `w⁺, w⁻` the user split) share one stored copy, so the interior-point normal matrix adds
//! their weights instead of forming two identical rank-one products.

use std::collections::HashMap;

use rayon::prelude::*;

use super::problem::{dot, LpProblem};

/// How one standard-form column is stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Col {
    /// An all-zero column.
    Empty,
    /// A single nonzero `v` in `row`.
    Single { row: usize, v: f64 },
    /// `s` (±1) times the stored dense column `k`.
    Dense { k: usize, s: f64 },
}

/// How an original variable is recovered from standard-form values.
#[derive(Clone, Copy, Debug)]
enum VarMap {
    /// `x = shift + x'[col]`.
    Shift { col: usize, shift: f64 },
    /// `x = shift - x'[col]`.
    Negate { col: usize, shift: f64 },
    /// `x = x'[pos] - x'[neg]`.
    Split { pos: usize, neg: usize },
}

/// `min cᵀx  s.t.  A x = b,  0 ≤ x ≤ upper` (objective up to a constant), columns stored by kind.
#[derive(Clone, Debug)]
pub(crate) struct StdForm {
    pub m: usize,
    pub b: Vec<f64>,
    pub c: Vec<f64>,
    pub upper: Vec<f64>,
    pub cols: Vec<Col>,
    /// Unique dense columns, each `m` contiguous values.
    pub dense: Vec<f64>,
    vars: Vec<VarMap>,
    /// Threads for the dense products (sequential for one).
    pub(crate) threads: usize,
}

/// Rows per parallel block of [`StdForm::dense_combine`].
const ROW_BLOCK: usize = 256;
/// Dense storage below this many values is multiplied sequentially.
const PAR_MIN: usize = 1 << 20;

/// Columns under construction: cost, upper bound, storage.
#[derive(Default)]
struct Columns {
    c: Vec<f64>,
    upper: Vec<f64>,
    cols: Vec<Col>,
}

impl Columns {
    fn push(&mut self, c: f64, upper: f64, col: Col) {
        self.c.push(c);
        self.upper.push(upper);
        self.cols.push(col);
    }
}

/// Deduplicates dense columns up to sign by their exact bit patterns.
struct Interner {
    seen: HashMap<Vec<u64>, usize>,
    dense: Vec<f64>,
    count: usize,
}

impl Interner {
    fn add(&mut self, col: &[f64]) -> Col {
        let nz: Vec<usize> = (0..col.len()).filter(|&i| col[i] != 0.0).collect();
        match nz.as_slice() {
            [] => return Col::Empty,
            [row] => return Col::Single { row: *row, v: col[*row] },
            _ => {}
        }
        let s = if col[nz[0]] > 0.0 { 1.0 } else { -1.0 };
        // `+ 0.0` maps -0.0 to 0.0 so equal columns have equal keys.
        let key: Vec<u64> = col.iter().map(|v| (s * v + 0.0).to_bits()).collect();
        let k = *self.seen.entry(key).or_insert_with(|| {
            self.dense.extend(col.iter().map(|v| s * v));
            self.count += 1;
            self.count - 1
        });
        Col::Dense { k, s }
    }
}

impl StdForm {
    /// Builds the standard form; the caller has ruled out crossed bounds.
    pub fn new(p: &LpProblem<'_>, threads: usize) -> Self {
        let (n, m_ub) = (p.n(), p.m_ub());
        let m = m_ub + p.m_eq();
        let mut b: Vec<f64> = p.b_ub.iter().chain(p.b_eq).copied().collect();
        let mut it = Interner { seen: HashMap::new(), dense: Vec::new(), count: 0 };
        let (mut out, mut vars) = (Columns::default(), Vec::new());
        let mut col = vec![0.0; m];
        for j in 0..n {
            for i in 0..m {
                col[i] = if i < m_ub { p.a_ub[i * n + j] } else { p.a_eq[(i - m_ub) * n + j] };
            }
            let (l, u, cj) = (p.lower[j], p.upper[j], p.c[j]);
            let shift = if l.is_finite() {
                l
            } else if u.is_finite() {
                u
            } else {
                0.0
            };
            if shift != 0.0 {
                b.iter_mut().zip(&col).for_each(|(bi, a)| *bi -= a * shift);
            }
            let idx = out.cols.len();
            if l.is_finite() {
                vars.push(VarMap::Shift { col: idx, shift });
                out.push(cj, u - l, it.add(&col));
            } else {
                col.iter_mut().for_each(|a| *a = -*a);
                let neg = it.add(&col);
                if u.is_finite() {
                    vars.push(VarMap::Negate { col: idx, shift });
                    out.push(-cj, f64::INFINITY, neg);
                } else {
                    col.iter_mut().for_each(|a| *a = -*a);
                    vars.push(VarMap::Split { pos: idx, neg: idx + 1 });
                    out.push(cj, f64::INFINITY, it.add(&col));
                    out.push(-cj, f64::INFINITY, neg);
                }
            }
        }
        for i in 0..m_ub {
            out.push(0.0, f64::INFINITY, Col::Single { row: i, v: 1.0 });
        }
        Self { m, b, c: out.c, upper: out.upper, cols: out.cols, dense: it.dense, vars, threads }
    }

    /// Number of standard-form columns.
    pub fn n(&self) -> usize {
        self.cols.len()
    }

    /// Number of unique dense columns.
    pub fn n_dense(&self) -> usize {
        self.dense.len() / self.m.max(1)
    }

    /// Stored dense column `k`.
    pub fn dense_col(&self, k: usize) -> &[f64] {
        &self.dense[k * self.m..(k + 1) * self.m]
    }

    /// `out += alpha · A[:, j]`.
    pub fn add_col(&self, j: usize, alpha: f64, out: &mut [f64]) {
        match self.cols[j] {
            Col::Empty => {}
            Col::Single { row, v } => out[row] += alpha * v,
            Col::Dense { k, s } => {
                let a = alpha * s;
                out.iter_mut().zip(self.dense_col(k)).for_each(|(o, d)| *o += a * d);
            }
        }
    }

    /// `A x`.
    pub fn mul(&self, x: &[f64]) -> Vec<f64> {
        // Weights of each stored dense column first, then one pass per stored column.
        let mut w = vec![0.0; self.n_dense()];
        let mut out = vec![0.0; self.m];
        for (j, col) in self.cols.iter().enumerate() {
            match *col {
                Col::Empty => {}
                Col::Single { row, v } => out[row] += v * x[j],
                Col::Dense { k, s } => w[k] += s * x[j],
            }
        }
        self.dense_combine(&w, &mut out);
        out
    }

    /// `Aᵀ y`.
    pub fn mul_t(&self, y: &[f64]) -> Vec<f64> {
        let dots = self.dense_dots(y);
        self.cols
            .iter()
            .map(|col| match *col {
                Col::Empty => 0.0,
                Col::Single { row, v } => v * y[row],
                Col::Dense { k, s } => s * dots[k],
            })
            .collect()
    }

    fn parallel(&self) -> bool {
        self.threads > 1 && self.dense.len() >= PAR_MIN
    }

    /// `A_uᵀ y`: one dot product per stored dense column.
    pub fn dense_dots(&self, y: &[f64]) -> Vec<f64> {
        let nd = self.n_dense();
        if self.parallel() {
            (0..nd).into_par_iter().map(|k| dot(self.dense_col(k), y)).collect()
        } else {
            (0..nd).map(|k| dot(self.dense_col(k), y)).collect()
        }
    }

    /// `out += A_u w`, by blocks of rows so threads write disjoint parts.
    pub fn dense_combine(&self, w: &[f64], out: &mut [f64]) {
        let m = self.m;
        let block = |(b, chunk): (usize, &mut [f64])| {
            let r0 = b * ROW_BLOCK;
            for (k, wk) in w.iter().enumerate().filter(|(_, wk)| **wk != 0.0) {
                let col = &self.dense[k * m + r0..k * m + r0 + chunk.len()];
                chunk.iter_mut().zip(col).for_each(|(o, d)| *o += wk * d);
            }
        };
        if self.parallel() {
            out.par_chunks_mut(ROW_BLOCK).enumerate().for_each(block);
        } else {
            out.chunks_mut(ROW_BLOCK).enumerate().for_each(block);
        }
    }

    /// The LP over the columns with `keep[j]`, the others fixed at `fixed[j]` (their
    /// contribution moved to the right-hand side). It cannot recover original variables.
    pub fn restrict(&self, keep: &[bool], fixed: &[f64]) -> StdForm {
        let mut b = self.b.clone();
        let mut out = Columns::default();
        for j in 0..self.n() {
            if keep[j] {
                out.push(self.c[j], self.upper[j], self.cols[j]);
            } else if fixed[j] != 0.0 {
                self.add_col(j, -fixed[j], &mut b);
            }
        }
        let (c, upper, cols) = (out.c, out.upper, out.cols);
        StdForm {
            m: self.m,
            b,
            c,
            upper,
            cols,
            dense: self.dense.clone(),
            vars: Vec::new(),
            threads: self.threads,
        }
    }

    /// The same constraints with a zero objective (a feasibility problem).
    pub fn feasibility(&self) -> StdForm {
        StdForm { c: vec![0.0; self.c.len()], ..self.clone() }
    }

    /// A direction in the original variables from a standard-form direction (no shifts).
    pub fn recover_direction(&self, ds: &[f64]) -> Vec<f64> {
        self.vars
            .iter()
            .map(|v| match *v {
                VarMap::Shift { col, .. } => ds[col],
                VarMap::Negate { col, .. } => -ds[col],
                VarMap::Split { pos, neg } => ds[pos] - ds[neg],
            })
            .collect()
    }

    /// The original variables from standard-form values.
    pub fn recover(&self, xs: &[f64]) -> Vec<f64> {
        self.vars
            .iter()
            .map(|v| match *v {
                VarMap::Shift { col, shift } => shift + xs[col],
                VarMap::Negate { col, shift } => shift - xs[col],
                VarMap::Split { pos, neg } => xs[pos] - xs[neg],
            })
            .collect()
    }
}
