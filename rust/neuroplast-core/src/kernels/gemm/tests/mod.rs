//! Tests of the GEMM paths: every runnable kernel (the hardware ones, including AVX-512
//! through [`gemm_with`] whenever the CPU has it, and the portable emulation of the AVX-512
//! kernel) against an f64 reference, bitwise determinism across kernels and thread counts,
//! degenerate / invalid shapes, the ISA selection rule, and the public [`gemm`] entry point.

use super::*;
use proptest::prelude::*;

mod harness;
mod small;
use harness::*;

#[test]
fn gemm_packed_matches_naive_on_edge_shapes() {
    const SIZES: [usize; 10] = [1, 13, 14, 15, 31, 32, 33, 100, 257, 785];
    let pools = [(1, pool(1)), (2, pool(2))];
    let ks = kernels();
    let mut seed = 1;
    for m in SIZES {
        for n in SIZES {
            for k in [1, 13, 33, 100, 257, 785] {
                // Keep the f64 reference (and the emulated kernel) affordable.
                if m * n * k > 3_000_000 {
                    continue;
                }
                seed += 3;
                check_all(&Case::new(m, n, k, seed), &ks, &pools);
            }
        }
    }
}

#[test]
fn gemm_packed_matches_naive_on_larger_shapes() {
    let pools = [(1, pool(1)), (2, pool(2)), (3, pool(3))];
    let ks = kernels();
    // Several L2 blocks of A, several k blocks (785 = 4 blocks, last one short), edges.
    for (i, &(m, n, k)) in
        [(785, 33, 257), (257, 100, 785), (100, 257, 530), (300, 200, 100)].iter().enumerate()
    {
        check_all(&Case::new(m, n, k, 100 + i as u64), &ks, &pools);
    }
}

/// Same bits for repeated runs, for every thread count, and for every kernel (the AVX2,
/// AVX-512 and emulated kernels perform the same operations in the same order).
#[test]
fn gemm_packed_is_bitwise_deterministic() {
    let ks = kernels();
    for &(m, n, k) in &[(257usize, 131usize, 785usize), (64, 300, 40), (33, 15, 257)] {
        let case = Case::new(m, n, k, 7);
        for (ta, tb) in TRANS {
            let (a, ad) = case.a(ta);
            let (b, bd) = case.b(tb);
            let (a, b) = (operand(&a, ad, ta), operand(&b, bd, tb));
            for acc in [false, true] {
                let mut first: Option<Vec<u32>> = None;
                for &w in &ks {
                    for threads in [1, 2, 3, 4] {
                        let pool = pool(threads);
                        for _ in 0..2 {
                            let mut c = case.c0.clone();
                            pool.install(|| run_which(w, a, b, &mut c, acc, threads));
                            let bits: Vec<u32> = c.iter().map(|x| x.to_bits()).collect();
                            match &first {
                                None => first = Some(bits),
                                Some(f) => assert!(
                                    *f == bits,
                                    "{w:?} threads={threads} m={m} n={n} k={k} {ta:?}{tb:?} acc={acc} differs"
                                ),
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_packed_degenerate_and_invalid_shapes() {
    for w in kernels() {
        // k = 0: c = 0, or unchanged when accumulating.
        let mut c = vec![3.0f32; 6];
        run_which(w, Mat::new(&[], 2, 0), Mat::new(&[], 0, 3), &mut c, true, 1);
        assert_eq!(c, vec![3.0; 6]);
        run_which(w, Mat::new(&[], 2, 0), Mat::new(&[], 0, 3), &mut c, false, 2);
        assert_eq!(c, vec![0.0; 6]);
        // m = 0 / n = 0: nothing to do.
        let mut e: Vec<f32> = Vec::new();
        run_which(w, Mat::new(&[], 0, 4), Mat::new(&[1.0; 8], 4, 2), &mut e, false, 2);
    }
    let a = vec![1.0f32; 6];
    let b = vec![1.0f32; 6];
    let (a23, b32, b23) = (Mat::new(&a, 2, 3), Mat::new(&b, 3, 2), Mat::new(&b, 2, 3));
    for isa in hw_isas() {
        // Wrong C length, mismatched inner dimension, short input: declined, C untouched.
        let mut c = vec![5.0f32; 3];
        assert!(!gemm_with(isa, a23, b32, &mut c, false, 1));
        assert_eq!(c, vec![5.0; 3]);
        let mut c = vec![5.0f32; 4];
        assert!(!gemm_with(isa, a23, b23, &mut c, false, 1));
        assert!(!gemm_with(isa, Mat::new(&a[..5], 2, 3), b32, &mut c, false, 1));
        assert_eq!(c, vec![5.0; 4]);
        assert!(gemm_with(isa, a23, b32, &mut c, false, 1));
        assert_eq!(c, vec![3.0; 4]);
    }
    // An ISA this CPU lacks is declined, C untouched.
    for isa in [Isa::Avx512, Isa::Avx2] {
        if !cpu_supports(isa) {
            let mut c = vec![5.0f32; 4];
            assert!(!gemm_with(isa, a23, b32, &mut c, false, 1));
            assert_eq!(c, vec![5.0; 4]);
        }
    }
    if isa().is_none() {
        let mut c = vec![0f32; 1];
        let one = Mat::new(&[1.0], 1, 1);
        assert!(!gemm_packed(one, one, &mut c, false, 1));
    }
}

/// AVX-512 when supported unless opted out; otherwise AVX2 + FMA when available.
#[test]
fn isa_selection_rule() {
    for avx2 in [false, true] {
        assert_eq!(packed::select(true, avx2, false), Some(Isa::Avx512));
        for (avx512, opt_out) in [(false, false), (false, true), (true, true)] {
            let want = if avx2 { Some(Isa::Avx2) } else { None };
            assert_eq!(packed::select(avx512, avx2, opt_out), want, "avx512={avx512} opt_out={opt_out}");
        }
    }
    // The cached choice of this process follows the same rule.
    let want = packed::select(cpu_supports(Isa::Avx512), cpu_supports(Isa::Avx2), packed::opted_out());
    assert_eq!(isa(), want);
    assert_eq!(isa(), want);
    let name = match want {
        Some(Isa::Avx512) => "avx512",
        Some(Isa::Avx2) => "avx2",
        None => "faer",
    };
    assert_eq!(isa_name(), name);
}

/// The public entry point (whatever path it dispatches to) on shapes of an MLP step.
#[test]
fn gemm_dispatch_matches_naive() {
    let pools = [(1, pool(1)), (2, pool(2))];
    for (i, &(m, n, k)) in [(64, 1024, 100), (256, 10, 300), (512, 300, 64), (20, 20, 20)].iter().enumerate()
    {
        let case = Case::new(m, n, k, 50 + i as u64);
        for (threads, pool) in &pools {
            for (ta, tb) in TRANS {
                for acc in [false, true] {
                    case.check(ta, tb, acc, "gemm", &|a, b, c| {
                        pool.install(|| gemm(a, b, c, acc, *threads));
                    });
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn gemm_packed_matches_naive_prop(
        m in 1usize..90, n in 1usize..90, k in 1usize..300,
        ta in any::<bool>(), tb in any::<bool>(), acc in any::<bool>(),
        threads in 1usize..4, seed in 0u64..1000,
    ) {
        let case = Case::new(m, n, k, seed);
        let pool = pool(threads);
        for w in kernels() {
            case.check(trans(ta), trans(tb), acc, &format!("{w:?}"), &|a, b, c| {
                pool.install(|| run_which(w, a, b, c, acc, threads));
            });
        }
    }
}
