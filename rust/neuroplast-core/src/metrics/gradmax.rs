//! GradMax's auxiliary gradient (thesis 003 eq. 32; Evci et al. 2022).
//!
//! With row-major `samples × units` layouts, `grad_next` (`n × M_{l+1}`) holds `∂L/∂Z_{l+1}`
//! and `h_prev` (`n × M_{l-1}`) the input of layer `l`. The auxiliary gradient is
//! `M = grad_nextᵀ·h_prev` (`M_{l+1} × M_{l-1}`): the gradient of the loss with respect to the
//! product of the fan-out and fan-in of new neurons at zero. Its top-`k` left singular vectors
//! maximize the gradient norm of `k` new neurons' fan-out weights.

use faer::linalg::matmul::matmul;
use faer::mat::{Mat, MatRef};
use faer::{Accum, Par};
use rayon::prelude::*;

use super::spectrum::check_matrix;
use crate::error::{Error, Result};
use crate::linalg::{self, Svd};

/// Samples per `f64` block of the product.
const BLOCK: usize = 256;

/// Rows `k0..k1` of the row-major `n × cols` matrix `a` as the column-major `cols × bk` block.
fn block<'b>(a: &[f32], cols: usize, k0: usize, k1: usize, buf: &'b mut Vec<f64>) -> MatRef<'b, f64> {
    buf.clear();
    buf.extend(a[k0 * cols..k1 * cols].iter().map(|&v| f64::from(v)));
    MatRef::from_column_major_slice(buf.as_slice(), cols, k1 - k0)
}

fn product_part(g: &[f32], h: &[f32], p: usize, q: usize, k0: usize, k1: usize) -> Mat<f64> {
    let mut m = Mat::<f64>::zeros(p, q);
    let (mut bg, mut bh) = (Vec::new(), Vec::new());
    for start in (k0..k1).step_by(BLOCK) {
        let end = (start + BLOCK).min(k1);
        let pg = block(g, p, start, end, &mut bg);
        let ph = block(h, q, start, end, &mut bh);
        matmul(m.as_mut(), Accum::Add, pg, ph.transpose(), 1.0, Par::Seq);
    }
    m
}

/// `M = grad_nextᵀ·h_prev` (`out_units × in_units`, column-major faer matrix) in `f64`, from
/// `f32` inputs with `samples` rows. Samples are split into one contiguous range per thread;
/// partial products are added in a fixed order, so the result depends only on `threads`.
///
/// Errors: [`Error::Data`] for empty or non-finite input, [`Error::Shape`] for wrong lengths.
pub fn auxiliary_gradient_matrix(
    grad_next: &[f32],
    h_prev: &[f32],
    samples: usize,
    out_units: usize,
    in_units: usize,
    threads: usize,
) -> Result<Mat<f64>> {
    check_matrix(grad_next, samples, out_units, "grad_next")?;
    check_matrix(h_prev, samples, in_units, "h_prev")?;
    let parts = threads.min(samples.div_ceil(BLOCK)).max(1);
    // One f64 product per part, the sum, a row-major copy and the SVD of the result.
    let product = (out_units as u64).saturating_mul(in_units as u64).saturating_mul(8);
    let blocks = crate::limits::bytes_of(BLOCK * parts, 8 * (out_units + in_units));
    let svd = super::spectrum::spectrum_bytes(out_units, in_units, threads);
    let need = crate::limits::total(&[product.saturating_mul(parts as u64 + 3), blocks, svd]);
    crate::limits::ensure(need, &format!("the {out_units} × {in_units} auxiliary gradient"))?;
    let partials: Vec<Mat<f64>> = (0..parts)
        .into_par_iter()
        .map(|i| {
            let (k0, k1) = (samples * i / parts, samples * (i + 1) / parts);
            product_part(grad_next, h_prev, out_units, in_units, k0, k1)
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut m = partials.next().unwrap_or_else(|| Mat::zeros(out_units, in_units));
    for other in partials {
        m += &other;
    }
    Ok(m)
}

/// The auxiliary gradient's singular values and optional leading left singular vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct AuxiliaryGradient {
    /// `min(out_units, in_units)` singular values, nonincreasing.
    pub singular_values: Vec<f64>,
    /// Top-`k` left singular vectors as columns, row-major `out_units × k` (empty without `k`).
    pub vectors: Vec<f64>,
    /// Number of columns of `vectors`.
    pub k: usize,
}

/// Singular values of `M = grad_nextᵀ·h_prev` and, for `k = Some(k)`, its top-`k` left
/// singular vectors (`1 <= k <= out_units`; beyond `min(out_units, in_units)` they come from
/// the full `U` and span the left null space). Signs: the first largest-magnitude entry of
/// each vector is positive. See [`auxiliary_gradient_matrix`] for the inputs.
///
/// Errors: as [`auxiliary_gradient_matrix`], plus [`Error::Config`] for `k` out of range and
/// [`Error::Numerical`] if the SVD does not converge.
pub fn auxiliary_gradient(
    grad_next: &[f32],
    h_prev: &[f32],
    samples: usize,
    out_units: usize,
    in_units: usize,
    k: Option<usize>,
    threads: usize,
) -> Result<AuxiliaryGradient> {
    if let Some(k) = k {
        if k == 0 || k > out_units {
            return Err(Error::Config(format!(
                "k must be in [1, {out_units}] (units of the next layer), got {k}"
            )));
        }
    }
    let m = auxiliary_gradient_matrix(grad_next, h_prev, samples, out_units, in_units, threads)?;
    let rm: Vec<f64> =
        (0..out_units).flat_map(|i| (0..in_units).map(move |j| (i, j))).map(|(i, j)| m[(i, j)]).collect();
    let Some(k) = k else {
        return Ok(AuxiliaryGradient {
            singular_values: super::spectrum::singular_values_f64(&rm, out_units, in_units)?,
            vectors: Vec::new(),
            k: 0,
        });
    };
    let full = k > out_units.min(in_units);
    let Svd { u, u_cols, s, .. } = linalg::svd(&rm, out_units, in_units, full)?;
    let vectors = u.chunks_exact(u_cols).flat_map(|row| row[..k].iter().copied()).collect();
    Ok(AuxiliaryGradient { singular_values: s, vectors, k })
}
