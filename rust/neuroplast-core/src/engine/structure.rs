//! Structure vectors of probabilistic structure search: bits that switch hidden units or
//! merge inputs on and off, their Bernoulli sampling, and the masks and gates a bit vector
//! induces in the forward and backward passes.

use super::graph::{Graph, NodeKind};
use super::pass::{Gates, Masks};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// What one bit of a structure vector switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BitTarget {
    /// Unit `unit` (feature or channel) of hidden node `node`: a multiplicative mask on its output.
    Unit { node: usize, unit: usize },
    /// Input `input` of merge node `node` (`add` or `concat`): the connection on or off.
    Input { node: usize, input: usize },
}

impl BitTarget {
    /// The node whose output (unit bits) or inputs (input bits) the bit acts on.
    pub fn node(&self) -> usize {
        match *self {
            BitTarget::Unit { node, .. } | BitTarget::Input { node, .. } => node,
        }
    }
}

/// Per-node buffers (`None` for nodes without bits): unit masks or merge-input gates.
pub type NodeBuffers = Vec<Option<Vec<f32>>>;

/// A validated list of bits over a graph. Bits acting on the same node form a *group*: the
/// units of one layer or the inputs of one merge.
#[derive(Clone, Debug, PartialEq)]
pub struct Structure {
    targets: Vec<BitTarget>,
    /// Bit indices of each group, groups in order of first appearance.
    groups: Vec<Vec<usize>>,
    n_nodes: usize,
    /// `h · w` of every node (values per unit and sample).
    planes: Vec<usize>,
    widths: Vec<usize>,
    n_inputs: Vec<usize>,
}

fn config<T>(msg: String) -> Result<T> {
    Err(Error::Config(msg))
}

impl Structure {
    /// Checks every target against `graph`: unit bits on hidden nodes only (never the input
    /// or the output layer), input bits on `add`/`concat` nodes only, no bit twice, and no
    /// node with both kinds.
    pub fn new(graph: &Graph, targets: Vec<BitTarget>) -> Result<Self> {
        let n_nodes = graph.nodes.len();
        let mut seen = std::collections::HashSet::new();
        let mut kind_of: Vec<Option<bool>> = vec![None; n_nodes];
        let mut group_of: Vec<Option<usize>> = vec![None; n_nodes];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (b, t) in targets.iter().enumerate() {
            let node = t.node();
            if node >= n_nodes {
                return config(format!("bit {b} refers to node {node}; the network has {n_nodes} nodes"));
            }
            let nd = &graph.nodes[node];
            if node == 0 || node == graph.output {
                let role = if node == 0 { "input" } else { "output layer" };
                return config(format!(
                    "bit {b} acts on {:?}, the network {role}: structure bits may only switch hidden \
                     units or merge inputs",
                    nd.name
                ));
            }
            let is_unit = matches!(t, BitTarget::Unit { .. });
            match *t {
                BitTarget::Unit { unit, .. } if unit >= nd.shape.c => {
                    return config(format!(
                        "bit {b}: node {:?} has {} units, not unit {unit}",
                        nd.name, nd.shape.c
                    ))
                }
                BitTarget::Input { input, .. } => {
                    if !matches!(nd.kind, NodeKind::Add | NodeKind::Concat) {
                        return config(format!("bit {b}: node {:?} is not an add or concat merge", nd.name));
                    }
                    if input >= nd.inputs.len() {
                        let n = nd.inputs.len();
                        return config(format!(
                            "bit {b}: merge {:?} has {n} inputs, not input {input}",
                            nd.name
                        ));
                    }
                }
                BitTarget::Unit { .. } => {}
            }
            if kind_of[node].is_some_and(|k| k != is_unit) {
                return config(format!("node {:?} has both unit and input bits", nd.name));
            }
            kind_of[node] = Some(is_unit);
            if !seen.insert(*t) {
                return config(format!("bit {b} repeats an earlier bit ({t:?})"));
            }
            let g = *group_of[node].get_or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(b);
        }
        let planes = graph.nodes.iter().map(|n| n.shape.h * n.shape.w).collect();
        let widths = graph.nodes.iter().map(|n| n.width).collect();
        let n_inputs = graph.nodes.iter().map(|n| n.inputs.len()).collect();
        Ok(Self { targets, groups, n_nodes, planes, widths, n_inputs })
    }

    /// Number of bits `d`.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no bits.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The bits' targets, in order.
    pub fn targets(&self) -> &[BitTarget] {
        &self.targets
    }

    /// Bit indices per group (one layer's units, or one merge's inputs).
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// Mask and gate buffers for [`Structure::apply`]: all ones on the targeted nodes.
    pub fn buffers(&self) -> (NodeBuffers, NodeBuffers) {
        let mut masks = vec![None; self.n_nodes];
        let mut gates = vec![None; self.n_nodes];
        for t in &self.targets {
            match *t {
                BitTarget::Unit { node, .. } => {
                    masks[node].get_or_insert_with(|| vec![1.0f32; self.widths[node]]);
                }
                BitTarget::Input { node, .. } => {
                    gates[node].get_or_insert_with(|| vec![1.0f32; self.n_inputs[node]]);
                }
            }
        }
        (masks, gates)
    }

    /// Writes the masks and gates of bit vector `m` (one entry per bit) into buffers from
    /// [`Structure::buffers`]; a unit mask covers every value of its channel.
    pub fn apply(&self, m: &[bool], masks: &mut Masks, gates: &mut Gates) {
        for (t, &on) in self.targets.iter().zip(m) {
            let v = if on { 1.0 } else { 0.0 };
            match *t {
                BitTarget::Unit { node, unit } => {
                    if let Some(mask) = masks[node].as_mut() {
                        let plane = self.planes[node];
                        mask[unit * plane..(unit + 1) * plane].fill(v);
                    }
                }
                BitTarget::Input { node, input } => {
                    if let Some(g) = gates[node].as_mut() {
                        g[input] = v;
                    }
                }
            }
        }
    }

    /// The most likely structure: bit `i` on when `θᵢ ≥ ½` (the paper's deterministic
    /// prediction). A group left with no bit on keeps its most probable bit (the first on
    /// ties), so that every layer keeps a unit and every merge an input.
    pub fn deterministic(&self, theta: &[f64]) -> Vec<bool> {
        let mut m: Vec<bool> = theta.iter().map(|&t| t >= 0.5).collect();
        for g in &self.groups {
            if g.iter().all(|&b| !m[b]) {
                let best = g.iter().copied().fold(g[0], |a, b| if theta[b] > theta[a] { b } else { a });
                m[best] = true;
            }
        }
        m
    }
}

/// Draws each bit independently: `mᵢ = 1` with probability `θᵢ` (uniform draws with 53 bits).
pub fn sample(theta: &[f64], rng: &mut Rng, out: &mut [bool]) {
    for (o, &t) in out.iter_mut().zip(theta) {
        *o = rng.uniform_f64() < t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Graph {
        let spec = r#"{"input_shape":[3],"output":"out","nodes":[
            {"name":"a","op":"dense","inputs":["input"],"units":4,"activation":"relu"},
            {"name":"b","op":"dense","inputs":["input"],"units":2,"activation":"relu"},
            {"name":"c","op":"concat","inputs":["a","b"]},
            {"name":"out","op":"dense","inputs":["c"],"units":2}]}"#;
        Graph::from_json(spec).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn masks_gates_and_deterministic_structure() {
        let g = graph();
        let bits = vec![
            BitTarget::Unit { node: 1, unit: 0 },
            BitTarget::Unit { node: 1, unit: 3 },
            BitTarget::Input { node: 3, input: 0 },
            BitTarget::Input { node: 3, input: 1 },
        ];
        let s = Structure::new(&g, bits).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(s.groups(), &[vec![0, 1], vec![2, 3]]);
        let (mut masks, mut gates) = s.buffers();
        s.apply(&[false, true, true, false], &mut masks, &mut gates);
        assert_eq!(masks[1].as_deref(), Some(&[0.0, 1.0, 1.0, 1.0][..]));
        assert_eq!(gates[3].as_deref(), Some(&[1.0, 0.0][..]));
        assert_eq!(s.deterministic(&[0.2, 0.4, 0.5, 0.9]), vec![false, true, true, true]);
        assert_eq!(s.deterministic(&[0.2, 0.2, 0.1, 0.3]), vec![true, false, false, true]);
    }

    #[test]
    fn rejects_bad_targets() {
        let g = graph();
        for bad in [
            vec![BitTarget::Unit { node: 4, unit: 0 }],
            vec![BitTarget::Unit { node: 0, unit: 0 }],
            vec![BitTarget::Unit { node: 9, unit: 0 }],
            vec![BitTarget::Unit { node: 1, unit: 4 }],
            vec![BitTarget::Input { node: 1, input: 0 }],
            vec![BitTarget::Input { node: 3, input: 2 }],
            vec![BitTarget::Unit { node: 1, unit: 0 }, BitTarget::Unit { node: 1, unit: 0 }],
            vec![BitTarget::Unit { node: 3, unit: 0 }, BitTarget::Input { node: 3, input: 0 }],
        ] {
            assert!(matches!(Structure::new(&g, bad.clone()), Err(Error::Config(_))), "{bad:?}");
        }
    }
}
