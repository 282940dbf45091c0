"""Node types of a network graph (:class:`neuroplast.Spec`).

Nodes are immutable values. A graph is a tuple of nodes in topological order; each node names
its inputs, the network input is called ``"input"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from neuroplast.errors import SpecError

__all__ = ["ACTIVATIONS", "Activation", "Add", "Concat", "Dense", "Node", "node_from_dict"]

Activation: TypeAlias = Literal[
    "identity", "relu", "modified_relu", "leaky_relu", "sigmoid", "tanh"
]

#: Supported activations. ``modified_relu`` is max(z, 0) with derivative 1 at z = 0 (the
#: thesis's variant that lets units with zero fan-in receive gradient).
ACTIVATIONS: tuple[str, ...] = (
    "identity",
    "relu",
    "modified_relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
)


def _check_activation(name: str, activation: str) -> None:

    if activation not in ACTIVATIONS:
        raise SpecError(
            f"node {name!r}: unknown activation {activation!r}; expected one of {ACTIVATIONS}"
        )


def _check_slope(name: str, slope: object) -> None:

    ok = isinstance(slope, (int, float)) and not isinstance(slope, bool)
    if not ok or not math.isfinite(float(slope)):  # type: ignore[arg-type]
        raise SpecError(f"node {name!r}: negative_slope must be a finite number, got {slope!r}")


def _check_name(name: object) -> None:

    if not isinstance(name, str) or not name or name == "input":
        raise SpecError(f"node names must be non-empty strings other than 'input', got {name!r}")


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

        _check_name(self.name)
        _check_activation(self.name, self.activation)
        if isinstance(self.units, bool) or not isinstance(self.units, int) or self.units < 1:
            raise SpecError(f"node {self.name!r}: units must be a positive int, got {self.units!r}")
        if not isinstance(self.bias, bool):
            raise SpecError(f"node {self.name!r}: bias must be a bool, got {self.bias!r}")
        _check_slope(self.name, self.negative_slope)

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
        _check_name(self.name)
        _check_activation(self.name, self.activation)
        _check_slope(self.name, self.negative_slope)
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
    """Elementwise sum of two or more equally wide nodes (a residual merge), then activation."""

    _op = "add"


@dataclass(frozen=True)
class Concat(_Merge):
    """Feature-wise concatenation of two or more nodes, in the order given, then activation."""

    _op = "concat"


Node: TypeAlias = Dense | Add | Concat


def node_from_dict(d: dict[str, Any]) -> Node:
    """Inverse of ``to_dict``; raises :class:`~neuroplast.errors.SpecError` on bad input."""
    try:
        op = d["op"]
        common = {"name": d["name"], "activation": d.get("activation", "identity")}
        slope = d.get("negative_slope", 0.01)
        if op == "dense":
            (inp,) = d["inputs"]
            return Dense(
                input=inp,
                units=d["units"],
                bias=d.get("bias", True),
                negative_slope=slope,
                **common,
            )
        if op in ("add", "concat"):
            cls = Add if op == "add" else Concat
            return cls(inputs=tuple(d["inputs"]), negative_slope=slope, **common)
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"malformed node description {d!r}: {exc}") from exc
    raise SpecError(f"unknown node op {op!r} in {d!r}")
