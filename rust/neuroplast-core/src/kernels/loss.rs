//! Loss functions on a batch of network outputs: value, gradient and correct-count.

use super::simd::{exp_f32, simd_dispatch};
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
    /// Class indices plus a teacher's logits (knowledge distillation, cross-entropy only).
    Distill(SoftTargets<'a>),
}

/// Hard labels and a teacher's logits for the soft-target loss of Hinton et al. (2015):
///
/// `(1 − α)·CE(y, softmax(z)) + α·T²·KL(softmax(t/T) ‖ softmax(z/T))`
///
/// per sample, for student logits `z` and teacher logits `t`. Its gradient with respect to
/// `z` is `(1 − α)(softmax(z) − onehot(y)) + α·T·(softmax(z/T) − softmax(t/T))`; the `T²`
/// keeps the soft term's gradient on the scale of the hard one as `T` grows.
#[derive(Clone, Copy, Debug)]
pub struct SoftTargets<'a> {
    /// Class indices in `0..n_classes`.
    pub labels: &'a [i64],
    /// Row-major `n × n_classes` teacher logits, row `i` for sample `i`.
    pub teacher: &'a [f32],
    /// Softening temperature `T > 0`.
    pub temperature: f32,
    /// Weight `α ∈ [0, 1]` of the soft term.
    pub alpha: f32,
}

impl SoftTargets<'_> {
    /// Checks the temperature and the weight (the data are checked with the other targets).
    pub fn validate_settings(&self) -> Result<()> {
        let (t, a) = (self.temperature, self.alpha);
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::Config(format!("temperature must be a finite number > 0, got {t}")));
        }
        if !(0.0..=1.0).contains(&a) {
            return Err(Error::Config(format!("alpha must be in [0, 1], got {a}")));
        }
        Ok(())
    }
}

/// Sum of losses and number of correct predictions over a batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchLoss {
    pub loss_sum: f64,
    pub correct: usize,
}

simd_dispatch! {
    /// Computes the batch loss for outputs `out` (`rows × width`) of samples `idx`.
    ///
    /// When `grad` is given it receives dL/d`out` for the loss averaged over `scale_rows` rows
    /// (the batch size), so gradients do not depend on how a batch is split.
    ///
    /// Compiled for the widest SIMD level the CPU has (the row helpers are inlined into it); the
    /// operations and their order do not depend on the level, so neither do the results.
    pub fn batch_loss(
        loss: Loss,
        out: &[f32],
        width: usize,
        targets: Targets<'_>,
        idx: &[usize],
        scale_rows: usize,
        grad: Option<&mut [f32]>,
    ) -> BatchLoss {
        let mut grad = grad;
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
                (Loss::CrossEntropy, Targets::Distill(d)) => {
                    let label = d.labels[s] as usize;
                    let teacher = &d.teacher[s * width..(s + 1) * width];
                    let (l, argmax) = distill_row(row, label, teacher, &d, g, inv);
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
                (Loss::Mse, Targets::Classes(_) | Targets::Distill(_)) => {}
            }
        }
        res
    }
}

/// Softmax cross-entropy of one row: returns (loss, argmax) and writes `(p − onehot)·scale`.
///
/// Exponentials use the polynomial [`exp_f32`] (no libm call per element); the row sum and the
/// log are taken in f64 so the reported loss keeps full precision.
#[inline(always)]
fn softmax_xent_row(row: &[f32], label: usize, grad: Option<&mut [f32]>, scale: f32) -> (f64, usize) {
    let (mx, argmax) = max_argmax(row);
    let Some(g) = grad else {
        let sum: f64 = row.iter().map(|&v| f64::from(exp_f32(v - mx))).sum();
        return (sum.ln() - f64::from(row[label] - mx), argmax);
    };
    // Each exponential once: kept in `g`, then scaled there (same values, same sum order).
    for (gv, &v) in g.iter_mut().zip(row) {
        *gv = exp_f32(v - mx); // a loop of its own, so that it vectorizes
    }
    let sum: f64 = g.iter().map(|&e| f64::from(e)).sum();
    let inv = (1.0 / sum) as f32;
    for (j, gv) in g.iter_mut().enumerate() {
        *gv = (*gv * inv - f32::from(u8::from(j == label))) * scale;
    }
    (sum.ln() - f64::from(row[label] - mx), argmax)
}

/// The largest value of `row` and the index of its first occurrence (NaN entries are
/// skipped; an all-NaN row gives `(−∞, 0)`). Branch-free maximum, then a search for it: the
/// running `if v > max` form mispredicts on every new maximum.
#[inline(always)]
fn max_argmax(row: &[f32]) -> (f32, usize) {
    let mx = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    (mx, row.iter().position(|&v| v == mx).unwrap_or(0))
}

/// Soft-target loss of one row (see [`SoftTargets`]): returns (loss, argmax) and writes the
/// gradient times `scale`, fused: one pass for the three partition sums (hard softmax,
/// softened student, softened teacher), one for the KL term and the gradient together.
///
/// The gradient is `c_h·(p − onehot) + c_s·(q_s − q_t)` with `c_h = (1 − α)·scale`, so for
/// `α = 0` it is bitwise the plain cross-entropy gradient of [`softmax_xent_row`].
#[inline(always)]
fn distill_row(
    row: &[f32],
    label: usize,
    teacher: &[f32],
    soft: &SoftTargets<'_>,
    grad: Option<&mut [f32]>,
    scale: f32,
) -> (f64, usize) {
    let (mx, argmax) = max_argmax(row);
    let (tmx, _) = max_argmax(teacher);
    let t = soft.temperature;
    let (mut s_hard, mut s_soft, mut s_teach) = (0.0f64, 0.0f64, 0.0f64);
    for (&v, &tv) in row.iter().zip(teacher) {
        s_hard += f64::from(exp_f32(v - mx));
        s_soft += f64::from(exp_f32((v - mx) / t));
        s_teach += f64::from(exp_f32((tv - tmx) / t));
    }
    let ce = s_hard.ln() - f64::from(row[label] - mx);
    // KL(q_t ‖ q_s) = Σ q_t·(log q_t − log q_s) with log q = (v − max)/T − ln S, in f64.
    let (t64, ln_soft, ln_teach) = (f64::from(t), s_soft.ln(), s_teach.ln());
    let (inv_h, inv_s, inv_t) = ((1.0 / s_hard) as f32, (1.0 / s_soft) as f32, (1.0 / s_teach) as f32);
    let c_hard = (1.0 - soft.alpha) * scale;
    let c_soft = soft.alpha * t * scale;
    let mut grad = grad;
    let mut kl = 0.0f64;
    for (j, (&v, &tv)) in row.iter().zip(teacher).enumerate() {
        let e_t = exp_f32((tv - tmx) / t);
        let log_qt = f64::from(tv - tmx) / t64 - ln_teach;
        let log_qs = f64::from(v - mx) / t64 - ln_soft;
        kl += f64::from(e_t) / s_teach * (log_qt - log_qs);
        if let Some(g) = grad.as_deref_mut() {
            let p = exp_f32(v - mx) * inv_h;
            let (q_s, q_t) = (exp_f32((v - mx) / t) * inv_s, e_t * inv_t);
            g[j] = c_hard * (p - f32::from(u8::from(j == label))) + c_soft * (q_s - q_t);
        }
    }
    let alpha = f64::from(soft.alpha);
    let loss = (1.0 - alpha) * ce + alpha * t64 * t64 * kl;
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

    fn soft<'a>(labels: &'a [i64], teacher: &'a [f32], temperature: f32, alpha: f32) -> Targets<'a> {
        Targets::Distill(SoftTargets { labels, teacher, temperature, alpha })
    }

    /// The soft-target loss of one row straight from its definition, in f64.
    fn distill_reference(z: &[f32], t: &[f32], label: usize, temp: f64, alpha: f64) -> f64 {
        let log_softmax = |v: &[f32], temp: f64| -> Vec<f64> {
            let s: Vec<f64> = v.iter().map(|&x| f64::from(x) / temp).collect();
            let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = mx + s.iter().map(|x| (x - mx).exp()).sum::<f64>().ln();
            s.iter().map(|x| x - lse).collect()
        };
        let ce = -log_softmax(z, 1.0)[label];
        let (lq_t, lq_s) = (log_softmax(t, temp), log_softmax(z, temp));
        let kl: f64 = lq_t.iter().zip(&lq_s).map(|(a, b)| a.exp() * (a - b)).sum();
        (1.0 - alpha) * ce + alpha * temp * temp * kl
    }

    #[test]
    fn distillation_value_and_gradient_match_the_definition() {
        let out = vec![0.3f32, -1.2, 2.0, 0.5, 0.1, 0.0, -0.7, 1.5, 0.2];
        let teacher = vec![1.0f32, -0.5, 3.0, -2.0, 0.4, 0.9, 0.0, 2.5, -1.0];
        let y = [2i64, 0, 1];
        let idx = [0usize, 2, 1];
        for &(temp, alpha) in &[(4.0f32, 0.5f32), (1.0, 1.0), (2.5, 0.3), (0.5, 0.9)] {
            let targets = soft(&y, &teacher, temp, alpha);
            let mut g = vec![0.0; 9];
            let r = batch_loss(Loss::CrossEntropy, &out, 3, targets, &idx, 3, Some(&mut g));
            let want: f64 = idx
                .iter()
                .enumerate()
                .map(|(r, &s)| {
                    let (z, t) = (&out[r * 3..r * 3 + 3], &teacher[s * 3..s * 3 + 3]);
                    distill_reference(z, t, y[s] as usize, f64::from(temp), f64::from(alpha))
                })
                .sum();
            assert!((r.loss_sum - want).abs() < 1e-5 * want.abs().max(1.0), "{} vs {want}", r.loss_sum);
            for k in 0..9 {
                let h = 1e-2f32;
                let mut o = out.clone();
                o[k] += h;
                let lp = batch_loss(Loss::CrossEntropy, &o, 3, targets, &idx, 3, None).loss_sum;
                o[k] -= 2.0 * h;
                let lm = batch_loss(Loss::CrossEntropy, &o, 3, targets, &idx, 3, None).loss_sum;
                let fd = (lp - lm) / (2.0 * f64::from(h)) / 3.0;
                assert!((fd - f64::from(g[k])).abs() < 2e-4, "T={temp} a={alpha} {k}: {fd} vs {}", g[k]);
            }
        }
    }

    #[test]
    fn distillation_with_alpha_zero_is_cross_entropy_bitwise() {
        let out = vec![0.3f32, -1.2, 2.0, 0.5, 0.1, 0.0];
        let teacher = vec![9.0f32, -5.0, 3.0, 0.0, 40.0, -7.0];
        let y = [1i64, 2];
        let (mut g_ce, mut g_kd) = (vec![0.0; 6], vec![0.0; 6]);
        let ce = batch_loss(Loss::CrossEntropy, &out, 3, Targets::Classes(&y), &[1, 0], 2, Some(&mut g_ce));
        let kd = batch_loss(
            Loss::CrossEntropy,
            &out,
            3,
            soft(&y, &teacher, 3.0, 0.0),
            &[1, 0],
            2,
            Some(&mut g_kd),
        );
        assert_eq!(ce.loss_sum.to_bits(), kd.loss_sum.to_bits());
        assert_eq!(ce.correct, kd.correct);
        assert_eq!(
            g_ce.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            g_kd.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn distillation_settings_are_checked() {
        let ok = |t: f32, a: f32| {
            SoftTargets { labels: &[], teacher: &[], temperature: t, alpha: a }.validate_settings()
        };
        assert!(ok(4.0, 0.5).is_ok() && ok(1e-3, 0.0).is_ok() && ok(20.0, 1.0).is_ok());
        for (t, a) in [
            (0.0, 0.5),
            (-1.0, 0.5),
            (f32::NAN, 0.5),
            (f32::INFINITY, 0.5),
            (2.0, -0.1),
            (2.0, 1.5),
            (2.0, f32::NAN),
        ] {
            assert!(matches!(ok(t, a), Err(Error::Config(_))), "T={t} alpha={a}");
        }
    }
}
