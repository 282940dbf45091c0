"""Input validation shared by the perceptron LP modules: float64 data, shapes, limits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import _numeric
from neuroplast.errors import ConfigError, DataError, ShapeError

__all__ = ["as_matrix", "as_targets", "check_limits", "labels_to_targets"]

F64 = npt.NDArray[np.float64]


def as_matrix(a: Any, what: str, n_cols: int | None = None) -> F64:
    """A finite, non-empty 2-D float64 copy of ``a`` (``n_cols`` columns if given)."""
    arr = _numeric(a, what)
    if arr.ndim != 2:
        raise ShapeError(f"{what} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if n_cols is not None and arr.shape[1] != n_cols:
        raise ShapeError(f"{what} has {arr.shape[1]} columns; expected {n_cols}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"{what} is empty (shape {arr.shape})")
    out = np.array(arr, dtype=np.float64, order="C")
    if not np.isfinite(out).all():
        raise DataError(f"{what} contains non-finite values (NaN or Inf)")
    return out


def as_targets(y: Any, n_samples: int, what: str = "Y") -> F64:
    """``(n_samples, m)`` float64 targets from ``(n_samples, m)`` or ``(n_samples,)``."""
    arr = _numeric(y, what)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_samples:
        raise ShapeError(
            f"{what} has shape {arr.shape}; expected ({n_samples},) or ({n_samples}, m) "
            "to match the inputs"
        )
    return as_matrix(arr, what)


def check_limits(limits: Any) -> tuple[float, float]:
    """``(lo, hi)`` as floats with ``lo < hi``, both finite."""
    try:
        lo, hi = (float(v) for v in limits)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"limits must be a pair (lo, hi) of numbers, got {limits!r}") from exc
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(f"limits must be finite with lo < hi, got {limits!r}")
    return lo, hi


def labels_to_targets(
    labels: npt.ArrayLike,
    n_classes: int | None = None,
    limits: tuple[float, float] = (-1.0, 1.0),
) -> F64:
    """One-versus-rest targets: ``hi`` in the column of each sample's class, ``lo`` elsewhere.

    Args:
        labels: ``(T,)`` integer class labels in ``0 .. n_classes - 1``.
        n_classes: Number of classes (default ``max(labels) + 1``).
        limits: ``(lo, hi)`` target values.

    Returns:
        ``(T, n_classes)`` float64 targets.

    Raises:
        DataError: Labels are not integers, negative or ``>= n_classes``, or empty.
        ShapeError: ``labels`` is not 1-D.

    Example:
        >>> labels_to_targets([0, 2, 1]).tolist()
        [[1.0, -1.0, -1.0], [-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]
    """
    arr = _numeric(labels, "labels")
    if arr.ndim != 1:
        raise ShapeError(f"labels must be 1-D, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"labels must be integers, got dtype {arr.dtype}")
    if arr.size == 0:
        raise DataError("labels is empty")
    k = int(arr.max()) + 1 if n_classes is None else int(n_classes)
    if arr.min() < 0 or arr.max() >= k:
        raise DataError(f"labels must lie in [0, {k - 1}]")
    lo, hi = check_limits(limits)
    out = np.full((arr.shape[0], k), lo)
    out[np.arange(arr.shape[0]), arr] = hi
    return out
