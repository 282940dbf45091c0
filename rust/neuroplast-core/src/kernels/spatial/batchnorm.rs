//! Batch normalization over the batch and spatial axes of NCHW blocks (PyTorch semantics):
//! training normalizes with the batch's biased variance and feeds running statistics with the
//! unbiased one; evaluation uses the running statistics.
//!
//! A dense layer's normalization is the same computation with `spatial = 1`.

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

    /// Calls `f(channel, values)` for every channel plane of every sample.
    fn planes<'a>(&self, x: &'a [f32], rows: usize) -> impl Iterator<Item = (usize, &'a [f32])> {
        let (c, s) = (self.channels, self.spatial);
        x[..rows * self.sample()].chunks_exact(s).enumerate().map(move |(i, p)| (i % c, p))
    }
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
    let mut sum = vec![0.0f64; shape.channels];
    for (c, p) in shape.planes(x, rows) {
        sum[c] += p.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    let mu: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let mut sq = vec![0.0f64; shape.channels];
    for (c, p) in shape.planes(x, rows) {
        sq[c] += p.iter().map(|&v| (f64::from(v) - mu[c]).powi(2)).sum::<f64>();
    }
    for c in 0..shape.channels {
        mean[c] = mu[c] as f32;
        var[c] = (sq[c] / count) as f32;
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
    for ((c, p), out) in shape.planes(x, rows).zip(y.chunks_exact_mut(shape.spatial)) {
        out.iter_mut().zip(p).for_each(|(o, &v)| *o = v * scale[c] + shift[c]);
    }
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
    let mut sg = vec![0.0f64; shape.channels];
    let mut sb = vec![0.0f64; shape.channels];
    for ((c, p), d) in shape.planes(x, rows).zip(dy.chunks_exact(shape.spatial)) {
        let (m, is) = (mean[c], invstd[c]);
        sb[c] += d.iter().map(|&v| f64::from(v)).sum::<f64>();
        sg[c] += p.iter().zip(d).map(|(&v, &g)| f64::from((v - m) * is * g)).sum::<f64>();
    }
    for c in 0..shape.channels {
        dgamma[c] = sg[c] as f32;
        dbeta[c] = sb[c] as f32;
    }
    let Some(dx) = dx else { return };
    let count = (rows * shape.spatial) as f32;
    for (((c, p), d), out) in
        shape.planes(x, rows).zip(dy.chunks_exact(shape.spatial)).zip(dx.chunks_exact_mut(shape.spatial))
    {
        let (m, is) = (mean[c], invstd[c]);
        let k = gamma[c] * is / count;
        let (gb, gg) = (dbeta[c], dgamma[c]);
        for ((o, &v), &g) in out.iter_mut().zip(p).zip(d) {
            let val = k * (count * g - gb - (v - m) * is * gg);
            *o = if accumulate { *o + val } else { val };
        }
    }
}
