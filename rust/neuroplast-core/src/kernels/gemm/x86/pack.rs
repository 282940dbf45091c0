//! Packing of `op(a)` / `op(b)` micro-panels into the contiguous layout the micro-kernel
//! reads, for both transposes of both operands (8 × 8 AVX transposes for the strided cases).

use core::arch::x86_64::*;

/// One operand seen as `len` panel rows × `k`: element `(r, p)` is `src[r * s_r + p * s_p]`
/// (`r < m` rows of `op(a)`, or `r < n` columns of `op(b)`).
pub(crate) struct Operand<'a> {
    pub(crate) src: &'a [f32],
    pub(crate) len: usize,
    pub(crate) s_r: usize,
    pub(crate) s_p: usize,
}

impl Operand<'_> {
    /// Packs the `W`-row panel starting at row `r0`, k values `k0..k0 + kc`, into
    /// `dst[..kc * W]` (rows past `len` are zero).
    #[inline]
    pub(crate) fn pack<const W: usize>(&self, dst: &mut [f32], r0: usize, k0: usize, kc: usize, avx2: bool) {
        let valid = (self.len - r0).min(W);
        let base = r0 * self.s_r + k0 * self.s_p;
        pack_panel::<W>(dst, valid, kc, self.src, base, self.s_r, self.s_p, avx2);
    }
}

/// Packs one `kc × W` micro-panel: `dst[p * W + r] = src[base + r * s_r + p * s_p]` for
/// `r < valid`, zero for `valid <= r < W`.
fn pack_panel<const W: usize>(
    dst: &mut [f32],
    valid: usize,
    kc: usize,
    src: &[f32],
    base: usize,
    s_r: usize,
    s_p: usize,
    use_avx2: bool,
) {
    let dst = &mut dst[..kc * W];
    if s_r == 1 && valid == W {
        // Rows of the panel are contiguous in the source: fixed-size copies.
        for (p, d) in dst.chunks_exact_mut(W).enumerate() {
            let o = base + p * s_p;
            d.copy_from_slice(&src[o..o + W]);
        }
    } else if s_r == 1 {
        for (p, d) in dst.chunks_exact_mut(W).enumerate() {
            let o = base + p * s_p;
            d[..valid].copy_from_slice(&src[o..o + valid]);
            d[valid..].fill(0.0);
        }
    } else if s_p == 1 {
        // Transposing pack: each of the `valid` source runs is contiguous along k.
        let mut p0 = 0;
        if use_avx2 {
            let full = kc - kc % 8;
            // SAFETY: AVX2 was detected by the caller (`use_avx2`).
            unsafe { pack_t8_avx2::<W>(dst, valid, full, src, base, s_r) };
            p0 = full;
        }
        // Remaining k values (all of them without AVX2), in 8-wide strips so the
        // strided stores stay within a few cache lines.
        while p0 < kc {
            let pl = (kc - p0).min(8);
            for r in 0..valid {
                let o = base + r * s_r + p0;
                let run = &src[o..o + pl];
                for (q, &x) in run.iter().enumerate() {
                    dst[(p0 + q) * W + r] = x;
                }
            }
            for q in 0..pl {
                dst[(p0 + q) * W + valid..(p0 + q + 1) * W].fill(0.0);
            }
            p0 += pl;
        }
    } else {
        for (p, d) in dst.chunks_exact_mut(W).enumerate() {
            for r in 0..W {
                d[r] = if r < valid { src[base + r * s_r + p * s_p] } else { 0.0 };
            }
        }
    }
}

/// Transposing pack of the first `kc` (a multiple of 8) k values of a panel with 8 × 8
/// AVX register transposes: `dst[p * W + r] = src[base + r * s_r + p]` for `r < valid`,
/// zero for `valid <= r < W`.
///
/// # Safety
/// The CPU must support AVX2. (All memory accesses go through bounds-checked slices.)
#[target_feature(enable = "avx2")]
unsafe fn pack_t8_avx2<const W: usize>(
    dst: &mut [f32],
    valid: usize,
    kc: usize,
    src: &[f32],
    base: usize,
    s_r: usize,
) {
    debug_assert_eq!(kc % 8, 0);
    let mut r0 = 0;
    while r0 < W {
        let lanes = (W - r0).min(8);
        let rows = valid.saturating_sub(r0).min(8);
        let mut p0 = 0;
        while p0 < kc {
            let mut v = [_mm256_setzero_ps(); 8];
            for r in 0..rows {
                let o = base + (r0 + r) * s_r + p0;
                let run = &src[o..o + 8];
                // SAFETY: `run` holds 8 floats; AVX is available.
                v[r] = unsafe { _mm256_loadu_ps(run.as_ptr()) };
            }
            let t = transpose8(v);
            for q in 0..8 {
                let o = (p0 + q) * W + r0;
                store_prefix(&mut dst[o..o + lanes], t[q]);
            }
            p0 += 8;
        }
        r0 += 8;
    }
}

/// Stores the first `d.len()` (at most 8) lanes of `v` into `d`. Avoids `vmaskmovps`,
/// which is microcoded and very slow on AMD cores.
#[inline]
#[target_feature(enable = "avx2")]
fn store_prefix(d: &mut [f32], v: __m256) {
    match d.len() {
        8 => {
            // SAFETY: `d` holds 8 floats; AVX is available.
            unsafe { _mm256_storeu_ps(d.as_mut_ptr(), v) }
        }
        6 => {
            let hi = _mm256_extractf128_ps::<1>(v);
            // SAFETY: `d` holds 6 floats: 4 at `d[0..4]`, 2 (one f64's worth) at
            // `d[4..6]`; unaligned stores; SSE2 is available.
            unsafe {
                _mm_storeu_ps(d.as_mut_ptr(), _mm256_castps256_ps128(v));
                _mm_storel_pd(d.as_mut_ptr().add(4).cast::<f64>(), _mm_castps_pd(hi));
            }
        }
        len => {
            let mut tmp = [0f32; 8];
            // SAFETY: `tmp` holds 8 floats; AVX is available.
            unsafe { _mm256_storeu_ps(tmp.as_mut_ptr(), v) };
            let len = len.min(8);
            d[..len].copy_from_slice(&tmp[..len]);
        }
    }
}

/// 8 × 8 transpose: `out[q][r] = v[r][q]`.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn transpose8(v: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(v[0], v[1]);
    let t1 = _mm256_unpackhi_ps(v[0], v[1]);
    let t2 = _mm256_unpacklo_ps(v[2], v[3]);
    let t3 = _mm256_unpackhi_ps(v[2], v[3]);
    let t4 = _mm256_unpacklo_ps(v[4], v[5]);
    let t5 = _mm256_unpackhi_ps(v[4], v[5]);
    let t6 = _mm256_unpacklo_ps(v[6], v[7]);
    let t7 = _mm256_unpackhi_ps(v[6], v[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}
