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
const BAND_BYTES: usize = 160 * 1024;

/// Whether the layer is a plain matrix product per sample.
pub(super) fn pointwise(g: &Conv2dGeom) -> bool {
    g.kh == 1 && g.kw == 1 && g.stride == (1, 1) && g.pad == (0, 0)
}

/// Output rows per band (depends only on the geometry).
pub(super) fn band_rows(g: &Conv2dGeom) -> usize {
    let row_bytes = g.group_in() * g.kh * g.kw * g.ow * 4;
    (BAND_BYTES / row_bytes.max(1)).clamp(1, g.oh)
}

/// Scratch floats one thread needs for one sample: a band's patch matrix and a band of
/// outputs (forward) or the full patch-matrix gradient (backward).
pub(super) fn scratch_len(g: &Conv2dGeom, backward: bool) -> usize {
    let kdim = g.group_in() * g.kh * g.kw;
    let go = g.c_out / g.groups;
    let band = band_rows(g) * g.ow;
    if backward {
        2 * kdim * g.oh * g.ow
    } else {
        kdim * band + go * band
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

/// Index range `lo..hi` of outputs `o < n_out` whose input position `o·stride + off` lies in
/// `0..size` (`off` is the tap offset minus the padding).
#[inline]
pub(super) fn valid_range(n_out: usize, size: usize, stride: usize, off: isize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
    let room = size as isize - off;
    let hi = if room <= 0 { 0 } else { (room + s - 1) / s };
    let hi = (hi.max(0) as usize).min(n_out);
    (lo as usize, hi.max(lo as usize))
}

/// Fills `cols` (`gi·kh·kw × (oy1-oy0)·ow`) with the patches of output rows `oy0..oy1` for the
/// input planes `xg` (`gi` planes of `h × w`).
fn im2col(g: &Conv2dGeom, xg: &[f32], oy0: usize, oy1: usize, cols: &mut [f32]) {
    let (ow, band) = (g.ow, (oy1 - oy0) * g.ow);
    let mut rows = cols.chunks_exact_mut(band);
    for plane in xg.chunks_exact(g.h * g.w).take(g.group_in()) {
        for ky in 0..g.kh {
            let offy = (ky * g.dilation.0) as isize - g.pad.0 as isize;
            for kx in 0..g.kw {
                let offx = (kx * g.dilation.1) as isize - g.pad.1 as isize;
                let (x0, x1) = valid_range(ow, g.w, g.stride.1, offx);
                let Some(row) = rows.next() else { return };
                for (oy, out) in (oy0..oy1).zip(row.chunks_exact_mut(ow)) {
                    let iy = (oy * g.stride.0) as isize + offy;
                    if iy < 0 || iy >= g.h as isize {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    out[..x0].fill(0.0);
                    out[x1..].fill(0.0);
                    if x1 == x0 {
                        continue;
                    }
                    let first = (x0 * g.stride.1) as isize + offx;
                    if g.stride.1 == 1 {
                        out[x0..x1].copy_from_slice(&src[first as usize..first as usize + (x1 - x0)]);
                    } else {
                        for (o, &v) in out[x0..x1]
                            .iter_mut()
                            .zip(src[first as usize..].iter().step_by(g.stride.1))
                        {
                            *o = v;
                        }
                    }
                }
            }
        }
    }
}

/// Adds the patch-matrix gradient `dcols` (`gi·kh·kw × oh·ow`) back onto the input planes.
fn col2im(g: &Conv2dGeom, dcols: &[f32], dxg: &mut [f32]) {
    let ow = g.ow;
    let mut rows = dcols.chunks_exact(g.oh * ow);
    for plane in dxg.chunks_exact_mut(g.h * g.w).take(g.group_in()) {
        for ky in 0..g.kh {
            let offy = (ky * g.dilation.0) as isize - g.pad.0 as isize;
            for kx in 0..g.kw {
                let offx = (kx * g.dilation.1) as isize - g.pad.1 as isize;
                let (x0, x1) = valid_range(ow, g.w, g.stride.1, offx);
                let (y0, y1) = valid_range(g.oh, g.h, g.stride.0, offy);
                let Some(row) = rows.next() else { return };
                if x1 <= x0 {
                    continue;
                }
                for oy in y0..y1 {
                    let iy = ((oy * g.stride.0) as isize + offy) as usize;
                    let dst = &mut plane[iy * g.w..(iy + 1) * g.w];
                    let src = &row[oy * ow + x0..oy * ow + x1];
                    let first = ((x0 * g.stride.1) as isize + offx) as usize;
                    if g.stride.1 == 1 {
                        dst[first..first + src.len()].iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    } else {
                        for (d, &s) in dst[first..].iter_mut().step_by(g.stride.1).zip(src) {
                            *d += s;
                        }
                    }
                }
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
        let rows_per = band_rows(g);
        let mut oy0 = 0;
        while oy0 < g.oh {
            let oy1 = (oy0 + rows_per).min(g.oh);
            let band = (oy1 - oy0) * g.ow;
            let (cols, out) = scratch.split_at_mut(kdim * band);
            im2col(g, xg, oy0, oy1, cols);
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
        im2col(g, xg, 0, g.oh, cols);
        mm(dyg, Mat::new(cols, kdim, opix).t(), dwg, true, threads);
        if let Some(dxg) = dxg {
            let dcols = &mut dcols[..kdim * opix];
            mm(wg.t(), dyg, dcols, false, threads);
            if !accumulate {
                dxg.fill(0.0);
            }
            col2im(g, dcols, dxg);
        }
    }
}
