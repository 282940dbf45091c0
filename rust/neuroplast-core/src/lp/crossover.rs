//! From an interior-point optimum to an optimal basic solution (a vertex), when the
//! interior-point point identifies one.
//!
//! Columns are split by comparing each primal value with its dual slack (`x_j` vs `z_j`, and
//! `u_j - x_j` vs `v_j`): the larger side says basic or nonbasic at a bound. Rows covered by
//! a basic singleton column (slack, surplus, artificial) are solved for that singleton last;
//! the remaining rows and the basic dense columns form a small square system, chosen by a
//! partial-pivoting LU when primal degeneracy leaves more such rows than columns (the extra
//! rows get a degenerate singleton at zero). The basis is accepted only if its primal values
//! lie within their bounds and its duals price every nonbasic column correctly, which makes
//! it optimal.
//!
//! When the optimum is not unique the interior point converges to the middle of the optimal
//! face, which names no basis. [`polish`] then fixes the columns the iterate puts clearly at
//! a bound (singleton columns included, the simplex then starts from artificials for their
//! rows) and solves the remaining LP with the simplex; its vertex is kept if its objective
//! is within `POLISH_TOL` of the interior-point one. Otherwise the verified interior-point
//! point is reported.

use faer::linalg::solvers::{PartialPivLu, Solve};
use faer::Mat;

use super::simplex::simplex;
use super::stdform::{Col, StdForm};
use super::LpStatus;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Lower,
    Upper,
    Basic,
}

/// Relative tolerance of the primal and dual checks of the basis.
const TOL: f64 = 1e-9;
/// Relative objective margin within which a polished vertex replaces the interior point.
const POLISH_TOL: f64 = 1e-7;
/// Largest restricted LP (rows × columns) that [`polish`] hands to the dense simplex.
const POLISH_CELLS: usize = 4_000_000;
/// Smallest relative pivot of an accepted basis.
const PIVOT_TOL: f64 = 1e-11;

/// An interior-point iterate: primal values and the duals of the lower and upper bounds.
#[derive(Clone, Copy)]
pub(crate) struct Iterate<'a> {
    pub x: &'a [f64],
    pub z: &'a [f64],
    pub v: &'a [f64],
}

/// Sides of all columns, with at most one basic column per stored dense column and per row
/// among singletons (the others of a group are dependent and sit at their lower bound).
fn classify(sf: &StdForm, out: Iterate<'_>) -> Vec<Side> {
    let mut side: Vec<Side> = (0..sf.n())
        .map(|j| {
            let (x, u) = (out.x[j], sf.upper[j]);
            if u.is_finite() && u - x <= out.v[j] && u - x < x {
                Side::Upper
            } else if x <= out.z[j] || sf.cols[j] == Col::Empty {
                Side::Lower
            } else {
                Side::Basic
            }
        })
        .collect();
    let mut owner_dense = vec![None::<usize>; sf.n_dense()];
    let mut owner_row = vec![None::<usize>; sf.m];
    for j in 0..sf.n() {
        if side[j] != Side::Basic {
            continue;
        }
        let slot = match sf.cols[j] {
            Col::Dense { k, .. } => &mut owner_dense[k],
            Col::Single { row, .. } => &mut owner_row[row],
            Col::Empty => continue,
        };
        match *slot {
            Some(o) if out.x[o] >= out.x[j] => side[j] = Side::Lower,
            Some(o) => {
                side[o] = Side::Lower;
                *slot = Some(j);
            }
            None => *slot = Some(j),
        }
    }
    side
}

fn value(a: &Mat<f64>, i: usize) -> f64 {
    a[(i, 0)]
}

/// The optimal vertex that `out` identifies, if any (see the module documentation).
pub(crate) fn vertex(sf: &StdForm, out: Iterate<'_>) -> Option<Vec<f64>> {
    let (m, n) = (sf.m, sf.n());
    let side = classify(sf, out);
    let mut x: Vec<f64> = (0..n).map(|j| if side[j] == Side::Upper { sf.upper[j] } else { 0.0 }).collect();
    let mut single = vec![None::<(usize, f64)>; m];
    let mut any_single = vec![None::<(usize, f64)>; m];
    let mut dense = Vec::new();
    for (j, col) in sf.cols.iter().enumerate() {
        match *col {
            Col::Single { row, v } if side[j] == Side::Basic => single[row] = Some((j, v)),
            Col::Single { row, v } if any_single[row].is_none() || v * sf.b[row] > 0.0 => {
                any_single[row] = Some((j, v))
            }
            Col::Dense { .. } if side[j] == Side::Basic => dense.push(j),
            _ => {}
        }
    }
    let rows: Vec<usize> = (0..m).filter(|&i| single[i].is_none()).collect();
    if rows.len() < dense.len() {
        return None;
    }
    // Right-hand side after the nonbasic columns at their upper bounds.
    let mut rhs = sf.b.clone();
    (0..n).filter(|&j| side[j] == Side::Upper).for_each(|j| sf.add_col(j, -sf.upper[j], &mut rhs));
    let entry = |i: usize, j: usize| match sf.cols[j] {
        Col::Dense { k, s } => s * sf.dense_col(k)[i],
        _ => 0.0,
    };
    let chosen: Vec<usize> = if dense.is_empty() {
        Vec::new()
    } else {
        let tall = Mat::from_fn(rows.len(), dense.len(), |r, c| entry(rows[r], dense[c]));
        let lu = PartialPivLu::new(tall.as_ref());
        let fwd = lu.P().arrays().0;
        fwd[..dense.len()].iter().map(|&p| rows[p]).collect()
    };
    let lu = if dense.is_empty() {
        None
    } else {
        let sq = Mat::from_fn(dense.len(), dense.len(), |r, c| entry(chosen[r], dense[c]));
        let lu = PartialPivLu::new(sq.as_ref());
        let u = lu.U();
        let dmax = (0..dense.len()).fold(0.0f64, |a, i| a.max(u[(i, i)].abs()));
        if (0..dense.len()).any(|i| u[(i, i)].abs() <= PIVOT_TOL * dmax) {
            return None;
        }
        let xc = lu.solve(Mat::from_fn(dense.len(), 1, |r, _| rhs[chosen[r]]));
        dense.iter().enumerate().for_each(|(c, &j)| x[j] = value(&xc, c));
        Some(lu)
    };
    let mut in_chosen = vec![false; m];
    chosen.iter().for_each(|&i| in_chosen[i] = true);
    let mut resid = rhs;
    dense.iter().for_each(|&j| sf.add_col(j, -x[j], &mut resid));
    let bnorm = 1.0 + sf.b.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let mut y = vec![0.0; m];
    for i in (0..m).filter(|&i| !in_chosen[i]) {
        match single[i].or(any_single[i]) {
            Some((j, v)) => {
                x[j] = resid[i] / v;
                y[i] = sf.c[j] / v;
            }
            None if resid[i].abs() <= TOL * bnorm => {}
            None => return None,
        }
    }
    let basic_ok = (0..n).all(|j| x[j] >= -TOL * bnorm && x[j] <= sf.upper[j] + TOL * bnorm);
    if !basic_ok {
        return None;
    }
    x.iter_mut().zip(&sf.upper).for_each(|(v, u)| *v = v.clamp(0.0, *u));
    if let Some(lu) = lu {
        let g = Mat::from_fn(dense.len(), 1, |c, _| {
            let j = dense[c];
            sf.c[j] - (0..m).filter(|&i| !in_chosen[i]).map(|i| entry(i, j) * y[i]).sum::<f64>()
        });
        let yr = lu.solve_transpose(g);
        chosen.iter().enumerate().for_each(|(r, &i)| y[i] = value(&yr, r));
    }
    let d: Vec<f64> = sf.c.iter().zip(sf.mul_t(&y)).map(|(c, a)| c - a).collect();
    let cnorm = 1.0 + sf.c.iter().fold(0.0f64, |a, c| a.max(c.abs()));
    let priced = (0..n).all(|j| match side[j] {
        Side::Lower => sf.upper[j] == 0.0 || d[j] >= -TOL * cnorm,
        Side::Upper => d[j] <= TOL * cnorm,
        Side::Basic => true,
    });
    priced.then_some(x)
}

/// A vertex of the optimal face from the simplex on the columns the iterate leaves off
/// their bounds (all singletons kept, so the crash basis covers most rows).
pub(crate) fn polish(sf: &StdForm, out: Iterate<'_>) -> Option<Vec<f64>> {
    let n = sf.n();
    let at_upper = |j: usize| sf.upper[j].is_finite() && sf.upper[j] - out.x[j] < out.x[j];
    let keep: Vec<bool> = (0..n)
        .map(|j| {
            let gap = if at_upper(j) { sf.upper[j] - out.x[j] } else { out.x[j] };
            let dual = if at_upper(j) { out.v[j] } else { out.z[j] };
            gap >= 1e-3 * dual
        })
        .collect();
    let fixed: Vec<f64> = (0..n).map(|j| if at_upper(j) { sf.upper[j] } else { 0.0 }).collect();
    let kept = keep.iter().filter(|&&k| k).count();
    if sf.m.saturating_mul(kept + sf.m) > POLISH_CELLS {
        return None;
    }
    let sub = simplex(&sf.restrict(&keep, &fixed), 50 * (sf.m + kept)).ok()?;
    if sub.status != LpStatus::Optimal {
        return None;
    }
    let mut x = fixed;
    let mut it = sub.x.into_iter();
    (0..n).filter(|&j| keep[j]).for_each(|j| x[j] = it.next().unwrap_or(0.0));
    let obj = |v: &[f64]| v.iter().zip(&sf.c).map(|(a, c)| a * c).sum::<f64>();
    // The interior point may be infeasible by its tolerance and so a little below the
    // optimum; the vertex is exact (and verified by the caller).
    (obj(&x) <= obj(out.x) + POLISH_TOL * (1.0 + obj(out.x).abs())).then_some(x)
}
