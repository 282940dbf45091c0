//! When an architecture step follows a weight step: alternating (DARTS), a constant ratio
//! (CS10) or the dynamic Fisher-informed schedule FIMT (Maile 2023, ch. 5, eqs. 18–19,
//! Algorithm 3).

use serde::{Deserialize, Serialize};

use crate::error::{ensure_config, Result};

/// The α/w step schedule.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// An α step after every w step (DARTS).
    Alternating,
    /// An α step after every `ratio`-th w step (CS10: `ratio = 10`).
    Constant { ratio: u64 },
    /// Algorithm 3: the moving average `Fₙ = λ·‖∇w‖² + (1 − λ)·Fₙ₋₁` of the Fisher trace is
    /// compared with a threshold `h` (from `h0`); an α step follows when `Fₙ < h`, and then
    /// `h ← h·h_d` with `h_d = h_i^(−r)`, else `h ← h·h_i`. With a constant trace, α fires on
    /// `1/(r+1)` of the iterations: `r` w steps without α step per w step with one.
    Fimt { ratio: f64, h0: f64, hi: f64, lambda: f64 },
}

/// What the schedule carries from one w step to the next.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ScheduleState {
    /// `Fₙ` (`None` before the first step; the average starts at the first trace, since
    /// Algorithm 3 leaves `F₀` undefined).
    pub ema: Option<f64>,
    /// The threshold `h` (`None`: `h0`).
    pub h: Option<f64>,
}

/// One decision: whether an α step follows, the averaged trace and the threshold compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub fire: bool,
    pub ema: f64,
    pub threshold: f64,
}

/// Weight of the trace average when the schedule does not use it (reported only).
const REPORT_LAMBDA: f64 = 0.2;

impl Schedule {
    /// Checks the settings' ranges.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Alternating => Ok(()),
            Self::Constant { ratio } => ensure_config(ratio >= 1, || "ratio must be at least 1".into()),
            Self::Fimt { ratio, h0, hi, lambda } => {
                ensure_config(ratio.is_finite() && ratio > 0.0, || {
                    format!("ratio must be > 0, got {ratio}")
                })?;
                ensure_config(h0.is_finite() && h0 > 0.0, || format!("h0 must be > 0, got {h0}"))?;
                ensure_config(hi.is_finite() && hi > 1.0, || format!("hi must be > 1, got {hi}"))?;
                ensure_config(lambda > 0.0 && lambda <= 1.0, || {
                    format!("lambda must be in (0, 1], got {lambda}")
                })
            }
        }
    }

    /// Decides after w step `iteration` (0-based, counted over the whole search) whose
    /// gradient had the squared norm `fisher`.
    pub fn decide(&self, st: &mut ScheduleState, iteration: u64, fisher: f64) -> Decision {
        let lambda = match *self {
            Self::Fimt { lambda, .. } => lambda,
            _ => REPORT_LAMBDA,
        };
        let ema = st.ema.map_or(fisher, |prev| lambda * fisher + (1.0 - lambda) * prev);
        st.ema = Some(ema);
        match *self {
            Self::Alternating => Decision { fire: true, ema, threshold: f64::NAN },
            Self::Constant { ratio } => {
                Decision { fire: (iteration + 1).is_multiple_of(ratio), ema, threshold: f64::NAN }
            }
            Self::Fimt { ratio, h0, hi, .. } => {
                let h = st.h.unwrap_or(h0);
                let fire = ema < h;
                let factor = if fire { (-ratio * hi.ln()).exp() } else { hi };
                st.h = Some(h * factor);
                Decision { fire, ema, threshold: h }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fimt_with_a_constant_trace_fires_on_one_in_r_plus_one() {
        let s = Schedule::Fimt { ratio: 10.0, h0: 1.0, hi: 1.05, lambda: 0.2 };
        let mut st = ScheduleState::default();
        let n = 22_000;
        let fired = (0..n).filter(|&t| s.decide(&mut st, t, 0.37).fire).count();
        let share = fired as f64 / n as f64;
        assert!((share - 1.0 / 11.0).abs() < 1e-3, "{share}");
    }

    #[test]
    fn constant_and_alternating() {
        let mut st = ScheduleState::default();
        let cs = Schedule::Constant { ratio: 10 };
        let fired: Vec<u64> = (0..30).filter(|&t| cs.decide(&mut st, t, 1.0).fire).collect();
        assert_eq!(fired, vec![9, 19, 29]);
        assert!(Schedule::Alternating.decide(&mut st, 0, 5.0).fire);
        assert!(Schedule::Constant { ratio: 0 }.validate().is_err());
        assert!(Schedule::Fimt { ratio: 10.0, h0: 1.0, hi: 0.9, lambda: 0.2 }.validate().is_err());
    }
}
