//! Loss functions on a batch of network outputs: value, gradient and correct-count.

use super::simd::exp_f32;
use crate::error::{Error, Result};

/// Training objective applied to the output node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Softmax cross-entropy with integer class labels (mean over the batch).
    CrossEntropy,
    /// Mean squared error over all output elements (PyTorch's `MSELoss` convention).
    Mse,
}

impl Loss {
    /// Parses the wire name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "cross_entropy" => Ok(Self::CrossEntropy),
            "mse" => Ok(Self::Mse),
            other => {
                Err(Error::Spec(format!("unknown loss {other:?}; expected \"cross_entropy\" or \"mse\"")))
            }
        }
    }
}

/// Targets of a whole data set, indexed by sample.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a> {
    /// Class indices in `0..n_classes`.
    Classes(&'a [i64]),
    /// Row-major `n × dim` regression targets.
    Values(&'a [f32]),
}

/// Sum of losses and number of correct predictions over a batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchLoss {
    pub loss_sum: f64,
    pub correct: usize,
}

/// Computes the batch loss for outputs `out` (`rows × width`) of samples `idx`.
///
/// When `grad` is given it receives dL/d`out` for the loss averaged over `scale_rows` rows
/// (the batch size), so gradients do not depend on how a batch is split.
pub fn batch_loss(
    loss: Loss,
    out: &[f32],
    width: usize,
    targets: Targets<'_>,
    idx: &[usize],
    scale_rows: usize,
    mut grad: Option<&mut [f32]>,
) -> BatchLoss {
    let mut res = BatchLoss::default();
    let inv = 1.0 / scale_rows as f32;
    for (r, &s) in idx.iter().enumerate() {
        let row = &out[r * width..(r + 1) * width];
        let g = grad.as_deref_mut().map(|g| &mut g[r * width..(r + 1) * width]);
        match (loss, targets) {
            (Loss::CrossEntropy, Targets::Classes(y)) => {
                let label = y[s] as usize;
                let (l, argmax) = softmax_xent_row(row, label, g, inv);
                res.loss_sum += l;
                res.correct += usize::from(argmax == label);
            }
            (_, Targets::Values(t)) => {
                let trow = &t[s * width..(s + 1) * width];
                let mut l = 0.0f64;
                let scale = 2.0 * inv / width as f32;
                match g {
                    Some(g) => {
                        for ((gv, &o), &tv) in g.iter_mut().zip(row).zip(trow) {
                            let d = o - tv;
                            l += f64::from(d * d);
                            *gv = scale * d;
                        }
                    }
                    None => {
                        for (&o, &tv) in row.iter().zip(trow) {
                            let d = o - tv;
                            l += f64::from(d * d);
                        }
                    }
                }
                res.loss_sum += l / width as f64;
            }
            // Class labels with an MSE loss are rejected when the data are validated.
            (Loss::Mse, Targets::Classes(_)) => {}
        }
    }
    res
}

/// Softmax cross-entropy of one row: returns (loss, argmax) and writes `(p − onehot)·scale`.
///
/// Exponentials use the polynomial [`exp_f32`] (no libm call per element); the row sum and the
/// log are taken in f64 so the reported loss keeps full precision.
fn softmax_xent_row(row: &[f32], label: usize, grad: Option<&mut [f32]>, scale: f32) -> (f64, usize) {
    let mut argmax = 0;
    let mut mx = f32::NEG_INFINITY;
    for (j, &v) in row.iter().enumerate() {
        if v > mx {
            mx = v;
            argmax = j;
        }
    }
    let sum: f64 = row.iter().map(|&v| f64::from(exp_f32(v - mx))).sum();
    let loss = sum.ln() - f64::from(row[label] - mx);
    if let Some(g) = grad {
        let inv = (1.0 / sum) as f32;
        for (j, (gv, &v)) in g.iter_mut().zip(row).enumerate() {
            let p = exp_f32(v - mx) * inv;
            *gv = (p - f32::from(u8::from(j == label))) * scale;
        }
    }
    (loss, argmax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let out = vec![0.3f32, -1.2, 2.0, 0.5, 0.1, 0.0];
        let y = [2i64, 0];
        let idx = [0usize, 1];
        let mut g = vec![0.0; 6];
        let base = batch_loss(Loss::CrossEntropy, &out, 3, Targets::Classes(&y), &idx, 2, Some(&mut g));
        assert_eq!(base.correct, 2);
        for k in 0..6 {
            let mut o = out.clone();
            let h = 1e-2f32;
            o[k] += h;
            let lp = batch_loss(Loss::CrossEntropy, &o, 3, Targets::Classes(&y), &idx, 2, None).loss_sum;
            o[k] -= 2.0 * h;
            let lm = batch_loss(Loss::CrossEntropy, &o, 3, Targets::Classes(&y), &idx, 2, None).loss_sum;
            let fd = (lp - lm) / (2.0 * f64::from(h)) / 2.0;
            assert!((fd - f64::from(g[k])).abs() < 1e-4, "{k}: {fd} vs {}", g[k]);
        }
    }

    #[test]
    fn mse_value_and_gradient() {
        let out = vec![1.0f32, 2.0, 3.0, 4.0];
        let t = vec![0.0f32, 2.0, 1.0, 4.0];
        let mut g = vec![0.0; 4];
        let r = batch_loss(Loss::Mse, &out, 2, Targets::Values(&t), &[0, 1], 2, Some(&mut g));
        // Per-row means: (1 + 0)/2 and (4 + 0)/2.
        assert!((r.loss_sum - 2.5).abs() < 1e-12);
        assert_eq!(g, vec![0.5, 0.0, 1.0, 0.0]);
        assert!(Loss::parse("hinge").is_err());
    }
}
