//! Architecture tensors of a search graph, the projection `Π_S` onto discrete cells and the
//! regularizers that pull the architecture toward it (Maile 2023, ch. 5, eqs. 13–25).
//!
//! A tensor laid out as a DARTS cell has one row per edge, in the order of the intermediate
//! states: state `i` (0-based) reads `i + 2` sources (the two cell inputs, then the earlier
//! states), so a cell of `n` states has `n(n+3)/2` rows; columns are the candidate operations
//! (column 0 is "none" when present).

use crate::engine::graph::{Graph, NodeKind};
use crate::error::{Error, Result};
use crate::kernels::mixed::{activate, pull_back, Weighting};

/// One shared architecture tensor (`rows × cols`) and how its mixed nodes use it.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchTensor {
    pub param: usize,
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    pub none: bool,
    pub weighting: Weighting,
    /// Intermediate states when the rows are the edges of a DARTS cell.
    pub states: Option<usize>,
}

/// The `n` with `n(n+3)/2 == rows`, if any.
pub fn cell_states(rows: usize) -> Option<usize> {
    (1..=rows).take_while(|n| n * (n + 3) / 2 <= rows).find(|n| n * (n + 3) / 2 == rows)
}

/// The architecture tensors of `graph`; all mixed nodes of one tensor must agree on the
/// weighting and on the zero operation.
pub fn arch_tensors(graph: &Graph) -> Result<Vec<ArchTensor>> {
    let mut out: Vec<ArchTensor> = Vec::new();
    for node in &graph.nodes {
        let NodeKind::Mixed { alpha, cols, none, weighting, .. } = node.kind else { continue };
        if let Some(t) = out.iter().find(|t| t.param == alpha) {
            if t.none != none || t.weighting != weighting {
                return Err(Error::Spec(format!(
                    "mixed node {:?}: every node of architecture tensor {:?} needs the same \
                     weighting and zero operation",
                    node.name, t.name
                )));
            }
            continue;
        }
        let info = &graph.params[alpha];
        let rows = info.shape[0];
        let states = cell_states(rows);
        out.push(ArchTensor { param: alpha, name: info.name.clone(), rows, cols, none, weighting, states });
    }
    Ok(out)
}

impl ArchTensor {
    /// `a(α)` row by row.
    pub fn activate(&self, alpha: &[f32]) -> Vec<f32> {
        let mut a = vec![0.0; alpha.len()];
        for (ar, r) in a.chunks_exact_mut(self.cols).zip(alpha.chunks_exact(self.cols)) {
            activate(self.weighting, r, ar);
        }
        a
    }

    /// Adds `Jᵀ·da` to `dalpha`, row by row.
    pub fn pull_back(&self, alpha: &[f32], a: &[f32], da: &[f64], dalpha: &mut [f32]) {
        let c = self.cols;
        for r in 0..self.rows {
            let s = r * c..(r + 1) * c;
            pull_back(self.weighting, &alpha[s.clone()], &a[s.clone()], &da[s.clone()], &mut dalpha[s]);
        }
    }

    /// `Π_S`: for every state, the two edges (distinct sources) whose strongest operation
    /// (never "none") ranks highest, each with that operation set to 1, everything else 0.
    ///
    /// Operations rank by `(not pruned, score, tie)`, ties by lower index, so the result always
    /// satisfies eqs. 14–16 (pruned operations are only chosen when nothing else is left).
    pub fn project(&self, score: &[f32], tie: &[f32], pruned: &[bool]) -> Result<Vec<f32>> {
        let n = self.states.ok_or_else(|| {
            Error::Config(format!(
                "architecture tensor {:?} has {} rows, not the n(n+3)/2 edges of a cell",
                self.name, self.rows
            ))
        })?;
        let c = self.cols;
        let key = |k: usize| (!pruned[k], score[k], tie[k]);
        // Numeric order (0.0 == -0.0); NaN, which validated α cannot produce, ties.
        let num = |a: f32, b: f32| a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
        let order =
            |a: (bool, f32, f32), b: (bool, f32, f32)| a.0.cmp(&b.0).then(num(a.1, b.1)).then(num(a.2, b.2));
        let better = |a: (bool, f32, f32), b: (bool, f32, f32)| order(a, b).is_gt();
        let mut z = vec![0.0; self.rows * c];
        let mut r0 = 0;
        for i in 0..n {
            // The strongest operation of every incoming edge.
            let mut best: Vec<usize> = Vec::with_capacity(i + 2);
            for row in r0..r0 + i + 2 {
                let mut b = row * c + usize::from(self.none);
                for k in b + 1..(row + 1) * c {
                    if better(key(k), key(b)) {
                        b = k;
                    }
                }
                best.push(b);
            }
            let mut edges: Vec<usize> = (0..best.len()).collect();
            // Stable sort: equal edges keep the lower source first.
            edges.sort_by(|&x, &y| order(key(best[y]), key(best[x])));
            for &e in &edges[..2] {
                z[best[e]] = 1.0;
            }
            r0 += i + 2;
        }
        Ok(z)
    }
}

/// Proximity regularization (eq. 20) on the activated weights `a` of all tensors:
/// `coef/2 · ‖a − Π‖₂` (not squared) and its gradient with respect to `a`, `Π` held fixed.
pub fn proximity(a: &[Vec<f32>], proj: &[Vec<f32>], coef: f64) -> (f64, Vec<Vec<f64>>) {
    let diff: Vec<Vec<f64>> =
        a.iter().zip(proj).map(|(x, p)| x.iter().zip(p).map(|(&v, &q)| f64::from(v - q)).collect()).collect();
    let norm = diff.iter().flatten().map(|d| d * d).sum::<f64>().sqrt();
    let scale = if norm > 0.0 { coef / 2.0 / norm } else { 0.0 };
    let grad = diff.iter().map(|d| d.iter().map(|v| v * scale).collect()).collect();
    (coef / 2.0 * norm, grad)
}

/// The ADMM term of eq. 21 on the activated weights: `ρ/2 · ‖a − z + u‖₂²` and its gradient
/// `ρ·(a − z + u)`.
pub fn admm_penalty(a: &[Vec<f32>], z: &[Vec<f32>], u: &[Vec<f32>], rho: f64) -> (f64, Vec<Vec<f64>>) {
    let mut value = 0.0;
    let grad = a
        .iter()
        .zip(z)
        .zip(u)
        .map(|((x, z), u)| {
            x.iter()
                .zip(z)
                .zip(u)
                .map(|((&x, &z), &u)| {
                    let d = f64::from(x) - f64::from(z) + f64::from(u);
                    value += d * d;
                    rho * d
                })
                .collect()
        })
        .collect();
    (rho / 2.0 * value, grad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(states: usize, cols: usize, none: bool) -> ArchTensor {
        let rows = states * (states + 3) / 2;
        let weighting = Weighting::Softmax;
        ArchTensor { param: 0, name: "a".into(), rows, cols, none, weighting, states: Some(states) }
    }

    #[test]
    fn cell_rows_and_projection_pick_two_distinct_sources() {
        assert_eq!(cell_states(14), Some(4));
        assert_eq!(cell_states(2), Some(1));
        assert_eq!(cell_states(4), None);
        let t = tensor(2, 3, true);
        // State 0: edges 0, 1; state 1: edges 2, 3, 4. Column 0 is "none" (huge, never chosen).
        let score = [9.0, 0.1, 0.2, 9.0, 0.5, 0.1, 9.0, 0.0, 0.3, 9.0, 0.9, 0.1, 9.0, 0.2, 0.8];
        let z = t.project(&score, &score, &[false; 15]).unwrap_or_default();
        let ones: Vec<usize> = (0..15).filter(|&k| z[k] == 1.0).collect();
        assert_eq!(ones, vec![2, 4, 10, 14]);
        let pruned: Vec<bool> = (0..15).map(|k| k == 10).collect();
        let z = t.project(&score, &score, &pruned).unwrap_or_default();
        assert_eq!((0..15).filter(|&k| z[k] == 1.0).collect::<Vec<_>>(), vec![2, 4, 8, 14]);
    }

    #[test]
    fn regularizers_match_their_formulas() {
        let a = vec![vec![0.2f32, 0.7, 0.1]];
        let p = vec![vec![0.0f32, 1.0, 0.0]];
        let (v, g) = proximity(&a, &p, 0.4);
        let norm = (0.04f64 + 0.09 + 0.01).sqrt();
        assert!((v - 0.2 * norm).abs() < 1e-6);
        assert!((g[0][1] - 0.2 * -0.3 / norm).abs() < 1e-6);
        let u = vec![vec![0.1f32, 0.0, -0.1]];
        let (v, g) = admm_penalty(&a, &p, &u, 0.5);
        assert!((v - 0.25 * (0.09 + 0.09 + 0.0)).abs() < 1e-6);
        assert!((g[0][0] - 0.5 * 0.3).abs() < 1e-6);
    }
}
