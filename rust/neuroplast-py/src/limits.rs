//! The resource limits the core enforces (set from `neuroplast.limits`).

use pyo3::prelude::*;

/// Sets the memory one call may need (bytes) and the largest thread count.
#[pyfunction]
pub fn set_limits(max_bytes: u64, max_threads: usize) {
    neuroplast_core::limits::set_limits(max_bytes, max_threads);
}

/// `(max_bytes, max_threads)` as the core enforces them.
#[pyfunction]
pub fn get_limits() -> (u64, usize) {
    (neuroplast_core::limits::max_bytes(), neuroplast_core::limits::max_threads())
}
