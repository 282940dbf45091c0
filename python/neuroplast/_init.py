"""Random initialization of a spec's parameters."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from neuroplast.layers import (
    BatchNorm,
    Conv2d,
    Dense,
    GroupBatchNorm,
    GroupConv,
    LiftConv,
    MixedConv,
    MixedOp,
)
from neuroplast.spec import Spec

__all__ = ["init_params"]

_RELU_LIKE = ("relu", "modified_relu", "leaky_relu")


def _relu_follows(spec: Spec, name: str) -> bool:
    """Whether a ReLU-family activation follows ``name``: its own, or a batch norm's after it."""
    for node in spec.nodes:
        if node.name == name and node.activation in _RELU_LIKE:  # type: ignore[union-attr]
            return True
        if (
            isinstance(node, (BatchNorm, GroupBatchNorm))
            and node.input == name
            and node.activation in _RELU_LIKE
        ):
            return True
    return False


def init_params(spec: Spec, rng: np.random.Generator) -> dict[str, npt.NDArray[np.float32]]:
    """Random parameters for ``spec``, drawn from ``rng``.

    He-uniform (bound √(6/fan_in)) weights where a ReLU-family activation follows, else
    Glorot-uniform (bound √(6/(fan_in + fan_out))); zero biases; batch norm γ = 1, β = 0,
    running mean 0 and running variance 1. Architecture tensors of mixed nodes: ``1e-3·N(0, 1)``
    for the softmax weighting (DARTS) and ``0.5 + 1e-3·N(0, 1)`` for CRB, the middle of its
    active range ``(0, 1]`` (the thesis does not state one; a DARTS-like start near 0 would
    prune half the operations before the first step).

    A conv layer's fan-in is ``in_channels/groups · kh · kw`` and its fan-out
    ``channels/groups · kh · kw``, as in PyTorch. Lifting and group convolutions use the
    fan-in and fan-out of their expanded convolution (the stored weight's trailing dimensions
    are exactly the expanded kernel's fan-in). A ``[G]``-mixed layer draws every candidate's
    direction ``v`` this way, sets its frozen scales to ``‖v_d‖`` (so each kernel starts as
    ``v``) and its logits to 0 (uniform architecture weights).
    """
    params: dict[str, npt.NDArray[np.float32]] = {}
    for node in spec.nodes:
        if isinstance(node, (Dense, Conv2d)):
            shape = spec.param_shapes[f"{node.name}.weight"]
            receptive = math.prod(shape[2:])
            fan_in = math.prod(shape[1:])
            fan_out = shape[0] * receptive // (node.groups if isinstance(node, Conv2d) else 1)
            if _relu_follows(spec, node.name):
                bound = math.sqrt(6.0 / fan_in)
            else:
                bound = math.sqrt(6.0 / (fan_in + fan_out))
            params[f"{node.name}.weight"] = rng.uniform(-bound, bound, size=shape).astype(
                np.float32
            )
            if node.bias:
                params[f"{node.name}.bias"] = np.zeros(shape[0], np.float32)
        elif isinstance(node, (LiftConv, GroupConv)):
            _group_conv(spec, node, rng, params)
        elif isinstance(node, MixedConv):
            _mixed(spec, node, rng, params)
        elif isinstance(node, (BatchNorm, GroupBatchNorm)):
            (c,) = spec.param_shapes[f"{node.name}.weight"]
            params[f"{node.name}.weight"] = np.ones(c, np.float32)
            params[f"{node.name}.bias"] = np.zeros(c, np.float32)
            params[f"{node.name}.running_mean"] = np.zeros(c, np.float32)
            params[f"{node.name}.running_var"] = np.ones(c, np.float32)
        elif isinstance(node, MixedOp) and node.alpha not in params:
            shape = spec.param_shapes[node.alpha]
            start = 0.5 if node.weighting == "crb" else 0.0
            params[node.alpha] = (start + 1e-3 * rng.standard_normal(shape)).astype(np.float32)
    return params


def _uniform(
    spec: Spec, name: str, shape: tuple[int, ...], fan_out: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    fan_in = math.prod(shape[1:])
    if _relu_follows(spec, name):
        bound = math.sqrt(6.0 / fan_in)
    else:
        bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def _group_conv(
    spec: Spec,
    node: LiftConv | GroupConv,
    rng: np.random.Generator,
    params: dict[str, npt.NDArray[np.float32]],
) -> None:
    shape = spec.param_shapes[f"{node.name}.weight"]
    fan_out = spec.shapes[node.name][0] * node.kernel_size**2
    params[f"{node.name}.weight"] = _uniform(spec, node.name, shape, fan_out, rng)
    if node.bias:
        params[f"{node.name}.bias"] = np.zeros(shape[0], np.float32)


def _mixed(
    spec: Spec,
    node: MixedConv,
    rng: np.random.Generator,
    params: dict[str, npt.NDArray[np.float32]],
) -> None:
    params[f"{node.name}.logits"] = np.zeros(len(node.candidates), np.float32)
    fan_out = node.channels * node.kernel_size**2
    for g in node.candidates:
        shape = spec.param_shapes[f"{node.name}.v_{g}"]
        v = _uniform(spec, node.name, shape, fan_out, rng)
        params[f"{node.name}.v_{g}"] = v
        norms = np.sqrt((v.astype(np.float64) ** 2).reshape(shape[0], -1).sum(axis=1))
        params[f"{node.name}.g_{g}"] = norms.astype(np.float32)
