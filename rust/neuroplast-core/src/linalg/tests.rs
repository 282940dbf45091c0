use super::*;
use crate::rng::Rng;

fn random(rows: usize, cols: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed, 0);
    (0..rows * cols).map(|_| f64::from(rng.uniform_f32()) - 0.5).collect()
}

/// Row-major product of `a` (`m × k`) and `b` (`k × n`).
fn mul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for l in 0..k {
            for j in 0..n {
                c[i * n + j] += a[i * k + l] * b[l * n + j];
            }
        }
    }
    c
}

#[test]
fn svd_reconstructs_with_orthonormal_factors_and_fixed_signs() {
    for (rows, cols, full) in [(5, 3, false), (3, 5, false), (4, 4, true), (6, 2, true), (2, 6, true)] {
        let a = random(rows, cols, 11);
        let d = svd(&a, rows, cols, full).unwrap();
        let k = rows.min(cols);
        assert_eq!((d.s.len(), d.u.len(), d.vt.len()), (k, rows * d.u_cols, d.vt_rows * cols));
        assert!(d.s.windows(2).all(|w| w[0] >= w[1]));
        // A = U_k·diag(s)·Vᵀ_k.
        let us: Vec<f64> = (0..rows * k).map(|i| d.u[(i / k) * d.u_cols + i % k] * d.s[i % k]).collect();
        let back = mul(&us, &d.vt[..k * cols], rows, k, cols);
        for (x, y) in back.iter().zip(&a) {
            assert!((x - y).abs() < 1e-12, "{rows}x{cols}");
        }
        // UᵀU = I and V·Vᵀ = I.
        for (m, r, c) in [(&d.u, rows, d.u_cols)] {
            for i in 0..c {
                for j in 0..c {
                    let dot: f64 = (0..r).map(|t| m[t * c + i] * m[t * c + j]).sum();
                    assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-12);
                }
            }
        }
        for i in 0..d.vt_rows {
            for j in 0..d.vt_rows {
                let dot: f64 = (0..cols).map(|t| d.vt[i * cols + t] * d.vt[j * cols + t]).sum();
                assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        // Largest-magnitude entry of each left vector is positive.
        for j in 0..d.u_cols {
            let col: Vec<f64> = (0..rows).map(|i| d.u[i * d.u_cols + j]).collect();
            let big = col.iter().copied().fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            assert!(big > 0.0);
        }
    }
}

#[test]
fn lstsq_solves_full_rank_and_rank_deficient_problems() {
    // Square, well conditioned: exact solution.
    let a = [4.0, 1.0, 2.0, 3.0];
    let x = lstsq(&a, 2, 2, &[9.0, 13.0], 1).unwrap();
    assert!((x[0] - 1.4).abs() < 1e-14 && (x[1] - 3.4).abs() < 1e-14, "{x:?}");
    // Two equal columns: the minimum-norm solution splits the weight evenly.
    let a = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0];
    let x = lstsq(&a, 3, 2, &[1.0, 2.0, 2.0, 4.0, 3.0, 6.0], 2).unwrap();
    for (g, w) in x.iter().zip([0.5, 1.0, 0.5, 1.0]) {
        assert!((g - w).abs() < 1e-14, "{x:?}");
    }
    // A zero matrix gives x = 0.
    assert_eq!(lstsq(&[0.0; 4], 2, 2, &[1.0, 1.0], 1).unwrap(), vec![0.0, 0.0]);
}

#[test]
fn inertia_counts_match_known_spectra() {
    // [[0, 1], [1, 0]] has eigenvalues ±1 and needs a 2 × 2 pivot.
    let g = Mat::<f64>::from_fn(2, 2, |i, j| if i == j { 0.0 } else { 1.0 });
    assert_eq!(count_eigenvalues_above(g.as_ref(), 0.0, 1e-12, Par::Seq).unwrap(), Some(1));
    assert_eq!(count_eigenvalues_above(g.as_ref(), -2.0, 1e-12, Par::Seq).unwrap(), Some(2));
    assert_eq!(count_eigenvalues_above(g.as_ref(), 1.5, 1e-12, Par::Seq).unwrap(), Some(0));
    // Q·diag(λ)·Qᵀ with a Householder Q.
    let lam = [5.0, 3.0, 1.0, 0.5, -2.0, 0.0];
    let n = lam.len();
    let v: Vec<f64> = (0..n).map(|i| (i as f64 + 1.0).sin()).collect();
    let vv: f64 = v.iter().map(|x| x * x).sum();
    let q = |i: usize, j: usize| f64::from(u8::from(i == j)) - 2.0 * v[i] * v[j] / vv;
    let g = Mat::<f64>::from_fn(n, n, |i, j| (0..n).map(|k| q(i, k) * lam[k] * q(j, k)).sum());
    for (shift, want) in [(-3.0, 6), (-1.0, 5), (0.25, 4), (0.75, 3), (2.0, 2), (4.0, 1), (6.0, 0)] {
        assert_eq!(count_eigenvalues_above(g.as_ref(), shift, 1e-9, Par::Seq).unwrap(), Some(want));
    }
    // A shift equal to an eigenvalue leaves a (near-)zero pivot: undecided.
    let d = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { [2.0, 1.0, 3.0][i] } else { 0.0 });
    assert_eq!(count_eigenvalues_above(d.as_ref(), 1.0, 1e-12, Par::Seq).unwrap(), None);
}

#[test]
fn errors_are_typed() {
    assert!(matches!(svd(&[], 0, 2, false), Err(Error::Data(_))));
    assert!(matches!(svd(&[1.0, f64::NAN], 1, 2, false), Err(Error::Data(_))));
    assert!(matches!(svd(&[1.0; 3], 2, 2, false), Err(Error::Shape(_))));
    assert!(matches!(lstsq(&[1.0; 4], 2, 2, &[1.0; 3], 1), Err(Error::Shape(_))));
    assert!(matches!(lstsq(&[1.0; 4], 2, 2, &[1.0, f64::INFINITY], 1), Err(Error::Data(_))));
    let g = Mat::<f64>::zeros(2, 3);
    assert!(matches!(count_eigenvalues_above(g.as_ref(), 0.0, 0.0, Par::Seq), Err(Error::Shape(_))));
}
