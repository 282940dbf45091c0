//! The `[G]`-mixed equivariant layer (thesis eqs. 11–12, Sec. 4.3.2).
//!
//! One layer holds a kernel `ψ^G` per candidate group `G`, each with `C_G = W/|G|` output
//! channels so that every candidate has the same expanded width `W`. Each kernel is the
//! relaxation (eq. 5) of a `G`-layer to the common subgroup `C1`, i.e. its expansion
//! ([`super::expand`]); the layer is one standard convolution with the collapsed kernel
//!
//! `Ψ = Σ_G z_G · Ψ_exp^G`, `z = softmax(logits)` (eq. 12; the thesis only asks `Σ z_G = 1`).
//!
//! Kernels are weight-normalized, `ψ^G_d = g^G_d · v^G_d / ‖v^G_d‖` per output channel `d`
//! (Salimans and Kingma 2016), and the scales `g^G` are frozen after initialization (the thesis:
//! "do not update the scalar norm parameter of each kernel") so that a kernel's size cannot
//! stand in for its architecture weight. A zero `v^G_d` gives a zero kernel and no gradient.

use super::expand::Expansion;
use super::PointGroup;
use crate::error::{Error, Result};

/// Per-step values of a mixed layer kept from the forward pass for the backward pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MixedCache {
    /// Architecture weights `z = softmax(logits)`.
    pub z: Vec<f32>,
    /// Effective stored kernel `ψ^G` of every candidate.
    pub psi: Vec<Vec<f32>>,
    /// `1/‖v^G_d‖` per candidate and output channel (0 for a zero row).
    pub inv_norm: Vec<Vec<f32>>,
}

/// `softmax(logits)` computed in f64 (max-shifted) and rounded to f32.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(f64::from(b)));
    let e: Vec<f64> = logits.iter().map(|&l| (f64::from(l) - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|&x| (x / s) as f32).collect()
}

/// `ψ_d = g_d · v_d / ‖v_d‖` for every row `d` of `v` (rows of `v.len() / g.len()` entries);
/// writes `ψ` and `1/‖v_d‖`.
pub fn weight_norm(v: &[f32], g: &[f32], psi: &mut [f32], inv_norm: &mut [f32]) {
    let row = v.len() / g.len().max(1);
    for (d, (vr, pr)) in v.chunks_exact(row).zip(psi.chunks_exact_mut(row)).enumerate() {
        let n = vr.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
        let inv = if n > 0.0 { 1.0 / n } else { 0.0 };
        inv_norm[d] = inv as f32;
        let scale = f64::from(g[d]) * inv;
        pr.iter_mut().zip(vr).for_each(|(p, &x)| *p = (f64::from(x) * scale) as f32);
    }
}

/// The collapsed kernel `Σ_G z_G · expand(ψ^G)` into `out`, filling `cache`.
pub fn mixed_kernel(
    cands: &[Expansion],
    logits: &[f32],
    vs: &[&[f32]],
    gs: &[&[f32]],
    cache: &mut MixedCache,
    out: &mut [f32],
) {
    cache.z = softmax(logits);
    cache.psi.resize(cands.len(), Vec::new());
    cache.inv_norm.resize(cands.len(), Vec::new());
    out.fill(0.0);
    for (i, cand) in cands.iter().enumerate() {
        let (psi, inv) = (&mut cache.psi[i], &mut cache.inv_norm[i]);
        psi.resize(cand.stored_len, 0.0);
        inv.resize(gs[i].len(), 0.0);
        weight_norm(vs[i], gs[i], psi, inv);
        let z = cache.z[i];
        for (o, &s) in out.iter_mut().zip(&cand.src) {
            *o += z * psi[s as usize];
        }
    }
}

/// Gradients of the logits and of every `v^G` from the gradient `dkernel` of the collapsed
/// kernel (after [`mixed_kernel`] filled `cache`); `dvs[i]` and `dlogits` are overwritten.
pub fn mixed_backward(
    cands: &[Expansion],
    vs: &[&[f32]],
    gs: &[&[f32]],
    cache: &MixedCache,
    dkernel: &[f32],
    dlogits: &mut [f32],
    dvs: &mut [Vec<f32>],
) {
    let mut dz = vec![0.0f64; cands.len()];
    for (i, cand) in cands.iter().enumerate() {
        let ds = &mut dvs[i];
        cand.scatter(dkernel, ds);
        dz[i] = ds.iter().zip(&cache.psi[i]).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
        // dψ = z·dS; dv = g/‖v‖ · (dψ − u·(u·dψ)) with u = v/‖v‖, row by row.
        let row = vs[i].len() / gs[i].len().max(1);
        for (d, (dr, vr)) in ds.chunks_exact_mut(row).zip(vs[i].chunks_exact(row)).enumerate() {
            let inv = f64::from(cache.inv_norm[i][d]);
            let z = f64::from(cache.z[i]);
            let dot: f64 = dr.iter().zip(vr).map(|(&a, &b)| f64::from(a) * f64::from(b) * inv).sum();
            let scale = f64::from(gs[i][d]) * inv * z;
            dr.iter_mut().zip(vr).for_each(|(a, &b)| {
                *a = (scale * (f64::from(*a) - f64::from(b) * inv * dot)) as f32;
            });
        }
    }
    let mean: f64 = cache.z.iter().zip(&dz).map(|(&z, &d)| f64::from(z) * d).sum();
    for ((dl, &z), &d) in dlogits.iter_mut().zip(&cache.z).zip(&dz) {
        *dl = (f64::from(z) * (d - mean)) as f32;
    }
}

/// The expansions of the candidates of a mixed layer of expanded width `width` over an input
/// of `c_in` channels (an image with `lift`, else read as a `G`-feature map by each `G`).
pub fn candidates(
    groups: &[PointGroup],
    lift: bool,
    width: usize,
    c_in: usize,
    k: usize,
) -> Result<Vec<Expansion>> {
    groups
        .iter()
        .map(|&g| {
            let n = g.order();
            if !width.is_multiple_of(n) || (!lift && !c_in.is_multiple_of(n)) {
                return Err(Error::Spec(format!(
                    "candidate {} needs the width ({width}) and the input channels ({c_in}) to be multiples of {n}",
                    g.name()
                )));
            }
            if lift {
                Expansion::lift(g, width / n, c_in, k)
            } else {
                Expansion::group(g, g, width / n, c_in / n, k)
            }
        })
        .collect()
}

/// The collapsed kernel of eq. 12 and the architecture weights `z` (the kernel the layer's
/// forward pass uses, bit for bit).
pub fn collapse(
    cands: &[Expansion],
    logits: &[f32],
    vs: &[&[f32]],
    gs: &[&[f32]],
) -> Result<(Vec<f32>, Vec<f32>)> {
    let ok = logits.len() == cands.len()
        && vs.len() == cands.len()
        && gs.len() == cands.len()
        && cands
            .iter()
            .zip(vs)
            .zip(gs)
            .all(|((c, v), g)| v.len() == c.stored_len && !g.is_empty() && v.len() % g.len() == 0);
    if !ok || cands.is_empty() {
        return Err(Error::Shape("mixed layer parameters do not match its candidates".into()));
    }
    let mut cache = MixedCache::default();
    let mut out = vec![0.0; cands[0].expanded_len()];
    mixed_kernel(cands, logits, vs, gs, &mut cache, &mut out);
    Ok((out, cache.z))
}
