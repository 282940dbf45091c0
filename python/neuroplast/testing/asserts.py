"""Comparison helpers for engine-vs-reference tests (NumPy only, no test-framework imports).

Float32 results are compared with a tolerance scaled by the magnitude of the expected values:
``|actual - expected| <= atol · scale + rtol · |expected|`` where ``scale`` defaults to
``max(1, max |expected|)``. This keeps checks honest for values near zero (absolute part) and for
large values (relative part) without hand-tuning per test.

Example:
    >>> import numpy as np
    >>> from neuroplast.testing import assert_close
    >>> assert_close(np.float32([1.0, 2.0]), [1.0000001, 2.0])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from neuroplast.network import Network

__all__ = [
    "assert_all_close",
    "assert_bitwise_equal",
    "assert_close",
    "assert_function_preserved",
    "max_abs",
]


def max_abs(*arrays: npt.ArrayLike) -> float:
    """Largest absolute value over all ``arrays`` (0 for empty input)."""
    return max((float(np.max(np.abs(a), initial=0.0)) for a in arrays), default=0.0)


def assert_close(
    actual: npt.ArrayLike,
    expected: npt.ArrayLike,
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    scale: float | None = None,
    what: str = "",
) -> None:
    """Asserts ``|actual - expected| <= atol·scale + rtol·|expected|`` elementwise.

    Args:
        actual: Computed values (e.g. float32 engine output).
        expected: Reference values (e.g. float64 reference output); shapes must match.
        rtol: Relative tolerance.
        atol: Absolute tolerance, multiplied by ``scale``.
        scale: Magnitude for the absolute part; default ``max(1, max |expected|)``.
        what: Name used in the failure message.

    Raises:
        AssertionError: With the worst offending index and values.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    label = f"{what}: " if what else ""
    if a.shape != e.shape:
        raise AssertionError(f"{label}shape {a.shape} != expected shape {e.shape}")
    if not np.isfinite(a).all() or not np.isfinite(e).all():
        same = np.array_equal(a, e, equal_nan=True)
        if not same:
            raise AssertionError(f"{label}non-finite values differ:\n{a}\nvs\n{e}")
        return
    s = max(1.0, max_abs(e)) if scale is None else scale
    tol = atol * s + rtol * np.abs(e)
    err = np.abs(a - e)
    bad = err > tol
    if bad.any():
        flat = int(np.argmax(err - tol))
        idx = np.unravel_index(flat, a.shape) if a.shape else ()
        raise AssertionError(
            f"{label}{int(bad.sum())} of {a.size} values differ beyond atol={atol}·{s:.3g} + "
            f"rtol={rtol}; worst at {tuple(int(i) for i in idx)}: actual {a[idx]!r}, "
            f"expected {e[idx]!r}, error {err[idx]:.3g} > {tol[idx]:.3g}"
        )


def assert_all_close(
    actual: Mapping[str, npt.ArrayLike],
    expected: Mapping[str, npt.ArrayLike],
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    scale: float | None = None,
    what: str = "",
) -> None:
    """:func:`assert_close` for every key of two mappings with identical key sets.

    ``scale`` defaults to ``max(1, max |expected|)`` over *all* arrays, so tiny entries of one
    tensor are judged against the magnitude of the whole set (as float32 rounding is).
    """
    if set(actual) != set(expected):
        raise AssertionError(f"{what}: keys differ: {sorted(actual)} != {sorted(expected)}")
    s = max(1.0, max_abs(*expected.values())) if scale is None else scale
    for k in expected:
        assert_close(actual[k], expected[k], rtol=rtol, atol=atol, scale=s, what=f"{what}[{k}]")


def assert_bitwise_equal(
    actual: Mapping[str, npt.ArrayLike], expected: Mapping[str, npt.ArrayLike], what: str = ""
) -> None:
    """Asserts two mappings of arrays have the same keys, shapes, dtypes and bytes."""
    if set(actual) != set(expected):
        raise AssertionError(f"{what}: keys differ: {sorted(actual)} != {sorted(expected)}")
    for k in expected:
        a, e = np.asarray(actual[k]), np.asarray(expected[k])
        if a.shape != e.shape or a.dtype != e.dtype or a.tobytes() != e.tobytes():
            raise AssertionError(f"{what}[{k}] differs bitwise:\n{a!r}\nvs\n{e!r}")


def same_network(a: Network | None, b: Network | None) -> bool:
    """Whether ``a`` and ``b`` are both networks with the same spec and the same parameter bytes.

    Example:
        >>> from neuroplast import Network, Spec
        >>> a = Network.init(Spec.mlp(4, [8], 3), seed=0)
        >>> same_network(a, a.copy()), same_network(a, Network.init(a.spec, seed=1))
        (True, False)
    """
    if a is None or b is None or a.spec != b.spec:
        return False
    pa, pb = a.params, b.params
    return all(
        pa[k].dtype == pb[k].dtype
        and pa[k].shape == pb[k].shape
        and pa[k].tobytes() == pb[k].tobytes()
        for k in pa
    )


def assert_function_preserved(
    before: Network, after: Network, X: npt.ArrayLike, *, rtol: float = 1e-5, atol: float = 1e-6
) -> None:
    """Asserts ``|f_after(X) − f_before(X)| <= atol + rtol·max(1, max |f_before(X)|)``.

    The relative part is taken against the largest output magnitude of the batch, which is
    the scale float32 rounding acts on.

    Raises:
        AssertionError: With the worst offending output.
    """
    a, b = before.forward(X), after.forward(X)
    scale = max(1.0, max_abs(a))
    assert_close(b, a, rtol=0.0, atol=atol / scale + rtol, scale=scale, what="edited output")
