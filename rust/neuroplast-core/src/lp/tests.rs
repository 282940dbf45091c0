//! Small LPs with known answers, for both methods.

use super::*;
use crate::rng::Rng;

const INF: f64 = f64::INFINITY;

struct Lp {
    c: Vec<f64>,
    a_ub: Vec<f64>,
    b_ub: Vec<f64>,
    a_eq: Vec<f64>,
    b_eq: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl Lp {
    fn new(c: &[f64], a_ub: &[f64], b_ub: &[f64]) -> Self {
        let n = c.len();
        Lp {
            c: c.to_vec(),
            a_ub: a_ub.to_vec(),
            b_ub: b_ub.to_vec(),
            a_eq: vec![],
            b_eq: vec![],
            lower: vec![0.0; n],
            upper: vec![INF; n],
        }
    }

    fn eq(mut self, a_eq: &[f64], b_eq: &[f64]) -> Self {
        (self.a_eq, self.b_eq) = (a_eq.to_vec(), b_eq.to_vec());
        self
    }

    fn bounds(mut self, lower: &[f64], upper: &[f64]) -> Self {
        (self.lower, self.upper) = (lower.to_vec(), upper.to_vec());
        self
    }

    fn problem(&self) -> Result<LpProblem<'_>> {
        LpProblem::new(&self.c, &self.a_ub, &self.b_ub, &self.a_eq, &self.b_eq, &self.lower, &self.upper)
    }

    fn solve(&self, method: Method) -> LpSolution {
        let opts = LpOptions { method, max_iter: None };
        solve(&self.problem().unwrap(), &opts, 1).unwrap()
    }

    /// Solves with both methods and checks status and (when optimal) objective.
    fn check(&self, status: LpStatus, fun: f64) {
        for method in [Method::Simplex, Method::Ipm, Method::Auto] {
            let s = self.solve(method);
            assert_eq!(s.status, status, "{method:?}");
            if status == LpStatus::Optimal {
                assert!((s.fun - fun).abs() <= 1e-8 * (1.0 + fun.abs()), "{method:?}: {} vs {fun}", s.fun);
            }
        }
    }
}

#[test]
fn small_optimum_with_upper_bounds() {
    // max x + 2y, x + y ≤ 4, 0 ≤ x, y ≤ 3  →  x = 1, y = 3.
    let lp = Lp::new(&[-1.0, -2.0], &[1.0, 1.0], &[4.0]).bounds(&[0.0, 0.0], &[3.0, 3.0]);
    lp.check(LpStatus::Optimal, -7.0);
    for method in [Method::Simplex, Method::Ipm] {
        // The interior point ends on the same vertex through crossover.
        let s = lp.solve(method);
        assert_eq!(s.method, method);
        assert!((s.x[0] - 1.0).abs() < 1e-12 && s.x[1] == 3.0, "{:?}", s.x);
        assert_eq!(s.active_bounds, vec![0, 1]);
        assert_eq!(s.active_ub, vec![true]);
    }
}

#[test]
fn infeasible_and_unbounded() {
    // x ≥ 2 and x ≤ 1.
    Lp::new(&[1.0], &[-1.0, 1.0], &[-2.0, 1.0]).check(LpStatus::Infeasible, 0.0);
    // Crossed bounds.
    Lp::new(&[1.0], &[], &[]).bounds(&[2.0], &[1.0]).check(LpStatus::Infeasible, 0.0);
    // Inconsistent equalities.
    Lp::new(&[0.0, 0.0], &[], &[]).eq(&[1.0, 1.0, 1.0, 1.0], &[1.0, 2.0]).check(LpStatus::Infeasible, 0.0);
    // min -x - y with x - y ≤ 1.
    Lp::new(&[-1.0, -1.0], &[1.0, -1.0], &[1.0]).check(LpStatus::Unbounded, 0.0);
    // A free variable with a negative cost and no constraints.
    Lp::new(&[1.0], &[], &[]).bounds(&[-INF], &[INF]).check(LpStatus::Unbounded, 0.0);
}

#[test]
fn beale_cycling_example() {
    // Cycles under Dantzig's rule with the textbook ratio test; optimum -1/20.
    let a = [0.25, -60.0, -0.04, 9.0, 0.5, -90.0, -0.02, 3.0, 0.0, 0.0, 1.0, 0.0];
    Lp::new(&[-0.75, 150.0, -0.02, 6.0], &a, &[0.0, 0.0, 1.0]).check(LpStatus::Optimal, -0.05);
}

#[test]
fn free_and_negative_bounds_and_redundant_equalities() {
    // min x0 + x1, x0 - x1 = 3 (twice), x0 free, -2 ≤ x1 ≤ 5, x2 ≤ 4 (no lower).
    let lp = Lp::new(&[1.0, 1.0, -1.0], &[], &[])
        .eq(&[1.0, -1.0, 0.0, 1.0, -1.0, 0.0], &[3.0, 3.0])
        .bounds(&[-INF, -2.0, -INF], &[INF, 5.0, 4.0]);
    // x1 = -2, x0 = 1, x2 = 4.
    lp.check(LpStatus::Optimal, 1.0 - 2.0 - 4.0);
    let s = lp.solve(Method::Simplex);
    assert!((s.x[0] - 1.0).abs() < 1e-9 && (s.x[1] + 2.0).abs() < 1e-9);
}

#[test]
fn degenerate_ties_and_zero_rows() {
    // Duplicated and zero constraint rows, several optimal vertices.
    let a = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    Lp::new(&[-1.0, -1.0], &a, &[2.0, 2.0, 0.0, 2.0, 2.0]).check(LpStatus::Optimal, -2.0);
    // A fixed variable.
    Lp::new(&[1.0, 1.0], &[-1.0, -1.0], &[-3.0])
        .bounds(&[1.0, 0.0], &[1.0, INF])
        .check(LpStatus::Optimal, 3.0);
}

#[test]
fn iteration_limit_is_reported() {
    let a = [1.0, 1.0, 1.0, -1.0];
    let lp = Lp::new(&[-1.0, -2.0], &a, &[4.0, 1.0]);
    let s =
        solve(&lp.problem().unwrap(), &LpOptions { method: Method::Simplex, max_iter: Some(0) }, 1).unwrap();
    assert_eq!(s.status, LpStatus::IterationLimit);
}

#[test]
fn invalid_input_is_typed() {
    let nan = Lp::new(&[f64::NAN], &[], &[]);
    assert!(matches!(nan.problem(), Err(Error::Data(_))));
    let shape = Lp::new(&[1.0, 1.0], &[1.0], &[1.0]);
    assert!(matches!(shape.problem(), Err(Error::Shape(_))));
    let bad = Lp::new(&[1.0], &[], &[]).bounds(&[INF], &[INF]);
    assert!(matches!(bad.problem(), Err(Error::Config(_))));
    assert!(matches!(Method::parse("dual"), Err(Error::Config(_))));
}

/// The L1 perceptron LP of seed 004 on random data: `w⁺, w⁻, u⁺, u⁻, a ≥ 0`,
/// `-y_t (x_t·(w⁺-w⁻) + u⁺-u⁻) - a_t ≤ -1`, cost `Σ(w⁺+w⁻+u⁺+u⁻) + M Σ a`.
fn perceptron(t: usize, n: usize, seed: u64) -> Lp {
    let mut rng = Rng::new(seed, 0);
    let cols = 2 * n + 2 + t;
    let (mut a, mut c) = (vec![0.0; t * cols], vec![1.0; cols]);
    c[2 * n + 2..].iter_mut().for_each(|v| *v = 50.0);
    for r in 0..t {
        let x: Vec<f64> = (0..n).map(|_| 2.0 * rng.uniform_f32() as f64 - 1.0).collect();
        let y = if x[0] + 0.5 * x[1] - 0.2 > 0.0 { 1.0 } else { -1.0 };
        let y = if r % 10 == 0 { -y } else { y };
        for j in 0..n {
            (a[r * cols + j], a[r * cols + n + j]) = (-y * x[j], y * x[j]);
        }
        (a[r * cols + 2 * n], a[r * cols + 2 * n + 1]) = (-y, y);
        a[r * cols + 2 * n + 2 + r] = -1.0;
    }
    Lp::new(&c, &a, &vec![-1.0; t])
}

#[test]
fn perceptron_lp_methods_agree() {
    // T > n takes the Woodbury path, T < n the row-space form.
    for (t, n) in [(60, 8), (12, 30)] {
        let lp = perceptron(t, n, 7);
        let s = lp.solve(Method::Simplex);
        assert_eq!(s.status, LpStatus::Optimal);
        let i = lp.solve(Method::Ipm);
        assert_eq!(i.status, LpStatus::Optimal);
        assert_eq!(i.method, Method::Ipm);
        assert!((s.fun - i.fun).abs() <= 1e-8 * (1.0 + s.fun.abs()), "{} vs {}", s.fun, i.fun);
    }
}

#[test]
fn interior_point_ends_on_a_vertex_of_a_non_unique_optimum() {
    // Every point of x0 + x1 = 1, x ≥ 0 is optimal; the interior point converges to its
    // middle and crossover must still return a vertex.
    let lp = Lp::new(&[1.0, 1.0, 0.0], &[-1.0, -1.0, 0.0], &[-1.0]).bounds(&[0.0; 3], &[INF, INF, 2.0]);
    let s = lp.solve(Method::Ipm);
    assert_eq!((s.status, s.method), (LpStatus::Optimal, Method::Ipm));
    assert!((s.fun - 1.0).abs() < 1e-12);
    assert!(s.x[0] == 0.0 || s.x[1] == 0.0, "{:?}", s.x);
    assert!(s.x[2] == 0.0 || s.x[2] == 2.0, "{:?}", s.x);
}

#[test]
fn infeasible_and_unbounded_carry_verified_certificates() {
    let infeasible = [
        Lp::new(&[1.0], &[-1.0, 1.0], &[-2.0, 1.0]),
        Lp::new(&[0.0, 0.0], &[], &[]).eq(&[1.0, 1.0, 1.0, 1.0], &[1.0, 2.0]),
        // x0 + x1 ≤ 1 and x0 + x1 ≥ 3 with x0 free and x1 ≤ 5.
        Lp::new(&[1.0, 1.0], &[1.0, 1.0, -1.0, -1.0], &[1.0, -3.0]).bounds(&[-INF, -INF], &[INF, 5.0]),
    ];
    for lp in &infeasible {
        for method in [Method::Simplex, Method::Ipm, Method::Auto] {
            let s = lp.solve(method);
            assert_eq!(s.status, LpStatus::Infeasible, "{method:?}");
            let Some(Certificate::Farkas { y_ub, y_eq, margin, .. }) = &s.certificate else {
                panic!("{method:?}: no Farkas vector: {:?}", s.certificate)
            };
            assert!(*margin > 0.0 && y_ub.iter().all(|y| *y >= 0.0));
            // Re-checking the reported vector on the data passes again.
            let y: Vec<f64> = y_ub.iter().chain(y_eq).copied().collect();
            assert!(certificate::farkas(&lp.problem().unwrap(), &y).is_some());
        }
    }
    let unbounded = [
        Lp::new(&[-1.0, -1.0], &[1.0, -1.0], &[1.0]),
        Lp::new(&[1.0], &[], &[]).bounds(&[-INF], &[INF]),
        // x0 - x1 = 2, both free: cost 2 x1 + 2.
        Lp::new(&[1.0, 1.0], &[], &[]).eq(&[1.0, -1.0], &[2.0]).bounds(&[-INF, -INF], &[INF, INF]),
    ];
    for lp in &unbounded {
        for method in [Method::Simplex, Method::Ipm, Method::Auto] {
            let s = lp.solve(method);
            assert_eq!(s.status, LpStatus::Unbounded, "{method:?}");
            let Some(Certificate::Ray { ray, point, margin, .. }) = &s.certificate else {
                panic!("{method:?}: no ray: {:?}", s.certificate)
            };
            assert!(*margin > 0.0);
            assert!(certificate::ray(&lp.problem().unwrap(), ray, point).is_some());
        }
    }
    let crossed = Lp::new(&[1.0], &[], &[]).bounds(&[2.0], &[1.0]).solve(Method::Auto);
    assert!(matches!(crossed.certificate, Some(Certificate::Farkas { margin, .. }) if margin == 1.0));
    assert!(Lp::new(&[1.0], &[1.0], &[1.0]).solve(Method::Auto).certificate.is_none());
}

#[test]
fn false_certificates_are_rejected() {
    // A feasible, bounded LP with c ≥ 0 and x ≥ 0: no Farkas vector or ray can pass.
    let lp = perceptron(40, 5, 3);
    let p = lp.problem().unwrap();
    let x = lp.solve(Method::Simplex).x;
    for d in [vec![1.0; p.n()], (0..p.n()).map(|j| if j % 2 == 0 { -1.0 } else { 1.0 }).collect()] {
        assert!(certificate::ray(&p, &d, &x).is_none());
    }
    for y in [vec![1.0; p.m_ub()], vec![-1.0; p.m_ub()], vec![0.0; p.m_ub()]] {
        assert!(certificate::farkas(&p, &y).is_none());
    }
    // A ray from an infeasible point is no proof either.
    let unb = Lp::new(&[-1.0, -1.0], &[1.0, -1.0], &[1.0]);
    assert!(certificate::ray(&unb.problem().unwrap(), &[1.0, 1.0], &[5.0, 0.0]).is_none());
    assert!(certificate::ray(&unb.problem().unwrap(), &[1.0, 1.0], &[0.0, 0.0]).is_some());
}

/// A perceptron LP in equality form whose targets sit on and inside the limits, as in the
/// hidden-layer LPs of `prune_hidden_lp`: heavily degenerate for the primal simplex.
fn degenerate_data_lp(t: usize, n: usize, seed: u64) -> Lp {
    let mut rng = Rng::new(seed, 0);
    let w: Vec<f64> = (0..n).map(|_| 4.0 * rng.uniform_f32() as f64 - 2.0).collect();
    let cols = 2 * n + 2 + 2 * t;
    let (mut a, mut b, mut c) = (vec![0.0; t * cols], vec![0.0; t], vec![1.0; cols]);
    c[2 * n + 2..].iter_mut().for_each(|v| *v = 1e4);
    for r in 0..t {
        let x: Vec<f64> =
            (0..n).map(|_| if rng.uniform_f32() < 0.3 { 0.0 } else { rng.uniform_f32() as f64 }).collect();
        let y = (x.iter().zip(&w).map(|(x, w)| x * w).sum::<f64>() - 0.3).clamp(-1.0, 1.0);
        let row = &mut a[r * cols..(r + 1) * cols];
        for j in 0..n {
            (row[j], row[n + j]) = (x[j], -x[j]);
        }
        (row[2 * n], row[2 * n + 1]) = (1.0, -1.0);
        let sign = if y <= -1.0 { -1.0 } else { 1.0 };
        (row[2 * n + 2 + r], row[2 * n + 2 + t + r]) = (sign, -sign);
        if y.abs() >= 1.0 {
            c[2 * n + 2 + t + r] = 0.0;
        }
        b[r] = y;
    }
    Lp::new(&c, &[], &[]).eq(&a, &b)
}

#[test]
fn degenerate_data_lps_agree_across_methods() {
    for seed in 0..4 {
        let lp = degenerate_data_lp(80, 12, seed);
        let s = lp.solve(Method::Simplex);
        let i = lp.solve(Method::Ipm);
        assert_eq!((s.status, i.status), (LpStatus::Optimal, LpStatus::Optimal), "seed {seed}");
        assert!((s.fun - i.fun).abs() <= 1e-7 * (1.0 + i.fun.abs()), "seed {seed}: {} vs {}", s.fun, i.fun);
    }
}
