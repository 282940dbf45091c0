//! Bindings for the LP solvers.

use neuroplast_core::lp::{self, Certificate, LpOptions, LpProblem, Method};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, F64Matrix, F64Vector};
use crate::errors::{run, to_py};

/// Solves `min cᵀx s.t. A_ub x ≤ b_ub, A_eq x = b_eq, lower ≤ x ≤ upper`; returns a dict
/// (its `"certificate"` is `None` or a dict, see [`certificate`]).
#[pyfunction]
#[pyo3(signature = (c, a_ub, b_ub, a_eq, b_eq, lower, upper, method="auto", max_iter=None))]
pub fn linprog<'py>(
    py: Python<'py>,
    c: F64Vector<'py>,
    a_ub: F64Matrix<'py>,
    b_ub: F64Vector<'py>,
    a_eq: F64Matrix<'py>,
    b_eq: F64Vector<'py>,
    lower: F64Vector<'py>,
    upper: F64Vector<'py>,
    method: &str,
    max_iter: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let s = |a| convert::slice1(py, a);
    let (a_ub_s, a_eq_s) = (convert::slice2(py, &a_ub)?.0, convert::slice2(py, &a_eq)?.0);
    let p = LpProblem::new(s(&c)?, a_ub_s, s(&b_ub)?, a_eq_s, s(&b_eq)?, s(&lower)?, s(&upper)?)
        .map_err(|e| to_py(py, e))?;
    let opts = LpOptions { method: Method::parse(method).map_err(|e| to_py(py, e))?, max_iter };
    let mut sol = run(py, |t| lp::solve(&p, &opts, t))?;
    let cert = sol.certificate.take().map(|c| certificate(py, c)).transpose()?;
    let d = convert::lp_solution(py, sol)?;
    d.set_item("certificate", cert)?;
    Ok(d)
}

/// `{"kind": "farkas", "y_ub", "y_eq", "margin", "residual"}` or
/// `{"kind": "ray", "ray", "point", "margin", "residual"}`.
fn certificate(py: Python<'_>, c: Certificate) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let (margin, residual) = match c {
        Certificate::Farkas { y_ub, y_eq, margin, residual } => {
            d.set_item("kind", "farkas")?;
            d.set_item("y_ub", convert::vec64_out(py, y_ub))?;
            d.set_item("y_eq", convert::vec64_out(py, y_eq))?;
            (margin, residual)
        }
        Certificate::Ray { ray, point, margin, residual } => {
            d.set_item("kind", "ray")?;
            d.set_item("ray", convert::vec64_out(py, ray))?;
            d.set_item("point", convert::vec64_out(py, point))?;
            (margin, residual)
        }
    };
    d.set_item("margin", margin)?;
    d.set_item("residual", residual)?;
    Ok(d)
}
