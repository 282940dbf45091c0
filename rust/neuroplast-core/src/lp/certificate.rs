//! Certificates of infeasibility (a Farkas vector) and unboundedness (an improving ray from a
//! feasible point), checked in `f64` against the original LP data. A solver's claim of
//! "infeasible" or "unbounded" is only reported when its certificate passes these checks.
//!
//! For `min cᵀx  s.t.  A_ub x ≤ b_ub,  A_eq x = b_eq,  l ≤ x ≤ u`:
//!
//! * **Farkas**: `y_ub ≥ 0` and `y_eq` with `r = A_ubᵀ y_ub + A_eqᵀ y_eq` such that the
//!   smallest value of `rᵀx` over the bounds exceeds `y_ubᵀ b_ub + y_eqᵀ b_eq`. Every feasible
//!   `x` would have `rᵀx ≤ y_ubᵀ b_ub + y_eqᵀ b_eq`, so there is none. The smallest value is
//!   finite only if `r_j ≤ 0` where `l_j = -∞` and `r_j ≥ 0` where `u_j = +∞`; entries of the
//!   wrong sign count as zero when they are below `CERT_TOL` relative to `Σ_i |y_i a_ij|`.
//!   Empty bounds (`l_j > u_j`) are their own certificate (`y = 0`).
//! * **Ray**: a feasible point `x` and a direction `d` with `A_ub d ≤ 0`, `A_eq d = 0`,
//!   `d_j ≥ 0` where `l_j` is finite, `d_j ≤ 0` where `u_j` is finite and `cᵀd < 0`, so
//!   `x + t d` stays feasible and its objective falls without bound. `d` is scaled to
//!   `‖d‖∞ = 1` and projected onto the bound signs; row residuals may not exceed `CERT_TOL`
//!   relative to `Σ_j |a_ij d_j|`.
//!
//! `margin` is what the certificate proves by (`min rᵀx − yᵀb > 0`, or `−cᵀd > 0`, after the
//! scaling) and `residual` the largest relative violation the tolerance absorbed.

use super::problem::{dot, LpProblem};
use super::verify::{violation, FEAS_TOL};

/// Relative tolerance of the sign and row conditions of a certificate.
pub(crate) const CERT_TOL: f64 = 1e-9;
/// A certificate must prove its claim by more than this, relative to the size of its terms.
const MARGIN_TOL: f64 = 1e-9;

/// A solver's candidate certificate in standard-form terms (see [`super::stdform`]).
#[derive(Clone, Debug)]
pub(crate) enum StdCert {
    /// Row multipliers (inequality rows first), in the sign convention of [`Certificate`].
    Farkas(Vec<f64>),
    /// A direction over the standard-form columns.
    Ray(Vec<f64>),
}

/// A verified certificate in the original variables (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub enum Certificate {
    /// Proof of infeasibility.
    Farkas { y_ub: Vec<f64>, y_eq: Vec<f64>, margin: f64, residual: f64 },
    /// Proof of unboundedness: `point` is feasible and `ray` an improving direction.
    Ray { ray: Vec<f64>, point: Vec<f64>, margin: f64, residual: f64 },
}

fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |a, b| a.max(b.abs()))
}

/// The certificate of crossed bounds (some `l_j > u_j`).
pub(crate) fn empty_box(p: &LpProblem<'_>) -> Certificate {
    let margin = p.lower.iter().zip(p.upper).map(|(l, u)| l - u).fold(0.0f64, f64::max);
    Certificate::Farkas { y_ub: vec![0.0; p.m_ub()], y_eq: vec![0.0; p.m_eq()], margin, residual: 0.0 }
}

/// `Σ_i y_i a_i` and `Σ_i |y_i a_i|` over the rows of `a` (`y.len()` rows of `n`).
fn combine(a: &[f64], y: &[f64], n: usize, r: &mut [f64], scale: &mut [f64]) {
    for (i, &yi) in y.iter().enumerate().filter(|(_, y)| **y != 0.0) {
        for (j, &aij) in a[i * n..(i + 1) * n].iter().enumerate() {
            r[j] += yi * aij;
            scale[j] += (yi * aij).abs();
        }
    }
}

/// Checks a Farkas vector `y` (inequality rows first) on the original data.
pub(crate) fn farkas(p: &LpProblem<'_>, y: &[f64]) -> Option<Certificate> {
    let (n, m_ub) = (p.n(), p.m_ub());
    let s = norm_inf(y);
    if y.len() != m_ub + p.m_eq() || !s.is_finite() || s == 0.0 {
        return None;
    }
    let y_ub: Vec<f64> = y[..m_ub].iter().map(|v| (v / s).max(0.0)).collect();
    let y_eq: Vec<f64> = y[m_ub..].iter().map(|v| v / s).collect();
    let (mut r, mut scale) = (vec![0.0; n], vec![0.0; n]);
    combine(p.a_ub, &y_ub, n, &mut r, &mut scale);
    combine(p.a_eq, &y_eq, n, &mut r, &mut scale);
    let (mut low, mut size, mut residual) = (0.0, 0.0, 0.0f64);
    for j in 0..n {
        let bound = if r[j] > 0.0 { p.lower[j] } else { p.upper[j] };
        if r[j] == 0.0 {
            continue;
        } else if bound.is_finite() {
            low += r[j] * bound;
            size += (r[j] * bound).abs();
        } else if r[j].abs() <= CERT_TOL * scale[j] {
            residual = residual.max(r[j].abs() / scale[j]);
        } else {
            return None;
        }
    }
    let rhs = dot(&y_ub, p.b_ub) + dot(&y_eq, p.b_eq);
    size += y_ub.iter().zip(p.b_ub).chain(y_eq.iter().zip(p.b_eq)).map(|(y, b)| (y * b).abs()).sum::<f64>();
    let margin = low - rhs;
    (margin > MARGIN_TOL * (1.0 + size)).then_some(Certificate::Farkas { y_ub, y_eq, margin, residual })
}

/// Worst relative violation of `a d ≤ 0` (`eq`: `a d = 0`) over the rows of `a`.
fn row_violation(a: &[f64], rows: usize, d: &[f64], eq: bool) -> f64 {
    let n = d.len();
    let mut worst = 0.0f64;
    for i in 0..rows {
        let row = &a[i * n..(i + 1) * n];
        let v = dot(row, d);
        let size: f64 = row.iter().zip(d).map(|(a, d)| (a * d).abs()).sum();
        let bad = if eq { v.abs() } else { v.max(0.0) };
        if bad > 0.0 {
            worst = worst.max(if size > 0.0 { bad / size } else { f64::INFINITY });
        }
    }
    worst
}

/// Checks an improving ray `d` from the point `x` on the original data.
pub(crate) fn ray(p: &LpProblem<'_>, d: &[f64], x: &[f64]) -> Option<Certificate> {
    let (slack, con) = p.residuals(x);
    let s = norm_inf(d);
    if d.len() != p.n() || !s.is_finite() || s == 0.0 || violation(p, x, &slack, &con) > FEAS_TOL {
        return None;
    }
    let ray: Vec<f64> = d
        .iter()
        .enumerate()
        .map(|(j, v)| {
            let v = v / s;
            let v = if p.lower[j].is_finite() { v.max(0.0) } else { v };
            if p.upper[j].is_finite() {
                v.min(0.0)
            } else {
                v
            }
        })
        .collect();
    let residual =
        row_violation(p.a_ub, p.m_ub(), &ray, false).max(row_violation(p.a_eq, p.m_eq(), &ray, true));
    let slope = dot(p.c, &ray);
    let size: f64 = p.c.iter().zip(&ray).map(|(c, d)| (c * d).abs()).sum();
    let ok = residual <= CERT_TOL && slope < 0.0 && -slope > MARGIN_TOL * size;
    ok.then(|| Certificate::Ray { ray, point: x.to_vec(), margin: -slope, residual })
}
