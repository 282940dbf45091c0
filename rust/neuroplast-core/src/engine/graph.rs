//! The compiled network graph: nodes in topological order with resolved widths and parameter
//! slots, built from the JSON wire form of `neuroplast.Spec` and validated once.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::kernels::activation::Activation;
use crate::kernels::loss::Loss;

/// What a node computes before its activation.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// The network input (always node 0).
    Input,
    /// `z = x·Wᵀ + b` with `W` stored `units × fan_in` in parameter `weight`.
    Dense { weight: usize, bias: Option<usize> },
    /// Elementwise sum of equally wide inputs.
    Add,
    /// Feature-wise concatenation of the inputs.
    Concat,
}

/// One compiled node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    pub inputs: Vec<usize>,
    pub width: usize,
    pub activation: Activation,
}

/// Shape and name of one parameter tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: String,
    pub shape: Vec<usize>,
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
}

#[derive(Deserialize)]
struct WireNode {
    name: String,
    op: String,
    #[serde(default)]
    inputs: Vec<String>,
    #[serde(default)]
    units: usize,
    #[serde(default = "default_activation")]
    activation: String,
    #[serde(default = "default_slope")]
    negative_slope: f32,
    #[serde(default = "default_true")]
    bias: bool,
}

#[derive(Deserialize)]
struct WireSpec {
    input_shape: Vec<usize>,
    nodes: Vec<WireNode>,
    output: String,
    #[serde(default = "default_loss")]
    loss: String,
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
        let mut nodes = vec![Node {
            name: "input".into(),
            kind: NodeKind::Input,
            inputs: vec![],
            width: n_in,
            activation: Activation::Identity,
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
        Ok(Self { nodes, output, loss: Loss::parse(&wire.loss)?, params })
    }

    /// Input width (features per sample).
    pub fn n_inputs(&self) -> usize {
        self.nodes[0].width
    }

    /// Output width.
    pub fn n_outputs(&self) -> usize {
        self.nodes[self.output].width
    }
}

/// Largest width of any node; keeps every buffer size computation far from overflow.
pub const MAX_WIDTH: usize = 1 << 31;
/// Largest number of elements of one parameter tensor.
pub const MAX_PARAM: usize = 1 << 34;

fn too_large(name: &str, what: &str) -> Error {
    Error::Spec(format!("node {name:?}: {what} too large (at most {MAX_WIDTH} units, {MAX_PARAM} weights)"))
}

fn find(nodes: &[Node], name: &str, role: &str) -> Result<usize> {
    nodes.iter().position(|n| n.name == name).ok_or_else(|| {
        Error::Spec(format!(
            "{role} refers to unknown or later node {name:?} (nodes must be listed in topological order)"
        ))
    })
}

fn compile_node(w: &WireNode, nodes: &[Node], params: &mut Vec<ParamInfo>) -> Result<Node> {
    if nodes.iter().any(|n| n.name == w.name) {
        return Err(Error::Spec(format!("duplicate node name {:?}", w.name)));
    }
    let inputs =
        w.inputs.iter().map(|i| find(nodes, i, &format!("node {:?}", w.name))).collect::<Result<Vec<_>>>()?;
    let widths: Vec<usize> = inputs.iter().map(|&i| nodes[i].width).collect();
    let activation = Activation::parse(&w.activation, w.negative_slope)?;
    let (kind, width) = match w.op.as_str() {
        "dense" => {
            if inputs.len() != 1 {
                return Err(Error::Spec(format!(
                    "dense node {:?} needs exactly one input, got {}",
                    w.name,
                    inputs.len()
                )));
            }
            if w.units > MAX_WIDTH || w.units.saturating_mul(widths[0]) > MAX_PARAM {
                return Err(too_large(&w.name, "layer"));
            }
            if w.units == 0 {
                return Err(Error::Spec(format!("dense node {:?} needs units >= 1", w.name)));
            }
            params.push(ParamInfo { name: format!("{}.weight", w.name), shape: vec![w.units, widths[0]] });
            let weight = params.len() - 1;
            let bias = w.bias.then(|| {
                params.push(ParamInfo { name: format!("{}.bias", w.name), shape: vec![w.units] });
                params.len() - 1
            });
            (NodeKind::Dense { weight, bias }, w.units)
        }
        "add" => {
            if inputs.len() < 2 || widths.iter().any(|&x| x != widths[0]) {
                return Err(Error::Spec(format!(
                    "add node {:?} needs at least two inputs of equal width, got widths {widths:?}",
                    w.name
                )));
            }
            (NodeKind::Add, widths[0])
        }
        "concat" => {
            if inputs.len() < 2 {
                return Err(Error::Spec(format!("concat node {:?} needs at least two inputs", w.name)));
            }
            let width = widths.iter().try_fold(0usize, |a, &b| a.checked_add(b)).unwrap_or(usize::MAX);
            if width > MAX_WIDTH {
                return Err(too_large(&w.name, "concatenation"));
            }
            (NodeKind::Concat, width)
        }
        other => return Err(Error::Spec(format!("node {:?} has unknown op {other:?}", w.name))),
    };
    Ok(Node { name: w.name.clone(), kind, inputs, width, activation })
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
