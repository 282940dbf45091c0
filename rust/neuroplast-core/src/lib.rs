//! neuroplast-core: the numerical core of neuroplast (no Python dependencies).
//!
//! Areas: [`engine`] (compiled network graphs, training and inference), [`kernels`] (GEMM,
//! activations, losses, optimizer updates), [`group`] (point groups, kernel expansion and relaxation of
//! equivariant layers), [`rng`] (explicit seeded randomness) and
//! [`parallel`] (explicitly sized thread pools). All APIs take row-major `&[f32]` with
//! explicit dimensions and report failures through [`error::Error`].

pub mod engine;
pub mod error;
pub mod group;
pub mod kernels;
pub mod limits;
pub mod linalg;
pub mod lp;
pub mod metrics;
pub mod parallel;
pub mod rng;

pub use error::{Error, Result};
