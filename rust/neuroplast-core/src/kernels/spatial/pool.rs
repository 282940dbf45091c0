//! Max and average pooling (floor mode, PyTorch semantics), forward and backward.
//!
//! Average pooling divides by the full window size, padding included (PyTorch's default
//! `count_include_pad=True`). Global average pooling is average pooling with an `h × w`
//! window.
//!
//! Samples are independent: every kernel splits the block into contiguous sample ranges, one
//! task each on the current pool (see [`super::par`]); results do not depend on the split.

use super::geom::Pool2dGeom;
use super::par;

/// Runs `f(xs, ys)` on the ranges of samples, `xs` holding `il` and `ys` `ol` values a sample.
fn per_samples(
    rows: usize,
    x: &[f32],
    il: usize,
    y: &mut [f32],
    ol: usize,
    f: impl Fn(&[f32], &mut [f32]) + Sync + Send,
) {
    par::run(par::rows_mut(rows, y, ol), |((a, b), ys)| f(&x[a * il..b * il], ys));
}

/// Max pooling; `argmax` receives, per output value, the index of the winning input value
/// within its sample (ties go to the first position in scan order).
pub fn max_pool_forward(g: &Pool2dGeom, x: &[f32], rows: usize, y: &mut [f32], argmax: &mut [u32]) {
    let (il, ol) = (g.in_len(), g.out_len());
    let r = par::ranges(rows, par::width());
    let ys = par::split_mut(&mut y[..rows * ol], &r, ol);
    let ams = par::split_mut(&mut argmax[..rows * ol], &r, ol);
    let items: Vec<_> = r.iter().map(|&(a, b)| &x[a * il..b * il]).zip(ys.into_iter().zip(ams)).collect();
    par::run(items, |(xs, (ys, ams))| {
        for ((xs, ys), ams) in xs.chunks_exact(il).zip(ys.chunks_exact_mut(ol)).zip(ams.chunks_exact_mut(ol))
        {
            max_pool_sample(g, xs, ys, ams);
        }
    });
}

fn max_pool_sample(g: &Pool2dGeom, xs: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    // Windows depend only on the output position: compute them once per sample.
    let rows: Vec<(usize, usize)> = (0..g.oh).map(|o| g.window(o, 0)).collect();
    let cols: Vec<(usize, usize)> = (0..g.ow).map(|o| g.window(o, 1)).collect();
    for c in 0..g.c {
        let plane = &xs[c * g.h * g.w..(c + 1) * g.h * g.w];
        for (oy, &(y0, y1)) in rows.iter().enumerate() {
            for (ox, &(x0, x1)) in cols.iter().enumerate() {
                let mut best = f32::NEG_INFINITY;
                let mut at = y0 * g.w + x0;
                for iy in y0..y1 {
                    for (ix, &v) in plane[iy * g.w + x0..iy * g.w + x1].iter().enumerate() {
                        // Branch-free select; NaN propagates like PyTorch: the first NaN of
                        // the window wins and stays.
                        let take = v > best || (v.is_nan() && !best.is_nan());
                        best = if take { v } else { best };
                        at = if take { iy * g.w + x0 + ix } else { at };
                    }
                }
                let o = (c * g.oh + oy) * g.ow + ox;
                y[o] = best;
                argmax[o] = (c * g.h * g.w + at) as u32;
            }
        }
    }
}

/// Routes each output gradient to its window's maximum.
pub fn max_pool_backward(
    g: &Pool2dGeom,
    dy: &[f32],
    argmax: &[u32],
    rows: usize,
    dx: &mut [f32],
    accumulate: bool,
) {
    let (il, ol) = (g.in_len(), g.out_len());
    par::run(par::rows_mut(rows, dx, il), |((a, b), dx)| {
        let (dy, am) = (&dy[a * ol..b * ol], &argmax[a * ol..b * ol]);
        if !accumulate {
            dx.fill(0.0);
        }
        for ((dxs, dys), ams) in dx.chunks_exact_mut(il).zip(dy.chunks_exact(ol)).zip(am.chunks_exact(ol)) {
            for (&d, &a) in dys.iter().zip(ams) {
                dxs[a as usize] += d;
            }
        }
    });
}

/// Average pooling.
pub fn avg_pool_forward(g: &Pool2dGeom, x: &[f32], rows: usize, y: &mut [f32]) {
    let scale = 1.0 / (g.kh * g.kw) as f32;
    per_samples(rows, x, g.in_len(), y, g.out_len(), |x, y| {
        for (xs, ys) in x.chunks_exact(g.in_len()).zip(y.chunks_exact_mut(g.out_len())) {
            for c in 0..g.c {
                for oy in 0..g.oh {
                    let (y0, y1) = g.window(oy, 0);
                    for ox in 0..g.ow {
                        let (x0, x1) = g.window(ox, 1);
                        let mut acc = 0.0f32;
                        for iy in y0..y1 {
                            acc +=
                                xs[(c * g.h + iy) * g.w + x0..(c * g.h + iy) * g.w + x1].iter().sum::<f32>();
                        }
                        ys[(c * g.oh + oy) * g.ow + ox] = acc * scale;
                    }
                }
            }
        }
    });
}

/// Spreads each output gradient evenly over its window.
pub fn avg_pool_backward(g: &Pool2dGeom, dy: &[f32], rows: usize, dx: &mut [f32], accumulate: bool) {
    let scale = 1.0 / (g.kh * g.kw) as f32;
    per_samples(rows, dy, g.out_len(), dx, g.in_len(), |dy, dx| {
        if !accumulate {
            dx.fill(0.0);
        }
        for (dxs, ds) in dx.chunks_exact_mut(g.in_len()).zip(dy.chunks_exact(g.out_len())) {
            for c in 0..g.c {
                for oy in 0..g.oh {
                    let (y0, y1) = g.window(oy, 0);
                    for ox in 0..g.ow {
                        let (x0, x1) = g.window(ox, 1);
                        let d = ds[(c * g.oh + oy) * g.ow + ox] * scale;
                        for iy in y0..y1 {
                            let row = (c * g.h + iy) * g.w;
                            dxs[row + x0..row + x1].iter_mut().for_each(|v| *v += d);
                        }
                    }
                }
            }
        }
    });
}
