//! Kernel expansion: a lifting or group-convolution layer as a standard convolution whose
//! kernel is gathered from the stored weight (thesis Sec. 4.3.1, tensor layout L1118–1128).
//!
//! With `T_g` the grid action of [`super::grid_permutation`] and channel `(c, g)` of a group
//! feature map at `c·|G| + local(g)`:
//!
//! - lifting layer (eq. 3), stored `C_out × C_in × k × k`:
//!   `Ψ[(d, g), c] = T_g[ψ_{d,c}]`;
//! - group convolution (eq. 2) of a `G`-layer reading a `G_in`-feature map (`G ≤ G_in`; `G_in`
//!   is the group of the layer before), stored `C_out × C_in·|R| × |G| × k × k` with `R` the
//!   coset representatives of `G` in `G_in`: every `v ∈ G_in` is uniquely `v = h·s`
//!   (`h ∈ G`, `s ∈ R`) and `Ψ[(d, g), (c, h·s)] = T_g[ψ_{d,(c,s)}(g⁻¹h)]`. For `G_in = G`
//!   this is the usual regular group convolution; `G < G_in` is the relaxed layer of eqs. 4–5
//!   reading its input reshaped as `f̃_{(c,s)}(h) = f_c(h·s)`.
//!
//! The convolution is a correlation over the grid, so a rotated/reflected input gives the
//! rotated/reflected output with its group axis permuted by `g ↦ u⁻¹g` (exact with odd square
//! kernels, "same" zero padding, and square inputs).

use super::{compose, grid_permutation, inverse, PointGroup};
use crate::error::{Error, Result};

/// The gather that turns a stored weight into a standard `c_out × c_in × k × k` kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    /// Stored index of every expanded kernel entry (row-major expanded order).
    pub src: Vec<u32>,
    /// Number of stored weight entries.
    pub stored_len: usize,
    /// Output channels of the expanded kernel (`C_out·|G|`).
    pub c_out: usize,
    /// Input channels of the expanded kernel.
    pub c_in: usize,
    /// Kernel size `k` (square).
    pub k: usize,
    /// `|G|`: expanded output channel `o` uses bias entry `o / group_order`.
    pub group_order: usize,
}

fn too_large(what: &str) -> Error {
    Error::Spec(format!("the {what} is too large to expand (more than 2^32 kernel entries)"))
}

impl Expansion {
    /// Expansion of a lifting layer of group `g` (input: an image with `c_in` channels).
    pub fn lift(g: PointGroup, c_out: usize, c_in: usize, k: usize) -> Result<Self> {
        let kk = k * k;
        let exp_len = checked(&[c_out, g.order(), c_in, kk]).ok_or_else(|| too_large("lifting layer"))?;
        let perms: Vec<Vec<usize>> = g.elements().iter().map(|&e| grid_permutation(e, k)).collect();
        let mut src = Vec::with_capacity(exp_len);
        for d in 0..c_out {
            for perm in &perms {
                for c in 0..c_in {
                    let base = (d * c_in + c) * kk;
                    src.extend(perm.iter().map(|&p| (base + p) as u32));
                }
            }
        }
        Ok(Self {
            src,
            stored_len: c_out * c_in * kk,
            c_out: c_out * g.order(),
            c_in,
            k,
            group_order: g.order(),
        })
    }

    /// Expansion of a `g`-layer reading a `g_in`-feature map of `c_in` channels (`g ≤ g_in`).
    pub fn group(g: PointGroup, g_in: PointGroup, c_out: usize, c_in: usize, k: usize) -> Result<Self> {
        if !g.is_subgroup_of(g_in) {
            return Err(Error::Spec(format!(
                "a {}-equivariant layer cannot read a {}-feature map ({} is not a subgroup of {})",
                g.name(),
                g_in.name(),
                g.name(),
                g_in.name()
            )));
        }
        let (n, kk) = (g.order(), k * k);
        let reps = g.coset_representatives(g_in);
        let exp_len =
            checked(&[c_out, n, c_in, g_in.order(), kk]).ok_or_else(|| too_large("group convolution"))?;
        let perms: Vec<Vec<usize>> = g.elements().iter().map(|&e| grid_permutation(e, k)).collect();
        // For every input group entry v of G_in: (index of its coset representative s, h = v·s⁻¹).
        let split: Vec<(usize, usize)> = g_in
            .elements()
            .iter()
            .map(|&v| {
                let s = g.coset_rep(v);
                (reps.iter().position(|&r| r == s).unwrap_or(0), compose(v, inverse(s)))
            })
            .collect();
        let mut src = Vec::with_capacity(exp_len);
        for d in 0..c_out {
            for (&ge, perm) in g.elements().iter().zip(&perms) {
                let g_inv = inverse(ge);
                for c in 0..c_in {
                    for &(s, h) in &split {
                        let u = g.local(compose(g_inv, h)).unwrap_or(0);
                        let base = (((d * c_in + c) * reps.len() + s) * n + u) * kk;
                        src.extend(perm.iter().map(|&p| (base + p) as u32));
                    }
                }
            }
        }
        let stored_len = c_out * c_in * reps.len() * n * kk;
        Ok(Self { src, stored_len, c_out: c_out * n, c_in: c_in * g_in.order(), k, group_order: n })
    }

    /// Writes the expanded kernel of `stored` into `out` (both at their full lengths).
    pub fn gather(&self, stored: &[f32], out: &mut [f32]) {
        for (o, &s) in out.iter_mut().zip(&self.src) {
            *o = stored[s as usize];
        }
    }

    /// Overwrites `stored_grad` with the gradient of the stored weight given the gradient of
    /// the expanded kernel: every expanded entry adds into its source (in a fixed order).
    pub fn scatter(&self, expanded_grad: &[f32], stored_grad: &mut [f32]) {
        stored_grad[..self.stored_len].fill(0.0);
        for (&g, &s) in expanded_grad.iter().zip(&self.src) {
            stored_grad[s as usize] += g;
        }
    }

    /// Number of expanded kernel entries.
    pub fn expanded_len(&self) -> usize {
        self.src.len()
    }
}

/// Product of `dims` if it fits in `u32` indices.
fn checked(dims: &[usize]) -> Option<usize> {
    let n = dims.iter().try_fold(1usize, |a, &b| a.checked_mul(b))?;
    (n <= u32::MAX as usize).then_some(n)
}

/// Expanded bias: entry `o` of the `c_out·|G|` expanded channels is `bias[o / |G|]`.
pub fn expand_bias(bias: &[f32], group_order: usize, out: &mut [f32]) {
    for (o, v) in out.iter_mut().enumerate() {
        *v = bias[o / group_order];
    }
}

/// Gradient of the shared bias from the expanded one (sum over each channel's group entries).
pub fn reduce_bias(expanded: &[f32], group_order: usize, out: &mut [f32]) {
    out.fill(0.0);
    for (o, &v) in expanded.iter().enumerate() {
        out[o / group_order] += v;
    }
}
