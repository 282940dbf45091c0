//! Row-major GEMM on slices: the packed AVX-512 / AVX2 kernels of [`packed`] for large
//! problems, the unpacked small-product kernels ([`gemm_small`]) for the small ones a
//! digits-sized network is made of, faer (runtime AVX-512/AVX2 dispatch) in between.
//!
//! Layout:
//! * this file: the operand type [`Mat`] (with [`Dims`], [`Trans`]), the public entry points
//!   [`gemm`] / [`gemm_faer`], the [`use_packed`] and [`use_small`] size rules;
//! * [`packed`]: the packed SGEMM's ISA selection ([`isa`]), dispatch ([`gemm_packed`],
//!   [`gemm_with`]), problem validation and k blocking;
//! * `x86`: its x86-64 micro-kernels, packing and threaded driver, and the small-product
//!   kernels (absent on other architectures, where everything goes to faer);
//! * `tests`: tests of both paths.
//!
//! The AVX-512 micro-kernel is used wherever the CPU has AVX-512F; `NEUROPLAST_GEMM_AVX512=0`
//! in the environment (read once per process) forces the AVX2 + FMA kernel, which gives
//! bitwise-identical results.

pub mod packed;
#[cfg(test)]
mod tests;
// AVX-512 intrinsics (like the `avx512*` target features `kernels::simd` uses) are stable
// since Rust 1.89, the workspace's declared `rust-version`.
#[cfg(target_arch = "x86_64")]
mod x86;

pub use packed::{
    cpu_supports, gemm_packed, gemm_small, gemm_small_with, gemm_with, isa, isa_name, Isa, AVX512_ENV,
};

use faer::linalg::matmul::matmul;
use faer::mat::{MatMut, MatRef};
use faer::{Accum, Par};

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trans {
    /// Use the matrix as stored.
    No,
    /// Use its transpose.
    Yes,
}

/// Shape of a row-major matrix stored in a slice.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub rows: usize,
    pub cols: usize,
}

/// A row-major matrix operand: stored data and shape, used as stored or transposed.
///
/// `data` holds `dims.rows × dims.cols` values (the stored shape); the operand of a product is
/// `op(M)`, that matrix or its transpose according to `trans`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub dims: Dims,
    pub trans: Trans,
}

impl<'a> Mat<'a> {
    /// The `rows × cols` row-major matrix stored in `data`, used as stored.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self { data, dims: Dims { rows, cols }, trans: Trans::No }
    }

    /// The same operand transposed (flips `trans`; the data is not moved).
    pub fn t(self) -> Self {
        let trans = match self.trans {
            Trans::No => Trans::Yes,
            Trans::Yes => Trans::No,
        };
        Self { trans, ..self }
    }

    /// Number of rows of `op(M)`.
    pub fn op_rows(&self) -> usize {
        match self.trans {
            Trans::No => self.dims.rows,
            Trans::Yes => self.dims.cols,
        }
    }

    /// Number of columns of `op(M)`.
    pub fn op_cols(&self) -> usize {
        match self.trans {
            Trans::No => self.dims.cols,
            Trans::Yes => self.dims.rows,
        }
    }

    /// `op(M)` as a faer view.
    fn view(self) -> MatRef<'a, f32> {
        let m = MatRef::from_row_major_slice(self.data, self.dims.rows, self.dims.cols);
        match self.trans {
            Trans::No => m,
            Trans::Yes => m.transpose(),
        }
    }
}

/// `c = op(a) · op(b)` (or `c += ...` when `accumulate`), all row-major, always with faer.
pub fn gemm_faer(a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool, threads: usize) {
    let av = a.view();
    let bv = b.view();
    debug_assert_eq!(av.ncols(), bv.nrows());
    let (m, n) = (av.nrows(), bv.ncols());
    debug_assert_eq!(c.len(), m * n);
    let cv = MatMut::from_row_major_slice_mut(c, m, n);
    let beta = if accumulate { Accum::Add } else { Accum::Replace };
    let par = if threads <= 1 || m * n * av.ncols() < 64 * 64 * 64 { Par::Seq } else { Par::rayon(threads) };
    matmul(cv, beta, av, bv, 1.0f32, par);
}

/// Whether the packed SIMD path is expected to beat faer (crossover measured on an AVX2
/// Zen 3 host; see `examples/gemm_probe.rs`): both output sides at least 32, k at least 16,
/// and `m·n·k ≥ 64³` with several threads (faer stays sequential below that and rayon
/// overhead dominates), `m·n·k ≥ 2^25` with `min(m, n) ≥ 128` on one thread (faer's
/// single-threaded kernels are as fast on medium sizes). Depends only on shapes and `threads`.
pub fn use_packed(m: usize, n: usize, k: usize, threads: usize) -> bool {
    if m < 32 || n < 32 || k < 16 {
        return false;
    }
    let work = m.saturating_mul(n).saturating_mul(k);
    if threads > 1 {
        work >= 64 * 64 * 64
    } else {
        work >= 1 << 25 && m.min(n) >= 128
    }
}

/// Whether a product that [`use_packed`] declines goes to the unpacked small-product kernels
/// ([`gemm_small`]) rather than faer: where faer would run sequentially (one thread, or
/// `m·n·k < 64³`) and the product is at most `2^24` multiply-adds (beyond that faer's
/// cache blocking wins; measured with `examples/gemm_probe.rs small`).
pub fn use_small(m: usize, n: usize, k: usize, threads: usize) -> bool {
    let work = m.saturating_mul(n).saturating_mul(k);
    work <= SMALL_MAX && (threads <= 1 || work < 64 * 64 * 64)
}

/// Largest product (multiply-adds) for [`use_small`].
const SMALL_MAX: usize = 1 << 24;

/// `c = op(a) · op(b)` (or `c += ...` when `accumulate`), all row-major.
///
/// `c` must be `a.op_rows() × b.op_cols()`, with `a.op_cols() == b.op_rows()`, and each
/// operand's data must hold its stored shape. Callers guarantee consistent shapes (checked in
/// debug builds).
///
/// Large problems run on the packed kernels of [`packed`] and small ones on the unpacked
/// kernels of [`gemm_small`] when the CPU has AVX2 + FMA (AVX-512F by default where present)
/// (see [`use_packed`], [`use_small`], [`isa`]); results are then bitwise reproducible for a
/// given shape and thread count, and the same with either ISA. Everything else goes to faer.
pub fn gemm(a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool, threads: usize) {
    let (m, k, n) = (a.op_rows(), a.op_cols(), b.op_cols());
    if use_packed(m, n, k, threads) && gemm_packed(a, b, c, accumulate, threads) {
        return;
    }
    if use_small(m, n, k, threads) && gemm_small(a, b, c, accumulate) {
        return;
    }
    gemm_faer(a, b, c, accumulate, threads);
}
