//! Weight masks: training on a fixed support (the zeros of a pruned network stay zero).
//!
//! A mask is a 0/1 vector per parameter tensor. Training multiplies the masked tensors by
//! their masks before the first step, drops the masked entries' gradients before every
//! optimizer update (so optimizer buffers that start at zero stay zero) and multiplies again
//! after it (an update that still moves a masked weight, through momentum left from an
//! earlier unmasked fit, cannot leave the support). Unmasked entries train exactly as
//! without masks: multiplying by 1 is exact, so an all-ones mask changes no bit.

use super::graph::Graph;
use crate::error::{Error, Result};

/// Optional 0/1 masks, one slot per parameter of the graph (`graph.params` order). An empty
/// slice or a `None` slot leaves that parameter free.
pub type WeightMasks = [Option<Vec<f32>>];

/// Checks slot count, lengths, trainability and 0/1 values.
pub(crate) fn validate(graph: &Graph, masks: &WeightMasks) -> Result<()> {
    if masks.is_empty() {
        return Ok(());
    }
    if masks.len() != graph.params.len() {
        return Err(Error::Shape(format!(
            "expected {} weight-mask slots (one per parameter), got {}",
            graph.params.len(),
            masks.len()
        )));
    }
    for (m, info) in masks.iter().zip(&graph.params) {
        let Some(m) = m else { continue };
        if m.len() != info.len() {
            return Err(Error::Shape(format!(
                "weight mask for {:?} has {} values, the parameter has {}",
                info.name,
                m.len(),
                info.len()
            )));
        }
        if !info.trainable {
            return Err(Error::Config(format!("{:?} is a buffer, not a trainable parameter", info.name)));
        }
        if m.iter().any(|&v| v != 0.0 && v != 1.0) {
            return Err(Error::Config(format!("weight mask for {:?} must hold only 0 and 1", info.name)));
        }
    }
    Ok(())
}

/// `bufs[p] *= masks[p]` for every masked parameter (gradients or parameters).
pub(crate) fn apply(masks: &WeightMasks, bufs: &mut [Vec<f32>]) {
    for (m, b) in masks.iter().zip(bufs.iter_mut()) {
        if let Some(m) = m {
            b.iter_mut().zip(m).for_each(|(x, &k)| *x *= k);
        }
    }
}
