"""``linprog``: SciPy-compatible linear programming on the Rust core's solvers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import _convert, _numeric
from neuroplast.errors import ConfigError, DataError, ShapeError
from neuroplast.limits import check_bytes

__all__ = ["LPCertificate", "LinprogResult", "linprog"]

_F64 = npt.NDArray[np.float64]
_METHODS = ("auto", "simplex", "ipm")
_Bound = tuple[float | None, float | None]
# An iteration limit this large is never reached; larger ones are clamped to it, since the
# core counts iterations in 64 bits.
_MAXITER_CAP = 2**62


@dataclass(frozen=True, eq=False)
class LPCertificate:
    """The proof behind an "infeasible" (status 2) or "unbounded" (status 3) answer.

    The solver reports those statuses only with a certificate that passed a check in float64
    against the original LP data (``c``, ``A_ub``, ``b_ub``, ``A_eq``, ``b_eq``, bounds):

    * ``kind == "farkas"`` (infeasible): multipliers ``y_ub >= 0`` and ``y_eq`` with
      ``r = A_ub.T @ y_ub + A_eq.T @ y_eq`` such that the smallest value of ``r @ x`` over the
      bounds exceeds ``y_ub @ b_ub + y_eq @ b_eq`` by ``margin``; every feasible ``x`` would
      have ``r @ x <= y_ub @ b_ub + y_eq @ b_eq``, so none exists. The multipliers are scaled
      to a largest magnitude of 1. Crossed bounds (``low > high``) are their own proof:
      ``y`` is zero and ``margin`` the largest ``low - high``.
    * ``kind == "ray"`` (unbounded): a feasible ``point`` and a direction ``ray``
      (``max |ray| = 1``) with ``A_ub @ ray <= 0``, ``A_eq @ ray == 0``, ``ray >= 0`` where the
      lower bound is finite and ``<= 0`` where the upper bound is finite, and
      ``c @ ray == -margin < 0``: the objective falls without bound along ``point + t * ray``.

    Sign conditions that fail by less than ``1e-9`` relative to the size of their terms are
    accepted; ``residual`` is the largest such relative violation.

    Attributes:
        kind: ``"farkas"`` or ``"ray"``.
        margin: By how much the certificate proves its claim (``> 0``).
        residual: Largest relative violation absorbed by the tolerance.
        y_ub: Farkas multipliers of the inequality rows (``None`` for a ray).
        y_eq: Farkas multipliers of the equality rows (``None`` for a ray).
        ray: The improving direction (``None`` for a Farkas vector).
        point: The feasible point the ray starts from (``None`` for a Farkas vector).
    """

    kind: str
    margin: float
    residual: float
    y_ub: _F64 | None = None
    y_eq: _F64 | None = None
    ray: _F64 | None = None
    point: _F64 | None = None

    @classmethod
    def _from_core(cls, d: dict[str, Any] | None) -> LPCertificate | None:
        if d is None:
            return None
        return cls(
            kind=str(d["kind"]),
            margin=float(d["margin"]),
            residual=float(d["residual"]),
            y_ub=d.get("y_ub"),
            y_eq=d.get("y_eq"),
            ray=d.get("ray"),
            point=d.get("point"),
        )


@dataclass(frozen=True)
class LinprogResult:
    """The outcome of :func:`linprog`, laid out like SciPy's ``OptimizeResult``.

    Attributes:
        x: The solution (``None`` when the problem is infeasible or unbounded, as in SciPy).
        fun: ``c @ x`` (``None`` with ``x``).
        status: SciPy's code: 0 optimal, 1 iteration limit, 2 infeasible, 3 unbounded,
            4 numerical difficulties (no verified solution).
        success: ``status == 0``.
        message: A one-line description of the status.
        nit: Simplex pivots plus interior-point iterations.
        slack: ``b_ub - A_ub @ x``.
        con: ``b_eq - A_eq @ x``.
        active_bounds: Per variable, -1 at its lower bound, +1 at its upper bound, else 0.
        active_ub: Per inequality row, whether it holds with equality.
        method: The algorithm that produced ``x`` (``"simplex"`` or ``"ipm"``).
        certificate: The verified proof of status 2 or 3 (:class:`LPCertificate`), else
            ``None``.
    """

    x: _F64 | None
    fun: float | None
    status: int
    success: bool
    message: str
    nit: int
    slack: _F64 | None
    con: _F64 | None
    active_bounds: npt.NDArray[np.int8] | None
    active_ub: npt.NDArray[np.bool_] | None
    method: str
    certificate: LPCertificate | None = None

    def __getitem__(self, key: str) -> Any:
        """Item access like SciPy's ``OptimizeResult`` (``res["x"]``)."""
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return getattr(self, key)


def _array(a: Any, name: str, ndim: int) -> _F64:
    arr = _numeric(a, name)
    if arr.ndim != ndim:
        raise ShapeError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return _convert(arr, np.float64, name)


def _constraints(a: Any, b: Any, n: int, name: str) -> tuple[_F64, _F64]:
    if a is None and b is None:
        return np.zeros((0, n)), np.zeros(0)
    if a is None or b is None:
        raise ShapeError(f"A_{name} and b_{name} must be given together")
    am, bv = _array(a, f"A_{name}", 2), _array(b, f"b_{name}", 1)
    if am.shape != (bv.shape[0], n):
        raise ShapeError(f"A_{name} has shape {am.shape}; expected ({bv.shape[0]}, {n})")
    return am, bv


def _bound_value(v: Any, default: float) -> float:
    if v is None:
        return default
    try:
        value = float(v)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid bound {v!r}") from exc
    if np.isnan(value):
        raise ConfigError("bounds must not be NaN")
    return value


def _bounds(bounds: Any, n: int) -> tuple[_F64, _F64]:
    if bounds is None:
        return np.zeros(n), np.full(n, np.inf)
    if isinstance(bounds, np.ndarray):
        bounds = bounds.tolist()
    if isinstance(bounds, (str, bytes, Mapping)) or not isinstance(bounds, Sequence):
        raise ConfigError(
            f"bounds must be one (low, high) pair or a sequence of {n} pairs, "
            f"got {type(bounds).__name__}"
        )
    pairs: list[Any] = list(bounds)
    if len(pairs) == 2 and not any(isinstance(p, (Sequence, np.ndarray)) for p in pairs):
        pairs = [pairs] * n
    if len(pairs) != n or any(
        isinstance(p, (str, bytes)) or not isinstance(p, (Sequence, np.ndarray)) or len(p) != 2
        for p in pairs
    ):
        raise ConfigError(f"bounds must be one (low, high) pair or {n} of them")
    lower = np.array([_bound_value(p[0], -np.inf) for p in pairs], dtype=np.float64)
    upper = np.array([_bound_value(p[1], np.inf) for p in pairs], dtype=np.float64)
    if np.any(lower == np.inf) or np.any(upper == -np.inf):
        raise ConfigError("a lower bound of +inf or an upper bound of -inf is not allowed")
    return lower, upper


def _max_iter(options: Any) -> int | None:
    """The ``maxiter`` option (clamped to a bound no solver reaches), or ``None``."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise ConfigError(f"options must be a dict, got {type(options).__name__}")
    opts = dict(options)
    maxiter = opts.pop("maxiter", None)
    if opts:
        unknown = sorted(map(repr, opts))
        raise ConfigError(f"unknown options {unknown}; only 'maxiter' is supported")
    if maxiter is None:
        return None
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 0:
        raise ConfigError(f"maxiter must be a non-negative int, got {maxiter!r}")
    return min(int(maxiter), _MAXITER_CAP)


def _check_memory(m: int, n: int, m_ub: int) -> None:
    """Refuses an LP whose solver working set is above the ``max_bytes`` limit.

    The dominant allocations, in float64: the standard form's dense columns (``m`` rows by
    ``n + m_ub`` columns with the slacks), the interior point's normal matrix (``min`` of
    the two squared) and the crossover's dense basis factor (``m × m``).
    """
    cols = n + m_ub
    cells = m * m + 2 * m * cols + min(m, cols) ** 2
    check_bytes(8 * cells, f"solving an LP with {m} constraint rows and {n} variables")


def linprog(
    c: Any,
    A_ub: Any = None,
    b_ub: Any = None,
    A_eq: Any = None,
    b_eq: Any = None,
    bounds: _Bound | Sequence[_Bound] | None = (0, None),
    method: str = "auto",
    *,
    options: dict[str, Any] | None = None,
) -> LinprogResult:
    """Minimizes ``c @ x`` subject to ``A_ub @ x <= b_ub``, ``A_eq @ x == b_eq`` and bounds.

    The semantics follow ``scipy.optimize.linprog``: ``bounds`` is one ``(low, high)`` pair
    for every variable or one pair per variable, ``None`` meaning unbounded on that side
    (the default keeps ``x >= 0``); a crossed pair ``low > high`` makes the problem
    infeasible. ``method="simplex"`` runs a two-phase bounded-variable primal simplex,
    ``"ipm"`` a Mehrotra interior-point method that exploits the structure of LPs built from
    data (singleton slack/artificial columns, ``x, -x`` column pairs) followed by crossover
    to a vertex, and ``"auto"`` picks one by size (rule below).

    No answer is taken on trust: an optimum must be feasible (relative violation at most
    ``1e-7``), and "infeasible" (status 2) or "unbounded" (status 3) is only reported with a
    certificate that passes a check against the original data (:class:`LPCertificate`, on
    ``result.certificate``). When the chosen method's answer fails its check, the other
    method is run; when that fails too, the status is 4 (numerical difficulties), never an
    unproven claim. An iteration limit set with ``options={"maxiter": ...}`` is reported as
    status 1; the interior point running out of its default 200 iterations hands over to
    the simplex instead.

    ``"auto"`` rule: the simplex when the standard-form tableau is small,
    ``m * (n + m) <= 8000`` cells (``m`` rows of ``A_ub`` and ``A_eq`` together, ``n``
    columns after splitting free variables and adding one slack per inequality; about 40
    rows of a perceptron LP with 40 inputs), the interior point otherwise. LPs built from
    data (dense rows, one row per sample) cross that size at a few dozen samples; measured
    on the perceptron LPs of :func:`~neuroplast.lp.prune_hidden_lp` on digits, the simplex
    is at most 1.5x faster below it and 2-350x slower from 64 rows up (it stalls on
    degenerate pivots), while the interior point with crossover still returns a vertex.

    Args:
        c: Objective coefficients, shape ``(n,)``.
        A_ub: Inequality matrix ``(m_ub, n)``, or ``None``.
        b_ub: Inequality right-hand side ``(m_ub,)``, or ``None``.
        A_eq: Equality matrix ``(m_eq, n)``, or ``None``.
        b_eq: Equality right-hand side ``(m_eq,)``, or ``None``.
        bounds: ``(low, high)`` for all variables, or a sequence of ``n`` such pairs.
        method: ``"auto"``, ``"simplex"`` or ``"ipm"``.
        options: ``{"maxiter": int}`` limits simplex pivots / interior-point iterations
            (values beyond ``2**62`` mean no limit).

    Returns:
        A :class:`LinprogResult`.

    Raises:
        ShapeError: Inconsistent array shapes.
        DataError: NaN or infinite values in ``c``, the matrices or right-hand sides.
        ConfigError: Unknown method or option, malformed ``options`` or bounds.
        ResourceLimitError: The solver's working memory (about ``8 * (m**2 + 2*m*(n + m_ub)
            + min(m, n + m_ub)**2)`` bytes for ``m`` rows) is above the ``max_bytes`` limit
            (:mod:`neuroplast.limits`).

    Example:
        >>> from neuroplast.lp import linprog
        >>> res = linprog([-1, -2], A_ub=[[1, 1]], b_ub=[4], bounds=(0, 3))
        >>> res.status, round(res.fun, 6), res.x.tolist()
        (0, -7.0, [1.0, 3.0])
    """
    if not isinstance(method, str) or method not in _METHODS:
        raise ConfigError(f"unknown method {method!r}; expected one of {_METHODS}")
    max_iter = _max_iter(options)
    cv = _array(c, "c", 1)
    n = cv.shape[0]
    a_ub, bu = _constraints(A_ub, b_ub, n, "ub")
    a_eq, be = _constraints(A_eq, b_eq, n, "eq")
    lower, upper = _bounds(bounds, n)
    _check_memory(a_ub.shape[0] + a_eq.shape[0], n, a_ub.shape[0])
    for name, arr in (("c", cv), ("A_ub", a_ub), ("b_ub", bu), ("A_eq", a_eq), ("b_eq", be)):
        if not np.all(np.isfinite(arr)):
            raise DataError(f"{name} must not contain NaN or infinite values")
    out = _core.linprog(cv, a_ub, bu, a_eq, be, lower, upper, method, max_iter)
    status = int(out["status"])
    solved = status in (0, 1, 4)
    return LinprogResult(
        x=out["x"] if solved else None,
        fun=float(out["fun"]) if solved else None,
        status=status,
        success=status == 0,
        message=str(out["message"]),
        nit=int(out["nit"]),
        slack=out["slack"] if solved else None,
        con=out["con"] if solved else None,
        active_bounds=out["active_bounds"] if solved else None,
        active_ub=out["active_ub"] if solved else None,
        method=str(out["method"]),
        certificate=LPCertificate._from_core(out.get("certificate")),
    )
