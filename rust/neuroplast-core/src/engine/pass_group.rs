//! Forward and backward passes of the equivariant nodes (see [`crate::group`]).
//!
//! A group or mixed convolution gathers its expanded kernel once per block of rows (cheap next
//! to the convolution: one read per kernel entry), runs the ordinary convolution kernels on it
//! and keeps it for the backward pass, which scatters the expanded kernel's gradient back onto
//! the stored parameters.

use super::graph::{Node, NodeKind};
use crate::group::expand::{expand_bias, reduce_bias, Expansion};
use crate::group::mixed::{mixed_backward, mixed_kernel, MixedCache};
use crate::kernels::spatial::conv::{conv2d_backward, conv2d_forward};
use crate::kernels::spatial::Conv2dGeom;

/// The expanded kernel (and bias) of one node, from its last forward pass.
#[derive(Clone, Debug, Default)]
pub struct GroupScratch {
    kernel: Vec<f32>,
    bias: Vec<f32>,
    mixed: MixedCache,
}

impl GroupScratch {
    /// Buffers for a convolution with `kernel` expanded entries and `c_out` expanded channels.
    pub fn new(kernel: usize, c_out: usize) -> Self {
        Self { kernel: vec![0.0; kernel], bias: vec![0.0; c_out], mixed: MixedCache::default() }
    }
}

/// The input and output blocks of one convolution call.
pub struct Block<'a> {
    pub x: &'a [f32],
    pub rows: usize,
    pub threads: usize,
}

/// `y = conv(x, expand(weight)) + expand(bias)`.
pub fn group_conv_forward(
    geom: &Conv2dGeom,
    e: &Expansion,
    weight: &[f32],
    bias: Option<&[f32]>,
    b: Block<'_>,
    y: &mut [f32],
    sc: &mut GroupScratch,
) {
    e.gather(weight, &mut sc.kernel);
    if let Some(bias) = bias {
        expand_bias(bias, e.group_order, &mut sc.bias);
    }
    let bias = bias.map(|_| sc.bias.as_slice());
    conv2d_forward(geom, b.x, b.rows, &sc.kernel, bias, y, b.threads);
}

/// Gradients of [`group_conv_forward`] (after it ran on the same block): overwrites `dweight`
/// and `dbias`, writes or accumulates `dx`.
#[allow(clippy::too_many_arguments)]
pub fn group_conv_backward(
    geom: &Conv2dGeom,
    e: &Expansion,
    b: Block<'_>,
    dy: &[f32],
    sc: &GroupScratch,
    dweight: &mut [f32],
    dbias: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    accumulate: bool,
) {
    let mut dk = vec![0.0f32; e.expanded_len()];
    let mut db = dbias.as_ref().map(|_| vec![0.0f32; geom.c_out]);
    conv2d_backward(geom, b.x, b.rows, &sc.kernel, dy, &mut dk, db.as_deref_mut(), dx, accumulate, b.threads);
    e.scatter(&dk, dweight);
    if let (Some(out), Some(db)) = (dbias, db) {
        reduce_bias(&db, e.group_order, out);
    }
}

/// The parameters of a `[G]`-mixed layer.
pub struct MixedParams<'a> {
    pub cands: &'a [Expansion],
    pub logits: &'a [f32],
    pub v: Vec<&'a [f32]>,
    pub g: Vec<&'a [f32]>,
}

/// `y = conv(x, Σ_G z_G·expand(ψ^G))`.
pub fn mixed_conv_forward(
    geom: &Conv2dGeom,
    p: &MixedParams<'_>,
    b: Block<'_>,
    y: &mut [f32],
    sc: &mut GroupScratch,
) {
    mixed_kernel(p.cands, p.logits, &p.v, &p.g, &mut sc.mixed, &mut sc.kernel);
    conv2d_forward(geom, b.x, b.rows, &sc.kernel, None, y, b.threads);
}

/// Gradients of [`mixed_conv_forward`]: overwrites `dlogits` and every `dv[i]`.
#[allow(clippy::too_many_arguments)]
pub fn mixed_conv_backward(
    geom: &Conv2dGeom,
    p: &MixedParams<'_>,
    b: Block<'_>,
    dy: &[f32],
    sc: &GroupScratch,
    dlogits: &mut [f32],
    dv: &mut [Vec<f32>],
    dx: Option<&mut [f32]>,
    accumulate: bool,
) {
    let mut dk = vec![0.0f32; sc.kernel.len()];
    conv2d_backward(geom, b.x, b.rows, &sc.kernel, dy, &mut dk, None, dx, accumulate, b.threads);
    mixed_backward(p.cands, &p.v, &p.g, &sc.mixed, &dk, dlogits, dv);
}

/// Mean over blocks of `size` channels of `plane` values each, per sample.
pub fn group_pool_forward(size: usize, plane: usize, x: &[f32], y: &mut [f32]) {
    let scale = 1.0 / size as f32;
    let block = size * plane;
    for (xs, ys) in x.chunks_exact(block).zip(y.chunks_exact_mut(plane)) {
        ys.copy_from_slice(&xs[..plane]);
        for part in xs[plane..].chunks_exact(plane) {
            ys.iter_mut().zip(part).for_each(|(a, &b)| *a += b);
        }
        ys.iter_mut().for_each(|a| *a *= scale);
    }
}

/// Gradient of [`group_pool_forward`]: every group entry gets `dy / size` (written or added).
pub fn group_pool_backward(size: usize, plane: usize, dy: &[f32], dx: &mut [f32], accumulate: bool) {
    let scale = 1.0 / size as f32;
    for (gs, dxs) in dy.chunks_exact(plane).zip(dx.chunks_exact_mut(size * plane)) {
        for part in dxs.chunks_exact_mut(plane) {
            for (d, &g) in part.iter_mut().zip(gs) {
                *d = if accumulate { *d + g * scale } else { g * scale };
            }
        }
    }
}

impl GroupScratch {
    /// Buffers for `node` (empty unless it is a group or mixed convolution).
    pub fn for_node(node: &Node) -> Self {
        match node.kind {
            NodeKind::GroupConv { ref expansion, .. } => Self::new(expansion.expanded_len(), node.shape.c),
            NodeKind::MixedConv { ref candidates, .. } => {
                Self::new(candidates.first().map_or(0, Expansion::expanded_len), node.shape.c)
            }
            _ => Self::default(),
        }
    }
}

/// The parameters of a mixed-convolution node (empty for any other node).
pub fn mixed_params<'a>(kind: &'a NodeKind, params: &'a [Vec<f32>]) -> MixedParams<'a> {
    match kind {
        NodeKind::MixedConv { logits, candidates, v, g, .. } => MixedParams {
            cands: candidates,
            logits: &params[*logits],
            v: v.iter().map(|&j| params[j].as_slice()).collect(),
            g: g.iter().map(|&j| params[j].as_slice()).collect(),
        },
        _ => MixedParams { cands: &[], logits: &[], v: Vec::new(), g: Vec::new() },
    }
}
