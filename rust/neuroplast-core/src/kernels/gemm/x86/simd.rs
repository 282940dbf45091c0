//! SIMD lanes and the generic register-tile micro-kernel.
//!
//! [`Simd`] abstracts the few vector operations the micro-kernel needs; it is implemented for
//! AVX-512F (`__m512`), AVX2 + FMA (`__m256`) and, in tests, for a portable 16-lane emulation
//! of `__m512` with the same rounding. [`micro`] is written once against that trait.

use core::arch::x86_64::*;

/// A SIMD vector type and the handful of operations the micro-kernel needs.
///
/// All functions are `unsafe`: the caller must run on a CPU with the vector type's
/// features (guaranteed by calling them only from the matching `#[target_feature]`
/// kernel) and pass pointers valid for `LANES` floats (no alignment needed).
pub(crate) trait Simd {
    const LANES: usize;
    type V: Copy;
    unsafe fn zero() -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    unsafe fn splat(p: *const f32) -> Self::V;
    /// `a * b + c` with a single rounding.
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
}

pub(crate) struct Avx512;

impl Simd for Avx512 {
    const LANES: usize = 16;
    type V = __m512;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        // SAFETY: caller guarantees AVX-512F (trait contract).
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        // SAFETY: AVX-512F available and `p` valid for 16 floats (trait contract).
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        // SAFETY: AVX-512F available and `p` valid for writing 16 floats (trait contract).
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> __m512 {
        // SAFETY: AVX-512F available and `p` valid for one float (trait contract).
        unsafe { _mm512_set1_ps(*p) }
    }
    #[inline(always)]
    unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: caller guarantees AVX-512F (trait contract).
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        // SAFETY: caller guarantees AVX-512F (trait contract).
        unsafe { _mm512_add_ps(a, b) }
    }
}

pub(crate) struct Avx2;

impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = __m256;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        // SAFETY: caller guarantees AVX (trait contract).
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        // SAFETY: AVX available and `p` valid for 8 floats (trait contract).
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        // SAFETY: AVX available and `p` valid for writing 8 floats (trait contract).
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> __m256 {
        // SAFETY: AVX available and `p` valid for one float (trait contract).
        unsafe { _mm256_broadcast_ss(&*p) }
    }
    #[inline(always)]
    unsafe fn fmadd(a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: caller guarantees FMA (trait contract).
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        // SAFETY: caller guarantees AVX (trait contract).
        unsafe { _mm256_add_ps(a, b) }
    }
}

/// Portable 16-lane stand-in for `__m512` (same rounding: `mul_add` is a fused FMA), so
/// the exact AVX-512 kernel shape and driver logic are tested on CPUs without AVX-512.
#[cfg(test)]
pub(crate) struct Emu16;

#[cfg(test)]
impl Simd for Emu16 {
    const LANES: usize = 16;
    type V = [f32; 16];
    #[inline(always)]
    unsafe fn zero() -> [f32; 16] {
        [0.0; 16]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 16] {
        // SAFETY: `p` valid for 16 floats (trait contract).
        unsafe { core::ptr::read_unaligned(p.cast::<[f32; 16]>()) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 16]) {
        // SAFETY: `p` valid for writing 16 floats (trait contract).
        unsafe { core::ptr::write_unaligned(p.cast::<[f32; 16]>(), v) }
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> [f32; 16] {
        // SAFETY: `p` valid for one float (trait contract).
        [unsafe { *p }; 16]
    }
    #[inline(always)]
    unsafe fn fmadd(a: [f32; 16], b: [f32; 16], c: [f32; 16]) -> [f32; 16] {
        core::array::from_fn(|i| a[i].mul_add(b[i], c[i]))
    }
    #[inline(always)]
    unsafe fn add(a: [f32; 16], b: [f32; 16]) -> [f32; 16] {
        core::array::from_fn(|i| a[i] + b[i])
    }
}

/// The generic register-tile micro-kernel: `C[MR × NV·LANES] (=|+=) Ap · Bp`.
///
/// # Safety
/// * the CPU supports `S`'s features;
/// * `a` is valid for `kc * MR` floats (`a[p * MR + r]`), `b` for `kc * NV * LANES` floats
///   (`b[p * NR + j]`);
/// * `c` is valid for reading and writing rows `r < MR` of `NV * LANES` floats starting at
///   `c + r * ldc`.
#[inline(always)]
pub(crate) unsafe fn micro<S: Simd, const MR: usize, const NV: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    add: bool,
) {
    let nr = NV * S::LANES;
    // SAFETY: (whole body) every pointer offset stays inside the ranges described in
    // the function contract; the features are guaranteed by the caller.
    unsafe {
        // Pull the C tile towards L1 while the k loop runs.
        for r in 0..MR {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc).cast::<i8>());
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc + nr - 1).cast::<i8>());
        }
        let mut acc = [[S::zero(); NV]; MR];
        let mut ap = a;
        let mut bp = b;
        for _ in 0..kc {
            let mut bv = [S::zero(); NV];
            for v in 0..NV {
                bv[v] = S::load(bp.add(v * S::LANES));
            }
            for r in 0..MR {
                let av = S::splat(ap.add(r));
                for v in 0..NV {
                    acc[r][v] = S::fmadd(av, bv[v], acc[r][v]);
                }
            }
            ap = ap.add(MR);
            bp = bp.add(nr);
        }
        for r in 0..MR {
            for v in 0..NV {
                let p = c.add(r * ldc + v * S::LANES);
                let x = if add { S::add(S::load(p), acc[r][v]) } else { acc[r][v] };
                S::store(p, x);
            }
        }
    }
}
