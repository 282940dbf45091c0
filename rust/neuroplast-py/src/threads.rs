//! The process-wide default thread count (default 2), read by every call into the core.

use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;

static THREADS: AtomicUsize = AtomicUsize::new(2);

/// Current thread count (never above the `max_threads` limit, even if it was lowered later).
pub fn num_threads() -> usize {
    THREADS.load(Ordering::Relaxed).min(neuroplast_core::limits::max_threads())
}

/// Sets the thread count used by subsequent calls (validated on the Python side as well).
#[pyfunction]
pub fn set_num_threads(py: Python<'_>, n: usize) -> PyResult<()> {
    neuroplast_core::limits::check_threads(n).map_err(|e| crate::errors::to_py(py, e))?;
    THREADS.store(n, Ordering::Relaxed);
    Ok(())
}

/// Thread count used by the core.
#[pyfunction]
pub fn get_num_threads() -> usize {
    num_threads()
}

/// Instruction set the elementwise kernels dispatch to (`"avx512"`, `"avx2"` or `"scalar"`).
#[pyfunction]
pub fn simd_level() -> &'static str {
    neuroplast_core::kernels::simd::simd_level()
}

/// Micro-kernel of the packed GEMM (`"avx512"`, `"avx2"`, or `"faer"` when there is none).
#[pyfunction]
pub fn gemm_isa() -> &'static str {
    neuroplast_core::kernels::gemm::isa_name()
}
