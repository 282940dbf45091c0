"""Linear programming: a SciPy-compatible ``linprog`` on the Rust core's solvers."""

from neuroplast.lp._linprog import LinprogResult, linprog

__all__ = ["LinprogResult", "linprog"]
