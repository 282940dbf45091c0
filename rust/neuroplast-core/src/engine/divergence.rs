//! The divergence rule of `fit`: training stops with [`Error::Numerical`] (and the caller keeps
//! the network it had) as soon as
//!
//! 1. a minibatch loss is not finite, or a parameter is not finite after an epoch; or
//! 2. the mean training loss over the last `W = min(WINDOW, batches per epoch)` minibatches
//!    exceeds [`GROWTH_FACTOR`] times the *reference* loss
//!    `max(L₀, L_trivial, LOSS_FLOOR)`, where `L₀` is the loss of the call's first minibatch
//!    (before any update) and `L_trivial` the loss of a constant predictor on the training
//!    data: `ln C` for `C`-class cross-entropy (the uniform prediction), `((1 − α) + α·T²)·ln C`
//!    with distillation (an upper bound of the uniform prediction's loss), and the targets'
//!    variance averaged over the outputs for the mean squared error (the mean prediction).
//!
//! Part 2 catches runs that stay finite but are useless (a learning rate of `1e6` gives losses
//! of `1e6..1e13` at chance accuracy); a loss a hundred times that of a constant predictor is
//! never a stage of a healthy run, and the window keeps single hard minibatches from tripping it.

use std::collections::VecDeque;

use crate::error::{Error, Result};
use crate::kernels::loss::Targets;

/// Growth of the windowed training loss over the reference loss that counts as divergence.
pub const GROWTH_FACTOR: f64 = 100.0;

/// Most minibatches in the window.
pub const WINDOW: usize = 16;

/// Smallest reference loss (guards a network and data whose losses are both exactly zero).
pub const LOSS_FLOOR: f64 = 1e-6;

/// Loss of the best constant predictor (or an upper bound of the uniform one) on `targets`.
pub fn trivial_loss(targets: Targets<'_>, n: usize, n_out: usize) -> f64 {
    let classes = (n_out.max(1) as f64).ln();
    match targets {
        Targets::Classes(_) => classes,
        Targets::Distill(d) => {
            let (a, t) = (f64::from(d.alpha), f64::from(d.temperature));
            ((1.0 - a) + a * t * t) * classes
        }
        Targets::Values(v) => {
            let (mut mean, mut sq) = (vec![0.0f64; n_out], vec![0.0f64; n_out]);
            for row in v.chunks_exact(n_out.max(1)).take(n) {
                row.iter().zip(&mut mean).for_each(|(&x, m)| *m += f64::from(x));
            }
            mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
            for row in v.chunks_exact(n_out.max(1)).take(n) {
                for ((&x, m), s) in row.iter().zip(&mean).zip(&mut sq) {
                    *s += (f64::from(x) - m).powi(2);
                }
            }
            sq.iter().sum::<f64>() / (n.max(1) * n_out.max(1)) as f64
        }
    }
}

/// Watches the minibatch losses of one `fit` call.
pub(crate) struct Watch {
    trivial: f64,
    reference: Option<f64>,
    window: VecDeque<(f64, usize)>,
    capacity: usize,
}

impl Watch {
    /// A watch for `batches` minibatches per epoch and the constant predictor's loss `trivial`.
    pub(crate) fn new(trivial: f64, batches: usize) -> Self {
        let capacity = WINDOW.min(batches.max(1));
        Self { trivial, reference: None, window: VecDeque::with_capacity(capacity), capacity }
    }

    /// Sees one minibatch's summed loss over `rows` samples (computed before its update).
    pub(crate) fn observe(&mut self, loss_sum: f64, rows: usize, epoch: u64, step: u64) -> Result<()> {
        if !loss_sum.is_finite() {
            return Err(diverged(format!("the loss became {loss_sum} in epoch {epoch} at update {step}")));
        }
        let reference = *self.reference.get_or_insert_with(|| {
            let first = loss_sum / rows.max(1) as f64;
            first.max(self.trivial).max(LOSS_FLOOR)
        });
        if self.window.len() == self.capacity {
            self.window.pop_front();
        }
        self.window.push_back((loss_sum, rows));
        if self.window.len() < self.capacity {
            return Ok(());
        }
        let (sum, count) = self.window.iter().fold((0.0, 0usize), |(s, c), &(l, r)| (s + l, c + r));
        let mean = sum / count.max(1) as f64;
        if mean > GROWTH_FACTOR * reference {
            return Err(diverged(format!(
                "the mean loss of the last {} minibatches ({mean:.4e}, epoch {epoch}, update {step}) \
                 exceeds {GROWTH_FACTOR}× the reference loss {reference:.4e} (the larger of the \
                 first minibatch's loss and a constant predictor's)",
                self.window.len()
            )));
        }
        Ok(())
    }
}

/// The divergence error with `what` happened.
pub(crate) fn diverged(what: String) -> Error {
    Error::Numerical(format!(
        "training diverged: {what}; lower the learning rate or check the data scale \
         (the network is unchanged)"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn growth_over_a_window_is_divergence_and_noise_is_not() {
        let mut w = Watch::new(2.3, 4);
        // A hard minibatch alone does not trip the rule; the window mean does.
        for l in [2.3, 2.0, 300.0, 1.5, 1.0, 0.9] {
            w.observe(l * 8.0, 8, 0, 0).unwrap();
        }
        let mut w = Watch::new(2.3, 4);
        let losses = [2.3, 1e6, 1e6, 1e6];
        let r: Result<Vec<()>> = losses.iter().map(|l| w.observe(l * 8.0, 8, 0, 1)).collect();
        assert!(matches!(r, Err(Error::Numerical(_))));
        assert!(Watch::new(1.0, 4).observe(f64::NAN, 8, 0, 0).is_err());
    }

    #[test]
    fn trivial_losses() {
        assert!((trivial_loss(Targets::Classes(&[0, 1]), 2, 10) - 10f64.ln()).abs() < 1e-12);
        let t = [1.0f32, 0.0, 3.0, 0.0];
        assert!((trivial_loss(Targets::Values(&t), 2, 2) - 0.5).abs() < 1e-12);
    }
}
