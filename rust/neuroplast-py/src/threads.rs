//! The process-wide default thread count (default 2), read by every call into the core.

use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;

static THREADS: AtomicUsize = AtomicUsize::new(2);

/// Current thread count.
pub fn num_threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Sets the thread count used by subsequent calls (validated on the Python side as well).
#[pyfunction]
pub fn set_num_threads(py: Python<'_>, n: usize) -> PyResult<()> {
    if n == 0 {
        return Err(crate::errors::to_py(
            py,
            neuroplast_core::Error::Config("the number of threads must be at least 1".into()),
        ));
    }
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
