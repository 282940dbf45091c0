//! Bindings for the training engine: spec compilation, fit, predict, evaluate.

use neuroplast_core::engine::{
    self, ArchConfig, DataRef, EpochRecord, FitConfig, Graph, OptState, TwoStates,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, ArrayOut, Distill, EarlyStop, Labels, MaskArgs, Matrix, Params, Values};
use crate::errors::{run, to_py};

pub(crate) type ValData<'py> = (Matrix<'py>, Labels<'py>, Values<'py>);
/// `(params, slots, step, records, best_epoch, stopped_early)`.
type FitOut<'py> =
    (Vec<ArrayOut<'py>>, Vec<Vec<ArrayOut<'py>>>, u64, Vec<Bound<'py, PyDict>>, Option<u64>, bool);

/// Per node `(name, output shape, FLOPs)`; per parameter `(name, shape, trainable)`.
type CompiledSpec = (Vec<(String, Vec<usize>, u64)>, Vec<(String, Vec<usize>, bool)>);

pub(crate) fn graph(py: Python<'_>, spec: &str) -> PyResult<Graph> {
    Graph::from_json(spec).map_err(|e| to_py(py, e))
}

/// A compiled graph with owned copies of its parameters and masks.
struct Model {
    g: Graph,
    p: Vec<Vec<f32>>,
    m: Vec<Option<Vec<f32>>>,
}

fn model(py: Python<'_>, spec: &str, params: &Params<'_>, masks: &MaskArgs<'_>) -> PyResult<Model> {
    Ok(Model { g: graph(py, spec)?, p: convert::vecs_in(py, params)?, m: convert::masks_in(py, masks)? })
}

pub(crate) fn data<'a>(
    py: Python<'_>,
    x: &'a Matrix<'_>,
    yc: &'a Labels<'_>,
    yv: &'a Values<'_>,
) -> PyResult<DataRef<'a>> {
    let (xs, n) = convert::slice2(py, x)?;
    Ok(DataRef { x: xs, n, targets: convert::targets(py, yc, yv)? })
}

/// [`data`] whose labels are paired with teacher logits when `distill` is given.
fn soft_data<'a>(
    py: Python<'_>,
    x: &'a Matrix<'_>,
    yc: &'a Labels<'_>,
    yv: &'a Values<'_>,
    distill: &'a Option<Distill<'_>>,
) -> PyResult<DataRef<'a>> {
    let d = data(py, x, yc, yv)?;
    let Some(soft) = distill else { return Ok(d) };
    Ok(DataRef { targets: convert::soft_targets(py, d.targets, soft)?, ..d })
}

/// Validates a spec; returns its nodes' output shapes and FLOPs and its parameter tensors.
#[pyfunction]
pub fn compile_spec(py: Python<'_>, spec: &str) -> PyResult<CompiledSpec> {
    let g = graph(py, spec)?;
    let nodes = g.nodes.iter().map(|n| (n.name.clone(), n.shape.dims(), n.flops)).collect();
    Ok((nodes, g.params.into_iter().map(|p| (p.name, p.shape, p.trainable)).collect()))
}

/// Network outputs for `x` (flat, `n × n_outputs`).
#[pyfunction]
pub fn predict<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    masks: MaskArgs<'py>,
    x: Matrix<'py>,
) -> PyResult<ArrayOut<'py>> {
    let md = model(py, spec, &params, &masks)?;
    let (xs, n) = convert::slice2(py, &x)?;
    let y = run(py, |t| engine::predict(&md.g, &md.p, &md.m, xs, n, t))?;
    Ok(convert::vec_out(py, y))
}

/// Mean loss (and accuracy) on a data set.
#[pyfunction]
pub fn evaluate<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    masks: MaskArgs<'py>,
    x: Matrix<'py>,
    y_classes: Labels<'py>,
    y_values: Values<'py>,
) -> PyResult<Bound<'py, PyDict>> {
    let md = model(py, spec, &params, &masks)?;
    let d = data(py, &x, &y_classes, &y_values)?;
    let e = run(py, |t| engine::evaluate(&md.g, &md.p, &md.m, &d, t))?;
    convert::evaluation(py, &e)
}

/// Mean loss over the data and its gradient for every parameter (flat arrays); with `distill`
/// `(teacher_logits, temperature, alpha)`, of the soft-target loss.
#[pyfunction]
#[pyo3(signature = (spec, params, masks, x, y_classes, y_values, distill=None))]
#[allow(clippy::too_many_arguments)]
pub fn gradients<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    masks: MaskArgs<'py>,
    x: Matrix<'py>,
    y_classes: Labels<'py>,
    y_values: Values<'py>,
    distill: Option<Distill<'py>>,
) -> PyResult<(f64, Vec<ArrayOut<'py>>)> {
    let md = model(py, spec, &params, &masks)?;
    let d = soft_data(py, &x, &y_classes, &y_values, &distill)?;
    let (loss, grads) = run(py, |t| engine::gradients(&md.g, &md.p, &md.m, &d, t))?;
    Ok((loss, convert::vecs_out(py, grads)))
}

/// Outputs (or pre-activations when `pre`) of the named nodes for `x`, flat `n × width` each.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn node_values<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    masks: MaskArgs<'py>,
    x: Matrix<'py>,
    nodes: Vec<String>,
    pre: bool,
) -> PyResult<Vec<ArrayOut<'py>>> {
    let md = model(py, spec, &params, &masks)?;
    let (xs, n) = convert::slice2(py, &x)?;
    let idx = engine::node_indices(&md.g, &nodes).map_err(|e| to_py(py, e))?;
    let v = run(py, |t| engine::node_values(&md.g, &md.p, &md.m, xs, n, &idx, pre, t))?;
    Ok(convert::vecs_out(py, v))
}

/// Mean loss and the per-sample pre-activation gradients of the named nodes (flat arrays).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn node_gradients<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    masks: MaskArgs<'py>,
    x: Matrix<'py>,
    y_classes: Labels<'py>,
    y_values: Values<'py>,
    nodes: Vec<String>,
) -> PyResult<(f64, Vec<ArrayOut<'py>>)> {
    let md = model(py, spec, &params, &masks)?;
    let d = data(py, &x, &y_classes, &y_values)?;
    let idx = engine::node_indices(&md.g, &nodes).map_err(|e| to_py(py, e))?;
    let (loss, g) = run(py, |t| engine::node_gradients(&md.g, &md.p, &md.m, &d, &idx, t))?;
    Ok((loss, convert::vecs_out(py, g)))
}

/// Trains for whole epochs in one call; returns
/// `(params, slots, step, records, best_epoch, stopped_early)`. `early_stopping` is
/// `(monitor, patience, min_delta, restore_best)`, `distill` `(teacher_logits, temperature, alpha)`,
/// `dropout` the inverted-dropout rate of hidden dense layers, `weight_masks` one optional 0/1
/// mask per parameter (empty: none; see `engine::support`).
#[pyfunction]
#[pyo3(signature = (spec, params, slots, step, x, y_classes, y_values, val, masks, optimizer, epochs, batch_size, seed, shuffle, initial_epoch, callback=None, early_stopping=None, distill=None, dropout=0.0, weight_masks=Vec::new()))]
pub fn fit<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    slots: Vec<Params<'py>>,
    step: u64,
    x: Matrix<'py>,
    y_classes: Labels<'py>,
    y_values: Values<'py>,
    val: Option<ValData<'py>>,
    masks: MaskArgs<'py>,
    optimizer: Bound<'py, PyDict>,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    shuffle: bool,
    initial_epoch: u64,
    callback: Option<Py<PyAny>>,
    early_stopping: Option<EarlyStop>,
    distill: Option<Distill<'py>>,
    dropout: f32,
    weight_masks: MaskArgs<'py>,
) -> PyResult<FitOut<'py>> {
    let Model { g, mut p, m } = model(py, spec, &params, &masks)?;
    let wm = convert::masks_in(py, &weight_masks)?;
    let opt = convert::optimizer(&optimizer)?;
    let early_stopping = early_stopping.map(|es| convert::early_stopping(py, es)).transpose()?;
    let mut state = opt_state(py, &g, &opt, slots, step)?;
    let train = soft_data(py, &x, &y_classes, &y_values, &distill)?;
    let val = val.as_ref().map(|(vx, vc, vv)| data(py, vx, vc, vv)).transpose()?;
    let mut cb = Callback { f: callback, err: None };
    let out = run(py, |threads| {
        let cfg = FitConfig {
            epochs,
            batch_size,
            seed,
            shuffle,
            initial_epoch,
            optimizer: opt,
            threads,
            early_stopping,
            dropout,
        };
        let on_epoch = &mut |r: &EpochRecord| cb.call(r);
        engine::fit_masked(&g, &mut p, &mut state, &train, val.as_ref(), &m, &wm, &cfg, on_epoch)
    })?;
    if let Some(e) = cb.err {
        return Err(e);
    }
    let recs = out.records.iter().map(|r| convert::record(py, r)).collect::<PyResult<_>>()?;
    let slots_out = state.slots.into_iter().map(|s| convert::vecs_out(py, s)).collect();
    Ok((convert::vecs_out(py, p), slots_out, state.step, recs, out.best_epoch, out.stopped_early))
}

pub(crate) fn opt_state(
    py: Python<'_>,
    g: &Graph,
    opt: &neuroplast_core::kernels::optim::Optimizer,
    slots: Vec<Params<'_>>,
    step: u64,
) -> PyResult<OptState> {
    if slots.is_empty() {
        return OptState::try_zeros(g, opt).map_err(|e| to_py(py, e));
    }
    let slots = slots.iter().map(|s| convert::vecs_in(py, s)).collect::<PyResult<Vec<_>>>()?;
    Ok(OptState { step, slots })
}

/// Per-epoch Python callback; re-acquires the GIL only between epochs. A raised exception
/// stops training and is re-raised after the engine returns.
pub(crate) struct Callback {
    pub(crate) f: Option<Py<PyAny>>,
    pub(crate) err: Option<PyErr>,
}

impl Callback {
    pub(crate) fn call(&mut self, r: &EpochRecord) -> bool {
        let Some(f) = &self.f else { return true };
        Python::attach(|py| {
            let res = convert::record(py, r).and_then(|d| f.call1(py, (d,)));
            match res {
                Ok(v) => v.is_none(py) || v.bind(py).is_truthy().unwrap_or(true),
                Err(e) => {
                    self.err = Some(e);
                    false
                }
            }
        })
    }
}

/// `(params, weight slots, weight step, arch slots, arch step, records)`.
type AltOut<'py> =
    (Vec<ArrayOut<'py>>, Vec<Vec<ArrayOut<'py>>>, u64, Vec<Vec<ArrayOut<'py>>>, u64, Vec<Bound<'py, PyDict>>);

/// Alternating training: every step updates the parameters flagged in `is_arch` with
/// `arch_optimizer` on a batch of the `arch_seed` stream, then the others with `optimizer` on
/// a batch of the `seed` stream. `states` are `((slots, step) weights, (slots, step) arch)`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn fit_alternating<'py>(
    py: Python<'py>,
    spec: &str,
    params: Params<'py>,
    states: ((Vec<Params<'py>>, u64), (Vec<Params<'py>>, u64)),
    is_arch: Vec<bool>,
    x: Matrix<'py>,
    y_classes: Labels<'py>,
    val: Option<ValData<'py>>,
    optimizers: (Bound<'py, PyDict>, Bound<'py, PyDict>),
    epochs: usize,
    batch_size: usize,
    seeds: (u64, u64),
    initial_epoch: u64,
) -> PyResult<AltOut<'py>> {
    let Model { g, mut p, .. } = model(py, spec, &params, &Vec::new())?;
    let m = vec![None; g.nodes.len()];
    let (opt_w, opt_a) = (convert::optimizer(&optimizers.0)?, convert::optimizer(&optimizers.1)?);
    let ((sw, stw), (sa, sta)) = states;
    let (mut state_w, mut state_a) =
        (opt_state(py, &g, &opt_w, sw, stw)?, opt_state(py, &g, &opt_a, sa, sta)?);
    let train = data(py, &x, &y_classes, &None)?;
    let val = val.as_ref().map(|(vx, vc, vv)| data(py, vx, vc, vv)).transpose()?;
    let out = run(py, |threads| {
        let cfg = FitConfig {
            epochs,
            batch_size,
            seed: seeds.0,
            shuffle: true,
            initial_epoch,
            optimizer: opt_w,
            threads,
            early_stopping: None,
            dropout: 0.0,
        };
        let arch = ArchConfig { optimizer: opt_a, seed: seeds.1 };
        let states = TwoStates { weights: &mut state_w, arch: &mut state_a, is_arch: &is_arch };
        engine::fit_alternating(&g, &mut p, states, &train, val.as_ref(), &m, &cfg, &arch)
    })?;
    let recs = out.records.iter().map(|r| convert::record(py, r)).collect::<PyResult<_>>()?;
    let slots = |s: OptState| s.slots.into_iter().map(|v| convert::vecs_out(py, v)).collect::<Vec<_>>();
    let (stw, sta) = (state_w.step, state_a.step);
    Ok((convert::vecs_out(py, p), slots(state_w), stw, slots(state_a), sta, recs))
}
