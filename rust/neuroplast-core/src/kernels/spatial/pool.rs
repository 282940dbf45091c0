//! Max and average pooling (floor mode, PyTorch semantics), forward and backward.
//!
//! Average pooling divides by the full window size, padding included (PyTorch's default
//! `count_include_pad=True`). Global average pooling is average pooling with an `h × w`
//! window.

use super::geom::Pool2dGeom;

/// Max pooling; `argmax` receives, per output value, the index of the winning input value
/// within its sample (ties go to the first position in scan order).
pub fn max_pool_forward(g: &Pool2dGeom, x: &[f32], rows: usize, y: &mut [f32], argmax: &mut [u32]) {
    for n in 0..rows {
        let xs = &x[n * g.in_len()..(n + 1) * g.in_len()];
        let base = n * g.out_len();
        for c in 0..g.c {
            for oy in 0..g.oh {
                let (y0, y1) = g.window(oy, 0);
                for ox in 0..g.ow {
                    let (x0, x1) = g.window(ox, 1);
                    let mut best = f32::NEG_INFINITY;
                    let mut at = (c * g.h + y0) * g.w + x0;
                    for iy in y0..y1 {
                        for ix in x0..x1 {
                            let i = (c * g.h + iy) * g.w + ix;
                            // NaN propagates like PyTorch: a NaN input wins its window.
                            if xs[i] > best || xs[i].is_nan() {
                                best = xs[i];
                                at = i;
                                if best.is_nan() {
                                    break;
                                }
                            }
                        }
                    }
                    let o = base + (c * g.oh + oy) * g.ow + ox;
                    y[o] = best;
                    argmax[o] = at as u32;
                }
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
    if !accumulate {
        dx[..rows * g.in_len()].fill(0.0);
    }
    for n in 0..rows {
        let dxs = &mut dx[n * g.in_len()..(n + 1) * g.in_len()];
        let range = n * g.out_len()..(n + 1) * g.out_len();
        for (&d, &a) in dy[range.clone()].iter().zip(&argmax[range]) {
            dxs[a as usize] += d;
        }
    }
}

/// Average pooling.
pub fn avg_pool_forward(g: &Pool2dGeom, x: &[f32], rows: usize, y: &mut [f32]) {
    let scale = 1.0 / (g.kh * g.kw) as f32;
    for n in 0..rows {
        let xs = &x[n * g.in_len()..(n + 1) * g.in_len()];
        let ys = &mut y[n * g.out_len()..(n + 1) * g.out_len()];
        for c in 0..g.c {
            for oy in 0..g.oh {
                let (y0, y1) = g.window(oy, 0);
                for ox in 0..g.ow {
                    let (x0, x1) = g.window(ox, 1);
                    let mut acc = 0.0f32;
                    for iy in y0..y1 {
                        acc += xs[(c * g.h + iy) * g.w + x0..(c * g.h + iy) * g.w + x1].iter().sum::<f32>();
                    }
                    ys[(c * g.oh + oy) * g.ow + ox] = acc * scale;
                }
            }
        }
    }
}

/// Spreads each output gradient evenly over its window.
pub fn avg_pool_backward(g: &Pool2dGeom, dy: &[f32], rows: usize, dx: &mut [f32], accumulate: bool) {
    if !accumulate {
        dx[..rows * g.in_len()].fill(0.0);
    }
    let scale = 1.0 / (g.kh * g.kw) as f32;
    for n in 0..rows {
        let dxs = &mut dx[n * g.in_len()..(n + 1) * g.in_len()];
        let ds = &dy[n * g.out_len()..(n + 1) * g.out_len()];
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
}
