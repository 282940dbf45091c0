//! Validation of user data and masks against a graph, before any work starts.

use super::graph::Graph;
use super::pass::Masks;
use crate::error::{Error, Result};
use crate::kernels::loss::{Loss, Targets};

/// A borrowed data set: `n × n_inputs` features and matching targets.
#[derive(Clone, Copy, Debug)]
pub struct DataRef<'a> {
    pub x: &'a [f32],
    pub n: usize,
    pub targets: Targets<'a>,
}

impl<'a> DataRef<'a> {
    /// Checks sizes, finiteness and label range for `graph`; `what` names the data in errors.
    pub fn validate(&self, graph: &Graph, what: &str) -> Result<()> {
        validate_features(graph, self.x, self.n, what)?;
        let n_out = graph.n_outputs();
        match (graph.loss, self.targets) {
            (Loss::CrossEntropy, Targets::Classes(y)) => check_labels(y, self.n, n_out, what)?,
            (Loss::CrossEntropy, Targets::Distill(d)) => {
                check_labels(d.labels, self.n, n_out, what)?;
                if d.teacher.len() != self.n * n_out {
                    return Err(Error::Shape(format!(
                        "{what}: teacher logits have {} values, expected {} samples × {n_out} classes",
                        d.teacher.len(),
                        self.n
                    )));
                }
                check_finite(d.teacher, &format!("{what}: teacher logits"))?;
                d.validate_settings()?;
            }
            (Loss::Mse, Targets::Values(t)) => {
                if t.len() != self.n * n_out {
                    return Err(Error::Shape(format!(
                        "{what}: targets have {} values, expected {} samples × {n_out} outputs",
                        t.len(),
                        self.n
                    )));
                }
                check_finite(t, &format!("{what} targets"))?;
            }
            (Loss::CrossEntropy, Targets::Values(_)) => {
                return Err(Error::Data(format!("{what}: cross-entropy needs integer class labels")))
            }
            (Loss::Mse, Targets::Classes(_)) => {
                return Err(Error::Data(format!(
                    "{what}: the mse loss needs float targets, not class labels"
                )))
            }
            (Loss::Mse, Targets::Distill(_)) => {
                return Err(Error::Config(format!(
                    "{what}: distillation (a teacher) needs a cross-entropy classifier; \
                     this network's loss is mse"
                )))
            }
        }
        Ok(())
    }
}

/// Checks `n` class labels in `0..n_out`.
fn check_labels(y: &[i64], n: usize, n_out: usize, what: &str) -> Result<()> {
    if y.len() != n {
        return Err(Error::Shape(format!("{what}: {} labels for {n} samples", y.len())));
    }
    if let Some((i, &bad)) = y.iter().enumerate().find(|(_, &v)| v < 0 || v as u64 >= n_out as u64) {
        return Err(Error::Data(format!(
            "{what}: label {bad} at index {i} is out of range for {n_out} classes (expected 0..{})",
            n_out - 1
        )));
    }
    Ok(())
}

/// Checks that `x` holds `n ≥ 1` finite rows of the graph's input width.
pub fn validate_features(graph: &Graph, x: &[f32], n: usize, what: &str) -> Result<()> {
    if n == 0 {
        return Err(Error::Data(format!("{what}: no samples (empty data)")));
    }
    let n_in = graph.n_inputs();
    if x.len() != n * n_in {
        return Err(Error::Shape(format!(
            "{what}: {} values do not form {n} samples of {n_in} features",
            x.len()
        )));
    }
    check_finite(x, what)
}

/// Error if any value is NaN or infinite, naming the first offending flat index.
pub fn check_finite(x: &[f32], what: &str) -> Result<()> {
    // Vectorized scan first; locate the culprit only on failure.
    let all_finite = crate::kernels::simd::all_finite(x);
    if all_finite {
        return Ok(());
    }
    let i = x.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(Error::Data(format!("{what} contains a non-finite value ({}) at flat index {i}", x[i])))
}

/// Checks masks (one slot per node, hidden nodes only, one finite value per unit: feature or
/// channel) and returns them expanded to one value per output element.
pub fn validate_masks(graph: &Graph, masks: &Masks) -> Result<Vec<Option<Vec<f32>>>> {
    if masks.len() != graph.nodes.len() {
        return Err(Error::Shape(format!("expected {} mask slots, got {}", graph.nodes.len(), masks.len())));
    }
    let mut out = Vec::with_capacity(masks.len());
    for (i, m) in masks.iter().enumerate() {
        let Some(m) = m else {
            out.push(None);
            continue;
        };
        let node = &graph.nodes[i];
        if i == 0 || i == graph.output {
            return Err(Error::Config(format!(
                "masks apply to hidden nodes only; {:?} is the network {}",
                node.name,
                if i == 0 { "input" } else { "output" }
            )));
        }
        if m.len() != node.shape.c {
            return Err(Error::Shape(format!(
                "mask for {:?} has {} values, the node has {} units",
                node.name,
                m.len(),
                node.shape.c
            )));
        }
        check_finite(m, &format!("mask for {:?}", node.name))?;
        let plane = node.shape.h * node.shape.w;
        out.push(Some(m.iter().flat_map(|&v| std::iter::repeat_n(v, plane)).collect()));
    }
    Ok(out)
}

/// Batch normalization over one value per channel has no variance to normalize by; refuse
/// such batches (as PyTorch does) instead of silently producing zeros.
pub fn check_batch_norm_batch(graph: &Graph, n: usize, batch: usize) -> Result<()> {
    let smallest = if n.is_multiple_of(batch) { batch } else { n % batch };
    for node in &graph.nodes {
        let spatial = super::pass::bn_shape(node).spatial;
        if matches!(node.kind, super::graph::NodeKind::BatchNorm { .. }) && smallest * spatial < 2 {
            return Err(Error::Config(format!(
                "batch-norm node {:?} needs more than one value per channel in every training batch; \
                 got a batch of {smallest} sample(s) with {spatial} value(s) per channel \
                 (change batch_size or the number of samples)",
                node.name
            )));
        }
    }
    Ok(())
}

/// Checks that parameter tensors match the graph's declared shapes.
pub fn validate_params(graph: &Graph, params: &[Vec<f32>]) -> Result<()> {
    if params.len() != graph.params.len() {
        return Err(Error::Shape(format!(
            "the spec declares {} parameter tensors, got {}",
            graph.params.len(),
            params.len()
        )));
    }
    for (info, p) in graph.params.iter().zip(params) {
        if p.len() != info.len() {
            return Err(Error::Shape(format!(
                "parameter {} should have shape {:?} ({} values), got {} values",
                info.name,
                info.shape,
                info.len(),
                p.len()
            )));
        }
        check_finite(p, &format!("parameter {}", info.name))?;
    }
    Ok(())
}
