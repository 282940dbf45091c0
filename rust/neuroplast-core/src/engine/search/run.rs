//! The search loop: weight steps, scheduled architecture steps, regularizers and pruning.

use super::arch::{arch_tensors, ArchTensor};
use super::{SearchConfig, SearchRecord, SearchState};
use crate::engine::data::{check_batch_norm_batch, check_finite, validate_params, DataRef};
use crate::engine::fit::{apply_updates, OptState};
use crate::engine::graph::Graph;
use crate::engine::pass::{loss_and_gradients, update_running_stats, Workspace};
use crate::error::{Error, Result};
use crate::kernels::loss::{BatchLoss, Loss};
use crate::kernels::mixed::Weighting;
use crate::kernels::optim::Optimizer;
use crate::rng::Rng;

pub(super) struct Searcher<'a> {
    pub(super) graph: &'a Graph,
    pub(super) cfg: &'a SearchConfig,
    pub(super) tensors: Vec<ArchTensor>,
    train: &'a DataRef<'a>,
    pub(super) val: &'a DataRef<'a>,
    pub(super) masks: Vec<Option<Vec<f32>>>,
    pub(super) ws: Workspace,
    pub(super) grads: Vec<Vec<f32>>,
    is_arch: Vec<bool>,
    /// `!is_arch`: the tensors a weight step updates.
    is_weight: Vec<bool>,
    pub(super) xb: Vec<f32>,
    pub(super) val_order: Option<(u64, Vec<usize>)>,
    threads: usize,
}

/// Runs `epochs` search epochs (stopping early when `on_epoch` returns `false`), updating the
/// parameters, the weights' SGD state `w_state` and the search `state` (a fresh one when
/// `None`); returns one record per epoch and the state to continue from.
#[allow(clippy::too_many_arguments)]
pub fn search(
    graph: &Graph,
    params: &mut [Vec<f32>],
    w_state: &mut OptState,
    state: Option<SearchState>,
    train: &DataRef<'_>,
    val: &DataRef<'_>,
    cfg: &SearchConfig,
    epochs: usize,
    threads: usize,
    on_epoch: &mut dyn FnMut(&SearchRecord) -> bool,
) -> Result<(Vec<SearchRecord>, SearchState)> {
    let tensors = check(graph, params, w_state, train, val, cfg)?;
    let mut state = match state {
        Some(s) => s,
        None => fresh_state(&tensors, params, cfg)?,
    };
    state.validate(&tensors, cfg)?;
    let mut s = Searcher::new(graph, cfg, tensors, train, val, threads)?;
    let mut records = Vec::new();
    for _ in 0..epochs {
        let rec = s.epoch(params, w_state, &mut state)?;
        let go_on = on_epoch(&rec);
        records.push(rec);
        if !go_on {
            break;
        }
    }
    Ok((records, state))
}

/// Validates everything before any work; returns the architecture tensors.
fn check(
    graph: &Graph,
    params: &[Vec<f32>],
    w_state: &OptState,
    train: &DataRef<'_>,
    val: &DataRef<'_>,
    cfg: &SearchConfig,
) -> Result<Vec<ArchTensor>> {
    validate_params(graph, params)?;
    cfg.validate()?;
    train.validate(graph, "training data")?;
    val.validate(graph, "architecture data")?;
    w_state.validate(graph, &sgd(cfg, cfg.w_lr))?;
    let tensors = arch_tensors(graph)?;
    if tensors.is_empty() {
        return Err(Error::Config("the network has no mixed nodes: nothing to search".into()));
    }
    if cfg.proximity.is_some() || cfg.admm.is_some() {
        for t in &tensors {
            t.project(
                &vec![0.0; t.rows * t.cols],
                &vec![0.0; t.rows * t.cols],
                &vec![false; t.rows * t.cols],
            )?;
        }
    }
    check_batch_norm_batch(graph, train.n, cfg.batch_size.min(train.n))?;
    let vb = cfg.batch_size.min(val.n);
    check_batch_norm_batch(graph, vb, vb)?;
    Ok(tensors)
}

/// The weights' optimizer of `cfg` (its slots are those of the weights' optimizer state).
pub fn sgd_of(cfg: &SearchConfig) -> Optimizer {
    sgd(cfg, cfg.w_lr)
}

fn sgd(cfg: &SearchConfig, lr: f32) -> Optimizer {
    Optimizer::Sgd { lr, momentum: cfg.momentum, nesterov: false, weight_decay: cfg.w_weight_decay }
}

/// A new search: zero Adam moments, `z = Π(a)` and `u = 0` for ADMM, CRB operations with a
/// non-positive weight already pruned.
fn fresh_state(tensors: &[ArchTensor], params: &[Vec<f32>], cfg: &SearchConfig) -> Result<SearchState> {
    let mut st = SearchState::default();
    for t in tensors {
        let alpha = &params[t.param];
        let n = alpha.len();
        st.alpha_slots.push([vec![0.0; n], vec![0.0; n]]);
        let crb = t.weighting == Weighting::Crb && cfg.prune;
        st.pruned.push(alpha.iter().map(|&v| crb && v <= 0.0).collect());
        if cfg.admm.is_some() {
            let a = t.activate(alpha);
            st.z.push(t.project(&a, alpha, st.pruned.last().map_or(&[][..], |p| p))?);
            st.u.push(vec![0.0; n]);
        }
    }
    Ok(st)
}

impl<'a> Searcher<'a> {
    fn new(
        graph: &'a Graph,
        cfg: &'a SearchConfig,
        tensors: Vec<ArchTensor>,
        train: &'a DataRef<'a>,
        val: &'a DataRef<'a>,
        threads: usize,
    ) -> Result<Self> {
        let batch = cfg.batch_size.min(train.n).max(cfg.batch_size.min(val.n));
        let mut is_arch = vec![false; graph.params.len()];
        tensors.iter().for_each(|t| is_arch[t.param] = true);
        Ok(Self {
            graph,
            cfg,
            tensors,
            train,
            val,
            masks: vec![None; graph.nodes.len()],
            ws: Workspace::new(graph, batch, true, threads)?,
            grads: graph.params.iter().map(|p| vec![0.0; p.len()]).collect(),
            is_weight: is_arch.iter().map(|a| !a).collect(),
            is_arch,
            xb: vec![0.0; batch * graph.n_inputs()],
            val_order: None,
            threads,
        })
    }

    /// One epoch over the training split.
    fn epoch(
        &mut self,
        params: &mut [Vec<f32>],
        w_state: &mut OptState,
        st: &mut SearchState,
    ) -> Result<SearchRecord> {
        let (cfg, e) = (self.cfg, st.epoch);
        let factor = cfg.cosine(e);
        let w_opt = sgd(cfg, cfg.w_lr * factor);
        let alpha_lr = if cfg.alpha_cosine { cfg.alpha_lr * factor } else { cfg.alpha_lr };
        let mut rec = SearchRecord { epoch: e, w_lr: cfg.w_lr * factor, alpha_lr, ..SearchRecord::default() };
        let mut order: Vec<usize> = (0..self.train.n).collect();
        Rng::new(cfg.seed, e).shuffle(&mut order);
        let batch = cfg.batch_size.min(self.train.n);
        let n_batches = order.len().div_ceil(batch);
        let (mut w_sum, mut w_ok, mut a_sum, mut a_ok) = (0.0, 0usize, 0.0, 0usize);
        for (b, idx) in order.chunks(batch).enumerate() {
            let (r, fisher) = self.w_step(params, w_state, &w_opt, idx)?;
            w_sum += r.loss_sum;
            w_ok += r.correct;
            let d = cfg.schedule.decide(&mut st.schedule, st.iteration, fisher);
            rec.fisher.push(fisher as f32);
            rec.fisher_ema.push(d.ema as f32);
            rec.threshold.push(d.threshold as f32);
            st.iteration += 1;
            if d.fire {
                let c = ((e as f64 + (b + 1) as f64 / n_batches as f64) / cfg.total_epochs as f64).min(1.0);
                let (r, penalty) = self.alpha_step(params, st, alpha_lr, c)?;
                (a_sum, a_ok, rec.penalty) = (a_sum + r.loss_sum, a_ok + r.correct, penalty);
                rec.alpha_at.push(b as u32);
            }
        }
        if let Some(bad) = params.iter().position(|p| check_finite(p, "").is_err()) {
            let name = &self.graph.params[bad].name;
            return Err(Error::Numerical(format!("search diverged: {name} became non-finite in epoch {e}")));
        }
        let classify = self.graph.loss == Loss::CrossEntropy;
        let (n, na) = (self.train.n as f64, rec.alpha_at.len() as f64 * self.val_batch() as f64);
        rec.loss = w_sum / n;
        rec.accuracy = classify.then(|| w_ok as f64 / n);
        rec.alpha_loss = (na > 0.0).then(|| a_sum / na);
        rec.alpha_accuracy = (na > 0.0 && classify).then(|| a_ok as f64 / na);
        (rec.w_steps, rec.alpha_steps) = (n_batches as u64, rec.alpha_at.len() as u64);
        rec.pruned = st.pruned.iter().flatten().filter(|&&p| p).count();
        st.epoch += 1;
        Ok(rec)
    }

    pub(super) fn val_batch(&self) -> usize {
        self.cfg.batch_size.min(self.val.n)
    }

    /// One SGD step of the weights on training samples `idx`: the batch loss and the squared
    /// norm of the weight gradient before clipping (the Fisher trace of eq. 18).
    fn w_step(
        &mut self,
        params: &mut [Vec<f32>],
        w_state: &mut OptState,
        opt: &Optimizer,
        idx: &[usize],
    ) -> Result<(BatchLoss, f64)> {
        let n_in = self.graph.n_inputs();
        gather(self.train.x, n_in, idx, &mut self.xb);
        let xb = &self.xb[..idx.len() * n_in];
        let r = loss_and_gradients(
            self.graph,
            params,
            &self.masks,
            &[],
            xb,
            self.train.targets,
            idx,
            &mut self.ws,
            &mut self.grads,
        );
        if !r.loss_sum.is_finite() {
            return Err(Error::Numerical(format!(
                "search diverged: the training loss became {} at weight step {}; lower the learning rate",
                r.loss_sum, w_state.step
            )));
        }
        let norm2 = self.weight_grad_norm2();
        let clip = f64::from(self.cfg.grad_clip);
        if clip > 0.0 && norm2.sqrt() > clip {
            let scale = (clip / norm2.sqrt()) as f32;
            for (g, _) in self.grads.iter_mut().zip(&self.is_arch).filter(|(_, &a)| !a) {
                g.iter_mut().for_each(|v| *v *= scale);
            }
        }
        update_running_stats(self.graph, params, &self.ws, idx.len());
        w_state.step += 1;
        let (graph, grads, threads) = (self.graph, &self.grads, self.threads);
        apply_updates(
            graph,
            opt,
            params,
            grads,
            &mut w_state.slots,
            w_state.step,
            threads,
            Some(&self.is_weight),
        );
        Ok((r, norm2))
    }

    /// `‖∇w‖²` over the trainable weights (architecture tensors and buffers excluded).
    fn weight_grad_norm2(&self) -> f64 {
        let infos = self.graph.params.iter().zip(&self.is_arch);
        let grads = self.grads.iter().zip(infos).filter(|(_, (i, &a))| i.trainable && !a);
        grads.map(|(g, _)| g.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>()).sum()
    }
}

/// Copies the rows `idx` of `x` (rows of `n_in` values) into `out`.
pub(super) fn gather(x: &[f32], n_in: usize, idx: &[usize], out: &mut [f32]) {
    for (dst, &s) in out.chunks_exact_mut(n_in).zip(idx) {
        dst.copy_from_slice(&x[s * n_in..(s + 1) * n_in]);
    }
}
