//! Thread partition and driver: splits C into exactly `threads` rectangles of micro-tiles,
//! and runs the blocked loop nest (L2 blocks of A → k blocks → B panels → micro-kernel) of
//! each rectangle as one rayon task.

use super::pack::Operand;
use super::tiles::{Kernel, MAX_TILE};
use crate::kernels::gemm::packed::{k_block_len, Problem};
use rayon::prelude::*;
use std::cell::Cell;

/// Raw view of C shared by the compute tasks.
#[derive(Clone, Copy)]
struct CPtr {
    ptr: *mut f32,
}
// SAFETY: the tasks that share a `CPtr` write pairwise-disjoint rectangles of C (see
// `split`/`part`), and the owning `&mut [f32]` stays borrowed for the whole parallel
// section.
unsafe impl Send for CPtr {}
// SAFETY: as above; no element is accessed by two tasks.
unsafe impl Sync for CPtr {}

/// Splits `count` items into `parts` contiguous near-equal ranges; returns range `i`.
fn part(count: usize, parts: usize, i: usize) -> (usize, usize) {
    let base = count / parts;
    let extra = count % parts;
    let start = i * base + i.min(extra);
    (start, start + base + usize::from(i < extra))
}

/// Packing cost of one float, in flops of micro-kernel time (about one cycle).
const PACK_FLOPS: usize = 32;

/// Row panels per L2 block of packed A for kernel `K` and k block length `kc_max`.
fn block_panels<K: Kernel>(kc_max: usize) -> usize {
    (K::BLOCK_BYTES / (4 * K::MR * kc_max)).max(1)
}

/// Chooses a `(row_parts, col_parts)` grid of exactly `threads` tasks over the
/// `mp × np` panel grid, minimizing the modelled time of the largest task (micro-kernel
/// flops plus packing: its A rows once, its B columns once per A block); ties go to
/// fewer row cuts. Depends only on the shapes and `threads`; `(1, 1)` when no grid fits.
fn split<K: Kernel>(mp: usize, np: usize, kc_max: usize, threads: usize) -> (usize, usize) {
    let per_block = block_panels::<K>(kc_max);
    let mut best = (1, 1);
    let mut best_cost = usize::MAX;
    for tr in 1..=threads {
        let tc = threads / tr;
        if tr * tc != threads || tr > mp || tc > np {
            continue;
        }
        let (rp, cp) = (mp.div_ceil(tr), np.div_ceil(tc));
        let (rows, cols) = (rp * K::MR, cp * K::NR);
        let cost = 2 * rows * cols + PACK_FLOPS * (rows + cols * rp.div_ceil(per_block));
        if cost < best_cost {
            best_cost = cost;
            best = (tr, tc);
        }
    }
    best
}

thread_local! {
    /// Packing buffer reused across calls by each thread (taken out while in use, so a
    /// nested use just allocates a fresh one).
    static PACK_BUF: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Validated problem plus everything the tasks share.
struct Ctx<'a> {
    a: Operand<'a>,
    b: Operand<'a>,
    m: usize,
    n: usize,
    k: usize,
    kc_max: usize,
    accumulate: bool,
    avx2: bool,
    c: CPtr,
}

/// Computes `c = op(a) · op(b)` (or `c += ...`) for the validated problem `pr` with kernel
/// `K`, as exactly `threads` rayon tasks (one task when no such grid of tiles fits, see
/// `split`). The caller has checked that the CPU supports `K`'s features.
pub(crate) fn run<K: Kernel>(
    pr: &Problem,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
    threads: usize,
) {
    let (m, n, k) = (pr.m, pr.n, pr.k);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let mp = m.div_ceil(K::MR);
    let np = n.div_ceil(K::NR);
    let ctx = Ctx {
        a: Operand { src: a, len: m, s_r: pr.a_rs, s_p: pr.a_cs },
        b: Operand { src: b, len: n, s_r: pr.b_cs, s_p: pr.b_rs },
        m,
        n,
        k,
        kc_max: k_block_len(k),
        accumulate,
        avx2: std::arch::is_x86_feature_detected!("avx2"),
        c: CPtr { ptr: c.as_mut_ptr() },
    };
    let (tr, tc) = split::<K>(mp, np, ctx.kc_max, threads.max(1));
    let task = |t: usize| {
        let (ip0, ip1) = part(mp, tr, t / tc);
        let (jp0, jp1) = part(np, tc, t % tc);
        compute_task::<K>(&ctx, ip0, ip1, jp0, jp1);
    };
    if tr * tc > 1 {
        (0..tr * tc).into_par_iter().for_each(task);
    } else {
        task(0);
    }
}

/// Computes the C rectangle made of row panels `ip0..ip1` and column panels `jp0..jp1`.
///
/// Loop nest: blocks of A row panels sized to stay in L2 (`K::BLOCK_BYTES`, near-equal
/// split) → k blocks (pack the A block) → column panels (pack one B panel, kept in L1)
/// → row panels of the block (micro-kernel).
fn compute_task<K: Kernel>(ctx: &Ctx<'_>, ip0: usize, ip1: usize, jp0: usize, jp1: usize) {
    let (mr, nr, kc_max) = (K::MR, K::NR, ctx.kc_max);
    let per_block = block_panels::<K>(kc_max);
    let n_blocks = (ip1 - ip0).div_ceil(per_block);
    let block_cap = (ip1 - ip0).div_ceil(n_blocks.max(1)) * mr * kc_max;
    let need = block_cap + nr * kc_max;

    let mut buf = PACK_BUF.with(Cell::take);
    if buf.len() < need {
        buf.resize(need, 0.0);
    }
    let (abuf, rest) = buf.split_at_mut(block_cap);
    let bbuf = &mut rest[..nr * kc_max];
    let mut scratch = [0f32; MAX_TILE];

    for bi in 0..n_blocks {
        let (r0, r1) = part(ip1 - ip0, n_blocks, bi);
        let (ib0, ib1) = (ip0 + r0, ip0 + r1);
        let mut k0 = 0;
        while k0 < ctx.k {
            let kc = (ctx.k - k0).min(kc_max);
            let add = ctx.accumulate || k0 > 0;
            for (ip, dst) in (ib0..ib1).zip(abuf.chunks_exact_mut(mr * kc)) {
                K::pack_a(dst, &ctx.a, ip * mr, k0, kc, ctx.avx2);
            }
            for jp in jp0..jp1 {
                let bpan = &mut bbuf[..nr * kc];
                K::pack_b(bpan, &ctx.b, jp * nr, k0, kc, ctx.avx2);
                let bpan = &*bpan;
                for (ip, apan) in (ib0..ib1).zip(abuf.chunks_exact(mr * kc)) {
                    tile::<K>(ctx, kc, apan, bpan, ip, jp, add, &mut scratch);
                }
            }
            k0 += kc;
        }
    }
    PACK_BUF.with(|cell| cell.set(buf));
}

/// Runs the micro-kernel for tile `(ip, jp)` over one k block: `apan` holds `MR × kc`
/// packed floats, `bpan` `kc × NR`. Edge tiles go through `scratch`.
#[inline(always)]
fn tile<K: Kernel>(
    ctx: &Ctx<'_>,
    kc: usize,
    apan: &[f32],
    bpan: &[f32],
    ip: usize,
    jp: usize,
    add: bool,
    scratch: &mut [f32; MAX_TILE],
) {
    let (mr, nr, n) = (K::MR, K::NR, ctx.n);
    let apan = &apan[..mr * kc];
    let bpan = &bpan[..nr * kc];
    let (i0, j0) = (ip * mr, jp * nr);
    let rows = (ctx.m - i0).min(mr);
    let cols = (n - j0).min(nr);
    if rows == mr && cols == nr {
        // SAFETY: the panels hold `mr * kc` / `kc * nr` floats (sliced above); the full
        // `mr × nr` tile at (i0, j0) lies inside the m × n matrix C, which has exactly
        // m * n elements (checked in `Problem::new`), and the calling task is the only
        // one touching it (disjoint partition from `split`/`part`). The dispatcher
        // checked the CPU features.
        unsafe { K::tile(kc, apan.as_ptr(), bpan.as_ptr(), ctx.c.ptr.add(i0 * n + j0), n, add) };
    } else {
        debug_assert!(mr * nr <= MAX_TILE);
        // SAFETY: same panels; `scratch` holds `MAX_TILE >= mr * nr` floats, written with
        // row stride `nr`.
        unsafe { K::tile(kc, apan.as_ptr(), bpan.as_ptr(), scratch.as_mut_ptr(), nr, false) };
        for r in 0..rows {
            let src = &scratch[r * nr..r * nr + cols];
            // SAFETY: row i0 + r < m and columns j0..j0 + cols <= n lie inside C, and
            // only the calling task touches them (see above).
            let dst = unsafe { core::slice::from_raw_parts_mut(ctx.c.ptr.add((i0 + r) * n + j0), cols) };
            if add {
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            } else {
                dst.copy_from_slice(src);
            }
        }
    }
}
