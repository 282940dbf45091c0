//! The compiled network graph: nodes in topological order with resolved widths and parameter
//! slots, built from the JSON wire form of `neuroplast.Spec` and validated once.

use std::sync::Arc;

use serde::Deserialize;

use super::compile::{compile_node, WireNode};
use crate::error::{Error, Result};
use crate::group::expand::Expansion;
use crate::kernels::activation::Activation;
use crate::kernels::loss::Loss;
use crate::kernels::mixed::Weighting;
use crate::kernels::spatial::{Conv2dGeom, Pool2dGeom};

/// What a node computes before its activation.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// The network input (always node 0).
    Input,
    /// `z = x·Wᵀ + b` with `W` stored `units × fan_in` in parameter `weight` (a spatial input
    /// is consumed flattened, C·H·W order).
    Dense { weight: usize, bias: Option<usize> },
    /// 2-D convolution, weights `c_out × c_in/groups × kh × kw`.
    Conv2d { geom: Conv2dGeom, weight: usize, bias: Option<usize> },
    /// Max pooling.
    MaxPool(Pool2dGeom),
    /// Average pooling (global average pooling is the `h × w` window).
    AvgPool(Pool2dGeom),
    /// Batch normalization with trainable `gamma`, `beta` and running statistics, shared by
    /// each block of `group` consecutive channels (1: ordinary batch norm; `|G|`: the
    /// equivariant batch norm of a group feature map).
    BatchNorm {
        gamma: usize,
        beta: usize,
        running_mean: usize,
        running_var: usize,
        eps: f32,
        momentum: f32,
        group: usize,
    },
    /// Lifting or group convolution: a standard convolution `geom` (over the expanded channels)
    /// whose kernel is gathered from the stored `weight` by `expansion`; the bias is shared by
    /// each channel's group entries.
    GroupConv { geom: Conv2dGeom, weight: usize, bias: Option<usize>, expansion: Arc<Expansion> },
    /// Mean over each block of `size` consecutive channels (pooling over the group axis).
    GroupPool { size: usize },
    /// `[G]`-mixed convolution: architecture `logits` and per candidate a weight-normalized
    /// direction `v` and frozen scale `g`; one standard convolution `geom` with the collapsed
    /// kernel (see `crate::group::mixed`).
    MixedConv {
        geom: Conv2dGeom,
        logits: usize,
        candidates: Arc<Vec<Expansion>>,
        v: Vec<usize>,
        g: Vec<usize>,
    },
    /// Reinterprets a spatial tensor as a flat feature vector (no data movement in C·H·W order).
    Flatten,
    /// Elementwise sum of equally shaped inputs.
    Add,
    /// Concatenation of the inputs: features of flat inputs, channels of spatial ones.
    Concat,
    /// Its input unchanged (a node that only applies its activation).
    Identity,
    /// A mixed operation of differentiable architecture search: `Σₚ aₚ·xₚ` over the inputs
    /// (the candidate operations of one edge), with `a = weighting(α[row])` from the shared
    /// architecture tensor `alpha` (`rows × cols`). With `none`, column 0 is the zero operation
    /// (it takes weight but adds nothing); input `p` has column `p + none`.
    Mixed { alpha: usize, row: usize, cols: usize, none: bool, weighting: Weighting },
}

impl NodeKind {
    /// Indices of the parameter tensors the node owns.
    pub fn params(&self) -> Vec<usize> {
        match *self {
            NodeKind::Dense { weight, bias }
            | NodeKind::Conv2d { weight, bias, .. }
            | NodeKind::GroupConv { weight, bias, .. } => std::iter::once(weight).chain(bias).collect(),
            NodeKind::MixedConv { logits, ref v, ref g, .. } => {
                std::iter::once(logits).chain(v.iter().copied()).chain(g.iter().copied()).collect()
            }
            NodeKind::BatchNorm { gamma, beta, running_mean, running_var, .. } => {
                vec![gamma, beta, running_mean, running_var]
            }
            // A mixed node's architecture tensor is shared between nodes: not owned by one.
            _ => Vec::new(),
        }
    }
}

/// Per-sample shape of a node's output: `c` units (features or channels) over an `h × w` grid.
/// Flat feature vectors are `(c, 1, 1)` with `spatial == false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub spatial: bool,
}

impl Shape {
    /// A flat vector of `c` features.
    pub fn flat(c: usize) -> Self {
        Self { c, h: 1, w: 1, spatial: false }
    }

    /// Values per sample.
    pub fn len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Whether the shape holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[c]` or `[c, h, w]`.
    pub fn dims(&self) -> Vec<usize> {
        if self.spatial {
            vec![self.c, self.h, self.w]
        } else {
            vec![self.c]
        }
    }

    /// `(c, h, w)`.
    pub fn chw(&self) -> (usize, usize, usize) {
        (self.c, self.h, self.w)
    }
}

/// One compiled node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    pub inputs: Vec<usize>,
    pub shape: Shape,
    /// Values per sample (`shape.len()`).
    pub width: usize,
    pub activation: Activation,
    /// Forward floating-point operations per sample (see `compile::flops`).
    pub flops: u64,
}

/// Shape, name and role of one parameter tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: String,
    pub shape: Vec<usize>,
    /// `false` for buffers the optimizer never touches (batch-norm running statistics).
    pub trainable: bool,
}

impl ParamInfo {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A validated network graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub output: usize,
    pub loss: Loss,
    pub params: Vec<ParamInfo>,
    /// Per node, the `(consumer, input position)` pairs that read it.
    pub consumers: Vec<Vec<(usize, usize)>>,
}

#[derive(Deserialize)]
struct WireSpec {
    input_shape: Vec<usize>,
    nodes: Vec<WireNode>,
    output: String,
    #[serde(default = "default_loss")]
    loss: String,
}

fn default_loss() -> String {
    "cross_entropy".into()
}

impl Graph {
    /// Parses and validates the JSON produced by `Spec.to_json()`.
    pub fn from_json(text: &str) -> Result<Self> {
        let wire: WireSpec =
            serde_json::from_str(text).map_err(|e| Error::Spec(format!("invalid spec JSON: {e}")))?;
        let n_in = wire.input_shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        if wire.input_shape.is_empty() || n_in == 0 || n_in > MAX_WIDTH {
            return Err(Error::Spec(format!(
                "input_shape must be non-empty and positive, got {:?}",
                wire.input_shape
            )));
        }
        // Three dimensions are channels × height × width; anything else is a flat vector.
        let shape = match wire.input_shape[..] {
            [c, h, w] => Shape { c, h, w, spatial: true },
            _ => Shape::flat(n_in),
        };
        let mut nodes = vec![Node {
            name: "input".into(),
            kind: NodeKind::Input,
            inputs: vec![],
            shape,
            width: n_in,
            activation: Activation::Identity,
            flops: 0,
        }];
        let mut params = Vec::new();
        for w in &wire.nodes {
            let node = compile_node(w, &nodes, &mut params)?;
            nodes.push(node);
        }
        let output = find(&nodes, &wire.output, "output")?;
        if output == 0 {
            return Err(Error::Spec("the output must be a computed node, not the input".into()));
        }
        if nodes[output].shape.spatial {
            return Err(Error::Spec(format!(
                "the output node {:?} must be flat (add a flatten, global_avg_pool or dense node)",
                wire.output
            )));
        }
        let mut consumers = vec![Vec::new(); nodes.len()];
        for (c, node) in nodes.iter().enumerate() {
            for (k, &j) in node.inputs.iter().enumerate() {
                consumers[j].push((c, k));
            }
        }
        Ok(Self { nodes, output, loss: Loss::parse(&wire.loss)?, params, consumers })
    }

    /// Input width (features per sample).
    pub fn n_inputs(&self) -> usize {
        self.nodes[0].width
    }

    /// Output width.
    pub fn n_outputs(&self) -> usize {
        self.nodes[self.output].width
    }

    /// Whether any node is a mixed operation (the graph has architecture weights).
    pub fn has_mixed(&self) -> bool {
        self.nodes.iter().any(|n| matches!(n.kind, NodeKind::Mixed { .. }))
    }

    /// Indices of the architecture tensors (the `alpha` of mixed nodes), in order of first use.
    pub fn arch_params(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for n in &self.nodes {
            if let NodeKind::Mixed { alpha, .. } = n.kind {
                if !out.contains(&alpha) {
                    out.push(alpha);
                }
            }
        }
        out
    }

    /// Whether any node normalizes with batch statistics.
    pub fn has_batch_norm(&self) -> bool {
        self.nodes.iter().any(|n| matches!(n.kind, NodeKind::BatchNorm { .. }))
    }
}

/// Largest width of any node; keeps every buffer size computation far from overflow.
pub const MAX_WIDTH: usize = 1 << 31;
/// Largest number of elements of one parameter tensor.
pub const MAX_PARAM: usize = 1 << 34;

pub(super) fn find(nodes: &[Node], name: &str, role: &str) -> Result<usize> {
    nodes.iter().position(|n| n.name == name).ok_or_else(|| {
        Error::Spec(format!(
            "{role} refers to unknown or later node {name:?} (nodes must be listed in topological order)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_residual_graph_and_rejects_bad_specs() {
        let ok = r#"{"input_shape":[4],"output":"out","nodes":[
            {"name":"a","op":"dense","inputs":["input"],"units":3,"activation":"relu"},
            {"name":"b","op":"dense","inputs":["a"],"units":3,"activation":"tanh","bias":false},
            {"name":"s","op":"add","inputs":["a","b"]},
            {"name":"c","op":"concat","inputs":["s","input"]},
            {"name":"out","op":"dense","inputs":["c"],"units":2}]}"#;
        let g = Graph::from_json(ok).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(g.nodes[4].width, 7);
        assert_eq!(g.params.len(), 5);
        assert_eq!(g.params[3].shape, vec![2, 7]);
        for bad in [
            r#"{"input_shape":[4],"output":"x","nodes":[]}"#,
            r#"{"input_shape":[4],"output":"a","nodes":[{"name":"a","op":"dense","inputs":["zz"],"units":3}]}"#,
            r#"{"input_shape":[4],"output":"s","nodes":[{"name":"a","op":"dense","inputs":["input"],"units":3},{"name":"s","op":"add","inputs":["a","input"]}]}"#,
            r#"{"input_shape":[4],"output":"a","nodes":[{"name":"a","op":"conv9","inputs":["input"]}]}"#,
            r#"{"input_shape":[0],"output":"a","nodes":[]}"#,
            "not json",
        ] {
            assert!(matches!(Graph::from_json(bad), Err(Error::Spec(_))), "{bad}");
        }
    }
}
