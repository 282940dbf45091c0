//! Training on sampled structures (Saito and Shirakawa 2019, Algorithm 1), whole epochs in one
//! call: per minibatch, `λ` structure vectors drawn from `Bernoulli(θ)`, the loss of the same
//! minibatch under each, the `λ`-averaged weight gradient (eq. 6), the `θ` update (eq. 7 with
//! ranking utilities, clipped) and one optimizer step.

use super::asng::{update_theta, validate_theta, AsngSettings};
use super::data::{check_batch_norm_batch, check_finite, validate_features, validate_params, DataRef};
use super::fit::{apply_updates, EpochRecord, FitConfig, FitOutcome, OptState};
use super::graph::Graph;
use super::graph::NodeKind;
use super::infer::evaluate_unchecked;
use super::pass::{forward, loss_and_scaled_gradients, update_running_stats, Mode, Workspace};
use super::structure::{sample, Structure};
use crate::error::{ensure_config, Error, Result};
use crate::kernels::loss::{Loss, Targets};
use crate::rng::Rng;

/// Offset of the structure-sampling streams: epoch `e` draws its structures from stream
/// `SAMPLE_STREAM + e` of the run's seed, independent of the shuffling stream `e`.
pub const SAMPLE_STREAM: u64 = 1 << 62;

/// Buffers of the `λ` passes over one minibatch.
struct Passes {
    masks: Vec<Option<Vec<f32>>>,
    gates: Vec<Option<Vec<f32>>>,
    tmp: Vec<Vec<f32>>,
    /// Whether each parameter is a dense weight (its gradient is summed inside the GEMM).
    dense: Vec<bool>,
    loss_sums: Vec<f64>,
    correct: usize,
}

impl Passes {
    fn new(graph: &Graph, structure: &Structure, lambda: usize) -> Self {
        let (masks, gates) = structure.buffers();
        let tmp = graph.params.iter().map(|p| vec![0.0; p.len()]).collect();
        let mut dense = vec![false; graph.params.len()];
        for n in &graph.nodes {
            if let NodeKind::Dense { weight, .. } = n.kind {
                dense[weight] = true;
            }
        }
        Self { masks, gates, tmp, dense, loss_sums: vec![0.0; lambda], correct: 0 }
    }

    /// Forward and backward passes of the block `x` (samples `idx`) under each structure of
    /// `ms` (`λ × d`, row-major): each one's loss sum in `loss_sums`, the mean of their
    /// gradients in `grads`. Each pass back-propagates `1/λ` times its loss, so the passes'
    /// gradients only need adding: dense weights inside the GEMM of the next pass, the other
    /// (small) tensors through a buffer. With `train`, every pass also moves the batch-norm
    /// running statistics (as a training forward pass does).
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        graph: &Graph,
        params: &mut [Vec<f32>],
        structure: &Structure,
        ms: &[bool],
        x: &[f32],
        targets: Targets<'_>,
        idx: &[usize],
        ws: &mut Workspace,
        grads: &mut [Vec<f32>],
        train: bool,
    ) {
        let d = structure.len();
        let lambda = self.loss_sums.len();
        let scale = 1.0 / lambda as f32;
        self.correct = 0;
        for s in 0..lambda {
            structure.apply(&ms[s * d..(s + 1) * d], &mut self.masks, &mut self.gates);
            let (masks, gates) = (&self.masks, &self.gates);
            let r = if s == 0 {
                loss_and_scaled_gradients(
                    graph, params, masks, gates, x, targets, idx, ws, grads, scale, false,
                )
            } else {
                // The running sums of the dense weights travel into the buffer and back.
                swap_dense(grads, &mut self.tmp, &self.dense);
                let out = &mut self.tmp[..];
                let r = loss_and_scaled_gradients(
                    graph, params, masks, gates, x, targets, idx, ws, out, scale, true,
                );
                swap_dense(grads, &mut self.tmp, &self.dense);
                for ((g, t), dense) in grads.iter_mut().zip(&self.tmp).zip(&self.dense) {
                    if !dense {
                        g.iter_mut().zip(t).for_each(|(a, &b)| *a += b);
                    }
                }
                r
            };
            self.loss_sums[s] = r.loss_sum;
            self.correct += r.correct;
            if train {
                update_running_stats(graph, params, ws, idx.len());
            }
        }
    }
}

/// Exchanges the dense weights' gradient buffers of `grads` and `tmp`.
fn swap_dense(grads: &mut [Vec<f32>], tmp: &mut [Vec<f32>], dense: &[bool]) {
    for ((g, t), &is_dense) in grads.iter_mut().zip(tmp.iter_mut()).zip(dense) {
        if is_dense {
            std::mem::swap(g, t);
        }
    }
}

fn validate(
    graph: &Graph,
    params: &[Vec<f32>],
    structure: &Structure,
    settings: &AsngSettings,
    theta: &[f64],
) -> Result<()> {
    validate_params(graph, params)?;
    settings.validate(structure.len())?;
    validate_theta(theta, structure.len())
}

/// Trains `params`, `state` and `theta` in place for `cfg.epochs` epochs (Algorithm 1): per
/// minibatch `λ` structures are sampled, the `θ` update uses their ranked losses, and the
/// weights descend the mean of their gradients. Validation (when given) uses the
/// deterministic structure ([`Structure::deterministic`]). Early stopping is not supported.
/// On error the caller must discard `params`, `state` and `theta`.
#[allow(clippy::too_many_arguments)]
pub fn fit_sampled(
    graph: &Graph,
    params: &mut [Vec<f32>],
    state: &mut OptState,
    theta: &mut [f64],
    structure: &Structure,
    settings: &AsngSettings,
    train: &DataRef<'_>,
    val: Option<&DataRef<'_>>,
    cfg: &FitConfig,
    on_epoch: &mut dyn FnMut(&EpochRecord) -> bool,
) -> Result<FitOutcome> {
    validate(graph, params, structure, settings, theta)?;
    cfg.optimizer.validate()?;
    ensure_config(cfg.batch_size >= 1, || "batch_size must be at least 1".into())?;
    ensure_config(cfg.threads >= 1, || "threads must be at least 1".into())?;
    ensure_config(cfg.early_stopping.is_none(), || {
        "early stopping is not available while sampling structures".into()
    })?;
    train.validate(graph, "training data")?;
    if let Some(v) = val {
        v.validate(graph, "validation data")?;
    }
    state.validate(graph, &cfg.optimizer)?;
    let batch = cfg.batch_size.min(train.n);
    check_batch_norm_batch(graph, train.n, batch)?;
    let (d, lambda) = (structure.len(), settings.lambda);
    let mut ws = Workspace::new(graph, batch, true, cfg.threads)?;
    let val_block = val.map_or(1, |v| v.n.min(1024));
    let mut val_ws = val.map(|_| Workspace::new(graph, val_block, false, cfg.threads)).transpose()?;
    let mut passes = Passes::new(graph, structure, lambda);
    let mut grads: Vec<Vec<f32>> = graph.params.iter().map(|p| vec![0.0; p.len()]).collect();
    let n_in = graph.n_inputs();
    let mut xb = vec![0.0f32; batch * n_in];
    let mut ms = vec![false; lambda * d];
    let mut losses = vec![0.0; lambda];
    let mut order: Vec<usize> = (0..train.n).collect();
    let mut history = Vec::new();
    for e in 0..cfg.epochs as u64 {
        let epoch = cfg.initial_epoch + e;
        order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        if cfg.shuffle {
            Rng::new(cfg.seed, epoch).shuffle(&mut order);
        }
        let mut draws = Rng::new(cfg.seed, SAMPLE_STREAM.wrapping_add(epoch));
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for idx in order.chunks(batch) {
            let rows = idx.len();
            for (dst, &s) in xb.chunks_exact_mut(n_in).zip(idx) {
                dst.copy_from_slice(&train.x[s * n_in..(s + 1) * n_in]);
            }
            for m in ms.chunks_exact_mut(d) {
                sample(theta, &mut draws, m);
            }
            let xs = &xb[..rows * n_in];
            passes.run(graph, params, structure, &ms, xs, train.targets, idx, &mut ws, &mut grads, true);
            if let Some(bad) = passes.loss_sums.iter().find(|l| !l.is_finite()) {
                return Err(Error::Numerical(format!(
                    "training diverged: the loss became {bad} in epoch {epoch} at update {}; \
                     lower the learning rate or check the data scale",
                    state.step
                )));
            }
            losses.iter_mut().zip(&passes.loss_sums).for_each(|(l, &s)| *l = s / rows as f64);
            update_theta(theta, &ms, &losses, settings);
            state.step += 1;
            apply_updates(
                graph,
                &cfg.optimizer,
                params,
                &grads,
                &mut state.slots,
                state.step,
                cfg.threads,
                None,
            );
            loss_sum += passes.loss_sums.iter().sum::<f64>();
            correct += passes.correct;
        }
        if let Some(bad) = params.iter().position(|p| check_finite(p, "").is_err()) {
            return Err(Error::Numerical(format!(
                "training diverged: parameter {} became non-finite in epoch {epoch}; \
                 lower the learning rate or check the data scale",
                graph.params[bad].name
            )));
        }
        let val_eval = match (val, val_ws.as_mut()) {
            (Some(v), Some(vws)) => {
                let (mut vm, mut vg) = structure.buffers();
                structure.apply(&structure.deterministic(theta), &mut vm, &mut vg);
                Some(evaluate_unchecked(graph, params, &vm, &vg, v, vws, val_block))
            }
            _ => None,
        };
        let seen = (train.n * lambda) as f64;
        let rec = EpochRecord {
            epoch,
            loss: loss_sum / seen,
            accuracy: (graph.loss == Loss::CrossEntropy).then(|| correct as f64 / seen),
            val: val_eval,
        };
        history.push(rec);
        if !on_epoch(&rec) {
            break;
        }
    }
    let stopped_early = history.len() < cfg.epochs;
    Ok(FitOutcome { records: history, best_epoch: None, stopped_early })
}

/// The quantities of one training step on all of `data` as a single minibatch, for the
/// structures `samples` (`λ × d`, row-major): the mean loss under each structure and the
/// `λ`-averaged gradient (eq. 6). Batch normalization uses batch statistics; running
/// statistics are left unchanged.
pub fn sampled_gradients(
    graph: &Graph,
    params: &[Vec<f32>],
    structure: &Structure,
    samples: &[bool],
    data: &DataRef<'_>,
    threads: usize,
) -> Result<(Vec<f64>, Vec<Vec<f32>>)> {
    validate_params(graph, params)?;
    data.validate(graph, "data")?;
    let d = structure.len();
    ensure_config(d > 0 && samples.len().is_multiple_of(d) && !samples.is_empty(), || {
        format!("{} sampled bits do not form whole structures of {d} bits", samples.len())
    })?;
    let lambda = samples.len() / d;
    check_batch_norm_batch(graph, data.n, data.n)?;
    let mut ws = Workspace::new(graph, data.n, true, threads)?;
    let mut passes = Passes::new(graph, structure, lambda);
    let mut grads: Vec<Vec<f32>> = graph.params.iter().map(|p| vec![0.0; p.len()]).collect();
    let idx: Vec<usize> = (0..data.n).collect();
    let mut p = params.to_vec();
    passes.run(graph, &mut p, structure, samples, data.x, data.targets, &idx, &mut ws, &mut grads, false);
    let losses = passes.loss_sums.iter().map(|s| s / data.n as f64).collect();
    Ok((losses, grads))
}

/// Network outputs (`n × n_outputs`) for `n` samples under the structure `m` (inference mode).
pub fn structured_predict(
    graph: &Graph,
    params: &[Vec<f32>],
    structure: &Structure,
    m: &[bool],
    x: &[f32],
    n: usize,
    threads: usize,
) -> Result<Vec<f32>> {
    validate_params(graph, params)?;
    validate_features(graph, x, n, "X")?;
    if m.len() != structure.len() {
        return Err(Error::Shape(format!("{} bits for a structure of {}", m.len(), structure.len())));
    }
    let (mut masks, mut gates) = structure.buffers();
    structure.apply(m, &mut masks, &mut gates);
    const BLOCK: usize = 1024;
    let (n_in, n_out) = (graph.n_inputs(), graph.n_outputs());
    let mut ws = Workspace::new(graph, BLOCK.min(n), false, threads)?;
    let mut y = vec![0.0f32; n * n_out];
    for (start, yb) in (0..n).step_by(BLOCK).zip(y.chunks_mut(BLOCK * n_out)) {
        let rows = BLOCK.min(n - start);
        let xb = &x[start * n_in..(start + rows) * n_in];
        forward(graph, params, &masks, &gates, xb, rows, &mut ws, Mode::Eval);
        yb.copy_from_slice(ws.output(xb, graph.output, rows * n_out));
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::infer::gradients;
    use crate::engine::structure::BitTarget;
    use crate::kernels::optim::Optimizer;

    fn setup() -> (Graph, Vec<Vec<f32>>, Structure, Vec<f32>, Vec<i64>) {
        let spec = r#"{"input_shape":[3],"output":"out","nodes":[
            {"name":"a","op":"dense","inputs":["input"],"units":4,"activation":"relu"},
            {"name":"b","op":"dense","inputs":["a"],"units":4,"activation":"tanh"},
            {"name":"s","op":"add","inputs":["a","b"]},
            {"name":"out","op":"dense","inputs":["s"],"units":2}]}"#;
        let g = Graph::from_json(spec).unwrap_or_else(|e| unreachable!("{e}"));
        let mut rng = Rng::new(1, 0);
        let params: Vec<Vec<f32>> =
            g.params.iter().map(|p| (0..p.len()).map(|_| rng.uniform_f32() - 0.5).collect()).collect();
        let mut bits: Vec<BitTarget> = (0..4).map(|unit| BitTarget::Unit { node: 1, unit }).collect();
        bits.push(BitTarget::Input { node: 3, input: 1 });
        let s = Structure::new(&g, bits).unwrap_or_else(|e| unreachable!("{e}"));
        let x: Vec<f32> = (0..30).map(|_| rng.uniform_f32() * 2.0 - 1.0).collect();
        let y: Vec<i64> = (0..10).map(|i| i % 2).collect();
        (g, params, s, x, y)
    }

    #[test]
    fn averaged_gradient_is_the_mean_of_single_structure_gradients() {
        let (g, params, s, x, y) = setup();
        let data = DataRef { x: &x, n: 10, targets: Targets::Classes(&y) };
        let ms = [true, false, true, true, false, true, true, false, true, true];
        let (losses, avg) =
            sampled_gradients(&g, &params, &s, &ms, &data, 1).unwrap_or_else(|e| unreachable!("{e}"));
        let mut want = vec![Vec::new(); g.params.len()];
        for (k, m) in ms.chunks(5).enumerate() {
            let (mut masks, mut gates) = s.buffers();
            s.apply(m, &mut masks, &mut gates);
            // The gate of the add equals a mask on b's output here (b feeds only the add).
            let mut plain = vec![None; g.nodes.len()];
            plain[1] = masks[1].clone();
            plain[2] = Some(vec![if m[4] { 1.0 } else { 0.0 }; 4]);
            let (loss, gr) = gradients(&g, &params, &plain, &data, 1).unwrap_or_else(|e| unreachable!("{e}"));
            assert!((loss - losses[k]).abs() < 1e-12);
            for (w, gi) in want.iter_mut().zip(gr) {
                if w.is_empty() {
                    *w = gi;
                } else {
                    w.iter_mut().zip(gi).for_each(|(a, b)| *a = (*a + b) * 0.5);
                }
            }
        }
        assert_eq!(avg, want);
    }

    #[test]
    fn training_is_deterministic_and_moves_theta() {
        let (g, params, s, x, y) = setup();
        let data = DataRef { x: &x, n: 10, targets: Targets::Classes(&y) };
        let settings = AsngSettings { lambda: 2, eta: 0.2, eps0: 0.5, costs: vec![1.0; 5] };
        let cfg = FitConfig {
            epochs: 3,
            batch_size: 4,
            seed: 5,
            shuffle: true,
            initial_epoch: 0,
            optimizer: Optimizer::Sgd { lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 1e-4 },
            threads: 1,
            early_stopping: None,
            dropout: 0.0,
        };
        let run = || {
            let mut p = params.clone();
            let opt = cfg.optimizer;
            let mut st = OptState::zeros(&g, &opt);
            let mut theta = vec![0.5; 5];
            let out = fit_sampled(
                &g,
                &mut p,
                &mut st,
                &mut theta,
                &s,
                &settings,
                &data,
                Some(&data),
                &cfg,
                &mut |_| true,
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
            (p, theta, out)
        };
        let (p1, t1, o1) = run();
        let (p2, t2, o2) = run();
        assert_eq!((p1, &t1, o1), (p2, &t2, o2));
        assert!(t1.iter().all(|&t| (0.2..=0.8).contains(&t)) && t1.iter().any(|&t| t != 0.5));
        let bad = AsngSettings { lambda: 1, ..settings.clone() };
        let mut p = params.clone();
        let mut st = OptState::zeros(&g, &cfg.optimizer);
        let err = fit_sampled(&g, &mut p, &mut st, &mut [0.5; 5], &s, &bad, &data, None, &cfg, &mut |_| true);
        assert!(matches!(err, Err(Error::Config(_))));
    }
}
