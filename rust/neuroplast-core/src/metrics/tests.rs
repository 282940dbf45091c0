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

#[test]
fn count_route_matches_singular_value_counts() {
    // Known spectra, thresholds between well-separated values, both aspect ratios.
    for (rows, cols) in [(40, 6), (6, 40), (9, 9), (12, 10)] {
        let k = rows.min(cols);
        let s: Vec<f32> = (0..k).map(|i| 2.0f32.powi(i as i32 - 3)).collect();
        let a = diag_matrix(rows, cols, &s);
        for (i, &si) in s.iter().enumerate() {
            let t = f64::from(si) * 1.5;
            assert_eq!(count_above(&a, rows, cols, t, 1).unwrap(), k - i - 1, "{rows}x{cols} t={t}");
        }
        assert_eq!(count_above(&a, rows, cols, 0.0, 1).unwrap(), k);
        // A threshold equal to a singular value: strict inequality, decided from eigenvalues.
        assert_eq!(count_above(&a, rows, cols, 1.0, 1).unwrap(), k - 4);
    }
    for (n, m, r, threads) in [(300, 24, 9, 1), (300, 24, 9, 2), (50, 40, 13, 2), (40, 50, 13, 1)] {
        let h = low_rank(n, m, r, 5);
        let sv = singular_values(&h, n, m, 1).unwrap();
        for t in [1e-3, 0.5 * sv[r - 1], 2.0 * sv[r / 2]] {
            let want = rank_above(&sv, t).unwrap();
            assert_eq!(count_above(&h, n, m, t, threads).unwrap(), want, "{n}x{m} r={r} t={t}");
        }
    }
}

#[test]
fn unit_statistics_fixture() {
    // 4 samples × 3 units.
    let h = [1.0, 0.0, -2.0, 3.0, 0.0, 2.0, -1.0, 0.0, 2.0, 1.0, 0.0, -2.0];
    let st = unit_statistics(&h, 4, 3).unwrap();
    assert_eq!(st.mean, vec![1.0, 0.0, 0.0]);
    assert_eq!(st.std, vec![2.0f64.sqrt(), 0.0, 2.0]);
    assert_eq!(st.max_abs, vec![3.0, 0.0, 2.0]);
    assert_eq!(st.mean_abs, vec![1.5, 0.0, 2.0]);
    assert_eq!(st.zero_fraction, vec![0.0, 1.0, 0.0]);
    assert!(matches!(unit_statistics(&h, 4, 2), Err(Error::Shape(_))));
}

#[test]
fn cosine_order_removes_dormant_then_duplicates() {
    // Units: 0 and 3 are parallel, 2 is dormant, 1 and 4 are orthogonal to the others.
    let cols: [[f64; 4]; 5] =
        [[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0; 4], [-2.0, -4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 3.0]];
    let h: Vec<f64> = (0..4).flat_map(|s| cols.iter().map(move |c| c[s])).collect();
    assert_eq!(cosine_redundancy_order(&h, 4, 5, 1, 1).unwrap(), vec![2]);
    // Rows of C: units 0 and 3 have norm √2 (tie: lower index first), then all are 1.
    assert_eq!(cosine_redundancy_order(&h, 4, 5, 3, 2).unwrap(), vec![2, 0, 1]);
    assert_eq!(cosine_redundancy_order(&h, 4, 5, 5, 1).unwrap(), vec![2, 0, 1, 3, 4]);
    assert!(cosine_redundancy_order(&h, 4, 5, 0, 1).unwrap().is_empty());
    assert!(matches!(cosine_redundancy_order(&h, 4, 5, 6, 1), Err(Error::Config(_))));
    // A positive multiple is an exact duplicate: it goes right after the dormant units, even
    // though unit 0 (similar to both others) has the larger row norm.
    let cols: [[f64; 3]; 4] = [[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [2.0, 0.0, 2.0]];
    let h: Vec<f64> = (0..3).flat_map(|s| cols.iter().map(move |c| c[s])).collect();
    assert_eq!(cosine_redundancy_order(&h, 3, 4, 1, 1).unwrap(), vec![3]);
    assert_eq!(cosine_redundancy_order(&h, 3, 4, 2, 1).unwrap(), vec![3, 0]);
}

#[test]
fn auxiliary_gradient_is_the_sample_sum_of_outer_products() {
    use crate::parallel::run_in_pool;
    let (n, p, q) = (600, 5, 3);
    let g = low_rank(n, p, 2, 21);
    let h = low_rank(n, q, 3, 22);
    let m = auxiliary_gradient_matrix(&g, &h, n, p, q, 1).unwrap();
    for i in 0..p {
        for j in 0..q {
            let want: f64 = (0..n).map(|s| f64::from(g[s * p + i]) * f64::from(h[s * q + j])).sum();
            assert!((m[(i, j)] - want).abs() <= 1e-9 * want.abs().max(1.0));
        }
    }
    let one = auxiliary_gradient(&g, &h, n, p, q, Some(2), 1).unwrap();
    let two = run_in_pool(2, || auxiliary_gradient(&g, &h, n, p, q, Some(2), 2)).unwrap().unwrap();
    assert_eq!(one.singular_values.len(), 3);
    assert!(one.singular_values[2] < 1e-5 * one.singular_values[0], "rank 2 (f32 rounding) via grad_next");
    for (x, y) in one.singular_values.iter().zip(&two.singular_values) {
        assert!((x - y).abs() <= 1e-10 * one.singular_values[0]);
    }
    // M·Mᵀ·u = σ²·u for each returned vector.
    for c in 0..2 {
        let u: Vec<f64> = (0..p).map(|i| one.vectors[i * 2 + c]).collect();
        let mtu: Vec<f64> = (0..q).map(|j| (0..p).map(|i| m[(i, j)] * u[i]).sum()).collect();
        for i in 0..p {
            let mmtu: f64 = (0..q).map(|j| m[(i, j)] * mtu[j]).sum();
            let s2 = one.singular_values[c].powi(2);
            assert!((mmtu - s2 * u[i]).abs() <= 1e-9 * s2);
        }
    }
    let none = auxiliary_gradient(&g, &h, n, p, q, None, 1).unwrap();
    assert!(none.vectors.is_empty());
    assert_eq!(auxiliary_gradient(&g, &h, n, p, q, Some(5), 1).unwrap().vectors.len(), 25);
    assert!(matches!(auxiliary_gradient(&g, &h, n, p, q, Some(0), 1), Err(Error::Config(_))));
    assert!(matches!(auxiliary_gradient(&g, &h, n, p, q, Some(6), 1), Err(Error::Config(_))));
    assert!(matches!(auxiliary_gradient(&g, &h[..q * (n - 1)], n, p, q, None, 1), Err(Error::Shape(_))));
}
