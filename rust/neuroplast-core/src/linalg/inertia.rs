//! Eigenvalue counts of a symmetric matrix by Sylvester's law of inertia.
//!
//! The number of eigenvalues of `G` above `shift` equals the number of positive eigenvalues of
//! `G − shift·I`, which is the number of positive eigenvalues of the block-diagonal `B` of its
//! `L·B·Lᵀ` (Bunch–Kaufman, faer's `lblt`) factorization: `n³/3` flops instead of a full
//! eigensolve. The factorization is backward stable in practice, so the count is exact for a
//! matrix within about `n·eps·‖G‖` of `G`: it can differ from the exact count only through
//! eigenvalues that close to `shift`, the same uncertainty as an eigensolver's.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::lblt::factor as lblt;
use faer::mat::{Mat, MatRef};
use faer::Par;

use crate::error::{Error, Result};

/// Signed eigenvalues of the symmetric 2 × 2 block `[[a, b], [b, c]]`, larger magnitude first.
fn block_eigenvalues(a: f64, b: f64, c: f64) -> (f64, f64) {
    let mean = 0.5 * (a + c);
    let r = (0.5 * (a - c)).hypot(b);
    let big = if mean >= 0.0 { mean + r } else { mean - r };
    if big == 0.0 {
        return (0.0, 0.0);
    }
    // The smaller one from the determinant avoids the cancellation of `mean ∓ r`.
    (big, (a * c - b * b) / big)
}

/// Number of eigenvalues of the symmetric `g` (lower triangle read) strictly greater than
/// `shift`, from the inertia of `g − shift·I`.
///
/// Returns `Ok(None)` when a pivot of the factorization (an eigenvalue of a 1 × 1 or 2 × 2
/// block of `B`) has magnitude `<= tol`: an eigenvalue of `g` may then lie within rounding of
/// `shift`, and the caller should decide from the eigenvalues instead.
///
/// Errors: [`Error::Shape`] if `g` is not square, [`Error::Numerical`] without scratch memory.
pub fn count_eigenvalues_above(g: MatRef<'_, f64>, shift: f64, tol: f64, par: Par) -> Result<Option<usize>> {
    let n = g.nrows();
    if g.ncols() != n {
        return Err(Error::Shape(format!("expected a square matrix, got {n} × {}", g.ncols())));
    }
    // Full symmetric copy (faer reads one triangle; filling both keeps that detail irrelevant).
    let mut m = Mat::<f64>::from_fn(n, n, |i, j| if i >= j { g[(i, j)] } else { g[(j, i)] });
    for i in 0..n {
        m[(i, i)] -= shift;
    }
    let mut sub = faer::diag::Diag::<f64>::zeros(n);
    let (mut perm, mut perm_inv) = (vec![0usize; n], vec![0usize; n]);
    let req = lblt::cholesky_in_place_scratch::<usize, f64>(n, par, Default::default());
    let mut buf = MemBuffer::try_new(req)
        .map_err(|_| Error::Numerical("out of memory for the LBLᵀ factorization".into()))?;
    lblt::cholesky_in_place(
        m.as_mut(),
        sub.as_mut(),
        &mut perm,
        &mut perm_inv,
        par,
        MemStack::new(&mut buf),
        Default::default(),
    );
    // A pivot must be clearly nonzero (NaN fails too) for its sign to be trusted.
    let clear = |x: f64| x.abs() > tol;
    let mut positive = 0;
    let mut i = 0;
    while i < n {
        let d = m[(i, i)];
        if i + 1 < n && sub[i] != 0.0 {
            let (l1, l2) = block_eigenvalues(d, sub[i], m[(i + 1, i + 1)]);
            if !(clear(l1) && clear(l2)) {
                return Ok(None);
            }
            positive += usize::from(l1 > 0.0) + usize::from(l2 > 0.0);
            i += 2;
        } else {
            if !clear(d) {
                return Ok(None);
            }
            positive += usize::from(d > 0.0);
            i += 1;
        }
    }
    Ok(Some(positive))
}
