//! BLIS-style packed SGEMM with hand-written SIMD micro-kernels (x86-64 only): ISA selection,
//! dispatch, problem validation and k blocking. The kernels themselves live in `super::x86`.
//!
//! Structure:
//! * the k dimension is cut into blocks of at most `KC_MAX` (256) (a choice that depends
//!   only on `k`);
//! * the output is split into exactly `threads` rectangles of micro-tiles (a partition that
//!   depends only on the shapes and `threads`), each computed by one rayon task;
//! * inside a task: blocks of `op(a)` row panels sized for L2 → k blocks (pack the block
//!   of A into `MR × kc` micro-panels) → column panels (pack one `kc × NR` micro-panel of
//!   `op(b)`, which stays in L1) → micro-kernel over the block's row panels. Packing handles
//!   both transposes of both operands (8 × 8 AVX transposes for the strided cases), and is
//!   done right before use so the packed data is consumed from cache;
//! * the micro-kernel keeps an `MR × NR` tile of C in registers: 14 × 32 with AVX-512F
//!   (28 zmm accumulators), 6 × 16 with AVX2 + FMA (12 ymm accumulators). Partial edge tiles
//!   are computed into a scratch tile and copied out.
//!
//! Every element of C goes through the same chain of operations whatever the thread count or
//! the ISA: for each k block in order, `acc = fma(a, b, acc)` from `acc = 0` over the block,
//! then `c = acc` (first block, no accumulate) or `c = c + acc`. The reduction over k is
//! never split between threads, so results are bitwise reproducible — and even identical
//! between thread counts and between the AVX-512 and AVX2 kernels.
//!
//! The ISA is picked at run time (`is_x86_feature_detected!`); nothing relies on
//! `target-cpu=native`. On other architectures [`gemm_packed`] always returns `false`.
//!
//! The AVX-512 kernel is the default on CPUs that report AVX-512F (and AVX2 + FMA): [`isa`]
//! returns [`Isa::Avx512`] there unless the environment variable `NEUROPLAST_GEMM_AVX512=0`
//! forces the AVX2 + FMA kernel (read once per process). Both kernels give bitwise-identical
//! results — a property tested on every CPU that has both (`avx512_matches_avx2_bitwise`) and,
//! where AVX-512 is absent, against a portable emulation of the 16-lane kernel — so the choice
//! changes speed only, never a number.

use super::{Mat, Trans};
use std::sync::OnceLock;

/// Micro-kernel instruction set chosen by [`isa`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F, 14 × 32 micro-kernel (the default where supported).
    Avx512,
    /// AVX2 + FMA, 6 × 16 micro-kernel.
    Avx2,
}

/// Environment variable that forces the AVX2 + FMA kernel on AVX-512 CPUs when set to `0`.
pub const AVX512_ENV: &str = "NEUROPLAST_GEMM_AVX512";

/// Whether this CPU has the features needed by the `isa` micro-kernel.
pub fn cpu_supports(isa: Isa) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2_fma =
            std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        match isa {
            Isa::Avx512 => avx2_fma && std::arch::is_x86_feature_detected!("avx512f"),
            Isa::Avx2 => avx2_fma,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = isa;
        false
    }
}

/// The dispatch rule: AVX-512 when supported and not opted out, else AVX2 + FMA, else none.
pub(crate) fn select(avx512: bool, avx2: bool, avx512_opt_out: bool) -> Option<Isa> {
    if avx512 && !avx512_opt_out {
        Some(Isa::Avx512)
    } else if avx2 {
        Some(Isa::Avx2)
    } else {
        None
    }
}

/// The micro-kernel [`gemm_packed`] uses, or `None` (then [`gemm_packed`] declines): AVX-512F
/// where the CPU has it (unless `NEUROPLAST_GEMM_AVX512=0`), else AVX2 + FMA when available
/// (see the module docs). Detected once per process.
pub fn isa() -> Option<Isa> {
    static ISA: OnceLock<Option<Isa>> = OnceLock::new();
    *ISA.get_or_init(|| select(cpu_supports(Isa::Avx512), cpu_supports(Isa::Avx2), opted_out()))
}

/// Whether `NEUROPLAST_GEMM_AVX512=0` asks for the AVX2 + FMA kernel on an AVX-512 CPU.
pub(crate) fn opted_out() -> bool {
    std::env::var(AVX512_ENV).is_ok_and(|v| v.trim() == "0")
}

/// Name of the micro-kernel in use: `"avx512"`, `"avx2"` or `"faer"` (no packed kernel; every
/// product goes to faer). Recorded next to benchmark results.
pub fn isa_name() -> &'static str {
    match isa() {
        Some(Isa::Avx512) => "avx512",
        Some(Isa::Avx2) => "avx2",
        None => "faer",
    }
}

/// `c = op(a) · op(b)` (or `c += ...` when `accumulate`), row-major, with the packed SIMD path.
///
/// Same contract as [`super::gemm`]. Returns `false` without touching `c` when no SIMD
/// kernel is available on this CPU / architecture or when the shapes are inconsistent (the
/// caller then falls back to another implementation).
pub fn gemm_packed(a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool, threads: usize) -> bool {
    match isa() {
        Some(isa) => gemm_with(isa, a, b, c, accumulate, threads),
        None => false,
    }
}

/// [`gemm_packed`] with an explicit micro-kernel (ignores `NEUROPLAST_GEMM_AVX512`); `false` when the
/// CPU lacks `isa` or the shapes are inconsistent.
pub fn gemm_with(isa: Isa, a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool, threads: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let Some(p) = Problem::new(a, b, c.len()) else {
            return false;
        };
        if !cpu_supports(isa) {
            return false;
        }
        let (a, b) = (a.data, b.data);
        match isa {
            Isa::Avx512 => super::x86::run::<super::x86::Avx512Kernel>(&p, a, b, c, accumulate, threads),
            Isa::Avx2 => super::x86::run::<super::x86::Avx2Kernel>(&p, a, b, c, accumulate, threads),
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (isa, a, b, c, accumulate, threads);
        false
    }
}

/// `c = op(a) · op(b)` (or `c += ...`) on the unpacked small-product kernels (single
/// thread) with the micro-kernel ISA of [`isa`]; `false` without touching `c` when no SIMD
/// kernel is available or the shapes are inconsistent. Bitwise identical between the AVX-512
/// and AVX2 kernels, like [`gemm_packed`].
pub fn gemm_small(a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool) -> bool {
    match isa() {
        Some(isa) => gemm_small_with(isa, a, b, c, accumulate),
        None => false,
    }
}

/// [`gemm_small`] with an explicit ISA (ignores `NEUROPLAST_GEMM_AVX512`); `false` when the
/// CPU lacks `isa` or the shapes are inconsistent.
pub fn gemm_small_with(isa: Isa, a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let Some(p) = Problem::new(a, b, c.len()) else {
            return false;
        };
        if !cpu_supports(isa) {
            return false;
        }
        // SAFETY: the CPU supports `isa` (checked above) and `p` validates these slices.
        unsafe { super::x86::small::run(isa, &p, a.data, b.data, c, accumulate) };
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (isa, a, b, c, accumulate);
        false
    }
}

/// Largest k block. Chosen independently of the ISA so that every kernel performs the same
/// operations in the same order (bitwise-identical results across ISAs).
const KC_MAX: usize = 256;

/// Length of the k blocks: `ceil(k / KC_MAX)` blocks of near-equal length (multiples of 8,
/// except the last). Depends only on `k`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn k_block_len(k: usize) -> usize {
    let nb = k.div_ceil(KC_MAX).max(1);
    k.div_ceil(nb).next_multiple_of(8).clamp(1, KC_MAX)
}

/// Validated shapes and element strides of `op(a)` (m × k) and `op(b)` (k × n).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Problem {
    pub(crate) m: usize,
    pub(crate) n: usize,
    pub(crate) k: usize,
    /// `op(a)[i][p] = a[i * a_rs + p * a_cs]`.
    pub(crate) a_rs: usize,
    pub(crate) a_cs: usize,
    /// `op(b)[p][j] = b[p * b_rs + j * b_cs]`.
    pub(crate) b_rs: usize,
    pub(crate) b_cs: usize,
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
impl Problem {
    /// Shapes and strides of `op(a) · op(b)` into a C of `c_len` elements; `None` when the
    /// inner dimensions differ, an operand's data is shorter than its stored shape, or `c_len`
    /// is not `m · n`.
    pub(crate) fn new(a: Mat<'_>, b: Mat<'_>, c_len: usize) -> Option<Self> {
        let (m, k, (a_rs, a_cs)) = (a.op_rows(), a.op_cols(), strides(a));
        let (kb, n, (b_rs, b_cs)) = (b.op_rows(), b.op_cols(), strides(b));
        let a_len = a.dims.rows.checked_mul(a.dims.cols)?;
        let b_len = b.dims.rows.checked_mul(b.dims.cols)?;
        let c_need = m.checked_mul(n)?;
        if kb != k || a.data.len() < a_len || b.data.len() < b_len || c_len != c_need {
            return None;
        }
        Some(Self { m, n, k, a_rs, a_cs, b_rs, b_cs })
    }
}

/// Element strides `(row, col)` of `op(x)` in `x.data`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn strides(x: Mat<'_>) -> (usize, usize) {
    match x.trans {
        Trans::No => (x.dims.cols, 1),
        Trans::Yes => (1, x.dims.cols),
    }
}
