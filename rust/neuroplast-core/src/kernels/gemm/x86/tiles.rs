//! Concrete micro-kernels: register-tile geometry, L2 block budget and the
//! `#[target_feature]` entry points of the AVX-512, AVX2 and (tests) emulated kernels.

use super::pack::Operand;
#[cfg(test)]
use super::simd::Emu16;
use super::simd::{micro, Avx2, Avx512};

/// Largest `MR * NR` over all kernels (size of the edge scratch tile).
pub(crate) const MAX_TILE: usize = 14 * 32;

/// A micro-kernel with its blocking parameters.
pub(crate) trait Kernel {
    /// Rows of the register tile.
    const MR: usize;
    /// Columns of the register tile.
    const NR: usize;
    /// Size budget of the block of packed panels kept in L2 (bytes).
    const BLOCK_BYTES: usize;
    /// # Safety
    /// Same contract as [`micro`] with this kernel's `MR`/`NR`; the CPU must support the
    /// kernel's features (checked by the dispatcher before [`super::run`] is called).
    unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, add: bool);
    /// [`Operand::pack`] with width `MR`.
    fn pack_a(dst: &mut [f32], src: &Operand<'_>, r0: usize, k0: usize, kc: usize, avx2: bool);
    /// [`Operand::pack`] with width `NR`.
    fn pack_b(dst: &mut [f32], src: &Operand<'_>, r0: usize, k0: usize, kc: usize, avx2: bool);
}

/// Implements [`Kernel`] for `$name` with an `$mr × $nr` tile and the given tile function.
macro_rules! kernel_impl {
    ($name:ident, $mr:literal, $nr:literal, $block:expr, $tile:path) => {
        impl Kernel for $name {
            const MR: usize = $mr;
            const NR: usize = $nr;
            const BLOCK_BYTES: usize = $block;
            #[inline(always)]
            unsafe fn tile(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, add: bool) {
                // SAFETY: forwarded contract (the dispatcher checked the CPU features).
                unsafe { $tile(kc, a, b, c, ldc, add) }
            }
            fn pack_a(dst: &mut [f32], src: &Operand<'_>, r0: usize, k0: usize, kc: usize, avx2: bool) {
                src.pack::<$mr>(dst, r0, k0, kc, avx2);
            }
            fn pack_b(dst: &mut [f32], src: &Operand<'_>, r0: usize, k0: usize, kc: usize, avx2: bool) {
                src.pack::<$nr>(dst, r0, k0, kc, avx2);
            }
        }
    };
}

/// AVX-512F kernel: 14 × 32 tile, 28 zmm accumulators.
pub(crate) struct Avx512Kernel;

/// # Safety
/// See [`micro`]; requires AVX-512F.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tile_avx512(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, add: bool) {
    // SAFETY: forwarded contract; AVX-512F is enabled for this function.
    unsafe { micro::<Avx512, 14, 2>(kc, a, b, c, ldc, add) }
}

kernel_impl!(Avx512Kernel, 14, 32, 512 << 10, tile_avx512);

/// AVX2 + FMA kernel: 6 × 16 tile, 12 ymm accumulators.
pub(crate) struct Avx2Kernel;

/// # Safety
/// See [`micro`]; requires AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, add: bool) {
    // SAFETY: forwarded contract; AVX2/FMA are enabled for this function.
    unsafe { micro::<Avx2, 6, 2>(kc, a, b, c, ldc, add) }
}

kernel_impl!(Avx2Kernel, 6, 16, 264 << 10, tile_avx2);

/// The AVX-512 kernel geometry on the portable 16-lane emulation (tests only), with a
/// small block budget so that the L2 blocking loops are exercised.
#[cfg(test)]
pub(crate) struct EmuKernel;

/// # Safety
/// See [`micro`]; needs no CPU feature.
#[cfg(test)]
unsafe fn tile_emu(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, add: bool) {
    // SAFETY: forwarded contract.
    unsafe { micro::<Emu16, 14, 2>(kc, a, b, c, ldc, add) }
}

#[cfg(test)]
kernel_impl!(EmuKernel, 14, 32, 48 << 10, tile_emu);
