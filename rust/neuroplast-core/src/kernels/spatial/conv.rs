//! 2-D convolution forward and backward: picks a per-sample kernel and spreads samples over
//! threads.
//!
//! Kernels ([`Path`]): im2col + GEMM ([`super::im2col`], 1×1 unit-stride layers as a plain
//! GEMM) for ordinary layers, direct loops ([`super::conv_direct`]) where each output channel
//! sees 1–3 input channels. The choice depends only on the geometry.
//!
//! Threading: the block's samples are cut into `min(threads, rows)` contiguous, near-equal
//! parts, one rayon task each (inline for one part). Each part accumulates its weight and bias
//! gradients over its samples in order, into its own buffer; the parts are then summed in part
//! order. So results depend only on the inputs and `threads`. A block of one sample is one
//! part, which hands all threads to its GEMMs instead (the direct kernels stay sequential).

use super::geom::Conv2dGeom;
use super::{conv_direct, im2col, par};
use std::cell::Cell;

/// Per-sample kernel family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Gemm,
    Direct,
}

fn path(g: &Conv2dGeom) -> Path {
    if conv_direct::applies(g) {
        Path::Direct
    } else {
        Path::Gemm
    }
}

fn scratch_len(g: &Conv2dGeom, p: Path, backward: bool) -> usize {
    match p {
        Path::Gemm => im2col::scratch_len(g, backward),
        Path::Direct => conv_direct::scratch_len(g, backward),
    }
}

thread_local! {
    /// Reused scratch of the calling thread (rayon workers persist, so steady-state calls do
    /// not allocate). Taken out while in use: a nested call on the same thread finds it empty
    /// and allocates its own instead of aliasing.
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` with a scratch slice of `len` floats (contents unspecified).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = SCRATCH.with(Cell::take);
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let r = f(&mut buf[..len]);
    SCRATCH.with(|s| s.set(buf));
    r
}

/// `y = conv(x, weight) + bias` for a block of `rows` samples.
pub fn conv2d_forward(
    g: &Conv2dGeom,
    x: &[f32],
    rows: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    threads: usize,
) {
    let (il, ol) = (g.in_len(), g.out_len());
    let p = path(g);
    let np = threads.clamp(1, rows.max(1));
    let gemm_threads = if np == 1 { threads.max(1) } else { 1 };
    let mut items = Vec::with_capacity(np);
    let mut rest = &mut y[..rows * ol];
    for (a, b) in par::ranges(rows, np) {
        let (head, tail) = rest.split_at_mut((b - a) * ol);
        items.push((&x[a * il..b * il], head));
        rest = tail;
    }
    par::run(items, |(xs, ys)| {
        with_scratch(scratch_len(g, p, false), |scratch| {
            for (xs, ys) in xs.chunks_exact(il).zip(ys.chunks_exact_mut(ol)) {
                match p {
                    Path::Gemm => im2col::forward(g, xs, weight, bias, ys, scratch, gemm_threads),
                    Path::Direct => conv_direct::forward(g, xs, weight, bias, ys, scratch),
                }
            }
        });
    });
}

/// One part's share of the backward pass.
struct Part<'a> {
    x: &'a [f32],
    dy: &'a [f32],
    dx: Option<&'a mut [f32]>,
    dw: &'a mut [f32],
    db: &'a mut [f32],
}

/// Gradients of [`conv2d_forward`]: overwrites `dweight` and `dbias`; writes (or, with
/// `accumulate`, adds) the input gradient into `dx` when given.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    g: &Conv2dGeom,
    x: &[f32],
    rows: usize,
    weight: &[f32],
    dy: &[f32],
    dweight: &mut [f32],
    dbias: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    accumulate: bool,
    threads: usize,
) {
    let (il, ol, wl, opix) = (g.in_len(), g.out_len(), g.weight_len(), g.oh * g.ow);
    let p = path(g);
    let np = threads.clamp(1, rows.max(1));
    let gemm_threads = if np == 1 { threads.max(1) } else { 1 };
    // Part 0 accumulates straight into `dweight`; the others into `extra`, summed afterwards.
    let mut extra = vec![0.0f32; (np - 1) * wl];
    let mut dbs = vec![0.0f32; np * g.c_out];
    dweight[..wl].fill(0.0);
    let mut items = Vec::with_capacity(np);
    {
        let mut dws = std::iter::once(&mut dweight[..wl]).chain(extra.chunks_exact_mut(wl));
        let mut dbp = dbs.chunks_exact_mut(g.c_out);
        let mut dx_rest = dx.map(|d| &mut d[..rows * il]);
        for (a, b) in par::ranges(rows, np) {
            let dxp = match dx_rest.take() {
                Some(d) => {
                    let (head, tail) = d.split_at_mut((b - a) * il);
                    dx_rest = Some(tail);
                    Some(head)
                }
                None => None,
            };
            let (Some(dw), Some(db)) = (dws.next(), dbp.next()) else { break };
            items.push(Part { x: &x[a * il..b * il], dy: &dy[a * ol..b * ol], dx: dxp, dw, db });
        }
    }
    par::run(items, |part| {
        let Part { x, dy, mut dx, dw, db } = part;
        for dys in dy.chunks_exact(ol) {
            for (d, plane) in db.iter_mut().zip(dys.chunks_exact(opix)) {
                *d += plane_sum(plane);
            }
        }
        with_scratch(scratch_len(g, p, true), |scratch| {
            for (n, (xs, dys)) in x.chunks_exact(il).zip(dy.chunks_exact(ol)).enumerate() {
                let dxs = dx.as_deref_mut().map(|d| &mut d[n * il..(n + 1) * il]);
                match p {
                    Path::Gemm => {
                        im2col::backward(g, xs, weight, dys, dw, dxs, accumulate, scratch, gemm_threads)
                    }
                    Path::Direct => conv_direct::backward(g, xs, weight, dys, dw, dxs, accumulate, scratch),
                }
            }
        });
    });
    for part in extra.chunks_exact(wl) {
        dweight[..wl].iter_mut().zip(part).for_each(|(d, &v)| *d += v);
    }
    if let Some(db) = dbias {
        db[..g.c_out].fill(0.0);
        for part in dbs.chunks_exact(g.c_out) {
            db.iter_mut().zip(part).for_each(|(d, &v)| *d += v);
        }
    }
}

/// Sum of one plane in 8 interleaved partial sums (vectorizable; fixed order).
fn plane_sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let full = v.len() - v.len() % 8;
    for c in v[..full].chunks_exact(8) {
        for j in 0..8 {
            acc[j] += c[j];
        }
    }
    acc.iter().sum::<f32>() + v[full..].iter().sum::<f32>()
}
