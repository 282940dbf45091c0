"""Factorize: a layer becomes a rank-``k`` linear layer followed by the layer.

The operation is from Schiessler et al. (2021), "Neural network surgery".

Schiessler et al.'s "truncated SVD" operation. For a dense layer with ``W`` of shape ``(n, m)``,
``W = U·Σ·Vᵀ`` (float64, signs fixed: the largest-magnitude entry of each column of ``U`` is
positive), a new layer ``{layer}_svd`` with ``k`` units, identity activation and no bias reads
the layer's input with weights ``Σ_k·V_kᵀ``; the layer then reads it with weights ``U_k`` and
keeps its bias and activation. Parameters go from ``n·m`` to ``k·(n + m)``. A convolution
(``groups == 1``) is factorized on its flattened kernel ``(C_out, C_in·kh·kw)``: the new layer is
a ``k``-channel convolution with the layer's geometry (kernel, stride, padding, dilation) and
the layer becomes a 1×1 convolution, which is exactly the same composition.

``basis="data"`` (dense layers, needs ``calibration``) keeps instead the rank-``k`` subspace of
the layer's *pre-activations* on the calibration inputs, with the mean of the discarded part
folded into the bias (:mod:`neuroplast.morph._data_basis`): the best rank-``k`` layer for those
inputs, which is what a compression driven by data wants (``compress`` uses it). Its ``bound``
is the discarded singular values of the centred pre-activations over ``√n_samples`` (their RMS
error), and the record keeps the projection and bias change so a log replays without data.

The pre-activation error ``(W − U_k·Σ_k·V_kᵀ)·x`` is a linear map whose singular values are
exactly the discarded ``σ_{k+1}, …`` (Eckart–Young: no rank-``k`` map does better); they are
returned as the record's ``bound``, and the edit is ``"exact"`` when they are all zero (in
particular for ``k = min(n, m)``). The SVD runs in the Rust core (:mod:`neuroplast._linalg`), so
the edit does not depend on the local LAPACK build and replays bit-for-bit on the same
machine for any thread count. Optimizer moments of the two changed weights
start at zero (the old moments belong to a different parameterization).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast import _linalg
from neuroplast.errors import ConfigError, InvalidMorphismError
from neuroplast.layers import Conv2d, Dense, Node
from neuroplast.morph._acts import node_activations
from neuroplast.morph._data_basis import DataBasis, data_basis
from neuroplast.morph.deepen import _with_zero_slots, fresh_name
from neuroplast.morph.record import (
    Calibration,
    EditRecord,
    check_bound,
    measure,
    split_calibration,
)
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = ["factorize"]


def _layer(net: Network, layer: str) -> Dense | Conv2d:
    try:
        node = net.spec.node(layer)
    except Exception as exc:  # the spec raises its own typed error for unknown names
        raise InvalidMorphismError(f"unknown layer {layer!r}") from exc
    if not isinstance(node, Dense | Conv2d):
        raise InvalidMorphismError(
            f"factorize needs a dense or conv layer, {layer!r} is {type(node).__name__}"
        )
    if isinstance(node, Conv2d) and node.groups != 1:
        raise InvalidMorphismError(f"factorize cannot split the grouped convolution {layer!r}")
    return node


def factorize(
    net: Network,
    layer: str,
    rank: int,
    *,
    calibration: Calibration | None = None,
    bound: Sequence[float] | None = None,
    basis: Literal["weights", "data"] = "weights",
    projection: Sequence[Sequence[float]] | None = None,
    shift: Sequence[float] | None = None,
) -> tuple[Network, EditRecord]:
    """Splits ``layer`` into a rank-``rank`` linear layer and the layer (see the module doc).

    Args:
        net: The network (not modified).
        layer: A dense or (ungrouped) conv layer, the output layer included.
        rank: ``k``, ``1 <= k <= min(n, fan_in)``.
        calibration: Optional ``X`` or ``(X, y)`` to measure the distortion (accuracies only
            with labels ``y``); with ``basis="data"`` also the inputs the basis is fit to.
        bound: Recorded discarded singular values (an edit log replays with them); the
            recomputed ones must be identical (``basis="weights"``).
        basis: ``"weights"`` (truncated SVD of ``W``, the paper's operation) or ``"data"``
            (the pre-activations' principal subspace on ``calibration``; dense layers).
        projection: ``basis="data"`` only: the recorded ``U_kᵀ`` ``(rank, units)``, given
            together with ``shift`` (the bias change) to replay without calibration data.
        shift: See ``projection``.

    Returns:
        The factorized network and its :class:`EditRecord` (``args["bound"]``: the discarded
        singular values).

    Raises:
        InvalidMorphismError: Not a dense/conv layer, a grouped convolution, ``rank`` out of
            range, or a ``bound`` that differs from the recomputed one.
        ConfigError: An unknown ``basis``; ``basis="data"`` on a convolution, without
            ``calibration`` (or a recorded ``projection`` and ``shift``), with fewer calibration
            samples than ``rank``, or with a recorded projection of the wrong shape.

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(6, [5], 2), seed=0)
        >>> small, rec = factorize(net, "dense_0", 2)
        >>> [n.name for n in small.spec.nodes], rec.contract, len(rec.args["bound"])
        (['dense_0_svd', 'dense_0', 'output'], 'approximate', 3)
    """
    node = _layer(net, layer)
    w = np.asarray(net.params[f"{layer}.weight"], dtype=np.float64)
    n, m = w.shape[0], int(np.prod(w.shape[1:]))
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= min(n, m):
        raise InvalidMorphismError(f"rank must be an int in [1, {min(n, m)}], got {rank!r}")
    if basis == "data":
        return _factorize_data(net, node, rank, calibration, projection, shift)
    if basis != "weights":
        raise ConfigError(f"basis must be 'weights' or 'data', got {basis!r}")
    u, s, vt = _linalg.svd(w.reshape(n, m), full_matrices=False)
    first_w = (s[:rank, None] * vt[:rank]).reshape(rank, *w.shape[1:])
    out = _split(net, node, first_w, u[:, :rank])
    discarded = [float(x) for x in s[rank:]]
    check_bound(bound, discarded)
    conditions = (
        f"rank-{rank} factorization of {layer!r} ({n}x{m}); the pre-activation error "
        f"(W - U_k S_k V_k^T) x has singular values {discarded}"
    )
    args: dict[str, Any] = {"layer": layer, "rank": rank, "bound": discarded}
    return out, _record(net, out, args, conditions, calibration)


def _split(
    net: Network,
    node: Dense | Conv2d,
    first_w: npt.NDArray[np.float64],
    second_w: npt.NDArray[np.float64],
    bias: npt.NDArray[np.float64] | None = None,
) -> Network:
    """``node`` as a ``first_w`` linear layer (its input, no bias) then ``second_w`` (the node)."""
    rank, layer = first_w.shape[0], node.name
    name = fresh_name([x.name for x in net.spec.nodes], f"{layer}_svd")
    first: Node
    if isinstance(node, Dense):
        first = Dense(name, node.input, rank, "identity", bias=False)
        second: Node = dataclasses.replace(node, input=name)
    else:
        first = dataclasses.replace(
            node, name=name, channels=rank, activation="identity", bias=False
        )
        second = dataclasses.replace(
            node, input=name, kernel_size=1, stride=1, padding=0, dilation=1
        )
        second_w = second_w.reshape(second_w.shape[0], rank, 1, 1)
    nodes: list[Node] = []
    for x in net.spec.nodes:
        nodes.extend([first, second] if x.name == layer else [x])
    spec = Spec(net.spec.input_shape, tuple(nodes), net.spec.output, net.spec.loss)
    fresh = {
        f"{name}.weight": first_w.astype(np.float32),
        f"{layer}.weight": second_w.astype(np.float32),
    }
    if bias is not None:
        fresh[f"{layer}.bias"] = bias.astype(np.float32)
    params = {**net.params, **fresh}
    return Network(spec, params, _with_zero_slots(net.optimizer_state, fresh))


def _factorize_data(
    net: Network,
    node: Dense | Conv2d,
    rank: int,
    calibration: Calibration | None,
    projection: Sequence[Sequence[float]] | None,
    shift: Sequence[float] | None,
) -> tuple[Network, EditRecord]:
    """``basis="data"``: fit to ``calibration``, or replayed from ``projection`` and ``shift``."""
    if not isinstance(node, Dense):
        raise ConfigError(f"basis='data' factorizes dense layers; {node.name!r} is a convolution")
    w = np.asarray(net.params[f"{node.name}.weight"], dtype=np.float64)
    if projection is not None and shift is not None:
        proj, change = np.asarray(projection, np.float64), np.asarray(shift, np.float64)
        if proj.shape != (rank, w.shape[0]) or change.shape != (w.shape[0],):
            raise ConfigError(
                f"recorded projection {proj.shape} / shift {change.shape} do not fit rank "
                f"{rank} of {node.name!r} ({w.shape[0]} units)"
            )
        found = DataBasis(proj, change, [])
    elif calibration is None:
        raise ConfigError("basis='data' needs calibration=X (or a recorded projection and shift)")
    else:
        x = node_activations(net, node.input, split_calibration(calibration)[0])
        found = data_basis(w, x, rank, centred=node.bias)
    bias = None
    if node.bias:
        bias = np.asarray(net.params[f"{node.name}.bias"], np.float64) + found.shift
    out = _split(net, node, found.projection @ w, found.projection.T, bias)
    conditions = (
        f"rank-{rank} data-basis factorization of {node.name!r} ({w.shape[0]}x{w.shape[1]}); "
        f"the centred pre-activation error on calibration has RMS singular values {found.bound}"
    )
    args: dict[str, Any] = {
        "layer": node.name,
        "rank": rank,
        "basis": "data",
        "projection": found.projection.tolist(),
        "shift": found.shift.tolist(),
    }
    return out, _record(net, out, args, conditions, calibration)


def _record(
    net: Network,
    out: Network,
    args: dict[str, Any],
    conditions: str,
    calibration: Calibration | None,
) -> EditRecord:
    """The edit's record: ``"exact"`` only when nothing was discarded (weights basis)."""
    exact = args.get("basis") is None and not any(args["bound"])
    dist = None if calibration is None else measure(net, out, calibration)
    return EditRecord("factorize", args, "exact" if exact else "approximate", conditions, dist)
