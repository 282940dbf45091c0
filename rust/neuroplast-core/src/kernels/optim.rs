//! Optimizer update rules (PyTorch semantics), vectorized per parameter tensor.

use super::simd::simd_dispatch;
use crate::error::{ensure_config, Result};

/// An optimizer and its hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// SGD with optional (Nesterov) momentum and L2 weight decay added to the gradient.
    Sgd { lr: f32, momentum: f32, nesterov: bool, weight_decay: f32 },
    /// Adam; `decoupled` selects AdamW (weight decay applied to the weights, not the gradient).
    Adam { lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, decoupled: bool },
}

impl Optimizer {
    /// Number of state buffers per parameter (momentum; or first and second moments).
    pub fn n_slots(&self) -> usize {
        match self {
            Self::Sgd { momentum, .. } => usize::from(*momentum != 0.0),
            Self::Adam { .. } => 2,
        }
    }

    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<()> {
        let ok = |v: f32| v.is_finite() && v >= 0.0;
        match *self {
            Self::Sgd { lr, momentum, nesterov, weight_decay } => {
                ensure_config(ok(lr) && lr > 0.0, || format!("lr must be > 0, got {lr}"))?;
                ensure_config(ok(momentum) && momentum < 1.0, || {
                    format!("momentum must be in [0, 1), got {momentum}")
                })?;
                ensure_config(ok(weight_decay), || format!("weight_decay must be >= 0, got {weight_decay}"))?;
                ensure_config(!nesterov || momentum > 0.0, || "nesterov requires momentum > 0".into())
            }
            Self::Adam { lr, beta1, beta2, eps, weight_decay, .. } => {
                ensure_config(ok(lr) && lr > 0.0, || format!("lr must be > 0, got {lr}"))?;
                ensure_config(ok(beta1) && beta1 < 1.0, || format!("beta1 must be in [0, 1), got {beta1}"))?;
                ensure_config(ok(beta2) && beta2 < 1.0, || format!("beta2 must be in [0, 1), got {beta2}"))?;
                ensure_config(ok(eps) && eps > 0.0, || format!("eps must be > 0, got {eps}"))?;
                ensure_config(ok(weight_decay), || format!("weight_decay must be >= 0, got {weight_decay}"))
            }
        }
    }
}

simd_dispatch! {
    fn sgd_kernel(w: &mut [f32], g: &[f32], buf: Option<&mut [f32]>, lr: f32, momentum: f32, nesterov: bool, wd: f32) {
        match buf {
            None => w.iter_mut().zip(g).for_each(|(w, &g)| *w -= lr * (g + wd * *w)),
            Some(b) => {
                for ((w, &g), b) in w.iter_mut().zip(g).zip(b.iter_mut()) {
                    let d = g + wd * *w;
                    *b = momentum * *b + d;
                    let step = if nesterov { d + momentum * *b } else { *b };
                    *w -= lr * step;
                }
            }
        }
    }
}

simd_dispatch! {
    fn adam_kernel(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr_t: f32, b1: f32, b2: f32, eps_t: f32, l2: f32, decay: f32) {
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let d = g + l2 * *w;
            *m = b1 * *m + (1.0 - b1) * d;
            *v = b2 * *v + (1.0 - b2) * d * d;
            *w = *w * decay - lr_t * *m / (v.sqrt() + eps_t);
        }
    }
}

/// Applies one update to `w` given gradient `g`, state `slots` (same length as `w`) and the
/// 1-based `step`. Elementwise, so any split of a tensor into pieces gives identical results.
pub fn step(opt: &Optimizer, w: &mut [f32], g: &[f32], slots: &mut [&mut [f32]], step: u64) {
    match *opt {
        Optimizer::Sgd { lr, momentum, nesterov, weight_decay } => {
            let buf = slots.first_mut().map(|b| &mut **b);
            sgd_kernel(w, g, buf, lr, momentum, nesterov, weight_decay);
        }
        Optimizer::Adam { lr, beta1, beta2, eps, weight_decay, decoupled } => {
            // Bias correction folded into the step size and epsilon:
            // lr·m̂/(√v̂+ε) = (lr·√c2/c1)·m/(√v + ε·√c2).
            let t = step.min(i32::MAX as u64) as i32;
            let c1 = 1.0 - f64::from(beta1).powi(t);
            let c2 = (1.0 - f64::from(beta2).powi(t)).sqrt();
            let lr_t = (f64::from(lr) * c2 / c1) as f32;
            let eps_t = (f64::from(eps) * c2) as f32;
            let (l2, decay) = if decoupled { (0.0, 1.0 - lr * weight_decay) } else { (weight_decay, 1.0) };
            if let [m, v] = slots {
                adam_kernel(w, g, m, v, lr_t, beta1, beta2, eps_t, l2, decay);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_matches_textbook_formula() {
        let opt = Optimizer::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            decoupled: true,
        };
        let mut w = vec![1.0f32, -2.0];
        let g = [0.5f32, -0.25];
        let (mut m0, mut v0) = (vec![0.0; 2], vec![0.0; 2]);
        let (mut wr, mut m, mut v) = ([1.0f64, -2.0], [0.0f64; 2], [0.0f64; 2]);
        for t in 1..=3u64 {
            step(&opt, &mut w, &g, &mut [&mut m0[..], &mut v0[..]], t);
            for i in 0..2 {
                let gi = f64::from(g[i]);
                wr[i] *= 1.0 - 0.1 * 0.01;
                m[i] = 0.9 * m[i] + 0.1 * gi;
                v[i] = 0.999 * v[i] + 0.001 * gi * gi;
                let mh = m[i] / (1.0 - 0.9f64.powi(t as i32));
                let vh = v[i] / (1.0 - 0.999f64.powi(t as i32));
                wr[i] -= 0.1 * mh / (vh.sqrt() + 1e-8);
            }
        }
        for i in 0..2 {
            assert!((f64::from(w[i]) - wr[i]).abs() < 1e-5, "{} vs {}", w[i], wr[i]);
        }
    }

    #[test]
    fn sgd_nesterov_matches_pytorch_rule() {
        let opt = Optimizer::Sgd { lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.0 };
        let mut w = vec![1.0f32];
        let mut buf = [0.0];
        step(&opt, &mut w, &[1.0], &mut [&mut buf[..]], 1);
        // buf = 1, step = 1 + 0.9·1 = 1.9.
        assert!((w[0] - (1.0 - 0.19)).abs() < 1e-7);
        assert!(Optimizer::Sgd { lr: 0.1, momentum: 0.0, nesterov: true, weight_decay: 0.0 }
            .validate()
            .is_err());
        assert!(Optimizer::Adam {
            lr: -1.0,
            beta1: 0.9,
            beta2: 0.9,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false
        }
        .validate()
        .is_err());
    }
}
