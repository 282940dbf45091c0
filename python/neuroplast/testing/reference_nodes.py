"""Per-node float64 reference: structure and forward/backward of every node type.

Shapes, parameters and FLOPs are computed from the node definitions alone (not from the
engine's answers).

Used by :mod:`neuroplast.testing.reference`, which re-exports the structure functions.
Node values are ``(n, features)`` for flat nodes and ``(n, C, H, W)`` for spatial ones; an
input shape of three dimensions is spatial, any other is flattened.

Example:
    >>> from neuroplast import Spec
    >>> node_shapes(Spec.cnn((1, 8, 8), [4], 3))["pool_0"]
    (4, 4, 4)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from neuroplast.activations import KINKED, derivative, forward
from neuroplast.layers import (
    Add,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool,
    Identity,
    MaxPool2d,
    MixedOp,
    Node,
)
from neuroplast.spec import Spec
from neuroplast.testing import reference_spatial as rs

__all__ = [
    "KINKED_ACTIVATIONS",
    "activation",
    "arch_weights",
    "activation_derivative",
    "flops",
    "n_params",
    "node_backward",
    "node_flops",
    "node_forward",
    "node_shapes",
    "node_widths",
    "pair",
    "param_shapes",
]

F64 = npt.NDArray[np.float64]
Shape = tuple[int, ...]


def _unsupported(node: Node) -> NotImplementedError:
    """The error for node types the reference leaves to :mod:`neuroplast.testing.group`."""
    return NotImplementedError(
        f"the NumPy reference has no {type(node).__name__}; use "
        "neuroplast.testing.group.plain_equivalent"
    )


def pair(v: object) -> tuple[int, int]:
    """``k`` or ``(kh, kw)`` as a pair of ints."""
    if isinstance(v, int):
        return (v, v)
    assert isinstance(v, tuple | list) and len(v) == 2
    return (int(v[0]), int(v[1]))


#: Activations with a kink (finite differences across it are meaningless).
KINKED_ACTIVATIONS: frozenset[str] = KINKED

#: The activation math lives in the product module; these names stay for existing tests.
activation = forward
activation_derivative = derivative


# ------------------------------------------------------------------------------ structure
def _conv_shape(node: Conv2d, c: int, h: int, w: int) -> Shape:
    (kh, kw), (sh, sw) = pair(node.kernel_size), pair(node.stride)
    (ph, pw), (dh, dw) = pair(node.padding), pair(node.dilation)
    oh, ow = rs.out_size(h, kh, sh, ph, dh), rs.out_size(w, kw, sw, pw, dw)
    assert oh is not None and ow is not None and c % node.groups == 0
    return (node.channels, oh, ow)


def _node_shape(node: Node, shapes: Mapping[str, Shape]) -> Shape:
    ins = [shapes[i] for i in node.inputs]
    if isinstance(node, Dense):
        return (node.units,)
    if isinstance(node, Add | BatchNorm | Identity | MixedOp):
        return ins[0]
    if isinstance(node, Concat):
        return (sum(s[0] for s in ins), *ins[0][1:])
    if isinstance(node, Flatten):
        return (math.prod(ins[0]),)
    c, h, w = ins[0]
    if isinstance(node, Conv2d):
        return _conv_shape(node, c, h, w)
    if isinstance(node, GlobalAvgPool):
        return (c,)
    if not isinstance(node, (MaxPool2d, AvgPool2d)):
        raise _unsupported(node)
    (kh, kw), (sh, sw), (ph, pw) = pair(node.kernel_size), pair(node.stride), pair(node.padding)
    oh, ow = rs.out_size(h, kh, sh, ph), rs.out_size(w, kw, sw, pw)
    assert oh is not None and ow is not None
    return (c, oh, ow)


def node_shapes(spec: Spec) -> dict[str, Shape]:
    """Per-sample output shape of every node and ``"input"``: ``(F,)`` or ``(C, H, W)``."""
    first = spec.input_shape if len(spec.input_shape) == 3 else (math.prod(spec.input_shape),)
    shapes: dict[str, Shape] = {"input": tuple(first)}
    for node in spec.nodes:
        shapes[node.name] = _node_shape(node, shapes)
    return shapes


def node_widths(spec: Spec) -> dict[str, int]:
    """Units of every node (and ``"input"``): features of flat nodes, channels of spatial ones."""
    return {name: s[0] for name, s in node_shapes(spec).items()}


def param_shapes(spec: Spec) -> dict[str, Shape]:
    """Parameter and buffer names and shapes in engine order.

    ``weight`` then ``bias`` per dense or conv node; ``weight`` (γ), ``bias`` (β),
    ``running_mean``, ``running_var`` per batch norm.
    """
    shapes = node_shapes(spec)
    out: dict[str, Shape] = {}
    for node in spec.nodes:
        name = node.name
        if isinstance(node, Dense):
            out[f"{name}.weight"] = (node.units, math.prod(shapes[node.input]))
            if node.bias:
                out[f"{name}.bias"] = (node.units,)
        elif isinstance(node, Conv2d):
            c_in = shapes[node.input][0]
            out[f"{name}.weight"] = (node.channels, c_in // node.groups, *pair(node.kernel_size))
            if node.bias:
                out[f"{name}.bias"] = (node.channels,)
        elif isinstance(node, BatchNorm):
            for suffix in ("weight", "bias", "running_mean", "running_var"):
                out[f"{name}.{suffix}"] = (shapes[node.input][0],)
        elif isinstance(node, MixedOp) and node.alpha not in out:
            out[node.alpha] = (node.rows, node.n_ops)
    return out


def n_params(spec: Spec) -> int:
    """Trainable parameters: all but batch-norm running statistics (and non-affine γ, β)."""
    fixed = {
        f"{n.name}.{k}"
        for n in spec.nodes
        if isinstance(n, BatchNorm) and not n.affine
        for k in ("weight", "bias")
    }
    return sum(
        math.prod(s)
        for n, s in param_shapes(spec).items()
        if not n.endswith(("_mean", "_var")) and n not in fixed
    )


def node_flops(spec: Spec) -> dict[str, int]:
    """Forward FLOPs per sample of every node (``"input"``: 0), as :attr:`Spec.node_flops`."""
    shapes = node_shapes(spec)
    result = {"input": 0}
    for node in spec.nodes:
        size = math.prod(shapes[node.name])
        in_shape = shapes[node.inputs[0]]
        if isinstance(node, Dense):
            f = 2 * math.prod(in_shape) * node.units + (node.units if node.bias else 0)
        elif isinstance(node, Conv2d):
            kh, kw = pair(node.kernel_size)
            f = 2 * size * (in_shape[0] // node.groups) * kh * kw + (size if node.bias else 0)
        elif isinstance(node, MaxPool2d | AvgPool2d):
            f = size * math.prod(pair(node.kernel_size))
        elif isinstance(node, GlobalAvgPool):
            f = math.prod(in_shape)
        elif isinstance(node, BatchNorm):
            f = 2 * size
        elif isinstance(node, Add):
            f = (len(node.inputs) - 1) * size
        elif isinstance(node, MixedOp):
            f = 2 * len(node.inputs) * size
        else:
            f = 0
        if getattr(node, "activation", "identity") != "identity":
            f += size
        result[node.name] = f
    return result


def flops(spec: Spec) -> int:
    """Forward FLOPs per sample (sum of :func:`node_flops`)."""
    return sum(node_flops(spec).values())


# ------------------------------------------------------------------------------ forward/backward
def _conv_args(node: Conv2d) -> dict[str, object]:
    return {
        "stride": pair(node.stride),
        "padding": pair(node.padding),
        "dilation": pair(node.dilation),
        "groups": node.groups,
    }


def _pool_args(node: MaxPool2d | AvgPool2d) -> tuple[tuple[int, int], ...]:
    return pair(node.kernel_size), pair(node.stride), pair(node.padding)


def node_forward(node: Node, params: Mapping[str, F64], inputs: list[F64], training: bool) -> F64:
    """Pre-activation value of ``node`` from its input values.

    ``training`` selects batch statistics (True) or running statistics (False) in batch norm.
    """
    x = inputs[0]
    p = f"{node.name}."
    if isinstance(node, Identity):
        return x.copy()
    if isinstance(node, MixedOp):
        a = arch_weights(params[node.alpha][node.row], node.weighting)[int(node.none) :]
        return sum((w * v for w, v in zip(a, inputs, strict=True)), np.zeros_like(x))
    if isinstance(node, Dense):
        z: F64 = x.reshape(x.shape[0], -1) @ params[p + "weight"].T
        return z + params[p + "bias"] if node.bias else z
    if isinstance(node, Add):
        return sum(inputs[1:], inputs[0].copy())
    if isinstance(node, Concat):
        return np.concatenate(inputs, axis=1)
    if isinstance(node, Flatten):
        return x.reshape(x.shape[0], -1).copy()
    if isinstance(node, Conv2d):
        bias = params[p + "bias"] if node.bias else None
        return rs.conv2d_forward(x, params[p + "weight"], bias, **_conv_args(node))  # type: ignore[arg-type]
    if isinstance(node, MaxPool2d):
        return rs.max_pool2d_forward(x, *_pool_args(node))
    if isinstance(node, AvgPool2d):
        return rs.avg_pool2d_forward(x, *_pool_args(node))
    if isinstance(node, GlobalAvgPool):
        return rs.global_avg_pool_forward(x)
    if not isinstance(node, BatchNorm):
        raise _unsupported(node)
    gamma, beta = params[p + "weight"], params[p + "bias"]
    if training:
        return rs.batch_norm_train_forward(x, gamma, beta, node.eps)
    mean, var = params[p + "running_mean"], params[p + "running_var"]
    return rs.batch_norm_eval_forward(x, gamma, beta, mean, var, node.eps)


def node_backward(
    node: Node, params: Mapping[str, F64], inputs: list[F64], gz: F64, training: bool
) -> tuple[list[F64], dict[str, F64]]:
    """Gradients of ``node``'s inputs and parameters from that of its pre-activation ``gz``.

    Returns one input gradient per entry of ``node.inputs`` and a dict of parameter gradients.
    """
    x = inputs[0]
    p = f"{node.name}."
    if isinstance(node, Identity):
        return [gz], {}
    if isinstance(node, MixedOp):
        return _mixed_backward(node, params, inputs, gz)
    if isinstance(node, Dense):
        grads = {p + "weight": gz.T @ x.reshape(x.shape[0], -1)}
        if node.bias:
            grads[p + "bias"] = gz.sum(axis=0)
        return [(gz @ params[p + "weight"]).reshape(x.shape)], grads
    if isinstance(node, Add):
        return [gz for _ in inputs], {}
    if isinstance(node, Concat):
        cuts = np.cumsum([i.shape[1] for i in inputs])[:-1]
        return list(np.split(gz, cuts, axis=1)), {}
    if isinstance(node, Flatten):
        return [gz.reshape(x.shape)], {}
    if isinstance(node, Conv2d):
        dx, dw, db = rs.conv2d_backward(x, params[p + "weight"], gz, **_conv_args(node))  # type: ignore[arg-type]
        return [dx], ({p + "weight": dw, p + "bias": db} if node.bias else {p + "weight": dw})
    if isinstance(node, MaxPool2d):
        return [rs.max_pool2d_backward(x, gz, *_pool_args(node))], {}
    if isinstance(node, AvgPool2d):
        return [rs.avg_pool2d_backward(x, gz, *_pool_args(node))], {}
    if isinstance(node, GlobalAvgPool):
        return [rs.global_avg_pool_backward(x, gz)], {}
    if not isinstance(node, BatchNorm):
        raise _unsupported(node)
    gamma = params[p + "weight"]
    if training:
        dx, dg, db = rs.batch_norm_train_backward(x, gamma, node.eps, gz)
    else:
        mean, var = params[p + "running_mean"], params[p + "running_var"]
        dx, dg, db = rs.batch_norm_eval_backward(x, gamma, mean, var, node.eps, gz)
    if not node.affine:  # γ and β are buffers
        return [dx], {}
    return [dx], {p + "weight": dg, p + "bias": db}


def arch_weights(alpha: F64, weighting: str) -> F64:
    """``a(α)`` of one edge: softmax, or the CRB clip ``min(max(α, 0), 1)``."""
    alpha = np.asarray(alpha, np.float64)
    if weighting == "crb":
        return np.clip(alpha, 0.0, 1.0)
    e = np.exp(alpha - alpha.max())
    out: F64 = e / e.sum()
    return out


def _mixed_backward(
    node: MixedOp, params: Mapping[str, F64], inputs: list[F64], gz: F64
) -> tuple[list[F64], dict[str, F64]]:
    alpha = np.asarray(params[node.alpha][node.row], np.float64)
    a = arch_weights(alpha, node.weighting)
    off = int(node.none)
    da = np.zeros_like(a)
    da[off:] = [float(np.sum(gz * v)) for v in inputs]
    crb = node.weighting == "crb"
    dalpha = da * ((alpha > 0) & (alpha <= 1)) if crb else a * (da - a @ da)
    full = np.zeros(params[node.alpha].shape)
    full[node.row] = dalpha
    return [w * gz for w in a[off:]], {node.alpha: full}
