//! The architecture step: first-order gradient on an architecture minibatch, regularizers,
//! Adam, CRB pruning and the ADMM `z`/`u` updates.

use super::arch::{admm_penalty, proximity};
use super::run::{gather, Searcher};
use super::SearchState;
use crate::engine::pass::loss_and_gradients;
use crate::error::{Error, Result};
use crate::kernels::loss::BatchLoss;
use crate::kernels::mixed::Weighting;
use crate::kernels::optim::{self, Optimizer};
use crate::rng::Rng;

/// Shuffle streams of the architecture split (the training split uses the epoch index).
const VAL_STREAM: u64 = 1 << 40;

impl Searcher<'_> {
    /// One α step at proximity ramp `c`: the batch loss and the regularization penalty.
    pub(super) fn alpha_step(
        &mut self,
        params: &mut [Vec<f32>],
        st: &mut SearchState,
        lr: f32,
        c: f64,
    ) -> Result<(BatchLoss, f64)> {
        let idx = self.next_val_batch(st);
        let n_in = self.graph.n_inputs();
        gather(self.val.x, n_in, &idx, &mut self.xb);
        let xb = &self.xb[..idx.len() * n_in];
        let r = loss_and_gradients(
            self.graph,
            params,
            &self.masks,
            &[],
            xb,
            self.val.targets,
            &idx,
            &mut self.ws,
            &mut self.grads,
        );
        if !r.loss_sum.is_finite() {
            return Err(Error::Numerical(format!(
                "search diverged: the architecture loss became {} at α step {}",
                r.loss_sum, st.alpha_step
            )));
        }
        let penalty = self.add_regularizers(params, st, c)?;
        st.alpha_step += 1;
        let opt = Optimizer::Adam {
            lr,
            beta1: self.cfg.alpha_beta1,
            beta2: self.cfg.alpha_beta2,
            eps: 1e-8,
            weight_decay: self.cfg.alpha_weight_decay,
            decoupled: false,
        };
        for (k, t) in self.tensors.iter().enumerate() {
            let (alpha, g) = (&mut params[t.param], &mut self.grads[t.param]);
            adam_frozen(&opt, alpha, g, &mut st.alpha_slots[k], &st.pruned[k], st.alpha_step);
            if t.weighting == Weighting::Crb && self.cfg.prune {
                // Progressive pruning: a non-positive weight removes the operation for good.
                st.pruned[k].iter_mut().zip(alpha.iter()).for_each(|(p, &v)| *p |= v <= 0.0);
            }
        }
        self.admm_update(params, st)?;
        Ok((r, penalty))
    }

    /// Adds the gradients of the proximity and ADMM terms to the α gradients; their value.
    fn add_regularizers(&mut self, params: &[Vec<f32>], st: &SearchState, c: f64) -> Result<f64> {
        let cfg = self.cfg;
        if cfg.proximity.is_none() && cfg.admm.is_none() {
            return Ok(0.0);
        }
        let a: Vec<Vec<f32>> = self.tensors.iter().map(|t| t.activate(&params[t.param])).collect();
        let mut terms = Vec::new();
        if let Some(rho) = cfg.proximity {
            let proj = self
                .tensors
                .iter()
                .enumerate()
                .map(|(k, t)| t.project(&a[k], &params[t.param], &st.pruned[k]))
                .collect::<Result<Vec<_>>>()?;
            terms.push(proximity(&a, &proj, c * rho));
        }
        if let Some(admm) = cfg.admm {
            terms.push(admm_penalty(&a, &st.z, &st.u, admm.rho));
        }
        let mut value = 0.0;
        for (v, da) in terms {
            value += v;
            for (k, t) in self.tensors.iter().enumerate() {
                t.pull_back(&params[t.param], &a[k], &da[k], &mut self.grads[t.param]);
            }
        }
        Ok(value)
    }

    /// Every `every` α steps: `z ← Π(a + u)` (eq. 23), `u ← λ_u·u + a − z` (eq. 25).
    fn admm_update(&mut self, params: &[Vec<f32>], st: &mut SearchState) -> Result<()> {
        let Some(admm) = self.cfg.admm else { return Ok(()) };
        st.since_admm += 1;
        if st.since_admm < admm.every {
            return Ok(());
        }
        st.since_admm = 0;
        for (k, t) in self.tensors.iter().enumerate() {
            let a = t.activate(&params[t.param]);
            let shifted: Vec<f32> = a.iter().zip(&st.u[k]).map(|(&x, &u)| x + u).collect();
            let z = t.project(&shifted, &shifted, &st.pruned[k])?;
            for ((u, &x), &zv) in st.u[k].iter_mut().zip(&a).zip(&z) {
                *u = (admm.lambda_u * f64::from(*u) + f64::from(x) - f64::from(zv)) as f32;
            }
            st.z[k] = z;
        }
        Ok(())
    }

    /// The next minibatch of the shuffled architecture split (a new shuffle per pass; the
    /// incomplete tail of a pass is skipped so every batch has the same size).
    fn next_val_batch(&mut self, st: &mut SearchState) -> Vec<usize> {
        let (n, b) = (self.val.n, self.val_batch());
        if st.val_pos as usize + b > n {
            st.val_pass += 1;
            st.val_pos = 0;
        }
        if self.val_order.as_ref().is_none_or(|(p, _)| *p != st.val_pass) {
            let mut order: Vec<usize> = (0..n).collect();
            Rng::new(self.cfg.seed, VAL_STREAM + st.val_pass).shuffle(&mut order);
            self.val_order = Some((st.val_pass, order));
        }
        let start = st.val_pos as usize;
        st.val_pos += b as u64;
        self.val_order.as_ref().map_or_else(Vec::new, |(_, o)| o[start..start + b].to_vec())
    }
}

/// An Adam step of one architecture tensor that leaves pruned entries (value and moments)
/// untouched.
fn adam_frozen(
    opt: &Optimizer,
    alpha: &mut [f32],
    g: &mut [f32],
    slots: &mut [Vec<f32>; 2],
    pruned: &[bool],
    step: u64,
) {
    let kept: Vec<(usize, f32)> =
        pruned.iter().enumerate().filter(|(_, &p)| p).map(|(i, _)| (i, alpha[i])).collect();
    for &(i, _) in &kept {
        g[i] = 0.0;
    }
    let [m, v] = slots;
    optim::step(opt, alpha, g, &mut [&mut m[..], &mut v[..]], step);
    for &(i, value) in &kept {
        alpha[i] = value;
        m[i] = 0.0;
        v[i] = 0.0;
    }
}
