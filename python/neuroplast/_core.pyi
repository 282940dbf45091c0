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
    "asng_deterministic",
    "asng_fit",
    "asng_gradients",
    "asng_predict",
    "asng_sample",
    "asng_update",
    "auxiliary_gradient",
    "compile_spec",
    "cosine_redundancy",
    "darts_search",
    "effective_dimension_activations",
    "effective_dimension_weights",
    "evaluate",
    "expand_kernel",
    "fit",
    "fit_alternating",
    "gemm_isa",
    "get_limits",
    "get_num_threads",
    "gradients",
    "group_table",
    "linprog",
    "lstsq",
    "mixed_kernel",
    "node_gradients",
    "node_values",
    "numerical_rank",
    "orthogonality_gap",
    "predict",
    "relax_channels",
    "relax_consumer",
    "relax_layer",
    "removable_units",
    "set_limits",
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
def set_limits(max_bytes: int, max_threads: int) -> None: ...
def get_limits() -> tuple[int, int]: ...
def simd_level() -> str: ...
def gemm_isa() -> str: ...
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
    dropout: float = 0.0,
    weight_masks: list[_F32 | None] = ...,
) -> tuple[list[_F32], list[list[_F32]], int, list[dict[str, Any]], int | None, bool]: ...
def fit_alternating(
    spec: str,
    params: list[_F32],
    states: tuple[tuple[list[list[_F32]], int], tuple[list[list[_F32]], int]],
    is_arch: list[bool],
    x: _F32,
    y_classes: _I64 | None,
    val: tuple[_F32, _I64 | None, _F32 | None] | None,
    optimizers: tuple[dict[str, Any], dict[str, Any]],
    epochs: int,
    batch_size: int,
    seeds: tuple[int, int],
    initial_epoch: int,
) -> tuple[list[_F32], list[list[_F32]], int, list[list[_F32]], int, list[dict[str, Any]]]: ...

# Point groups (rust/neuroplast-py/src/group.rs).
def group_table(
    name: str, k: int
) -> tuple[list[tuple[int, bool]], list[int], list[int], list[list[int]], list[str]]: ...
def expand_kernel(
    group_name: str, in_group: str | None, c_out: int, c_in: int, k: int, weight: _F32
) -> _F32: ...
def relax_channels(source: str, target: str, channels: int) -> _I64: ...
def relax_layer(
    in_group: str | None, source: str, target: str, c_out: int, c_in: int, k: int
) -> _I64: ...
def relax_consumer(
    group_name: str, source: str, target: str, c_out: int, c_in: int, k: int
) -> _I64: ...
def mixed_kernel(
    candidates: list[str],
    lift: bool,
    width: int,
    c_in: int,
    k: int,
    logits: _F32,
    vs: list[_F32],
    gs: list[_F32],
) -> tuple[_F32, _F32]: ...

# Structure search (rust/neuroplast-py/src/asng.rs). Bits are (kind, node, index) with kind 0
# a unit and 1 a merge input; settings are (lambda, eta, eps0, costs).
_Bits = list[tuple[int, int, int]]
_Settings = tuple[int, float, float, _F64]
_Bools = npt.NDArray[np.bool_]

def asng_fit(
    spec: str,
    params: list[_F32],
    slots: list[list[_F32]],
    step: int,
    theta: _F64,
    bits: _Bits,
    asng: _Settings,
    x: _F32,
    y_classes: _I64 | None,
    y_values: _F32 | None,
    val: tuple[_F32, _I64 | None, _F32 | None] | None,
    optimizer: dict[str, Any],
    epochs: int,
    batch_size: int,
    seed: int,
    shuffle: bool,
    initial_epoch: int,
    callback: Callable[[dict[str, Any]], Any] | None = None,
) -> tuple[list[_F32], list[list[_F32]], int, _F64, list[dict[str, Any]]]: ...
def asng_update(theta: _F64, samples: _Bools, losses: _F64, asng: _Settings) -> _F64: ...
def asng_sample(theta: _F64, seed: int, stream: int, n: int) -> _Bools: ...
def asng_gradients(
    spec: str,
    params: list[_F32],
    bits: _Bits,
    samples: _Bools,
    x: _F32,
    y_classes: _I64 | None,
    y_values: _F32 | None,
) -> tuple[list[float], list[_F32]]: ...
def asng_predict(spec: str, params: list[_F32], bits: _Bits, m: _Bools, x: _F32) -> _F32: ...
def asng_deterministic(spec: str, bits: _Bits, theta: _F64) -> _Bools: ...

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
