//! Bindings for the LP solvers.

use neuroplast_core::lp::{self, LpOptions, LpProblem, Method};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, F64Matrix, F64Vector};
use crate::errors::{run, to_py};

/// Solves `min cᵀx s.t. A_ub x ≤ b_ub, A_eq x = b_eq, lower ≤ x ≤ upper`; returns a dict.
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
    let sol = run(py, |t| lp::solve(&p, &opts, t))?;
    convert::lp_solution(py, sol)
}
