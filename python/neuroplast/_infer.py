"""Streaming inference: outputs, evaluation and activations over inputs of any size.

An input that is already a C-contiguous float32 array goes to the engine as it is (the engine
works through it in bounded blocks). Any other input (another dtype, a strided or broadcast
view) is converted in chunks of about ``chunk_bytes`` (:mod:`neuroplast.limits`), so memory
stays bounded by the outputs, which are checked against ``max_bytes`` before they are
allocated. Chunks are whole multiples of the engine's 1024-row block where they can be, so for
ordinary networks chunked outputs and activations are bitwise those of one call; a chunked
evaluation combines the chunks' mean losses weighted by their sizes (equal up to rounding).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import chunk, empty, feature_chunks, feature_view
from neuroplast.errors import ConfigError
from neuroplast.limits import check_bytes
from neuroplast.spec import Spec

__all__ = ["evaluate", "forward", "node_values"]

F32 = npt.NDArray[np.float32]
Targets = Callable[[Any, int], tuple[Any, Any]]


def forward(spec: Spec, params: list[F32], masks: list[F32 | None], X: Any) -> F32:
    """Raw outputs ``(n, n_outputs)``."""
    arr = feature_view(X, spec)
    n, n_out = arr.shape[0], spec.n_outputs
    ranges = feature_chunks(arr, spec)
    if ranges is None:
        out: F32 = _core.predict(spec._wire, params, masks, chunk(arr, 0, n))
        return out.reshape(n, n_out)
    result = empty((n, n_out), np.float32, "the outputs")
    for a, b in ranges:
        part = _core.predict(spec._wire, params, masks, chunk(arr, a, b))
        result[a:b] = part.reshape(b - a, n_out)
    return result


def evaluate(
    spec: Spec, params: list[F32], masks: list[F32 | None], X: Any, y: Any, targets: Targets
) -> dict[str, float]:
    """Mean loss (and accuracy); chunk results are combined by their sample counts."""
    arr = feature_view(X, spec)
    n = arr.shape[0]
    yc, yv = targets(y, n)
    ranges = feature_chunks(arr, spec)
    if ranges is None:
        res: dict[str, float] = _core.evaluate(spec._wire, params, masks, chunk(arr, 0, n), yc, yv)
        return res
    loss, correct = 0.0, 0
    for a, b in ranges:
        part = _core.evaluate(
            spec._wire,
            params,
            masks,
            chunk(arr, a, b),
            None if yc is None else yc[a:b],
            None if yv is None else yv[a:b],
        )
        loss += part["loss"] * (b - a)
        correct += round(part.get("accuracy", 0.0) * (b - a))
    out = {"loss": loss / n}
    if yc is not None:
        out["accuracy"] = correct / n
    return out


def node_shape(spec: Spec, name: str) -> tuple[int, ...]:
    """Per-sample shape of node ``name`` (``"input"`` included), ConfigError if unknown."""
    if name == "input":
        return tuple(spec.input_shape)
    if name not in spec.shapes:
        raise ConfigError(f"the network has no node named {name!r}")
    return tuple(spec.shapes[name])


def node_values(
    spec: Spec,
    params: list[F32],
    masks: list[F32 | None],
    X: Any,
    names: Sequence[str],
    pre: bool,
) -> dict[str, F32]:
    """Outputs (or pre-activations) of the nodes ``names``, each ``(n, *node_shape)``."""
    arr = feature_view(X, spec)
    n = arr.shape[0]
    shapes = [node_shape(spec, name) for name in names]
    if not names:
        return {}
    sizes = [math.prod(s) for s in shapes]
    check_bytes(4 * n * sum(sizes), "the requested activations")
    ranges = feature_chunks(arr, spec)
    if ranges is None:
        values = _core.node_values(spec._wire, params, masks, chunk(arr, 0, n), list(names), pre)
        return {name: v.reshape(n, *sh) for name, v, sh in zip(names, values, shapes, strict=True)}
    outs = [
        empty((n, size), np.float32, f"the activations of {m!r}")
        for m, size in zip(names, sizes, strict=True)
    ]
    for a, b in ranges:
        parts = _core.node_values(spec._wire, params, masks, chunk(arr, a, b), list(names), pre)
        for out, part, size in zip(outs, parts, sizes, strict=True):
            out[a:b] = part.reshape(b - a, size)
    return {name: o.reshape(n, *sh) for name, o, sh in zip(names, outs, shapes, strict=True)}
