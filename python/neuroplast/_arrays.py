"""Input coercion shared by every public entry point: dtype, shape and contiguity checks.

Values (finiteness, label range) are checked by the Rust core in the same pass that uses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, DTypeError, NeuroplastError, ShapeError
from neuroplast.spec import Spec

__all__ = [
    "as_features",
    "as_labels",
    "as_mask",
    "as_ndim",
    "as_targets",
    "check_int",
    "to_float32",
]


def check_int(
    value: object,
    name: str,
    low: int,
    high: int | None = None,
    *,
    error: type[NeuroplastError] = ConfigError,
) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (bools and floats rejected), else ``error``."""
    number = int(value) if isinstance(value, (int, np.integer)) else None
    if (
        isinstance(value, bool)
        or number is None
        or number < low
        or (high is not None and number > high)
    ):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise error(f"{name} must be an integer {bounds}, got {value!r}")
    return number


def _numeric(a: Any, what: str) -> npt.NDArray[Any]:
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise DTypeError(f"{what} cannot be converted to an array: {exc}") from exc
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise DTypeError(f"{what} must be a real numeric array, got dtype {arr.dtype}")
    return arr


def as_ndim(a: Any, what: str, ndims: tuple[int, ...]) -> npt.NDArray[Any]:
    """A non-empty numeric array with one of ``ndims`` dimensions, else ShapeError."""
    arr = _numeric(a, what)
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ShapeError(f"{what} must be {want}, got shape {arr.shape}")
    if arr.size == 0:
        raise ShapeError(f"{what} is empty (shape {arr.shape})")
    return arr


def to_float32(arr: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """C-contiguous float32 version of ``arr``.

    Values beyond the float32 range become ``inf`` without a warning; the core then rejects
    them with a ``DataError`` naming the position.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(arr, dtype=np.float32)


def as_mask(m: Any, width: int, what: str) -> npt.NDArray[np.float32]:
    """A 1-D float32 per-unit mask of length ``width``."""
    arr = _numeric(m, what)
    if arr.shape != (width,):
        raise ShapeError(f"{what} has shape {arr.shape}; expected ({width},), one value per unit")
    return to_float32(arr)


def as_features(x: Any, spec: Spec, what: str = "X") -> npt.NDArray[np.float32]:
    """``N × n_inputs`` C-contiguous float32 from ``(N, n_in)`` or ``(N, *input_shape)``."""
    arr = _numeric(x, what)
    if arr.ndim == 2 and arr.shape[1] == spec.n_inputs:
        flat = arr
    elif arr.ndim >= 2 and tuple(arr.shape[1:]) == spec.input_shape:
        flat = arr.reshape(arr.shape[0], -1)
    else:
        raise ShapeError(
            f"{what} has shape {arr.shape}; expected (n_samples, {spec.n_inputs}) or "
            f"(n_samples, *{spec.input_shape})"
        )
    return to_float32(flat)


def as_labels(y: Any, n: int, what: str = "y") -> npt.NDArray[np.int64]:
    """1-D int64 class labels of length ``n`` (integer dtypes only, no silent rounding)."""
    arr = _numeric(y, what)
    if not np.issubdtype(arr.dtype, np.integer):
        raise DTypeError(f"{what} must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ShapeError(f"{what} has shape {arr.shape}; expected ({n},) to match the features")
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise DTypeError(f"{what} has labels too large for int64")
    return np.ascontiguousarray(arr, dtype=np.int64)


def as_targets(y: Any, n: int, n_out: int, what: str = "y") -> npt.NDArray[np.float32]:
    """``n × n_out`` float32 regression targets (``(n,)`` accepted when ``n_out == 1``)."""
    arr = _numeric(y, what)
    if arr.ndim == 1 and n_out == 1:
        arr = arr[:, None]
    if arr.shape != (n, n_out):
        raise ShapeError(f"{what} has shape {arr.shape}; expected ({n}, {n_out})")
    return to_float32(arr)
