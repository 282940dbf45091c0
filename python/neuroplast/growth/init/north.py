"""The NORTH* initializations (Maile 2023, Sec. 6.2.2): new units with zero fan-out.

Every function returns the ``weights=`` mapping of ``widen(method="given")`` for ``n_new``
units of ``layer``: fan-in rows only (zero fan-out, so the network function is preserved for
any activation), bias 0, each fan-in row rescaled to the mean L2 norm of the layer's existing
fan-in rows ("we rescale all new neurons to match the weight norm of existing neurons"). The
base initialization is Xavier-uniform. Conv layers: channels are units and every pixel of
every sample is a sample of a unit (Sec. 6.2.3).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neuroplast import metrics
from neuroplast.errors import ConfigError
from neuroplast.growth._layer import LayerView, check_n_new, inputs_and_units, layer_view
from neuroplast.growth.init._common import (
    Weights,
    best_by_score,
    candidate_count,
    mean_row_norm,
    orthogonality_scores,
    rescale_rows,
    seeded,
    weights_mapping,
    xavier_rows,
)
from neuroplast.network import Network

__all__ = ["north_pre", "north_random", "north_select", "north_weight"]

F64 = npt.NDArray[np.float64]


def _setup(
    net: Network, layer: str, n_new: int, seed: int, name: str
) -> tuple[LayerView, int, np.random.Generator]:
    view = layer_view(net, layer)
    return view, check_n_new(n_new), seeded(seed, name)


def _random_rows(view: LayerView, k: int, rng: np.random.Generator) -> F64:
    return rescale_rows(xavier_rows(rng, view, k), mean_row_norm(view.weight))


def north_random(
    net: Network,
    layer: str,
    n_new: int,
    *,
    X: npt.ArrayLike | None = None,
    y: npt.ArrayLike | None = None,
    seed: int = 0,
    candidates: int | None = None,
) -> Weights:
    """NORTH-Random (RandomInit): random fan-in rows, zero fan-out, no selection.

    ``X``, ``y`` and ``candidates`` are accepted for the common signature and unused.

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(5, [3], 2), seed=0)
        >>> north_random(net, "dense_0", 2, seed=1)["incoming"].shape
        (2, 5)
    """
    view, k, rng = _setup(net, layer, n_new, seed, "north_random")
    return weights_mapping(view, _random_rows(view, k, rng))


def _select(view: LayerView, h_prev: F64, existing: F64, rows: F64, k: int, eps: float) -> F64:
    """The ``k`` candidate rows whose activations score best next to ``existing``."""
    cand = view.act(h_prev @ rows.T)
    return rows[best_by_score(orthogonality_scores(existing, cand, eps), k)]


def north_select(
    net: Network,
    layer: str,
    n_new: int,
    *,
    X: npt.ArrayLike,
    y: npt.ArrayLike | None = None,
    seed: int = 0,
    candidates: int | None = None,
    eps: float = metrics.EPS_ED,
) -> Weights:
    """NORTH-Select: the best of random candidates by the orthogonality score.

    Draws ``candidates`` random fan-in rows (default 1000 dense / 100 conv plus ``n_new``),
    computes each candidate's post-activations on ``X`` (bias 0), and keeps the ``n_new``
    candidates that independently maximize ``count(σ > ε) + Σσ`` of the singular values of
    ``[H_l, h_candidate] / √n`` (φ_ED's count with the sum as a continuous tie-breaker, as the
    reference code scores them).

    Args:
        net: The network (not modified).
        layer: A dense or conv layer.
        n_new: Units to add (>= 1).
        X: Inputs the activations are computed on (the activation buffer).
        y: Unused (common signature).
        seed: Seed of the candidates.
        candidates: Number of candidates (>= ``n_new``).
        eps: ε of eq. 27.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(5, [3], 2), seed=0)
        >>> X = np.random.default_rng(0).normal(size=(20, 5))
        >>> north_select(net, "dense_0", 2, X=X, candidates=10)["incoming"].shape
        (2, 5)
    """
    view, k, rng = _setup(net, layer, n_new, seed, "north_select")
    n_cand = candidate_count(view, k, candidates)
    rows = _random_rows(view, n_cand, rng)
    h_prev, _, existing = inputs_and_units(net, view, X)
    return weights_mapping(view, _select(view, h_prev, existing, rows, k, eps))


def _orthogonal_preactivations(
    h_prev: F64, z: F64, eps: float, k: int, rng: np.random.Generator
) -> F64:
    """``k`` rows ``w`` with ``H w`` random in ``col(H) ∩ col(Z)^⊥`` (``w = H⁺ t``)."""
    uh, sh, vth = np.linalg.svd(h_prev, full_matrices=False)
    keep = sh > sh[0] * 1e-10
    uh, sh, vth = uh[:, keep], sh[keep], vth[keep]
    uz, sz, _ = np.linalg.svd(z / np.sqrt(z.shape[0]), full_matrices=False)
    qz = uz[:, sz > eps]
    _, sc, rt = np.linalg.svd(qz.T @ uh)  # row space of the overlap, in col(H) coordinates
    overlap = rt[: int(np.sum(sc > 1e-8))]
    c = rng.standard_normal((uh.shape[1], k))
    c -= overlap.T @ (overlap @ c)
    rows: F64 = (vth.T @ (c / sh[:, None])).T
    return rows


def north_pre(
    net: Network,
    layer: str,
    n_new: int,
    *,
    X: npt.ArrayLike,
    y: npt.ArrayLike | None = None,
    seed: int = 0,
    candidates: int | None = None,
    eps: float = metrics.EPS_ED,
) -> Weights:
    """NORTH-Pre (eq. 33): candidates whose pre-activations are orthogonal to the existing ones.

    Eq. 33 as typed (erratum: the printed transpose does not typecheck)::

        w = (H_{l-1}ᵀ)⁺ V_⊥ a,   a ~ N(0, I)

    with ``V_⊥`` an orthonormal basis of the complement (in sample space) of the existing
    pre-activations ``Z_l`` (ε-rank of ``Z_l/√n`` as in eq. 27). The bias stays 0 (Sec.
    6.3.1: "the bias is initially set to 0"), so the new pre-activation ``H_{l-1}ᵀ w`` must lie
    in the span of the inputs; ``V_⊥ a`` is therefore drawn isotropically from
    ``col(H_{l-1}ᵀ) ∩ col(Z_l)^⊥`` (the whole of ``V_⊥``'s reachable part), so every new
    pre-activation is exactly orthogonal to every existing one, also when the existing biases
    are non-zero. Candidates are rescaled like all NORTH* rows and the best ``n_new`` kept by
    the NORTH-Select score. Where that intersection is empty (zero rows) a random row is used.

    Raises:
        ConfigError: ``layer`` is a convolution (no closed form; the thesis uses NORTH-Pre for
            MLPs only).
    """
    view, k, rng = _setup(net, layer, n_new, seed, "north_pre")
    if view.is_conv:
        raise ConfigError(f"NORTH-Pre is defined for dense layers only; {layer!r} is a conv")
    n_cand = candidate_count(view, k, candidates)
    h_prev, z, existing = inputs_and_units(net, view, X)
    rows = _orthogonal_preactivations(h_prev, z, eps, n_cand, rng)
    norms = np.linalg.norm(rows, axis=1)
    scale = float(np.max(norms, initial=0.0))
    dead = norms <= 1e-9 * max(scale, 1e-300)
    if np.any(dead):
        rows[dead] = xavier_rows(rng, view, int(np.sum(dead)))
    rows = rescale_rows(rows, mean_row_norm(view.weight))
    return weights_mapping(view, _select(view, h_prev, existing, rows, k, eps))


def north_weight(
    net: Network,
    layer: str,
    n_new: int,
    *,
    X: npt.ArrayLike | None = None,
    y: npt.ArrayLike | None = None,
    seed: int = 0,
    candidates: int | None = None,
    eps: float = metrics.EPS_ED,
) -> Weights:
    """NORTH-Weight (eq. 34): random fan-in rows projected onto the kernel of ``W_l``.

    ``w = proj_{ker W_l}(w_i)``: each Xavier row minus its projection onto the layer's
    (ε-numerical) row space, from the right singular vectors of ``W_l/√cols`` above ε, the
    scaling of the weight trigger (eq. 30, ``cols`` = fan-in plus one with a bias). With bias 0
    the row ``(w, 0)`` lies in the kernel of ``[W_l | b_l]`` as eq. 34 asks. The kernel is
    non-trivial only while ``M_l < fan_in``; as in the reference code there is no projection
    otherwise (plain random rows). Rows are rescaled afterwards. ``X``, ``y``, ``candidates``
    are unused (common signature).
    """
    view, k, rng = _setup(net, layer, n_new, seed, "north_weight")
    rows = xavier_rows(rng, view, k)
    w = view.weight
    if view.units < view.fan_in:
        cols = view.fan_in + (0 if view.bias is None else 1)
        _, s, vt = np.linalg.svd(w / np.sqrt(cols), full_matrices=False)
        basis = vt[s > eps]
        rows = rows - (rows @ basis.T) @ basis
    return weights_mapping(view, rescale_rows(rows, mean_row_norm(w)))
