# Hand-written stubs for the Rust extension.
# Checked with `python -m mypy.stubtest neuroplast._core`.
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "arch_project",
    "arch_weights",
    "auxiliary_gradient",
    "compile_spec",
    "cosine_redundancy",
    "darts_search",
    "effective_dimension_activations",
    "effective_dimension_weights",
    "evaluate",
    "fit",
    "get_num_threads",
    "gradients",
    "linprog",
    "lstsq",
    "node_gradients",
    "node_values",
    "numerical_rank",
    "orthogonality_gap",
    "predict",
    "removable_units",
    "set_num_threads",
    "simd_level",
    "singular_values",
    "svd",
    "unit_statistics",
]

__version__: str

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def simd_level() -> str: ...
def compile_spec(
    spec: str,
) -> tuple[list[tuple[str, list[int], int]], list[tuple[str, list[int], bool]]]: ...
def predict(spec: str, params: list[_F32], masks: list[_F32 | None], x: _F32) -> _F32: ...
def evaluate(
    spec: str,
    params: list[_F32],
    masks: list[_F32 | None],
    x: _F32,
    y_classes: _I64 | None,
    y_values: _F32 | None,
) -> dict[str, float]: ...
def gradients(
    spec: str,
    params: list[_F32],
    masks: list[_F32 | None],
    x: _F32,
    y_classes: _I64 | None,
    y_values: _F32 | None,
    distill: tuple[_F32, float, float] | None = None,
) -> tuple[float, list[_F32]]: ...
def node_values(
    spec: str,
    params: list[_F32],
    masks: list[_F32 | None],
    x: _F32,
    nodes: list[str],
    pre: bool,
) -> list[_F32]: ...
def node_gradients(
    spec: str,
    params: list[_F32],
    masks: list[_F32 | None],
    x: _F32,
    y_classes: _I64 | None,
    y_values: _F32 | None,
    nodes: list[str],
) -> tuple[float, list[_F32]]: ...
def fit(
    spec: str,
    params: list[_F32],
    slots: list[list[_F32]],
    step: int,
    x: _F32,
    y_classes: _I64 | None,
    y_values: _F32 | None,
    val: tuple[_F32, _I64 | None, _F32 | None] | None,
    masks: list[_F32 | None],
    optimizer: dict[str, Any],
    epochs: int,
    batch_size: int,
    seed: int,
    shuffle: bool,
    initial_epoch: int,
    callback: Callable[[dict[str, Any]], Any] | None = None,
    early_stopping: tuple[str, int, float, bool] | None = None,
    distill: tuple[_F32, float, float] | None = None,
) -> tuple[list[_F32], list[list[_F32]], int, list[dict[str, Any]], int | None, bool]: ...

# Differentiable architecture search (rust/neuroplast-py/src/search.rs).
def darts_search(
    spec: str,
    params: list[_F32],
    slots: list[list[_F32]],
    step: int,
    train: tuple[_F32, _I64 | None, _F32 | None],
    arch: tuple[_F32, _I64 | None, _F32 | None],
    config: str,
    state: str | None,
    epochs: int,
    callback: Callable[[int], Any] | None = None,
) -> tuple[list[_F32], list[list[_F32]], int, str, str]: ...
def arch_weights(alpha: _F32, weighting: str) -> _F32: ...
def arch_project(alpha: _F32, none: bool, weighting: str, pruned: _F32 | None) -> _F32: ...

# Spectral metrics (rust/neuroplast-py/src/metrics.rs).
def singular_values(a: _F32) -> npt.NDArray[np.float64]: ...
def numerical_rank(a: _F32, eps: float) -> int: ...
def effective_dimension_activations(h: _F32, eps: float) -> float: ...
def effective_dimension_weights(w: _F32, bias: _F32 | None, eps: float) -> float: ...
def orthogonality_gap(h: _F32) -> float: ...
def removable_units(sv: npt.NDArray[np.float64], eps_abs: float, eps_rel: float) -> int: ...
def auxiliary_gradient(
    grad_next: _F32, h_prev: _F32, k: int | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]: ...
def unit_statistics(h: _F64) -> dict[str, npt.NDArray[np.float64]]: ...
def cosine_redundancy(h: _F64, n_remove: int) -> npt.NDArray[np.int64]: ...

# Linear algebra for the structural edits (rust/neuroplast-py/src/linalg.rs).
def svd(a: _F64, full_matrices: bool) -> tuple[_F64, _F64, _F64]: ...
def lstsq(a: _F64, b: _F64) -> _F64: ...
def linprog(
    c: _F64,
    a_ub: _F64,
    b_ub: _F64,
    a_eq: _F64,
    b_eq: _F64,
    lower: _F64,
    upper: _F64,
    method: str = "auto",
    max_iter: int | None = None,
) -> dict[str, Any]: ...
