//! Forward and backward passes over a compiled [`Graph`] for one block of rows.

use super::graph::{Graph, NodeKind};
use crate::kernels::activation;
use crate::kernels::gemm::{gemm, Mat};
use crate::kernels::loss::{batch_loss, BatchLoss, Targets};

/// Per-node buffers, sized once for the largest block of rows.
pub struct Workspace {
    pre: Vec<Vec<f32>>,
    out: Vec<Vec<f32>>,
    grad: Vec<Vec<f32>>,
    has_grad: Vec<bool>,
    threads: usize,
}

/// Optional per-unit multiplicative masks, one slot per node (hidden nodes only).
pub type Masks = [Option<Vec<f32>>];

impl Workspace {
    /// Buffers for blocks of at most `rows` rows; `train` also allocates gradient buffers.
    pub fn new(graph: &Graph, rows: usize, train: bool, threads: usize) -> Self {
        let sized = |i: usize| vec![0.0f32; if i == 0 { 0 } else { rows * graph.nodes[i].width }];
        let n = graph.nodes.len();
        Self {
            pre: (0..n).map(sized).collect(),
            out: (0..n).map(sized).collect(),
            grad: (0..n).map(|i| if train { sized(i) } else { Vec::new() }).collect(),
            has_grad: vec![false; n],
            threads,
        }
    }

    /// Output of node `i` for the current block (`x` is the input block).
    pub fn output<'a>(&'a self, x: &'a [f32], i: usize, len: usize) -> &'a [f32] {
        if i == 0 {
            x
        } else {
            &self.out[i][..len]
        }
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
    x: &[f32],
    rows: usize,
    ws: &mut Workspace,
) {
    for i in 1..graph.nodes.len() {
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
            NodeKind::Add => {
                pre.copy_from_slice(input(node.inputs[0]));
                for &j in &node.inputs[1..] {
                    pre.iter_mut().zip(input(j)).for_each(|(p, &v)| *p += v);
                }
            }
            NodeKind::Concat => {
                let mut offset = 0;
                for &j in &node.inputs {
                    let w = graph.nodes[j].width;
                    for (dst, src) in pre.chunks_exact_mut(width).zip(input(j).chunks_exact(w)) {
                        dst[offset..offset + w].copy_from_slice(src);
                    }
                    offset += w;
                }
            }
        }
        let mask = masks.get(i).and_then(|m| m.as_deref());
        activation::forward(node.activation, pre, &mut rest[0][..len], width, mask);
    }
}

/// One forward pass over the block `x` (samples `idx`), its mean loss, and the backward pass
/// into `grads`: the step that training and [`super::infer::gradients`] share.
pub fn loss_and_gradients(
    graph: &Graph,
    params: &[Vec<f32>],
    masks: &Masks,
    x: &[f32],
    targets: Targets<'_>,
    idx: &[usize],
    ws: &mut Workspace,
    grads: &mut [Vec<f32>],
) -> BatchLoss {
    let rows = idx.len();
    forward(graph, params, masks, x, rows, ws);
    let r = ws.seed_output_grad(graph, targets, idx);
    backward(graph, params, masks, x, rows, ws, grads);
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
    x: &[f32],
    rows: usize,
    ws: &mut Workspace,
    grads: &mut [Vec<f32>],
) {
    for i in (1..graph.nodes.len()).rev() {
        let node = &graph.nodes[i];
        let len = rows * node.width;
        if !ws.has_grad[i] {
            if let NodeKind::Dense { weight, bias } = node.kind {
                grads[weight].fill(0.0);
                if let Some(b) = bias {
                    grads[b].fill(0.0);
                }
            }
            continue;
        }
        let (gdone, grest) = ws.grad.split_at_mut(i);
        let g = &mut grest[0][..len];
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
        match node.kind {
            NodeKind::Input => {}
            NodeKind::Dense { weight, .. } => {
                let j = node.inputs[0];
                let fan_in = graph.nodes[j].width;
                let xin = if j == 0 { x } else { &ws.out[j][..rows * fan_in] };
                let dz = Mat::new(g, rows, node.width);
                // dW = dZᵀ · x.
                gemm(dz.t(), Mat::new(xin, rows, fan_in), &mut grads[weight], false, ws.threads);
                if j != 0 {
                    // dX = dZ · W (accumulated when node j already has a gradient).
                    let acc = ws.has_grad[j];
                    let w = Mat::new(&params[weight], node.width, fan_in);
                    gemm(dz, w, &mut gdone[j][..rows * fan_in], acc, ws.threads);
                    ws.has_grad[j] = true;
                }
            }
            NodeKind::Add => {
                for &j in &node.inputs {
                    if j != 0 {
                        accumulate(&mut gdone[j][..len], g, ws.has_grad[j]);
                        ws.has_grad[j] = true;
                    }
                }
            }
            NodeKind::Concat => {
                let mut offset = 0;
                for &j in &node.inputs {
                    let w = graph.nodes[j].width;
                    if j != 0 {
                        let acc = ws.has_grad[j];
                        for (dst, src) in
                            gdone[j][..rows * w].chunks_exact_mut(w).zip(g.chunks_exact(node.width))
                        {
                            accumulate(dst, &src[offset..offset + w], acc);
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
    if add {
        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
    } else {
        dst.copy_from_slice(src);
    }
}
