//! Per-unit statistics of `samples × units` activations for unit-importance and pruning rules,
//! and DYNO's greedy cosine-redundancy order (thesis ch. 7 §5.3). Inputs are row-major `f64`
//! (`f32` data convert exactly); all sums are `f64`.

use faer::linalg::matmul::matmul;
use faer::mat::Mat;
use faer::Accum;

use super::spectrum::par;
use crate::error::{Error, Result};
use crate::linalg::check_matrix64;

/// Statistics of each column (unit) of a `samples × units` matrix, one value per unit.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitStatistics {
    /// Mean.
    pub mean: Vec<f64>,
    /// Population standard deviation (divisor `samples`, as `numpy.std`), two-pass.
    pub std: Vec<f64>,
    /// Largest magnitude.
    pub max_abs: Vec<f64>,
    /// Mean magnitude.
    pub mean_abs: Vec<f64>,
    /// Fraction of samples that are exactly zero.
    pub zero_fraction: Vec<f64>,
}

/// Per-unit mean, standard deviation, max and mean `|·|` and fraction of exact zeros of the
/// row-major `samples × units` activations `h`.
///
/// Errors: [`Error::Data`] for empty or non-finite input, [`Error::Shape`] for a wrong length.
pub fn unit_statistics(h: &[f64], samples: usize, units: usize) -> Result<UnitStatistics> {
    check_matrix64(h, samples, units, "activations")?;
    let n = samples as f64;
    let (mut sum, mut abs_sum) = (vec![0.0; units], vec![0.0; units]);
    let (mut max_abs, mut zeros) = (vec![0.0f64; units], vec![0usize; units]);
    for row in h.chunks_exact(units) {
        for (u, &v) in row.iter().enumerate() {
            sum[u] += v;
            abs_sum[u] += v.abs();
            max_abs[u] = max_abs[u].max(v.abs());
            zeros[u] += usize::from(v == 0.0);
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    // Second pass about the mean: no cancellation for large offsets.
    let mut sq = vec![0.0; units];
    for row in h.chunks_exact(units) {
        for ((acc, &v), &m) in sq.iter_mut().zip(row).zip(&mean) {
            *acc += (v - m) * (v - m);
        }
    }
    Ok(UnitStatistics {
        mean,
        std: sq.iter().map(|s| (s / n).sqrt()).collect(),
        max_abs,
        mean_abs: abs_sum.iter().map(|s| s / n).collect(),
        zero_fraction: zeros.iter().map(|&z| z as f64 / n).collect(),
    })
}

/// Relative tolerance under which two redundancy scores count as tied (lower index wins), so
/// the order does not depend on the last bits of the sums.
pub const TIE_RTOL: f64 = 1e-10;

/// Cosine from which two units count as exact duplicates (rounding of identical columns).
pub const DUPLICATE_TOL: f64 = 1e-9;

/// DYNO's greedy cosine-redundancy order: the indices of `n_remove` units of the row-major
/// `samples × units` activations `h`, in removal order.
///
/// Units that are zero on every sample (dormant) go first, by index. Then, with `Â` the
/// remaining columns normalized to unit L2 norm and `C = ÂᵀÂ` their cosine similarities, exact
/// duplicates: in index order, a unit with `C ≥ 1 − DUPLICATE_TOL` to a lower-index unit still
/// present (a positive multiple of it, which its twin can carry). The thesis' greedy norm alone
/// does not guarantee that: with non-negative (ReLU) activations every cosine is large, and a
/// unit moderately similar to many others outscores an exact copy. Then repeatedly remove the
/// unit whose row of `C` restricted to the units still present (diagonal included) has the
/// largest L2 norm; scores within [`TIE_RTOL`] (relative) of the largest
/// count as ties, won by the lower index. Row norms are updated by subtracting the removed
/// unit's column, `O(units²)` in all after the `O(samples·units²)` product.
///
/// Errors: [`Error::Data`] for empty or non-finite input, [`Error::Shape`] for a wrong length,
/// [`Error::Config`] when `n_remove > units`.
pub fn cosine_redundancy_order(
    h: &[f64],
    samples: usize,
    units: usize,
    n_remove: usize,
    threads: usize,
) -> Result<Vec<usize>> {
    check_matrix64(h, samples, units, "activations")?;
    if n_remove > units {
        return Err(Error::Config(format!("n_remove must be in [0, {units}], got {n_remove}")));
    }
    // The normalized copy (units × samples) and the cosine matrix (units × units), in f64.
    let words = (units as u64).saturating_mul((samples as u64).saturating_add(units as u64));
    let need = words.saturating_mul(8);
    crate::limits::ensure(need, &format!("the cosine similarities of {units} units over {samples} samples"))?;
    let mut norm2 = vec![0.0f64; units];
    for row in h.chunks_exact(units) {
        for (acc, &v) in norm2.iter_mut().zip(row) {
            *acc += v * v;
        }
    }
    let (dead, alive): (Vec<usize>, Vec<usize>) = (0..units).partition(|&u| norm2[u] == 0.0);
    let mut removed: Vec<usize> = dead.into_iter().take(n_remove).collect();
    if removed.len() == n_remove {
        return Ok(removed);
    }
    // Â as an alive × samples matrix (rows are normalized units), C = Â·Âᵀ.
    let inv: Vec<f64> = alive.iter().map(|&u| 1.0 / norm2[u].sqrt()).collect();
    let x = Mat::<f64>::from_fn(alive.len(), samples, |i, s| h[s * units + alive[i]] * inv[i]);
    let mut c = Mat::<f64>::zeros(alive.len(), alive.len());
    matmul(c.as_mut(), Accum::Replace, x.as_ref(), x.transpose(), 1.0, par(threads));
    let mut score: Vec<f64> = (0..alive.len()).map(|i| c.row(i).iter().map(|v| v * v).sum()).collect();
    let mut kept = vec![true; alive.len()];
    for j in 1..alive.len() {
        if removed.len() == n_remove {
            return Ok(removed);
        }
        if (0..j).any(|i| kept[i] && c[(i, j)] >= 1.0 - DUPLICATE_TOL) {
            kept[j] = false;
            removed.push(alive[j]);
        }
    }
    let mut left: Vec<usize> = (0..alive.len()).filter(|&i| kept[i]).collect();
    for i in 0..alive.len() {
        for j in (0..alive.len()).filter(|&j| !kept[j]) {
            score[i] -= c[(i, j)] * c[(i, j)];
        }
    }
    while removed.len() < n_remove {
        let top = left.iter().map(|&i| score[i]).fold(f64::NEG_INFINITY, f64::max);
        let pos = left.iter().position(|&i| score[i] >= top - TIE_RTOL * top.abs()).unwrap_or(0);
        let p = left.remove(pos);
        removed.push(alive[p]);
        for &i in &left {
            score[i] -= c[(i, p)] * c[(i, p)];
        }
    }
    Ok(removed)
}
