//! Batch normalization over the batch and spatial axes of NCHW blocks (PyTorch semantics):
//! training normalizes with the batch's biased variance and feeds running statistics with the
//! unbiased one; evaluation uses the running statistics.
//!
//! A dense layer's normalization is the same computation with `spatial = 1`.
//!
//! Statistics and parameter gradients are computed per channel (channels split over the
//! current pool, each channel summed over samples in order), normalization and the input
//! gradient per sample range (see [`super::par`]); results do not depend on the split.

use super::par;

/// Layout of the normalized tensor: `channels` statistics, each over `spatial` values per sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BnShape {
    pub channels: usize,
    pub spatial: usize,
}

impl BnShape {
    fn sample(&self) -> usize {
        self.channels * self.spatial
    }

    /// The plane of channel `c` in sample `n` of `x`.
    fn plane<'a>(&self, x: &'a [f32], n: usize, c: usize) -> &'a [f32] {
        let at = n * self.sample() + c * self.spatial;
        &x[at..at + self.spatial]
    }

    /// Calls `f(channel, a_plane, b_plane, out)` for every channel plane of every sample of
    /// `a` and `b` (same layout), with `out` the matching plane of `y`, on sample ranges over
    /// the current pool.
    fn map_planes(
        &self,
        (a, b): (&[f32], &[f32]),
        rows: usize,
        y: &mut [f32],
        f: impl Fn(usize, &[f32], &[f32], &mut [f32]) + Sync + Send,
    ) {
        let (s, sp, c) = (self.sample(), self.spatial, self.channels);
        par::run(par::rows_mut(rows, y, s), |((i, j), ys)| {
            let (a, b) = (&a[i * s..j * s], &b[i * s..j * s]);
            let planes = a.chunks_exact(sp).zip(b.chunks_exact(sp));
            for (i, ((pa, pb), out)) in planes.zip(ys.chunks_exact_mut(sp)).enumerate() {
                f(i % c, pa, pb, out);
            }
        });
    }
}

/// `[f(c) for every channel c]`, channels split over the current pool.
fn per_channel<T: Send>(channels: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    par::map_concat(&par::ranges(channels, par::width()), |(a, b)| (a..b).map(&f).collect())
}

/// Normalizes with batch statistics; writes each channel's batch `mean` and biased `var`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train(
    shape: BnShape,
    x: &[f32],
    rows: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    y: &mut [f32],
    mean: &mut [f32],
    var: &mut [f32],
) {
    let count = (rows * shape.spatial) as f64;
    // f64 sums keep large batches of large images accurate; two passes avoid cancellation.
    let stats = per_channel(shape.channels, |c| {
        let planes = || (0..rows).map(|n| shape.plane(x, n, c));
        let mu = planes().map(|p| p.iter().map(|&v| f64::from(v)).sum::<f64>()).sum::<f64>() / count;
        let sq = planes().map(|p| p.iter().map(|&v| (f64::from(v) - mu).powi(2)).sum::<f64>()).sum::<f64>();
        (mu, sq / count)
    });
    for (c, (mu, v)) in stats.into_iter().enumerate() {
        mean[c] = mu as f32;
        var[c] = v as f32;
    }
    normalize(shape, x, rows, gamma, beta, mean, var, eps, y);
}

/// Normalizes with the running statistics (evaluation mode).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_eval(
    shape: BnShape,
    x: &[f32],
    rows: usize,
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    eps: f32,
    y: &mut [f32],
) {
    normalize(shape, x, rows, gamma, beta, running_mean, running_var, eps, y);
}

#[allow(clippy::too_many_arguments)]
fn normalize(
    shape: BnShape,
    x: &[f32],
    rows: usize,
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
    y: &mut [f32],
) {
    let scale: Vec<f32> = (0..shape.channels).map(|c| gamma[c] / (var[c] + eps).sqrt()).collect();
    let shift: Vec<f32> = (0..shape.channels).map(|c| beta[c] - mean[c] * scale[c]).collect();
    shape.map_planes((x, x), rows, y, |c, p, _, out| {
        out.iter_mut().zip(p).for_each(|(o, &v)| *o = v * scale[c] + shift[c]);
    });
}

/// `running ← (1 − momentum)·running + momentum·batch`, with the batch variance made unbiased
/// over its `count` values (PyTorch's convention).
pub fn update_running(
    mean: &[f32],
    var: &[f32],
    count: usize,
    momentum: f32,
    running_mean: &mut [f32],
    running_var: &mut [f32],
) {
    let unbias = if count > 1 { count as f32 / (count - 1) as f32 } else { 1.0 };
    for c in 0..mean.len() {
        running_mean[c] += momentum * (mean[c] - running_mean[c]);
        running_var[c] += momentum * (var[c] * unbias - running_var[c]);
    }
}

/// Gradients of [`batch_norm_train`]: overwrites `dgamma` and `dbeta`; writes (or, with
/// `accumulate`, adds) the input gradient into `dx` when given.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    shape: BnShape,
    x: &[f32],
    rows: usize,
    gamma: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
    dy: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    dx: Option<&mut [f32]>,
    accumulate: bool,
) {
    let invstd: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let sums = per_channel(shape.channels, |c| {
        let (m, is) = (mean[c], invstd[c]);
        let (mut sg, mut sb) = (0.0f64, 0.0f64);
        for n in 0..rows {
            let (p, d) = (shape.plane(x, n, c), shape.plane(dy, n, c));
            sb += d.iter().map(|&v| f64::from(v)).sum::<f64>();
            sg += p.iter().zip(d).map(|(&v, &g)| f64::from((v - m) * is * g)).sum::<f64>();
        }
        (sg, sb)
    });
    for (c, (sg, sb)) in sums.into_iter().enumerate() {
        dgamma[c] = sg as f32;
        dbeta[c] = sb as f32;
    }
    let Some(dx) = dx else { return };
    let count = (rows * shape.spatial) as f32;
    let (dgamma, dbeta) = (&*dgamma, &*dbeta);
    shape.map_planes((x, dy), rows, dx, |c, p, d, out| {
        let (m, is) = (mean[c], invstd[c]);
        let k = gamma[c] * is / count;
        let (gb, gg) = (dbeta[c], dgamma[c]);
        for ((o, &v), &g) in out.iter_mut().zip(p).zip(d) {
            let val = k * (count * g - gb - (v - m) * is * gg);
            *o = if accumulate { *o + val } else { val };
        }
    });
}
