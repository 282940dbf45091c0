//! Inference: batched forward passes and evaluation without parameter updates.

use super::budget::{infer_rows, params_bytes};
use super::data::{check_batch_norm_batch, validate_features, validate_masks, validate_params, DataRef};
use super::graph::Graph;
use super::pass::{forward, loss_and_gradients, Gates, Masks, Mode, Workspace};
use crate::error::{Error, Result};
use crate::kernels::loss::{batch_loss, Loss};
use crate::limits::{self, bytes_of, total};

/// Mean loss and accuracy (accuracy only for classification).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: Option<f64>,
}

/// Network outputs (`n × n_outputs`, row-major) for `n` samples.
pub fn predict(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    x: &[f32],
    n: usize,
    threads: usize,
) -> Result<Vec<f32>> {
    validate_params(graph, params)?;
    let masks = validate_masks(graph, masks)?;
    validate_features(graph, x, n, "X")?;
    let (n_in, n_out) = (graph.n_inputs(), graph.n_outputs());
    let block = infer_rows(graph, n);
    limits::ensure(bytes_of(n, 4 * n_out), "the predictions")?;
    let mut ws = Workspace::new(graph, block, false, threads)?;
    let mut y = limits::zeros(n.saturating_mul(n_out), "the predictions")?;
    for (start, yb) in (0..n).step_by(block).zip(y.chunks_mut(block * n_out)) {
        let rows = block.min(n - start);
        let xb = &x[start * n_in..(start + rows) * n_in];
        forward(graph, params, &masks, &[], xb, rows, &mut ws, Mode::Eval);
        yb.copy_from_slice(ws.output(xb, graph.output, rows * n_out));
    }
    Ok(y)
}

/// Mean loss (and accuracy for classification) over a data set, without validation of data.
pub(crate) fn evaluate_unchecked(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    gates: &Gates,
    data: &DataRef<'_>,
    ws: &mut Workspace,
    block: usize,
) -> Evaluation {
    let (n_in, n_out) = (graph.n_inputs(), graph.n_outputs());
    let mut loss_sum = 0.0;
    let mut correct = 0;
    let idx: Vec<usize> = (0..data.n).collect();
    for start in (0..data.n).step_by(block) {
        let rows = block.min(data.n - start);
        let xb = &data.x[start * n_in..(start + rows) * n_in];
        forward(graph, params, masks, gates, xb, rows, ws, Mode::Eval);
        let out = ws.output(xb, graph.output, rows * n_out);
        let r = batch_loss(graph.loss, out, n_out, data.targets, &idx[start..start + rows], rows, None);
        loss_sum += r.loss_sum;
        correct += r.correct;
    }
    Evaluation {
        loss: loss_sum / data.n as f64,
        accuracy: (graph.loss == Loss::CrossEntropy).then(|| correct as f64 / data.n as f64),
    }
}

/// Mean loss and accuracy of the network on `data`.
pub fn evaluate(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    data: &DataRef<'_>,
    threads: usize,
) -> Result<Evaluation> {
    validate_params(graph, params)?;
    let masks = validate_masks(graph, masks)?;
    data.validate(graph, "evaluation data")?;
    let block = infer_rows(graph, data.n);
    let mut ws = Workspace::new(graph, block, false, threads)?;
    let e = evaluate_unchecked(graph, params, &masks, &[], data, &mut ws, block);
    if !e.loss.is_finite() {
        return Err(Error::Numerical(format!(
            "the loss is not finite ({}): the network's outputs overflow on these data \
             (check the input scale)",
            e.loss
        )));
    }
    Ok(e)
}

/// Mean loss over `data` and its gradient with respect to every parameter (one full batch).
///
/// Batch normalization uses the batch's statistics, as in a training step (the running
/// statistics are left unchanged and get zero gradients).
///
/// This is the exact quantity one training step descends, exposed for gradient checks and
/// for controllers that score units by their gradients.
pub fn gradients(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    data: &DataRef<'_>,
    threads: usize,
) -> Result<(f64, Vec<Vec<f32>>)> {
    let (loss, grads, _) = full_batch(graph, params, masks, data, threads)?;
    Ok((loss, grads))
}

/// One validated forward/backward pass over all of `data` as a single batch: the mean loss,
/// the parameter gradients and the workspace holding every node's gradient.
fn full_batch(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    data: &DataRef<'_>,
    threads: usize,
) -> Result<(f64, Vec<Vec<f32>>, Workspace)> {
    validate_params(graph, params)?;
    let masks = validate_masks(graph, masks)?;
    data.validate(graph, "data")?;
    let n = data.n;
    check_batch_norm_batch(graph, n, n)?;
    limits::ensure(params_bytes(graph), "the gradients")?;
    let mut ws = Workspace::new(graph, n, true, threads)?;
    let idx: Vec<usize> = (0..n).collect();
    let grads = graph.params.iter().map(|p| limits::zeros(p.len(), "the gradients"));
    let mut grads: Vec<Vec<f32>> = grads.collect::<Result<_>>()?;
    let r = loss_and_gradients(graph, params, &masks, &[], data.x, data.targets, &idx, &mut ws, &mut grads);
    Ok((r.loss_sum / n as f64, grads, ws))
}

/// Index of every node named in `names` (typed error for an unknown name).
pub fn node_indices(graph: &Graph, names: &[String]) -> Result<Vec<usize>> {
    names
        .iter()
        .map(|name| {
            graph
                .nodes
                .iter()
                .position(|n| &n.name == name)
                .ok_or_else(|| Error::Config(format!("the network has no node named {name:?}")))
        })
        .collect()
}

/// Values of the nodes `nodes` for `n` samples in inference mode: their outputs, or their
/// pre-activations (before activation and mask) when `pre`. One `n × width` block per node.
pub fn node_values(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    x: &[f32],
    n: usize,
    nodes: &[usize],
    pre: bool,
    threads: usize,
) -> Result<Vec<Vec<f32>>> {
    validate_params(graph, params)?;
    let masks = validate_masks(graph, masks)?;
    validate_features(graph, x, n, "X")?;
    let n_in = graph.n_inputs();
    let sizes: Vec<u64> = nodes.iter().map(|&i| bytes_of(n, 4 * graph.nodes[i].width)).collect();
    limits::ensure(total(&sizes), "the requested activations")?;
    let block = infer_rows(graph, n);
    let mut ws = Workspace::new(graph, block, false, threads)?;
    let out =
        nodes.iter().map(|&i| limits::with_capacity(n.saturating_mul(graph.nodes[i].width), "activations"));
    let mut out: Vec<Vec<f32>> = out.collect::<Result<_>>()?;
    for start in (0..n).step_by(block) {
        let rows = block.min(n - start);
        let xb = &x[start * n_in..(start + rows) * n_in];
        forward(graph, params, &masks, &[], xb, rows, &mut ws, Mode::Eval);
        for (dst, &i) in out.iter_mut().zip(nodes) {
            let len = rows * graph.nodes[i].width;
            let src = if pre { ws.pre_activation(xb, i, len) } else { ws.output(xb, i, len) };
            dst.extend_from_slice(src);
        }
    }
    Ok(out)
}

/// Mean loss over `data` (one full batch, as [`gradients`]) and, per node of `nodes`, the
/// per-sample gradient `dL/dz` of its pre-activation (`n × width`; zeros for nodes that do
/// not reach the output). `L` is the batch's mean loss, so each row carries the factor `1/n`.
pub fn node_gradients(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    data: &DataRef<'_>,
    nodes: &[usize],
    threads: usize,
) -> Result<(f64, Vec<Vec<f32>>)> {
    let sizes: Vec<u64> = nodes.iter().map(|&i| bytes_of(data.n, 4 * graph.nodes[i].width)).collect();
    limits::ensure(total(&sizes), "the requested gradients")?;
    let (loss, _, ws) = full_batch(graph, params, masks, data, threads)?;
    let out = nodes
        .iter()
        .map(|&i| {
            let len = data.n * graph.nodes[i].width;
            ws.pre_activation_grad(i, len).map_or_else(|| vec![0.0; len], <[f32]>::to_vec)
        })
        .collect();
    Ok((loss, out))
}
