//! Bindings for probabilistic structure search (ASNG): training on sampled structures, the `θ`
//! update, Bernoulli sampling, `λ`-averaged gradients and outputs under a fixed structure.

use neuroplast_core::engine::{self, AsngSettings, BitTarget, FitConfig, Graph, Structure};
use neuroplast_core::rng::Rng;
use neuroplast_core::Error;
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, ArrayOut, ArrayOut64, F64Vector, Labels, Matrix, Params, Values};
use crate::engine::{data, graph, opt_state, Callback, ValData};
use crate::errors::{run, to_py};

/// Bits as `(kind, node index, unit or input index)`; kind 0 is a unit, 1 a merge input.
type Bits = Vec<(u8, usize, usize)>;
/// `(lambda, eta, eps0, costs)`.
type Settings<'py> = (usize, f64, f64, F64Vector<'py>);
/// Structure vectors, one row per sample.
type Samples<'py> = PyReadonlyArray2<'py, bool>;
/// `(params, slots, step, theta, records)`.
type AsngOut<'py> =
    (Vec<ArrayOut<'py>>, Vec<Vec<ArrayOut<'py>>>, u64, ArrayOut64<'py>, Vec<Bound<'py, PyDict>>);

fn structure(py: Python<'_>, g: &Graph, bits: &Bits) -> PyResult<Structure> {
    let targets = bits.iter().map(|&(kind, node, index)| match kind {
        0 => Ok(BitTarget::Unit { node, unit: index }),
        1 => Ok(BitTarget::Input { node, input: index }),
        k => Err(Error::Config(format!("unknown bit kind {k} (0: unit, 1: merge input)"))),
    });
    let targets = targets.collect::<Result<Vec<_>, _>>().map_err(|e| to_py(py, e))?;
    Structure::new(g, targets).map_err(|e| to_py(py, e))
}

fn settings(py: Python<'_>, s: &Settings<'_>) -> PyResult<AsngSettings> {
    Ok(AsngSettings { lambda: s.0, eta: s.1, eps0: s.2, costs: convert::slice1(py, &s.3)?.to_vec() })
}

/// Trains on sampled structures for whole epochs in one call (GIL released); returns
/// `(params, slots, step, theta, records)`.
#[pyfunction]
#[pyo3(signature = (spec, params, slots, step, theta, bits, asng, x, y_classes, y_values, val, optimizer, epochs, batch_size, seed, shuffle, initial_epoch, callback=None))]
pub fn asng_fit<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    slots: Vec<Params<'py>>,
    step: u64,
    theta: F64Vector<'py>,
    bits: Bits,
    asng: Settings<'py>,
    x: Matrix<'py>,
    y_classes: Labels<'py>,
    y_values: Values<'py>,
    val: Option<ValData<'py>>,
    optimizer: Bound<'py, PyDict>,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    shuffle: bool,
    initial_epoch: u64,
    callback: Option<Py<PyAny>>,
) -> PyResult<AsngOut<'py>> {
    let g = graph(py, spec)?;
    let (s, set) = (structure(py, &g, &bits)?, settings(py, &asng)?);
    let (mut p, mut th) = (convert::vecs_in(py, &params)?, convert::slice1(py, &theta)?.to_vec());
    let opt = convert::optimizer(&optimizer)?;
    let mut state = opt_state(py, &g, &opt, slots, step)?;
    let train = data(py, &x, &y_classes, &y_values)?;
    let val = val.as_ref().map(|(vx, vc, vv)| data(py, vx, vc, vv)).transpose()?;
    let mut cb = Callback { f: callback, err: None };
    let out = run(py, |threads| {
        let early_stopping = None;
        let cfg = FitConfig {
            epochs,
            batch_size,
            seed,
            shuffle,
            initial_epoch,
            optimizer: opt,
            threads,
            early_stopping,
            dropout: 0.0,
        };
        let mut on_epoch = |r: &_| cb.call(r);
        engine::fit_sampled(
            &g,
            &mut p,
            &mut state,
            &mut th,
            &s,
            &set,
            &train,
            val.as_ref(),
            &cfg,
            &mut on_epoch,
        )
    })?;
    if let Some(e) = cb.err {
        return Err(e);
    }
    let recs = out.records.iter().map(|r| convert::record(py, r)).collect::<PyResult<_>>()?;
    let slots_out = state.slots.into_iter().map(|s| convert::vecs_out(py, s)).collect();
    Ok((convert::vecs_out(py, p), slots_out, state.step, convert::vec64_out(py, th), recs))
}

/// One `θ` update (eq. 7, clipped) from structures `samples` (`λ × d`) and their losses.
#[pyfunction]
pub fn asng_update<'py>(
    py: Python<'py>,
    theta: F64Vector<'py>,
    samples: Samples<'py>,
    losses: F64Vector<'py>,
    asng: Settings<'py>,
) -> PyResult<ArrayOut64<'py>> {
    let mut th = convert::slice1(py, &theta)?.to_vec();
    let (ms, rows, cols) = convert::matrix_dims(py, &samples)?;
    let (losses, set) = (convert::slice1(py, &losses)?, settings(py, &asng)?);
    if rows != losses.len() || rows != set.lambda || cols != th.len() {
        let msg = format!(
            "{rows}×{cols} samples, {} losses, λ = {}, {} θ values",
            losses.len(),
            set.lambda,
            th.len()
        );
        return Err(to_py(py, Error::Shape(msg)));
    }
    set.validate(th.len())
        .and_then(|()| engine::asng::validate_theta(&th, cols))
        .map_err(|e| to_py(py, e))?;
    engine::update_theta(&mut th, ms, losses, &set);
    Ok(convert::vec64_out(py, th))
}

/// `n` structure vectors drawn from `Bernoulli(θ)` with stream `stream` of `seed`.
#[pyfunction]
pub fn asng_sample<'py>(
    py: Python<'py>,
    theta: F64Vector<'py>,
    seed: u64,
    stream: u64,
    n: usize,
) -> PyResult<Bound<'py, PyArray2<bool>>> {
    let th = convert::slice1(py, &theta)?;
    engine::asng::validate_theta(th, th.len()).map_err(|e| to_py(py, e))?;
    let mut out = vec![false; n * th.len()];
    let mut rng = Rng::new(seed, stream);
    out.chunks_exact_mut(th.len().max(1)).for_each(|m| engine::sample(th, &mut rng, m));
    PyArray1::from_vec(py, out).reshape([n, th.len()])
}

/// Mean loss under each structure of `samples` (`λ × d`) on all of `x` as one batch and the
/// `λ`-averaged gradient (eq. 6).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn asng_gradients<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    bits: Bits,
    samples: Samples<'py>,
    x: Matrix<'py>,
    y_classes: Labels<'py>,
    y_values: Values<'py>,
) -> PyResult<(Vec<f64>, Vec<ArrayOut<'py>>)> {
    let g = graph(py, spec)?;
    let (s, p) = (structure(py, &g, &bits)?, convert::vecs_in(py, &params)?);
    let (ms, _, cols) = convert::matrix_dims(py, &samples)?;
    if cols != s.len() {
        return Err(to_py(py, Error::Shape(format!("samples have {cols} bits, the structure {}", s.len()))));
    }
    let d = data(py, &x, &y_classes, &y_values)?;
    let (losses, grads) = run(py, |t| engine::sampled_gradients(&g, &p, &s, ms, &d, t))?;
    Ok((losses, convert::vecs_out(py, grads)))
}

/// Network outputs (flat, `n × n_outputs`) under the structure `m`.
#[pyfunction]
pub fn asng_predict<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    bits: Bits,
    m: PyReadonlyArray1<'py, bool>,
    x: Matrix<'py>,
) -> PyResult<ArrayOut<'py>> {
    let g = graph(py, spec)?;
    let (s, p) = (structure(py, &g, &bits)?, convert::vecs_in(py, &params)?);
    let (m, (xs, n)) = (convert::slice1(py, &m)?, convert::slice2(py, &x)?);
    let y = run(py, |t| engine::structured_predict(&g, &p, &s, m, xs, n, t))?;
    Ok(convert::vec_out(py, y))
}

/// The deterministic structure of `θ` (`θᵢ ≥ ½`; an empty group keeps its most probable bit).
#[pyfunction]
pub fn asng_deterministic<'py>(
    py: Python<'py>,
    spec: &str,
    bits: Bits,
    theta: F64Vector<'py>,
) -> PyResult<Bound<'py, PyArray1<bool>>> {
    let g = graph(py, spec)?;
    let (s, th) = (structure(py, &g, &bits)?, convert::slice1(py, &theta)?);
    engine::asng::validate_theta(th, s.len()).map_err(|e| to_py(py, e))?;
    Ok(PyArray1::from_vec(py, s.deterministic(th)))
}
