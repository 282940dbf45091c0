"""Spectral metrics of activations and weights: where a layer has redundant or missing capacity.

The spectral metrics need only singular values. The Rust core computes them from a float32
copy of the input with float64 accumulation: when one side of the matrix is at least twice
the other, from the small Gram matrix (``A·Aᵀ`` or ``Aᵀ·A``) with a symmetric eigensolver
(``σ = sqrt(max(λ, 0))``), otherwise with an SVD; both in float64, GIL released, on the threads
set by :func:`neuroplast.set_num_threads`. The effective dimension and the numerical rank
only count singular values above a threshold ``t``: that count is the number of eigenvalues of
the float64 Gram matrix above ``t²``, read off the signs of the pivots of a symmetric
indefinite ``LBLᵀ`` (Bunch–Kaufman) factorization of ``G − t²·I`` (Sylvester's law of
inertia), which is several times cheaper than a full spectrum. A threshold at rounding level
(``t² <= 2·(m+n)·eps·‖A‖_F²``, e.g. ``eps=0``) uses the singular values instead, and a pivot
within that rounding bound of zero (a singular value at the threshold) decides from the
eigenvalues of the Gram matrix.

Also here: GradMax's auxiliary gradient (:func:`auxiliary_gradient`) and the per-unit
statistics (:func:`unit_statistics`, :func:`cosine_redundancy`) used by unit-importance and
pruning rules.

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

from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import _convert, _numeric, as_ndim, check_int, to_float32
from neuroplast.errors import ConfigError, DataError, ShapeError
from neuroplast.limits import check_bytes

__all__ = [
    "AuxiliaryGradient",
    "UnitStatistics",
    "auxiliary_gradient",
    "auxiliary_gradient_singular_values",
    "cosine_redundancy",
    "effective_dimension",
    "numerical_rank",
    "orthogonality_gap",
    "removable_units",
    "singular_values",
    "unit_statistics",
]

#: Thesis default threshold for the effective dimension (eqs. 27 and 30).
EPS_ED = 0.01
#: Schiessler et al.'s absolute (ε₂) and relative (ε₁) thresholds for removable units (eq. 13).
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


def _matrix(a: Any, what: str = "A") -> npt.NDArray[np.float32]:
    return to_float32(as_ndim(a, what, (2,)), what)


def _channels_last(arr: npt.NDArray[Any], what: str) -> npt.NDArray[Any]:
    """``(N, C, H, W)`` as ``(N·H·W, C)`` (a copy, its size checked first)."""
    check_bytes(arr.size * arr.itemsize, f"reordering {what}")
    return np.moveaxis(arr, 1, -1).reshape(-1, arr.shape[1])


def _rows(arr: npt.NDArray[Any], what: str) -> npt.NDArray[np.float32]:
    """``arr`` as ``(N, features)`` float32, every copy's size checked first."""
    if arr.ndim != 2 and not arr.flags.c_contiguous:
        check_bytes(arr.size * arr.itemsize, f"flattening {what}")
    return to_float32(arr.reshape(arr.shape[0], -1), what)


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
        arr = as_ndim(A, "activations", (2, 4))
        if arr.ndim == 4:
            arr = _channels_last(arr, "activations")
        return _core.effective_dimension_activations(to_float32(arr, "activations"), e)
    if kind == "weights":
        arr = as_ndim(A, "weights", (2, 4))
        w = _rows(arr, "weights")
        b = None
        if bias is not None:
            barr = _numeric(bias, "bias")
            if barr.shape != (w.shape[0],):
                raise ShapeError(f"bias has shape {barr.shape}; expected ({w.shape[0]},)")
            b = to_float32(barr, "bias")
        return _core.effective_dimension_weights(w, b, e)
    raise ConfigError(f"kind must be 'activations' or 'weights', got {kind!r}")


def orthogonality_gap(A: Any, *, as_metric: bool = False) -> float:
    """Orthogonality gap of activations (Maile 2023, eq. 29 with the identity term restored).

    For ``H`` of shape ``(n, features)`` (rows are samples; conv ``(N, C, H, W)`` is
    flattened to ``(N, C·H·W)``), with the ``n × n`` Gram matrix over samples::

        gap  = ‖ H·Hᵀ / ‖H‖_F² − I_n / n ‖_F        (0 for orthonormal samples)
        φ_OG = 1 − gap

    The thesis prints ``− 1/‖I_n‖_F²`` without the identity matrix; the erratum restores
    ``I_n/‖I_n‖_F² = I_n/n``. Equal to ``sqrt(Σσ⁴/(Σσ²)² − 1/n)``, computed without a spectrum
    from the float64 Gram matrix ``G`` of the short side (``Σσ² = trace G``,
    ``Σσ⁴ = ‖G‖_F²``). ``n`` identical samples give ``gap = sqrt(1 − 1/n)``.

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
    arr = as_ndim(A, "activations", (2, 4))
    gap = _core.orthogonality_gap(_rows(arr, "activations"))
    return 1.0 - gap if as_metric else gap


def removable_units(W_or_sv: Any, eps_abs: float = EPS_ABS, eps_rel: float = EPS_REL) -> int:
    """Schiessler et al.'s count of removable units (Schiessler et al. 2021, eq. 13).

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
    arr = as_ndim(W_or_sv, "W_or_sv", (1, 2, 4))
    if arr.ndim == 1:
        sv = _convert(arr, np.float64, "singular values")
        if not np.all(np.isfinite(sv)):
            raise DataError("singular values must be finite")
    else:
        sv = _core.singular_values(_rows(arr, "W_or_sv"))
    return _core.removable_units(sv, ea, er)


class AuxiliaryGradient(NamedTuple):
    """GradMax's auxiliary gradient ``M = grad_nextᵀ·h_prev``, as its spectrum."""

    #: The ``min(M_{l+1}, M_{l-1})`` singular values of ``M``, nonincreasing.
    singular_values: npt.NDArray[np.float64]
    #: The top-``k`` left singular vectors as columns, ``(M_{l+1}, k)``; ``None`` without ``k``.
    vectors: npt.NDArray[np.float64] | None


def _gradient_pair(grad_next: Any, h_prev: Any) -> tuple[Any, Any]:
    g = _matrix(grad_next, "grad_next")
    h = _matrix(h_prev, "h_prev")
    if g.shape[0] != h.shape[0]:
        raise ShapeError(
            f"grad_next has {g.shape[0]} samples (rows) but h_prev has {h.shape[0]}; "
            "both must be (n_samples, units)"
        )
    return g, h


def auxiliary_gradient(grad_next: Any, h_prev: Any, k: int | None = None) -> AuxiliaryGradient:
    """GradMax's auxiliary gradient (Maile 2023, eq. 32; Evci et al. 2022) and its spectrum.

    For layer ``l`` with input ``h_prev`` (``(n, M_{l-1})``) and ``grad_next = ∂L/∂Z_{l+1}``
    (``(n, M_{l+1})``, the gradient of the loss with respect to the next layer's
    pre-activations), both with rows as samples::

        M = grad_nextᵀ · h_prev        (M_{l+1} × M_{l-1}, float64 accumulation)

    is the gradient of the loss with respect to the product of new neurons' fan-out and fan-in
    at zero. GradMax initializes the fan-out of ``k`` new neurons with the top-``k`` left
    singular vectors of ``M`` (scaled by the caller), which maximizes their gradient norm.

    Args:
        grad_next: ``∂L/∂Z_{l+1}``, ``(n_samples, M_{l+1})``; converted to float32.
        h_prev: Input of layer ``l``, ``(n_samples, M_{l-1})``; converted to float32.
        k: Number of left singular vectors to return, ``1 <= k <= M_{l+1}`` (beyond
            ``min(M_{l+1}, M_{l-1})`` they span the left null space of ``M``).

    Returns:
        The singular values and, with ``k``, the vectors ``(M_{l+1}, k)`` whose first
        largest-magnitude entry is positive.

    Raises:
        ShapeError: not 2-D, empty, or different numbers of samples.
        DataError: NaN/Inf values.
        ConfigError: ``k`` out of range.

    Example:
        >>> import numpy as np
        >>> g = np.array([[1.0, 0.0], [0.0, 2.0]])
        >>> h = np.array([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> aux = auxiliary_gradient(g, h, k=1)
        >>> aux.singular_values.tolist(), aux.vectors.ravel().tolist()
        ([3.0, 2.0], [1.0, 0.0])
    """
    g, h = _gradient_pair(grad_next, h_prev)
    kk = None if k is None else check_int(k, "k", 1, g.shape[1])
    s, u = _core.auxiliary_gradient(g, h, kk)
    return AuxiliaryGradient(s, u)


def auxiliary_gradient_singular_values(grad_next: Any, h_prev: Any) -> npt.NDArray[np.float64]:
    """Singular values of GradMax's auxiliary gradient ``grad_nextᵀ·h_prev``, nonincreasing.

    See :func:`auxiliary_gradient` for the arguments and errors.
    """
    g, h = _gradient_pair(grad_next, h_prev)
    return _core.auxiliary_gradient(g, h, None)[0]


class UnitStatistics(NamedTuple):
    """Per-unit statistics over the samples, one float64 value per unit."""

    mean: npt.NDArray[np.float64]
    #: Population standard deviation (as ``numpy.std``, ``ddof=0``).
    std: npt.NDArray[np.float64]
    max_abs: npt.NDArray[np.float64]
    mean_abs: npt.NDArray[np.float64]
    #: Fraction of samples that are exactly zero (1.0 for a dormant unit).
    zero_fraction: npt.NDArray[np.float64]


def _units(h: Any) -> npt.NDArray[np.float64]:
    arr = as_ndim(h, "activations", (2, 4))
    if arr.ndim == 4:
        arr = _channels_last(arr, "activations")
    return _convert(arr, np.float64, "activations")


def unit_statistics(h: Any) -> UnitStatistics:
    """Mean, std, max and mean ``|·|`` and fraction of exact zeros of every unit (float64).

    Args:
        h: Activations ``(n_samples, units)``, or conv ``(N, C, H, W)`` flattened to
            ``(N·H·W, C)`` (channels are the units).

    Raises:
        ShapeError: wrong number of dimensions or empty input.
        DataError: NaN/Inf values.

    Example:
        >>> import numpy as np
        >>> unit_statistics(np.array([[1.0, 0.0], [3.0, 0.0]])).std.tolist()
        [1.0, 0.0]
    """
    return UnitStatistics(**_core.unit_statistics(_units(h)))


def cosine_redundancy(h: Any, n_remove: int) -> npt.NDArray[np.int64]:
    """DYNO's greedy cosine-redundancy order (Maile 2023, ch. 7 §5.3): which units to remove.

    Dormant units (zero on every sample) go first, by index. Then, with ``Â`` the remaining
    columns of ``h`` normalized to unit length and ``C = ÂᵀÂ`` their cosine similarities,
    exact duplicates (in index order, a unit with ``C ≥ 1 − 1e-9`` to a lower-index unit still
    present, i.e. a positive multiple of it). Then the unit whose row of ``C`` over the units
    still present (diagonal included) has the largest L2 norm is removed, repeatedly. The
    duplicate pass is not in the thesis: with non-negative activations the greedy norm alone
    can keep an exact copy while removing a unit similar to many others. Scores within a
    relative ``1e-10`` of the largest are ties, won by the lower index. Computed in float64.

    Args:
        h: Activations ``(n_samples, units)`` or conv ``(N, C, H, W)`` (as
            :func:`unit_statistics`).
        n_remove: Number of units to remove, ``0 <= n_remove <= units``.

    Returns:
        The removed unit indices (int64) in removal order.

    Raises:
        ShapeError: wrong number of dimensions or empty input.
        DataError: NaN/Inf values.
        ConfigError: ``n_remove`` out of range.

    Example:
        >>> import numpy as np
        >>> h = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 2.0, 0.0]])
        >>> cosine_redundancy(h, 2).tolist()  # unit 3 dormant, unit 2 = 2 × unit 0
        [3, 2]
    """
    arr = _units(h)
    return _core.cosine_redundancy(arr, check_int(n_remove, "n_remove", 0, arr.shape[1]))
