//! x86-64 implementation of the packed SGEMM (see [`super::packed`] for the design):
//! * [`simd`]: vector lanes and the generic register-tile micro-kernel;
//! * [`tiles`]: the concrete AVX-512 / AVX2 (and emulated) kernels and their blocking;
//! * [`pack`]: packing of A and B micro-panels;
//! * [`driver`]: thread partition and the blocked loop nest;
//! * [`small`]: the unpacked kernels for small products (`super::gemm_small`).

mod driver;
mod pack;
mod simd;
pub(crate) mod small;
mod tiles;

pub(crate) use driver::run;
#[cfg(test)]
pub(crate) use tiles::EmuKernel;
pub(crate) use tiles::{Avx2Kernel, Avx512Kernel};
