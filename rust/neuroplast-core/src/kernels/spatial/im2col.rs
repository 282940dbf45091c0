//! Convolution of one sample as GEMMs over a patch matrix ("im2col").
//!
//! For group `g`, the patch matrix `cols` is `(gi·kh·kw) × (oh·ow)`: row `(c, ky, kx)` holds,
//! for every output pixel, the input value that tap multiplies (zero in the padding). Then
//!
//! * forward: `Y_g = W_g · cols` (`W_g` is `go × gi·kh·kw`, exactly the stored weight rows);
//! * weight gradient: `dW_g += dY_g · colsᵀ`;
//! * input gradient: `dcols = W_gᵀ · dY_g`, scattered back by `col2im`.
//!
//! A 1×1 convolution with unit stride and no padding needs no patch matrix: the input planes
//! already are `cols`. Large outputs are cut into bands of whole output rows so that one band's
//! patch matrix stays in L2 while the GEMM packs it (the full matrix of a 28×28 layer would
//! make a round trip through L3 per sample).

use super::geom::Conv2dGeom;
use crate::kernels::gemm::{gemm, gemm_faer, gemm_packed, Mat};

/// Patch-matrix bytes per band that keep it resident in a 512 KiB L2 next to the GEMM's
/// packed panels.
const BAND_BYTES: usize = 256 * 1024;

/// Whether the layer is a plain matrix product per sample.
pub(super) fn pointwise(g: &Conv2dGeom) -> bool {
    g.kh == 1 && g.kw == 1 && g.stride == (1, 1) && g.pad == (0, 0)
}

/// Output rows per band: the fewest bands that respect [`BAND_BYTES`], evenly sized (depends
/// only on the geometry).
pub(super) fn band_rows(g: &Conv2dGeom) -> usize {
    let row_bytes = g.group_in() * g.kh * g.kw * g.ow * 4;
    let most = (BAND_BYTES / row_bytes.max(1)).clamp(1, g.oh);
    g.oh.div_ceil(g.oh.div_ceil(most))
}

/// `dst = src` for short rows: fixed 8-float moves (the last one overlapping) instead of a
/// `memcpy` call, whose fixed cost dominates rows of a few dozen floats.
#[inline(always)]
pub(super) fn copy_row(dst: &mut [f32], src: &[f32]) {
    let n = dst.len().min(src.len());
    if n < 8 {
        for (d, &s) in dst[..n].iter_mut().zip(src) {
            *d = s;
        }
        return;
    }
    let mut j = 0;
    while j + 8 <= n {
        dst[j..j + 8].copy_from_slice(&src[j..j + 8]);
        j += 8;
    }
    if j < n {
        dst[n - 8..n].copy_from_slice(&src[n - 8..n]);
    }
}

/// `dst = 0` for short rows (see [`copy_row`]).
#[inline(always)]
pub(super) fn zero_row(dst: &mut [f32]) {
    for d in dst {
        *d = 0.0;
    }
}

/// Scratch floats one thread needs for one sample: the padded input planes of a group, then
/// a band's patch matrix and a band of outputs (forward), or the full patch matrix and its
/// gradient (backward; the padded planes are reused for the padded input gradient).
pub(super) fn scratch_len(g: &Conv2dGeom, backward: bool) -> usize {
    let kdim = g.group_in() * g.kh * g.kw;
    let go = g.c_out / g.groups;
    let band = band_rows(g) * g.ow;
    let (hp, wp) = padded(g);
    let planes = g.group_in() * hp * wp;
    if backward {
        planes + 2 * kdim * g.oh * g.ow
    } else {
        planes + kdim * band + go * band
    }
}

/// The GEMM for per-sample products: one thread here (samples are spread over threads by the
/// caller), so prefer the packed kernels whenever the shape fills their micro-tiles;
/// `threads > 1` only when the caller runs a single task.
fn mm(a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool, threads: usize) {
    let (m, k, n) = (a.op_rows(), a.op_cols(), b.op_cols());
    if threads > 1 {
        gemm(a, b, c, accumulate, threads);
    } else if !(m >= 16 && n >= 16 && k >= 16 && gemm_packed(a, b, c, accumulate, 1)) {
        gemm_faer(a, b, c, accumulate, 1);
    }
}

/// Padded height and width of an input plane.
fn padded(g: &Conv2dGeom) -> (usize, usize) {
    (g.h + 2 * g.pad.0, g.w + 2 * g.pad.1)
}

/// Copies the planes of `xg` into zero-padded planes of `xp`, one every `stride` floats (at
/// least `hp·wp`; the rest is zeroed too), so that patch extraction needs no bounds logic.
pub(super) fn pad_planes(g: &Conv2dGeom, xg: &[f32], xp: &mut [f32], stride: usize) {
    let (_, wp) = padded(g);
    for (src, dst) in xg.chunks_exact(g.h * g.w).zip(xp.chunks_exact_mut(stride)) {
        dst[..g.pad.0 * wp].fill(0.0);
        dst[(g.pad.0 + g.h) * wp..].fill(0.0);
        for (row, prow) in src.chunks_exact(g.w).zip(dst[g.pad.0 * wp..].chunks_exact_mut(wp)) {
            zero_row(&mut prow[..g.pad.1]);
            zero_row(&mut prow[g.pad.1 + g.w..]);
            copy_row(&mut prow[g.pad.1..g.pad.1 + g.w], row);
        }
    }
}

/// Calls `f(row, oy, start)` for every patch-matrix row `(c, ky, kx)` and output row
/// `oy0..oy1`, with `start` the padded-plane index (`c` included) of the tap's first input.
#[inline(always)]
fn for_patch_rows(g: &Conv2dGeom, oy0: usize, oy1: usize, mut f: impl FnMut(usize, usize, usize)) {
    let (hp, wp) = padded(g);
    for c in 0..g.group_in() {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let r = (c * g.kh + ky) * g.kw + kx;
                for oy in oy0..oy1 {
                    f(r, oy, c * hp * wp + (oy * g.stride.0 + ky * g.dilation.0) * wp + kx * g.dilation.1);
                }
            }
        }
    }
}

/// Fills `cols` (`gi·kh·kw × (oy1-oy0)·ow`) with the patches of output rows `oy0..oy1` from
/// the padded planes `xp`.
fn im2col(g: &Conv2dGeom, xp: &[f32], oy0: usize, oy1: usize, cols: &mut [f32]) {
    let (ow, s) = (g.ow, g.stride.1);
    let band = (oy1 - oy0) * ow;
    for_patch_rows(g, oy0, oy1, |r, oy, at| {
        let out = &mut cols[r * band + (oy - oy0) * ow..r * band + (oy - oy0 + 1) * ow];
        if s == 1 {
            copy_row(out, &xp[at..at + ow]);
        } else {
            for (o, &v) in out.iter_mut().zip(xp[at..].iter().step_by(s)) {
                *o = v;
            }
        }
    });
}

/// Adds the patch-matrix gradient `dcols` (`gi·kh·kw × oh·ow`) onto the padded planes `dxp`.
fn col2im(g: &Conv2dGeom, dcols: &[f32], dxp: &mut [f32]) {
    let (ow, s) = (g.ow, g.stride.1);
    let opix = g.oh * ow;
    for_patch_rows(g, 0, g.oh, |r, oy, at| {
        let src = &dcols[r * opix + oy * ow..r * opix + (oy + 1) * ow];
        if s == 1 {
            dxp[at..at + ow].iter_mut().zip(src).for_each(|(d, &v)| *d += v);
        } else {
            for (d, &v) in dxp[at..].iter_mut().step_by(s).zip(src) {
                *d += v;
            }
        }
    });
}

/// Writes (or, with `accumulate`, adds) the interior of the padded planes `dxp` into `dxg`.
fn unpad_planes(g: &Conv2dGeom, dxp: &[f32], dxg: &mut [f32], accumulate: bool) {
    let (hp, wp) = padded(g);
    for (src, dst) in dxp.chunks_exact(hp * wp).zip(dxg.chunks_exact_mut(g.h * g.w)) {
        for (prow, row) in src[g.pad.0 * wp..].chunks_exact(wp).zip(dst.chunks_exact_mut(g.w)) {
            let prow = &prow[g.pad.1..g.pad.1 + g.w];
            if accumulate {
                row.iter_mut().zip(prow).for_each(|(d, &v)| *d += v);
            } else {
                copy_row(row, prow);
            }
        }
    }
}

/// Forward of one sample: `ys = conv(xs) + bias`.
pub(super) fn forward(
    g: &Conv2dGeom,
    xs: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    ys: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) {
    let (gi, go, opix) = (g.group_in(), g.c_out / g.groups, g.oh * g.ow);
    let kdim = gi * g.kh * g.kw;
    let plane = g.h * g.w;
    let xp_len = gi * padded(g).0 * padded(g).1;
    for grp in 0..g.groups {
        let wg = Mat::new(&weight[grp * go * kdim..(grp + 1) * go * kdim], go, kdim);
        let xg = &xs[grp * gi * plane..(grp + 1) * gi * plane];
        let yg = &mut ys[grp * go * opix..(grp + 1) * go * opix];
        let bg = bias.map(|b| &b[grp * go..(grp + 1) * go]);
        if let Some(b) = bg {
            for (row, &v) in yg.chunks_exact_mut(opix).zip(b) {
                row.fill(v);
            }
        }
        if pointwise(g) {
            mm(wg, Mat::new(xg, gi, opix), yg, bg.is_some(), threads);
            continue;
        }
        let (xp, scratch) = scratch.split_at_mut(xp_len);
        pad_planes(g, xg, xp, padded(g).0 * padded(g).1);
        let rows_per = band_rows(g);
        let mut oy0 = 0;
        while oy0 < g.oh {
            let oy1 = (oy0 + rows_per).min(g.oh);
            let band = (oy1 - oy0) * g.ow;
            let (cols, out) = scratch.split_at_mut(kdim * band);
            im2col(g, xp, oy0, oy1, cols);
            if oy1 - oy0 == g.oh {
                // One band covers the whole output: multiply straight into it.
                mm(wg, Mat::new(cols, kdim, band), yg, bg.is_some(), threads);
            } else {
                let out = &mut out[..go * band];
                mm(wg, Mat::new(cols, kdim, band), out, false, threads);
                for (dst, src) in yg.chunks_exact_mut(opix).zip(out.chunks_exact(band)) {
                    let dst = &mut dst[oy0 * g.ow..oy1 * g.ow];
                    if bg.is_some() {
                        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    } else {
                        dst.copy_from_slice(src);
                    }
                }
            }
            oy0 = oy1;
        }
    }
}

/// Backward of one sample: adds this sample's weight gradient into `dw`, and writes (or, with
/// `accumulate`, adds) its input gradient into `dxs` when given.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    g: &Conv2dGeom,
    xs: &[f32],
    weight: &[f32],
    dys: &[f32],
    dw: &mut [f32],
    mut dxs: Option<&mut [f32]>,
    accumulate: bool,
    scratch: &mut [f32],
    threads: usize,
) {
    let (gi, go, opix) = (g.group_in(), g.c_out / g.groups, g.oh * g.ow);
    let kdim = gi * g.kh * g.kw;
    let plane = g.h * g.w;
    let (xp, scratch) = scratch.split_at_mut(gi * padded(g).0 * padded(g).1);
    let (cols, dcols) = scratch.split_at_mut(kdim * opix);
    for grp in 0..g.groups {
        let wg = Mat::new(&weight[grp * go * kdim..(grp + 1) * go * kdim], go, kdim);
        let xg = &xs[grp * gi * plane..(grp + 1) * gi * plane];
        let dyg = Mat::new(&dys[grp * go * opix..(grp + 1) * go * opix], go, opix);
        let dwg = &mut dw[grp * go * kdim..(grp + 1) * go * kdim];
        let dxg = dxs.as_deref_mut().map(|d| &mut d[grp * gi * plane..(grp + 1) * gi * plane]);
        if pointwise(g) {
            mm(dyg, Mat::new(xg, gi, opix).t(), dwg, true, threads);
            if let Some(dxg) = dxg {
                mm(wg.t(), dyg, dxg, accumulate, threads);
            }
            continue;
        }
        pad_planes(g, xg, xp, padded(g).0 * padded(g).1);
        im2col(g, xp, 0, g.oh, cols);
        mm(dyg, Mat::new(cols, kdim, opix).t(), dwg, true, threads);
        if let Some(dxg) = dxg {
            let dcols = &mut dcols[..kdim * opix];
            mm(wg.t(), dyg, dcols, false, threads);
            // The padded input planes are no longer needed: gather the gradient there.
            xp.fill(0.0);
            col2im(g, dcols, xp);
            unpad_planes(g, xp, dxg, accumulate);
        }
    }
}
