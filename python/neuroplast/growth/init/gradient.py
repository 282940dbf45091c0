"""Gradient-based growth (Maile 2023, Sec. 6.2.2): GradMax, Firefly, NeST, and T_grad's input.

GradMax, NeST (dense) and the gradient trigger read the *auxiliary gradient*
``G = ∂L/∂Z_{l+1} · H_{l-1}ᵀ``: the gradient of the loss with respect to zero-weighted
bridging connections from the layer's inputs to its consumers' pre-activations (``L`` is the
mean loss over the batch). For a new unit with zero fan-in and fan-out ``v``, the fan-in
gradient is ``σ'(0)·vᵀG``; GradMax's fan-out maximizes its norm. For a convolution feeding a
convolution, ``G`` has one row per consumer channel and kernel offset,
``(C_{l+1}·kh·kw) × (C_{l-1}·kh'·kw' + 1)``, summed over pixels and samples
(see :mod:`neuroplast.growth.init._aux` for how it is computed for any wiring).

Scope: GradMax and the gradient trigger work for dense and conv layers with any consumers
(through pooling, flatten, batch norm, residual coupling), as long as the layer's activation
has ``σ(0) = 0`` where the consumers do not read it directly (else :class:`ConfigError`).
Firefly scores its candidates with one engine gradient, for any layer. NeST uses the
auxiliary gradient for dense layers and, as the thesis does, loss-ranked random candidates
for convolutions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError
from neuroplast.growth._layer import LayerView, check_n_new, layer_view
from neuroplast.growth.init._aux import (
    Block,
    auxiliary_gradient,
    fan_out_blocks,
    split_outgoing,
    unit_fan_out,
)
from neuroplast.growth.init._common import (
    Weights,
    best_by_score,
    candidate_count,
    fan_out,
    fan_out_norm,
    mean_row_norm,
    pad_own_columns,
    rescale_rows,
    seeded,
    weights_mapping,
    xavier_rows,
)
from neuroplast.growth.triggers import GradientMeasurement
from neuroplast.morph import coupled_group, widen
from neuroplast.network import Network

__all__ = [
    "EPS_FIREFLY",
    "NEST_QUANTILE",
    "firefly",
    "gradmax",
    "measure_gradient",
    "nest",
]

F64 = npt.NDArray[np.float64]
#: Firefly's ε: split noise and new fan-out are ε × the existing weight norm (Sec. 6.3.1).
EPS_FIREFLY = 1e-4
#: NeST keeps the auxiliary-gradient entries in this top quantile (Sec. 6.2.2).
NEST_QUANTILE = 0.4


def _need(X: npt.ArrayLike | None, y: npt.ArrayLike | None, what: str) -> None:
    if X is None or y is None:
        raise ConfigError(f"{what} needs inputs X and labels y (it reads loss gradients)")


def measure_gradient(
    net: Network, layer: str, X: npt.ArrayLike, y: npt.ArrayLike
) -> GradientMeasurement:
    """What :class:`~neuroplast.growth.GradientTrigger` (eq. 32) needs, on one batch.

    The singular values and left singular vectors of the auxiliary gradient, and
    ``Σ_m (‖∂L/∂w_m^in‖ + ‖∂L/∂w_m^out‖)`` over the layer's units (fan-in including the
    bias, fan-out over every consumer), all from the mean loss on ``(X, y)``.
    """
    aux = auxiliary_gradient(net, layer, X, y)
    u, s, _ = np.linalg.svd(aux.matrix, full_matrices=False)
    view = layer_view(net, layer)
    _, grads = net.gradients(X, y)
    g_in = np.asarray(grads[f"{layer}.weight"], dtype=np.float64).reshape(view.units, -1)
    if view.bias is not None:
        g_in = np.hstack([g_in, np.asarray(grads[f"{layer}.bias"], np.float64)[:, None]])
    g_out = np.hstack(list(fan_out(grads, view).values()))
    total = float(np.sum(np.linalg.norm(g_in, axis=1)) + np.sum(np.linalg.norm(g_out, axis=1)))
    return GradientMeasurement(s, total, u)


def gradmax(
    net: Network,
    layer: str,
    n_new: int,
    *,
    X: npt.ArrayLike | None = None,
    y: npt.ArrayLike | None = None,
    seed: int = 0,
    candidates: int | None = None,
) -> Weights:
    """GradMax: zero fan-in and bias, fan-out = top left singular vectors of ``G``.

    The fan-out of the ``i``-th new unit is the ``i``-th left singular vector of the auxiliary
    gradient (the direction that maximizes the new fan-in's gradient norm, Evci et al. 2022),
    with its sign fixed so that its largest entry is positive, scaled to the mean fan-out norm
    of the existing units. At most ``rank`` directions exist (at most ``M_{l+1}`` for dense
    consumers); units beyond that get random fan-out directions of the same norm (the
    gradient trigger never asks for more). The function is preserved when the layer's
    activation has ``σ(0) = 0`` (relu, modified relu, tanh, identity, ...); the fan-in only
    receives a gradient when ``σ'(0) ≠ 0``, hence the thesis' modified ReLU. ``candidates``
    is unused.

    Raises:
        ConfigError: ``X``/``y`` missing, or consumers that do not read the layer directly.
    """
    _need(X, y, "GradMax")
    assert X is not None and y is not None
    k = check_n_new(n_new)
    rng = seeded(seed, "gradmax")
    view = layer_view(net, layer)
    aux = auxiliary_gradient(net, layer, X, y)
    u, s, _ = np.linalg.svd(aux.matrix, full_matrices=False)
    u = u[:, : int(np.sum(s > s[0] * 1e-12))] if s.size and s[0] > 0 else u[:, :0]
    cols = u[:, :k].copy()
    if cols.shape[1] < k:
        extra = rng.standard_normal((aux.matrix.shape[0], k - cols.shape[1]))
        cols = np.hstack([cols, extra])
    idx = np.argmax(np.abs(cols), axis=0)
    cols *= np.where(cols[idx, np.arange(k)] < 0, -1.0, 1.0)
    cols = rescale_rows(cols.T, fan_out_norm(net, view)).T
    return weights_mapping(view, None, None, split_outgoing(aux.blocks, cols))


def firefly(
    net: Network,
    layer: str,
    n_new: int,
    *,
    X: npt.ArrayLike | None = None,
    y: npt.ArrayLike | None = None,
    seed: int = 0,
    candidates: int | None = None,
    eps: float = EPS_FIREFLY,
) -> Weights:
    """Firefly (adapted, Sec. 6.2.2): the candidates with the largest gradient norm.

    Half of the candidates (at most one per existing unit; none where the layer feeds a batch
    norm or is coupled by a residual addition) split an existing unit ``m``: the
    new copy gets fan-in ``w_m − u``, bias ``b_m`` and fan-out ``v_m/2``, and unit ``m`` itself
    gets ``w_m + u`` and ``v_m/2`` (``u`` uniform noise of norm ``ε·`` the mean fan-in norm).
    The others are new units with a random fan-in (rescaled to the existing norm), bias 0
    and a random fan-out of norm ``ε·`` the mean fan-out norm. Each candidate is scored by the
    norm of the loss gradient with respect to its own fan-in, bias and fan-out, and the
    ``n_new`` best are kept (no candidate gradient steps, as in the thesis). The scores come
    from one engine gradient of the network widened by all candidates at once: the
    candidates change the function by ``O(ε)``, so each one's gradient is, to first order,
    the gradient it would have alone. Works for dense and conv layers with any consumers.
    The function changes by ``O(ε)``. Chosen splits are returned under ``"split"`` as
    ``{unit: noise_row}``, the form :func:`~neuroplast.morph.widen` applies to the existing
    units (``w_m += u``, fan-out halved).

    Raises:
        ConfigError: ``X``/``y`` missing, or ``eps < 0``.
    """
    _need(X, y, "Firefly")
    assert X is not None and y is not None
    if not eps >= 0:
        raise ConfigError(f"eps must be >= 0, got {eps!r}")
    k = check_n_new(n_new)
    rng = seeded(seed, "firefly")
    view = layer_view(net, layer)
    n_cand = candidate_count(view, k, candidates)
    blocks = fan_out_blocks(net, view)
    v_old = unit_fan_out(net.params, view, blocks)  # (units, R)
    w_norm, v_norm = mean_row_norm(view.weight), fan_out_norm(net, view)
    b_old = np.zeros(view.units) if view.bias is None else view.bias
    # A copy is only a split where the unit's output is its own: batch-norm statistics and
    # residual partners of the copy would be fresh ones, not the original's.
    splittable = not view.norms and view.producers == (view.name,)
    n_split = min(n_cand // 2, view.units) if splittable else 0
    units = rng.permutation(view.units)[:n_split]
    noise = rescale_rows(rng.uniform(-1.0, 1.0, (n_split, view.fan_in)), eps * w_norm)
    n_fresh = n_cand - n_split
    w_in = np.vstack([view.weight[units] - noise, _fresh_rows(view, rng, n_fresh, w_norm)])
    bias = np.concatenate([b_old[units], np.zeros(n_fresh)])
    fresh_out = rescale_rows(rng.standard_normal((n_fresh, v_old.shape[1])), eps * v_norm)
    v = np.vstack([v_old[units] / 2.0, fresh_out])  # (K, R)
    splits = {int(units[i]): noise[i] for i in range(n_split)}
    score = _candidate_gradient_norms(net, view, X, y, w_in, bias, v, blocks, splits)
    best = best_by_score(score, k)
    out = weights_mapping(view, w_in[best], bias[best], split_outgoing(blocks, v[best].T))
    out["split"] = {int(units[i]): noise[i].copy() for i in best if i < n_split}
    return out


def _candidate_gradient_norms(
    net: Network,
    view: LayerView,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    w_in: F64,
    bias: F64,
    v: F64,
    blocks: list[Block],
    splits: dict[int, F64],
) -> F64:
    """Per candidate, ‖∂L/∂(fan-in, bias, fan-out)‖² in the network widened by all of them."""
    weights = weights_mapping(view, w_in, bias, split_outgoing(blocks, v.T))
    weights = pad_own_columns(net, view.name, w_in.shape[0], weights)
    wide, _ = widen(net, view.name, w_in.shape[0], "given", weights={**weights, "split": splits})
    _, g = wide.gradients(X, y)
    m, k = view.units, w_in.shape[0]
    score: F64 = np.sum(
        np.asarray(g[f"{view.name}.weight"], np.float64)[m:].reshape(k, -1) ** 2, axis=1
    )
    if view.bias is not None:
        score += np.asarray(g[f"{view.name}.bias"], np.float64)[m:] ** 2
    for c, cols in coupled_group(wide.spec, view.name).consumers.items():
        idx = np.array(cols[m:], dtype=np.intp)  # (K, cols per unit)
        gc = np.moveaxis(np.asarray(g[f"{c}.weight"], np.float64)[:, idx], 1, 0)
        score += np.sum(gc.reshape(k, -1) ** 2, axis=1)
    return score


def _fresh_rows(view: LayerView, rng: np.random.Generator, k: int, norm: float) -> F64:
    return rescale_rows(xavier_rows(rng, view, k), norm)


def nest(
    net: Network,
    layer: str,
    n_new: int,
    *,
    X: npt.ArrayLike | None = None,
    y: npt.ArrayLike | None = None,
    seed: int = 0,
    candidates: int | None = None,
    quantile: float = NEST_QUANTILE,
) -> Weights:
    """NeST (adapted to ``k`` units, Sec. 6.2.2): units bridging high auxiliary-gradient pairs.

    With ``G`` the auxiliary gradient between the layer's inputs and its consumers'
    pre-activations (bias column excluded), only the entries in the top ``quantile`` of
    ``|G|`` are kept; each input's fan-in weight is the sum of squares of its kept entries and
    each consumer row's fan-out weight the sum of squares of its kept entries, with a random
    sign per weight drawn independently for every new unit (the thesis' adaptation to ``k``
    units). Fan-in and fan-out are rescaled to the existing units' mean norms; bias 0. The
    function changes.

    Convolutions (the thesis' rule there): ``candidates`` random units (default 100 plus
    ``n_new``; Xavier fan-in and Gaussian fan-out, both rescaled to the existing norms, bias
    0) are each added alone, and the ``n_new`` that lower the loss on ``(X, y)`` the most are
    kept.

    Raises:
        ConfigError: ``X``/``y`` missing, or ``quantile`` not in ``(0, 1]``.
    """
    _need(X, y, "NeST")
    assert X is not None and y is not None
    if not 0 < quantile <= 1:
        raise ConfigError(f"quantile must be in (0, 1], got {quantile!r}")
    k = check_n_new(n_new)
    rng = seeded(seed, "nest")
    view = layer_view(net, layer)
    if view.is_conv:
        return _nest_conv(net, view, k, X, y, rng, candidate_count(view, k, candidates))
    aux = auxiliary_gradient(net, layer, X, y)
    g = aux.matrix[:, : view.fan_in]
    mag = np.abs(g)
    kept = np.where(mag >= np.quantile(mag, 1.0 - quantile), g, 0.0)
    a_in = np.sum(kept**2, axis=0)  # (fan_in,)
    a_out = np.sum(kept**2, axis=1)  # (rows,)
    s_in = rng.choice([-1.0, 1.0], size=(k, a_in.size))
    s_out = rng.choice([-1.0, 1.0], size=(k, a_out.size))
    w_in = rescale_rows(s_in * a_in, mean_row_norm(view.weight))
    v = rescale_rows(s_out * a_out, fan_out_norm(net, view))
    return weights_mapping(view, w_in, None, split_outgoing(aux.blocks, v.T))


def _nest_conv(
    net: Network,
    view: LayerView,
    k: int,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    rng: np.random.Generator,
    n_cand: int,
) -> Weights:
    """NeST for convolutions: the random candidates that lower the loss most, each alone."""
    blocks = fan_out_blocks(net, view)
    w_in = _fresh_rows(view, rng, n_cand, mean_row_norm(view.weight))
    v = rescale_rows(rng.standard_normal((n_cand, blocks[-1][2])), fan_out_norm(net, view))
    loss = np.empty(n_cand)
    for i in range(n_cand):
        w = weights_mapping(view, w_in[i : i + 1], None, split_outgoing(blocks, v[i : i + 1].T))
        wide, _ = widen(net, view.name, 1, "given", weights=pad_own_columns(net, view.name, 1, w))
        loss[i] = wide.evaluate(X, y)["loss"]
    best = best_by_score(-loss, k)
    return weights_mapping(view, w_in[best], None, split_outgoing(blocks, v[best].T))
