//! Compilation of one wire node: input checks, output shape, parameter slots and FLOPs.

use serde::Deserialize;

use super::compile_group;
use super::graph::{find, Node, NodeKind, ParamInfo, Shape, MAX_PARAM, MAX_WIDTH};
use crate::error::{Error, Result};
use crate::kernels::activation::Activation;
use crate::kernels::mixed::Weighting;
use crate::kernels::spatial::{Conv2dGeom, Pool2dGeom};

/// One node of the JSON wire form written by `neuroplast.Spec`.
#[derive(Deserialize)]
pub(super) struct WireNode {
    pub(super) name: String,
    pub(super) op: String,
    #[serde(default)]
    pub(super) inputs: Vec<String>,
    /// Units of a dense layer or output channels of a convolution.
    #[serde(default, alias = "channels")]
    pub(super) units: usize,
    #[serde(default = "default_activation")]
    pub(super) activation: String,
    #[serde(default = "default_slope")]
    pub(super) negative_slope: f32,
    #[serde(default = "default_true")]
    pub(super) bias: bool,
    #[serde(default)]
    pub(super) kernel_size: Option<Vec<usize>>,
    #[serde(default)]
    pub(super) stride: Option<Vec<usize>>,
    #[serde(default)]
    pub(super) padding: Option<Vec<usize>>,
    #[serde(default)]
    pub(super) dilation: Option<Vec<usize>>,
    #[serde(default = "default_groups")]
    pub(super) groups: usize,
    #[serde(default = "default_eps")]
    pub(super) eps: f32,
    #[serde(default = "default_momentum")]
    pub(super) momentum: f32,
    /// Group of an equivariant layer (`"C1"` … `"D4"`).
    #[serde(default)]
    pub(super) group: Option<String>,
    /// Group of a group convolution's input feature map (default: `group`).
    #[serde(default)]
    pub(super) in_group: Option<String>,
    /// Candidate groups of a `[G]`-mixed layer.
    #[serde(default)]
    pub(super) candidates: Option<Vec<String>>,
    /// Whether a `[G]`-mixed layer lifts an image (its input has no group axis).
    #[serde(default)]
    pub(super) lift: bool,
    /// Batch norm: whether γ and β are trained (otherwise fixed at 1 and 0).
    #[serde(default = "default_true")]
    affine: bool,
    /// Mixed operation: name of the shared architecture tensor, its row and its row count.
    #[serde(default)]
    alpha: Option<String>,
    #[serde(default)]
    row: usize,
    #[serde(default)]
    rows: usize,
    /// Mixed operation: whether column 0 is the zero operation.
    #[serde(default)]
    none: bool,
    #[serde(default)]
    weighting: Option<String>,
}

fn default_activation() -> String {
    "identity".into()
}
fn default_slope() -> f32 {
    0.01
}
fn default_true() -> bool {
    true
}
fn default_groups() -> usize {
    1
}
fn default_eps() -> f32 {
    1e-5
}
fn default_momentum() -> f32 {
    0.1
}

pub(super) fn spec_err<T>(w: &WireNode, msg: impl std::fmt::Display) -> Result<T> {
    Err(Error::Spec(format!("{} node {:?}: {msg}", w.op, w.name)))
}

/// A pair from a 1- or 2-element list (`[k]` means `k × k`), or `default`.
pub(super) fn pair(
    w: &WireNode,
    v: &Option<Vec<usize>>,
    what: &str,
    default: (usize, usize),
) -> Result<(usize, usize)> {
    match v.as_deref() {
        None => Ok(default),
        Some([a]) => Ok((*a, *a)),
        Some([a, b]) => Ok((*a, *b)),
        Some(other) => spec_err(w, format!("{what} must have one or two entries, got {other:?}")),
    }
}

/// Registers parameter `name` and returns its index.
pub(super) fn param(params: &mut Vec<ParamInfo>, name: String, shape: Vec<usize>, trainable: bool) -> usize {
    params.push(ParamInfo { name, shape, trainable });
    params.len() - 1
}

pub(super) fn single_input<'a>(w: &WireNode, shapes: &'a [Shape]) -> Result<&'a Shape> {
    match shapes {
        [s] => Ok(s),
        _ => spec_err(w, format!("needs exactly one input, got {}", shapes.len())),
    }
}

pub(super) fn spatial_input<'a>(w: &WireNode, shapes: &'a [Shape]) -> Result<&'a Shape> {
    let s = single_input(w, shapes)?;
    if !s.spatial {
        return spec_err(w, format!("needs a channels × height × width input, got a flat vector of {}", s.c));
    }
    Ok(s)
}

/// Compiles `w` against the already compiled `nodes`, appending its parameters to `params`.
pub(super) fn compile_node(w: &WireNode, nodes: &[Node], params: &mut Vec<ParamInfo>) -> Result<Node> {
    if nodes.iter().any(|n| n.name == w.name) {
        return Err(Error::Spec(format!("duplicate node name {:?}", w.name)));
    }
    let inputs =
        w.inputs.iter().map(|i| find(nodes, i, &format!("node {:?}", w.name))).collect::<Result<Vec<_>>>()?;
    let shapes: Vec<Shape> = inputs.iter().map(|&i| nodes[i].shape).collect();
    let activation = Activation::parse(&w.activation, w.negative_slope)?;
    let (kind, shape, core_flops) = match w.op.as_str() {
        "dense" => dense(w, single_input(w, &shapes)?, params)?,
        "conv2d" => conv(w, spatial_input(w, &shapes)?, params)?,
        "max_pool2d" | "avg_pool2d" | "global_avg_pool" => pool(w, spatial_input(w, &shapes)?)?,
        "batch_norm" => batch_norm(w, single_input(w, &shapes)?, params, 1)?,
        "lift_conv" | "group_conv" | "mixed_conv" => {
            compile_group::conv(w, spatial_input(w, &shapes)?, params)?
        }
        "group_pool" => compile_group::pool(w, single_input(w, &shapes)?)?,
        "group_batch_norm" => {
            let size = compile_group::group_of(w)?.order();
            batch_norm(w, single_input(w, &shapes)?, params, size)?
        }
        "flatten" => {
            let s = single_input(w, &shapes)?;
            (NodeKind::Flatten, Shape::flat(s.len()), 0)
        }
        "add" => {
            if shapes.len() < 2 || shapes.iter().any(|s| *s != shapes[0]) {
                let dims: Vec<_> = shapes.iter().map(Shape::dims).collect();
                return spec_err(w, format!("needs at least two inputs of equal shape, got {dims:?}"));
            }
            let flops = (shapes.len() as u64 - 1) * shapes[0].len() as u64;
            (NodeKind::Add, shapes[0], flops)
        }
        "concat" => (NodeKind::Concat, concat(w, &shapes)?, 0),
        "identity" => (NodeKind::Identity, *single_input(w, &shapes)?, 0),
        "mixed" => mixed(w, &shapes, params)?,
        other => return Err(Error::Spec(format!("node {:?} has unknown op {other:?}", w.name))),
    };
    let width = shape.len();
    if width == 0 || width > MAX_WIDTH {
        return spec_err(w, format!("output of {width} values per sample is out of range (1..={MAX_WIDTH})"));
    }
    let act_flops = if activation == Activation::Identity { 0 } else { width as u64 };
    Ok(Node { name: w.name.clone(), kind, inputs, shape, width, activation, flops: core_flops + act_flops })
}

pub(super) type Compiled = (NodeKind, Shape, u64);

fn dense(w: &WireNode, input: &Shape, params: &mut Vec<ParamInfo>) -> Result<Compiled> {
    let fan_in = input.len();
    if w.units == 0 || w.units > MAX_WIDTH || w.units.saturating_mul(fan_in) > MAX_PARAM {
        return spec_err(w, format!("units must be in 1..={MAX_WIDTH} with at most {MAX_PARAM} weights"));
    }
    let weight = param(params, format!("{}.weight", w.name), vec![w.units, fan_in], true);
    let bias = w.bias.then(|| param(params, format!("{}.bias", w.name), vec![w.units], true));
    let flops = 2 * (fan_in * w.units) as u64 + if w.bias { w.units as u64 } else { 0 };
    Ok((NodeKind::Dense { weight, bias }, Shape::flat(w.units), flops))
}

fn conv(w: &WireNode, input: &Shape, params: &mut Vec<ParamInfo>) -> Result<Compiled> {
    let kernel = pair(w, &w.kernel_size, "kernel_size", (0, 0))?;
    let geom = Conv2dGeom::new(
        input.chw(),
        w.units,
        kernel,
        pair(w, &w.stride, "stride", (1, 1))?,
        pair(w, &w.padding, "padding", (0, 0))?,
        pair(w, &w.dilation, "dilation", (1, 1))?,
        w.groups,
    )
    .or_else(|e| spec_err(w, e))?;
    if w.units > MAX_WIDTH || geom.weight_len() > MAX_PARAM {
        return spec_err(w, "too many channels or weights");
    }
    let shape = vec![w.units, geom.group_in(), geom.kh, geom.kw];
    let weight = param(params, format!("{}.weight", w.name), shape, true);
    let bias = w.bias.then(|| param(params, format!("{}.bias", w.name), vec![w.units], true));
    let out = Shape { c: w.units, h: geom.oh, w: geom.ow, spatial: true };
    let macs = (geom.weight_len() as u64).saturating_mul((geom.oh * geom.ow) as u64);
    let flops = macs.saturating_mul(2).saturating_add(if w.bias { out.len() as u64 } else { 0 });
    Ok((NodeKind::Conv2d { geom, weight, bias }, out, flops))
}

fn pool(w: &WireNode, input: &Shape) -> Result<Compiled> {
    let global = w.op == "global_avg_pool";
    let geom = if global {
        Pool2dGeom::new(input.chw(), (input.h, input.w), (1, 1), (0, 0))
    } else {
        let k = pair(w, &w.kernel_size, "kernel_size", (0, 0))?;
        Pool2dGeom::new(
            input.chw(),
            k,
            pair(w, &w.stride, "stride", k)?,
            pair(w, &w.padding, "padding", (0, 0))?,
        )
    }
    .or_else(|e| spec_err(w, e))?;
    let flops = (geom.out_len() * geom.kh * geom.kw) as u64;
    // Global pooling yields one value per channel, a flat vector ready for a dense layer.
    let shape = if global {
        Shape::flat(input.c)
    } else {
        Shape { c: input.c, h: geom.oh, w: geom.ow, spatial: true }
    };
    let kind = if w.op == "max_pool2d" { NodeKind::MaxPool(geom) } else { NodeKind::AvgPool(geom) };
    Ok((kind, shape, flops))
}

/// Batch norm whose statistics and affine parameters are shared by blocks of `group` channels.
fn batch_norm(w: &WireNode, input: &Shape, params: &mut Vec<ParamInfo>, group: usize) -> Result<Compiled> {
    if !(w.eps.is_finite() && w.eps > 0.0) {
        return spec_err(w, format!("eps must be a positive number, got {}", w.eps));
    }
    if !(0.0..=1.0).contains(&w.momentum) {
        return spec_err(w, format!("momentum must be in [0, 1], got {}", w.momentum));
    }
    if !input.c.is_multiple_of(group) {
        return spec_err(w, format!("{} channels do not form blocks of {group} group entries", input.c));
    }
    let c = input.c / group;
    let mut slot =
        |suffix: &str, trainable| param(params, format!("{}.{suffix}", w.name), vec![c], trainable);
    let (gamma, beta) = (slot("weight", w.affine), slot("bias", w.affine));
    let (running_mean, running_var) = (slot("running_mean", false), slot("running_var", false));
    let kind = NodeKind::BatchNorm {
        gamma,
        beta,
        running_mean,
        running_var,
        eps: w.eps,
        momentum: w.momentum,
        group,
    };
    Ok((kind, *input, 2 * input.len() as u64))
}

fn concat(w: &WireNode, shapes: &[Shape]) -> Result<Shape> {
    // One input is allowed: a merge whose other connections were removed (or not yet made).
    if shapes.is_empty() {
        return spec_err(w, "needs at least one input");
    }
    let first = shapes[0];
    let same_grid = shapes.iter().all(|s| s.spatial == first.spatial && s.h == first.h && s.w == first.w);
    if !same_grid {
        let dims: Vec<_> = shapes.iter().map(Shape::dims).collect();
        return spec_err(w, format!("inputs must all be flat or share one height × width, got {dims:?}"));
    }
    let c = shapes.iter().try_fold(0usize, |a, s| a.checked_add(s.c)).unwrap_or(usize::MAX);
    if c > MAX_WIDTH {
        return spec_err(w, "concatenation too large");
    }
    Ok(Shape { c, ..first })
}

/// A mixed operation: equally shaped inputs weighted by one row of a shared architecture tensor.
fn mixed(w: &WireNode, shapes: &[Shape], params: &mut Vec<ParamInfo>) -> Result<Compiled> {
    if shapes.is_empty() || shapes.iter().any(|s| *s != shapes[0]) {
        let dims: Vec<_> = shapes.iter().map(Shape::dims).collect();
        return spec_err(w, format!("needs at least one input, all of one shape, got {dims:?}"));
    }
    let name = match w.alpha.as_deref() {
        Some(n) if !n.is_empty() && !n.contains('.') && n != "input" => n,
        other => {
            return spec_err(w, format!("alpha must name an architecture tensor (no '.'), got {other:?}"))
        }
    };
    let weighting =
        Weighting::parse(w.weighting.as_deref().unwrap_or("softmax")).or_else(|e| spec_err(w, e))?;
    let cols = shapes.len() + usize::from(w.none);
    if w.rows == 0 || w.row >= w.rows || w.rows > MAX_WIDTH {
        return spec_err(w, format!("row {} must be below rows {} (rows >= 1)", w.row, w.rows));
    }
    let want = vec![w.rows, cols];
    let alpha = match params.iter().position(|p| p.name == name) {
        Some(i) if params[i].shape == want => i,
        Some(i) => {
            let had = &params[i].shape;
            return spec_err(w, format!("architecture tensor {name:?} is {had:?} elsewhere, here {want:?}"));
        }
        None => param(params, name.to_string(), want, true),
    };
    let flops = 2 * (shapes.len() * shapes[0].len()) as u64;
    Ok((NodeKind::Mixed { alpha, row: w.row, cols, none: w.none, weighting }, shapes[0], flops))
}
