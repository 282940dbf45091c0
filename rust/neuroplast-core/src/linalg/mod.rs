//! Dense `f64` linear algebra on faer, independent of the local LAPACK: SVD with deterministic
//! signs, minimum-norm least squares, and eigenvalue counts of symmetric matrices by inertia.
//!
//! Matrices are row-major slices with explicit dimensions. The SVD and least squares run
//! sequentially, so for given inputs their results do not depend on the thread count.

mod inertia;

#[cfg(test)]
mod tests;

pub use inertia::count_eigenvalues_above;

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{self as fsvd, ComputeSvdVectors};
use faer::mat::{Mat, MatRef};
use faer::Par;

use crate::error::{Error, Result};

/// Checks `a` holds a non-empty, finite `rows × cols` matrix.
pub fn check_matrix64(a: &[f64], rows: usize, cols: usize, what: &str) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(Error::Data(format!("{what} is empty ({rows} × {cols})")));
    }
    if rows.checked_mul(cols) != Some(a.len()) {
        return Err(Error::Shape(format!("{what}: {} values cannot form {rows} × {cols}", a.len())));
    }
    if let Some(i) = a.iter().position(|v| !v.is_finite()) {
        return Err(Error::Data(format!(
            "{what} has a non-finite value at row {}, column {}",
            i / cols,
            i % cols
        )));
    }
    Ok(())
}

/// A singular value decomposition `A = U·diag(s)·Vᵀ` in row-major storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Svd {
    /// Left singular vectors as columns, row-major `rows × u_cols`.
    pub u: Vec<f64>,
    /// Number of columns of `u` (`min(rows, cols)`, or `rows` for the full decomposition).
    pub u_cols: usize,
    /// Singular values, nonincreasing, `min(rows, cols)` of them.
    pub s: Vec<f64>,
    /// Right singular vectors as rows, row-major `vt_rows × cols`.
    pub vt: Vec<f64>,
    /// Number of rows of `vt` (`min(rows, cols)`, or `cols` for the full decomposition).
    pub vt_rows: usize,
}

/// Index of the first entry of largest magnitude.
fn argmax_abs(v: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, -1.0);
    for (i, x) in v.enumerate() {
        if x.abs() > best.1 {
            best = (i, x.abs());
        }
    }
    best.0
}

/// Column `j` of the faer matrix `m` has its first largest-magnitude entry negative.
fn col_negative(m: &Mat<f64>, j: usize) -> bool {
    let i = argmax_abs((0..m.nrows()).map(|i| m[(i, j)]));
    m[(i, j)] < 0.0
}

/// SVD of the row-major `rows × cols` matrix `a` (faer, sequential, `f64`).
///
/// `full` gives square `U` (`rows × rows`) and `Vᵀ` (`cols × cols`); otherwise the thin
/// factors with `min(rows, cols)` columns / rows. Singular values are nonincreasing. Signs are
/// deterministic: the first largest-magnitude entry of each left singular vector is positive,
/// and the matching right singular vector is flipped with it (extra columns of a full `U` or
/// extra rows of a full `Vᵀ` are normalized the same way on their own).
///
/// Errors: [`Error::Data`] for an empty or non-finite matrix, [`Error::Shape`] when
/// `a.len() != rows·cols`, [`Error::Numerical`] if the SVD does not converge.
pub fn svd(a: &[f64], rows: usize, cols: usize, full: bool) -> Result<Svd> {
    check_matrix64(a, rows, cols, "matrix")?;
    let k = rows.min(cols);
    let (ur, vc) = if full { (rows, cols) } else { (k, k) };
    // U and V (twice: faer's and the row-major copies), the workspace (about the input's size).
    let vectors = crate::limits::bytes_of(rows, ur).saturating_add(crate::limits::bytes_of(cols, vc));
    let words =
        vectors.saturating_mul(2).saturating_add(crate::limits::bytes_of(rows, cols).saturating_mul(2));
    crate::limits::ensure(words.saturating_mul(8), &format!("the SVD of a {rows} × {cols} matrix"))?;
    let kind = if full { ComputeSvdVectors::Full } else { ComputeSvdVectors::Thin };
    let x = MatRef::from_row_major_slice(a, rows, cols);
    let req = fsvd::svd_scratch::<f64>(rows, cols, kind, kind, Par::Seq, Default::default());
    let mut buf =
        MemBuffer::try_new(req).map_err(|_| Error::Numerical("out of memory for the SVD".into()))?;
    let mut s = faer::diag::Diag::<f64>::zeros(k);
    let mut u = Mat::<f64>::zeros(rows, ur);
    let mut v = Mat::<f64>::zeros(cols, vc);
    fsvd::svd(
        x,
        s.as_mut(),
        Some(u.as_mut()),
        Some(v.as_mut()),
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|e| Error::Numerical(format!("SVD did not converge: {e:?}")))?;
    let s: Vec<f64> = s.column_vector().iter().copied().collect();
    // faer returns nonincreasing values; sort anyway (stable) so the contract never depends on it.
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&i, &j| s[j].total_cmp(&s[i]));
    let col_order: Vec<usize> = order.iter().copied().chain(k..ur).collect();
    let row_order: Vec<usize> = order.iter().copied().chain(k..vc).collect();
    let mut out_u = vec![0.0; rows * ur];
    for (jn, &j) in col_order.iter().enumerate() {
        let flip = if col_negative(&u, j) { -1.0 } else { 1.0 };
        for i in 0..rows {
            out_u[i * ur + jn] = flip * u[(i, j)];
        }
        if jn < k {
            // The paired right vector flips with its left one, so U·diag(s)·Vᵀ is unchanged.
            for c in 0..cols {
                v[(c, j)] *= flip;
            }
        }
    }
    let mut out_vt = vec![0.0; vc * cols];
    for (jn, &j) in row_order.iter().enumerate() {
        let flip = if jn >= k && col_negative(&v, j) { -1.0 } else { 1.0 };
        for c in 0..cols {
            out_vt[jn * cols + c] = flip * v[(c, j)];
        }
    }
    let s = order.iter().map(|&i| s[i].abs()).collect();
    Ok(Svd { u: out_u, u_cols: ur, s, vt: out_vt, vt_rows: vc })
}

/// Relative rank cutoff of [`lstsq`] for a `rows × cols` matrix: `max(rows, cols)·eps`, as
/// `numpy.linalg.lstsq(..., rcond=None)`.
pub fn lstsq_rcond(rows: usize, cols: usize) -> f64 {
    rows.max(cols) as f64 * f64::EPSILON
}

/// Minimum-norm least-squares solution `x` (row-major `cols × nrhs`) of `a·x ≈ b`, with `a`
/// row-major `rows × cols` and `b` row-major `rows × nrhs`.
///
/// Computed from the thin SVD of `a`: singular values `σ_i <= rcond·σ_1`
/// (`rcond = max(rows, cols)·eps`, see [`lstsq_rcond`]) are treated as zero, as LAPACK's
/// `?gelsd` does for `numpy.linalg.lstsq(a, b, rcond=None)`.
///
/// Errors: [`Error::Data`] for empty or non-finite inputs, [`Error::Shape`] when the sizes
/// disagree, [`Error::Numerical`] if the SVD does not converge.
pub fn lstsq(a: &[f64], rows: usize, cols: usize, b: &[f64], nrhs: usize) -> Result<Vec<f64>> {
    check_matrix64(a, rows, cols, "a")?;
    if nrhs == 0 || rows.checked_mul(nrhs) != Some(b.len()) {
        return Err(Error::Shape(format!(
            "b has {} values; expected {rows} rows (one per row of a) × {nrhs} columns",
            b.len()
        )));
    }
    check_matrix64(b, rows, nrhs, "b")?;
    let d = svd(a, rows, cols, false)?;
    let k = d.s.len();
    let cutoff = lstsq_rcond(rows, cols) * d.s.first().copied().unwrap_or(0.0);
    let mut x = vec![0.0; cols * nrhs];
    let mut coef = vec![0.0; nrhs];
    for (i, &si) in d.s.iter().enumerate() {
        if si <= cutoff {
            break; // nonincreasing: every later value is below the cutoff too
        }
        // coef = (u_iᵀ·b) / σ_i, one value per right-hand side.
        coef.iter_mut().for_each(|c| *c = 0.0);
        for r in 0..rows {
            let uri = d.u[r * k + i];
            for (c, &bv) in coef.iter_mut().zip(&b[r * nrhs..(r + 1) * nrhs]) {
                *c += uri * bv;
            }
        }
        coef.iter_mut().for_each(|c| *c /= si);
        for (row, &vij) in x.chunks_exact_mut(nrhs).zip(&d.vt[i * cols..(i + 1) * cols]) {
            for (xv, &c) in row.iter_mut().zip(&coef) {
                *xv += vij * c;
            }
        }
    }
    Ok(x)
}
