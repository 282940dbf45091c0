//! Spectral metrics of activations and weights (thesis 003, Sec. 6.2.1; seed 001, eq. 13).
//!
//! Layout convention: activations are row-major `samples × units` (the transpose of the
//! thesis' `H_l ∈ R^{M_l × n}`, which has the same singular values); weights are row-major
//! `units × fan_in` (the thesis' `W_l`). Convolutional activations are flattened by the
//! caller as in thesis Sec. 6.2.3: for the effective dimension, channels are the units and
//! every (sample, row, column) position is a sample (`(N·H·W) × C`); for the orthogonality
//! gap, each sample is one row of `C·H·W` features (`N × (C·H·W)`).
//!
//! - [`effective_dimension_activations`]: eq. 27,
//!   `φ_ED = |{σ ∈ SVD(H/√n) : σ > ε}| / M` with `n` the number of samples.
//! - [`effective_dimension_weights`]: eq. 30 as corrected in the digest's errata: the bias is
//!   appended as a column and the scale is `1/√(M_{l-1}+1)` (number of columns), not `1/√n`.
//! - [`orthogonality_gap`]: eq. 29 with the identity term restored,
//!   `gap = ‖HᵀH/‖H‖_F² − I_n/n‖_F` (Gram over samples) and `φ_OG = 1 − gap`, from the Gram
//!   matrix's trace and Frobenius norm.
//! - [`removable_units`]: seed 001 eq. 13, `|{σ_i : σ_i < ε₁·σ₁ ∨ σ_i < ε₂}|`.
//! - [`auxiliary_gradient`]: GradMax's `grad_nextᵀ·h_prev` (thesis eq. 32), its singular values
//!   and top-`k` left singular vectors.
//! - [`unit_statistics`], [`cosine_redundancy_order`]: per-unit statistics and DYNO's greedy
//!   cosine-redundancy order for unit-importance and pruning rules.
//!
//! The effective dimension and the numerical rank only count singular values above a
//! threshold; [`count_above`] reads that count off the inertia of the shifted Gram matrix
//! instead of computing a spectrum.

mod gradmax;
mod spectrum;
mod units;

#[cfg(test)]
mod tests;

pub use gradmax::{auxiliary_gradient, auxiliary_gradient_matrix, AuxiliaryGradient};
pub use spectrum::{check_matrix, count_above, singular_values, singular_values_f64, GRAM_RATIO};
pub use units::{cosine_redundancy_order, unit_statistics, UnitStatistics, TIE_RTOL};

use crate::error::{ensure_config, Error, Result};
use spectrum::count_checked;

fn check_eps(eps: f64, name: &str) -> Result<()> {
    ensure_config(eps.is_finite() && eps >= 0.0, || format!("{name} must be finite and >= 0, got {eps}"))
}

/// ε-numerical rank: the number of singular values strictly greater than `eps`.
pub fn rank_above(sv: &[f64], eps: f64) -> Result<usize> {
    check_eps(eps, "eps")?;
    Ok(sv.iter().filter(|&&s| s > eps).count())
}

/// ε-numerical rank of the row-major `rows × cols` matrix `a`.
pub fn numerical_rank(a: &[f32], rows: usize, cols: usize, eps: f64, threads: usize) -> Result<usize> {
    check_eps(eps, "eps")?;
    count_above(a, rows, cols, eps, threads)
}

/// Thesis eq. 27: effective dimension of `samples × units` activations `h`,
/// `|{σ(H/√samples) > eps}| / units`. Needs `samples >= units` (else [`Error::Data`]).
pub fn effective_dimension_activations(
    h: &[f32],
    samples: usize,
    units: usize,
    eps: f64,
    threads: usize,
) -> Result<f64> {
    check_eps(eps, "eps")?;
    spectrum::check_spectral(h, samples, units, threads, "activations")?;
    if samples < units {
        return Err(Error::Data(format!(
            "the effective dimension needs at least as many samples as units, got {samples} samples for {units} units"
        )));
    }
    let t = eps * (samples as f64).sqrt();
    Ok(count_checked(h, samples, units, t, threads)? as f64 / units as f64)
}

/// Thesis eq. 30 (errata applied): effective dimension of a `units × fan_in` weight matrix `w`
/// with optional `bias` (length `units`, appended as a column):
/// `|{σ([W | b]/√cols) > eps}| / units`, `cols = fan_in (+ 1 with a bias)`.
pub fn effective_dimension_weights(
    w: &[f32],
    units: usize,
    fan_in: usize,
    bias: Option<&[f32]>,
    eps: f64,
    threads: usize,
) -> Result<f64> {
    check_eps(eps, "eps")?;
    check_matrix(w, units, fan_in, "weights")?;
    crate::limits::ensure(crate::limits::bytes_of(units, 4 * (fan_in + 1)), "a copy of the weights")?;
    let (m, cols) = match bias {
        None => (w.to_vec(), fan_in),
        Some(b) => {
            check_matrix(b, units, 1, "bias")?;
            let mut m = Vec::with_capacity(units * (fan_in + 1));
            for (row, &bi) in w.chunks_exact(fan_in).zip(b) {
                m.extend_from_slice(row);
                m.push(bi);
            }
            (m, fan_in + 1)
        }
    };
    let t = eps * (cols as f64).sqrt();
    Ok(count_above(&m, units, cols, t, threads)? as f64 / units as f64)
}

/// Thesis eq. 29 with the identity term restored: `‖HᵀH/‖H‖_F² − I_n/n‖_F` for `samples ×
/// features` activations (rows are samples), computed as `sqrt(Σσ⁴/(Σσ²)² − 1/n)` (clamped at
/// 0) with `Σσ² = trace(G)` and `Σσ⁴ = ‖G‖_F²` for the `f64` Gram matrix `G` of the short side
/// (no spectrum needed). `φ_OG = 1 − gap`. A zero matrix is [`Error::Data`].
pub fn orthogonality_gap(h: &[f32], samples: usize, features: usize, threads: usize) -> Result<f64> {
    spectrum::check_spectral(h, samples, features, threads, "activations")?;
    let g = spectrum::gram(h, samples, features, threads);
    let n = g.nrows();
    let s2: f64 = (0..n).map(|i| g[(i, i)]).sum();
    if s2 <= 0.0 {
        return Err(Error::Data("the orthogonality gap of an all-zero matrix is undefined".into()));
    }
    // Lower triangle only: off-diagonal entries count twice.
    let s4: f64 = (0..n)
        .map(|j| {
            let d = g[(j, j)] / s2;
            d * d + 2.0 * (j + 1..n).map(|i| (g[(i, j)] / s2).powi(2)).sum::<f64>()
        })
        .sum();
    Ok((s4 - 1.0 / samples as f64).max(0.0).sqrt())
}

/// Seed 001 eq. 13: the number of singular values with `σ_i < eps_rel·σ_1` or `σ_i < eps_abs`
/// (`sv` in any order; `σ_1` is its maximum).
pub fn removable_units(sv: &[f64], eps_abs: f64, eps_rel: f64) -> Result<usize> {
    check_eps(eps_abs, "eps_abs")?;
    check_eps(eps_rel, "eps_rel")?;
    if sv.is_empty() {
        return Err(Error::Data("no singular values given".into()));
    }
    if sv.iter().any(|s| !s.is_finite() || *s < 0.0) {
        return Err(Error::Data("singular values must be finite and >= 0".into()));
    }
    let s1 = sv.iter().fold(0.0f64, |a, &b| a.max(b));
    Ok(sv.iter().filter(|&&s| s < eps_rel * s1 || s < eps_abs).count())
}
