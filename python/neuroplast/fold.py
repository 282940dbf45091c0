"""Batch-norm folding: an equivalent network for inference without batch-norm layers."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from neuroplast.layers import Add, BatchNorm, Concat, Conv2d, Dense, MixedOp, Node
from neuroplast.spec import Spec

if TYPE_CHECKING:
    from neuroplast.network import Network

__all__ = ["fold_batchnorm"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def _renamed(node: Node, rename: dict[str, str]) -> Node:
    """``node`` with its inputs redirected through ``rename``."""
    if isinstance(node, (Add, Concat, MixedOp)):
        return dataclasses.replace(node, inputs=tuple(rename.get(i, i) for i in node.inputs))
    return dataclasses.replace(node, input=rename.get(node.input, node.input))


def _affine(bn: BatchNorm, params: dict[str, F32]) -> tuple[F64, F64]:
    """Per-channel ``(scale, shift)`` of ``bn`` in evaluation mode, computed in float64."""
    p = {k: params[f"{bn.name}.{k}"].astype(np.float64) for k in ("weight", "bias")}
    mean = params[f"{bn.name}.running_mean"].astype(np.float64)
    var = params[f"{bn.name}.running_var"].astype(np.float64)
    scale = p["weight"] / np.sqrt(var + np.float64(np.float32(bn.eps)))
    return scale, p["bias"] - mean * scale


def fold_batchnorm(net: Network) -> Network:
    """An equivalent network (in evaluation mode) without :class:`~neuroplast.layers.BatchNorm`.

    A batch norm whose input is a dense or conv layer with identity activation and no other
    consumer is folded into that layer: ``W' = s·W``, ``b' = s·b + t`` per output unit, with
    ``s = γ/√(running_var + eps)`` and ``t = β − s·running_mean``; the layer takes over the
    batch norm's activation and name references. Any other batch norm (after a merge or a
    nonlinearity) becomes the same per-channel affine map as a layer: a depthwise 1×1
    convolution for spatial inputs, a diagonal dense layer for flat ones, keeping its name.
    The result predicts like ``net`` up to float32 rounding; optimizer state is dropped
    because the parameters change.

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.cnn((1, 8, 8), [4], 3, batch_norm=True), seed=0)
        >>> folded = net.fold_batchnorm()
        >>> [n.name for n in folded.spec.nodes]
        ['conv_0', 'pool_0', 'flatten', 'output']
    """
    from neuroplast.network import Network

    spec = net.spec
    params: dict[str, F32] = {k: np.asarray(v) for k, v in net.params.items()}
    uses = Counter(i for n in spec.nodes for i in n.inputs)
    uses[spec.output] += 1
    nodes: dict[str, Node] = {}
    out: dict[str, F32] = {}
    rename: dict[str, str] = {}
    for original in spec.nodes:
        node = _renamed(original, rename)
        if not isinstance(node, BatchNorm):
            nodes[node.name] = node
            out.update({k: params[k] for k in spec.param_shapes if k.startswith(f"{node.name}.")})
            continue
        scale, shift = _affine(node, params)
        prod = nodes.get(node.input)
        if (
            isinstance(prod, (Dense, Conv2d))
            and prod.activation == "identity"
            and uses[prod.name] == 1
        ):
            w = params[f"{prod.name}.weight"].astype(np.float64)
            b = params[f"{prod.name}.bias"] if prod.bias else np.zeros(len(scale))
            w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
            out[f"{prod.name}.weight"] = w.astype(np.float32)
            out[f"{prod.name}.bias"] = (b * scale + shift).astype(np.float32)
            act = {"activation": node.activation, "negative_slope": node.negative_slope}
            nodes[prod.name] = dataclasses.replace(prod, bias=True, **act)  # type: ignore[arg-type]
            rename[node.name] = prod.name
            continue
        c = len(scale)
        act = {"activation": node.activation, "negative_slope": node.negative_slope}
        if len(spec.shapes[node.input]) == 3:
            nodes[node.name] = Conv2d(node.name, node.input, c, 1, groups=c, **act)  # type: ignore[arg-type]
            out[f"{node.name}.weight"] = scale.reshape(c, 1, 1, 1).astype(np.float32)
        else:
            nodes[node.name] = Dense(node.name, node.input, c, **act)  # type: ignore[arg-type]
            out[f"{node.name}.weight"] = np.diag(scale).astype(np.float32)
        out[f"{node.name}.bias"] = shift.astype(np.float32)
    output = rename.get(spec.output, spec.output)
    folded = Spec(spec.input_shape, tuple(nodes.values()), output, spec.loss)
    return Network(folded, {k: out[k] for k in folded.param_shapes})
