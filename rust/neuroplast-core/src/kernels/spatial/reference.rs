//! Direct-loop convolution, the reference every fast path of [`super::conv`] is tested
//! against: one output value (or one weight/input gradient contribution) at a time, no
//! reordering, obviously PyTorch's definition.

use super::geom::Conv2dGeom;

/// Calls `f(iy, ix, k)` for every in-bounds input position of output pixel `(oy, ox)`, with `k`
/// the kernel offset `ky * kw + kx`.
#[inline]
fn taps(g: &Conv2dGeom, oy: usize, ox: usize, mut f: impl FnMut(usize, usize, usize)) {
    for ky in 0..g.kh {
        let iy = (oy * g.stride.0 + ky * g.dilation.0).wrapping_sub(g.pad.0);
        if iy >= g.h {
            continue;
        }
        for kx in 0..g.kw {
            let ix = (ox * g.stride.1 + kx * g.dilation.1).wrapping_sub(g.pad.1);
            if ix < g.w {
                f(iy, ix, ky * g.kw + kx);
            }
        }
    }
}

/// `y = conv(x, weight) + bias` for a block of `rows` samples.
pub(super) fn conv2d_forward(
    g: &Conv2dGeom,
    x: &[f32],
    rows: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let (gi, go) = (g.group_in(), g.c_out / g.groups);
    let kk = g.kh * g.kw;
    let plane = g.h * g.w;
    for n in 0..rows {
        let xs = &x[n * g.in_len()..(n + 1) * g.in_len()];
        let ys = &mut y[n * g.out_len()..(n + 1) * g.out_len()];
        for oc in 0..g.c_out {
            let grp = oc / go;
            let wk = &weight[oc * gi * kk..(oc + 1) * gi * kk];
            let b = bias.map_or(0.0, |b| b[oc]);
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut acc = 0.0f32;
                    for c in 0..gi {
                        let xc = &xs[(grp * gi + c) * plane..];
                        taps(g, oy, ox, |iy, ix, k| acc += wk[c * kk + k] * xc[iy * g.w + ix]);
                    }
                    ys[(oc * g.oh + oy) * g.ow + ox] = acc + b;
                }
            }
        }
    }
}

/// Gradients of [`conv2d_forward`]: overwrites `dweight` and `dbias`; writes (or, with
/// `accumulate`, adds) the input gradient into `dx` when given.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv2d_backward(
    g: &Conv2dGeom,
    x: &[f32],
    rows: usize,
    weight: &[f32],
    dy: &[f32],
    dweight: &mut [f32],
    dbias: Option<&mut [f32]>,
    mut dx: Option<&mut [f32]>,
    accumulate: bool,
) {
    let (gi, go) = (g.group_in(), g.c_out / g.groups);
    let kk = g.kh * g.kw;
    let plane = g.h * g.w;
    let opix = g.oh * g.ow;
    dweight.fill(0.0);
    if let Some(db) = dbias {
        db.fill(0.0);
        for n in 0..rows {
            let ds = &dy[n * g.out_len()..(n + 1) * g.out_len()];
            for (oc, d) in db.iter_mut().enumerate() {
                *d += ds[oc * opix..(oc + 1) * opix].iter().sum::<f32>();
            }
        }
    }
    if let Some(dx) = dx.as_deref_mut() {
        if !accumulate {
            dx[..rows * g.in_len()].fill(0.0);
        }
    }
    for n in 0..rows {
        let xs = &x[n * g.in_len()..(n + 1) * g.in_len()];
        let ds = &dy[n * g.out_len()..(n + 1) * g.out_len()];
        for oc in 0..g.c_out {
            let grp = oc / go;
            let wk = &weight[oc * gi * kk..(oc + 1) * gi * kk];
            let dwk = &mut dweight[oc * gi * kk..(oc + 1) * gi * kk];
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let d = ds[(oc * g.oh + oy) * g.ow + ox];
                    for c in 0..gi {
                        let base = (grp * gi + c) * plane;
                        taps(g, oy, ox, |iy, ix, k| dwk[c * kk + k] += d * xs[base + iy * g.w + ix]);
                        if let Some(dx) = dx.as_deref_mut() {
                            let dxs = &mut dx[n * g.in_len()..(n + 1) * g.in_len()];
                            taps(g, oy, ox, |iy, ix, k| dxs[base + iy * g.w + ix] += d * wk[c * kk + k]);
                        }
                    }
                }
            }
        }
    }
}
