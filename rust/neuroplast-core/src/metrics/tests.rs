use super::*;
use crate::rng::Rng;

/// `U·diag(s)·Vᵀ`-like matrix with known singular values: rows and columns scaled
/// permutations of a diagonal (exact in f32 for the values used here).
fn diag_matrix(rows: usize, cols: usize, s: &[f32]) -> Vec<f32> {
    let mut a = vec![0.0f32; rows * cols];
    for (i, &v) in s.iter().enumerate() {
        // Put σ_i at (i, cols-1-i) so the matrix is not trivially diagonal.
        a[i * cols + (cols - 1 - i)] = v;
    }
    a
}

fn low_rank(rows: usize, cols: usize, r: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed, 0);
    let a: Vec<f32> = (0..rows * r).map(|_| (rng.uniform_f32() - 0.5) * 4.0).collect();
    let b: Vec<f32> = (0..r * cols).map(|_| (rng.uniform_f32() - 0.5) * 4.0).collect();
    let mut h = vec![0.0f32; rows * cols];
    for i in 0..rows {
        for k in 0..r {
            for j in 0..cols {
                h[i * cols + j] += a[i * r + k] * b[k * cols + j];
            }
        }
    }
    h
}

#[test]
fn known_singular_values_both_routes() {
    for (rows, cols) in [(5, 5), (4, 6), (3, 12), (12, 3), (6, 4)] {
        let k = rows.min(cols);
        let s: Vec<f32> = (0..k).map(|i| (i as f32 + 1.0) * 0.5).collect();
        let sv = singular_values(&diag_matrix(rows, cols, &s), rows, cols, 1).unwrap();
        let mut want: Vec<f64> = s.iter().map(|&v| f64::from(v)).collect();
        want.reverse();
        for (g, w) in sv.iter().zip(&want) {
            assert!((g - w).abs() < 1e-9, "{rows}x{cols}: {sv:?} vs {want:?}");
        }
    }
}

#[test]
fn low_rank_effective_dimension_is_r_over_m() {
    for (n, m, r, threads) in [(200, 16, 5, 1), (40, 16, 16, 2), (30, 20, 7, 2)] {
        let h = low_rank(n, m, r, 7);
        let phi = effective_dimension_activations(&h, n, m, 0.01, threads).unwrap();
        assert!(
            (phi - r as f64 / m as f64).abs() < 1e-12,
            "{n}x{m} r={r}: {phi} {:?}",
            singular_values(&h, n, m, 1)
        );
        assert_eq!(numerical_rank(&h, n, m, 1e-3, threads).unwrap(), r);
    }
}

#[test]
fn weights_effective_dimension_counts_bias_column() {
    // 4 units, fan-in 2: rank of W is 2, with an independent bias column 3.
    let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0];
    let b = [0.0, 0.0, 1.0, -3.0];
    assert_eq!(effective_dimension_weights(&w, 4, 2, None, 0.01, 1).unwrap(), 0.5);
    assert_eq!(effective_dimension_weights(&w, 4, 2, Some(&b), 0.01, 1).unwrap(), 0.75);
}

#[test]
fn orthogonality_gap_fixtures() {
    // n identical samples: gap = sqrt(1 - 1/n).
    let n = 10;
    let h: Vec<f32> = (0..n).flat_map(|_| [1.0f32, 2.0, -0.5]).collect();
    let gap = orthogonality_gap(&h, n, 3, 1).unwrap();
    assert!((gap - (1.0 - 1.0 / n as f64).sqrt()).abs() < 1e-12);
    assert!((gap - 0.948683).abs() < 1e-6);
    // Orthonormal samples: gap 0.
    let eye = diag_matrix(4, 4, &[1.0; 4]);
    assert!(orthogonality_gap(&eye, 4, 4, 1).unwrap() < 1e-12);
}

#[test]
fn removable_units_thresholds() {
    let sv = [100.0, 10.0, 0.4, 0.29, 0.0];
    assert_eq!(removable_units(&sv, 0.3, 0.005).unwrap(), 3);
    // Relative threshold dominates for a large σ₁: 0.005·1000 = 5.
    assert_eq!(removable_units(&[1000.0, 6.0, 4.9, 1.0], 0.3, 0.005).unwrap(), 2);
}

#[test]
fn errors_are_typed() {
    assert!(matches!(singular_values(&[], 0, 3, 1), Err(Error::Data(_))));
    assert!(matches!(singular_values(&[1.0, f32::NAN], 1, 2, 1), Err(Error::Data(_))));
    assert!(matches!(singular_values(&[1.0, f32::INFINITY], 2, 1, 1), Err(Error::Data(_))));
    assert!(matches!(singular_values(&[1.0; 3], 2, 2, 1), Err(Error::Shape(_))));
    assert!(matches!(numerical_rank(&[1.0; 4], 2, 2, -1.0, 1), Err(Error::Config(_))));
    assert!(matches!(numerical_rank(&[1.0; 4], 2, 2, f64::NAN, 1), Err(Error::Config(_))));
    assert!(matches!(effective_dimension_activations(&[1.0; 6], 2, 3, 0.01, 1), Err(Error::Data(_))));
    assert!(matches!(orthogonality_gap(&[0.0; 6], 2, 3, 1), Err(Error::Data(_))));
    assert!(matches!(removable_units(&[1.0], 0.3, -0.1), Err(Error::Config(_))));
    assert!(matches!(removable_units(&[], 0.3, 0.1), Err(Error::Data(_))));
}

#[test]
fn gram_partial_sums_over_threads_agree() {
    use crate::parallel::run_in_pool;
    for (rows, cols) in [(700, 20), (20, 700)] {
        let a = low_rank(rows, cols, 20, 3);
        let one = singular_values(&a, rows, cols, 1).unwrap();
        let two = run_in_pool(2, || singular_values(&a, rows, cols, 2)).unwrap().unwrap();
        for (x, y) in one.iter().zip(&two) {
            assert!((x - y).abs() <= 1e-9 * one[0], "{one:?} vs {two:?}");
        }
    }
}
