"""The float64 optimizer reference: one SGD/Adam/AdamW update with PyTorch's rules.

Part of the pure-NumPy engine reference; :mod:`neuroplast.testing.reference` re-exports every
public name, so tests use ``reference.optimizer_step``.

Example:
    >>> from neuroplast import SGD
    >>> new, state = optimizer_step(SGD(lr=0.5, momentum=0.9), {"w": [1.0]}, {"w": [2.0]})
    >>> new["w"].tolist(), state.step, sorted(state.slots["w"])
    ([0.0], 1, ['momentum_buffer'])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.optim import SGD, Adam, AdamW

__all__ = ["SLOT_NAMES", "ReferenceOptimizerState", "optimizer_step"]

F64 = npt.NDArray[np.float64]

#: Per-parameter state buffers of each optimizer kind, as the engine names them.
SLOT_NAMES: Mapping[str, tuple[str, ...]] = {
    "sgd": (),
    "sgd_momentum": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
}


def _as_f64(arrays: Mapping[str, npt.ArrayLike]) -> dict[str, F64]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}


@dataclass
class ReferenceOptimizerState:
    """Float64 optimizer state: update count and per-parameter slots (engine slot names)."""

    kind: str
    step: int = 0
    slots: dict[str, dict[str, F64]] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: Any) -> ReferenceOptimizerState:
        """Copies a :class:`neuroplast.OptimizerState` (or anything with the same fields)."""
        return cls(
            str(state.kind),
            int(state.step),
            {
                p: {k: np.asarray(v, dtype=np.float64).copy() for k, v in s.items()}
                for p, s in state.slots.items()
            },
        )


def optimizer_step(
    optimizer: SGD | Adam | AdamW,
    params: Mapping[str, npt.ArrayLike],
    grads: Mapping[str, npt.ArrayLike],
    state: ReferenceOptimizerState | None = None,
) -> tuple[dict[str, F64], ReferenceOptimizerState]:
    """One update with PyTorch's rules; returns new parameters and state (inputs untouched).

    SGD (``torch.optim.SGD``, zero dampening): ``d = g + wd·w``; with momentum
    ``b = μ·b + d`` (``b = d`` on the first step) and ``d = d + μ·b`` (Nesterov) or ``d = b``;
    then ``w -= lr·d``.

    Adam (``torch.optim.Adam``): ``g += wd·w``; AdamW (``torch.optim.AdamW``): ``w *= 1 - lr·wd``
    instead. Then ``m = β1·m + (1-β1)·g``, ``v = β2·v + (1-β2)·g²`` and
    ``w -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)``.

    A ``state`` whose kind differs (except Adam ↔ AdamW, which share their moments) is
    ignored, as the engine does.
    """
    p = _as_f64(params)
    g = _as_f64(grads)
    kind = optimizer.kind
    compatible = state is not None and (
        state.kind == kind or {state.kind, kind} == {"adam", "adamw"}
    )
    old = state if compatible and state is not None else ReferenceOptimizerState(kind)
    step = old.step + 1
    new_params: dict[str, F64] = {}
    new_slots: dict[str, dict[str, F64]] = {}
    for name, w in p.items():
        slots = old.slots.get(name, {})
        grad = g[name]
        if isinstance(optimizer, SGD):
            d = grad + optimizer.weight_decay * w
            if optimizer.momentum > 0:
                prev = slots.get("momentum_buffer")
                buf = d.copy() if prev is None else optimizer.momentum * prev + d
                new_slots[name] = {"momentum_buffer": buf}
                d = d + optimizer.momentum * buf if optimizer.nesterov else buf
            else:
                new_slots[name] = {}
            new_params[name] = w - optimizer.lr * d
            continue
        b1, b2 = optimizer.betas
        if isinstance(optimizer, AdamW):
            w = w * (1.0 - optimizer.lr * optimizer.weight_decay)
        else:
            grad = grad + optimizer.weight_decay * w
        m = b1 * slots.get("exp_avg", np.zeros_like(w)) + (1 - b1) * grad
        v = b2 * slots.get("exp_avg_sq", np.zeros_like(w)) + (1 - b2) * grad * grad
        bc1 = 1.0 - b1**step
        bc2 = 1.0 - b2**step
        denom = np.sqrt(v) / math.sqrt(bc2) + optimizer.eps
        new_params[name] = w - (optimizer.lr / bc1) * m / denom
        new_slots[name] = {"exp_avg": m, "exp_avg_sq": v}
    return new_params, ReferenceOptimizerState(kind, step, new_slots)
