//! The last step of every solve: residuals in the original variables, the active set, and
//! the feasibility check that keeps an unverified point from being reported as optimal.

use super::certificate::Certificate;
use super::problem::LpProblem;
use super::{LpSolution, LpStatus, Method};

/// Relative feasibility tolerance of a returned optimum (HiGHS' default is 1e-7 absolute).
pub(crate) const FEAS_TOL: f64 = 1e-7;
/// Distance (relative) within which a bound or inequality counts as active.
const ACTIVE_TOL: f64 = 1e-9;

fn near(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// Worst scaled violation of bounds and constraints at `x`.
pub(crate) fn violation(p: &LpProblem<'_>, x: &[f64], slack: &[f64], con: &[f64]) -> f64 {
    let n = p.n();
    let row_scale =
        |a: &[f64], b: f64| 1.0 + b.abs() + a.iter().zip(x).map(|(a, x)| (a * x).abs()).sum::<f64>();
    let mut worst = 0.0f64;
    for (j, &xj) in x.iter().enumerate() {
        let v = (p.lower[j] - xj).max(xj - p.upper[j]).max(0.0);
        worst = worst.max(v / (1.0 + xj.abs()));
    }
    for (i, s) in slack.iter().enumerate() {
        worst = worst.max((-s).max(0.0) / row_scale(&p.a_ub[i * n..(i + 1) * n], p.b_ub[i]));
    }
    for (i, r) in con.iter().enumerate() {
        worst = worst.max(r.abs() / row_scale(&p.a_eq[i * n..(i + 1) * n], p.b_eq[i]));
    }
    if x.iter().any(|v| !v.is_finite()) {
        worst = f64::INFINITY;
    }
    worst
}

/// Assembles the solution and downgrades an optimum whose point is not feasible.
pub(crate) fn finish(
    p: &LpProblem<'_>,
    x: Vec<f64>,
    status: LpStatus,
    iterations: usize,
    method: Method,
    certificate: Option<Certificate>,
) -> LpSolution {
    let (slack, con) = p.residuals(&x);
    let status = if status == LpStatus::Optimal && violation(p, &x, &slack, &con) > FEAS_TOL {
        LpStatus::Numerical
    } else {
        status
    };
    let active_bounds = x
        .iter()
        .enumerate()
        .map(|(j, &v)| match (near(v, p.lower[j], ACTIVE_TOL), near(v, p.upper[j], ACTIVE_TOL)) {
            (true, _) => -1,
            (false, true) => 1,
            _ => 0,
        })
        .collect();
    let active_ub = slack.iter().zip(p.b_ub).map(|(s, b)| s.abs() <= ACTIVE_TOL * (1.0 + b.abs())).collect();
    LpSolution {
        fun: p.objective(&x),
        x,
        status,
        iterations,
        slack,
        con,
        active_bounds,
        active_ub,
        method,
        certificate,
    }
}
