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
