//! `neuroplast._core`: thin bindings over `neuroplast-core`. Each function extracts its
//! arguments, runs the core with the GIL released (see [`errors::run`]) and converts back.

use pyo3::prelude::*;

mod asng;
mod convert;
mod engine;
mod errors;
mod group;
mod limits;
mod linalg;
mod lp;
mod metrics;
mod search;
mod threads;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(threads::set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(threads::get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(threads::simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(threads::gemm_isa, m)?)?;
    m.add_function(wrap_pyfunction!(limits::set_limits, m)?)?;
    m.add_function(wrap_pyfunction!(limits::get_limits, m)?)?;
    m.add_function(wrap_pyfunction!(engine::compile_spec, m)?)?;
    m.add_function(wrap_pyfunction!(engine::predict, m)?)?;
    m.add_function(wrap_pyfunction!(engine::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(engine::fit, m)?)?;
    m.add_function(wrap_pyfunction!(engine::gradients, m)?)?;
    m.add_function(wrap_pyfunction!(engine::node_values, m)?)?;
    m.add_function(wrap_pyfunction!(engine::node_gradients, m)?)?;
    m.add_function(wrap_pyfunction!(asng::asng_fit, m)?)?;
    m.add_function(wrap_pyfunction!(asng::asng_update, m)?)?;
    m.add_function(wrap_pyfunction!(asng::asng_sample, m)?)?;
    m.add_function(wrap_pyfunction!(asng::asng_gradients, m)?)?;
    m.add_function(wrap_pyfunction!(asng::asng_predict, m)?)?;
    m.add_function(wrap_pyfunction!(asng::asng_deterministic, m)?)?;
    m.add_function(wrap_pyfunction!(engine::fit_alternating, m)?)?;
    m.add_function(wrap_pyfunction!(group::group_table, m)?)?;
    m.add_function(wrap_pyfunction!(group::expand_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(group::relax_channels, m)?)?;
    m.add_function(wrap_pyfunction!(group::relax_layer, m)?)?;
    m.add_function(wrap_pyfunction!(group::relax_consumer, m)?)?;
    m.add_function(wrap_pyfunction!(group::mixed_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(search::darts_search, m)?)?;
    m.add_function(wrap_pyfunction!(search::arch_weights, m)?)?;
    m.add_function(wrap_pyfunction!(search::arch_project, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::singular_values, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::numerical_rank, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::effective_dimension_activations, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::effective_dimension_weights, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::orthogonality_gap, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::removable_units, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::auxiliary_gradient, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::unit_statistics, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::cosine_redundancy, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::svd, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::lstsq, m)?)?;
    m.add_function(wrap_pyfunction!(lp::linprog, m)?)?;
    Ok(())
}
