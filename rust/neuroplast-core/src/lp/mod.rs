//! Linear programming: `min cᵀx  s.t.  A_ub x ≤ b_ub,  A_eq x = b_eq,  l ≤ x ≤ u`, dense
//! row-major data, `f64` throughout.
//!
//! Two solvers share one standard form ([`stdform`]): a two-phase bounded-variable primal
//! simplex on a dense tableau ([`simplex`]) for small problems, and a Mehrotra
//! predictor–corrector interior-point method ([`ipm`]) whose normal equations exploit the
//! structure of LPs built from data ([`normal`]): singleton columns (slack, surplus,
//! artificial variables) enter as a diagonal, sign-duplicated column pairs are merged, and the
//! smaller of the row-space and column-space (Woodbury) systems is factored. An IPM solution
//! is finished by [`crossover`] to a basic solution (a vertex) where possible. Every returned point is
//! checked against the original constraints ([`verify`]); one that fails is reported with
//! [`LpStatus::Numerical`] rather than as optimal.

mod basis;
pub mod certificate;
mod crossover;
mod ipm;
mod normal;
pub mod problem;
mod simplex;
mod stdform;
#[cfg(test)]
mod tests;
mod verify;

pub use certificate::Certificate;
pub use problem::LpProblem;

use crate::error::{Error, Result};
use certificate::StdCert;
use stdform::StdForm;

/// Outcome of a solve; the integer codes are SciPy's `linprog` status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpStatus {
    /// An optimal solution was found and verified.
    Optimal = 0,
    /// The iteration limit was reached first.
    IterationLimit = 1,
    /// The constraints cannot be satisfied.
    Infeasible = 2,
    /// The objective is unbounded below on the feasible set.
    Unbounded = 3,
    /// The solver could not reach a verified answer (numerical difficulties).
    Numerical = 4,
}

impl LpStatus {
    /// A one-line description, as reported to users.
    pub fn message(self) -> &'static str {
        match self {
            LpStatus::Optimal => "Optimization terminated successfully.",
            LpStatus::IterationLimit => "The iteration limit was reached.",
            LpStatus::Infeasible => "The problem is infeasible.",
            LpStatus::Unbounded => "The problem is unbounded.",
            LpStatus::Numerical => "Numerical difficulties: no verified solution was found.",
        }
    }
}

/// Which algorithm to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Simplex for small problems, interior point (with simplex fallback) for large ones.
    Auto,
    /// Two-phase bounded-variable primal simplex.
    Simplex,
    /// Mehrotra interior point, finished by crossover.
    Ipm,
}

impl Method {
    /// Parses `"auto"`, `"simplex"` or `"ipm"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "auto" => Ok(Method::Auto),
            "simplex" => Ok(Method::Simplex),
            "ipm" => Ok(Method::Ipm),
            other => Err(Error::Config(format!(
                "unknown LP method {other:?}; expected \"auto\", \"simplex\" or \"ipm\""
            ))),
        }
    }

    /// The name [`Method::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Simplex => "simplex",
            Method::Ipm => "ipm",
        }
    }
}

/// Solver settings.
#[derive(Clone, Copy, Debug)]
pub struct LpOptions {
    pub method: Method,
    /// Iteration limit (simplex pivots, or interior-point iterations); `None` picks a default.
    pub max_iter: Option<usize>,
}

impl Default for LpOptions {
    fn default() -> Self {
        Self { method: Method::Auto, max_iter: None }
    }
}

/// The result of [`solve`], in the original variables.
#[derive(Clone, Debug)]
pub struct LpSolution {
    pub x: Vec<f64>,
    pub fun: f64,
    pub status: LpStatus,
    /// Simplex pivots plus interior-point iterations.
    pub iterations: usize,
    /// `b_ub - A_ub x` (≥ 0 when feasible).
    pub slack: Vec<f64>,
    /// `b_eq - A_eq x` (≈ 0 when feasible).
    pub con: Vec<f64>,
    /// Per variable: -1 at its lower bound (also when fixed), +1 at its upper bound, else 0.
    pub active_bounds: Vec<i8>,
    /// Per inequality row: whether it holds with equality.
    pub active_ub: Vec<bool>,
    /// The algorithm that produced `x` (never [`Method::Auto`]).
    pub method: Method,
    /// The verified proof of an `Infeasible` or `Unbounded` status (`None` otherwise).
    pub certificate: Option<Certificate>,
}

/// Problems with more tableau cells than this go to the interior-point method under `Auto`.
const AUTO_SIMPLEX_CELLS: usize = 400_000;

/// The algorithm `Auto` starts with (see [`Method::Auto`]).
fn auto_method(sf: &StdForm) -> Method {
    if sf.m.saturating_mul(sf.n() + sf.m) <= AUTO_SIMPLEX_CELLS {
        Method::Simplex
    } else {
        Method::Ipm
    }
}

/// One solver run in standard form, before any check.
struct Attempt {
    /// The point (for `Unbounded`, the feasible point the ray starts from).
    xs: Vec<f64>,
    status: LpStatus,
    iterations: usize,
    method: Method,
    cert: Option<StdCert>,
}

/// Runs `method` on `sf`. A diverging interior point that suggests unboundedness is
/// followed by a feasibility solve (zero objective) for the point the ray starts from.
fn attempt(sf: &StdForm, method: Method, max_iter: Option<usize>, threads: usize) -> Result<Attempt> {
    if method == Method::Simplex {
        let s = simplex::simplex(sf, max_iter.unwrap_or(usize::MAX))?;
        return Ok(Attempt { xs: s.x, status: s.status, iterations: s.iterations, method, cert: s.cert });
    }
    let limit = max_iter.unwrap_or(200);
    let out = ipm::solve(sf, limit, threads)?;
    let scaled = |v: &[f64], sign: f64| {
        let s = v.iter().fold(0.0f64, |a, b| a.max(b.abs())).max(f64::MIN_POSITIVE);
        v.iter().map(|a| sign * a / s).collect::<Vec<f64>>()
    };
    let mut a = Attempt { xs: out.x, status: out.status, iterations: out.iterations, method, cert: None };
    match a.status {
        LpStatus::Infeasible => a.cert = Some(StdCert::Farkas(scaled(&out.y, -1.0))),
        LpStatus::Unbounded => {
            let ray = scaled(&a.xs, 1.0);
            let feas = ipm::solve(&sf.feasibility(), limit, threads)?;
            a.iterations += feas.iterations;
            (a.status, a.cert) = match feas.status {
                LpStatus::Optimal => (LpStatus::Unbounded, Some(StdCert::Ray(ray))),
                LpStatus::Infeasible => (LpStatus::Infeasible, Some(StdCert::Farkas(scaled(&feas.y, -1.0)))),
                other => (other, None),
            };
            a.xs = feas.x;
        }
        _ => {}
    }
    Ok(a)
}

/// The attempt as a solution if its claim holds on the original data: an optimum must be
/// feasible, an infeasibility or unboundedness needs a certificate that passes its check.
fn accept(p: &LpProblem<'_>, sf: &StdForm, a: &Attempt, iterations: usize) -> Option<LpSolution> {
    let x = sf.recover(&a.xs);
    let cert = match (a.status, &a.cert) {
        (LpStatus::Optimal, _) => None,
        (LpStatus::Infeasible, Some(StdCert::Farkas(y))) => Some(certificate::farkas(p, y)?),
        (LpStatus::Unbounded, Some(StdCert::Ray(d))) => {
            Some(certificate::ray(p, &sf.recover_direction(d), &x)?)
        }
        _ => return None,
    };
    let sol = verify::finish(p, x, a.status, iterations, a.method, cert);
    (sol.status == a.status).then_some(sol)
}

/// Solves `p`; `threads` sizes the parallel parts (run inside a pool of that size).
///
/// The chosen method's answer is accepted only if it verifies (see [`accept`]); otherwise
/// the other method is tried, and if neither verifies the status is
/// [`LpStatus::Numerical`]. An iteration limit is reported as such, except that `Auto`
/// falls back to the simplex when the interior point runs out of iterations.
pub fn solve(p: &LpProblem<'_>, opts: &LpOptions, threads: usize) -> Result<LpSolution> {
    if p.has_crossed_bounds() {
        let x = p.lower.iter().map(|l| if l.is_finite() { *l } else { 0.0 }).collect();
        let cert = Some(certificate::empty_box(p));
        return Ok(verify::finish(p, x, LpStatus::Infeasible, 0, Method::Simplex, cert));
    }
    let sf = StdForm::new(p, threads);
    let first = match opts.method {
        Method::Auto => auto_method(&sf),
        m => m,
    };
    let a = attempt(&sf, first, opts.max_iter, threads)?;
    let auto_ipm = opts.method == Method::Auto && first == Method::Ipm;
    if a.status == LpStatus::IterationLimit && !auto_ipm {
        return Ok(verify::finish(p, sf.recover(&a.xs), a.status, a.iterations, a.method, None));
    }
    if let Some(sol) = accept(p, &sf, &a, a.iterations) {
        return Ok(sol);
    }
    let other = if first == Method::Ipm { Method::Simplex } else { Method::Ipm };
    // The fallback may not fit (a simplex tableau too large): then the first answer stands
    // as unverified.
    if let Ok(b) = attempt(&sf, other, opts.max_iter, threads) {
        let iterations = a.iterations + b.iterations;
        if let Some(sol) = accept(p, &sf, &b, iterations) {
            return Ok(sol);
        }
        if b.status == LpStatus::IterationLimit {
            return Ok(verify::finish(p, sf.recover(&b.xs), b.status, iterations, b.method, None));
        }
    }
    Ok(verify::finish(p, sf.recover(&a.xs), LpStatus::Numerical, a.iterations, a.method, None))
}
