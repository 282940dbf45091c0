//! Row-major GEMM on slices, delegated to faer (runtime AVX-512/AVX2 dispatch).

use faer::linalg::matmul::matmul;
use faer::mat::{MatMut, MatRef};
use faer::{Accum, Par};

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trans {
    /// Use the matrix as stored.
    No,
    /// Use its transpose.
    Yes,
}

/// Shape of a row-major matrix stored in a slice.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub rows: usize,
    pub cols: usize,
}

fn view(data: &[f32], dims: Dims, t: Trans) -> MatRef<'_, f32> {
    let m = MatRef::from_row_major_slice(data, dims.rows, dims.cols);
    match t {
        Trans::No => m,
        Trans::Yes => m.transpose(),
    }
}

/// `c = op(a) · op(b)` (or `c += ...` when `accumulate`), all row-major.
///
/// `a_dims`/`b_dims` are the stored shapes; `c` must be `rows(op(a)) × cols(op(b))`.
/// Callers guarantee consistent shapes (checked in debug builds).
pub fn gemm(
    a: &[f32],
    a_dims: Dims,
    ta: Trans,
    b: &[f32],
    b_dims: Dims,
    tb: Trans,
    c: &mut [f32],
    accumulate: bool,
    threads: usize,
) {
    let av = view(a, a_dims, ta);
    let bv = view(b, b_dims, tb);
    debug_assert_eq!(av.ncols(), bv.nrows());
    let (m, n) = (av.nrows(), bv.ncols());
    debug_assert_eq!(c.len(), m * n);
    let cv = MatMut::from_row_major_slice_mut(c, m, n);
    let beta = if accumulate { Accum::Add } else { Accum::Replace };
    let par = if threads <= 1 || m * n * av.ncols() < 64 * 64 * 64 { Par::Seq } else { Par::rayon(threads) };
    matmul(cv, beta, av, bv, 1.0f32, par);
}
