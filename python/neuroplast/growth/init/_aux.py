"""The auxiliary gradient ``G = ∂L/∂Z_{l+1} · H_{l-1}ᵀ`` of a layer, for any consumer wiring.

``G`` is the gradient of the loss with respect to zero-weighted bridging connections from the
layer's inputs to its consumers' pre-activations (``L`` the mean loss over the batch). For a
new unit with zero fan-in and fan-out ``v`` the fan-in gradient is ``σ'(0)·vᵀG``.

Rows of ``G`` are the coordinates of one unit's fan-out: per consumer ``c`` a block of shape
``(rows_c, cols_per_unit_c, *kernel_c)`` (``(rows, 1)`` for a dense consumer reading the layer,
``(rows, H·W)`` behind a flatten, ``(C_out, 1, kh, kw)`` for a conv consumer). Columns are the
layer's inputs (conv: im2col features ``C_in·kh·kw``) plus a bias column.

Two ways to compute it:

* explicit (consumers read the layer directly: dense → dense, conv → conv, conv → flatten →
  dense; no residual coupling): from the consumers' pre-activation gradients and the layer's
  inputs, with the convolution geometry spelled out;
* probe (anything else: pooling, batch norm, concatenation, residual coupling): the engine
  computes ``G`` itself. The layer is widened by one zero-fan-in probe unit per row of ``G``,
  with a one-hot fan-out; the forward pass is unchanged (``σ(0) = 0``) and the gradient of
  probe ``r``'s fan-in is row ``r`` of ``σ'(0)·G``. A ReLU layer is probed as the modified
  ReLU (same forward; derivative 1 at 0), other activations are divided by ``σ'(0)``.
  Batch norm in training mode amplifies a constant channel's gradient by ``γ/√ε``; that is
  the engine's true gradient and is reported as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from neuroplast.activations import ZERO_AT_ZERO, derivative
from neuroplast.errors import ConfigError
from neuroplast.growth._engine import activations, node_gradients
from neuroplast.growth._layer import LayerView, conv_geometry, layer_inputs, layer_view, patches
from neuroplast.layers import Conv2d, Dense, Flatten
from neuroplast.morph import widen
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = [
    "AuxiliaryGradient",
    "Block",
    "auxiliary_gradient",
    "fan_out_blocks",
    "split_outgoing",
    "unit_fan_out",
]

F64 = npt.NDArray[np.float64]
Block = tuple[str, int, int, tuple[int, ...]]


@dataclass(frozen=True)
class AuxiliaryGradient:
    """The auxiliary gradient of a layer and how its rows map to consumer weights.

    Attributes:
        matrix: ``G`` (see the module docstring).
        blocks: Per consumer: name, row range in ``matrix``, and the shape of one unit's
            fan-out there, ``(rows_c, cols_per_unit_c, *kernel_c)``.
        h_prev: The layer's inputs ``(samples, fan_in)`` (explicit computation only).
        grads: ``∂L/∂Z`` of the consumers side by side, ``(samples, Σ rows_c)`` (dense layers
            read directly by dense consumers only).
    """

    matrix: F64
    blocks: tuple[Block, ...]
    h_prev: F64 | None
    grads: F64 | None


def _direct(net: Network, view: LayerView) -> bool:
    """Whether every consumer reads the layer directly and no other producer is coupled."""
    if view.producers != (view.name,):
        return False
    for c in view.consumers:
        node = net.spec.node(c)
        src = getattr(node, "input", None)
        if view.is_conv and isinstance(node, Dense) and src not in (None, "input"):
            flat = net.spec.node(str(src))
            if isinstance(flat, Flatten) and flat.input == view.name:
                continue  # conv → flatten → dense: each pixel of a channel is one column
        if src != view.name or (isinstance(node, Conv2d) != view.is_conv):
            return False
    return True


def _explicit(
    net: Network, view: LayerView, X: npt.ArrayLike, y: npt.ArrayLike
) -> AuxiliaryGradient:
    src = view.node.input
    h_prev = layer_inputs(view, activations(net, X, [src])[src])
    hb = h_prev if view.bias is None else np.hstack([h_prev, np.ones((h_prev.shape[0], 1))])
    grads = node_gradients(net, X, y, list(view.consumers))
    blocks: list[Block] = []
    parts: list[F64] = []
    row = 0
    n = int(np.asarray(X).shape[0])
    hl, wl = net.spec.shapes[view.name][1:] if view.is_conv else (1, 1)
    for c in view.consumers:
        d = grads[c]
        node = net.spec.node(c)
        if isinstance(node, Conv2d):
            grid = np.moveaxis(hb.reshape(n, hl, wl, -1), -1, 1)  # (N, d', H_l, W_l)
            q = patches(grid, *conv_geometry(node))  # (N, H_c, W_c, d', kh, kw)
            g = np.einsum("noyx,nyxfij->oijf", d, q).reshape(-1, hb.shape[1])
            shape: tuple[int, ...] = (d.shape[1], 1, *q.shape[4:])
        elif view.is_conv:  # through a flatten: rows (consumer unit, pixel)
            g = np.einsum("no,npf->opf", d, hb.reshape(n, hl * wl, -1)).reshape(-1, hb.shape[1])
            shape = (d.shape[1], hl * wl)
        else:
            g = d.T @ hb
            shape = (d.shape[1], 1)
        blocks.append((c, row, row + g.shape[0], shape))
        parts.append(g)
        row += g.shape[0]
    dense = None if view.is_conv else np.hstack([grads[c] for c in view.consumers])
    return AuxiliaryGradient(np.vstack(parts), tuple(blocks), h_prev, dense)


def _probe_spec(spec: Spec, layer: str) -> tuple[Spec, float]:
    """The spec probed (ReLU → modified ReLU) and the ``σ'(0)`` to divide by."""
    node = spec.node(layer)
    act = str(getattr(node, "activation", "identity"))
    if act not in ZERO_AT_ZERO:
        raise ConfigError(
            f"the auxiliary gradient of {layer!r} through pooling, normalization or coupling "
            f"needs an activation with σ(0) = 0, got {act!r}"
        )
    if act == "relu":
        probed = dataclasses.replace(cast(Dense | Conv2d, node), activation="modified_relu")
        nodes = tuple(probed if n.name == layer else n for n in spec.nodes)
        return Spec(spec.input_shape, nodes, spec.output, spec.loss), 1.0
    slope = float(getattr(node, "negative_slope", 0.01))
    return spec, float(derivative(act, np.zeros(1), slope)[0])


def fan_out_blocks(net: Network, view: LayerView) -> list[Block]:
    """The row blocks of one unit's fan-out, consumer by consumer (the layout of ``G``)."""
    blocks: list[Block] = []
    row = 0
    for c, cols in view.consumers.items():
        w = net.params[f"{c}.weight"]
        shape = (int(w.shape[0]), len(cols[0]), *(int(s) for s in w.shape[2:]))
        size = int(np.prod(shape))
        blocks.append((c, row, row + size, shape))
        row += size
    return blocks


def unit_fan_out(params: Mapping[str, npt.ArrayLike], view: LayerView, blocks: list[Block]) -> F64:
    """Every existing unit's fan-out in the block layout, ``(units, Σ block sizes)``."""
    parts = []
    for c, _, _, _ in blocks:
        w = np.asarray(params[f"{c}.weight"], dtype=np.float64)
        idx = np.array(view.consumers[c], dtype=np.intp)  # (units, cols per unit)
        parts.append(np.moveaxis(w[:, idx], 1, 0).reshape(view.units, -1))
    return np.hstack(parts)


def _probe(net: Network, view: LayerView, X: npt.ArrayLike, y: npt.ArrayLike) -> AuxiliaryGradient:
    blocks = fan_out_blocks(net, view)
    row = blocks[-1][2]
    onehot = np.eye(row)
    spec, slope = _probe_spec(net.spec, view.name)
    base = Network(spec, dict(net.params))
    probe, _ = widen(
        base, view.name, row, "given", weights={"outgoing": split_outgoing(blocks, onehot)}
    )
    _, grads = probe.gradients(X, y)
    m = view.units
    g = np.asarray(grads[f"{view.name}.weight"], dtype=np.float64)[m : m + row].reshape(row, -1)
    if view.bias is not None:
        gb = np.asarray(grads[f"{view.name}.bias"], dtype=np.float64)[m : m + row]
        g = np.hstack([g, gb[:, None]])
    return AuxiliaryGradient(g / slope, tuple(blocks), None, None)


def auxiliary_gradient(
    net: Network, layer: str, X: npt.ArrayLike, y: npt.ArrayLike
) -> AuxiliaryGradient:
    """``G = ∂L/∂Z_{l+1} · H_{l-1}ᵀ`` of ``layer`` on ``(X, y)`` (see the module docstring).

    Raises:
        ConfigError: ``layer`` has no consumer layer, or a probe is needed and the layer's
            activation has ``σ(0) ≠ 0`` or ``σ'(0) = 0`` (other than ReLU).
    """
    view = layer_view(net, layer)
    if not view.consumers:
        raise ConfigError(f"{layer!r} has no consumer layer")
    if _direct(net, view):
        return _explicit(net, view, X, y)
    return _probe(net, view, X, y)


def split_outgoing(blocks: tuple[Block, ...] | list[Block], cols: F64) -> dict[str, F64]:
    """Fan-out vectors ``(rows of G, k)`` cut into each consumer's new-column layout.

    Widening appends a unit's columns contiguously, unit after unit, so consumer ``c`` gets
    ``(rows_c, k · cols_per_unit_c, *kernel_c)``.
    """
    out: dict[str, F64] = {}
    k = cols.shape[1]
    for c, lo, hi, shape in blocks:
        block = cols[lo:hi].T.reshape(k, *shape)  # (k, rows, per_unit, *kernel)
        moved = np.moveaxis(block, 0, 1)  # (rows, k, per_unit, *kernel)
        out[c] = moved.reshape(shape[0], k * shape[1], *shape[2:])
    return out
