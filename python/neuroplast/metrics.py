"""Spectral metrics of activations and weights: where a layer has redundant or missing capacity.

All metrics need only singular values. The Rust core computes them from a float32 copy of the
input with float64 accumulation: when one side of the matrix is at least twice the other, from
the small Gram matrix (``A·Aᵀ`` or ``Aᵀ·A``) with a symmetric eigensolver
(``σ = sqrt(max(λ, 0))``), otherwise with an SVD; both in float64, GIL released, on the threads
set by :func:`neuroplast.set_num_threads`.

Layouts:

- Activations are ``(n_samples, n_units)`` (rows are samples), the transpose of the thesis'
  ``H_l ∈ R^{M_l × n}``; the singular values are the same. Convolutional activations
  ``(N, C, H, W)`` are flattened as in the thesis (Maile 2023, Sec. 6.2.3): for the effective
  dimension the channels are the units and every spatial position of every sample is a sample,
  ``(N·H·W, C)`` (the thesis' ``M_l × (H_l W_l n)``); for the orthogonality gap each sample is
  one vector of ``C·H·W`` features, ``(N, C·H·W)`` (the thesis' ``(H_l W_l M_l) × n``).
- Weights are ``(units, fan_in)`` as stored by :class:`neuroplast.layers.Dense`; conv kernels
  ``(C_out, C_in, kh, kw)`` are flattened to ``(C_out, C_in·kh·kw)``. A bias, when given, is
  appended as one extra column (the thesis writes ``(M_{l-1}+1)·k²`` columns for convs; one
  bias column is used here, since a bias is one value per output channel).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import _numeric, to_float32
from neuroplast.errors import ConfigError, DataError, ShapeError

__all__ = [
    "effective_dimension",
    "numerical_rank",
    "orthogonality_gap",
    "removable_units",
    "singular_values",
]

#: Thesis default threshold for the effective dimension (eqs. 27 and 30).
EPS_ED = 0.01
#: Seed 001's absolute (ε₂) and relative (ε₁) thresholds for removable units (eq. 13).
EPS_ABS = 0.3
EPS_REL = 0.005


def _eps(value: object, name: str) -> float:
    """``value`` as a finite float ``>= 0`` (bools and non-numbers rejected), else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a real number >= 0, got {value!r}")
    eps = float(value)
    if not np.isfinite(eps) or eps < 0:
        raise ConfigError(f"{name} must be finite and >= 0, got {value!r}")
    return eps


def _array(a: Any, what: str, ndims: tuple[int, ...]) -> npt.NDArray[Any]:
    arr = _numeric(a, what)
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ShapeError(f"{what} must be {want}, got shape {arr.shape}")
    if arr.size == 0:
        raise ShapeError(f"{what} is empty (shape {arr.shape})")
    return arr


def _matrix(a: Any, what: str = "A") -> npt.NDArray[np.float32]:
    return to_float32(_array(a, what, (2,)))


def singular_values(A: Any) -> npt.NDArray[np.float64]:
    """Singular values of a 2-D matrix, nonincreasing, as float64.

    Args:
        A: A real 2-D array ``(m, n)``; converted to float32 once.

    Returns:
        The ``min(m, n)`` singular values, largest first.

    Raises:
        ShapeError: ``A`` is not 2-D or is empty.
        DataError: ``A`` has NaN or infinite values.

    Example:
        >>> import numpy as np
        >>> singular_values(np.diag([3.0, 1.0, 2.0])).tolist()
        [3.0, 2.0, 1.0]
    """
    return _core.singular_values(_matrix(A))


def numerical_rank(A: Any, eps: float = EPS_ED) -> int:
    """ε-numerical rank: the number of singular values strictly greater than ``eps``.

    Args:
        A: A real 2-D array.
        eps: Absolute threshold ``>= 0``.

    Raises:
        ShapeError: ``A`` is not 2-D or is empty.
        DataError: ``A`` has NaN or infinite values.
        ConfigError: ``eps`` is negative or not finite.

    Example:
        >>> import numpy as np
        >>> numerical_rank(np.outer([1.0, 2.0, 3.0], [1.0, 1.0]))
        1
    """
    return _core.numerical_rank(_matrix(A), _eps(eps, "eps"))


def effective_dimension(
    A: Any,
    kind: Literal["activations", "weights"] = "activations",
    *,
    eps: float = EPS_ED,
    bias: Any = None,
) -> float:
    """Effective dimension φ_ED of a layer's activations or weights (Maile 2023, eqs. 27, 30).

    Activations (eq. 27), ``H`` of shape ``(n, M)`` (samples × units) or ``(N, C, H, W)``::

        φ_ED = |{σ ∈ SVD(H / sqrt(n)) : σ > ε}| / M

    Conv activations are flattened to ``(N·H·W, C)``, so ``n = N·H·W``. The thesis requires
    more samples than units; fewer than ``M`` samples raise :class:`DataError`.

    Weights (eq. 30 with the digest's erratum: scale by the number of columns, not samples),
    ``W`` of shape ``(M, fan_in)`` or ``(C_out, C_in, kh, kw)`` and optional ``bias`` ``(M,)``::

        φ_ED = |{σ ∈ SVD([W | b] / sqrt(cols)) : σ > ε}| / M,  cols = fan_in (+ 1 with a bias)

    Args:
        A: Activations or weights, as above.
        kind: ``"activations"`` or ``"weights"``.
        eps: Absolute threshold ``ε >= 0`` on the scaled singular values (thesis: 0.01).
        bias: Only for ``kind="weights"``: the layer's bias, one value per unit.

    Returns:
        A value in ``[0, 1]``; ``r / M`` for activations of rank ``r`` with singular values
        well above ``ε·sqrt(n)``.

    Raises:
        ShapeError: wrong number of dimensions, empty input, or a bias of the wrong length.
        DataError: NaN/Inf values, or fewer samples than units.
        ConfigError: a bad ``eps`` or ``kind``, or a bias with ``kind="activations"``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> H = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 8))  # rank 3, 8 units
        >>> effective_dimension(H)
        0.375
    """
    e = _eps(eps, "eps")
    if kind == "activations":
        if bias is not None:
            raise ConfigError("bias is only used with kind='weights'")
        arr = _array(A, "activations", (2, 4))
        if arr.ndim == 4:
            arr = np.moveaxis(arr, 1, -1).reshape(-1, arr.shape[1])
        return _core.effective_dimension_activations(to_float32(arr), e)
    if kind == "weights":
        arr = _array(A, "weights", (2, 4))
        w = to_float32(arr.reshape(arr.shape[0], -1))
        b = None
        if bias is not None:
            barr = _numeric(bias, "bias")
            if barr.shape != (w.shape[0],):
                raise ShapeError(f"bias has shape {barr.shape}; expected ({w.shape[0]},)")
            b = to_float32(barr)
        return _core.effective_dimension_weights(w, b, e)
    raise ConfigError(f"kind must be 'activations' or 'weights', got {kind!r}")


def orthogonality_gap(A: Any, *, as_metric: bool = False) -> float:
    """Orthogonality gap of activations (Maile 2023, eq. 29 with the identity term restored).

    For ``H`` of shape ``(n, features)`` (rows are samples; conv ``(N, C, H, W)`` is
    flattened to ``(N, C·H·W)``), with the ``n × n`` Gram matrix over samples::

        gap  = ‖ H·Hᵀ / ‖H‖_F² − I_n / n ‖_F        (0 for orthonormal samples)
        φ_OG = 1 − gap

    The thesis prints ``− 1/‖I_n‖_F²`` without the identity matrix; the erratum restores
    ``I_n/‖I_n‖_F² = I_n/n``. Computed from the singular values as
    ``sqrt(Σσ⁴/(Σσ²)² − 1/n)``. ``n`` identical samples give ``gap = sqrt(1 − 1/n)``.

    Args:
        A: Activations, as above.
        as_metric: Return ``φ_OG = 1 − gap`` instead of the gap.

    Raises:
        ShapeError: wrong number of dimensions or empty input.
        DataError: NaN/Inf values or an all-zero matrix.

    Example:
        >>> import numpy as np
        >>> round(orthogonality_gap(np.ones((10, 3))), 6)
        0.948683
        >>> orthogonality_gap(np.eye(4), as_metric=True)
        1.0
    """
    arr = _array(A, "activations", (2, 4))
    gap = _core.orthogonality_gap(to_float32(arr.reshape(arr.shape[0], -1)))
    return 1.0 - gap if as_metric else gap


def removable_units(W_or_sv: Any, eps_abs: float = EPS_ABS, eps_rel: float = EPS_REL) -> int:
    """Seed 001's count of removable units (Schiessler et al. 2021, eq. 13).

    The number of singular values that are small in absolute or relative terms::

        n_r = |{σ_i, i = 1..k : σ_i < ε₁·σ_1  or  σ_i < ε₂}|,  ε₂ = eps_abs, ε₁ = eps_rel

    with ``k = min(units, fan_in)`` as in the paper (units beyond the rank bound are not
    added).

    Args:
        W_or_sv: A weight matrix ``(units, fan_in)`` (or conv kernel ``(C_out, C_in, kh, kw)``,
            flattened to ``(C_out, C_in·kh·kw)``), or a 1-D array of singular values.
        eps_abs: Absolute threshold ε₂ (paper: 0.3).
        eps_rel: Relative threshold ε₁, a fraction of the largest singular value (paper: 0.005).

    Raises:
        ShapeError: not 1-, 2- or 4-D, or empty.
        DataError: NaN/Inf values, or negative singular values.
        ConfigError: a negative or non-finite threshold.

    Example:
        >>> import numpy as np
        >>> removable_units(np.array([100.0, 10.0, 0.4, 0.29, 0.0]))
        3
    """
    ea, er = _eps(eps_abs, "eps_abs"), _eps(eps_rel, "eps_rel")
    arr = _array(W_or_sv, "W_or_sv", (1, 2, 4))
    if arr.ndim == 1:
        sv = np.ascontiguousarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(sv)):
            raise DataError("singular values must be finite")
    else:
        sv = singular_values(arr.reshape(arr.shape[0], -1))
    return _core.removable_units(sv, ea, er)
