//! Direct convolution for layers whose output channels each see very few input channels:
//! depthwise (and channel-multiplier) convolutions and first layers with 1–3 input channels.
//! There the patch matrix of [`super::im2col`] has only `gi·kh·kw` rows, so a GEMM spends its
//! time packing and storing tiles instead of multiplying.
//!
//! Input planes are first copied into zero-padded planes (`hp × wp`). With unit stride the
//! output is computed on the padded width: output `(oy, ox)` sits at grid index `oy·wp + ox`
//! and tap `(ky, kx)` reads the padded input at that index plus `ky·d0·wp + kx·d1`, so every
//! tap is one contiguous, vectorizable pass (the `wp − ow` extra columns per row are computed
//! and dropped). Other strides use plain loops over the padded planes.
//!
//! The input gradient reuses the same kernel as a correlation with the taps mirrored: the
//! output gradient is laid on the padded grid (zeros in the extra columns) behind a margin of
//! the largest tap offset, and each padded input position gathers from it.

use super::geom::Conv2dGeom;
use super::im2col::{copy_row, pad_planes};
use crate::kernels::simd::simd_dispatch;

/// Whether the direct kernels should handle this layer.
pub(super) fn applies(g: &Conv2dGeom) -> bool {
    let gi = g.group_in();
    gi == 1 || (gi <= 3 && g.stride == (1, 1))
}

/// Padded-plane layout shared by the forward and backward passes of one layer.
struct Layout {
    hp: usize,
    wp: usize,
    /// Floats per padded plane: `hp·wp` plus slack for the last row's overhanging taps.
    ps: usize,
    /// Grid offset of every tap `(ky, kx)` in padded coordinates.
    offs: Vec<usize>,
    /// The largest tap offset (margin in front of the output-gradient grid).
    max_off: usize,
    unit: bool,
}

impl Layout {
    fn new(g: &Conv2dGeom) -> Self {
        let (hp, wp) = (g.h + 2 * g.pad.0, g.w + 2 * g.pad.1);
        let offs: Vec<usize> = (0..g.kh)
            .flat_map(|ky| (0..g.kw).map(move |kx| ky * g.dilation.0 * wp + kx * g.dilation.1))
            .collect();
        let max_off = offs.iter().copied().max().unwrap_or(0);
        let slack = (g.kw - 1) * g.dilation.1;
        Self { hp, wp, ps: hp * wp + slack, offs, max_off, unit: g.stride == (1, 1) }
    }

    /// Floats per output-gradient grid (margin, padded plane).
    fn gs(&self) -> usize {
        self.max_off + self.hp * self.wp
    }
}

/// Scratch floats for one sample.
pub(super) fn scratch_len(g: &Conv2dGeom, backward: bool) -> usize {
    let l = Layout::new(g);
    let grid = g.oh * l.wp.max(g.ow);
    let fwd = g.c_in * l.ps + grid;
    if backward {
        fwd + g.c_out * l.gs() + l.hp * l.wp + (g.c_out / g.groups) * g.kh * g.kw
    } else {
        fwd
    }
}

simd_dispatch! {
    /// `out[i] = init + Σ_s Σ_t w[s·nt + t] · src[s·stride + offs[t] + i]` for every `i`,
    /// accumulated in registers over blocks of 64 outputs (sources and taps in order): eight
    /// independent vector sums hide the add latency.
    fn gather_taps(out: &mut [f32], src: &[f32], stride: usize, offs: &[usize], w: &[f32], init: f32) {
        const B: usize = 64;
        let nt = offs.len();
        let nsrc = w.len().checked_div(nt).unwrap_or(0);
        let mut i0 = 0;
        while i0 < out.len() {
            let len = (out.len() - i0).min(B);
            let mut acc = [init; B];
            for s in 0..nsrc {
                for (t, &off) in offs.iter().enumerate() {
                    let wv = w[s * nt + t];
                    let base = s * stride + off + i0;
                    if len == B {
                        for (a, &x) in acc.iter_mut().zip(&src[base..base + B]) {
                            *a += wv * x;
                        }
                    } else {
                        for (a, &x) in acc.iter_mut().zip(&src[base..base + len]) {
                            *a += wv * x;
                        }
                    }
                }
            }
            out[i0..i0 + len].copy_from_slice(&acc[..len]);
            i0 += B;
        }
    }
}

simd_dispatch! {
    /// `dw[t] += Σ_i gy[i] · src[offs[t] + i]` for every tap: 32 lanes (four independent
    /// vector sums) summed in a fixed order.
    fn tap_dots(gy: &[f32], src: &[f32], offs: &[usize], dw: &mut [f32]) {
        const L: usize = 32;
        let n = gy.len();
        let full = n - n % L;
        for (d, &off) in dw.iter_mut().zip(offs) {
            let x = &src[off..off + n];
            let mut acc = [0.0f32; L];
            for (gc, xc) in gy[..full].chunks_exact(L).zip(x[..full].chunks_exact(L)) {
                for (a, (&g, &v)) in acc.iter_mut().zip(gc.iter().zip(xc)) {
                    *a += g * v;
                }
            }
            let mut s = acc.iter().sum::<f32>();
            for (a, b) in gy[full..].iter().zip(&x[full..]) {
                s += a * b;
            }
            *d += s;
        }
    }
}

/// Forward of one sample.
pub(super) fn forward(
    g: &Conv2dGeom,
    xs: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    ys: &mut [f32],
    scratch: &mut [f32],
) {
    let l = Layout::new(g);
    let (gi, go, kk) = (g.group_in(), g.c_out / g.groups, g.kh * g.kw);
    let (xp, grid) = scratch.split_at_mut(g.c_in * l.ps);
    pad_planes(g, xs, xp, l.ps);
    for (oc, yp) in ys.chunks_exact_mut(g.oh * g.ow).enumerate() {
        let src = &xp[(oc / go) * gi * l.ps..];
        let w = &weight[oc * gi * kk..(oc + 1) * gi * kk];
        let b = bias.map_or(0.0, |b| b[oc]);
        if l.unit {
            let grid = &mut grid[..g.oh * l.wp];
            gather_taps(grid, src, l.ps, &l.offs, w, b);
            for (dst, row) in yp.chunks_exact_mut(g.ow).zip(grid.chunks_exact(l.wp)) {
                copy_row(dst, &row[..g.ow]);
            }
            continue;
        }
        for (oy, dst) in yp.chunks_exact_mut(g.ow).enumerate() {
            for (ox, o) in dst.iter_mut().enumerate() {
                let at = oy * g.stride.0 * l.wp + ox * g.stride.1;
                let mut acc = b;
                for c in 0..gi {
                    for (t, &off) in l.offs.iter().enumerate() {
                        acc += w[c * kk + t] * src[c * l.ps + at + off];
                    }
                }
                *o = acc;
            }
        }
    }
}

/// Backward of one sample: adds into `dw`; writes or adds the input gradient into `dxs`.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    g: &Conv2dGeom,
    xs: &[f32],
    weight: &[f32],
    dys: &[f32],
    dw: &mut [f32],
    dxs: Option<&mut [f32]>,
    accumulate: bool,
    scratch: &mut [f32],
) {
    let l = Layout::new(g);
    let (gi, go, kk) = (g.group_in(), g.c_out / g.groups, g.kh * g.kw);
    let (xp, rest) = scratch.split_at_mut(g.c_in * l.ps);
    let (_, rest) = rest.split_at_mut(g.oh * l.wp.max(g.ow));
    let (gy, rest) = rest.split_at_mut(g.c_out * l.gs());
    let (dxp, wt) = rest.split_at_mut(l.hp * l.wp);
    pad_planes(g, xs, xp, l.ps);
    // Output gradients on the padded grid behind a margin of `max_off` zeros: position
    // (oy, ox) of the output sits at `max_off + (oy·s0)·wp + ox·s1`.
    for (dyp, gp) in dys.chunks_exact(g.oh * g.ow).zip(gy.chunks_exact_mut(l.gs())) {
        gp.fill(0.0);
        for (oy, row) in dyp.chunks_exact(g.ow).enumerate() {
            let at = l.max_off + oy * g.stride.0 * l.wp;
            if g.stride.1 == 1 {
                copy_row(&mut gp[at..at + g.ow], row);
            } else {
                for (d, &v) in gp[at..].iter_mut().step_by(g.stride.1).zip(row) {
                    *d = v;
                }
            }
        }
    }
    for oc in 0..g.c_out {
        let src = &xp[(oc / go) * gi * l.ps..];
        let gp = &gy[oc * l.gs() + l.max_off..(oc + 1) * l.gs()];
        let dwo = &mut dw[oc * gi * kk..(oc + 1) * gi * kk];
        if l.unit {
            for (c, dwc) in dwo.chunks_exact_mut(kk).enumerate() {
                tap_dots(&gp[..g.oh * l.wp], &src[c * l.ps..], &l.offs, dwc);
            }
            continue;
        }
        for (c, dwc) in dwo.chunks_exact_mut(kk).enumerate() {
            for (t, &off) in l.offs.iter().enumerate() {
                let mut acc = 0.0f32;
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let at = oy * g.stride.0 * l.wp + ox * g.stride.1;
                        acc += gp[at] * src[c * l.ps + at + off];
                    }
                }
                dwc[t] += acc;
            }
        }
    }
    let Some(dxs) = dxs else { return };
    // Input channel c of group grp gathers from every output channel of that group, tap
    // offsets mirrored: `dxp[j] = Σ w · gy[max_off + j − off]`.
    let mirrored: Vec<usize> = l.offs.iter().map(|&o| l.max_off - o).collect();
    for (c, dxc) in dxs.chunks_exact_mut(g.h * g.w).enumerate() {
        let (grp, ci) = (c / gi, c % gi);
        let wt = &mut wt[..go * kk];
        for (s, wrow) in wt.chunks_exact_mut(kk).enumerate() {
            let oc = grp * go + s;
            wrow.copy_from_slice(&weight[(oc * gi + ci) * kk..(oc * gi + ci + 1) * kk]);
        }
        gather_taps(dxp, &gy[grp * go * l.gs()..], l.gs(), &mirrored, wt, 0.0);
        for (iy, dst) in dxc.chunks_exact_mut(g.w).enumerate() {
            let at = (iy + g.pad.0) * l.wp + g.pad.1;
            let src = &dxp[at..at + g.w];
            if accumulate {
                dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
            } else {
                copy_row(dst, src);
            }
        }
    }
}
