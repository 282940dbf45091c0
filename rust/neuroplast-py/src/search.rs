//! Bindings for differentiable architecture search: the search epochs, and the architecture
//! weights' activation and projection.

use neuroplast_core::engine::search::{self, ArchTensor, SearchConfig, SearchState};
use neuroplast_core::engine::{DataRef, Graph, OptState};
use neuroplast_core::kernels::mixed::Weighting;
use numpy::{PyArray2, PyArrayMethods};
use pyo3::prelude::*;

use crate::convert::{self, ArrayOut, Labels, Matrix, Params};
use crate::errors::{run, to_py};

/// `(params, slots, step, records JSON, state JSON)`.
type SearchOut<'py> = (Vec<ArrayOut<'py>>, Vec<Vec<ArrayOut<'py>>>, u64, String, String);
/// Training or architecture data: features and class labels or float targets.
type Split<'py> = (Matrix<'py>, Labels<'py>, Option<Matrix<'py>>);

fn split<'a>(py: Python<'_>, s: &'a Split<'_>) -> PyResult<DataRef<'a>> {
    let (x, n) = convert::slice2(py, &s.0)?;
    Ok(DataRef { x, n, targets: convert::targets(py, &s.1, &s.2)? })
}

/// Runs `epochs` search epochs; `config` and `state` (None: a new search) are JSON; records
/// come back as JSON. `callback(epoch)` after each epoch returns False to stop.
#[pyfunction]
#[pyo3(signature = (spec, params, slots, step, train, arch, config, state, epochs, callback=None))]
#[allow(clippy::too_many_arguments)]
pub fn darts_search<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    slots: Vec<Params<'py>>,
    step: u64,
    train: Split<'py>,
    arch: Split<'py>,
    config: &str,
    state: Option<&str>,
    epochs: usize,
    callback: Option<Py<PyAny>>,
) -> PyResult<SearchOut<'py>> {
    let core = |e| to_py(py, e);
    let g = Graph::from_json(spec).map_err(core)?;
    let cfg = SearchConfig::from_json(config).map_err(core)?;
    let st = state.map(SearchState::from_json).transpose().map_err(core)?;
    let (mut p, mut w) = (convert::vecs_in(py, &params)?, weight_state(py, &g, &cfg, &slots, step)?);
    let (tr, ar) = (split(py, &train)?, split(py, &arch)?);
    let mut cb = |r: &search::SearchRecord| callback.as_ref().is_none_or(|f| epoch_callback(f, r.epoch));
    let (recs, st) = run(py, |t| search::search(&g, &mut p, &mut w, st, &tr, &ar, &cfg, epochs, t, &mut cb))?;
    let recs = search::records_json(&recs).map_err(core)?;
    let slots_out = w.slots.into_iter().map(|s| convert::vecs_out(py, s)).collect();
    Ok((convert::vecs_out(py, p), slots_out, w.step, recs, st.to_json().map_err(core)?))
}

/// The weights' SGD state: the given slots, or zeros for a new search.
fn weight_state(
    py: Python<'_>,
    g: &Graph,
    cfg: &SearchConfig,
    slots: &[Params<'_>],
    step: u64,
) -> PyResult<OptState> {
    if slots.is_empty() {
        return Ok(OptState::zeros(g, &search::sgd_of(cfg)));
    }
    let slots = slots.iter().map(|s| convert::vecs_in(py, s)).collect::<PyResult<Vec<_>>>()?;
    Ok(OptState { step, slots })
}

/// Calls `f(epoch)` with the GIL; a raised exception or a False result stops the search.
fn epoch_callback(f: &Py<PyAny>, epoch: u64) -> bool {
    Python::attach(|py| {
        f.call1(py, (epoch,)).map(|v| v.is_none(py) || v.bind(py).is_truthy().unwrap_or(true))
    })
    .unwrap_or(false)
}

fn tensor(rows: usize, cols: usize, none: bool, weighting: &str) -> neuroplast_core::Result<ArchTensor> {
    let weighting = Weighting::parse(weighting)?;
    let states = search::arch::cell_states(rows);
    Ok(ArchTensor { param: 0, name: "alpha".into(), rows, cols, none, weighting, states })
}

/// `a(α)` of a `rows × cols` architecture tensor.
#[pyfunction]
pub fn arch_weights<'py>(
    py: Python<'py>,
    alpha: Matrix<'py>,
    weighting: &str,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let (s, rows, cols) = convert::matrix_dims(py, &alpha)?;
    let t = tensor(rows, cols, false, weighting).map_err(|e| to_py(py, e))?;
    let a = t.activate(s);
    convert::vec_out(py, a).reshape([rows, cols])
}

/// `Π_S` of a cell's architecture tensor ranked by `(not pruned, a(α), α)` (0/1 matrix).
#[pyfunction]
pub fn arch_project<'py>(
    py: Python<'py>,
    alpha: Matrix<'py>,
    none: bool,
    weighting: &str,
    pruned: Option<Matrix<'py>>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let (s, rows, cols) = convert::matrix_dims(py, &alpha)?;
    let pruned: Vec<bool> = match &pruned {
        Some(m) => convert::slice2(py, m)?.0.iter().map(|&v| v != 0.0).collect(),
        None => vec![false; s.len()],
    };
    let z = run(py, |_| {
        let t = tensor(rows, cols, none, weighting)?;
        if pruned.len() != s.len() {
            return Err(neuroplast_core::Error::Shape("pruned must have the shape of alpha".into()));
        }
        t.project(&t.activate(s), s, &pruned)
    })?;
    convert::vec_out(py, z).reshape([rows, cols])
}
