//! Index maps of the equivariance relaxation morphism (thesis eqs. 4–5, Sec. 4.3.1).
//!
//! Relaxing a `G`-layer to a subgroup `G' ≤ G` with right-coset representatives `R` of `G'` in
//! `G` splits every output channel `d` into `|R|` channels `(d, t)`, `t ∈ R`, whose group entry
//! `g' ∈ G'` is the old entry `g'·t`: the new feature map is the old one with its channels
//! permuted ([`channel_sources`]). The new stored weight is a gather of the old one
//! ([`layer_sources`]), and so is the weight of the next layer, whose input is now a
//! `G'`-feature map ([`consumer_sources`]). All three are exact: the expanded kernels before and
//! after are equal up to the channel permutation, entry by entry.
//!
//! Every map returns, for each new index, the old index it copies.

use super::{compose, grid_permutation, inverse, PointGroup, D4_ORDER};
use crate::error::{Error, Result};

/// Refuses index maps of more than `2^32` entries (no allocation is attempted).
fn check_size(dims: &[usize]) -> Result<()> {
    let n = dims.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
    match n {
        Some(n) if n <= u32::MAX as usize => Ok(()),
        _ => Err(Error::InvalidMorphism(format!("a layer of dimensions {dims:?} is too large to relax"))),
    }
}

fn check_edge(from: PointGroup, to: PointGroup) -> Result<()> {
    if to == from || !to.is_subgroup_of(from) {
        return Err(Error::InvalidMorphism(format!(
            "cannot relax {} to {}: the target must be a proper subgroup",
            from.name(),
            to.name()
        )));
    }
    Ok(())
}

/// Old channel of every new channel of a `C`-channel `from`-feature map relaxed to `to`:
/// new `(d·|R| + t)·|G'| + local(g')` comes from old `d·|G| + local(g'·t)`.
pub fn channel_sources(from: PointGroup, to: PointGroup, channels: usize) -> Result<Vec<usize>> {
    check_edge(from, to)?;
    check_size(&[channels, from.order()])?;
    let reps = to.coset_representatives(from);
    let mut out = Vec::with_capacity(channels * from.order());
    for d in 0..channels {
        for &t in &reps {
            for &g in to.elements() {
                out.push(d * from.order() + from.local(compose(g, t)).unwrap_or(0));
            }
        }
    }
    Ok(out)
}

/// Old stored index of every new stored weight entry of a relaxed layer.
///
/// `g_in` is the group of the layer's input feature map (`None` for a lifting layer, whose
/// input is an image). Lifting: `ψ̃_{(d,t),c} = T_t[ψ_{d,c}]`. Group convolution with
/// `s' ∈ R(G'\G_in)`, `s = rep_G(s')`, `κ = s'·s⁻¹ ∈ G`:
/// `ψ̃_{(d,t),(c,s')}(u) = T_t[ψ_{d,(c,s)}(t⁻¹·u·κ)]` (eq. 5 with the input reshape of eq. 4).
pub fn layer_sources(
    g_in: Option<PointGroup>,
    from: PointGroup,
    to: PointGroup,
    c_out: usize,
    c_in: usize,
    k: usize,
) -> Result<Vec<usize>> {
    check_edge(from, to)?;
    check_size(&[c_out, c_in, k, k, D4_ORDER, D4_ORDER])?;
    let kk = k * k;
    let reps_out = to.coset_representatives(from);
    let perms: Vec<Vec<usize>> = reps_out.iter().map(|&t| grid_permutation(t, k)).collect();
    let Some(g_in) = g_in else {
        let mut out = Vec::with_capacity(c_out * reps_out.len() * c_in * kk);
        for d in 0..c_out {
            for perm in &perms {
                for c in 0..c_in {
                    out.extend(perm.iter().map(|&p| (d * c_in + c) * kk + p));
                }
            }
        }
        return Ok(out);
    };
    let old_reps = from.coset_representatives(g_in);
    let new_reps = to.coset_representatives(g_in);
    let (n_old, n_new) = (from.order(), to.order());
    let mut out = Vec::with_capacity(c_out * reps_out.len() * c_in * new_reps.len() * n_new * kk);
    for d in 0..c_out {
        for (&t, perm) in reps_out.iter().zip(&perms) {
            for c in 0..c_in {
                for &s_new in &new_reps {
                    let s = from.coset_rep(s_new);
                    let si = old_reps.iter().position(|&r| r == s).unwrap_or(0);
                    let kappa = compose(s_new, inverse(s));
                    for &u in to.elements() {
                        let h = from.local(compose(compose(inverse(t), u), kappa)).unwrap_or(0);
                        let base = (((d * c_in + c) * old_reps.len() + si) * n_old + h) * kk;
                        out.extend(perm.iter().map(|&p| base + p));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Old stored index of every new stored weight entry of the layer after a relaxed one.
///
/// The consumer is a `g`-layer with `c_out` channels whose input changes from a
/// `from`-feature map with `c_in` channels to a `to`-feature map with `c_in·|R|` channels. With
/// `s' ∈ R(G''\G')`, `t ∈ R(G'\G)` and `s'·t = κ·s` (`s ∈ R(G''\G)`, `κ ∈ G''`):
/// `ψ̃_{e,((d,t),s')}(u) = ψ_{e,(d,s)}(u·κ)` — a permutation of the stored entries.
pub fn consumer_sources(
    g: PointGroup,
    from: PointGroup,
    to: PointGroup,
    c_out: usize,
    c_in: usize,
    k: usize,
) -> Result<Vec<usize>> {
    check_edge(from, to)?;
    if !g.is_subgroup_of(to) {
        return Err(Error::InvalidMorphism(format!(
            "the next layer is {}-equivariant, which is not a subgroup of {}: relax it first",
            g.name(),
            to.name()
        )));
    }
    check_size(&[c_out, c_in, k, k, D4_ORDER, D4_ORDER])?;
    let kk = k * k;
    let n = g.order();
    let reps_t = to.coset_representatives(from);
    let old_reps = g.coset_representatives(from);
    let new_reps = g.coset_representatives(to);
    let mut out = Vec::with_capacity(c_out * c_in * from.order() / n * n * kk);
    for e in 0..c_out {
        for d in 0..c_in {
            for &t in &reps_t {
                for &s_new in &new_reps {
                    let st = compose(s_new, t);
                    let s = g.coset_rep(st);
                    let si = old_reps.iter().position(|&r| r == s).unwrap_or(0);
                    let kappa = compose(st, inverse(s));
                    for &u in g.elements() {
                        let h = g.local(compose(u, kappa)).unwrap_or(0);
                        let base = (((e * c_in + d) * old_reps.len() + si) * n + h) * kk;
                        out.extend((0..kk).map(|p| base + p));
                    }
                }
            }
        }
    }
    Ok(out)
}
