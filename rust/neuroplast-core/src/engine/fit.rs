//! Training: whole epochs (seeded shuffle, minibatches, forward, backward, update) in one call.

use super::budget::{infer_rows, params_bytes};
use super::data::{check_batch_norm_batch, check_finite, validate_masks, validate_params, DataRef};
use super::divergence::{diverged, trivial_loss, Watch};
use super::dropout;
use super::early_stop::{EarlyStopping, Tracker};
use super::graph::Graph;
use super::infer::{evaluate_unchecked, Evaluation};
use super::pass::{loss_and_gradients, update_running_stats, Masks, Workspace};
use super::support::{self, WeightMasks};
use crate::error::{ensure_config, Error, Result};
use crate::kernels::loss::{BatchLoss, Loss};
use crate::kernels::optim::{self, Optimizer};
use crate::limits;
use crate::rng::Rng;
use rayon::prelude::*;

/// Settings of one `fit` call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub shuffle: bool,
    /// Global index of the first epoch: epoch `e` shuffles with stream `initial_epoch + e`, so
    /// training in several calls reproduces one long call.
    pub initial_epoch: u64,
    pub optimizer: Optimizer,
    pub threads: usize,
    /// Stop on a validation metric (and restore its best epoch); needs validation data.
    pub early_stopping: Option<EarlyStopping>,
    /// Inverted-dropout rate on the outputs of hidden dense layers (`0` = none; see
    /// [`super::dropout`]).
    pub dropout: f32,
}

/// Optimizer state: the update counter and per-parameter buffers (`slots[p][k]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptState {
    pub step: u64,
    pub slots: Vec<Vec<Vec<f32>>>,
}

impl OptState {
    /// Zeroed state for `graph` under `opt`.
    pub fn zeros(graph: &Graph, opt: &Optimizer) -> Self {
        let slots = graph.params.iter().map(|p| vec![vec![0.0; p.len()]; opt.n_slots()]).collect();
        Self { step: 0, slots }
    }

    /// [`OptState::zeros`], or [`Error::Resource`] when the buffers cannot be allocated.
    pub fn try_zeros(graph: &Graph, opt: &Optimizer) -> Result<Self> {
        let what = "the optimizer state";
        limits::ensure(params_bytes(graph).saturating_mul(opt.n_slots() as u64), what)?;
        let per_param = |len: usize| (0..opt.n_slots()).map(|_| limits::zeros(len, what)).collect();
        let slots = graph.params.iter().map(|p| per_param(p.len())).collect::<Result<_>>()?;
        Ok(Self { step: 0, slots })
    }

    /// Checks that the state fits `graph` and `opt`.
    pub fn validate(&self, graph: &Graph, opt: &Optimizer) -> Result<()> {
        let ok = self.slots.len() == graph.params.len()
            && self
                .slots
                .iter()
                .zip(&graph.params)
                .all(|(s, p)| s.len() == opt.n_slots() && s.iter().all(|b| b.len() == p.len()));
        if !ok {
            return Err(Error::Shape(
                "optimizer state does not match the network's parameters or the optimizer".into(),
            ));
        }
        if self.slots.iter().flatten().any(|b| check_finite(b, "").is_err()) {
            return Err(Error::Data("optimizer state contains non-finite values".into()));
        }
        Ok(())
    }
}

/// Metrics of one epoch. Training metrics are averaged over the epoch's minibatches as they
/// were seen (before each update), as Keras reports them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochRecord {
    pub epoch: u64,
    pub loss: f64,
    pub accuracy: Option<f64>,
    pub val: Option<Evaluation>,
}

/// What a `fit` call did besides updating the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct FitOutcome {
    /// One record per epoch that ran.
    pub records: Vec<EpochRecord>,
    /// With early stopping: the (global) index of the epoch with the best monitored value.
    pub best_epoch: Option<u64>,
    /// Whether fewer epochs ran than asked (early stopping or `on_epoch` returning `false`).
    pub stopped_early: bool,
}

/// Trains `params` and `state` in place. `on_epoch` sees each record and returns `false` to
/// stop early; so does the early-stopping rule of `cfg`, which then also restores the best
/// epoch's parameters and optimizer state (kept in the engine, copied only on improvement).
/// The training targets may be [`Targets::Distill`](crate::kernels::loss::Targets) soft
/// targets (gathered by sample index, so they follow the shuffle). On error the caller must
/// discard `params`/`state` (they may be partly updated).
pub fn fit(
    graph: &Graph,
    params: &mut [Vec<f32>],
    state: &mut OptState,
    train: &DataRef<'_>,
    val: Option<&DataRef<'_>>,
    masks: &Masks,
    cfg: &FitConfig,
    on_epoch: &mut dyn FnMut(&EpochRecord) -> bool,
) -> Result<FitOutcome> {
    fit_masked(graph, params, state, train, val, masks, &[], cfg, on_epoch)
}

/// [`fit`] on a fixed support: the entries of `weight_masks` that are 0 are zeroed before
/// training and stay zero (see [`super::support`]).
#[allow(clippy::too_many_arguments)]
pub fn fit_masked(
    graph: &Graph,
    params: &mut [Vec<f32>],
    state: &mut OptState,
    train: &DataRef<'_>,
    val: Option<&DataRef<'_>>,
    masks: &Masks,
    weight_masks: &WeightMasks,
    cfg: &FitConfig,
    on_epoch: &mut dyn FnMut(&EpochRecord) -> bool,
) -> Result<FitOutcome> {
    validate_params(graph, params)?;
    let masks = &validate_masks(graph, masks)?;
    support::validate(graph, weight_masks)?;
    cfg.optimizer.validate()?;
    ensure_config(cfg.batch_size >= 1, || "batch_size must be at least 1".into())?;
    ensure_config(cfg.threads >= 1, || "threads must be at least 1".into())?;
    dropout::validate_rate(cfg.dropout)?;
    train.validate(graph, "training data")?;
    if let Some(v) = val {
        v.validate(graph, "validation data")?;
    }
    state.validate(graph, &cfg.optimizer)?;
    if let Some(rule) = &cfg.early_stopping {
        rule.validate(graph, val.is_some())?;
    }
    let mut tracker = cfg.early_stopping.map(Tracker::new);
    let batch = cfg.batch_size.min(train.n);
    check_batch_norm_batch(graph, train.n, batch)?;
    let mut ws = Workspace::new(graph, batch, true, cfg.threads)?;
    if cfg.dropout > 0.0 {
        ws.enable_dropout(graph, batch)?;
    }
    let val_block = val.map_or(1, |v| infer_rows(graph, v.n));
    let mut val_ws = val.map(|_| Workspace::new(graph, val_block, false, cfg.threads)).transpose()?;
    limits::ensure(params_bytes(graph), "the gradients")?;
    let grads = graph.params.iter().map(|p| limits::zeros(p.len(), "the gradients"));
    let mut grads: Vec<Vec<f32>> = grads.collect::<Result<_>>()?;
    let n_in = graph.n_inputs();
    let mut xb = limits::zeros(batch.saturating_mul(n_in), "a minibatch")?;
    let mut order: Vec<usize> = limits::zeros(train.n, "the shuffle order")?;
    let trivial = trivial_loss(train.targets, train.n, graph.n_outputs());
    let mut watch = Watch::new(trivial, train.n.div_ceil(batch));
    // Grows with the epochs actually run: `epochs` may be huge when a callback stops early.
    let mut history = Vec::new();
    support::apply(weight_masks, params);
    for e in 0..cfg.epochs as u64 {
        let epoch = cfg.initial_epoch + e;
        order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        if cfg.shuffle {
            Rng::new(cfg.seed, epoch).shuffle(&mut order);
        }
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for idx in order.chunks(batch) {
            let rows = idx.len();
            for (dst, &s) in xb.chunks_exact_mut(n_in).zip(idx) {
                dst.copy_from_slice(&train.x[s * n_in..(s + 1) * n_in]);
            }
            let r = train_step(
                graph,
                params,
                state,
                (masks, weight_masks),
                &xb[..rows * n_in],
                idx,
                train,
                &mut ws,
                &mut grads,
                cfg,
            )?;
            watch.observe(r.loss_sum, rows, epoch, state.step)?;
            loss_sum += r.loss_sum;
            correct += r.correct;
        }
        // A last update can overflow without a later loss to reveal it; check once per epoch.
        if let Some(bad) = params.iter().position(|p| check_finite(p, "").is_err()) {
            let name = &graph.params[bad].name;
            return Err(diverged(format!("parameter {name} became non-finite in epoch {epoch}")));
        }
        let val_eval = match (val, val_ws.as_mut()) {
            (Some(v), Some(vws)) => Some(evaluate_unchecked(graph, params, masks, &[], v, vws, val_block)),
            _ => None,
        };
        let rec = EpochRecord {
            epoch,
            loss: loss_sum / train.n as f64,
            accuracy: (graph.loss == Loss::CrossEntropy).then(|| correct as f64 / train.n as f64),
            val: val_eval,
        };
        // Fallible: a huge `epochs` with a callback that never stops must not abort the process.
        history.try_reserve(1).map_err(|_| Error::Resource("cannot grow the training history".into()))?;
        history.push(rec);
        let stop = tracker.as_mut().is_some_and(|t| t.observe(&rec, params, state));
        // The callback sees every epoch that ran, the last one included.
        if !on_epoch(&rec) || stop {
            break;
        }
    }
    let best_epoch = tracker.and_then(|t| t.finish(params, state));
    let stopped_early = history.len() < cfg.epochs;
    Ok(FitOutcome { records: history, best_epoch, stopped_early })
}

fn train_step(
    graph: &Graph,
    params: &mut [Vec<f32>],
    state: &mut OptState,
    (masks, weight_masks): (&Masks, &WeightMasks),
    xb: &[f32],
    idx: &[usize],
    train: &DataRef<'_>,
    ws: &mut Workspace,
    grads: &mut [Vec<f32>],
    cfg: &FitConfig,
) -> Result<BatchLoss> {
    if cfg.dropout > 0.0 {
        // Factors of the step about to run (`state.step` counts completed updates).
        dropout::draw(graph, cfg.dropout, cfg.seed, state.step, idx.len(), ws.dropout_factors());
    }
    let r = loss_and_gradients(graph, params, masks, &[], xb, train.targets, idx, ws, grads);
    if !r.loss_sum.is_finite() {
        // The caller reports divergence; the update is not applied.
        return Ok(r);
    }
    state.step += 1;
    update_running_stats(graph, params, ws, idx.len());
    support::apply(weight_masks, grads);
    apply_updates(graph, &cfg.optimizer, params, grads, &mut state.slots, state.step, cfg.threads, None);
    support::apply(weight_masks, params);
    Ok(r)
}

/// Elements per optimizer job: large enough to amortize scheduling, small enough to balance
/// the threads on the biggest tensors.
const UPDATE_CHUNK: usize = 1 << 16;

/// One optimizer step over all trainable parameters (only those with `only[p]` when given).
/// The update is memory-bound and, for large layers, costs as much as a GEMM, so it runs on
/// all threads in fixed chunks (elementwise, hence bitwise identical to a sequential update).
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_updates(
    graph: &Graph,
    opt: &Optimizer,
    params: &mut [Vec<f32>],
    grads: &[Vec<f32>],
    slots: &mut [Vec<Vec<f32>>],
    step: u64,
    threads: usize,
    only: Option<&[bool]>,
) {
    type Job<'a> = (&'a mut [f32], &'a [f32], Vec<&'a mut [f32]>);
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let tensors = params.iter_mut().zip(grads).zip(slots.iter_mut()).zip(&graph.params).enumerate();
    let selected = |p: usize, info: &super::graph::ParamInfo| info.trainable && only.is_none_or(|o| o[p]);
    for (_, (((w, g), s), _)) in tensors.filter(|(p, (_, info))| selected(*p, info)) {
        let mut slot_chunks: Vec<_> = s.iter_mut().map(|b| b.chunks_mut(UPDATE_CHUNK)).collect();
        for (wc, gc) in w.chunks_mut(UPDATE_CHUNK).zip(g.chunks(UPDATE_CHUNK)) {
            jobs.push((wc, gc, slot_chunks.iter_mut().filter_map(Iterator::next).collect()));
        }
    }
    let run = |(w, g, mut s): Job<'_>| optim::step(opt, w, g, &mut s, step);
    // With one thread no pool is installed (see `parallel::run_in_pool`): stay sequential.
    if threads > 1 {
        jobs.into_par_iter().for_each(run);
    } else {
        jobs.into_iter().for_each(run);
    }
}
