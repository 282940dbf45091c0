//! Compilation of the equivariant nodes: lifting, group and `[G]`-mixed convolutions and group
//! pooling (group batch norm is [`super::compile`]'s batch norm with blocks of `|G|` channels).
//!
//! Every convolution here runs as a standard convolution over the expanded channels, so its
//! FLOPs are those of that convolution; only the stored weights count as parameters.

use std::sync::Arc;

use super::compile::{pair, param, spec_err, Compiled, WireNode};
use super::graph::{NodeKind, ParamInfo, Shape, MAX_PARAM, MAX_WIDTH};
use crate::error::Result;
use crate::group::expand::Expansion;
use crate::group::PointGroup;
use crate::kernels::spatial::Conv2dGeom;

/// The node's `group` field.
pub(super) fn group_of(w: &WireNode) -> Result<PointGroup> {
    match &w.group {
        Some(name) => PointGroup::parse(name).or_else(|e| spec_err(w, e)),
        None => spec_err(w, "needs a group (one of C1, D1, C2, D2, C4, D4)"),
    }
}

/// Square kernel size `k` and symmetric padding `p` (stride and dilation are 1: the grid action
/// only commutes with unit-stride, undilated correlation).
fn square(w: &WireNode) -> Result<(usize, usize)> {
    let (kh, kw) = pair(w, &w.kernel_size, "kernel_size", (0, 0))?;
    let (ph, pw) = pair(w, &w.padding, "padding", (0, 0))?;
    if kh != kw || ph != pw {
        return spec_err(w, format!("needs a square kernel and equal padding, got {kh}x{kw}, ({ph}, {pw})"));
    }
    Ok((kh, ph))
}

fn channels(w: &WireNode, c_in: usize, order: usize) -> Result<usize> {
    if !c_in.is_multiple_of(order) {
        return spec_err(w, format!("its {c_in} input channels do not form blocks of {order} group entries"));
    }
    Ok(c_in / order)
}

/// A lifting, group or mixed convolution over the `(c, h, w)` input.
pub(super) fn conv(w: &WireNode, input: &Shape, params: &mut Vec<ParamInfo>) -> Result<Compiled> {
    let (k, pad) = square(w)?;
    if w.units == 0 || w.units > MAX_WIDTH {
        return spec_err(w, format!("channels must be in 1..={MAX_WIDTH}"));
    }
    let geom = |c_out: usize| {
        Conv2dGeom::new(input.chw(), c_out, (k, k), (1, 1), (pad, pad), (1, 1), 1).or_else(|e| spec_err(w, e))
    };
    let kind = match w.op.as_str() {
        "mixed_conv" => mixed(w, input.c, k, params, geom)?,
        _ => group_conv(w, input.c, k, params, geom)?,
    };
    let (NodeKind::GroupConv { geom, .. } | NodeKind::MixedConv { geom, .. }) = kind else {
        return spec_err(w, "is not a convolution");
    };
    let out = Shape { c: geom.c_out, h: geom.oh, w: geom.ow, spatial: true };
    if out.len() > MAX_WIDTH {
        return spec_err(w, "output too large");
    }
    let macs = (geom.weight_len() as u64).saturating_mul((geom.oh * geom.ow) as u64);
    let bias = matches!(kind, NodeKind::GroupConv { bias: Some(_), .. });
    let flops = macs.saturating_mul(2).saturating_add(if bias { out.len() as u64 } else { 0 });
    Ok((kind, out, flops))
}

fn group_conv(
    w: &WireNode,
    c_in: usize,
    k: usize,
    params: &mut Vec<ParamInfo>,
    geom: impl Fn(usize) -> Result<Conv2dGeom>,
) -> Result<NodeKind> {
    let g = group_of(w)?;
    let (expansion, shape) = if w.op == "lift_conv" {
        (Expansion::lift(g, w.units, c_in, k), vec![w.units, c_in, k, k])
    } else {
        let g_in = match &w.in_group {
            Some(name) => PointGroup::parse(name).or_else(|e| spec_err(w, e))?,
            None => g,
        };
        let c = channels(w, c_in, g_in.order())?;
        let reps = g_in.order() / g.order();
        (Expansion::group(g, g_in, w.units, c, k), vec![w.units, c * reps, g.order(), k, k])
    };
    let expansion = expansion.or_else(|e| spec_err(w, e))?;
    if expansion.stored_len > MAX_PARAM {
        return spec_err(w, "too many weights");
    }
    let weight = param(params, format!("{}.weight", w.name), shape, true);
    let bias = w.bias.then(|| param(params, format!("{}.bias", w.name), vec![w.units], true));
    let geom = geom(expansion.c_out)?;
    Ok(NodeKind::GroupConv { geom, weight, bias, expansion: Arc::new(expansion) })
}

fn mixed(
    w: &WireNode,
    c_in: usize,
    k: usize,
    params: &mut Vec<ParamInfo>,
    geom: impl Fn(usize) -> Result<Conv2dGeom>,
) -> Result<NodeKind> {
    let names = w.candidates.clone().unwrap_or_default();
    if names.is_empty() {
        return spec_err(w, "needs at least one candidate group");
    }
    let groups =
        names.iter().map(|n| PointGroup::parse(n).or_else(|e| spec_err(w, e))).collect::<Result<Vec<_>>>()?;
    if (1..groups.len()).any(|i| groups[..i].contains(&groups[i])) {
        return spec_err(w, format!("lists a candidate group twice: {names:?}"));
    }
    let cands =
        crate::group::mixed::candidates(&groups, w.lift, w.units, c_in, k).or_else(|e| spec_err(w, e))?;
    let logits = param(params, format!("{}.logits", w.name), vec![groups.len()], true);
    let (mut vs, mut gs) = (Vec::new(), Vec::new());
    for (g, cand) in groups.iter().zip(&cands) {
        let c_g = w.units / g.order();
        let shape = if w.lift { vec![c_g, c_in, k, k] } else { vec![c_g, c_in / g.order(), g.order(), k, k] };
        debug_assert_eq!(shape.iter().product::<usize>(), cand.stored_len);
        vs.push(param(params, format!("{}.v_{}", w.name, g.name()), shape, true));
        gs.push(param(params, format!("{}.g_{}", w.name, g.name()), vec![c_g], false));
    }
    Ok(NodeKind::MixedConv { geom: geom(w.units)?, logits, candidates: Arc::new(cands), v: vs, g: gs })
}

/// Mean over the group axis: `(C·|G|, h, w) → (C, h, w)` (flat inputs likewise).
pub(super) fn pool(w: &WireNode, input: &Shape) -> Result<Compiled> {
    let size = group_of(w)?.order();
    let c = channels(w, input.c, size)?;
    let shape = Shape { c, ..*input };
    Ok((NodeKind::GroupPool { size }, shape, input.len() as u64))
}
