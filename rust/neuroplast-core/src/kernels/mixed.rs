//! Mixed operations of differentiable architecture search: the activation `a(α)` of one edge's
//! architecture weights, the weighted sum of the candidate operations, and their gradients.
//!
//! * `softmax`: `aₚ = exp(αₚ) / Σ exp(α)` (Liu et al., DARTS), computed in f64;
//! * `crb` (Maile 2023, ch. 5, "clipped ReLU batchnorm"): `aₚ = min(max(αₚ, 0), 1)`; the
//!   derivative is 1 on `0 < α ≤ 1` and 0 elsewhere, so an operation whose weight is not
//!   positive receives no gradient and can be pruned.

use crate::error::{Error, Result};

/// How an edge's architecture weights become operation weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weighting {
    /// Softmax over the edge's operations (they compete).
    Softmax,
    /// Unit-clipped ReLU per operation (no competition; pair with a non-affine batch norm).
    Crb,
}

impl Weighting {
    /// Parses `"softmax"` or `"crb"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "softmax" => Ok(Self::Softmax),
            "crb" => Ok(Self::Crb),
            other => {
                Err(Error::Spec(format!("unknown weighting {other:?}; expected \"softmax\" or \"crb\"")))
            }
        }
    }
}

/// `a = weighting(alpha)` for one edge.
pub fn activate(w: Weighting, alpha: &[f32], a: &mut [f32]) {
    match w {
        Weighting::Softmax => {
            let m = alpha.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let e: Vec<f64> = alpha.iter().map(|&v| f64::from(v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            a.iter_mut().zip(&e).for_each(|(o, &v)| *o = (v / s) as f32);
        }
        Weighting::Crb => a.iter_mut().zip(alpha).for_each(|(o, &v)| *o = v.clamp(0.0, 1.0)),
    }
}

/// Adds `Jᵀ·da` (the gradient with respect to `alpha` of a loss whose gradient with respect to
/// `a = weighting(alpha)` is `da`) to `dalpha`.
pub fn pull_back(w: Weighting, alpha: &[f32], a: &[f32], da: &[f64], dalpha: &mut [f32]) {
    match w {
        Weighting::Softmax => {
            let dot: f64 = a.iter().zip(da).map(|(&p, &d)| f64::from(p) * d).sum();
            for ((g, &p), &d) in dalpha.iter_mut().zip(a).zip(da) {
                *g += (f64::from(p) * (d - dot)) as f32;
            }
        }
        Weighting::Crb => {
            for ((g, &v), &d) in dalpha.iter_mut().zip(alpha).zip(da) {
                if v > 0.0 && v <= 1.0 {
                    *g += d as f32;
                }
            }
        }
    }
}

/// `out (+)= weight · x` (overwrites unless `accumulate`).
pub fn axpy(out: &mut [f32], weight: f32, x: &[f32], accumulate: bool) {
    if accumulate {
        out.iter_mut().zip(x).for_each(|(o, &v)| *o += weight * v);
    } else {
        out.iter_mut().zip(x).for_each(|(o, &v)| *o = weight * v);
    }
}

/// `Σ g·x` accumulated in f64 (eight interleaved partial sums, fixed order).
pub fn dot(g: &[f32], x: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let full = g.len() - g.len() % 8;
    for (a, b) in g[..full].chunks_exact(8).zip(x[..full].chunks_exact(8)) {
        for j in 0..8 {
            acc[j] += f64::from(a[j]) * f64::from(b[j]);
        }
    }
    let tail: f64 = g[full..].iter().zip(&x[full..]).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
    acc.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(w: Weighting, alpha: &[f32], c: &[f64]) -> f64 {
        let mut a = vec![0.0; alpha.len()];
        activate(w, alpha, &mut a);
        a.iter().zip(c).map(|(&p, &q)| f64::from(p) * q).sum()
    }

    #[test]
    fn pull_back_matches_finite_differences() {
        let alpha = [0.3f32, -0.2, 0.7, 0.05];
        let c = [1.0f64, -2.0, 0.5, 3.0];
        for w in [Weighting::Softmax, Weighting::Crb] {
            let mut a = vec![0.0; 4];
            activate(w, &alpha, &mut a);
            let mut g = vec![0.0f32; 4];
            pull_back(w, &alpha, &a, &c, &mut g);
            for k in 0..4 {
                let (mut hi, mut lo) = (alpha, alpha);
                hi[k] += 1e-3;
                lo[k] -= 1e-3;
                let fd = (loss(w, &hi, &c) - loss(w, &lo, &c)) / 2e-3;
                assert!((fd - f64::from(g[k])).abs() < 1e-3, "{w:?} {k}: {fd} vs {}", g[k]);
            }
        }
    }

    #[test]
    fn softmax_sums_to_one_and_crb_clips() {
        let mut a = vec![0.0; 3];
        activate(Weighting::Softmax, &[1.0, 2.0, 3.0], &mut a);
        assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        activate(Weighting::Crb, &[-1.0, 0.5, 2.0], &mut a);
        assert_eq!(a, vec![0.0, 0.5, 1.0]);
        assert!(Weighting::parse("tanh").is_err());
    }
}
