"""The one place the perceptron LPs meet the solver: call it, check its status, keep its answer.

The perceptron LPs built in :mod:`neuroplast.lp.perceptron` are always feasible (the
artificial variables absorb any error) and bounded below by zero, so any status other than
"optimal" means the solver failed; it is raised as :class:`~neuroplast.errors.NumericalError`
rather than returned as a result that looks usable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, NumericalError

F64 = npt.NDArray[np.float64]

#: Solver methods accepted by the perceptron optimizers (those of ``neuroplast.lp.linprog``).
METHODS: tuple[str, ...] = ("auto", "simplex", "ipm")


@dataclass(frozen=True)
class Solution:
    """The parts of a solver answer the perceptron code uses."""

    x: F64
    fun: float
    nit: int


def check_method(method: object) -> str:
    """``method`` if the solver accepts it, else :class:`ConfigError`."""
    if not isinstance(method, str) or method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
    return method


def solve_equality_lp(
    c: F64,
    A_eq: F64,
    b_eq: F64,
    method: str,
    options: Mapping[str, Any] | None,
) -> Solution:
    """Minimizes ``c·x`` subject to ``A_eq x = b_eq``, ``x ≥ 0``.

    Raises:
        NumericalError: The solver did not report an optimum (iteration limit, numerical
            trouble, or an infeasible/unbounded verdict, impossible for a well-posed
            perceptron LP).
    """
    # Imported here, not at module level, because ``neuroplast.lp`` re-exports this package's
    # modules after defining ``linprog``; a call-time import never sees a half-built package.
    from neuroplast.lp import linprog

    res = linprog(
        c,
        A_eq=A_eq,
        b_eq=b_eq,
        bounds=(0, None),
        method=method,
        options=None if options is None else dict(options),
    )
    if res.status != 0 or res.x is None or res.fun is None:
        raise NumericalError(
            f"the perceptron LP was not solved to optimality (status {res.status}: "
            f"{res.message}); try another method or a smaller big_m"
        )
    x = np.asarray(res.x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise NumericalError("the LP solver returned non-finite values")
    return Solution(x=x, fun=float(res.fun), nit=int(res.nit))
