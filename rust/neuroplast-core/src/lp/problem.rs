//! The user-facing LP, `min cᵀx  s.t.  A_ub x ≤ b_ub,  A_eq x = b_eq,  l ≤ x ≤ u`, borrowed
//! as row-major slices and validated once, so the solvers can assume consistent, finite data.

use crate::error::{Error, Result};

/// A validated linear program over borrowed row-major data.
///
/// `a_ub` is `b_ub.len() × c.len()`, `a_eq` is `b_eq.len() × c.len()`. Bounds may be infinite
/// (`lower = -inf` / `upper = +inf` mean unbounded on that side); `lower > upper` is allowed
/// here and makes the problem infeasible, as in SciPy.
#[derive(Clone, Copy, Debug)]
pub struct LpProblem<'a> {
    pub c: &'a [f64],
    pub a_ub: &'a [f64],
    pub b_ub: &'a [f64],
    pub a_eq: &'a [f64],
    pub b_eq: &'a [f64],
    pub lower: &'a [f64],
    pub upper: &'a [f64],
}

fn check_finite(name: &str, v: &[f64], cols: usize) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) if cols > 0 => Err(Error::Data(format!(
            "{name} holds a non-finite value ({}) at row {}, column {}",
            v[i],
            i / cols,
            i % cols
        ))),
        Some(i) => Err(Error::Data(format!("{name} holds a non-finite value ({}) at index {i}", v[i]))),
    }
}

fn check_len(name: &str, got: usize, want: usize, what: &str) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(Error::Shape(format!("{name} has {got} values; expected {want} ({what})")))
    }
}

impl<'a> LpProblem<'a> {
    /// Validates shapes (→ `Error::Shape`), finiteness of `c`, the matrices and right-hand
    /// sides (→ `Error::Data`) and the bounds (NaN, `lower = +inf` or `upper = -inf` →
    /// `Error::Config`).
    pub fn new(
        c: &'a [f64],
        a_ub: &'a [f64],
        b_ub: &'a [f64],
        a_eq: &'a [f64],
        b_eq: &'a [f64],
        lower: &'a [f64],
        upper: &'a [f64],
    ) -> Result<Self> {
        let n = c.len();
        check_len("A_ub", a_ub.len(), b_ub.len() * n, "len(b_ub) rows × len(c) columns")?;
        check_len("A_eq", a_eq.len(), b_eq.len() * n, "len(b_eq) rows × len(c) columns")?;
        check_len("lower bounds", lower.len(), n, "one per variable")?;
        check_len("upper bounds", upper.len(), n, "one per variable")?;
        check_finite("c", c, 0)?;
        check_finite("A_ub", a_ub, n)?;
        check_finite("b_ub", b_ub, 0)?;
        check_finite("A_eq", a_eq, n)?;
        check_finite("b_eq", b_eq, 0)?;
        for (j, (&l, &u)) in lower.iter().zip(upper).enumerate() {
            if l.is_nan() || u.is_nan() || l == f64::INFINITY || u == f64::NEG_INFINITY {
                return Err(Error::Config(format!("invalid bounds ({l}, {u}) for variable {j}")));
            }
        }
        Ok(Self { c, a_ub, b_ub, a_eq, b_eq, lower, upper })
    }

    /// Number of variables.
    pub fn n(&self) -> usize {
        self.c.len()
    }

    /// Number of inequality rows.
    pub fn m_ub(&self) -> usize {
        self.b_ub.len()
    }

    /// Number of equality rows.
    pub fn m_eq(&self) -> usize {
        self.b_eq.len()
    }

    /// Whether some variable has `lower > upper` (the problem is then trivially infeasible).
    pub fn has_crossed_bounds(&self) -> bool {
        self.lower.iter().zip(self.upper).any(|(l, u)| l > u)
    }

    /// `b_ub - A_ub x` (inequality slacks) and `b_eq - A_eq x` (equality residuals).
    pub fn residuals(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let n = self.n();
        let rows = |a: &[f64], b: &[f64]| -> Vec<f64> {
            b.iter().enumerate().map(|(i, bi)| bi - dot(&a[i * n..(i + 1) * n], x)).collect()
        };
        (rows(self.a_ub, self.b_ub), rows(self.a_eq, self.b_eq))
    }

    /// The objective `cᵀx`.
    pub fn objective(&self, x: &[f64]) -> f64 {
        dot(self.c, x)
    }
}

/// Dot product of two equally long slices. Eight independent partial sums let the compiler
/// vectorize the loop (a single running sum fixes the order of additions and cannot).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}
