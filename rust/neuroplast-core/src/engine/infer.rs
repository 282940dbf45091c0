//! Inference: batched forward passes and evaluation without parameter updates.

use super::data::{check_batch_norm_batch, validate_features, validate_masks, validate_params, DataRef};
use super::graph::Graph;
use super::pass::{forward, loss_and_gradients, Gates, Masks, Mode, Workspace};
use crate::error::{Error, Result};
use crate::kernels::loss::{batch_loss, Loss};

/// Rows per forward block during inference (bounds memory independent of data size).
const BLOCK: usize = 1024;

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
    let mut ws = Workspace::new(graph, BLOCK.min(n), false, threads);
    let mut y = vec![0.0f32; n * n_out];
    for (start, yb) in (0..n).step_by(BLOCK).zip(y.chunks_mut(BLOCK * n_out)) {
        let rows = BLOCK.min(n - start);
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
    let mut ws = Workspace::new(graph, BLOCK.min(data.n), false, threads);
    Ok(evaluate_unchecked(graph, params, &masks, &[], data, &mut ws, BLOCK))
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
    let mut ws = Workspace::new(graph, n, true, threads);
    let idx: Vec<usize> = (0..n).collect();
    let mut grads: Vec<Vec<f32>> = graph.params.iter().map(|p| vec![0.0; p.len()]).collect();
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
    let mut ws = Workspace::new(graph, BLOCK.min(n), false, threads);
    let mut out: Vec<Vec<f32>> =
        nodes.iter().map(|&i| Vec::with_capacity(n * graph.nodes[i].width)).collect();
    for start in (0..n).step_by(BLOCK) {
        let rows = BLOCK.min(n - start);
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
