"""Input coercion shared by every public entry point: dtype, shape and contiguity checks.

Values (finiteness, label range) are checked by the Rust core in the same pass that uses them.
Every conversion that copies is checked against the resource policy first
(:mod:`neuroplast.limits`), so a huge or broadcast input is refused with a
:class:`~neuroplast.ResourceLimitError` instead of exhausting memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import (
    ConfigError,
    DTypeError,
    NeuroplastError,
    ResourceLimitError,
    ShapeError,
)
from neuroplast.limits import check_bytes, get_limits
from neuroplast.spec import Spec

__all__ = [
    "as_features",
    "as_labels",
    "as_mask",
    "as_ndim",
    "as_targets",
    "check_int",
    "chunk",
    "empty",
    "feature_chunks",
    "feature_view",
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


def _copies(arr: npt.NDArray[Any], dtype: Any) -> bool:
    # The core reads arrays as slices, which need the element alignment: a buffer that is
    # not aligned (e.g. unpickled from a packed message) is copied like a strided one.
    return arr.dtype != dtype or not arr.flags.c_contiguous or not arr.flags.aligned


def _convert(arr: npt.NDArray[Any], dtype: Any, what: str) -> npt.NDArray[Any]:
    """``np.ascontiguousarray(arr, dtype)``, its size checked first when it copies."""
    if _copies(arr, dtype):
        check_bytes(arr.size * np.dtype(dtype).itemsize, f"converting {what}")
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if not arr.flags.aligned:  # ascontiguousarray would return it as it is
                return np.array(arr, dtype=dtype, order="C", copy=True)
            return np.ascontiguousarray(arr, dtype=dtype)
    except MemoryError as exc:
        raise ResourceLimitError(f"cannot allocate memory for converting {what}: {exc}") from exc


def to_float32(arr: npt.NDArray[Any], what: str = "an array") -> npt.NDArray[np.float32]:
    """C-contiguous float32 version of ``arr`` (its size checked first when it copies).

    Values beyond the float32 range become ``inf`` without a warning; the core then rejects
    them with a ``DataError`` naming the position.
    """
    return _convert(arr, np.float32, what)


def empty(shape: tuple[int, ...], dtype: Any, what: str) -> npt.NDArray[Any]:
    """An uninitialized array, its size checked against ``max_bytes`` first."""
    check_bytes(int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize, what)
    try:
        return np.empty(shape, dtype)
    except (MemoryError, ValueError) as exc:
        raise ResourceLimitError(f"cannot allocate {what} of shape {shape}: {exc}") from exc


def as_mask(m: Any, width: int, what: str) -> npt.NDArray[np.float32]:
    """A 1-D float32 per-unit mask of length ``width``."""
    arr = _numeric(m, what)
    if arr.shape != (width,):
        raise ShapeError(f"{what} has shape {arr.shape}; expected ({width},), one value per unit")
    return to_float32(arr, what)


def as_weight_mask(m: Any, shape: tuple[int, ...], what: str) -> npt.NDArray[np.float32]:
    """A 0/1 float32 mask of a parameter of ``shape`` (booleans allowed), flattened."""
    if getattr(m, "dtype", None) == np.bool_:
        m = np.asarray(m, np.float32)
    arr = to_float32(_numeric(m, what), what)
    if arr.shape != shape:
        raise ShapeError(f"{what} has shape {arr.shape}; the parameter has {shape}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ConfigError(f"{what} must hold only 0 and 1")
    return arr.reshape(-1)


def feature_view(x: Any, spec: Spec, what: str = "X") -> npt.NDArray[Any]:
    """``x`` as an array of shape ``(N, n_in)`` or ``(N, *input_shape)``, not yet converted."""
    arr = _numeric(x, what)
    if (arr.ndim == 2 and arr.shape[1] == spec.n_inputs) or (
        arr.ndim >= 2 and tuple(arr.shape[1:]) == spec.input_shape
    ):
        return arr
    raise ShapeError(
        f"{what} has shape {arr.shape}; expected (n_samples, {spec.n_inputs}) or "
        f"(n_samples, *{spec.input_shape})"
    )


def _flat(arr: npt.NDArray[Any], what: str) -> npt.NDArray[np.float32]:
    if arr.ndim != 2:
        if _copies(arr, np.float32):
            check_bytes(arr.size * 4, f"converting {what}")
        arr = arr.reshape(arr.shape[0], -1)
    return to_float32(arr, what)


def as_features(x: Any, spec: Spec, what: str = "X") -> npt.NDArray[np.float32]:
    """``N × n_inputs`` C-contiguous float32 from ``(N, n_in)`` or ``(N, *input_shape)``."""
    return _flat(feature_view(x, spec, what), what)


def feature_chunks(
    arr: npt.NDArray[Any], spec: Spec, what: str = "X"
) -> list[tuple[int, int]] | None:
    """Row ranges in which to convert the features ``arr`` (from :func:`feature_view`).

    ``None`` when they need no conversion or fit in one chunk of ``chunk_bytes``.

    Chunks hold a multiple of 1024 rows (the engine's inference block) when they can, so a
    chunked call computes exactly what one call on the converted array would.
    """
    n, n_in = arr.shape[0], spec.n_inputs
    if not _copies(arr, np.float32):  # a C-contiguous float32 array reshapes as a view
        return None
    rows = get_limits().chunk_bytes // (4 * n_in)
    rows = rows // 1024 * 1024 if rows >= 1024 else max(rows, 1)
    if rows >= n:
        return None
    return [(a, min(a + rows, n)) for a in range(0, n, rows)]


def chunk(arr: npt.NDArray[Any], a: int, b: int, what: str = "X") -> npt.NDArray[np.float32]:
    """Rows ``a:b`` of the features ``arr`` as ``(b - a) × n_in`` C-contiguous float32."""
    return _flat(arr[a:b], what)


def as_labels(y: Any, n: int, what: str = "y") -> npt.NDArray[np.int64]:
    """1-D int64 class labels of length ``n`` (integer dtypes only, no silent rounding)."""
    arr = _numeric(y, what)
    if not np.issubdtype(arr.dtype, np.integer):
        raise DTypeError(f"{what} must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ShapeError(f"{what} has shape {arr.shape}; expected ({n},) to match the features")
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise DTypeError(f"{what} has labels too large for int64")
    return _convert(arr, np.int64, what)


def as_targets(y: Any, n: int, n_out: int, what: str = "y") -> npt.NDArray[np.float32]:
    """``n × n_out`` float32 regression targets (``(n,)`` accepted when ``n_out == 1``)."""
    arr = _numeric(y, what)
    if arr.ndim == 1 and n_out == 1:
        arr = arr[:, None]
    if arr.shape != (n, n_out):
        raise ShapeError(f"{what} has shape {arr.shape}; expected ({n}, {n_out})")
    return to_float32(arr, what)
