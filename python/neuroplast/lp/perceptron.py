"""The one-layer perceptron LP of seed 004: zero training error first, then minimal L1 weights.

A layer of ``m`` perceptrons computes ``y_j = f(Σ_i w_ji x_i + u_j)`` with the saturation
``f(z) = clip(z, lo, hi)`` (limits ``(-1, 1)`` by default). For every output ``j`` and sample
``t`` one constraint ties the pre-activation to the target ``y_j(t)``:

* target on the upper limit (``y ≥ hi``): ``Σ_i w_ji x_i(t) + u_j − s_jt + a_jt = hi``;
* target on the lower limit (``y ≤ lo``): ``Σ_i w_ji x_i(t) + u_j + s_jt − a_jt = lo``;
* target inside the range, or any target of a linear perceptron:
  ``Σ_i w_ji x_i(t) + u_j − s_jt + a_jt = y_j(t)``.

``s_jt ≥ 0`` is a surplus and ``a_jt ≥ 0`` an artificial variable. The free parameters are
split, ``w = w⁺ − w⁻`` and ``u = u⁺ − u⁻`` with all parts ``≥ 0``, and the LP minimizes

    M·Σ a_jt + Σ (w⁺ + w⁻) + Σ (u⁺ + u⁻)   (+ M·Σ s_jt over the equality rows),

so the artificials (training error) are driven to zero first and the L1 norm of the parameters
second, which leaves unneeded links at exactly zero. On an equality row the surplus is charged
``M`` as well, making ``a − s`` a free residual paid at ``M`` per unit; the seed only writes
the inequality rows with an artificial, and this keeps every row of the same shape.

The LP separates by output, so each output is solved on its own: ``T`` rows, columns
``[w⁺ (n), w⁻ (n), u⁺, u⁻, a (T), s (T)]`` — a dense data block followed by two singleton
columns per row, the structure the structure-exploiting solver of :func:`neuroplast.lp.linprog`
looks for. The optimum equals that of the seed's single LP over all outputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._threads import blas_threads
from neuroplast.errors import ConfigError, DataError
from neuroplast.lp._checks import as_matrix, as_targets, check_limits
from neuroplast.lp._solve import F64, check_method, solve_equality_lp

__all__ = ["DEFAULT_BIG_M", "PerceptronResult", "build_perceptron_lp", "optimize_perceptron"]

#: Default weight of the artificial variables. Large against the L1 norm of any useful weight
#: vector on data scaled to about unit size, small enough to keep interior-point steps well
#: conditioned in double precision.
DEFAULT_BIG_M = 1.0e4

LPActivation = Literal["saturation", "linear"]


@dataclass(frozen=True, eq=False)
class PerceptronResult:
    """The optimum of :func:`optimize_perceptron`.

    Attributes:
        weights: ``(m, n)`` weights ``W`` (entries below ``tol`` in magnitude set to 0).
        biases: ``(m,)`` biases ``U``.
        artificial: ``(m, T)`` artificial values, the per-sample training error of each
            output (0 where the target is met).
        objective: Optimal LP objective, summed over outputs.
        n_links: Number of nonzero weights (biases not counted).
        nit: Solver iterations, summed over outputs.
        status: Solver status, always 0 (optimal): failures raise ``NumericalError``.
        big_m: The artificial weight used.
        activation: ``"saturation"`` or ``"linear"``.
        limits: Saturation limits ``(lo, hi)``.
    """

    weights: F64
    biases: F64
    artificial: F64
    objective: float
    n_links: int
    nit: int
    status: int
    big_m: float
    activation: str
    limits: tuple[float, float]

    @property
    def error(self) -> float:
        """Total training error ``Σ a_jt``."""
        return float(self.artificial.sum())

    @property
    def n_errors(self) -> int:
        """Number of samples with at least one output off its target."""
        return int((self.artificial > 0).any(axis=0).sum())

    @property
    def l1_norm(self) -> float:
        """``Σ |w| + Σ |u|``, the second goal of the LP."""
        return float(np.abs(self.weights).sum() + np.abs(self.biases).sum())

    def predict(self, X: npt.ArrayLike) -> F64:
        """Outputs ``f(X Wᵀ + U)`` of the optimized layer, shape ``(T, m)``."""
        z = as_matrix(X, "X", self.weights.shape[1]) @ self.weights.T + self.biases
        if self.activation == "linear":
            return z
        lo, hi = self.limits
        return np.clip(z, lo, hi)


def _row_signs(y: F64, activation: str, limits: tuple[float, float]) -> tuple[F64, F64, F64]:
    """Right-hand side, artificial sign and surplus cost factor of each row for one output."""
    lo, hi = limits
    if activation == "linear":
        return y.copy(), np.ones_like(y), np.ones_like(y)
    upper, lower = y >= hi, y <= lo
    rhs = np.where(upper, hi, np.where(lower, lo, y))
    sign = np.where(lower, -1.0, 1.0)
    # The surplus is free on inequality rows and a second artificial on equality rows.
    surplus_cost = np.where(upper | lower, 0.0, 1.0)
    return rhs, sign, surplus_cost


def build_perceptron_lp(
    X: F64,
    y: F64,
    *,
    activation: str = "saturation",
    big_m: float = DEFAULT_BIG_M,
    limits: tuple[float, float] = (-1.0, 1.0),
) -> tuple[F64, F64, F64]:
    """The equality-form LP ``(c, A_eq, b_eq)`` of one output (see the module docstring).

    Args:
        X: ``(T, n)`` inputs, already validated.
        y: ``(T,)`` targets of the output.
        activation: ``"saturation"`` or ``"linear"``.
        big_m: Weight of the artificial variables.
        limits: Saturation limits ``(lo, hi)``.

    Returns:
        ``c`` of length ``2n + 2 + 2T``, ``A_eq`` of shape ``(T, 2n + 2 + 2T)``, ``b_eq``.

    Example:
        >>> import numpy as np
        >>> c, A, b = build_perceptron_lp(np.eye(2), np.array([1.0, -1.0]))
        >>> A.shape, b.tolist()
        ((2, 10), [1.0, -1.0])
    """
    T, n = X.shape
    rhs, sign, surplus_cost = _row_signs(y, activation, limits)
    A = np.zeros((T, 2 * n + 2 + 2 * T))
    A[:, :n] = X
    A[:, n : 2 * n] = -X
    A[:, 2 * n] = 1.0
    A[:, 2 * n + 1] = -1.0
    rows = np.arange(T)
    A[rows, 2 * n + 2 + rows] = sign
    A[rows, 2 * n + 2 + T + rows] = -sign
    c = np.concatenate([np.ones(2 * n + 2), np.full(T, big_m), big_m * surplus_cost])
    return c, A, rhs


def _check_options(
    activation: object, big_m: object, limits: object
) -> tuple[str, float, tuple[float, float]]:
    if activation not in ("saturation", "linear"):
        raise ConfigError(f"activation must be 'saturation' or 'linear', got {activation!r}")
    ok = isinstance(big_m, (int, float)) and not isinstance(big_m, bool)
    if not ok or not math.isfinite(float(big_m)) or float(big_m) <= 0:  # type: ignore[arg-type]
        raise ConfigError(f"big_m must be a finite number > 0, got {big_m!r}")
    return str(activation), float(big_m), check_limits(limits)  # type: ignore[arg-type]


def solve_output(
    X: F64,
    y: F64,
    activation: str,
    big_m: float,
    limits: tuple[float, float],
    method: str,
    options: Mapping[str, Any] | None,
    threads: int | None = None,
) -> tuple[F64, float, F64, float, int]:
    """One output's LP (a job of :func:`optimize_perceptron`): ``(w, u, error, cost, nit)``.

    ``error`` is the artificial (plus charged surplus) per sample; ``threads`` sets the engine's
    and NumPy's BLAS thread counts while it solves (``None``: as they are), restored afterwards.
    """
    n, T = X.shape[1], X.shape[0]
    before = _core.get_num_threads()
    if threads is not None and threads != before:
        _core.set_num_threads(threads)
    try:
        # A job's NumPy work (building the LP, checking the solution) on its own thread count
        # too: two workers must not each spin two BLAS threads on a two-core machine.
        with blas_threads(threads) if threads is not None else nullcontext():
            c, A, b = build_perceptron_lp(X, y, activation=activation, big_m=big_m, limits=limits)
            sol = solve_equality_lp(c, A, b, method, options)
    finally:
        if threads is not None and threads != before:
            _core.set_num_threads(before)
    x = sol.x
    a, s = x[2 * n + 2 : 2 * n + 2 + T], x[2 * n + 2 + T :]
    error = a + s * (c[2 * n + 2 + T :] > 0)
    return x[:n] - x[n : 2 * n], float(x[2 * n] - x[2 * n + 1]), error, float(sol.fun), int(sol.nit)


def optimize_perceptron(
    X: npt.ArrayLike,
    Y: npt.ArrayLike,
    *,
    activation: LPActivation = "saturation",
    big_m: float = DEFAULT_BIG_M,
    method: str = "auto",
    limits: tuple[float, float] = (-1.0, 1.0),
    tol: float = 1e-7,
    options: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
) -> PerceptronResult:
    """Structurally optimal one-layer perceptron by linear programming (seed 004).

    Solves the LP of the module docstring for every output: minimize
    ``M·Σ a + Σ |w| + Σ |u|`` so that training error is removed first and the L1 norm of the
    parameters is minimized second. Weights that end at zero are links the layer does not need.

    Args:
        X: ``(T, n)`` inputs.
        Y: ``(T, m)`` targets, or ``(T,)`` for one output. With ``"saturation"`` a target
            ``≥ hi`` asks for the upper limit, ``≤ lo`` for the lower one (a target beyond
            a limit is read as that limit), anything between for that exact value. For class
            labels use :func:`neuroplast.lp.labels_to_targets`.
        activation: ``"saturation"`` (``clip(z, lo, hi)``) or ``"linear"`` (every target
            is an equality).
        big_m: Weight ``M`` of the artificial variables.
        method: Solver method of :func:`neuroplast.lp.linprog`: ``"auto"``, ``"simplex"``
            or ``"ipm"``.
        limits: Saturation limits ``(lo, hi)`` with ``lo < hi``.
        tol: Weights, biases and artificials below this magnitude are reported as exact 0.
        options: Solver options passed to :func:`neuroplast.lp.linprog`.
        executor: Where the outputs' LPs run, one job each (any
            :class:`concurrent.futures.Executor`: a process pool, a
            :class:`~neuroplast.search.DaskExecutor`, ``client.get_executor()``); each job
            solves on one engine thread. ``None``: one after the other in this process. The
            result is the same (the solver's result does not depend on its thread count).

    Returns:
        A :class:`PerceptronResult`.

    Raises:
        ShapeError: ``X`` and ``Y`` disagree in the number of samples, or are not 1-D/2-D.
        DataError: Empty or non-finite data.
        ConfigError: Invalid ``activation``, ``big_m``, ``method``, ``limits`` or ``tol``.
        NumericalError: The solver did not reach an optimum.

    Example:
        >>> import numpy as np
        >>> X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
        >>> res = optimize_perceptron(X, [-1, -1, -1, 1])  # logical AND
        >>> res.weights.round(6).tolist(), res.biases.round(6).tolist(), res.error
        ([[1.0, 1.0]], [-1.0], 0.0)
    """
    activation_, big_m_, limits_ = _check_options(activation, big_m, limits)
    method = check_method(method)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise ConfigError(f"tol must be a number in [0, 1), got {tol!r}")
    Xa = as_matrix(X, "X")
    Ya = as_targets(Y, Xa.shape[0])
    T, n = Xa.shape
    m = Ya.shape[1]
    W, U, art = np.zeros((m, n)), np.zeros(m), np.zeros((m, T))
    objective, nit = 0.0, 0
    lp = (activation_, big_m_, limits_, method, None if options is None else dict(options))
    if executor is None:
        columns = (solve_output(Xa, Ya[:, j], *lp) for j in range(m))
    else:
        jobs = [executor.submit(solve_output, Xa, Ya[:, j], *lp, threads=1) for j in range(m)]
        columns = (job.result() for job in jobs)
    for j, (w, u, a, fun, steps) in enumerate(columns):
        W[j], U[j], art[j] = w, u, a
        objective += fun
        nit += steps
    for arr in (W, U, art):
        arr[np.abs(arr) <= tol] = 0.0
    if not np.isfinite(W).all():
        raise DataError("the LP produced non-finite weights")
    return PerceptronResult(
        weights=W,
        biases=U,
        artificial=art,
        objective=objective,
        n_links=int(np.count_nonzero(W)),
        nit=nit,
        status=0,
        big_m=big_m_,
        activation=activation_,
        limits=limits_,
    )
