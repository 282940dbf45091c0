//! Activation functions: fused bias + activation (+ unit mask) forward, and the matching
//! backward that also reduces the bias gradient in the same pass.

use super::simd::{sigmoid_f32, simd_dispatch, tanh_f32};
use crate::error::{Error, Result};

/// Pointwise nonlinearity applied after a node's linear part.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// f(z) = z.
    Identity,
    /// f(z) = max(z, 0), f'(0) = 0.
    Relu,
    /// max(z, 0) with f'(0) = 1: the thesis's modified ReLU, so units with zero fan-in
    /// (GradMax-style neurogenesis) still receive gradient.
    ModifiedRelu,
    /// f(z) = z for z > 0, slope·z otherwise.
    LeakyRelu(f32),
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Saturation `clip(z, −1, 1)` (seed 004's perceptron nonlinearity), f' = 1 inside.
    Saturation,
    /// Hard threshold: 1 for z ≥ 0, −1 otherwise (f' = 0; for evaluating LP-built networks).
    Sign,
}

impl Activation {
    /// Parses the wire name (`"relu"`, `"leaky_relu"`, ...); `slope` is used by leaky ReLU.
    pub fn parse(name: &str, slope: f32) -> Result<Self> {
        Ok(match name {
            "identity" | "linear" => Self::Identity,
            "relu" => Self::Relu,
            "modified_relu" => Self::ModifiedRelu,
            "leaky_relu" => {
                if !slope.is_finite() {
                    return Err(Error::Spec(format!("leaky_relu slope must be finite, got {slope}")));
                }
                Self::LeakyRelu(slope)
            }
            "sigmoid" => Self::Sigmoid,
            "tanh" => Self::Tanh,
            "saturation" => Self::Saturation,
            "sign" => Self::Sign,
            other => {
                return Err(Error::Spec(format!(
                    "unknown activation {other:?}; expected one of identity, relu, \
                     modified_relu, leaky_relu, sigmoid, tanh, saturation, sign"
                )))
            }
        })
    }

    fn code(self) -> (u8, f32) {
        match self {
            Self::Identity => (0, 0.0),
            Self::Relu => (1, 0.0),
            Self::ModifiedRelu => (2, 0.0),
            Self::LeakyRelu(s) => (3, s),
            Self::Sigmoid => (4, 0.0),
            Self::Tanh => (5, 0.0),
            Self::Saturation => (6, 0.0),
            Self::Sign => (7, 0.0),
        }
    }
}

#[inline(always)]
fn apply(code: u8, slope: f32, z: f32) -> f32 {
    match code {
        1 | 2 => z.max(0.0),
        3 => {
            if z > 0.0 {
                z
            } else {
                slope * z
            }
        }
        4 => sigmoid_f32(z),
        5 => tanh_f32(z),
        6 => z.clamp(-1.0, 1.0),
        7 => {
            if z >= 0.0 {
                1.0
            } else {
                -1.0
            }
        }
        _ => z,
    }
}

#[inline(always)]
fn derivative(code: u8, slope: f32, z: f32) -> f32 {
    match code {
        1 => f32::from(u8::from(z > 0.0)),
        2 => f32::from(u8::from(z >= 0.0)),
        3 => {
            if z > 0.0 {
                1.0
            } else {
                slope
            }
        }
        4 => {
            let s = sigmoid_f32(z);
            s * (1.0 - s)
        }
        5 => {
            let t = tanh_f32(z);
            1.0 - t * t
        }
        6 => f32::from(u8::from(z > -1.0 && z < 1.0)),
        7 => 0.0,
        _ => 1.0,
    }
}

simd_dispatch! {
    /// Elementwise activation: `out[i] = f(pre[i]) · mask[i % width]` (mask optional).
    fn act_rows(pre: &[f32], out: &mut [f32], width: usize, code: u8, slope: f32, mask: Option<&[f32]>) {
        for (zr, orow) in pre.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
            // One branch per row keeps the inner loops free of control flow.
            match code {
                0 => orow.copy_from_slice(zr),
                1 | 2 => orow.iter_mut().zip(zr).for_each(|(o, &z)| *o = z.max(0.0)),
                3 => orow.iter_mut().zip(zr).for_each(|(o, &z)| *o = apply(3, slope, z)),
                4 => orow.iter_mut().zip(zr).for_each(|(o, &z)| *o = sigmoid_f32(z)),
                5 => orow.iter_mut().zip(zr).for_each(|(o, &z)| *o = tanh_f32(z)),
                c => orow.iter_mut().zip(zr).for_each(|(o, &z)| *o = apply(c, slope, z)),
            }
            if let Some(m) = mask {
                orow.iter_mut().zip(m).for_each(|(o, &mv)| *o *= mv);
            }
        }
    }
}

simd_dispatch! {
    /// `grad[i] ← grad[i] · mask · f'(pre[i])`, and `bias_grad[j] += Σ_rows grad[·, j]`.
    fn act_backward_rows(
        pre: &[f32],
        grad: &mut [f32],
        width: usize,
        code: u8,
        slope: f32,
        mask: Option<&[f32]>,
        bias_grad: Option<&mut [f32]>,
    ) {
        for (zr, grow) in pre.chunks_exact(width).zip(grad.chunks_exact_mut(width)) {
            if let Some(m) = mask {
                grow.iter_mut().zip(m).for_each(|(g, &mv)| *g *= mv);
            }
            match code {
                0 => {}
                1 => grow.iter_mut().zip(zr).for_each(|(g, &z)| *g *= derivative(1, slope, z)),
                2 => grow.iter_mut().zip(zr).for_each(|(g, &z)| *g *= derivative(2, slope, z)),
                3 => grow.iter_mut().zip(zr).for_each(|(g, &z)| *g *= derivative(3, slope, z)),
                4 => grow.iter_mut().zip(zr).for_each(|(g, &z)| *g *= derivative(4, slope, z)),
                5 => grow.iter_mut().zip(zr).for_each(|(g, &z)| *g *= derivative(5, slope, z)),
                c => grow.iter_mut().zip(zr).for_each(|(g, &z)| *g *= derivative(c, slope, z)),
            }
        }
        if let Some(bg) = bias_grad {
            for grow in grad.chunks_exact(width) {
                bg.iter_mut().zip(grow).for_each(|(b, &g)| *b += g);
            }
        }
    }
}

/// Forward: `out = f(pre) ⊙ mask` for a row-major `rows × width` block.
pub fn forward(act: Activation, pre: &[f32], out: &mut [f32], width: usize, mask: Option<&[f32]>) {
    let (code, slope) = act.code();
    act_rows(pre, out, width, code, slope, mask);
}

/// Backward through mask and activation in place; accumulates bias gradients when given.
pub fn backward(
    act: Activation,
    pre: &[f32],
    grad: &mut [f32],
    width: usize,
    mask: Option<&[f32]>,
    bias_grad: Option<&mut [f32]>,
) {
    let (code, slope) = act.code();
    act_backward_rows(pre, grad, width, code, slope, mask, bias_grad);
}

/// Scalar reference of f(z) used by tests and by non-batched callers.
pub fn apply_scalar(act: Activation, z: f32) -> f32 {
    let (code, slope) = act.code();
    apply(code, slope, z)
}

/// Scalar reference of f'(z).
pub fn derivative_scalar(act: Activation, z: f32) -> f32 {
    let (code, slope) = act.code();
    derivative(code, slope, z)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Activation; 8] = [
        Activation::Identity,
        Activation::Relu,
        Activation::ModifiedRelu,
        Activation::LeakyRelu(0.1),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Saturation,
        Activation::Sign,
    ];

    #[test]
    fn derivative_matches_finite_differences() {
        for act in ALL {
            for i in -40..40 {
                // Never within h of a kink (0, ±1) or the sign threshold.
                let z = i as f32 * 0.173 + 0.05;
                let h = 1e-3f64;
                let f = |x: f64| f64::from(apply_scalar(act, x as f32));
                let fd = (f(f64::from(z) + h) - f(f64::from(z) - h)) / (2.0 * h);
                let d = f64::from(derivative_scalar(act, z));
                assert!((fd - d).abs() < 2e-3, "{act:?} at {z}: {fd} vs {d}");
            }
        }
        assert_eq!(derivative_scalar(Activation::ModifiedRelu, 0.0), 1.0);
        assert_eq!(derivative_scalar(Activation::Relu, 0.0), 0.0);
    }

    #[test]
    fn batched_kernels_match_scalar_with_mask_and_bias_grad() {
        let width = 37;
        let rows = 5;
        let pre: Vec<f32> = (0..rows * width).map(|i| ((i * 7919) % 97) as f32 / 12.0 - 4.0).collect();
        let mask: Vec<f32> = (0..width).map(|j| if j % 3 == 0 { 0.0 } else { 1.5 }).collect();
        for act in ALL {
            let mut out = vec![0.0; pre.len()];
            forward(act, &pre, &mut out, width, Some(&mask));
            let mut grad = vec![1.0f32; pre.len()];
            let mut bg = vec![0.0f32; width];
            backward(act, &pre, &mut grad, width, Some(&mask), Some(&mut bg));
            for (i, &z) in pre.iter().enumerate() {
                let m = mask[i % width];
                assert!((out[i] - apply_scalar(act, z) * m).abs() < 1e-6);
                assert!((grad[i] - derivative_scalar(act, z) * m).abs() < 1e-6);
            }
            for j in 0..width {
                let s: f32 = (0..rows).map(|r| grad[r * width + j]).sum();
                assert!((bg[j] - s).abs() < 1e-5);
            }
        }
        assert!(Activation::parse("swish", 0.0).is_err());
        assert!(Activation::parse("leaky_relu", f32::NAN).is_err());
    }
}
