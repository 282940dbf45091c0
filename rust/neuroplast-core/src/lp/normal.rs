//! Normal equations `M dy = r`, `M = A Θ Aᵀ`, of the interior-point method, built from the
//! column structure of [`StdForm`].
//!
//! Singleton columns contribute only to a diagonal `Δ` (`Δ_i = Σ v²θ` over the singletons of
//! row `i`); dense columns stored once for several sign-duplicates get one merged weight `θ̃`,
//! so `M = Δ + A_u Θ̃ A_uᵀ` with `A_u` the `m × n_u` unique dense columns. When every row has
//! a singleton (so `Δ > 0`) and `n_u < m`, the Woodbury identity
//! `M⁻¹ = Δ⁻¹ - Δ⁻¹ A_u K⁻¹ A_uᵀ Δ⁻¹` with `K = Θ̃⁻¹ + A_uᵀ Δ⁻¹ A_u` needs an `n_u × n_u`
//! factorization (cost `m·n_u²`) instead of the `m × m` one (cost `m²·n_u + m³/3`). Each solve
//! ends with one step of iterative refinement against the structured product `M v`, which
//! recovers the accuracy the Woodbury form loses when `Δ` spans many orders of magnitude.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::linalg::triangular_solve::{solve_lower_triangular_in_place, solve_upper_triangular_in_place};
use faer::mat::{Mat, MatRef};
use faer::{Accum, Par};

use super::ipm::SOLVE_TOL;
use super::stdform::{Col, StdForm};
use crate::error::{Error, Result};

/// Multiply-adds of a factorization below which it runs on one thread.
const PAR_WORK: f64 = 1.5e8;
/// Diagonal shifts (relative to the largest diagonal entry) of successive factorization tries.
const SHIFTS: [f64; 6] = [0.0, 1e-14, 1e-12, 1e-10, 1e-8, 1e-6];
/// Most refinement steps per solve.
const REFINE: usize = 8;

/// A factored normal matrix for one interior-point iteration.
pub(crate) struct Normal<'a> {
    sf: &'a StdForm,
    woodbury: bool,
    par: Par,
    delta: Vec<f64>,
    theta_d: Vec<f64>,
    chol: Mat<f64>,
    scratch: Vec<f64>,
    /// Largest diagonal entry of `M` (a bound on its entries, `M` being positive semidefinite).
    mdiag: f64,
}

impl<'a> Normal<'a> {
    pub fn new(sf: &'a StdForm, threads: usize) -> Self {
        let mut covered = vec![false; sf.m];
        sf.cols.iter().for_each(|c| {
            if let Col::Single { row, .. } = *c {
                covered[row] = true;
            }
        });
        let woodbury = covered.iter().all(|&c| c) && sf.n_dense() < sf.m;
        // Thread hand-offs cost more than they save on small factorizations.
        let (m, nd) = (sf.m as f64, sf.n_dense() as f64);
        let work = if woodbury { nd * nd * m } else { m * m * nd.max(m) };
        let par = if threads > 1 && work >= PAR_WORK { Par::rayon(threads) } else { Par::Seq };
        Self {
            sf,
            woodbury,
            par,
            delta: vec![0.0; sf.m],
            theta_d: vec![0.0; sf.n_dense()],
            chol: Mat::new(),
            scratch: Vec::new(),
            mdiag: 0.0,
        }
    }

    /// Whether the Woodbury form is in use.
    pub fn is_woodbury(&self) -> bool {
        self.woodbury
    }

    /// Switches to the `m × m` form for the rest of the solve (call [`Normal::factor`] again).
    pub fn use_full(&mut self) {
        self.woodbury = false;
    }

    /// Factors `A diag(theta) Aᵀ + reg·I`.
    pub fn factor(&mut self, theta: &[f64], reg: f64) -> Result<()> {
        let sf = self.sf;
        self.delta.iter_mut().for_each(|d| *d = reg);
        self.theta_d.iter_mut().for_each(|t| *t = 0.0);
        for (j, col) in sf.cols.iter().enumerate() {
            match *col {
                Col::Empty => {}
                Col::Single { row, v } => self.delta[row] += v * v * theta[j],
                Col::Dense { k, .. } => self.theta_d[k] += theta[j],
            }
        }
        let (m, nd) = (sf.m, sf.n_dense());
        let mut mdiag = self.delta.clone();
        for (k, t) in self.theta_d.iter().enumerate() {
            mdiag.iter_mut().zip(sf.dense_col(k)).for_each(|(d, a)| *d += t * a * a);
        }
        self.mdiag = mdiag.iter().fold(0.0f64, |a, b| a.max(*b));
        // S holds the scaled dense columns as rows; the factored matrix is S Sᵀ (Woodbury)
        // or Sᵀ S, plus a diagonal.
        // Buffers persist across iterations: fresh multi-megabyte allocations cost page faults.
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        s.extend_from_slice(&sf.dense);
        let diag: Vec<f64> = if self.woodbury {
            let scale: Vec<f64> = self.delta.iter().map(|d| d.sqrt().recip()).collect();
            s.chunks_mut(m.max(1)).for_each(|r| r.iter_mut().zip(&scale).for_each(|(a, w)| *a *= w));
            self.theta_d.iter().map(|t| t.recip() + reg).collect()
        } else {
            s.chunks_mut(m.max(1))
                .zip(&self.theta_d)
                .for_each(|(r, t)| r.iter_mut().for_each(|a| *a *= t.sqrt()));
            self.delta.clone()
        };
        let sm = MatRef::from_row_major_slice(&s, nd, m);
        let (op, dim) = if self.woodbury { (sm, nd) } else { (sm.transpose(), m) };
        let mut g = std::mem::replace(&mut self.chol, Mat::new());
        if g.nrows() != dim || nd == 0 {
            g = Mat::zeros(dim, dim);
        }
        if nd > 0 {
            let (l, r) = (BlockStructure::Rectangular, BlockStructure::Rectangular);
            matmul(
                g.as_mut(),
                BlockStructure::TriangularLower,
                Accum::Replace,
                op,
                l,
                op.transpose(),
                r,
                1.0,
                self.par,
            );
        }
        let mut dmax = 0.0f64;
        for i in 0..dim {
            g[(i, i)] += diag[i];
            dmax = dmax.max(g[(i, i)]);
        }
        // A plain Cholesky first; if a pivot is not positive (dependent rows, fixed
        // directions, or a matrix that rounding has made indefinite near the optimum), the
        // factorization is retried with a growing multiple of the largest diagonal added.
        // Refinement in `solve` is against the unshifted matrix. (faer's own dynamic
        // regularization is not used: once triggered it has produced NaN factors on such
        // matrices.)
        let base = g.clone();
        let mut mem = MemBuffer::new(cholesky_in_place_scratch::<f64>(dim, self.par, Default::default()));
        let mut done = false;
        for (k, shift) in SHIFTS.iter().enumerate() {
            if k > 0 {
                g.copy_from(&base);
                (0..dim).for_each(|i| g[(i, i)] += shift * dmax.max(f64::MIN_POSITIVE));
            }
            let ok = cholesky_in_place(
                g.as_mut(),
                Default::default(),
                self.par,
                MemStack::new(&mut mem),
                Default::default(),
            )
            .is_ok();
            if ok && (0..dim).all(|i| g[(i, i)].is_finite()) {
                done = true;
                break;
            }
        }
        if !done {
            return Err(Error::Numerical("normal-equation factorization failed".into()));
        }
        self.chol = g;
        self.scratch = s;
        Ok(())
    }

    fn chol_solve(&self, rhs: &mut [f64]) {
        let n = rhs.len();
        let mut v = faer::MatMut::from_column_major_slice_mut(rhs, n, 1);
        solve_lower_triangular_in_place(self.chol.as_ref(), v.as_mut(), Par::Seq);
        solve_upper_triangular_in_place(self.chol.as_ref().transpose(), v.as_mut(), Par::Seq);
    }

    /// `M v` from the structure.
    fn apply(&self, v: &[f64]) -> Vec<f64> {
        let sf = self.sf;
        let mut out: Vec<f64> = v.iter().zip(&self.delta).map(|(a, d)| a * d).collect();
        let w: Vec<f64> = sf.dense_dots(v).iter().zip(&self.theta_d).map(|(a, t)| a * t).collect();
        sf.dense_combine(&w, &mut out);
        out
    }

    fn solve_once(&self, r: &[f64]) -> Vec<f64> {
        if !self.woodbury {
            let mut x = r.to_vec();
            self.chol_solve(&mut x);
            return x;
        }
        let sf = self.sf;
        let dr: Vec<f64> = r.iter().zip(&self.delta).map(|(a, d)| a / d).collect();
        let mut t = sf.dense_dots(&dr);
        self.chol_solve(&mut t);
        t.iter_mut().for_each(|v| *v = -*v);
        let mut y = r.to_vec();
        sf.dense_combine(&t, &mut y);
        y.iter_mut().zip(&self.delta).for_each(|(o, d)| *o /= d);
        y
    }

    /// `M⁻¹ r`, refined iteratively against the structured product until the residual stops
    /// shrinking; also returns the final backward error `‖r − M y‖ / (‖r‖ + max M_ii ‖y‖)`
    /// (∞-norms). Relative to `‖r‖` alone the residual cannot get small once `M` is
    /// ill-conditioned, as it is near the end of every interior-point solve.
    pub fn solve(&self, r: &[f64]) -> (Vec<f64>, f64) {
        let norm = |v: &[f64]| v.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        let rn = norm(r);
        let mut y = self.solve_once(r);
        let scale = |y: &[f64]| (rn + self.mdiag * norm(y)).max(1e-300);
        let mut best = f64::INFINITY;
        for _ in 0..REFINE {
            let res: Vec<f64> = r.iter().zip(self.apply(&y)).map(|(a, b)| a - b).collect();
            let e = norm(&res) / scale(&y);
            if e >= best * 0.5 || e < SOLVE_TOL * 1e-3 {
                best = best.min(e);
                break;
            }
            best = e;
            let dy = self.solve_once(&res);
            y.iter_mut().zip(dy).for_each(|(a, b)| *a += b);
        }
        (y, best)
    }
}
