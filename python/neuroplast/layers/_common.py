"""Validation shared by every node type."""

from __future__ import annotations

import math
from typing import Literal, TypeAlias, get_args

from neuroplast.errors import SpecError

__all__ = ["ACTIVATIONS", "Activation", "check_activation", "check_name", "check_slope"]

Activation: TypeAlias = Literal[
    "identity",
    "relu",
    "modified_relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "saturation",
    "sign",
]

#: Supported activations. ``modified_relu`` is max(z, 0) with derivative 1 at z = 0 (the
#: thesis's variant that lets units with zero fan-in receive gradient); ``saturation`` is
#: ``clip(z, -1, 1)`` and ``sign`` the hard threshold (1 for z ≥ 0, else -1, derivative 0),
#: the perceptron nonlinearities of Hyötyniemi's LP-built networks.
ACTIVATIONS: tuple[str, ...] = get_args(Activation)


def check_activation(name: str, activation: str) -> None:
    """Raises ``SpecError`` unless ``activation`` is one of :data:`ACTIVATIONS`."""
    if activation not in ACTIVATIONS:
        raise SpecError(
            f"node {name!r}: unknown activation {activation!r}; expected one of {ACTIVATIONS}"
        )


def check_slope(name: str, slope: object) -> None:
    """Raises ``SpecError`` unless ``slope`` is a finite real number."""
    ok = isinstance(slope, (int, float)) and not isinstance(slope, bool)
    if not ok or not math.isfinite(float(slope)):  # type: ignore[arg-type]
        raise SpecError(f"node {name!r}: negative_slope must be a finite number, got {slope!r}")


def check_name(name: object) -> None:
    """Raises ``SpecError`` unless ``name`` is a usable node name."""
    if not isinstance(name, str) or not name or name == "input":
        raise SpecError(f"node names must be non-empty strings other than 'input', got {name!r}")


def check_positive(name: str, what: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum`` or ``SpecError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"node {name!r}: {what} must be an int >= {minimum}, got {value!r}")
    return value


def check_pair(name: str, what: str, value: object, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each ``>= minimum``, as a pair."""
    items = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) != 2:
        raise SpecError(f"node {name!r}: {what} must be an int or a pair of ints, got {value!r}")
    a, b = (check_positive(name, what, v, minimum) for v in items)
    return (a, b)
