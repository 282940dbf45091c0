//! Differentiable architecture search on a graph with mixed nodes: DARTS (Liu et al. 2019,
//! first order) and the DARTS-PRIME components of Maile (2023, ch. 5) — α/w schedules,
//! proximity regularization, ADMM, CRB weighting with progressive pruning — in one loop that
//! runs whole epochs per call.
//!
//! Every iteration takes one weight step on a training minibatch (SGD, cosine-annealed
//! learning rate, gradient clipping); the [`Schedule`] then decides whether an architecture
//! step follows on the next minibatch of the architecture split (Adam on the architecture
//! tensors, first-order gradient at the current weights, plus the regularizers' gradients).
//! The α gradients come from the same backward pass as the weight gradients
//! ([`crate::engine::pass::backward`]).

mod alpha;
pub mod arch;
mod run;
pub mod schedule;

use serde::{Deserialize, Serialize};

pub use arch::{arch_tensors, ArchTensor};
pub use run::{search, sgd_of};
pub use schedule::{Schedule, ScheduleState};

use crate::error::{ensure_config, Error, Result};

/// ADMM settings (eqs. 21–25): `z`, `u` updated every `every` α steps, `u` discounted by
/// `lambda_u` (eq. 25), penalty weight `rho`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
pub struct Admm {
    pub rho: f64,
    pub every: u64,
    pub lambda_u: f64,
}

fn yes() -> bool {
    true
}

/// Settings of a search (JSON form written by `neuroplast.search.DARTS`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct SearchConfig {
    /// Length of the whole search: the cosine schedules and the proximity ramp span it.
    pub total_epochs: u64,
    pub batch_size: usize,
    pub seed: u64,
    pub w_lr: f32,
    pub w_lr_min: f32,
    pub momentum: f32,
    pub w_weight_decay: f32,
    /// Largest norm of the weight gradient (0: no clipping).
    #[serde(default)]
    pub grad_clip: f32,
    pub alpha_lr: f32,
    pub alpha_beta1: f32,
    pub alpha_beta2: f32,
    pub alpha_weight_decay: f32,
    /// Anneal the architecture learning rate like the weights' (same floor ratio).
    #[serde(default)]
    pub alpha_cosine: bool,
    pub schedule: Schedule,
    /// Proximity regularization weight `ρ_p` (eq. 20), ramped by `c` from 0 to 1.
    #[serde(default)]
    pub proximity: Option<f64>,
    #[serde(default)]
    pub admm: Option<Admm>,
    /// Prune CRB operations whose weight becomes non-positive.
    #[serde(default = "yes")]
    pub prune: bool,
}

impl SearchConfig {
    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Config(format!("invalid search settings: {e}")))
    }

    /// Checks every setting's range.
    pub fn validate(&self) -> Result<()> {
        let pos = |v: f32| v.is_finite() && v > 0.0;
        let nonneg = |v: f32| v.is_finite() && v >= 0.0;
        ensure_config(self.total_epochs >= 1, || "total_epochs must be at least 1".into())?;
        ensure_config(self.batch_size >= 1, || "batch_size must be at least 1".into())?;
        ensure_config(pos(self.w_lr) && pos(self.alpha_lr), || "learning rates must be > 0".into())?;
        ensure_config(nonneg(self.w_lr_min) && self.w_lr_min <= self.w_lr, || {
            format!("w_lr_min must be in [0, w_lr], got {}", self.w_lr_min)
        })?;
        ensure_config((0.0..1.0).contains(&self.momentum), || "momentum must be in [0, 1)".into())?;
        let betas = (0.0..1.0).contains(&self.alpha_beta1) && (0.0..1.0).contains(&self.alpha_beta2);
        ensure_config(betas, || "alpha betas must be in [0, 1)".into())?;
        let decays = nonneg(self.w_weight_decay) && nonneg(self.alpha_weight_decay) && nonneg(self.grad_clip);
        ensure_config(decays, || "weight decays and grad_clip must be >= 0".into())?;
        if let Some(rho) = self.proximity {
            ensure_config(rho.is_finite() && rho >= 0.0, || format!("proximity must be >= 0, got {rho}"))?;
        }
        if let Some(a) = self.admm {
            let ok = a.rho.is_finite() && a.rho >= 0.0 && a.every >= 1 && (0.0..=1.0).contains(&a.lambda_u);
            ensure_config(ok, || "admm needs rho >= 0, every >= 1, lambda_u in [0, 1]".into())?;
        }
        self.schedule.validate()
    }

    /// Cosine factor of epoch `e`: from 1 down to `w_lr_min / w_lr` over `total_epochs`.
    pub fn cosine(&self, e: u64) -> f32 {
        let floor = self.w_lr_min / self.w_lr;
        let t = (e.min(self.total_epochs) as f64) / self.total_epochs as f64;
        floor + (1.0 - floor) * (0.5 * (1.0 + (std::f64::consts::PI * t).cos())) as f32
    }
}

/// Everything a search carries between calls besides the parameters and the weights'
/// optimizer state (JSON form for checkpoints).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct SearchState {
    /// Epochs completed.
    pub epoch: u64,
    /// Weight steps taken.
    pub iteration: u64,
    /// Architecture steps taken.
    pub alpha_step: u64,
    /// Adam moments `[m, v]` per architecture tensor.
    pub alpha_slots: Vec<[Vec<f32>; 2]>,
    pub schedule: ScheduleState,
    /// ADMM `z` and `u` per tensor (empty without ADMM), and α steps since their last update.
    pub z: Vec<Vec<f32>>,
    pub u: Vec<Vec<f32>>,
    pub since_admm: u64,
    /// Pruned operations per tensor.
    pub pruned: Vec<Vec<bool>>,
    /// Position in the shuffled architecture split: pass and offset.
    pub val_pass: u64,
    pub val_pos: u64,
}

impl SearchState {
    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Config(format!("invalid search state: {e}")))
    }

    /// The JSON form.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Numerical(format!("cannot write search state: {e}")))
    }

    /// Checks that the state belongs to `tensors`.
    pub fn validate(&self, tensors: &[ArchTensor], cfg: &SearchConfig) -> Result<()> {
        let sizes = |v: &[Vec<f32>]| v.iter().map(Vec::len).collect::<Vec<_>>();
        let want: Vec<usize> = tensors.iter().map(|t| t.rows * t.cols).collect();
        let slots_ok = self.alpha_slots.len() == tensors.len()
            && self.alpha_slots.iter().zip(&want).all(|(s, &n)| s[0].len() == n && s[1].len() == n);
        let pruned_ok = self.pruned.iter().map(Vec::len).eq(want.iter().copied());
        let admm_ok = cfg.admm.is_none() || (sizes(&self.z) == want && sizes(&self.u) == want);
        ensure_config(slots_ok && pruned_ok && admm_ok, || {
            "the search state does not match this network's architecture tensors".into()
        })
    }
}

/// What one search epoch did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SearchRecord {
    pub epoch: u64,
    /// Mean training loss (and accuracy) of the weight steps.
    pub loss: f64,
    pub accuracy: Option<f64>,
    /// Mean loss (and accuracy) on the architecture minibatches of the α steps.
    pub alpha_loss: Option<f64>,
    pub alpha_accuracy: Option<f64>,
    pub w_steps: u64,
    pub alpha_steps: u64,
    /// Indices (within the epoch) of the weight steps followed by an α step.
    pub alpha_at: Vec<u32>,
    /// Per weight step: the squared gradient norm (eq. 18), its moving average (eq. 19) and,
    /// for FIMT, the threshold it was compared with.
    pub fisher: Vec<f32>,
    pub fisher_ema: Vec<f32>,
    pub threshold: Vec<f32>,
    /// Regularization penalty of the last α step (proximity plus ADMM).
    pub penalty: f64,
    /// Operations pruned so far.
    pub pruned: usize,
    pub w_lr: f32,
    pub alpha_lr: f32,
}

/// The JSON form of search records (a list of objects).
pub fn records_json(records: &[SearchRecord]) -> Result<String> {
    serde_json::to_string(records).map_err(|e| Error::Numerical(format!("cannot write search records: {e}")))
}
