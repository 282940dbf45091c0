//! Fixed partitions of spatial kernels over the current thread pool.
//!
//! Work is cut into contiguous, near-equal ranges (of samples or channels) that depend only
//! on the sizes and the number of parts, each range is one rayon task, and every reduction
//! stays inside one range in a fixed order, so results depend only on the inputs and the
//! thread count.

use rayon::prelude::*;

/// Threads available to kernels that take no thread count: the installed pool's size when
/// called from inside one (the engine runs multi-threaded work in a pool of exactly its thread
/// count), else 1 — with one thread the engine installs no pool and everything stays inline.
pub(super) fn width() -> usize {
    if rayon::current_thread_index().is_some() {
        rayon::current_num_threads().max(1)
    } else {
        1
    }
}

/// `parts` contiguous near-equal ranges covering `0..n` (`parts` is clamped to `1..=n`).
pub(super) fn ranges(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts).map(|p| (p * n / parts, (p + 1) * n / parts)).collect()
}

/// Splits `buf` into one mutable slice per range, `unit` elements per range item.
pub(super) fn split_mut<'a, T>(buf: &'a mut [T], ranges: &[(usize, usize)], unit: usize) -> Vec<&'a mut [T]> {
    let mut rest = buf;
    let mut out = Vec::with_capacity(ranges.len());
    for &(a, b) in ranges {
        let len = ((b - a) * unit).min(rest.len());
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        out.push(head);
        rest = tail;
    }
    out
}

/// The sample ranges of `rows` samples over the current pool, each with its part of `y`
/// (`unit` values a sample).
pub(super) fn rows_mut<T>(rows: usize, y: &mut [T], unit: usize) -> Vec<((usize, usize), &mut [T])> {
    let r = ranges(rows, width());
    let parts = split_mut(&mut y[..rows * unit], &r, unit);
    r.into_iter().zip(parts).collect()
}

/// Runs one task per item, on the current rayon pool when there is more than one.
pub(super) fn run<T: Send>(items: Vec<T>, f: impl Fn(T) + Sync + Send) {
    if items.len() <= 1 {
        items.into_iter().for_each(f);
    } else {
        items.into_par_iter().for_each(f);
    }
}

/// Concatenates `f(range)` over the ranges, computed in parallel, in range order.
pub(super) fn map_concat<T: Send>(
    ranges: &[(usize, usize)],
    f: impl Fn((usize, usize)) -> Vec<T> + Sync + Send,
) -> Vec<T> {
    let parts: Vec<Vec<T>> = if ranges.len() <= 1 {
        ranges.iter().map(|&r| f(r)).collect()
    } else {
        ranges.par_iter().map(|&r| f(r)).collect()
    };
    parts.into_iter().flatten().collect()
}
