//! Runtime SIMD dispatch for elementwise kernels.
//!
//! Kernel bodies are plain `#[inline(always)]` Rust loops written so LLVM can vectorize them;
//! [`simd_dispatch!`] compiles each body a second time with AVX-512 (and AVX2/FMA) enabled and
//! picks the widest variant the CPU supports at run time. Wheels stay portable (no
//! `target-cpu=native`) while running full-width on this hardware.

/// Which instruction set the dispatched kernels use on this CPU.
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return "avx2";
        }
    }
    "scalar"
}

/// Defines `pub fn $name(args)` that runs `$body` compiled for the best available ISA.
macro_rules! simd_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $crate::kernels::simd::simd_dispatch! { $(#[$meta])* $vis fn $name($($arg: $ty),*) -> () $body }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn body($($arg: $ty),*) -> $ret $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
            fn avx512($($arg: $ty),*) -> $ret { body($($arg),*) }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) -> $ret { body($($arg),*) }

            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    // SAFETY: the CPU supports every feature `avx512` was compiled with.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports every feature `avx2` was compiled with.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

simd_dispatch! {
    /// Whether every value is finite. Compares exponent bits with an integer max, which is
    /// associative, so the loop vectorizes (a float accumulation would be a serial chain).
    pub fn all_finite(x: &[f32]) -> bool {
        const EXP: u32 = 0x7F80_0000;
        x.iter().fold(0u32, |acc, v| acc.max(v.to_bits() & EXP)) != EXP
    }
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `exp(x)` with ~2 ulp error, written with arithmetic and bit operations only so that it
/// vectorizes inside the dispatched kernels (libm's `expf` would force scalar code).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick (branch-free).
    let k = (x * LOG2E + 12_582_912.0) - 12_582_912.0;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    let scale = f32::from_bits((((k as i32) + 127) as u32) << 23);
    p * scale
}

/// Logistic sigmoid built on [`exp_f32`].
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// Hyperbolic tangent as `2·σ(2x) − 1` (absolute error ≲ 1e-7).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    2.0 * sigmoid_f32(2.0 * x) - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_tanh_match_std() {
        let mut x = -90.0f32;
        while x < 90.0 {
            let e = exp_f32(x);
            let r = x.exp();
            if x > -86.0 && x < 87.5 {
                assert!((e - r).abs() <= 4e-7 * r.abs(), "exp({x}) = {e} vs {r}");
            }
            assert!((sigmoid_f32(x) - 1.0 / (1.0 + (-x).exp())).abs() < 2e-7);
            assert!((tanh_f32(x) - x.tanh()).abs() < 3e-7, "tanh({x})");
            x += 0.0137;
        }
        let mut v = vec![1.0f32; 1001];
        assert!(all_finite(&v) && all_finite(&[]));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            v[1000] = bad;
            assert!(!all_finite(&v));
        }
        v[1000] = f32::MAX;
        assert!(all_finite(&v));
        assert!(simd_level() == "avx512" || simd_level() == "avx2" || simd_level() == "scalar");
    }
}
