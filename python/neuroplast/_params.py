"""Parameter and optimizer-state arrays as a :class:`~neuroplast.Network` holds them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import _numeric, check_int, to_float32
from neuroplast.errors import ConfigError, DataError, ShapeError
from neuroplast.optim import OptimizerState

__all__ = ["adopt", "as_param", "checked_state"]

F32 = npt.NDArray[np.float32]


def as_param(a: npt.ArrayLike, shape: tuple[int, ...], name: str) -> F32:
    """A read-only float32 copy of ``a`` with the given shape and finite values."""
    arr = to_float32(_numeric(a, name)).copy()
    if arr.shape != shape:
        raise ShapeError(f"{name} has shape {arr.shape}, the spec needs {shape}")
    if not np.isfinite(arr).all():
        raise DataError(f"{name} contains non-finite values")
    arr.setflags(write=False)
    return arr


def adopt(flat: F32, shape: tuple[int, ...]) -> F32:
    """A read-only view of an array the engine just created, in its parameter's shape."""
    arr = flat.reshape(shape)
    arr.setflags(write=False)
    return arr


_SLOTS = {"sgd": ((), ("momentum_buffer",)), "adam": (("exp_avg", "exp_avg_sq"),)}


def checked_state(state: object, shapes: Mapping[str, tuple[int, ...]]) -> OptimizerState:
    """A float32, read-only copy of ``state`` after checking it against the parameters."""
    if not isinstance(state, OptimizerState):
        raise ConfigError(f"optimizer_state must be an OptimizerState, got {type(state).__name__}")
    family = "adam" if state.kind in ("adam", "adamw") else state.kind
    if family not in _SLOTS:
        raise ConfigError(f"unknown optimizer kind {state.kind!r} in optimizer_state")
    step = check_int(state.step, "optimizer_state.step", 0, 2**63 - 1)
    if set(state.slots) != set(shapes):
        raise ShapeError("optimizer_state does not have one entry per parameter")
    names = {tuple(sorted(s)) for s in state.slots.values()}
    if len(names) > 1 or (names and next(iter(names)) not in _SLOTS[family]):
        raise ShapeError(f"optimizer_state slots {sorted(names)} do not fit a {state.kind} state")
    slots = {
        p: {k: as_param(v, shapes[p], f"optimizer_state[{p!r}][{k!r}]") for k, v in s.items()}
        for p, s in state.slots.items()
    }
    return OptimizerState(state.kind, step, slots)
