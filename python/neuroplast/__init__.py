"""neuroplast: structural optimization of neural networks with a Rust core.

Grow and prune neurons, channels and layers of trained networks with function-preserving or
measured edits, find redundant or missing capacity with SVD-based metrics, and drive those
edits with search controllers.
"""

from __future__ import annotations

from typing import Any

from neuroplast import _core, data, groups, limits, lp, metrics, morph
from neuroplast.errors import (
    ConfigError,
    DataError,
    DTypeError,
    InvalidMorphismError,
    NeuroplastError,
    NumericalError,
    ResourceLimitError,
    SerializationError,
    ShapeError,
    SpecError,
)
from neuroplast.history import History
from neuroplast.layers import (
    Add,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool,
    GroupBatchNorm,
    GroupConv,
    GroupPool,
    Identity,
    LiftConv,
    MaxPool2d,
    MixedConv,
    MixedOp,
)
from neuroplast.network import Network
from neuroplast.optim import SGD, Adam, AdamW, OptimizerState
from neuroplast.sklearn import NeuroplastClassifier
from neuroplast.spec import Spec

__version__: str = _core.__version__

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Add",
    "AvgPool2d",
    "BatchNorm",
    "Concat",
    "ConfigError",
    "Conv2d",
    "DTypeError",
    "DataError",
    "Dense",
    "Flatten",
    "GlobalAvgPool",
    "GroupBatchNorm",
    "GroupConv",
    "GroupPool",
    "History",
    "Identity",
    "InvalidMorphismError",
    "LiftConv",
    "MaxPool2d",
    "MixedConv",
    "MixedOp",
    "Network",
    "NeuroplastClassifier",
    "NeuroplastError",
    "NumericalError",
    "OptimizerState",
    "ResourceLimitError",
    "SerializationError",
    "ShapeError",
    "Spec",
    "SpecError",
    "__version__",
    "compress",
    "data",
    "gemm_isa",
    "get_num_threads",
    "groups",
    "limits",
    "lp",
    "metrics",
    "morph",
    "set_num_threads",
    "simd_level",
]


def compress(net: Network, data: Any, **kwargs: Any) -> Any:
    """The smallest network within a validation accuracy budget of ``net``.

    See :func:`neuroplast.search.compress` (imported on first use: the search package is large).
    """
    from neuroplast.search.compress import compress as _compress

    return _compress(net, data, **kwargs)


def set_num_threads(n: int) -> None:
    """Sets the number of threads the Rust core uses (default 2).

    Results are reproducible for a given seed and thread count.

    Raises:
        ConfigError: ``n`` is not an int ``>= 1``.
        ResourceLimitError: ``n`` is above the ``max_threads`` limit (default 256, see
            :mod:`neuroplast.limits`).

    Example:
        >>> import neuroplast
        >>> neuroplast.set_num_threads(2); neuroplast.get_num_threads()
        2
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"the number of threads must be an int >= 1, got {n!r}")
    limits.check_count(n, "max_threads", "the number of threads")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """Number of threads the Rust core uses."""
    return _core.get_num_threads()


def simd_level() -> str:
    """Instruction set of the elementwise kernels on this CPU (``avx512``, ``avx2``, ``scalar``)."""
    return _core.simd_level()


def gemm_isa() -> str:
    """Micro-kernel of the packed GEMM on this CPU (``avx512``, ``avx2``, or ``faer``).

    AVX-512 is used wherever the CPU reports AVX-512F; the environment variable
    ``NEUROPLAST_GEMM_AVX512=0`` (read once per process, before the first product) forces the
    AVX2 + FMA kernel. Both give bitwise-identical results, so the choice only changes speed.
    """
    return _core.gemm_isa()
