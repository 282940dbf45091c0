"""Dense layers and merge nodes (``add``, ``concat``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuroplast.errors import SpecError
from neuroplast.layers._common import check_activation, check_name, check_slope

__all__ = ["Add", "Concat", "Dense"]


@dataclass(frozen=True)
class Dense:
    """Fully connected layer ``f(x · Wᵀ + b)`` with ``W`` of shape ``(units, fan_in)``.

    Args:
        name: Unique node name; parameters are ``"{name}.weight"`` and ``"{name}.bias"``.
        input: Name of the node feeding this one (``"input"`` for the network input).
        units: Number of output units.
        activation: One of :data:`ACTIVATIONS`.
        negative_slope: Slope for ``leaky_relu`` (ignored otherwise).
        bias: Whether the layer has a bias vector.
    """

    name: str
    input: str
    units: int
    activation: str = "relu"
    negative_slope: float = 0.01
    bias: bool = True

    def __post_init__(self) -> None:

        check_name(self.name)
        check_activation(self.name, self.activation)
        if isinstance(self.units, bool) or not isinstance(self.units, int) or self.units < 1:
            raise SpecError(f"node {self.name!r}: units must be a positive int, got {self.units!r}")
        if not isinstance(self.bias, bool):
            raise SpecError(f"node {self.name!r}: bias must be a bool, got {self.bias!r}")
        check_slope(self.name, self.negative_slope)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the input nodes."""
        return (self.input,)

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return {
            "name": self.name,
            "op": "dense",
            "inputs": [self.input],
            "units": self.units,
            "activation": self.activation,
            "negative_slope": self.negative_slope,
            "bias": self.bias,
        }


@dataclass(frozen=True)
class _Merge:
    name: str
    inputs: tuple[str, ...]
    activation: str = "identity"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        check_name(self.name)
        check_activation(self.name, self.activation)
        check_slope(self.name, self.negative_slope)
        if isinstance(self.inputs, str):
            raise SpecError(f"node {self.name!r}: inputs must be a sequence of node names")
        object.__setattr__(self, "inputs", tuple(self.inputs))

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return {
            "name": self.name,
            "op": self._op,
            "inputs": list(self.inputs),
            "activation": self.activation,
            "negative_slope": self.negative_slope,
        }

    _op = ""


@dataclass(frozen=True)
class Add(_Merge):
    """Elementwise sum of two or more equally shaped nodes (a residual merge), then activation."""

    _op = "add"


@dataclass(frozen=True)
class Concat(_Merge):
    """Concatenation of two or more nodes in the order given, then activation.

    Flat inputs are joined feature-wise, spatial inputs channel-wise (all must share one
    height × width).
    """

    _op = "concat"
