//! Bindings for the spectral metrics (`neuroplast.metrics`).

use neuroplast_core::metrics;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, ArrayOut64, F64Matrix, F64Vector, IndicesOut, MatOut64, Matrix, Vector};
use crate::errors::run;

/// Singular values (float64, nonincreasing) of a float32 matrix.
#[pyfunction]
pub fn singular_values<'py>(py: Python<'py>, a: Matrix<'py>) -> PyResult<ArrayOut64<'py>> {
    let (s, rows, cols) = convert::matrix_dims(py, &a)?;
    let sv = run(py, |t| metrics::singular_values(s, rows, cols, t))?;
    Ok(convert::vec64_out(py, sv))
}

/// ε-numerical rank: singular values strictly above `eps`.
#[pyfunction]
pub fn numerical_rank(py: Python<'_>, a: Matrix<'_>, eps: f64) -> PyResult<usize> {
    let (s, rows, cols) = convert::matrix_dims(py, &a)?;
    run(py, |t| metrics::numerical_rank(s, rows, cols, eps, t))
}

/// Thesis eq. 27 on `samples × units` activations.
#[pyfunction]
pub fn effective_dimension_activations(py: Python<'_>, h: Matrix<'_>, eps: f64) -> PyResult<f64> {
    let (s, samples, units) = convert::matrix_dims(py, &h)?;
    run(py, |t| metrics::effective_dimension_activations(s, samples, units, eps, t))
}

/// Thesis eq. 30 (errata) on `units × fan_in` weights with an optional bias column.
#[pyfunction]
#[pyo3(signature = (w, bias, eps))]
pub fn effective_dimension_weights(
    py: Python<'_>,
    w: Matrix<'_>,
    bias: Option<Vector<'_>>,
    eps: f64,
) -> PyResult<f64> {
    let (s, units, fan_in) = convert::matrix_dims(py, &w)?;
    let b = bias.as_ref().map(|b| convert::slice1(py, b)).transpose()?;
    run(py, |t| metrics::effective_dimension_weights(s, units, fan_in, b, eps, t))
}

/// Thesis eq. 29 (identity term restored): the gap `‖HᵀH/‖H‖² − I/n‖_F`, rows are samples.
#[pyfunction]
pub fn orthogonality_gap(py: Python<'_>, h: Matrix<'_>) -> PyResult<f64> {
    let (s, samples, features) = convert::matrix_dims(py, &h)?;
    run(py, |t| metrics::orthogonality_gap(s, samples, features, t))
}

/// Seed 001 eq. 13 on given singular values.
#[pyfunction]
pub fn removable_units(py: Python<'_>, sv: F64Vector<'_>, eps_abs: f64, eps_rel: f64) -> PyResult<usize> {
    let s = convert::slice1(py, &sv)?;
    run(py, |_| metrics::removable_units(s, eps_abs, eps_rel))
}

/// GradMax's auxiliary gradient `grad_nextᵀ·h_prev`: singular values and, with `k`, the top-`k`
/// left singular vectors (`M_{l+1} × k`).
#[pyfunction]
#[pyo3(signature = (grad_next, h_prev, k=None))]
pub fn auxiliary_gradient<'py>(
    py: Python<'py>,
    grad_next: Matrix<'py>,
    h_prev: Matrix<'py>,
    k: Option<usize>,
) -> PyResult<(ArrayOut64<'py>, Option<MatOut64<'py>>)> {
    let (g, samples, out_units) = convert::matrix_dims(py, &grad_next)?;
    let (h, _, in_units) = convert::matrix_dims(py, &h_prev)?;
    let r = run(py, |t| metrics::auxiliary_gradient(g, h, samples, out_units, in_units, k, t))?;
    let vectors = match k {
        Some(k) => Some(convert::mat64_out(py, r.vectors, out_units, k)?),
        None => None,
    };
    Ok((convert::vec64_out(py, r.singular_values), vectors))
}

/// Per-unit statistics of `samples × units` float64 activations.
#[pyfunction]
pub fn unit_statistics<'py>(py: Python<'py>, h: F64Matrix<'py>) -> PyResult<Bound<'py, PyDict>> {
    let (s, samples, units) = convert::matrix_dims(py, &h)?;
    let stats = run(py, |_| metrics::unit_statistics(s, samples, units))?;
    convert::unit_statistics(py, stats)
}

/// DYNO's greedy cosine-redundancy removal order of `samples × units` float64 activations.
#[pyfunction]
pub fn cosine_redundancy<'py>(
    py: Python<'py>,
    h: F64Matrix<'py>,
    n_remove: usize,
) -> PyResult<IndicesOut<'py>> {
    let (s, samples, units) = convert::matrix_dims(py, &h)?;
    let order = run(py, |t| metrics::cosine_redundancy_order(s, samples, units, n_remove, t))?;
    convert::indices_out(py, order)
}
