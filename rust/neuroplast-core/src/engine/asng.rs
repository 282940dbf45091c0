//! The distribution update of probabilistic structure search with a complexity penalty
//! (Saito and Shirakawa 2019, eq. 7): the analytical natural gradient of the expected loss of
//! a multivariate Bernoulli distribution with ranking-based utilities, plus the penalty
//! `ε·Σ cᵢθᵢ`, and the clipping of `θ` to `[1/d, 1 − 1/d]`.

use crate::error::{ensure_config, Error, Result};

/// Hyperparameters of the `θ` update.
#[derive(Clone, Debug, PartialEq)]
pub struct AsngSettings {
    /// Structures sampled per minibatch (`λ ≥ 2`).
    pub lambda: usize,
    /// Learning rate of `θ` (`η_θ`; the paper uses `1/d`).
    pub eta: f64,
    /// Penalty coefficient `ε₀` before normalization; any finite value (negative values
    /// favour more bits on).
    pub eps0: f64,
    /// Complexity coefficient `cᵢ ≥ 0` of every bit.
    pub costs: Vec<f64>,
}

impl AsngSettings {
    /// Checks the settings for `d` bits.
    pub fn validate(&self, d: usize) -> Result<()> {
        ensure_config(self.lambda >= 2, || {
            format!("lambda must be at least 2 (the ranking needs two samples), got {}", self.lambda)
        })?;
        ensure_config(d >= 2, || {
            format!("structure search needs at least 2 bits (θ is clipped to [1/d, 1 − 1/d]), got {d}")
        })?;
        ensure_config(self.eta.is_finite() && self.eta > 0.0, || {
            format!("the θ learning rate must be a positive number, got {}", self.eta)
        })?;
        ensure_config(self.eps0.is_finite(), || {
            format!("the penalty coefficient ε₀ must be a finite number, got {}", self.eps0)
        })?;
        ensure_config(self.costs.len() == d, || {
            format!("{} complexity coefficients for {d} bits", self.costs.len())
        })?;
        ensure_config(self.costs.iter().all(|c| c.is_finite() && *c >= 0.0), || {
            "complexity coefficients must be finite and non-negative".into()
        })?;
        ensure_config(self.costs.iter().any(|&c| c > 0.0), || {
            "at least one complexity coefficient must be positive".into()
        })
    }

    /// The normalized penalty coefficient `ε = ε₀ / max(c)` (the paper's Sec. 3), which keeps
    /// the penalty's natural gradient within `[0, ε₀/4]` whatever the encoding.
    pub fn eps(&self) -> f64 {
        let max = self.costs.iter().copied().fold(0.0, f64::max);
        self.eps0 / max
    }
}

/// `θ` bounds for `d` bits: `[1/d, 1 − 1/d]`.
pub fn theta_bounds(d: usize) -> (f64, f64) {
    let lo = 1.0 / d as f64;
    (lo, 1.0 - lo)
}

/// Checks a distribution parameter vector: `d` finite values in `[0, 1]`.
pub fn validate_theta(theta: &[f64], d: usize) -> Result<()> {
    if theta.len() != d {
        return Err(Error::Shape(format!("θ has {} values for {d} bits", theta.len())));
    }
    ensure_config(theta.iter().all(|t| (0.0..=1.0).contains(t)), || {
        "θ must hold probabilities in [0, 1]".into()
    })
}

/// Ranking-based utilities of `λ` losses (lower is better): `+1` for the best `⌈λ/4⌉`, `−1`
/// for the worst `⌈λ/4⌉`, `0` otherwise. Tied losses share the mean utility of the ranks
/// they occupy, so the result does not depend on the order of the samples.
pub fn utilities(losses: &[f64]) -> Vec<f64> {
    let lam = losses.len();
    let mu = lam.div_ceil(4);
    let by_rank = |r: usize| {
        if r < mu {
            1.0
        } else if r >= lam - mu {
            -1.0
        } else {
            0.0
        }
    };
    let mut order: Vec<usize> = (0..lam).collect();
    order.sort_by(|&a, &b| losses[a].total_cmp(&losses[b]));
    let mut u = vec![0.0; lam];
    let mut start = 0;
    while start < lam {
        let mut end = start + 1;
        while end < lam && losses[order[end]] == losses[order[start]] {
            end += 1;
        }
        let mean = (start..end).map(by_rank).sum::<f64>() / (end - start) as f64;
        order[start..end].iter().for_each(|&i| u[i] = mean);
        start = end;
    }
    u
}

/// One `θ` update (eq. 7) from `λ` samples (`samples`, row-major `λ × d`) and their losses,
/// then the clipping to `[1/d, 1 − 1/d]`:
/// `θ ← clip(θ + η·(Σᵢ uᵢ/λ·(Mᵢ − θ) − ε·c·θ·(1 − θ)))`.
pub fn update_theta(theta: &mut [f64], samples: &[bool], losses: &[f64], s: &AsngSettings) {
    let d = theta.len();
    let lam = losses.len() as f64;
    let u = utilities(losses);
    let eps = s.eps();
    let (lo, hi) = theta_bounds(d);
    for (i, t) in theta.iter_mut().enumerate() {
        let th = *t;
        let mut g = 0.0;
        for (k, &uk) in u.iter().enumerate() {
            if uk != 0.0 {
                g += uk / lam * (f64::from(u8::from(samples[k * d + i])) - th);
            }
        }
        g -= eps * s.costs[i] * th * (1.0 - th);
        *t = (th + s.eta * g).clamp(lo, hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilities_rank_and_share_ties() {
        assert_eq!(utilities(&[0.3, 0.1]), vec![-1.0, 1.0]);
        assert_eq!(utilities(&[0.2, 0.2]), vec![0.0, 0.0]);
        assert_eq!(utilities(&[4.0, 1.0, 3.0, 2.0]), vec![-1.0, 1.0, 0.0, 0.0]);
        // Best two tied: ranks 0 and 1 share (1 + 0) / 2.
        assert_eq!(utilities(&[1.0, 1.0, 3.0, 2.0]), vec![0.5, 0.5, -1.0, 0.0]);
        // λ = 5: ⌈5/4⌉ = 2 on each side.
        assert_eq!(utilities(&[5.0, 4.0, 3.0, 2.0, 1.0]), vec![-1.0, -1.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn update_matches_eq7_by_hand() {
        let s = AsngSettings { lambda: 2, eta: 0.25, eps0: 0.5, costs: vec![1.0, 2.0, 4.0, 4.0] };
        let mut theta = vec![0.5; 4];
        // Sample 0 wins: u = (+1, −1).
        let samples = [true, false, true, false, false, false, true, true];
        update_theta(&mut theta, &samples, &[0.1, 0.9], &s);
        let eps = 0.5 / 4.0;
        let want: Vec<f64> = [(1.0, 0.0, 1.0), (0.0, 0.0, 2.0), (1.0, 1.0, 4.0), (0.0, 1.0, 4.0)]
            .iter()
            .map(|&(a, b, c): &(f64, f64, f64)| {
                let g = 0.5 * (a - 0.5) - 0.5 * (b - 0.5) - eps * c * 0.25;
                (0.5 + 0.25 * g).clamp(0.25, 0.75)
            })
            .collect();
        assert_eq!(theta, want);
    }

    #[test]
    fn settings_are_checked() {
        let ok = AsngSettings { lambda: 2, eta: 0.5, eps0: -0.125, costs: vec![1.0, 1.0] };
        assert!(ok.validate(2).is_ok());
        for bad in [
            AsngSettings { lambda: 1, ..ok.clone() },
            AsngSettings { eta: 0.0, ..ok.clone() },
            AsngSettings { eps0: f64::NAN, ..ok.clone() },
            AsngSettings { costs: vec![1.0], ..ok.clone() },
            AsngSettings { costs: vec![0.0, 0.0], ..ok.clone() },
        ] {
            assert!(matches!(bad.validate(2), Err(Error::Config(_))), "{bad:?}");
        }
        assert!(ok.validate(1).is_err());
    }
}
