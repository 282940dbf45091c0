//! Mixed operations in the engine: operation weights, liveness and the weighted sum.
//!
//! Before every forward pass the weights `a(α)` of all mixed nodes are computed once
//! ([`prepare`]); a candidate operation whose weight is exactly zero (a CRB weight that is
//! not positive: a pruned operation) contributes nothing, and every node whose output only
//! reaches the rest of the graph through such zero-weight inputs is *dead*: neither computed
//! nor back-propagated, so progressive pruning saves its time. Graphs without mixed nodes are
//! all live.

use super::graph::{Graph, NodeKind};
use crate::kernels::mixed::activate;
pub use crate::kernels::mixed::{axpy, dot, pull_back};

/// One operation-weight buffer per node (empty except for mixed nodes).
pub fn weight_buffers(graph: &Graph) -> Vec<Vec<f32>> {
    let cols = |n: &super::graph::Node| match n.kind {
        NodeKind::Mixed { cols, .. } => cols,
        _ => 0,
    };
    graph.nodes.iter().map(|n| vec![0.0; cols(n)]).collect()
}

/// Fills the operation weights of every mixed node and marks the live nodes.
///
/// A node is live when it is the output, has no consumers (so it is computed as before), or
/// feeds a live consumer through an input that is not a zero-weight mixed input.
pub fn prepare(graph: &Graph, params: &[Vec<f32>], mix: &mut [Vec<f32>], live: &mut [bool]) {
    if !graph.has_mixed() {
        return;
    }
    for (node, a) in graph.nodes.iter().zip(mix.iter_mut()) {
        if let NodeKind::Mixed { alpha, row, cols, weighting, .. } = node.kind {
            activate(weighting, &params[alpha][row * cols..(row + 1) * cols], a);
        }
    }
    for i in (0..graph.nodes.len()).rev() {
        let uses = &graph.consumers[i];
        live[i] = i == graph.output
            || uses.is_empty()
            || uses.iter().any(|&(c, k)| {
                live[c]
                    && match graph.nodes[c].kind {
                        NodeKind::Mixed { none, .. } => mix[c][k + usize::from(none)] != 0.0,
                        _ => true,
                    }
            });
    }
}

/// `out = Σₚ weights[p]·inputs[p]`, skipping zero weights.
pub fn forward(weights: &[f32], inputs: &[&[f32]], out: &mut [f32]) {
    let mut first = true;
    for (&w, x) in weights.iter().zip(inputs) {
        if w != 0.0 {
            axpy(out, w, x, !first);
            first = false;
        }
    }
    if first {
        out.fill(0.0);
    }
}

/// The blocks a mixed node's backward pass reads and writes: the network input `x`, every
/// node's output, the gradient buffers of the nodes before it, and the values per block `len`.
pub struct Blocks<'a> {
    pub x: &'a [f32],
    pub out: &'a [Vec<f32>],
    pub grad: &'a mut [Vec<f32>],
    pub len: usize,
}

/// Backward of a mixed node with weights `a` and output gradient `g`: adds `aₚ·g` to each
/// input's gradient and `Jᵀ·(Σ g·xₚ)ₚ` to the node's row of the architecture gradient.
///
/// An input of zero weight is skipped (it may not have been computed): its weight's derivative
/// is zero too (see [`crate::kernels::mixed`]).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    kind: &NodeKind,
    inputs: &[usize],
    a: &[f32],
    g: &[f32],
    b: Blocks<'_>,
    has_grad: &mut [bool],
    alpha_row: &[f32],
    dalpha: &mut [f32],
) {
    let NodeKind::Mixed { none, weighting, .. } = *kind else { return };
    let mut da = vec![0.0f64; a.len()];
    for (k, &j) in inputs.iter().enumerate() {
        let c = k + usize::from(none);
        if a[c] == 0.0 {
            continue;
        }
        let xj = if j == 0 { b.x } else { &b.out[j][..b.len] };
        da[c] = dot(g, xj);
        if j != 0 {
            axpy(&mut b.grad[j][..b.len], a[c], g, has_grad[j]);
            has_grad[j] = true;
        }
    }
    pull_back(weighting, alpha_row, a, &da, dalpha);
}
