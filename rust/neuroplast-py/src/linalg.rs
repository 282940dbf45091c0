//! Bindings for the faer linear algebra used by the structural edits (`neuroplast._linalg`).

use neuroplast_core::linalg;
use pyo3::prelude::*;

use crate::convert::{self, ArrayOut64, F64Matrix, MatOut64};
use crate::errors::run;

/// SVD of a float64 matrix with deterministic signs: `(u, s, vt)`.
#[pyfunction]
pub fn svd<'py>(
    py: Python<'py>,
    a: F64Matrix<'py>,
    full_matrices: bool,
) -> PyResult<(MatOut64<'py>, ArrayOut64<'py>, MatOut64<'py>)> {
    let (s, rows, cols) = convert::matrix_dims(py, &a)?;
    let d = run(py, |_| linalg::svd(s, rows, cols, full_matrices))?;
    Ok((
        convert::mat64_out(py, d.u, rows, d.u_cols)?,
        convert::vec64_out(py, d.s),
        convert::mat64_out(py, d.vt, d.vt_rows, cols)?,
    ))
}

/// Minimum-norm least squares `a·x ≈ b` (`b` and `x` 2-D), rank cutoff as NumPy's `rcond=None`.
#[pyfunction]
pub fn lstsq<'py>(py: Python<'py>, a: F64Matrix<'py>, b: F64Matrix<'py>) -> PyResult<MatOut64<'py>> {
    let (sa, rows, cols) = convert::matrix_dims(py, &a)?;
    let (sb, _, nrhs) = convert::matrix_dims(py, &b)?;
    let x = run(py, |_| linalg::lstsq(sa, rows, cols, sb, nrhs))?;
    convert::mat64_out(py, x, cols, nrhs)
}
