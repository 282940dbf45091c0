//! Mehrotra predictor–corrector primal–dual interior-point method with an infeasible start,
//! on the standard form `A x = b, x + w = u (finite u), x, w ≥ 0` and its dual
//! `Aᵀy + z - v = c, z, v ≥ 0`.
//!
//! Each Newton system reduces to the normal equations `A Θ Aᵀ dy = r` with
//! `Θ = (X⁻¹Z + W⁻¹V)⁻¹`, solved by [`Normal`]. The method stops at relative primal and dual
//! residuals and gap below `TOL`; diverging iterates end it early: a diverging `x` points
//! along an improving ray (unboundedness), a diverging `y` along a Farkas vector
//! (infeasibility), both of which the caller normalizes and checks on the original data.
//! From a relative accuracy of `CROSS_TOL` on, each iterate is handed to [`crossover`]; the
//! first verified optimal vertex ends the method.

use super::crossover::{self, Iterate};
use super::normal::Normal;
use super::problem::dot;
use super::stdform::StdForm;
use super::LpStatus;
use crate::error::Result;

/// Relative tolerance on residuals and duality gap.
const TOL: f64 = 1e-9;
/// Iterates beyond this (relative) size are taken as divergence.
const DIVERGE: f64 = 1e12;
/// Relative residuals and gap from which crossover is attempted.
const CROSS_TOL: f64 = 1e-8;
/// Relative residual of a normal-equation solve beyond which the Woodbury form is dropped.
pub(crate) const SOLVE_TOL: f64 = 1e-10;
/// Iterations without halving the relative error, once below `NEAR_TOL`, that end the
/// method at its best iterate. On degenerate data LPs the primal residual floors near
/// `1e-10` (and with it the gap near `1e-8`) while `μ` keeps falling and later iterates
/// wander off; the best one is optimal to `NEAR_TOL`.
const STAGNANT: usize = 3;
/// Relative residuals and gap below which a stagnating method stops (see `STAGNANT`).
const NEAR_TOL: f64 = 1e-7;
/// Fraction of the step to the boundary that is taken.
const ETA: f64 = 0.995;

/// The final standard-form point and how the method ended.
pub(crate) struct IpmOut {
    pub x: Vec<f64>,
    /// The last dual iterate: a Farkas direction (up to sign and scale) when the method ends
    /// with [`LpStatus::Infeasible`].
    pub y: Vec<f64>,
    pub status: LpStatus,
    pub iterations: usize,
}

/// Residuals `(b - Ax, c - Aᵀy - z + v, u - x - w)`.
type Residuals = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Newton direction.
struct Step {
    dx: Vec<f64>,
    dy: Vec<f64>,
    dz: Vec<f64>,
    dw: Vec<f64>,
    dv: Vec<f64>,
}

struct Point<'a> {
    sf: &'a StdForm,
    /// Whether each column has a finite upper bound (and so `w`, `v`).
    ub: Vec<bool>,
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
    w: Vec<f64>,
    v: Vec<f64>,
}

fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |a, b| a.max(b.abs()))
}

/// Largest `α ≤ 1` with `p + α dp ≥ 0` over the masked entries.
fn max_step(p: &[f64], dp: &[f64], mask: Option<&[bool]>) -> f64 {
    let mut a = 1.0f64;
    for j in 0..p.len() {
        if dp[j] < 0.0 && mask.is_none_or(|m| m[j]) {
            a = a.min(-p[j] / dp[j]);
        }
    }
    a
}

impl<'a> Point<'a> {
    /// Mehrotra's starting point: least-squares `x`, `(y, z)`, shifted to be positive.
    fn start(sf: &'a StdForm, normal: &mut Normal<'_>) -> Result<Self> {
        let n = sf.n();
        normal.factor(&vec![1.0; n], 1e-8)?;
        let mut x = sf.mul_t(&normal.solve(&sf.b).0);
        let y = normal.solve(&sf.mul(&sf.c)).0;
        let aty = sf.mul_t(&y);
        let mut z: Vec<f64> = sf.c.iter().zip(&aty).map(|(c, a)| c - a).collect();
        let dx = (-1.5 * x.iter().fold(f64::INFINITY, |a, &b| a.min(b))).max(0.0);
        let dz = (-1.5 * z.iter().fold(f64::INFINITY, |a, &b| a.min(b))).max(0.0);
        x.iter_mut().for_each(|v| *v += dx);
        z.iter_mut().for_each(|v| *v += dz);
        let xz = dot(&x, &z);
        let (sx, sz) = (x.iter().sum::<f64>(), z.iter().sum::<f64>());
        let (ex, ez) = (0.5 * xz / sz.max(1e-300), 0.5 * xz / sx.max(1e-300));
        x.iter_mut().for_each(|v| *v = (*v + ex).max(1e-2));
        z.iter_mut().for_each(|v| *v = (*v + ez).max(1e-2));
        let ub: Vec<bool> = sf.upper.iter().map(|u| u.is_finite()).collect();
        let mut w = vec![0.0; n];
        let mut v = vec![0.0; n];
        for j in (0..n).filter(|&j| ub[j]) {
            let u = sf.upper[j];
            if u > 0.0 {
                x[j] = x[j].clamp(0.05 * u, 0.95 * u);
                w[j] = u - x[j];
            } else {
                w[j] = x[j];
            }
            v[j] = z[j];
        }
        Ok(Self { sf, ub, x, y, z, w, v })
    }

    fn mu(&self) -> f64 {
        let nu = self.ub.iter().filter(|&&b| b).count();
        (dot(&self.x, &self.z) + dot(&self.w, &self.v)) / (self.x.len() + nu).max(1) as f64
    }

    /// Residuals `(rb, rc, ru)`.
    fn residuals(&self) -> Residuals {
        let sf = self.sf;
        let rb: Vec<f64> = sf.b.iter().zip(sf.mul(&self.x)).map(|(b, a)| b - a).collect();
        let aty = sf.mul_t(&self.y);
        let n = self.x.len();
        let rc = (0..n).map(|j| sf.c[j] - aty[j] - self.z[j] + self.v[j]).collect();
        let ru = (0..n).map(|j| if self.ub[j] { sf.upper[j] - self.x[j] - self.w[j] } else { 0.0 }).collect();
        (rb, rc, ru)
    }

    /// Solves the Newton system for the given residuals and complementarity targets.
    fn direction(
        &self,
        nm: &Normal<'_>,
        theta: &[f64],
        res: &Residuals,
        rxz: &[f64],
        rwv: &[f64],
    ) -> Option<Step> {
        let (rb, rc, ru) = res;
        let n = self.x.len();
        let (x, z, w, v) = (&self.x, &self.z, &self.w, &self.v);
        let rhat: Vec<f64> = (0..n)
            .map(|j| {
                let b = if self.ub[j] { (rwv[j] - v[j] * ru[j]) / w[j] } else { 0.0 };
                rc[j] - rxz[j] / x[j] + b
            })
            .collect();
        let trhat: Vec<f64> = theta.iter().zip(&rhat).map(|(t, r)| t * r).collect();
        let rhs: Vec<f64> = rb.iter().zip(self.sf.mul(&trhat)).map(|(a, b)| a + b).collect();
        let (dy, err) = nm.solve(&rhs);
        if err > SOLVE_TOL && nm.is_woodbury() {
            return None;
        }
        let aty = self.sf.mul_t(&dy);
        let dx: Vec<f64> = (0..n).map(|j| theta[j] * (aty[j] - rhat[j])).collect();
        let dz = (0..n).map(|j| (rxz[j] - z[j] * dx[j]) / x[j]).collect();
        let dw: Vec<f64> = (0..n).map(|j| if self.ub[j] { ru[j] - dx[j] } else { 0.0 }).collect();
        let dv = (0..n).map(|j| if self.ub[j] { (rwv[j] - v[j] * dw[j]) / w[j] } else { 0.0 }).collect();
        Some(Step { dx, dy, dz, dw, dv })
    }

    fn steps(&self, s: &Step) -> (f64, f64) {
        let ub = Some(self.ub.as_slice());
        let ap = max_step(&self.x, &s.dx, None).min(max_step(&self.w, &s.dw, ub));
        let ad = max_step(&self.z, &s.dz, None).min(max_step(&self.v, &s.dv, ub));
        (ap, ad)
    }

    fn apply(&mut self, s: &Step, ap: f64, ad: f64) {
        let upd = |p: &mut [f64], d: &[f64], a: f64| p.iter_mut().zip(d).for_each(|(p, d)| *p += a * d);
        upd(&mut self.x, &s.dx, ap);
        upd(&mut self.w, &s.dw, ap);
        upd(&mut self.y, &s.dy, ad);
        upd(&mut self.z, &s.dz, ad);
        upd(&mut self.v, &s.dv, ad);
    }
}

/// Relative error, `x`, `z` and `v` of the best iterate seen so far.
type BestIterate = (f64, Vec<f64>, Vec<f64>, Vec<f64>);

/// Runs the interior-point method on `sf`.
pub(crate) fn solve(sf: &StdForm, max_iter: usize, threads: usize) -> Result<IpmOut> {
    let n = sf.n();
    let mut nm = Normal::new(sf, threads);
    let mut p = Point::start(sf, &mut nm)?;
    let bnorm = 1.0 + norm_inf(&sf.b);
    let cnorm = 1.0 + norm_inf(&sf.c);
    let unorm = 1.0 + sf.upper.iter().filter(|u| u.is_finite()).fold(0.0f64, |a, u| a.max(u.abs()));
    let mut status = LpStatus::IterationLimit;
    let mut vertex = None;
    let mut it = 0;
    // The iterate with the smallest relative error below `CROSS_TOL`, and how many
    // iterations have not improved on it by half.
    let mut best: Option<BestIterate> = None;
    let mut stuck = 0;
    while it < max_iter {
        let res = p.residuals();
        let pobj = dot(&sf.c, &p.x);
        let uv: f64 = (0..n).filter(|&j| p.ub[j]).map(|j| sf.upper[j] * p.v[j]).sum();
        let dobj = dot(&sf.b, &p.y) - uv;
        let (eb, ec, eu) = (norm_inf(&res.0) / bnorm, norm_inf(&res.1) / cnorm, norm_inf(&res.2) / unorm);
        let parts = [eb, ec, eu, (pobj - dobj).abs() / (1.0 + pobj.abs())];
        if parts.iter().any(|v| !v.is_finite()) {
            status = LpStatus::Numerical;
            break;
        }
        let rel = parts.iter().fold(0.0f64, |a, &b| a.max(b));
        if rel <= CROSS_TOL {
            // Close enough to try crossover, whose result is verified on its own; this saves
            // the last, most expensive iterations whenever the optimal basis is already clear.
            vertex = crossover::vertex(sf, Iterate { x: &p.x, z: &p.z, v: &p.v });
            if vertex.is_some() || rel <= TOL {
                status = LpStatus::Optimal;
                break;
            }
        }
        if rel <= NEAR_TOL {
            stuck = if rel > 0.5 * best.as_ref().map_or(f64::INFINITY, |b| b.0) { stuck + 1 } else { 0 };
            if best.as_ref().is_none_or(|b| rel < b.0) {
                best = Some((rel, p.x.clone(), p.z.clone(), p.v.clone()));
            }
            if stuck >= STAGNANT {
                if let Some((_, x, z, v)) = best.take() {
                    (p.x, p.z, p.v) = (x, z, v);
                }
                status = LpStatus::Optimal;
                break;
            }
        }
        if norm_inf(&p.x) > DIVERGE * bnorm {
            status = LpStatus::Unbounded;
            break;
        }
        if norm_inf(&p.y).max(norm_inf(&p.z)) > DIVERGE * cnorm {
            status = LpStatus::Infeasible;
            break;
        }
        let theta: Vec<f64> = (0..n)
            .map(|j| {
                let d = p.z[j] / p.x[j] + if p.ub[j] { p.v[j] / p.w[j] } else { 0.0 };
                d.recip()
            })
            .collect();
        let finite = |v: &[f64]| v.iter().all(|a| a.is_finite());
        if !finite(&theta) || !finite(&p.y) {
            // Breakdown on the way to an infeasibility or unboundedness certificate (or a
            // numerically hopeless problem): the caller decides with the simplex.
            status = LpStatus::Numerical;
            break;
        }
        let Some(step) = newton(&p, &mut nm, &theta, &res, cnorm) else {
            status = LpStatus::Numerical;
            break;
        };
        let (ap, ad) = p.steps(&step);
        p.apply(&step, (ETA * ap).min(1.0), (ETA * ad).min(1.0));
        it += 1;
    }
    if status == LpStatus::Optimal && vertex.is_none() {
        vertex = crossover::polish(sf, Iterate { x: &p.x, z: &p.z, v: &p.v });
    }
    Ok(IpmOut { x: vertex.unwrap_or(p.x), y: p.y, status, iterations: it })
}

/// Mehrotra's predictor and corrector for one iteration: factors the normal matrix (moving
/// to the `m × m` form when the Woodbury solves lose accuracy) and returns the corrected step.
fn newton(p: &Point<'_>, nm: &mut Normal<'_>, theta: &[f64], res: &Residuals, cnorm: f64) -> Option<Step> {
    let n = p.x.len();
    loop {
        if nm.factor(theta, 1e-14 * cnorm).is_err() {
            return None;
        }
        let mu = p.mu();
        let rxz: Vec<f64> = p.x.iter().zip(&p.z).map(|(x, z)| -x * z).collect();
        let rwv: Vec<f64> = p.w.iter().zip(&p.v).map(|(w, v)| -w * v).collect();
        let Some(aff) = p.direction(nm, theta, res, &rxz, &rwv) else {
            nm.use_full();
            continue;
        };
        let (ap, ad) = p.steps(&aff);
        let mut gap = 0.0;
        for j in 0..n {
            gap += (p.x[j] + ap * aff.dx[j]) * (p.z[j] + ad * aff.dz[j]);
            if p.ub[j] {
                gap += (p.w[j] + ap * aff.dw[j]) * (p.v[j] + ad * aff.dv[j]);
            }
        }
        let mu_aff = gap / (n + p.ub.iter().filter(|&&b| b).count()).max(1) as f64;
        let sigma = (mu_aff / mu).powi(3).clamp(0.0, 1.0);
        let sm = sigma * mu;
        let rxz: Vec<f64> = (0..n).map(|j| sm - p.x[j] * p.z[j] - aff.dx[j] * aff.dz[j]).collect();
        let rwv: Vec<f64> = (0..n)
            .map(|j| if p.ub[j] { sm - p.w[j] * p.v[j] - aff.dw[j] * aff.dv[j] } else { 0.0 })
            .collect();
        match p.direction(nm, theta, res, &rxz, &rwv) {
            Some(step) => return Some(step),
            None => nm.use_full(),
        }
    }
}
