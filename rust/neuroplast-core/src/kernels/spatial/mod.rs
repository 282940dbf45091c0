//! Spatial kernels on NCHW `f32` blocks: convolution, pooling and batch normalization.
//!
//! A block is `rows` samples, each `channels × height × width` values stored contiguously
//! (row-major), exactly the layout of the engine's per-node buffers. Every backward kernel
//! overwrites parameter gradients and either overwrites or accumulates into the input
//! gradient, as the engine's backward pass requires.

pub mod batchnorm;
pub mod conv;
mod conv_direct;
#[cfg(test)]
mod conv_tests;
pub mod geom;
mod im2col;
mod par;
#[cfg(test)]
mod par_tests;
pub mod pool;
#[cfg(test)]
mod reference;

pub use geom::{Conv2dGeom, Pool2dGeom};
