//! Forward and backward passes over a compiled [`Graph`] for one block of rows.

use super::graph::{Graph, Node, NodeKind};
use super::mixed;
use super::pass_group::{
    group_conv_backward, group_conv_forward, group_pool_backward, group_pool_forward, mixed_conv_backward,
    mixed_conv_forward, mixed_params, Block, GroupScratch,
};
use crate::error::Result;
use crate::kernels::activation;
use crate::kernels::gemm::{gemm, Mat};
use crate::kernels::loss::{batch_loss, BatchLoss, Targets};
use crate::kernels::spatial::batchnorm::{
    batch_norm_backward, batch_norm_eval, batch_norm_train, update_running, BnShape,
};
use crate::kernels::spatial::conv::{conv2d_backward, conv2d_forward};
use crate::kernels::spatial::pool::{
    avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward,
};
use crate::limits;

/// Per-node buffers, sized once for the largest block of rows.
pub struct Workspace {
    pre: Vec<Vec<f32>>,
    out: Vec<Vec<f32>>,
    grad: Vec<Vec<f32>>,
    has_grad: Vec<bool>,
    /// Batch-norm batch statistics (`mean ‖ var`, per channel) of the last training forward.
    stats: Vec<Vec<f32>>,
    /// Max-pooling winners (index within the sample) of the last forward.
    argmax: Vec<Vec<u32>>,
    /// Expanded kernels of the group and mixed convolutions from the last forward.
    group: Vec<GroupScratch>,
    /// Operation weights `a(α)` of every mixed node in the last forward.
    pub(super) mix: Vec<Vec<f32>>,
    /// Whether a node was computed in the last forward (see [`mixed::prepare`]).
    pub(super) live: Vec<bool>,
    /// Dropout factors of the current training step (see [`super::dropout`]); all slots empty
    /// unless [`Workspace::enable_dropout`] was called.
    pub(super) drop: super::dropout::Factors,
    threads: usize,
}

/// Whether batch normalization uses batch statistics (training) or running ones (inference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

/// Optional per-unit multiplicative masks, one slot per node (hidden nodes only).
pub type Masks = [Option<Vec<f32>>];

/// Optional per-input gates of merge nodes (`add`, `concat`), one slot per node: input `j` of
/// node `i` enters scaled by `gates[i][j]` (0 switches the connection off). An empty slice or a
/// missing slot means every input is on.
pub type Gates = [Option<Vec<f32>>];

fn gate_of(gates: &Gates, i: usize) -> Option<&[f32]> {
    gates.get(i).and_then(|g| g.as_deref())
}

impl Workspace {
    /// Buffers for blocks of at most `rows` rows; `train` also allocates gradient buffers.
    ///
    /// The working set ([`super::budget::working_set`]) is checked against the memory limit
    /// first and every buffer is allocated fallibly: [`Error::Resource`] instead of an abort.
    pub fn new(graph: &Graph, rows: usize, train: bool, threads: usize) -> Result<Self> {
        limits::ensure(super::budget::working_set(graph, rows, train, threads), "the network's buffers")?;
        let what = "a network buffer";
        let sized = |i: usize| {
            limits::zeros(if i == 0 { 0 } else { rows.saturating_mul(graph.nodes[i].width) }, what)
        };
        let n = graph.nodes.len();
        let empty = |_| Ok(Vec::new());
        Ok(Self {
            pre: (0..n).map(sized).collect::<Result<_>>()?,
            out: (0..n).map(sized).collect::<Result<_>>()?,
            grad: (0..n).map(|i| if train { sized(i) } else { empty(i) }).collect::<Result<_>>()?,
            has_grad: vec![false; n],
            stats: graph
                .nodes
                .iter()
                .map(|nd| match nd.kind {
                    NodeKind::BatchNorm { .. } => limits::zeros(2 * bn_shape(nd).channels, what),
                    _ => Ok(Vec::new()),
                })
                .collect::<Result<_>>()?,
            argmax: graph
                .nodes
                .iter()
                .map(|nd| match nd.kind {
                    NodeKind::MaxPool(_) => limits::zeros(rows.saturating_mul(nd.width), what),
                    _ => Ok(Vec::new()),
                })
                .collect::<Result<_>>()?,
            group: graph.nodes.iter().map(GroupScratch::for_node).collect(),
            mix: mixed::weight_buffers(graph),
            live: vec![true; n],
            drop: vec![Vec::new(); n],
            threads,
        })
    }

    /// Allocates dropout factor buffers for blocks of up to `rows` rows: from now on training
    /// forward and backward passes multiply hidden dense outputs (and their gradients) by
    /// the factors last drawn with [`super::dropout::draw`] into [`Workspace::dropout_factors`].
    pub(super) fn enable_dropout(&mut self, graph: &Graph, rows: usize) -> Result<()> {
        self.drop = super::dropout::buffers(graph, rows)?;
        Ok(())
    }

    /// The dropout factor buffers (to draw into).
    pub(super) fn dropout_factors(&mut self) -> &mut super::dropout::Factors {
        &mut self.drop
    }

    /// Output of node `i` for the current block (`x` is the input block).
    pub fn output<'a>(&'a self, x: &'a [f32], i: usize, len: usize) -> &'a [f32] {
        if i == 0 {
            x
        } else {
            &self.out[i][..len]
        }
    }

    /// Pre-activation of node `i` for the current block (`x` is the input block).
    pub fn pre_activation<'a>(&'a self, x: &'a [f32], i: usize, len: usize) -> &'a [f32] {
        if i == 0 {
            x
        } else {
            &self.pre[i][..len]
        }
    }

    /// After a backward pass: `dL/dz` of node `i`'s pre-activation (`None` when the node does
    /// not reach the output, i.e. its gradient is zero).
    pub fn pre_activation_grad(&self, i: usize, len: usize) -> Option<&[f32]> {
        (i > 0 && self.has_grad[i]).then(|| &self.grad[i][..len])
    }

    /// Loss of the output block over samples `idx` of `targets`, writing dL/d`out` into the
    /// output node's gradient buffer (and marking it as the only node with a gradient).
    fn seed_output_grad(&mut self, graph: &Graph, targets: Targets<'_>, idx: &[usize]) -> BatchLoss {
        let o = graph.output;
        let width = graph.nodes[o].width;
        let len = idx.len() * width;
        self.has_grad.iter_mut().for_each(|h| *h = false);
        self.has_grad[o] = true;
        let grad = Some(&mut self.grad[o][..len]);
        batch_loss(graph.loss, &self.out[o][..len], width, targets, idx, idx.len(), grad)
    }
}

/// Computes every node's output for the `rows × n_inputs` block `x`.
pub fn forward(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    gates: &Gates,
    x: &[f32],
    rows: usize,
    ws: &mut Workspace,
    mode: Mode,
) {
    mixed::prepare(graph, params, &mut ws.mix, &mut ws.live);
    for i in 1..graph.nodes.len() {
        if !ws.live[i] {
            continue;
        }
        let node = &graph.nodes[i];
        let width = node.width;
        let len = rows * width;
        let (done, rest) = ws.out.split_at_mut(i);
        let input = |j: usize| -> &[f32] {
            if j == 0 {
                x
            } else {
                &done[j][..rows * graph.nodes[j].width]
            }
        };
        let pre = &mut ws.pre[i][..len];
        match node.kind {
            NodeKind::Input => continue,
            NodeKind::Dense { weight, bias } => {
                let j = node.inputs[0];
                let fan_in = graph.nodes[j].width;
                if let Some(b) = bias {
                    pre.chunks_exact_mut(width).for_each(|r| r.copy_from_slice(&params[b]));
                }
                // z = x · Wᵀ (+ b), W stored as width × fan_in.
                let xin = Mat::new(input(j), rows, fan_in);
                let w = Mat::new(&params[weight], width, fan_in);
                gemm(xin, w.t(), pre, bias.is_some(), ws.threads);
            }
            NodeKind::Conv2d { ref geom, weight, bias } => {
                let b = bias.map(|b| params[b].as_slice());
                conv2d_forward(geom, input(node.inputs[0]), rows, &params[weight], b, pre, ws.threads);
            }
            NodeKind::MaxPool(ref g) => {
                max_pool_forward(g, input(node.inputs[0]), rows, pre, &mut ws.argmax[i][..len]);
            }
            NodeKind::GroupConv { ref geom, weight, bias, ref expansion } => {
                let b = Block { x: input(node.inputs[0]), rows, threads: ws.threads };
                let bias = bias.map(|j| params[j].as_slice());
                group_conv_forward(geom, expansion, &params[weight], bias, b, pre, &mut ws.group[i]);
            }
            NodeKind::MixedConv { ref geom, .. } => {
                let b = Block { x: input(node.inputs[0]), rows, threads: ws.threads };
                mixed_conv_forward(geom, &mixed_params(&node.kind, params), b, pre, &mut ws.group[i]);
            }
            NodeKind::GroupPool { size } => {
                group_pool_forward(size, node.shape.h * node.shape.w, input(node.inputs[0]), pre);
            }
            NodeKind::AvgPool(ref g) => avg_pool_forward(g, input(node.inputs[0]), rows, pre),
            NodeKind::Flatten | NodeKind::Identity => pre.copy_from_slice(input(node.inputs[0])),
            NodeKind::Mixed { none, .. } => {
                let ins: Vec<&[f32]> = node.inputs.iter().map(|&j| input(j)).collect();
                mixed::forward(&ws.mix[i][usize::from(none)..], &ins, pre);
            }
            NodeKind::BatchNorm { gamma, beta, running_mean, running_var, eps, .. } => {
                let shape = bn_shape(node);
                let xin = input(node.inputs[0]);
                let (g, b) = (&params[gamma], &params[beta]);
                if mode == Mode::Train {
                    let (mean, var) = ws.stats[i].split_at_mut(shape.channels);
                    batch_norm_train(shape, xin, rows, g, b, eps, pre, mean, var);
                } else {
                    let (m, v) = (&params[running_mean], &params[running_var]);
                    batch_norm_eval(shape, xin, rows, g, b, m, v, eps, pre);
                }
            }
            NodeKind::Add => {
                let gate = gate_of(gates, i);
                let mut first = true;
                for (k, &j) in node.inputs.iter().enumerate() {
                    let g = gate.map_or(1.0, |g| g[k]);
                    if g == 0.0 {
                        continue;
                    }
                    scaled_accumulate(pre, input(j), g, !first);
                    first = false;
                }
                if first {
                    pre.fill(0.0); // every input switched off
                }
            }
            NodeKind::Concat => {
                let gate = gate_of(gates, i);
                let mut offset = 0;
                for (k, &j) in node.inputs.iter().enumerate() {
                    let w = graph.nodes[j].width;
                    let g = gate.map_or(1.0, |g| g[k]);
                    for (dst, src) in pre.chunks_exact_mut(width).zip(input(j).chunks_exact(w)) {
                        scaled_accumulate(&mut dst[offset..offset + w], src, g, false);
                    }
                    offset += w;
                }
            }
        }
        let mask = masks.get(i).and_then(|m| m.as_deref());
        activation::forward(node.activation, pre, &mut rest[0][..len], width, mask);
        if mode == Mode::Train && !ws.drop[i].is_empty() {
            super::dropout::apply(&mut rest[0][..len], &ws.drop[i][..len]);
        }
    }
}

/// One forward pass over the block `x` (samples `idx`), its mean loss, and the backward pass
/// into `grads`: the step that training and [`super::infer::gradients`] share.
pub fn loss_and_gradients(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    gates: &Gates,
    x: &[f32],
    targets: Targets<'_>,
    idx: &[usize],
    ws: &mut Workspace,
    grads: &mut [Vec<f32>],
) -> BatchLoss {
    loss_and_scaled_gradients(graph, params, masks, gates, x, targets, idx, ws, grads, 1.0, false)
}

/// [`loss_and_gradients`] of `scale` times the mean loss (the reported loss is unscaled).
/// With `acc_dense`, the weight gradients of dense layers are added to what `grads` holds
/// (one pass of the GEMM instead of a separate sum); every other gradient is overwritten.
pub fn loss_and_scaled_gradients(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    gates: &Gates,
    x: &[f32],
    targets: Targets<'_>,
    idx: &[usize],
    ws: &mut Workspace,
    grads: &mut [Vec<f32>],
    scale: f32,
    acc_dense: bool,
) -> BatchLoss {
    let rows = idx.len();
    forward(graph, params, masks, gates, x, rows, ws, Mode::Train);
    let r = ws.seed_output_grad(graph, targets, idx);
    if scale != 1.0 {
        let len = rows * graph.nodes[graph.output].width;
        ws.grad[graph.output][..len].iter_mut().for_each(|g| *g *= scale);
    }
    backward_into(graph, params, masks, gates, x, rows, ws, grads, acc_dense);
    r
}

/// Back-propagates the gradient stored by the loss into `grads` (one per parameter).
///
/// Every parameter gradient is overwritten, including zeros for nodes that do not reach the
/// output, so no separate clearing pass is needed.
pub fn backward(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    gates: &Gates,
    x: &[f32],
    rows: usize,
    ws: &mut Workspace,
    grads: &mut [Vec<f32>],
) {
    backward_into(graph, params, masks, gates, x, rows, ws, grads, false);
}

/// [`backward`]; with `acc_dense` the dense layers' weight gradients are accumulated.
fn backward_into(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    gates: &Gates,
    x: &[f32],
    rows: usize,
    ws: &mut Workspace,
    grads: &mut [Vec<f32>],
    acc_dense: bool,
) {
    // Architecture tensors are shared by several mixed nodes, which accumulate into them.
    graph.arch_params().into_iter().for_each(|p| grads[p].fill(0.0));
    for i in (1..graph.nodes.len()).rev() {
        let node = &graph.nodes[i];
        let len = rows * node.width;
        if !ws.has_grad[i] || matches!(node.kind, NodeKind::BatchNorm { .. }) {
            // Unreached nodes get zero gradients (an accumulated dense weight gets nothing);
            // running statistics never get any.
            let kept = match node.kind {
                NodeKind::Dense { weight, .. } if acc_dense => Some(weight),
                _ => None,
            };
            node.kind.params().into_iter().filter(|&p| Some(p) != kept).for_each(|p| grads[p].fill(0.0));
            if !ws.has_grad[i] {
                continue;
            }
        }
        let (gdone, grest) = ws.grad.split_at_mut(i);
        let g = &mut grest[0][..len];
        if !ws.drop[i].is_empty() {
            super::dropout::apply(g, &ws.drop[i][..len]); // the output was scaled by them
        }
        let mask = masks.get(i).and_then(|m| m.as_deref());
        let bias_slot = match node.kind {
            NodeKind::Dense { bias: Some(b), .. } => Some(b),
            _ => None,
        };
        let bias_grad = bias_slot.map(|b| {
            grads[b].fill(0.0);
            // Take the buffer out to satisfy the borrow checker; it is put back below.
            std::mem::take(&mut grads[b])
        });
        let mut bias_grad = bias_grad;
        activation::backward(
            node.activation,
            &ws.pre[i][..len],
            g,
            node.width,
            mask,
            bias_grad.as_deref_mut(),
        );
        if let (Some(b), Some(bg)) = (bias_slot, bias_grad) {
            grads[b] = bg;
        }
        let g = &grest[0][..len];
        let j0 = node.inputs.first().copied().unwrap_or(0);
        // Single-input nodes receive their input gradient here; merges (even with one input)
        // and mixed operations handle each input themselves.
        let merge = matches!(node.kind, NodeKind::Add | NodeKind::Concat | NodeKind::Mixed { .. });
        let (dx, acc) = if node.inputs.len() == 1 && j0 != 0 && !merge {
            let acc = ws.has_grad[j0];
            ws.has_grad[j0] = true;
            (Some(&mut gdone[j0][..rows * graph.nodes[j0].width]), acc)
        } else {
            (None, false)
        };
        let xin = if j0 == 0 { x } else { &ws.out[j0][..rows * graph.nodes[j0].width] };
        match node.kind {
            NodeKind::Input => {}
            NodeKind::Conv2d { ref geom, weight, bias } => {
                let (w, dw) = (&params[weight], std::mem::take(&mut grads[weight]));
                let mut dw = dw;
                let db = bias.map(|b| std::mem::take(&mut grads[b]));
                let mut db = db;
                conv2d_backward(geom, xin, rows, w, g, &mut dw, db.as_deref_mut(), dx, acc, ws.threads);
                grads[weight] = dw;
                if let (Some(b), Some(db)) = (bias, db) {
                    grads[b] = db;
                }
            }
            NodeKind::MaxPool(ref geom) => {
                if let Some(dx) = dx {
                    max_pool_backward(geom, g, &ws.argmax[i][..len], rows, dx, acc);
                }
            }
            NodeKind::GroupConv { ref geom, weight, bias, ref expansion } => {
                let mut dw = std::mem::take(&mut grads[weight]);
                let mut db = bias.map(|j| std::mem::take(&mut grads[j]));
                let b = Block { x: xin, rows, threads: ws.threads };
                group_conv_backward(geom, expansion, b, g, &ws.group[i], &mut dw, db.as_deref_mut(), dx, acc);
                grads[weight] = dw;
                if let (Some(j), Some(db)) = (bias, db) {
                    grads[j] = db;
                }
            }
            NodeKind::MixedConv { ref geom, logits, ref v, g: ref scales, .. } => {
                let p = mixed_params(&node.kind, params);
                let mut dl = std::mem::take(&mut grads[logits]);
                let mut dv: Vec<Vec<f32>> = v.iter().map(|&j| std::mem::take(&mut grads[j])).collect();
                let b = Block { x: xin, rows, threads: ws.threads };
                mixed_conv_backward(geom, &p, b, g, &ws.group[i], &mut dl, &mut dv, dx, acc);
                grads[logits] = dl;
                v.iter().zip(dv).for_each(|(&j, d)| grads[j] = d);
                // The frozen kernel scales are buffers: no gradient.
                scales.iter().for_each(|&j| grads[j].fill(0.0));
            }
            NodeKind::GroupPool { size } => {
                if let Some(dx) = dx {
                    group_pool_backward(size, node.shape.h * node.shape.w, g, dx, acc);
                }
            }
            NodeKind::AvgPool(ref geom) => {
                if let Some(dx) = dx {
                    avg_pool_backward(geom, g, rows, dx, acc);
                }
            }
            NodeKind::Flatten | NodeKind::Identity => {
                if let Some(dx) = dx {
                    accumulate(dx, g, acc);
                }
            }
            NodeKind::Mixed { alpha, row, cols, .. } => {
                let range = row * cols..(row + 1) * cols;
                let (alpha_row, dalpha) = (&params[alpha][range.clone()], &mut grads[alpha][range]);
                let outs = mixed::Blocks { x, out: &ws.out, grad: gdone, len };
                mixed::backward(
                    &node.kind,
                    &node.inputs,
                    &ws.mix[i],
                    g,
                    outs,
                    &mut ws.has_grad,
                    alpha_row,
                    dalpha,
                );
            }
            NodeKind::BatchNorm { gamma, beta, eps, .. } => {
                let shape = bn_shape(node);
                let (mean, var) = ws.stats[i].split_at(shape.channels);
                let mut dgamma = std::mem::take(&mut grads[gamma]);
                let mut dbeta = std::mem::take(&mut grads[beta]);
                let gm = &params[gamma];
                batch_norm_backward(
                    shape,
                    xin,
                    rows,
                    gm,
                    mean,
                    var,
                    eps,
                    g,
                    &mut dgamma,
                    &mut dbeta,
                    dx,
                    acc,
                );
                grads[gamma] = dgamma;
                grads[beta] = dbeta;
                if !graph.params[gamma].trainable {
                    // A non-affine batch norm: γ and β are buffers, which get no gradient.
                    grads[gamma].fill(0.0);
                    grads[beta].fill(0.0);
                }
            }
            NodeKind::Dense { weight, .. } => {
                let fan_in = graph.nodes[j0].width;
                let dz = Mat::new(g, rows, node.width);
                // dW = dZᵀ · x (added to the held gradient with `acc_dense`).
                gemm(dz.t(), Mat::new(xin, rows, fan_in), &mut grads[weight], acc_dense, ws.threads);
                if let Some(dx) = dx {
                    // dX = dZ · W (accumulated when the input already has a gradient).
                    let w = Mat::new(&params[weight], node.width, fan_in);
                    gemm(dz, w, dx, acc, ws.threads);
                }
            }
            NodeKind::Add => {
                let gate = gate_of(gates, i);
                for (k, &j) in node.inputs.iter().enumerate() {
                    let s = gate.map_or(1.0, |gt| gt[k]);
                    // A switched-off input receives no gradient from this node.
                    if j != 0 && s != 0.0 {
                        scaled_accumulate(&mut gdone[j][..len], g, s, ws.has_grad[j]);
                        ws.has_grad[j] = true;
                    }
                }
            }
            NodeKind::Concat => {
                let gate = gate_of(gates, i);
                let mut offset = 0;
                for (k, &j) in node.inputs.iter().enumerate() {
                    let w = graph.nodes[j].width;
                    let s = gate.map_or(1.0, |gt| gt[k]);
                    if j != 0 && s != 0.0 {
                        let acc = ws.has_grad[j];
                        for (dst, src) in
                            gdone[j][..rows * w].chunks_exact_mut(w).zip(g.chunks_exact(node.width))
                        {
                            scaled_accumulate(dst, &src[offset..offset + w], s, acc);
                        }
                        ws.has_grad[j] = true;
                    }
                    offset += w;
                }
            }
        }
    }
}

fn accumulate(dst: &mut [f32], src: &[f32], add: bool) {
    scaled_accumulate(dst, src, 1.0, add);
}

/// `dst (+)= scale · src`; a scale of exactly 1 or 0 costs no multiplication, so an ungated
/// merge computes bit for bit what it computed before gates existed.
fn scaled_accumulate(dst: &mut [f32], src: &[f32], scale: f32, add: bool) {
    if scale == 1.0 {
        if add {
            dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
        } else {
            dst.copy_from_slice(src);
        }
    } else if scale == 0.0 {
        if !add {
            dst.fill(0.0);
        }
    } else if add {
        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += scale * s);
    } else {
        dst.iter_mut().zip(src).for_each(|(d, &s)| *d = scale * s);
    }
}

/// Moves every batch-norm node's running statistics toward the batch statistics of the last
/// training forward pass over `rows` samples.
pub fn update_running_stats(graph: &Graph, params: &mut [Vec<f32>], ws: &Workspace, rows: usize) {
    for (i, node) in graph.nodes.iter().enumerate() {
        if !ws.live[i] {
            continue;
        }
        if let NodeKind::BatchNorm { running_mean, running_var, momentum, .. } = node.kind {
            let shape = bn_shape(node);
            let (mean, var) = ws.stats[i].split_at(shape.channels);
            let mut rm = std::mem::take(&mut params[running_mean]);
            update_running(mean, var, rows * shape.spatial, momentum, &mut rm, &mut params[running_var]);
            params[running_mean] = rm;
        }
    }
}

/// Channels and values per channel of a batch-norm node (a group batch norm's channel is a
/// block of `group` consecutive channels).
pub(super) fn bn_shape(node: &Node) -> BnShape {
    let group = match node.kind {
        NodeKind::BatchNorm { group, .. } => group.max(1),
        _ => 1,
    };
    BnShape { channels: node.shape.c / group, spatial: group * node.shape.h * node.shape.w }
}
