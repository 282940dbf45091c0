//! Compute kernels: GEMM, activations, losses and optimizer updates.

pub mod activation;
pub mod gemm;
pub mod loss;
pub mod mixed;
pub mod optim;
pub mod simd;
pub mod spatial;
