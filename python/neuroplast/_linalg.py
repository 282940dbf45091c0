"""Float64 SVD and least squares from the Rust core (faer), for the structural edits.

Unlike ``numpy.linalg``, these do not depend on the local LAPACK build, and they run
sequentially, so an edit computed with them gives the same numbers for any thread setting.
Signs of singular vectors are fixed: the first largest-magnitude entry of each left singular
vector is positive and its right singular vector flips with it (the convention of
:mod:`neuroplast.morph.svd`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import as_ndim
from neuroplast.errors import ShapeError

__all__ = ["lstsq", "svd"]

F64 = npt.NDArray[np.float64]


def _f64(a: Any, what: str, ndims: tuple[int, ...] = (2,)) -> F64:
    arr = as_ndim(a, what, ndims)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(arr, dtype=np.float64)


def svd(a: Any, full_matrices: bool) -> tuple[F64, F64, F64]:
    """Singular value decomposition ``a = u @ np.diag(s) @ vt`` in float64.

    Args:
        a: A real 2-D array ``(m, n)``.
        full_matrices: Square ``u`` ``(m, m)`` and ``vt`` ``(n, n)``; otherwise the thin
            factors ``(m, k)`` and ``(k, n)``, ``k = min(m, n)``.

    Returns:
        ``(u, s, vt)`` as ``numpy.linalg.svd``: ``s`` nonincreasing, signs fixed as above.

    Raises:
        ShapeError: ``a`` is not 2-D or is empty.
        DataError: NaN or infinite values.
        NumericalError: the SVD does not converge.

    Example:
        >>> import numpy as np
        >>> u, s, vt = svd(np.array([[0.0, -2.0], [1.0, 0.0]]), full_matrices=False)
        >>> s.tolist(), (u[:, 0] + 0.0).tolist(), (vt[0] + 0.0).tolist()  # + 0.0: no -0.0
        ([2.0, 1.0], [1.0, 0.0], [0.0, -1.0])
    """
    return _core.svd(_f64(a, "a"), bool(full_matrices))


def lstsq(a: Any, b: Any) -> F64:
    """Minimum-norm least-squares solution of ``a @ x ≈ b`` in float64.

    Equal to ``numpy.linalg.lstsq(a, b, rcond=None)[0]`` up to rounding: computed from the SVD
    of ``a``, with singular values ``<= max(m, n)·eps·σ_max`` treated as zero.

    Args:
        a: A real 2-D array ``(m, n)``.
        b: ``(m,)`` or ``(m, k)``.

    Returns:
        ``x`` of shape ``(n,)`` or ``(n, k)``, following ``b``.

    Raises:
        ShapeError: wrong number of dimensions, empty input, or ``b`` with a number of rows
            other than ``m``.
        DataError: NaN or infinite values.
        NumericalError: the SVD does not converge.

    Example:
        >>> import numpy as np
        >>> lstsq(np.array([[1.0, 1.0], [2.0, 2.0]]), np.array([2.0, 4.0])).round(12).tolist()
        [1.0, 1.0]
    """
    aa = _f64(a, "a")
    bb = _f64(b, "b", (1, 2))
    if bb.shape[0] != aa.shape[0]:
        raise ShapeError(f"b has {bb.shape[0]} rows but a has {aa.shape[0]}; they must match")
    x = _core.lstsq(aa, bb.reshape(bb.shape[0], -1))
    return x[:, 0] if bb.ndim == 1 else x
