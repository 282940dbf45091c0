"""Spatial nodes on ``channels × height × width`` samples (PyTorch semantics, NCHW).

Convolution, pooling, batch normalization and flattening.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuroplast.errors import SpecError
from neuroplast.layers._common import (
    check_activation,
    check_name,
    check_pair,
    check_positive,
    check_slope,
)

__all__ = ["AvgPool2d", "BatchNorm", "Conv2d", "Flatten", "GlobalAvgPool", "MaxPool2d"]


@dataclass(frozen=True)
class _Single:
    """A node with one input and an activation applied to its result."""

    name: str
    input: str

    def _check(self) -> None:
        check_name(self.name)
        if not isinstance(self.input, str):
            raise SpecError(f"node {self.name!r}: input must be a node name, got {self.input!r}")
        check_activation(self.name, getattr(self, "activation", "identity"))
        check_slope(self.name, getattr(self, "negative_slope", 0.01))

    def _set(self, field: str, value: object) -> None:
        object.__setattr__(self, field, value)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the input nodes."""
        return (self.input,)

    def _wire(self, op: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": op,
            "inputs": [self.input],
            "activation": getattr(self, "activation", "identity"),
            "negative_slope": getattr(self, "negative_slope", 0.01),
            **extra,
        }


def _same_padding(name: str, kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    spans = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    if any(s % 2 for s in spans):
        raise SpecError(
            f"node {name!r}: padding='same' needs an odd effective kernel size, got {kernel} "
            f"with dilation {dilation}"
        )
    return (spans[0] // 2, spans[1] // 2)


@dataclass(frozen=True)
class Conv2d(_Single):
    """2-D convolution ``f(conv(x, W) + b)``.

    ``W`` has shape ``(channels, in_channels / groups, kh, kw)`` as in PyTorch.

    Args:
        name: Unique node name; parameters are ``"{name}.weight"`` and ``"{name}.bias"``.
        input: Name of a node with a ``(C, H, W)`` output.
        channels: Output channels (the layer's units).
        kernel_size: ``k`` or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)``.
        padding: Zero padding ``p`` or ``(ph, pw)``, or ``"same"`` (stride 1, odd effective
            kernel; resolved to numbers).
        dilation: ``d`` or ``(dh, dw)``.
        groups: Channel groups; ``groups == in_channels`` is a depthwise convolution.
        activation: One of :data:`~neuroplast.layers.ACTIVATIONS`.
        negative_slope: Slope for ``leaky_relu``.
        bias: Whether the layer has a per-channel bias.

    Example:
        >>> Conv2d("c1", "input", 8, 3, padding="same").padding
        (1, 1)
    """

    channels: int
    kernel_size: int | tuple[int, int]
    stride: int | tuple[int, int] = 1
    padding: int | str | tuple[int, int] = 0
    dilation: int | tuple[int, int] = 1
    groups: int = 1
    activation: str = "relu"
    negative_slope: float = 0.01
    bias: bool = True

    def __post_init__(self) -> None:
        self._check()
        check_positive(self.name, "channels", self.channels)
        check_positive(self.name, "groups", self.groups)
        kernel = check_pair(self.name, "kernel_size", self.kernel_size)
        stride = check_pair(self.name, "stride", self.stride)
        dilation = check_pair(self.name, "dilation", self.dilation)
        if self.padding == "same":
            if stride != (1, 1):
                raise SpecError(f"node {self.name!r}: padding='same' needs stride 1")
            padding = _same_padding(self.name, kernel, dilation)
        else:
            padding = check_pair(self.name, "padding", self.padding, minimum=0)
        if not isinstance(self.bias, bool):
            raise SpecError(f"node {self.name!r}: bias must be a bool, got {self.bias!r}")
        for field, value in (
            ("kernel_size", kernel),
            ("stride", stride),
            ("dilation", dilation),
            ("padding", padding),
        ):
            self._set(field, value)

    @property
    def units(self) -> int:
        """Output channels (the units that structural edits add or remove)."""
        return self.channels

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return self._wire(
            "conv2d",
            channels=self.channels,
            kernel_size=list(self.kernel_size),  # type: ignore[arg-type]
            stride=list(self.stride),  # type: ignore[arg-type]
            padding=list(self.padding),  # type: ignore[arg-type]
            dilation=list(self.dilation),  # type: ignore[arg-type]
            groups=self.groups,
            bias=self.bias,
        )


@dataclass(frozen=True)
class _Pool(_Single):
    kernel_size: int | tuple[int, int]
    stride: int | tuple[int, int] | None = None
    padding: int | tuple[int, int] = 0
    activation: str = "identity"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        self._check()
        kernel = check_pair(self.name, "kernel_size", self.kernel_size)
        stride = kernel if self.stride is None else check_pair(self.name, "stride", self.stride)
        padding = check_pair(self.name, "padding", self.padding, minimum=0)
        if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
            raise SpecError(
                f"node {self.name!r}: padding {padding} must be at most half the window {kernel}"
            )
        self._set("kernel_size", kernel)
        self._set("stride", stride)
        self._set("padding", padding)

    _op = ""

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return self._wire(
            self._op,
            kernel_size=list(self.kernel_size),  # type: ignore[arg-type]
            stride=list(self.stride),  # type: ignore[arg-type]
            padding=list(self.padding),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class MaxPool2d(_Pool):
    """Max pooling (floor mode); ``stride`` defaults to the window, padding counts as -inf.

    Example:
        >>> MaxPool2d("p", "c1", 2).stride
        (2, 2)
    """

    _op = "max_pool2d"


@dataclass(frozen=True)
class AvgPool2d(_Pool):
    """Average pooling (floor mode); ``stride`` defaults to the window.

    Padding counts as zeros in the average (PyTorch's ``count_include_pad=True``).
    """

    _op = "avg_pool2d"


@dataclass(frozen=True)
class GlobalAvgPool(_Single):
    """Mean over height and width: ``(C, H, W) → (C,)``, a flat vector of channel means."""

    activation: str = "identity"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        self._check()

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return self._wire("global_avg_pool")


@dataclass(frozen=True)
class Flatten(_Single):
    """``(C, H, W) → (C·H·W,)`` in row-major order (dense layers also flatten implicitly)."""

    def __post_init__(self) -> None:
        self._check()

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return self._wire("flatten")


def check_norm_settings(name: str, eps: object, momentum: object) -> None:
    """Raises ``SpecError`` unless ``eps > 0`` and ``momentum`` in ``[0, 1]`` are numbers."""
    for field, value, low, high in (
        ("eps", eps, 0.0, float("inf")),
        ("momentum", momentum, 0.0, 1.0),
    ):
        real = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not real or not (low <= value <= high) or (field == "eps" and value == 0):  # type: ignore[operator]
            raise SpecError(
                f"node {name!r}: {field} must be a number in "
                f"{'(0, inf)' if field == 'eps' else '[0, 1]'}, got {value!r}"
            )


@dataclass(frozen=True)
class BatchNorm(_Single):
    """Batch normalization per channel (spatial input) or per feature (flat), then activation.

    Training normalizes with the batch mean and biased variance and updates the running
    statistics ``r ← (1 − momentum)·r + momentum·batch`` (unbiased variance), exactly as
    PyTorch; evaluation and prediction use the running statistics. Parameters:
    ``"{name}.weight"`` (γ), ``"{name}.bias"`` (β), and the buffers ``"{name}.running_mean"``,
    ``"{name}.running_var"`` (not trained, not counted in ``n_params``). With
    ``affine=False`` γ and β stay fixed at 1 and 0 (buffers too), as PyTorch's
    ``BatchNorm2d(affine=False)``.
    """

    eps: float = 1e-5
    momentum: float = 0.1
    activation: str = "identity"
    negative_slope: float = 0.01
    affine: bool = True

    def __post_init__(self) -> None:
        self._check()
        check_norm_settings(self.name, self.eps, self.momentum)

        if not isinstance(self.affine, bool):
            raise SpecError(f"node {self.name!r}: affine must be a bool, got {self.affine!r}")

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        extra = {} if self.affine else {"affine": False}
        return self._wire("batch_norm", eps=self.eps, momentum=self.momentum, **extra)
