"""Shared pieces of the initializations: candidates, norms, scoring, the ``weights=`` mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from neuroplast._arrays import check_int
from neuroplast.errors import ConfigError
from neuroplast.growth._layer import LayerView, layer_view
from neuroplast.morph import coupled_group, widen
from neuroplast.network import Network

__all__ = [
    "CANDIDATES_CONV",
    "CANDIDATES_DENSE",
    "Weights",
    "best_by_score",
    "candidate_count",
    "fan_out",
    "fan_out_norm",
    "mean_row_norm",
    "orthogonality_scores",
    "pad_own_columns",
    "rescale_rows",
    "seeded",
    "weights_mapping",
    "xavier_rows",
]

F64 = npt.NDArray[np.float64]
#: The ``weights=`` mapping of ``widen(method="given")``.
Weights = dict[str, Any]
#: Candidates generated besides the units to add (Sec. 6.3.1): 1000 dense, 100 conv.
CANDIDATES_DENSE = 1000
CANDIDATES_CONV = 100
# Chunk of candidates scored at once ((chunk, M+1, M+1) Gram matrices in memory).
_CHUNK = 64


def seeded(seed: int, name: str) -> np.random.Generator:
    """A generator for ``seed`` in the namespace ``name``.

    Mixing in the initialization's name keeps its draws independent of every other consumer
    of the same seed (``Network.init(spec, seed)`` draws from ``default_rng(seed)`` too, and
    equal seeds would otherwise give new units the exact directions of existing ones).
    """
    s = check_int(seed, "seed", 0, 2**63 - 1)
    return np.random.default_rng([s, *name.encode()])


def candidate_count(view: LayerView, n_new: int, candidates: int | None) -> int:
    """``candidates`` (>= ``n_new``) or the thesis' default: 1000/100 plus ``n_new``."""
    if candidates is None:
        return (CANDIDATES_CONV if view.is_conv else CANDIDATES_DENSE) + n_new
    c = check_int(candidates, "candidates", 1, 2**31 - 1)
    if c < n_new:
        raise ConfigError(f"candidates ({c}) must be at least n_new ({n_new})")
    return c


def xavier_rows(rng: np.random.Generator, view: LayerView, k: int) -> F64:
    """``k`` fan-in rows drawn Xavier-uniform: ``U(±√(6/(fan_in + fan_out)))``."""
    field = view.fan_in // view.kernel_shape[0] if view.is_conv else 1
    fan_out = view.units * field
    bound = np.sqrt(6.0 / (view.fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(k, view.fan_in))


def mean_row_norm(rows: F64) -> float:
    """Mean L2 norm of the rows (1.0 where every row is zero)."""
    m = float(np.mean(np.linalg.norm(rows, axis=1))) if rows.size else 0.0
    return m if m > 0 else 1.0


def rescale_rows(rows: F64, norm: float) -> F64:
    """Each row scaled to L2 norm ``norm`` (all-zero rows stay zero)."""
    n = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.where(n > 0, rows * (norm / np.where(n > 0, n, 1.0)), 0.0)


def fan_out(params: Mapping[str, Any], view: LayerView) -> dict[str, F64]:
    """Per consumer, the fan-out of each unit in ``params``: ``(units, rows_c · cols_per_unit)``.

    ``params`` holds the network's parameters or their gradients.
    """
    out: dict[str, F64] = {}
    for c, cols in view.consumers.items():
        w = np.asarray(params[f"{c}.weight"], dtype=np.float64)
        per_unit = [np.moveaxis(w[:, list(ix)], 1, 0).reshape(1, -1) for ix in cols]
        out[c] = np.concatenate(per_unit)
    return out


def fan_out_norm(net: Network, view: LayerView) -> float:
    """Mean L2 norm of the existing units' fan-out (all consumers together)."""
    parts = list(fan_out(net.params, view).values())
    if not parts:
        return 1.0
    return mean_row_norm(np.concatenate(parts, axis=1))


def orthogonality_scores(existing: F64, cands: F64, eps: float) -> F64:
    """Score of each candidate unit: ``count(σ > ε) + Σσ`` of ``[existing, candidate] / √n``.

    The reference code's candidate score for the Select and Pre initializations: the number of
    singular values above ε (φ_ED's count) with the sum of singular values as a continuous
    tie-breaker. Computed from the ``(M+1) × (M+1)`` Gram matrices (float64) that share the
    existing block, so each candidate costs one symmetric eigenproblem, ``O(K·M³)`` in all
    (independent of ``n``), run on one BLAS thread.

    Args:
        existing: Activations of the existing units, ``(n, M)`` (rows are samples).
        cands: Activations of the candidates, ``(n, K)``.
        eps: ε of eq. 27.
    """
    n = existing.shape[0]
    gram = existing.T @ existing / n
    cross = existing.T @ cands / n
    diag = np.einsum("ij,ij->j", cands, cands) / n
    scores = np.empty(cands.shape[1])
    # Many small eigenproblems: BLAS threads only add contention (10-40x slower measured on two
    # busy cores), and one thread makes the result independent of the machine's thread count.
    with threadpool_limits(limits=1, user_api="blas"):
        _score_chunks(gram, cross, diag, eps, scores)
    return scores


def _score_chunks(gram: F64, cross: F64, diag: F64, eps: float, scores: F64) -> None:
    m = gram.shape[0]
    for lo in range(0, cross.shape[1], _CHUNK):
        hi = min(lo + _CHUNK, cross.shape[1])
        g = np.zeros((hi - lo, m + 1, m + 1))
        g[:, :m, :m] = gram
        g[:, :m, m] = cross[:, lo:hi].T
        g[:, m, :m] = cross[:, lo:hi].T
        g[:, m, m] = diag[lo:hi]
        sv = np.sqrt(np.maximum(np.linalg.eigvalsh(g), 0.0))
        scores[lo:hi] = np.sum(sv > eps, axis=1) + np.sum(sv, axis=1)


def best_by_score(scores: F64, k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` highest scores (ties: lower index first), in rank order."""
    return np.argsort(-scores, kind="stable")[:k]


def weights_mapping(
    view: LayerView,
    incoming: F64 | None,
    bias: F64 | None = None,
    outgoing: dict[str, F64] | None = None,
) -> Weights:
    """The ``weights=`` mapping for ``widen(method="given")`` (float32, stored shapes).

    Args:
        view: The layer.
        incoming: Fan-in rows ``(k, fan_in)`` (flattened kernels for convs), or ``None``.
        bias: New biases ``(k,)`` (only kept when the layer has a bias and it is non-zero).
        outgoing: Per consumer, its new columns in the consumer's stored layout.
    """
    w: Weights = {}
    if incoming is not None:
        k = incoming.shape[0]
        w["incoming"] = incoming.reshape(k, *view.kernel_shape).astype(np.float32)
    if bias is not None and view.bias is not None and np.any(bias):
        w["bias"] = np.asarray(bias, dtype=np.float32)
    if outgoing:
        w["outgoing"] = {c: np.asarray(a, dtype=np.float32) for c, a in outgoing.items()}
    return w


def pad_own_columns(net: Network, layer: str, n_new: int, weights: Weights) -> Weights:
    """Zero fan-in columns for the group's new units where ``layer`` reads its own group.

    A layer can read a producer it is coupled to (``b = f(a)``, ``s = a + b``); widening the
    group then also widens the layer's own fan-in, by columns the new units' rows need.
    """
    view = layer_view(net, layer)
    if layer not in view.consumers or "incoming" not in weights:
        return weights
    dry, _ = widen(net, layer, n_new, "given")
    cols = coupled_group(dry.spec, layer).consumers[layer]
    new = {c for u in range(view.units, view.units + n_new) for c in cols[u]}
    inc = np.asarray(weights["incoming"])
    total = inc.shape[1] + len(new)
    padded = np.zeros((inc.shape[0], total, *inc.shape[2:]), dtype=inc.dtype)
    padded[:, [c for c in range(total) if c not in new]] = inc
    return {**weights, "incoming": padded}
