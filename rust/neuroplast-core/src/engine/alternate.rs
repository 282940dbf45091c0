//! Alternating first-order training of two parameter sets (architecture `Z` and weights `Ψ`),
//! each with its own optimizer and its own minibatch stream (Maile 2023, Algorithm 2).
//!
//! Every step first updates the architecture parameters on a batch of one shuffled stream, then
//! the weights on the batch at the same position of an independently shuffled stream of the
//! same training data: "Ψ and Z batches are drawn independently and randomly from the same
//! training split". An epoch is one pass of the weight stream. Every training-mode forward pass
//! moves the batch-norm running statistics, as in PyTorch. The epoch's loss and accuracy are
//! those of the weight batches.

use super::data::{check_batch_norm_batch, check_finite, validate_masks, validate_params, DataRef};
use super::fit::{apply_updates, EpochRecord, FitConfig, FitOutcome, OptState};
use super::graph::Graph;
use super::infer::evaluate_unchecked;
use super::pass::{loss_and_gradients, update_running_stats, Masks, Workspace};
use crate::error::{ensure_config, Error, Result};
use crate::kernels::loss::{BatchLoss, Loss};
use crate::kernels::optim::Optimizer;
use crate::rng::Rng;

/// Settings of the architecture updates (the weights use the [`FitConfig`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArchConfig {
    pub optimizer: Optimizer,
    /// Seed of the architecture batches' shuffle (independent of the weights' seed).
    pub seed: u64,
}

/// The two optimizer states and which parameters are architecture parameters.
pub struct TwoStates<'a> {
    pub weights: &'a mut OptState,
    pub arch: &'a mut OptState,
    /// `arch[p]`: parameter `p` is updated in the architecture step (and only there).
    pub is_arch: &'a [bool],
}

/// Trains `params` in place with alternating architecture and weight steps (see the module
/// docs). `cfg.early_stopping` must be `None`. On error the caller discards the parameters.
pub fn fit_alternating(
    graph: &Graph,
    params: &mut [Vec<f32>],
    states: TwoStates<'_>,
    train: &DataRef<'_>,
    val: Option<&DataRef<'_>>,
    masks: &Masks,
    cfg: &FitConfig,
    arch: &ArchConfig,
) -> Result<FitOutcome> {
    validate_params(graph, params)?;
    let masks = &validate_masks(graph, masks)?;
    cfg.optimizer.validate()?;
    arch.optimizer.validate()?;
    ensure_config(cfg.batch_size >= 1 && cfg.threads >= 1, || {
        "batch_size and threads must be at least 1".into()
    })?;
    ensure_config(cfg.early_stopping.is_none(), || "alternating training has no early stopping".into())?;
    ensure_config(states.is_arch.len() == graph.params.len(), || {
        "one architecture flag per parameter".into()
    })?;
    train.validate(graph, "training data")?;
    if let Some(v) = val {
        v.validate(graph, "validation data")?;
    }
    states.weights.validate(graph, &cfg.optimizer)?;
    states.arch.validate(graph, &arch.optimizer)?;
    let batch = cfg.batch_size.min(train.n);
    check_batch_norm_batch(graph, train.n, batch)?;
    let val_block = val.map_or(1, |v| v.n.min(1024));
    let mut val_ws = val.map(|_| Workspace::new(graph, val_block, false, cfg.threads)).transpose()?;
    let mut run = Stepper {
        graph,
        masks,
        train,
        ws: Workspace::new(graph, batch, true, cfg.threads)?,
        grads: graph.params.iter().map(|p| vec![0.0; p.len()]).collect(),
        threads: cfg.threads,
        xb: vec![0.0; batch * graph.n_inputs()],
    };
    let not_arch: Vec<bool> = states.is_arch.iter().map(|a| !a).collect();
    let mut records = Vec::new();
    for e in 0..cfg.epochs as u64 {
        let epoch = cfg.initial_epoch + e;
        let order_w = shuffled(train.n, cfg.seed, epoch, cfg.shuffle);
        let order_a = shuffled(train.n, arch.seed, epoch, cfg.shuffle);
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for (iw, ia) in order_w.chunks(batch).zip(order_a.chunks(batch)) {
            run.step(params, states.arch, &arch.optimizer, ia, states.is_arch, epoch)?;
            let r = run.step(params, states.weights, &cfg.optimizer, iw, &not_arch, epoch)?;
            loss_sum += r.loss_sum;
            correct += r.correct;
        }
        if let Some(bad) = params.iter().position(|p| check_finite(p, "").is_err()) {
            return Err(Error::Numerical(format!(
                "training diverged: parameter {} became non-finite in epoch {epoch}",
                graph.params[bad].name
            )));
        }
        let val_eval = match (val, val_ws.as_mut()) {
            (Some(v), Some(vws)) => Some(evaluate_unchecked(graph, params, masks, &[], v, vws, val_block)),
            _ => None,
        };
        let accuracy = (graph.loss == Loss::CrossEntropy).then(|| correct as f64 / train.n as f64);
        records.push(EpochRecord { epoch, loss: loss_sum / train.n as f64, accuracy, val: val_eval });
    }
    Ok(FitOutcome { records, best_epoch: None, stopped_early: false })
}

fn shuffled(n: usize, seed: u64, epoch: u64, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        Rng::new(seed, epoch).shuffle(&mut order);
    }
    order
}

/// One gradient step on a minibatch, updating only the selected parameters.
struct Stepper<'a> {
    graph: &'a Graph,
    masks: &'a Masks,
    train: &'a DataRef<'a>,
    ws: Workspace,
    grads: Vec<Vec<f32>>,
    threads: usize,
    xb: Vec<f32>,
}

impl Stepper<'_> {
    fn step(
        &mut self,
        params: &mut [Vec<f32>],
        state: &mut OptState,
        opt: &Optimizer,
        idx: &[usize],
        only: &[bool],
        epoch: u64,
    ) -> Result<BatchLoss> {
        let n_in = self.graph.n_inputs();
        for (dst, &s) in self.xb.chunks_exact_mut(n_in).zip(idx) {
            dst.copy_from_slice(&self.train.x[s * n_in..(s + 1) * n_in]);
        }
        let xb = &self.xb[..idx.len() * n_in];
        let (ws, grads) = (&mut self.ws, &mut self.grads);
        let r =
            loss_and_gradients(self.graph, params, self.masks, &[], xb, self.train.targets, idx, ws, grads);
        if !r.loss_sum.is_finite() {
            return Err(Error::Numerical(format!(
                "training diverged: the loss became {} in epoch {epoch}; lower the learning rates",
                r.loss_sum
            )));
        }
        state.step += 1;
        update_running_stats(self.graph, params, &self.ws, idx.len());
        apply_updates(
            self.graph,
            opt,
            params,
            &self.grads,
            &mut state.slots,
            state.step,
            self.threads,
            Some(only),
        );
        Ok(r)
    }
}
