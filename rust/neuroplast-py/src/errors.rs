//! The one mapping from core errors to the `neuroplast.errors` exception classes, and the one
//! helper through which all real work runs (GIL released, sized thread pool, errors mapped).

use neuroplast_core::parallel::run_in_pool;
use neuroplast_core::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::threads::num_threads;

fn class_name(e: &Error) -> &'static str {
    match e {
        Error::Shape(_) => "ShapeError",
        Error::Data(_) => "DataError",
        Error::Spec(_) => "SpecError",
        Error::Config(_) => "ConfigError",
        Error::Numerical(_) => "NumericalError",
        Error::InvalidMorphism(_) => "InvalidMorphismError",
        Error::Resource(_) => "ResourceLimitError",
    }
}

/// Converts a core error into the matching `neuroplast.errors` exception.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let msg = e.to_string();
    let cls = py
        .import("neuroplast.errors")
        .and_then(|m| m.getattr(class_name(&e)))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match cls {
        Ok(cls) => PyErr::from_type(cls, msg),
        Err(_) => PyRuntimeError::new_err(msg),
    }
}

/// Runs `f` with the GIL released inside the configured thread pool; maps its error.
pub fn run<T: Send>(
    py: Python<'_>,
    f: impl FnOnce(usize) -> neuroplast_core::Result<T> + Send,
) -> PyResult<T> {
    let threads = num_threads();
    py.detach(|| run_in_pool(threads, || f(threads)).and_then(|r| r)).map_err(|e| to_py(py, e))
}
