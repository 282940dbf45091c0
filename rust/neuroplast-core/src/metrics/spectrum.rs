//! Singular values of a row-major `f32` matrix with `f64` accumulation.
//!
//! When one side is at least [`GRAM_RATIO`] times the other, the small Gram matrix
//! (`A·Aᵀ` or `Aᵀ·A`, lower triangle only) is accumulated in `f64` over contiguous blocks of
//! the long side (products of `f32` values are exact in `f64`), one range of blocks per thread
//! of the current rayon pool, and goes through faer's self-adjoint eigensolver (eigenvalues
//! only) with `σ = sqrt(max(λ, 0))`. Otherwise faer's SVD (singular values only) runs on an `f64` copy.
//! The Gram route squares the condition number: singular values below about
//! `1e-7·σ_max` are not resolved, far below what `f32` data and the metrics' thresholds need.
//!
//! Counts of singular values above a threshold `t` ([`count_above`], used by the effective
//! dimension and the numerical rank) need no spectrum: they are the number of eigenvalues of
//! the Gram matrix above `t²`, read off the inertia of an `LBLᵀ` factorization of `G − t²·I`
//! (see [`crate::linalg::count_eigenvalues_above`]), for every aspect ratio.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::linalg::svd::{self, ComputeSvdVectors};
use faer::mat::{Mat, MatRef};
use faer::{Accum, Par};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::linalg::count_eigenvalues_above;

/// Aspect ratio (long side / short side) from which the Gram route is used.
pub const GRAM_RATIO: usize = 2;

/// Checks `a` holds a non-empty, finite `rows × cols` matrix.
pub fn check_matrix(a: &[f32], rows: usize, cols: usize, what: &str) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(Error::Data(format!("{what} is empty ({rows} × {cols})")));
    }
    if rows.checked_mul(cols) != Some(a.len()) {
        return Err(Error::Shape(format!("{what}: {} values cannot form {rows} × {cols}", a.len())));
    }
    // Branch-free scan first (it vectorizes); locate the offending value only on failure.
    if !a.chunks(4096).all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite())) {
        let i = a.iter().position(|v| !v.is_finite()).unwrap_or(0);
        return Err(Error::Data(format!(
            "{what} has a non-finite value at row {}, column {}",
            i / cols,
            i % cols
        )));
    }
    Ok(())
}

/// Bytes the spectral routes may need for a `rows × cols` matrix on `threads` threads (Gram
/// partials, eigensolver, or an `f64` copy plus SVD workspace), an upper estimate checked
/// against [`crate::limits`] before anything is allocated.
pub fn spectrum_bytes(rows: usize, cols: usize, threads: usize) -> u64 {
    let (short, long) = (rows.min(cols) as u64, rows.max(cols) as u64);
    let t = threads.max(1) as u64;
    let sq = short.saturating_mul(short);
    let gram = sq.saturating_mul(t + 3).saturating_add(short.saturating_mul(t * BLOCK as u64));
    let words = if long >= GRAM_RATIO as u64 * short {
        gram
    } else {
        gram.saturating_add(short.saturating_mul(long).saturating_mul(2)).saturating_add(sq.saturating_mul(4))
    };
    words.saturating_mul(8)
}

/// [`check_matrix`], then the memory limit for the spectral routes.
pub(crate) fn check_spectral(a: &[f32], rows: usize, cols: usize, threads: usize, what: &str) -> Result<()> {
    check_matrix(a, rows, cols, what)?;
    crate::limits::ensure(
        spectrum_bytes(rows, cols, threads),
        &format!("the spectrum of the {rows} × {cols} {what}"),
    )
}

pub(crate) fn par(threads: usize) -> Par {
    if threads <= 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    }
}

fn to_f64(a: &[f32], rows: usize, cols: usize) -> Mat<f64> {
    Mat::from_fn(rows, cols, |i, j| f64::from(a[i * cols + j]))
}

/// Eigenvalues of the symmetric `g` (lower triangle read), nondecreasing.
fn sym_eigenvalues(g: MatRef<'_, f64>, p: Par) -> Result<Vec<f64>> {
    let n = g.nrows();
    let req = evd::self_adjoint_evd_scratch::<f64>(n, ComputeEigenvectors::No, p, Default::default());
    let mut buf =
        MemBuffer::try_new(req).map_err(|_| Error::Numerical("out of memory for eigensolver".into()))?;
    let mut s = faer::diag::Diag::<f64>::zeros(n);
    evd::self_adjoint_evd(g, s.as_mut(), None, p, MemStack::new(&mut buf), Default::default())
        .map_err(|e| Error::Numerical(format!("eigensolver did not converge: {e:?}")))?;
    Ok(s.column_vector().iter().copied().collect())
}

/// Samples (long-side entries) per `f64` block of the Gram accumulation.
const BLOCK: usize = 256;

/// Long-side entries `k0..k1` of `a` as the `short × (k1 - k0)` block `P` in `f64`, so that
/// the Gram matrix of the short side is `Σ P·Pᵀ` over blocks. Conversion stays contiguous.
fn block<'b>(
    a: &[f32],
    rows: usize,
    cols: usize,
    k0: usize,
    k1: usize,
    buf: &'b mut Vec<f64>,
) -> MatRef<'b, f64> {
    buf.clear();
    if rows > cols {
        // Tall: rows k0..k1 (row-major, bk × cols) are the column-major cols × bk block.
        buf.extend(a[k0 * cols..k1 * cols].iter().map(|&v| f64::from(v)));
        MatRef::from_column_major_slice(buf.as_slice(), cols, k1 - k0)
    } else {
        // Wide: columns k0..k1 of every row, row-major rows × bk.
        for row in a.chunks_exact(cols) {
            buf.extend(row[k0..k1].iter().map(|&v| f64::from(v)));
        }
        MatRef::from_row_major_slice(buf.as_slice(), rows, k1 - k0)
    }
}

/// Lower triangle of `Σ P·Pᵀ` over the blocks of long-side entries `k0..k1`, sequentially.
fn gram_part(a: &[f32], rows: usize, cols: usize, k0: usize, k1: usize) -> Mat<f64> {
    let short = rows.min(cols);
    let mut g = Mat::<f64>::zeros(short, short);
    let mut buf = Vec::with_capacity(short * BLOCK);
    for start in (k0..k1).step_by(BLOCK) {
        let p = block(a, rows, cols, start, (start + BLOCK).min(k1), &mut buf);
        matmul(
            g.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Add,
            p,
            BlockStructure::Rectangular,
            p.transpose(),
            BlockStructure::Rectangular,
            1.0,
            Par::Seq,
        );
    }
    g
}

/// The short side's Gram matrix (lower triangle), the long side split into one contiguous
/// range per thread of the current pool; partial sums are added in a fixed order, so the
/// result depends only on `threads`.
pub(crate) fn gram(a: &[f32], rows: usize, cols: usize, threads: usize) -> Mat<f64> {
    let long = rows.max(cols);
    let parts = threads.min(long.div_ceil(BLOCK)).max(1);
    if parts == 1 {
        return gram_part(a, rows, cols, 0, long);
    }
    let partials: Vec<Mat<f64>> = (0..parts)
        .into_par_iter()
        .map(|p| gram_part(a, rows, cols, long * p / parts, long * (p + 1) / parts))
        .collect();
    let mut partials = partials.into_iter();
    let mut g = partials.next().unwrap_or_else(|| Mat::zeros(0, 0));
    for other in partials {
        g += &other;
    }
    g
}

fn gram_singular_values(a: &[f32], rows: usize, cols: usize, threads: usize) -> Result<Vec<f64>> {
    let g = gram(a, rows, cols, threads);
    let mut s: Vec<f64> =
        sym_eigenvalues(g.as_ref(), par(threads))?.into_iter().map(|l| l.max(0.0).sqrt()).collect();
    s.reverse();
    Ok(s)
}

fn svd_singular_values(x: MatRef<'_, f64>, p: Par) -> Result<Vec<f64>> {
    let (rows, cols) = x.shape();
    let k = rows.min(cols);
    let req = svd::svd_scratch::<f64>(
        rows,
        cols,
        ComputeSvdVectors::No,
        ComputeSvdVectors::No,
        p,
        Default::default(),
    );
    let mut buf =
        MemBuffer::try_new(req).map_err(|_| Error::Numerical("out of memory for the SVD".into()))?;
    let mut s = faer::diag::Diag::<f64>::zeros(k);
    svd::svd(x, s.as_mut(), None, None, p, MemStack::new(&mut buf), Default::default())
        .map_err(|e| Error::Numerical(format!("SVD did not converge: {e:?}")))?;
    let mut s: Vec<f64> = s.column_vector().iter().map(|v| v.abs()).collect();
    s.sort_by(|x, y| y.total_cmp(x));
    Ok(s)
}

/// Singular values (nonincreasing) of the row-major `rows × cols` `f64` matrix `a` by faer's
/// SVD, sequentially (the result does not depend on the thread count).
///
/// Errors: as [`singular_values`].
pub fn singular_values_f64(a: &[f64], rows: usize, cols: usize) -> Result<Vec<f64>> {
    crate::linalg::check_matrix64(a, rows, cols, "matrix")?;
    crate::limits::ensure(spectrum_bytes(rows, cols, 1), "the singular values")?;
    svd_singular_values(MatRef::from_row_major_slice(a, rows, cols), Par::Seq)
}

/// The `min(rows, cols)` singular values of the row-major `rows × cols` matrix `a`, in
/// nonincreasing order, computed in `f64` on `threads` threads of the current pool.
///
/// Errors: [`Error::Data`] for an empty or non-finite matrix, [`Error::Shape`] when
/// `a.len() != rows·cols`, [`Error::Numerical`] if the solver does not converge.
pub fn singular_values(a: &[f32], rows: usize, cols: usize, threads: usize) -> Result<Vec<f64>> {
    check_spectral(a, rows, cols, threads, "matrix")?;
    let (short, long) = (rows.min(cols), rows.max(cols));
    if long >= GRAM_RATIO * short {
        gram_singular_values(a, rows, cols, threads)
    } else {
        svd_singular_values(to_f64(a, rows, cols).as_ref(), par(threads))
    }
}

/// The count route is used only when `t² > COUNT_MARGIN·tol` (`tol` below): rounding-level
/// eigenvalues of the Gram matrix then stay clearly below `t²`.
const COUNT_MARGIN: f64 = 2.0;

/// Order from which the `LBLᵀ` factorization runs on the thread pool.
const PAR_LBLT: usize = 1024;

/// Number of singular values of the row-major `rows × cols` matrix `a` strictly greater than
/// `t >= 0` (checked by the caller), on `threads` threads of the current pool.
///
/// Route: the `f64` Gram matrix `G` of the short side (as [`singular_values`]) and the inertia
/// of `G − t²·I` (`n³/3` flops instead of an eigensolve or SVD). With
/// `tol = (rows + cols)·eps·trace(G)`, a bound on the rounding of `G` and of the factorization
/// (`trace(G) = ‖A‖_F² >= ‖G‖₂`):
///
/// - `t² <= 2·tol` (a threshold at rounding level, e.g. `t = 0`): the count comes from
///   [`singular_values`] (SVD when the aspect ratio is below [`GRAM_RATIO`]);
/// - a pivot of the factorization with magnitude `<= tol` (an eigenvalue may sit at `t²`):
///   the count comes from the eigenvalues of `G`;
/// - otherwise the inertia count, which equals the count of the exact singular values unless
///   one lies within about `tol / (2t)` of `t`.
pub fn count_above(a: &[f32], rows: usize, cols: usize, t: f64, threads: usize) -> Result<usize> {
    check_spectral(a, rows, cols, threads, "matrix")?;
    count_checked(a, rows, cols, t, threads)
}

/// [`count_above`] for a matrix already checked with [`check_matrix`].
pub(crate) fn count_checked(a: &[f32], rows: usize, cols: usize, t: f64, threads: usize) -> Result<usize> {
    let g = gram(a, rows, cols, threads);
    let trace: f64 = (0..g.nrows()).map(|i| g[(i, i)]).sum();
    let tol = (rows + cols) as f64 * f64::EPSILON * trace;
    let t2 = t * t;
    let eigen_count = |g: &Mat<f64>| -> Result<usize> {
        // `sqrt(max(λ, 0)) > t` ⇔ `λ > t²` for `t >= 0`: the count of `singular_values`.
        Ok(sym_eigenvalues(g.as_ref(), par(threads))?.iter().filter(|&&l| l > t2).count())
    };
    if t2 <= COUNT_MARGIN * tol {
        if rows.max(cols) >= GRAM_RATIO * rows.min(cols) {
            return eigen_count(&g);
        }
        return Ok(singular_values(a, rows, cols, threads)?.iter().filter(|&&s| s > t).count());
    }
    // Below ~1000 the factorization takes about a millisecond; handing it to the pool costs more.
    let p = if g.nrows() >= PAR_LBLT { par(threads) } else { Par::Seq };
    if let Some(c) = count_eigenvalues_above(g.as_ref(), t2, tol, p)? {
        return Ok(c);
    }
    eigen_count(&g)
}
