//! Early stopping on a validation metric, with the best epoch's parameters and optimizer state
//! kept inside the engine (no round trip to the caller per epoch).

use super::fit::{EpochRecord, OptState};
use super::graph::Graph;
use crate::error::{Error, Result};
use crate::kernels::loss::Loss;

/// The validation metric early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// Mean validation loss: lower is better.
    ValLoss,
    /// Validation accuracy (classification only): higher is better.
    ValAccuracy,
}

impl Monitor {
    /// Parses the wire name (`"val_loss"` or `"val_accuracy"`).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "val_loss" => Ok(Self::ValLoss),
            "val_accuracy" => Ok(Self::ValAccuracy),
            other => {
                Err(Error::Config(format!("monitor must be \"val_loss\" or \"val_accuracy\", got {other:?}")))
            }
        }
    }

    fn value(self, rec: &EpochRecord) -> Option<f64> {
        let val = rec.val?;
        match self {
            Self::ValLoss => Some(val.loss),
            Self::ValAccuracy => val.accuracy,
        }
    }

    /// Whether `value` improves on `best` by more than `min_delta` (a NaN never does).
    fn improves(self, value: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Self::ValLoss => value < best - min_delta,
            Self::ValAccuracy => value > best + min_delta,
        }
    }
}

/// Stop after `patience` consecutive epochs whose monitored value does not improve on the best
/// so far by more than `min_delta`; with `restore_best`, end with the parameters and optimizer
/// state of the best epoch (bitwise those a run of exactly that many epochs ends with).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    pub monitor: Monitor,
    pub patience: u64,
    pub min_delta: f64,
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Checks the settings against the graph and whether validation data are given.
    pub fn validate(&self, graph: &Graph, has_validation: bool) -> Result<()> {
        if !has_validation {
            return Err(Error::Config(
                "early stopping (patience) needs validation data: pass validation_data".into(),
            ));
        }
        if self.patience == 0 {
            return Err(Error::Config("patience must be at least 1".into()));
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(Error::Config(format!(
                "min_delta must be a finite number >= 0, got {}",
                self.min_delta
            )));
        }
        if self.monitor == Monitor::ValAccuracy && graph.loss != Loss::CrossEntropy {
            return Err(Error::Config(
                "monitor=\"val_accuracy\" needs a cross-entropy classifier; use \"val_loss\"".into(),
            ));
        }
        Ok(())
    }
}

/// The best epoch so far and, when restoring, a copy of its parameters and optimizer state.
pub(crate) struct Tracker {
    rule: EarlyStopping,
    /// Best monitored value and its (global) epoch index.
    best: Option<(f64, u64)>,
    /// Consecutive epochs without improvement.
    wait: u64,
    /// Parameters and optimizer state after the best epoch (buffers reused across epochs).
    snapshot: Option<(Vec<Vec<f32>>, OptState)>,
    /// Whether the current parameters are those of the best epoch.
    at_best: bool,
}

impl Tracker {
    pub(crate) fn new(rule: EarlyStopping) -> Self {
        Self { rule, best: None, wait: 0, snapshot: None, at_best: false }
    }

    /// Sees the epoch that just ended (`params`/`state` are its result) and returns whether
    /// training must stop.
    pub(crate) fn observe(&mut self, rec: &EpochRecord, params: &[Vec<f32>], state: &OptState) -> bool {
        let value = self.rule.monitor.value(rec).unwrap_or(f64::NAN);
        let improved = match self.best {
            None => !value.is_nan(),
            Some((best, _)) => self.rule.monitor.improves(value, best, self.rule.min_delta),
        };
        self.at_best = improved;
        if !improved {
            self.wait += 1;
            return self.wait >= self.rule.patience;
        }
        self.best = Some((value, rec.epoch));
        self.wait = 0;
        if self.rule.restore_best {
            match &mut self.snapshot {
                Some((p, s)) => {
                    p.iter_mut().zip(params).for_each(|(d, src)| d.copy_from_slice(src));
                    for (d, src) in s.slots.iter_mut().flatten().zip(state.slots.iter().flatten()) {
                        d.copy_from_slice(src);
                    }
                    s.step = state.step;
                }
                None => self.snapshot = Some((params.to_vec(), state.clone())),
            }
        }
        false
    }

    /// Ends training: restores the best epoch's parameters and state when asked (and when the
    /// last epoch was not the best) and returns the best epoch's index.
    pub(crate) fn finish(self, params: &mut [Vec<f32>], state: &mut OptState) -> Option<u64> {
        if let (false, Some((p, s))) = (self.at_best, self.snapshot) {
            params.iter_mut().zip(p).for_each(|(d, src)| *d = src);
            *state = s;
        }
        self.best.map(|(_, epoch)| epoch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::Evaluation;

    fn rec(epoch: u64, loss: f64) -> EpochRecord {
        EpochRecord {
            epoch,
            loss: 0.0,
            accuracy: None,
            val: Some(Evaluation { loss, accuracy: Some(1.0 - loss) }),
        }
    }

    fn run(values: &[f64], rule: EarlyStopping) -> (usize, Option<u64>, Vec<f32>) {
        let mut t = Tracker::new(rule);
        let mut params = vec![vec![0.0f32]];
        let mut state = OptState { step: 0, slots: vec![vec![vec![0.0]]] };
        let mut ran = 0;
        for (e, &v) in values.iter().enumerate() {
            params[0][0] = e as f32;
            state.step = e as u64;
            state.slots[0][0][0] = -(e as f32);
            ran += 1;
            if t.observe(&rec(e as u64, v), &params, &state) {
                break;
            }
        }
        let best = t.finish(&mut params, &mut state);
        assert_eq!(state.step as f32, params[0][0]);
        assert_eq!(state.slots[0][0][0], -params[0][0]);
        (ran, best, params[0].clone())
    }

    #[test]
    fn stops_after_patience_epochs_without_improvement_and_restores_the_best() {
        let rule =
            EarlyStopping { monitor: Monitor::ValLoss, patience: 2, min_delta: 0.0, restore_best: true };
        assert_eq!(run(&[1.0, 0.5, 0.6, 0.5, 0.7, 0.1], rule), (4, Some(1), vec![1.0]));
        // An improvement resets the count.
        assert_eq!(run(&[1.0, 0.9, 0.95, 0.8, 0.85, 0.86], rule), (6, Some(3), vec![3.0]));
        // min_delta: 0.95 → 0.9 is not enough.
        let strict = EarlyStopping { min_delta: 0.1, ..rule };
        assert_eq!(run(&[1.0, 0.95, 0.9, 0.5], strict), (3, Some(0), vec![0.0]));
        // Without restoring, the last epoch's parameters stay.
        let keep = EarlyStopping { restore_best: false, ..rule };
        assert_eq!(run(&[1.0, 0.5, 0.6, 0.7], keep), (4, Some(1), vec![3.0]));
        // Accuracy: higher is better (values 1 − loss).
        let acc = EarlyStopping { monitor: Monitor::ValAccuracy, ..rule };
        assert_eq!(run(&[1.0, 0.5, 0.6, 0.5, 0.7], acc), (4, Some(1), vec![1.0]));
        // A NaN never improves.
        assert_eq!(run(&[f64::NAN, 1.0, f64::NAN, f64::NAN], rule), (4, Some(1), vec![1.0]));
    }

    #[test]
    fn settings_are_checked() {
        let spec = r#"{"input_shape":[2],"output":"o","loss":"mse",
            "nodes":[{"name":"o","op":"dense","inputs":["input"],"units":1}]}"#;
        let g = Graph::from_json(spec).unwrap();
        let rule =
            EarlyStopping { monitor: Monitor::ValLoss, patience: 1, min_delta: 0.0, restore_best: true };
        assert!(rule.validate(&g, true).is_ok());
        assert!(matches!(rule.validate(&g, false), Err(Error::Config(_))));
        assert!(EarlyStopping { patience: 0, ..rule }.validate(&g, true).is_err());
        assert!(EarlyStopping { min_delta: -1.0, ..rule }.validate(&g, true).is_err());
        assert!(EarlyStopping { min_delta: f64::NAN, ..rule }.validate(&g, true).is_err());
        assert!(EarlyStopping { monitor: Monitor::ValAccuracy, ..rule }.validate(&g, true).is_err());
        assert!(Monitor::parse("loss").is_err());
        assert_eq!(Monitor::parse("val_accuracy"), Ok(Monitor::ValAccuracy));
    }
}
