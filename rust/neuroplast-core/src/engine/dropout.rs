//! Inverted dropout (Srivastava et al. 2014) on the outputs of hidden dense layers, training only.
//!
//! Each training step draws, for every hidden dense node, one factor per row and unit: `0` with
//! probability `rate`, else `1 / (1 − rate)`, so the expected output equals the output without
//! dropout and inference needs no rescaling. The forward pass multiplies the node's output by
//! the factors after its activation (and per-unit mask); the backward pass multiplies the
//! incoming gradient by the same factors. The factors come from one generator per optimizer
//! step (`Rng::new(seed ^ SALT, step)`), drawn row by row in a fixed order: a run is
//! reproducible for a seed, whatever the thread count, and training in several `fit` calls
//! draws what one long call would.

use super::graph::{Graph, NodeKind};
use crate::error::{ensure_config, Result};
use crate::limits;
use crate::rng::Rng;

/// Keeps the dropout streams apart from the shuffle streams of the same seed.
const SALT: u64 = 0xD50F_0A7E_5EED_0001;

/// Checks a dropout rate: finite, in `[0, 1)`.
pub fn validate_rate(rate: f32) -> Result<()> {
    ensure_config(rate.is_finite() && (0.0..1.0).contains(&rate), || {
        format!("dropout must be in [0, 1), got {rate}")
    })
}

/// Whether dropout applies to node `i` (a hidden dense layer).
pub fn applies(graph: &Graph, i: usize) -> bool {
    i != 0 && i != graph.output && matches!(graph.nodes[i].kind, NodeKind::Dense { .. })
}

/// Per-node factor buffers of [`draw`], one slot per node (empty for nodes without dropout).
pub type Factors = Vec<Vec<f32>>;

/// Buffers for blocks of at most `rows` rows (empty slots for nodes without dropout).
pub fn buffers(graph: &Graph, rows: usize) -> Result<Factors> {
    (0..graph.nodes.len())
        .map(|i| {
            let len = if applies(graph, i) { rows.saturating_mul(graph.nodes[i].width) } else { 0 };
            limits::zeros(len, "the dropout factors")
        })
        .collect()
}

/// Fills the first `rows` rows of every buffer with the factors of optimizer step `step`.
pub fn draw(graph: &Graph, rate: f32, seed: u64, step: u64, rows: usize, factors: &mut Factors) {
    let mut rng = Rng::new(seed ^ SALT, step);
    let keep = 1.0 / (1.0 - rate);
    for (i, buf) in factors.iter_mut().enumerate() {
        let len = rows * graph.nodes[i].width;
        if buf.is_empty() {
            continue;
        }
        buf[..len].iter_mut().for_each(|f| *f = if rng.uniform_f32() < rate { 0.0 } else { keep });
    }
}

/// `values *= factors` elementwise (the forward output or the backward gradient of one node).
pub fn apply(values: &mut [f32], factors: &[f32]) {
    values.iter_mut().zip(factors).for_each(|(v, f)| *v *= f);
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const MLP: &str = r#"{"input_shape":[5],"output":"out","nodes":[
        {"name":"h1","op":"dense","inputs":["input"],"units":7,"activation":"tanh"},
        {"name":"h2","op":"dense","inputs":["h1"],"units":6,"activation":"sigmoid"},
        {"name":"out","op":"dense","inputs":["h2"],"units":3}]}"#;

    fn mlp() -> Graph {
        Graph::from_json(MLP).unwrap()
    }

    #[test]
    fn rates_outside_zero_one_are_refused() {
        for bad in [-0.1f32, 1.0, 1.5, f32::NAN, f32::INFINITY] {
            assert!(validate_rate(bad).is_err(), "{bad}");
        }
        for ok in [0.0f32, 0.5, 0.99] {
            assert!(validate_rate(ok).is_ok());
        }
    }

    #[test]
    fn only_hidden_dense_nodes_get_factors() {
        let g = mlp();
        let f = buffers(&g, 4).unwrap();
        for (i, b) in f.iter().enumerate() {
            assert_eq!(b.is_empty(), !applies(&g, i));
        }
        assert!(f[g.output].is_empty() && f[0].is_empty());
        assert_eq!(f.iter().filter(|b| !b.is_empty()).count(), 2);
    }

    /// Factors are 0 or 1/(1-p); the share of zeros is within 4 standard deviations of p, the
    /// mean factor near 1 (the expected output is unchanged); the draw is a function of the
    /// seed and step only.
    #[test]
    fn factors_follow_bernoulli_and_are_reproducible() {
        let g = mlp();
        let rows = 2000;
        for rate in [0.1f32, 0.5, 0.8] {
            let mut f = buffers(&g, rows).unwrap();
            draw(&g, rate, 7, 3, rows, &mut f);
            let all: Vec<f32> = f.iter().flatten().copied().collect();
            let keep = 1.0 / (1.0 - rate);
            assert!(all.iter().all(|&v| v == 0.0 || v == keep));
            let n = all.len() as f64;
            let zeros = all.iter().filter(|&&v| v == 0.0).count() as f64;
            let p = f64::from(rate);
            assert!((zeros - n * p).abs() < 4.0 * (n * p * (1.0 - p)).sqrt(), "rate {rate}: {zeros}/{n}");
            let mean = all.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            assert!((mean - 1.0).abs() < 0.05, "rate {rate}: mean {mean}");
            let mut again = buffers(&g, rows).unwrap();
            draw(&g, rate, 7, 3, rows, &mut again);
            assert_eq!(f, again);
            draw(&g, rate, 7, 4, rows, &mut again);
            assert_ne!(f, again);
        }
    }

    /// With fixed factors the backward pass is the gradient of the dropped-out loss: every
    /// parameter's gradient matches central finite differences (f64 tolerance on f32 math);
    /// dropped units pass no gradient to their incoming weights.
    #[test]
    fn gradients_with_dropout_match_finite_differences() {
        use crate::engine::pass::{loss_and_gradients, Workspace};
        use crate::kernels::loss::Targets;
        let g = mlp();
        let rows = 6;
        let mut rng = Rng::new(1, 2);
        let mut params: Vec<Vec<f32>> =
            g.params.iter().map(|p| (0..p.len()).map(|_| rng.uniform_f32() - 0.5).collect()).collect();
        let x: Vec<f32> = (0..rows * 5).map(|_| 2.0 * rng.uniform_f32() - 1.0).collect();
        let y: Vec<i64> = (0..rows as i64).map(|r| r % 3).collect();
        let idx: Vec<usize> = (0..rows).collect();
        let masks = vec![None; g.nodes.len()];
        let mut ws = Workspace::new(&g, rows, true, 1).unwrap();
        ws.enable_dropout(&g, rows).unwrap();
        draw(&g, 0.5, 3, 0, rows, ws.dropout_factors());
        let mut grads: Vec<Vec<f32>> = g.params.iter().map(|p| vec![0.0; p.len()]).collect();
        let loss = |p: &[Vec<f32>], gr: &mut [Vec<f32>], ws: &mut Workspace| {
            loss_and_gradients(&g, p, &masks, &[], &x, Targets::Classes(&y), &idx, ws, gr).loss_sum
        };
        loss(&params, &mut grads, &mut ws);
        let h = 1e-2f32;
        let mut scratch = grads.clone();
        for k in 0..params.len() {
            for j in 0..params[k].len() {
                let orig = params[k][j];
                params[k][j] = orig + h;
                let up = loss(&params, &mut scratch, &mut ws);
                params[k][j] = orig - h;
                let down = loss(&params, &mut scratch, &mut ws);
                params[k][j] = orig;
                let fd = (up - down) / (2.0 * f64::from(h)) / rows as f64;
                let an = f64::from(grads[k][j]);
                assert!((fd - an).abs() < 2e-3 + 2e-2 * an.abs(), "param {k}[{j}]: fd {fd} vs {an}");
            }
        }
        // A unit dropped in every row gets no gradient on its incoming weights.
        let h1 = 1;
        let width = g.nodes[h1].width;
        let factors = &ws.dropout_factors()[h1];
        if let NodeKind::Dense { weight, .. } = g.nodes[h1].kind {
            for u in 0..width {
                if (0..rows).all(|r| factors[r * width + u] == 0.0) {
                    assert!(grads[weight][u * 5..(u + 1) * 5].iter().all(|&v| v == 0.0));
                }
            }
        }
    }
}
