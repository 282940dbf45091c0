//! Test harness for the GEMM tests: deterministic inputs, an f64 reference with a
//! rounding-error bound, and the list of kernels runnable on this machine.

use super::super::{cpu_supports, gemm_with, Dims, Isa, Mat, Trans};
#[cfg(target_arch = "x86_64")]
use super::super::{packed::Problem, x86};

/// Deterministic pseudo-random values in [-1, 1).
pub(super) fn fill(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32) / ((1u64 << 23) as f32) - 1.0
        })
        .collect()
}

/// Runs one product: `(a, b, c)`.
pub(super) type RunFn<'a> = dyn Fn(Mat<'_>, Mat<'_>, &mut [f32]) + 'a;

/// A test problem: logical `op(a)` (m × k), `op(b)` (k × n), initial C, f64 reference.
pub(super) struct Case {
    pub(super) m: usize,
    pub(super) n: usize,
    pub(super) k: usize,
    opa: Vec<f32>,
    opb: Vec<f32>,
    pub(super) c0: Vec<f32>,
    /// `op(a) · op(b)` in f64, and `Σ_p |a_ip b_pj|` for the error bound.
    exact: Vec<f64>,
    mag: Vec<f64>,
}

impl Case {
    pub(super) fn new(m: usize, n: usize, k: usize, seed: u64) -> Self {
        let opa = fill(m * k, seed);
        let opb = fill(k * n, seed + 1);
        let c0 = fill(m * n, seed + 2);
        let mut exact = vec![0f64; m * n];
        let mut mag = vec![0f64; m * n];
        for i in 0..m {
            for p in 0..k {
                let x = f64::from(opa[i * k + p]);
                for j in 0..n {
                    let y = f64::from(opb[p * n + j]);
                    exact[i * n + j] += x * y;
                    mag[i * n + j] += (x * y).abs();
                }
            }
        }
        Self { m, n, k, opa, opb, c0, exact, mag }
    }

    /// Storage of `a` for transpose `t` and its stored dims.
    pub(super) fn a(&self, t: Trans) -> (Vec<f32>, Dims) {
        store(&self.opa, self.m, self.k, t)
    }

    pub(super) fn b(&self, t: Trans) -> (Vec<f32>, Dims) {
        store(&self.opb, self.k, self.n, t)
    }

    /// Runs `f` for `(ta, tb, accumulate)` and checks against the reference.
    pub(super) fn check(&self, ta: Trans, tb: Trans, acc: bool, what: &str, f: &RunFn<'_>) {
        let (a, ad) = self.a(ta);
        let (b, bd) = self.b(tb);
        let mut c = if acc { self.c0.clone() } else { vec![f32::NAN; self.m * self.n] };
        f(operand(&a, ad, ta), operand(&b, bd, tb), &mut c);
        // Worst-case f32 dot-product bound is about (k + 1) * 2^-24 * Σ|a b|; allow 2×.
        let u = 2.0 * (self.k as f64 + 2.0) * f64::from(f32::EPSILON) / 2.0;
        for idx in 0..self.m * self.n {
            let c0 = if acc { f64::from(self.c0[idx]) } else { 0.0 };
            let want = self.exact[idx] + c0;
            let tol = u * (self.mag[idx] + c0.abs()) + 1e-30;
            let got = f64::from(c[idx]);
            assert!(
                (got - want).abs() <= tol,
                "{what}: m={} n={} k={} ta={ta:?} tb={tb:?} acc={acc}: c[{},{}] = {got}, want {want} (tol {tol})",
                self.m,
                self.n,
                self.k,
                idx / self.n,
                idx % self.n,
            );
        }
    }
}

/// Stores the logical `rows × cols` matrix `x` as given (`No`) or transposed (`Yes`).
pub(super) fn store(x: &[f32], rows: usize, cols: usize, t: Trans) -> (Vec<f32>, Dims) {
    match t {
        Trans::No => (x.to_vec(), Dims { rows, cols }),
        Trans::Yes => {
            let mut y = vec![0f32; rows * cols];
            for r in 0..rows {
                for c in 0..cols {
                    y[c * rows + r] = x[r * cols + c];
                }
            }
            (y, Dims { rows: cols, cols: rows })
        }
    }
}

/// The operand stored in `data` with stored shape `dims`, used with transpose `t`.
pub(super) fn operand(data: &[f32], dims: Dims, t: Trans) -> Mat<'_> {
    Mat { data, dims, trans: t }
}

pub(super) const TRANS: [(Trans, Trans); 4] =
    [(Trans::No, Trans::No), (Trans::No, Trans::Yes), (Trans::Yes, Trans::No), (Trans::Yes, Trans::Yes)];

pub(super) fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap()
}

/// The hardware micro-kernels this CPU supports, whatever `NEUROPLAST_GEMM_AVX512` says (so the
/// AVX-512 kernel is tested through [`gemm_with`] on every AVX-512 machine).
pub(super) fn hw_isas() -> Vec<Isa> {
    [Isa::Avx512, Isa::Avx2].into_iter().filter(|&isa| cpu_supports(isa)).collect()
}

/// The kernels runnable here: every hardware ISA this CPU has ([`hw_isas`]), plus (x86-64)
/// the portable emulation of the AVX-512 kernel.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) enum Which {
    Hw(Isa),
    #[cfg(target_arch = "x86_64")]
    Emu,
}

pub(super) fn kernels() -> Vec<Which> {
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
    let mut v: Vec<Which> = hw_isas().into_iter().map(Which::Hw).collect();
    #[cfg(target_arch = "x86_64")]
    v.push(Which::Emu);
    v
}

pub(super) fn run_which(w: Which, a: Mat<'_>, b: Mat<'_>, c: &mut [f32], acc: bool, threads: usize) {
    match w {
        Which::Hw(isa) => assert!(gemm_with(isa, a, b, c, acc, threads)),
        #[cfg(target_arch = "x86_64")]
        Which::Emu => {
            let p = Problem::new(a, b, c.len()).unwrap();
            x86::run::<x86::EmuKernel>(&p, a.data, b.data, c, acc, threads);
        }
    }
}

pub(super) fn check_all(case: &Case, kernels: &[Which], pools: &[(usize, rayon::ThreadPool)]) {
    for &w in kernels {
        for (threads, pool) in pools {
            for (ta, tb) in TRANS {
                for acc in [false, true] {
                    let what = format!("{w:?} threads={threads}");
                    case.check(ta, tb, acc, &what, &|a, b, c| {
                        pool.install(|| run_which(w, a, b, c, acc, *threads));
                    });
                }
            }
        }
    }
}

pub(super) fn trans(b: bool) -> Trans {
    if b {
        Trans::Yes
    } else {
        Trans::No
    }
}
