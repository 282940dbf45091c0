//! Bounded-variable primal simplex on a dense tableau, two phases.
//!
//! Nonbasic variables sit at their lower (0) or upper bound, so upper bounds need no extra
//! rows. Phase 1 starts from a slack/singleton crash basis plus artificial columns for the
//! rows no singleton can cover and minimizes their sum; phase 2 optimizes `c`. Pricing is
//! Dantzig's rule with a Harris two-pass ratio test (largest pivot among near-ties, for
//! stability); after a run of degenerate pivots it switches to Bland's rule with the
//! textbook ratio test, which cannot cycle, until a step makes progress again.
//!
//! Numerical safeguards: column entries below `REL_PIV` times the column's largest entry
//! never pivot (Bland's rule breaks ties by index, not size, and once chose a pivot of
//! `1e-9` in a column whose largest entry was 59, which blew the tableau up to `1e12` and
//! turned its reduced costs into noise), the tableau is rebuilt from a fresh factorization
//! of the basis ([`Basis`]) every `2m` pivots and after any small pivot, and every
//! terminal claim (optimal, infeasible, unbounded) is confirmed on a freshly rebuilt
//! tableau. Infeasibility comes with the phase-1 duals as a Farkas vector and
//! unboundedness with the improving ray; the caller checks both on the original data.

use rayon::prelude::*;

use super::basis::{Basis, Columns};
use super::certificate::StdCert;
use super::stdform::{Col, StdForm};
use super::LpStatus;
use crate::error::{Error, Result};

/// Degenerate pivots in a row before Bland's rule takes over.
const STALL: usize = 50;
/// Pivot entries smaller than this are treated as zero.
const PIV_TOL: f64 = 1e-9;
/// Pivot entries smaller than this fraction of their column's largest entry are treated as zero.
const REL_PIV: f64 = 1e-7;
/// A pivot below this fraction of its column's largest entry triggers a rebuild of the tableau.
const SMALL_PIV: f64 = 1e-4;
/// Largest tableau (rows × columns) the dense simplex accepts.
const MAX_CELLS: usize = 60_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum State {
    Basic,
    Lower,
    Upper,
}

/// Final standard-form point and status of a simplex run.
pub(crate) struct SimplexOut {
    pub x: Vec<f64>,
    pub status: LpStatus,
    pub iterations: usize,
    /// The Farkas vector (infeasible) or improving ray (unbounded) in standard form.
    pub cert: Option<StdCert>,
}

struct Tableau<'a> {
    sf: &'a StdForm,
    /// `(row, sign)` of the artificial columns `n..w`.
    art: Vec<(usize, f64)>,
    /// Pivots since the tableau was last rebuilt from a factorization.
    since: usize,
    /// Rebuild after this many pivots.
    refactor: usize,
    /// The factorization of the last rebuild (current while `since == 0`).
    lu: Option<Basis>,
    m: usize,
    w: usize,
    t: Vec<f64>,
    xb: Vec<f64>,
    basis: Vec<usize>,
    state: Vec<State>,
    upper: Vec<f64>,
    d: Vec<f64>,
    iters: usize,
    tol_p: f64,
    tol_d: f64,
}

enum Stop {
    Optimal,
    /// Column `q` improves without bound moving in direction `dir`.
    Unbounded(usize, f64),
    Limit,
    /// The basis became singular to working precision.
    Singular,
}

impl<'a> Tableau<'a> {
    /// Crash basis: a singleton column of the right sign per row where one exists, else an
    /// artificial column (`±e_i`, sign of `b_i`). Returns the tableau and the artificials' count.
    fn new(sf: &'a StdForm) -> Result<(Self, usize)> {
        let (m, n) = (sf.m, sf.n());
        let mut basic: Vec<Option<(usize, f64)>> = vec![None; m];
        for (j, col) in sf.cols.iter().enumerate() {
            if let Col::Single { row, v } = *col {
                let val = sf.b[row] / v;
                if basic[row].is_none() && val >= 0.0 && val <= sf.upper[j] {
                    basic[row] = Some((j, v));
                }
            }
        }
        let n_art = basic.iter().filter(|b| b.is_none()).count();
        let w = n + n_art;
        if m.saturating_mul(w) > MAX_CELLS {
            return Err(Error::Config(format!(
                "the dense simplex tableau would have {m} × {w} entries; use method=\"ipm\""
            )));
        }
        let mut t = vec![0.0; m * w];
        for j in 0..n {
            match sf.cols[j] {
                Col::Empty => {}
                Col::Single { row, v } => t[row * w + j] = v,
                Col::Dense { k, s } => {
                    sf.dense_col(k).iter().enumerate().for_each(|(i, a)| t[i * w + j] = s * a)
                }
            }
        }
        let (mut basis, mut xb) = (vec![0; m], vec![0.0; m]);
        let mut upper = sf.upper.clone();
        let mut art = Vec::with_capacity(n_art);
        for i in 0..m {
            let (j, v) = basic[i].unwrap_or_else(|| {
                let v = if sf.b[i] < 0.0 { -1.0 } else { 1.0 };
                t[i * w + n + art.len()] = v;
                upper.push(f64::INFINITY);
                art.push((i, v));
                (n + art.len() - 1, v)
            });
            basis[i] = j;
            xb[i] = sf.b[i] / v;
            t[i * w..(i + 1) * w].iter_mut().for_each(|a| *a /= v);
        }
        let mut state = vec![State::Lower; w];
        basis.iter().for_each(|&j| state[j] = State::Basic);
        let bmax = sf.b.iter().fold(1.0f64, |a, b| a.max(b.abs()));
        let cmax = sf.c.iter().fold(1.0f64, |a, c| a.max(c.abs()));
        let tab = Self {
            sf,
            art,
            since: 0,
            refactor: (2 * m).max(100),
            lu: None,
            m,
            w,
            t,
            xb,
            basis,
            state,
            upper,
            d: vec![0.0; w],
            iters: 0,
            tol_p: 1e-9 * bmax,
            tol_d: 1e-9 * cmax,
        };
        Ok((tab, n_art))
    }

    fn price(&mut self, cost: &[f64]) {
        let w = self.w;
        self.d.copy_from_slice(cost);
        for i in 0..self.m {
            let cb = cost[self.basis[i]];
            if cb != 0.0 {
                let row = &self.t[i * w..(i + 1) * w];
                self.d.iter_mut().zip(row).for_each(|(d, a)| *d -= cb * a);
            }
        }
    }

    fn entering(&self, bland: bool) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for j in 0..self.w {
            let dj = self.d[j];
            let gain = match self.state[j] {
                State::Lower if self.upper[j] > 0.0 && dj < -self.tol_d => -dj,
                State::Upper if dj > self.tol_d => dj,
                _ => continue,
            };
            if bland {
                return Some(j);
            }
            if best.is_none_or(|(_, g)| gain > g) {
                best = Some((j, gain));
            }
        }
        best.map(|(j, _)| j)
    }

    /// Step length at which row `i` blocks when the entering column moves by `dir`, with the
    /// feasibility tolerance `slack` added (Harris' first pass) or not.
    fn ratio(&self, i: usize, g: f64, slack: f64, piv_tol: f64) -> Option<f64> {
        if g > piv_tol {
            Some((self.xb[i] + slack).max(0.0) / g)
        } else if g < -piv_tol && self.upper[self.basis[i]].is_finite() {
            Some((self.upper[self.basis[i]] - self.xb[i] + slack).max(0.0) / -g)
        } else {
            None
        }
    }

    /// Leaving row for entering column `q` moving in direction `dir`, with its step length.
    fn leaving(&self, q: usize, dir: f64, bland: bool) -> Option<(usize, f64)> {
        let g = |i: usize| dir * self.t[i * self.w + q];
        // Both rules take the rows within the feasibility tolerance of the smallest ratio
        // (Harris' first pass); Bland's rule then picks the smallest basic index among them,
        // so rounding noise in degenerate values cannot reorder its ties.
        let slack = self.tol_p;
        let colmax = (0..self.m).fold(0.0f64, |a, i| a.max(g(i).abs()));
        let piv_tol = PIV_TOL.max(REL_PIV * colmax);
        let ratio = |i: usize, slack: f64| self.ratio(i, g(i), slack, piv_tol);
        let bound = (0..self.m).filter_map(|i| ratio(i, slack)).fold(f64::INFINITY, f64::min);
        if !bound.is_finite() {
            return None;
        }
        let mut best: Option<(usize, f64)> = None;
        for i in 0..self.m {
            let Some(r) = ratio(i, 0.0) else { continue };
            if r > bound {
                continue;
            }
            let better = match best {
                None => true,
                Some((b, _)) if bland => self.basis[i] < self.basis[b],
                Some((b, _)) => g(i).abs() > g(b).abs(),
            };
            if better {
                best = Some((i, r));
            }
        }
        best
    }

    fn pivot(&mut self, r: usize, q: usize) {
        let w = self.w;
        let piv = self.t[r * w + q];
        let colmax = (0..self.m).fold(0.0f64, |a, i| a.max(self.t[i * w + q].abs()));
        self.since += 1;
        if piv.abs() < SMALL_PIV * colmax {
            // Rebuild before the next choice rather than let the growth compound.
            self.since = self.since.max(self.refactor);
        }
        self.t[r * w..(r + 1) * w].iter_mut().for_each(|a| *a /= piv);
        let (head, rest) = self.t.split_at_mut(r * w);
        let (prow, tail) = rest.split_at_mut(w);
        let prow: &[f64] = prow;
        let update = |row: &mut [f64]| {
            let f = row[q];
            if f != 0.0 {
                row.iter_mut().zip(prow).for_each(|(a, p)| *a -= f * p);
                row[q] = 0.0;
            }
        };
        // One thread: no pool is installed, and rayon's global pool would run (and spin) on
        // every core, so a one-thread job on a worker must stay sequential.
        if self.m * w > 200_000 && self.sf.threads > 1 {
            head.par_chunks_mut(w).for_each(update);
            tail.par_chunks_mut(w).for_each(update);
        } else {
            head.chunks_mut(w).for_each(update);
            tail.chunks_mut(w).for_each(update);
        }
        let f = self.d[q];
        self.d.iter_mut().zip(prow).for_each(|(d, p)| *d -= f * p);
        self.d[q] = 0.0;
    }

    /// Moves `q` by `step` in direction `dir`, pivoting it into row `r` when given.
    fn step(&mut self, q: usize, dir: f64, step: f64, r: Option<usize>) {
        let w = self.w;
        for i in 0..self.m {
            self.xb[i] -= dir * step * self.t[i * w + q];
        }
        let entering_value = if dir > 0.0 { step } else { self.upper[q] - step };
        match r {
            None => self.state[q] = if dir > 0.0 { State::Upper } else { State::Lower },
            Some(r) => {
                let out = self.basis[r];
                self.state[out] = if dir * self.t[r * w + q] > 0.0 { State::Lower } else { State::Upper };
                self.state[q] = State::Basic;
                self.basis[r] = q;
                self.xb[r] = entering_value;
                self.pivot(r, q);
            }
        }
        self.iters += 1;
    }

    /// Rebuilds the tableau, the basic values and the reduced costs from a fresh
    /// factorization of the current basis; `false` if the basis is singular.
    fn reinvert(&mut self, cost: &[f64]) -> bool {
        let cols = Columns { sf: self.sf, art: &self.art };
        let Some(lu) = Basis::factor(cols, &self.basis) else { return false };
        lu.tableau(cols, &mut self.t);
        let w = self.w;
        for (i, &j) in self.basis.iter().enumerate() {
            (0..self.m).for_each(|k| self.t[k * w + j] = 0.0);
            self.t[i * w + j] = 1.0;
        }
        let mut rhs = self.sf.b.clone();
        let mut col = vec![0.0; self.m];
        for j in (0..w).filter(|&j| self.state[j] == State::Upper && self.upper[j] != 0.0) {
            cols.write(j, &mut col);
            rhs.iter_mut().zip(&col).for_each(|(r, a)| *r -= self.upper[j] * a);
        }
        self.xb = lu.solve(&rhs);
        // Degenerate values land exactly on their bounds, as the pivots themselves leave them.
        for (i, &j) in self.basis.iter().enumerate() {
            let (x, u) = (self.xb[i], self.upper[j]);
            self.xb[i] = if x.abs() <= self.tol_p {
                0.0
            } else if (x - u).abs() <= self.tol_p {
                u
            } else {
                x
            };
        }
        self.lu = Some(lu);
        self.since = 0;
        self.price(cost);
        true
    }

    fn run(&mut self, cost: &[f64], max_iter: usize) -> Stop {
        self.price(cost);
        let mut stalled = 0;
        loop {
            if self.since >= self.refactor && !self.reinvert(cost) {
                return Stop::Singular;
            }
            if self.iters >= max_iter {
                return Stop::Limit;
            }
            let bland = stalled >= STALL;
            let Some(q) = self.entering(bland) else {
                // Confirmed on a fresh tableau, else rebuild and look again.
                if self.since == 0 && self.lu.is_some() {
                    return Stop::Optimal;
                }
                self.since = self.refactor;
                continue;
            };
            let dir = if self.state[q] == State::Lower { 1.0 } else { -1.0 };
            let row = self.leaving(q, dir, bland);
            let flip = self.upper[q];
            match row {
                None if !flip.is_finite() => {
                    if self.since == 0 && self.lu.is_some() {
                        return Stop::Unbounded(q, dir);
                    }
                    self.since = self.refactor;
                }
                Some((_, t)) if flip <= t => self.step(q, dir, flip, None),
                None => self.step(q, dir, flip, None),
                Some((r, t)) => {
                    stalled = if t * self.t[r * self.w + q].abs() <= self.tol_p { stalled + 1 } else { 0 };
                    self.step(q, dir, t, Some(r));
                }
            }
        }
    }

    /// The improving ray of `Stop::Unbounded(q, dir)` over the structural columns.
    fn ray(&self, q: usize, dir: f64, n: usize) -> Vec<f64> {
        let mut d = vec![0.0; n];
        if q < n {
            d[q] = dir;
        }
        for (i, &j) in self.basis.iter().enumerate() {
            if j < n {
                d[j] = -dir * self.t[i * self.w + q];
            }
        }
        d
    }

    /// The phase-1 duals `y = B⁻ᵀ c_B`, negated: a Farkas vector when phase 1 ends infeasible.
    fn farkas(&self, cost: &[f64]) -> Option<Vec<f64>> {
        let lu = self.lu.as_ref().filter(|_| self.since == 0)?;
        let cb: Vec<f64> = self.basis.iter().map(|&j| cost[j]).collect();
        Some(lu.solve_transpose(&cb).into_iter().map(|v| -v).collect())
    }

    /// After phase 1: pivots basic artificials (at zero) out where a structural column has a
    /// usable entry in their row, and fixes every artificial at zero. Rows whose artificial
    /// stays basic are redundant.
    fn drop_artificials(&mut self, n: usize) {
        for r in 0..self.m {
            if self.basis[r] < n {
                continue;
            }
            let row = &self.t[r * self.w..r * self.w + n];
            let best = (0..n)
                .filter(|&j| self.state[j] != State::Basic)
                .max_by(|&a, &b| row[a].abs().total_cmp(&row[b].abs()));
            if let Some(q) = best.filter(|&q| row[q].abs() > 1e-7) {
                let out = self.basis[r];
                self.xb[r] = if self.state[q] == State::Upper { self.upper[q] } else { 0.0 };
                (self.state[out], self.state[q], self.basis[r]) = (State::Lower, State::Basic, q);
                self.pivot(r, q);
            }
        }
        self.upper[n..].iter_mut().for_each(|u| *u = 0.0);
    }

    fn point(&self, n: usize) -> Vec<f64> {
        let mut x: Vec<f64> = (0..n)
            .map(|j| match self.state[j] {
                State::Upper => self.upper[j],
                _ => 0.0,
            })
            .collect();
        for (i, &j) in self.basis.iter().enumerate() {
            if j < n {
                x[j] = self.xb[i].clamp(0.0, self.upper[j]);
            }
        }
        x
    }
}

/// Solves the standard form with the two-phase bounded simplex.
pub(crate) fn simplex(sf: &StdForm, max_iter: usize) -> Result<SimplexOut> {
    let n = sf.n();
    let (mut tab, n_art) = Tableau::new(sf)?;
    let out =
        |tab: &Tableau<'_>, status, cert| SimplexOut { x: tab.point(n), status, iterations: tab.iters, cert };
    if n_art > 0 {
        let mut cost = vec![0.0; tab.w];
        cost[n..].iter_mut().for_each(|c| *c = 1.0);
        match tab.run(&cost, max_iter) {
            Stop::Optimal => {}
            Stop::Limit => return Ok(out(&tab, LpStatus::IterationLimit, None)),
            // Phase 1 is bounded below by zero: anything else is numerical trouble.
            Stop::Singular | Stop::Unbounded(..) => return Ok(out(&tab, LpStatus::Numerical, None)),
        }
        let infeas: f64 = (0..tab.m).filter(|&i| tab.basis[i] >= n).map(|i| tab.xb[i].abs()).sum();
        if infeas > tab.tol_p * (tab.m as f64).sqrt().max(1.0) * 10.0 {
            let cert = tab.farkas(&cost).map(StdCert::Farkas);
            return Ok(out(&tab, LpStatus::Infeasible, cert));
        }
        tab.drop_artificials(n);
    }
    let mut cost = sf.c.clone();
    cost.resize(tab.w, 0.0);
    let (status, cert) = match tab.run(&cost, max_iter) {
        Stop::Optimal => (LpStatus::Optimal, None),
        Stop::Unbounded(q, dir) => (LpStatus::Unbounded, Some(StdCert::Ray(tab.ray(q, dir, n)))),
        Stop::Limit => (LpStatus::IterationLimit, None),
        Stop::Singular => (LpStatus::Numerical, None),
    };
    Ok(out(&tab, status, cert))
}
