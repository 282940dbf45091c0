//! The unpacked small-product kernels: against the f64 reference, bitwise against a scalar
//! statement of their operation chain (so AVX-512 and AVX2 agree), against the packed
//! kernels where those use one k block, and the dispatch rule.

use super::harness::*;
use super::*;

/// `acc = fma(a, b, acc)` from 0 over p in order, then `c = acc` or `c + acc`: the chain
/// both small kernels (and the packed ones, for k ≤ 256) must perform exactly.
fn chain(a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool) {
    let (m, k, n) = (a.op_rows(), a.op_cols(), b.op_cols());
    let at = |x: Mat<'_>, i: usize, j: usize| match x.trans {
        Trans::No => x.data[i * x.dims.cols + j],
        Trans::Yes => x.data[j * x.dims.cols + i],
    };
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc = at(a, i, p).mul_add(at(b, p, j), acc);
            }
            c[i * n + j] = if accumulate { c[i * n + j] + acc } else { acc };
        }
    }
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Every hardware small kernel: within the f64 bound, and bit for bit the scalar chain.
fn check_small(m: usize, n: usize, k: usize, seed: u64) {
    let case = Case::new(m, n, k, seed);
    for isa in hw_isas() {
        for (ta, tb) in TRANS {
            for acc in [false, true] {
                case.check(ta, tb, acc, &format!("small {isa:?}"), &|a, b, c| {
                    let mut want = c.to_vec();
                    chain(a, b, &mut want, acc);
                    assert!(gemm_small_with(isa, a, b, c, acc));
                    assert_eq!(bits(c), bits(&want), "small {isa:?} {m}x{n}x{k} {ta:?}{tb:?} acc={acc}");
                });
            }
        }
    }
}

#[test]
fn small_kernels_on_edge_shapes() {
    // Row tails 1..8 of both tile heights, column tails of 1 and 2 vectors of both widths.
    let sizes = [1usize, 2, 5, 7, 8, 9, 13, 16, 17, 31, 33, 47, 100];
    let mut seed = 11;
    for m in sizes {
        for n in sizes {
            for k in [1usize, 3, 17, 64] {
                seed += 1;
                check_small(m, n, k, seed);
            }
        }
    }
}

#[test]
fn small_kernels_on_mlp_step_shapes() {
    for (i, &(m, n, k)) in
        [(32, 100, 64), (32, 10, 100), (10, 100, 32), (128, 100, 10), (100, 64, 128)].iter().enumerate()
    {
        check_small(m, n, k, 200 + i as u64);
    }
}

/// With one k block (k ≤ 256) the packed kernels perform the same chain: same bits.
#[test]
fn small_and_packed_agree_bitwise_on_one_k_block() {
    for &(m, n, k) in &[(40usize, 33usize, 256usize), (64, 100, 64), (33, 47, 200)] {
        let case = Case::new(m, n, k, 77);
        for isa in hw_isas() {
            for (ta, tb) in TRANS {
                let (a, ad) = case.a(ta);
                let (b, bd) = case.b(tb);
                let (a, b) = (operand(&a, ad, ta), operand(&b, bd, tb));
                for acc in [false, true] {
                    let (mut cs, mut cp) = (case.c0.clone(), case.c0.clone());
                    assert!(gemm_small_with(isa, a, b, &mut cs, acc));
                    assert!(gemm_with(isa, a, b, &mut cp, acc, 1));
                    assert_eq!(bits(&cs), bits(&cp), "{isa:?} {m}x{n}x{k} {ta:?}{tb:?} acc={acc}");
                }
            }
        }
    }
}

#[test]
fn small_declines_inconsistent_shapes_and_handles_empty_ones() {
    let a = [1.0f32; 6];
    let mut c = [0.0f32; 4];
    // Inner dimensions differ (2×3 times 2×2).
    assert!(!gemm_small(Mat::new(&a, 2, 3), Mat::new(&a[..4], 2, 2), &mut c, false));
    // C of the wrong size.
    assert!(!gemm_small(Mat::new(&a, 2, 3), Mat::new(&a, 3, 2), &mut c[..3], false) || isa().is_none());
    // k = 0: c = 0 (or unchanged when accumulating).
    let mut c = [5.0f32; 4];
    if gemm_small(Mat::new(&[], 2, 0), Mat::new(&[], 0, 2), &mut c, true) {
        assert_eq!(c, [5.0; 4]);
        assert!(gemm_small(Mat::new(&[], 2, 0), Mat::new(&[], 0, 2), &mut c, false));
        assert_eq!(c, [0.0; 4]);
    }
}

#[test]
fn use_small_rule() {
    assert!(use_small(32, 100, 64, 1) && use_small(32, 100, 64, 2));
    // Sequential-size products on several threads, and large ones, go elsewhere.
    assert!(use_small(256, 10, 1024, 1) && !use_small(256, 10, 1024, 2));
    assert!(!use_small(4096, 64, 784, 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn small_kernels_match_the_chain_prop(m in 1usize..70, n in 1usize..70, k in 1usize..130, seed in 0u64..1000) {
        check_small(m, n, k, seed);
    }
}
