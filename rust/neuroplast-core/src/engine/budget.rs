//! Memory estimates of engine calls, checked against [`crate::limits`] before allocating.

use super::graph::{Graph, NodeKind};
use crate::limits::{bytes_of, total};

/// Bytes of workspace one inference block may use; blocks shrink below [`INFER_ROWS`] rows
/// only for networks whose nodes are so large that a full block would exceed it.
pub const INFER_BYTES: u64 = 256 << 20;

/// Rows per inference block for ordinary networks.
pub const INFER_ROWS: usize = 1024;

/// Bytes per row of a workspace: node outputs and pre-activations (and gradients when
/// training), max-pool winners.
fn per_row(graph: &Graph, train: bool) -> u64 {
    let copies = if train { 3 } else { 2 };
    let nodes = graph.nodes.iter().skip(1).map(|n| {
        let pool = if matches!(n.kind, NodeKind::MaxPool(_)) { bytes_of(n.width, 4) } else { 0 };
        bytes_of(n.width, 4).saturating_mul(copies).saturating_add(pool)
    });
    total(&nodes.collect::<Vec<_>>())
}

/// Per-thread scratch of the convolutions (im2col columns, padded planes, weight-gradient
/// partials), an upper bound of what `kernels::spatial::conv` takes.
fn conv_scratch(graph: &Graph, threads: usize) -> u64 {
    let per_thread = graph.nodes.iter().filter_map(|n| match n.kind {
        NodeKind::Conv2d { ref geom, .. } => {
            let (hp, wp) = (geom.h + 2 * geom.pad.0 + geom.kh, geom.w + 2 * geom.pad.1 + geom.kw);
            let planes = geom.c_in.saturating_mul(hp).saturating_mul(wp);
            let cols = geom.group_in().saturating_mul(geom.kh * geom.kw).saturating_mul(geom.oh * geom.ow);
            let grads = geom.weight_len().saturating_add(geom.c_out);
            Some(bytes_of(planes.saturating_add(cols.saturating_mul(2)).saturating_add(grads), 4))
        }
        _ => None,
    });
    per_thread.max().unwrap_or(0).saturating_mul(threads.max(1) as u64)
}

/// Bytes of a [`Workspace`](super::pass::Workspace) for blocks of `rows` rows, with the
/// convolution scratch of `threads` threads.
pub fn working_set(graph: &Graph, rows: usize, train: bool, threads: usize) -> u64 {
    per_row(graph, train).saturating_mul(rows as u64).saturating_add(conv_scratch(graph, threads))
}

/// Rows per inference block: [`INFER_ROWS`], fewer if a block would need more than
/// [`INFER_BYTES`] (at least one), never more than `n`.
pub fn infer_rows(graph: &Graph, n: usize) -> usize {
    let per = per_row(graph, false).max(1);
    let fit = usize::try_from(INFER_BYTES / per).unwrap_or(usize::MAX).max(1);
    INFER_ROWS.min(fit).min(n.max(1))
}

/// Bytes of one copy of all parameters (or gradients).
pub fn params_bytes(graph: &Graph) -> u64 {
    total(&graph.params.iter().map(|p| bytes_of(p.len(), 4)).collect::<Vec<_>>())
}
