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

mod crossover;
mod ipm;
mod normal;
pub mod problem;
mod simplex;
mod stdform;
#[cfg(test)]
mod tests;
mod verify;

pub use problem::LpProblem;

use crate::error::{Error, Result};
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
}

/// Problems with more tableau cells than this go to the interior-point method under `Auto`.
const AUTO_SIMPLEX_CELLS: usize = 400_000;

/// Solves `p`; `threads` sizes the parallel parts (run inside a pool of that size).
pub fn solve(p: &LpProblem<'_>, opts: &LpOptions, threads: usize) -> Result<LpSolution> {
    if p.has_crossed_bounds() {
        let x = p.lower.iter().map(|l| if l.is_finite() { *l } else { 0.0 }).collect();
        return Ok(verify::finish(p, x, LpStatus::Infeasible, 0, Method::Simplex));
    }
    let sf = StdForm::new(p, threads);
    let method = match opts.method {
        Method::Auto if sf.m.saturating_mul(sf.n() + sf.m) <= AUTO_SIMPLEX_CELLS => Method::Simplex,
        Method::Auto => Method::Ipm,
        m => m,
    };
    let (xs, status, iterations, used) = match method {
        Method::Ipm => {
            let out = ipm::solve(&sf, opts.max_iter.unwrap_or(200), threads)?;
            match out.status {
                LpStatus::Optimal => (out.x, LpStatus::Optimal, out.iterations, Method::Ipm),
                // Interior-point divergence or breakdown is only evidence: the simplex decides
                // (if its tableau fits), except when a forced interior point merely ran out
                // of iterations.
                status if opts.method == Method::Auto || status != LpStatus::IterationLimit => {
                    match simplex::simplex(&sf, opts.max_iter.unwrap_or(usize::MAX)) {
                        Ok(s) => (s.x, s.status, out.iterations + s.iterations, Method::Simplex),
                        Err(_) => (out.x, LpStatus::Numerical, out.iterations, Method::Ipm),
                    }
                }
                status => (out.x, status, out.iterations, Method::Ipm),
            }
        }
        _ => {
            let s = simplex::simplex(&sf, opts.max_iter.unwrap_or(usize::MAX))?;
            (s.x, s.status, s.iterations, Method::Simplex)
        }
    };
    Ok(verify::finish(p, sf.recover(&xs), status, iterations, used))
}
