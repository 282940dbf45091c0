//! Unpacked SIMD kernels for small products (the layers of digits-sized networks), where
//! packing both operands (the packed path) or faer's general dispatch cost more than the
//! arithmetic.
//!
//! `op(b)` is used in place when it is row-major contiguous (`k × n`, unit column stride)
//! and transposed once into a per-thread scratch buffer otherwise (the forward pass's `Wᵀ`,
//! at most `k · n` copies against `m · n · k` multiply-adds). A tile of `R` rows × one or two
//! vectors of columns stays in registers over the whole k loop: each step broadcasts
//! `op(a)[i][p]` (any strides) and reads one contiguous row segment of `op(b)`. Column tails
//! use masked loads and stores, so no edge tile is copied.
//!
//! Every element of C goes through the same chain as in the packed kernels with one k block:
//! `acc = fma(a, b, acc)` from `acc = 0` for `p = 0, 1, …, k − 1`, then `c = acc` or
//! `c = c + acc`. Tile sizes differ between the AVX-512 and AVX2 kernels, the chain does
//! not, so both give bitwise-identical results (tested).

use super::super::packed::{Isa, Problem};
use super::pack::transpose8;
use super::simd::{Avx2, Avx512, Simd};
use core::arch::x86_64::*;
use std::cell::RefCell;

thread_local! {
    /// Scratch for a transposed `op(b)`; grows to the largest `k · n` seen on this thread.
    static B_ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `op(a)` with its strides.
#[derive(Clone, Copy)]
struct AOp<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl AOp<'_> {
    /// Pointer to `op(a)[i][p]`; the caller keeps `i < m`, `p < k` (validated operand).
    #[inline(always)]
    fn ptr(&self, i: usize, p: usize) -> *const f32 {
        self.data.as_ptr().wrapping_add(i * self.rs + p * self.cs)
    }
}

/// Runs `op(b)` as a contiguous `k × n` row-major slice through `f`.
///
/// # Safety
/// The CPU must support AVX2 (for the register transposes).
unsafe fn with_b_rows<T>(p: &Problem, b: &[f32], f: impl FnOnce(&[f32]) -> T) -> T {
    let (k, n) = (p.k, p.n);
    if p.b_cs == 1 && p.b_rs == n {
        return f(&b[..k * n]);
    }
    B_ROWS.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < k * n {
            buf.resize(k * n, 0.0); // zeroed only when it grows: every element is written below
        }
        let buf = &mut buf[..k * n];
        if p.b_rs == 1 {
            // op(b) = bᵀ with b stored n × k (the forward pass's weights).
            // SAFETY: AVX2 per the caller.
            unsafe { transpose(buf, b, n, k, p.b_cs) };
        } else {
            for pp in 0..k {
                for j in 0..n {
                    buf[pp * n + j] = b[pp * p.b_rs + j * p.b_cs];
                }
            }
        }
        f(buf)
    })
}

/// `dst[p * n + j] = src[j * ld + p]` for `j < n`, `p < k`: whole 8 × 8 blocks with AVX
/// register transposes, the edges element by element.
#[target_feature(enable = "avx2")]
fn transpose(dst: &mut [f32], src: &[f32], n: usize, k: usize, ld: usize) {
    let (n8, k8) = (n - n % 8, k - k % 8);
    for j0 in (0..n8).step_by(8) {
        for p0 in (0..k8).step_by(8) {
            let mut v = [_mm256_setzero_ps(); 8];
            for (r, x) in v.iter_mut().enumerate() {
                let run = &src[(j0 + r) * ld + p0..][..8];
                // SAFETY: `run` holds 8 floats; AVX is available.
                *x = unsafe { _mm256_loadu_ps(run.as_ptr()) };
            }
            for (q, t) in transpose8(v).into_iter().enumerate() {
                let out = &mut dst[(p0 + q) * n + j0..][..8];
                // SAFETY: `out` holds 8 floats; AVX is available.
                unsafe { _mm256_storeu_ps(out.as_mut_ptr(), t) };
            }
        }
        for p in k8..k {
            for j in j0..j0 + 8 {
                dst[p * n + j] = src[j * ld + p];
            }
        }
    }
    for j in n8..n {
        for p in 0..k {
            dst[p * n + j] = src[j * ld + p];
        }
    }
}

/// `c = op(a) · op(b)` (or `c += …`) for the validated problem `p` on the unpacked kernels.
///
/// # Safety
/// The CPU must support `isa` (AVX-512F + AVX2 + FMA, or AVX2 + FMA); `p` must come from
/// `Problem::new` for these slices.
pub(crate) unsafe fn run(isa: Isa, p: &Problem, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    if p.m == 0 || p.n == 0 {
        return;
    }
    let aop = AOp { data: a, rs: p.a_rs, cs: p.a_cs };
    // SAFETY: the caller guarantees the CPU features of `isa` (both include AVX2).
    unsafe {
        with_b_rows(p, b, |brows| match isa {
            Isa::Avx512 => avx512(p.m, p.n, p.k, aop, brows, c, accumulate),
            Isa::Avx2 => avx2(p.m, p.n, p.k, aop, brows, c, accumulate),
        })
    };
}

/// Calls `tile::<S, R, V>` for the row block at `i0` with `R = min(rows left, $mr)`.
macro_rules! row_blocks {
    ($s:ty, $mr:literal, $v:literal, $m:expr, $($arg:expr),*) => {{
        let mut i0 = 0;
        while i0 < $m {
            match ($m - i0).min($mr) {
                8 => tile::<$s, 8, $v>(i0, $($arg),*),
                7 => tile::<$s, 7, $v>(i0, $($arg),*),
                6 => tile::<$s, 6, $v>(i0, $($arg),*),
                5 => tile::<$s, 5, $v>(i0, $($arg),*),
                4 => tile::<$s, 4, $v>(i0, $($arg),*),
                3 => tile::<$s, 3, $v>(i0, $($arg),*),
                2 => tile::<$s, 2, $v>(i0, $($arg),*),
                _ => tile::<$s, 1, $v>(i0, $($arg),*),
            }
            i0 += $mr;
        }
    }};
}

/// Column blocks of up to two vectors, row blocks of up to `$mr` rows, on lanes `$s`.
macro_rules! blocks {
    ($s:ty, $mr:literal, $m:expr, $n:expr, $($arg:expr),*) => {{
        let lanes = <$s as Simd>::LANES;
        let mut j0 = 0;
        while j0 < $n {
            let w = ($n - j0).min(2 * lanes);
            if w > lanes {
                row_blocks!($s, $mr, 2, $m, j0, w, $n, $($arg),*);
            } else {
                row_blocks!($s, $mr, 1, $m, j0, w, $n, $($arg),*);
            }
            j0 += w;
        }
    }};
}

/// AVX-512: tiles of up to 8 rows × 2 vectors (32 columns), 16 of the 32 registers.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512(m: usize, n: usize, k: usize, a: AOp<'_>, b: &[f32], c: &mut [f32], acc: bool) {
    // SAFETY: AVX-512F per the caller; the tiles stay inside the validated problem.
    unsafe { blocks!(Avx512, 8, m, n, k, a, b, c, acc) }
}

/// AVX2: tiles of up to 6 rows × 2 vectors (16 columns), 12 of the 16 registers.
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(m: usize, n: usize, k: usize, a: AOp<'_>, b: &[f32], c: &mut [f32], acc: bool) {
    // SAFETY: AVX2 + FMA per the caller; the tiles stay inside the validated problem.
    unsafe { blocks!(Avx2, 6, m, n, k, a, b, c, acc) }
}

/// Lanes with masked loads and stores of their first `l` elements.
trait Masked: Simd {
    type Mask: Copy;
    /// The mask of the first `lanes.min(LANES)` lanes.
    unsafe fn mask(lanes: usize) -> Self::Mask;
    /// Loads the masked lanes from `p` (others 0); only those are read.
    unsafe fn load_masked(p: *const f32, m: Self::Mask) -> Self::V;
    /// Stores the masked lanes of `v` to `p`; only those are written.
    unsafe fn store_masked(p: *mut f32, m: Self::Mask, v: Self::V);
}

impl Masked for Avx512 {
    type Mask = __mmask16;
    #[inline(always)]
    unsafe fn mask(lanes: usize) -> __mmask16 {
        if lanes >= 16 {
            0xffff
        } else {
            ((1u32 << lanes) - 1) as __mmask16
        }
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: __mmask16) -> __m512 {
        // SAFETY: AVX-512F per the trait contract; masked-off lanes are not accessed.
        unsafe { _mm512_maskz_loadu_ps(m, p) }
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, m: __mmask16, v: __m512) {
        // SAFETY: as for `load_masked`.
        unsafe { _mm512_mask_storeu_ps(p, m, v) }
    }
}

/// Lane masks for `_mm256_maskload_ps`: `MASKS[8 - l ..][..8]` enables the first `l` lanes.
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

impl Masked for Avx2 {
    type Mask = __m256i;
    #[inline(always)]
    unsafe fn mask(lanes: usize) -> __m256i {
        // SAFETY: AVX per the trait contract; the 8 ints read lie inside `MASKS`.
        unsafe { _mm256_loadu_si256(MASKS.as_ptr().add(8 - lanes.min(8)).cast::<__m256i>()) }
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const f32, m: __m256i) -> __m256 {
        // SAFETY: AVX per the trait contract; masked-off lanes are not accessed.
        unsafe { _mm256_maskload_ps(p, m) }
    }
    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, m: __m256i, v: __m256) {
        // SAFETY: as for `load_masked`.
        unsafe { _mm256_maskstore_ps(p, m, v) }
    }
}

/// Rows `i0 .. i0 + R`, columns `j0 .. j0 + w` (`w ≤ LANES · V`) of C.
///
/// # Safety
/// The CPU has `S`'s features; the block lies inside the `m × n` problem whose `op(b)` rows
/// are `b` (`k × n`) and whose C is `c`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<S: Masked, const R: usize, const V: usize>(
    i0: usize,
    j0: usize,
    w: usize,
    n: usize,
    k: usize,
    a: AOp<'_>,
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    // SAFETY: per the function contract: every pointer formed is the start of a vector with
    // at least one column inside its row of b or c (w > LANES · v), and masked accesses
    // touch only the columns j0 .. j0 + w.
    unsafe {
        let masks = [S::mask(w), S::mask(w.saturating_sub(S::LANES))];
        let mut t = [[S::zero(); V]; R];
        for p in 0..k {
            let row = b.as_ptr().add(p * n + j0);
            let mut bv = [S::zero(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = S::load_masked(row.add(S::LANES * v), masks[v]);
            }
            for (r, acc) in t.iter_mut().enumerate() {
                let av = S::splat(a.ptr(i0 + r, p));
                for v in 0..V {
                    acc[v] = S::fmadd(av, bv[v], acc[v]);
                }
            }
        }
        for (r, acc) in t.iter().enumerate() {
            let out = c.as_mut_ptr().add((i0 + r) * n + j0);
            for v in 0..V {
                let dst = out.add(S::LANES * v);
                let mut x = acc[v];
                if accumulate {
                    x = S::add(S::load_masked(dst, masks[v]), x);
                }
                S::store_masked(dst, masks[v], x);
            }
        }
    }
}
