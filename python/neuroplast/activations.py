"""Activation functions in NumPy: forward, derivative, and the properties edits rely on.

The one home of activation math outside the Rust kernels. Morphisms (:mod:`neuroplast.morph`),
growth (:mod:`neuroplast.growth`) and the float64 test reference (:mod:`neuroplast.testing`)
all read it, so a property such as "``f(0) = 0``" is decided in one table, not per caller.

Values follow the engine's conventions (``rust/neuroplast-core/src/kernels/activation.rs``),
including the one-sided derivatives at kinks: ``relu'(0) = 0``, ``modified_relu'(0) = 1``,
``leaky_relu'(0) = negative_slope``, ``saturation'(±1) = 0``, ``sign' = 0``, and
``sign(0) = 1``. Everything is computed in float64.

Example:
    >>> from neuroplast.activations import ZERO_AT_ZERO, derivative, forward, props
    >>> forward("leaky_relu", [-2.0, 3.0], 0.5).tolist()
    [-1.0, 3.0]
    >>> derivative("modified_relu", [0.0]).tolist()
    [1.0]
    >>> props("saturation").kinks, "sigmoid" in ZERO_AT_ZERO
    ((-1.0, 1.0), False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError
from neuroplast.layers import ACTIVATIONS

__all__ = [
    "ACTIVATION_PROPS",
    "CONTINUOUS",
    "KINKED",
    "SMOOTH",
    "ZERO_AT_ZERO",
    "ActivationProps",
    "derivative",
    "forward",
    "interval_image",
    "props",
]

F64 = npt.NDArray[np.float64]
_INF = math.inf


@dataclass(frozen=True)
class ActivationProps:
    """What edits may assume about one activation ``f`` (for every ``negative_slope``).

    Attributes:
        name: The activation's name, as in a spec.
        zero_at_zero: ``f(0) = 0``: a unit with zero fan-in and zero bias outputs exactly 0.
        piecewise_linear: ``f`` is piecewise linear (piecewise constant included).
        positively_homogeneous: ``f(a·x) = a·f(x)`` for every ``a > 0``, so a positive scale
            of a unit's fan-in can be moved to its fan-out.
        kinks: Points where ``f`` is not differentiable (or, for ``sign``, not continuous);
            the engine uses a one-sided derivative there.
        continuous: ``f`` has no jump, so a tiny change of the input gives a tiny change of
            the output.
        identity_on: The closed interval of positive length on which ``f(x) = x``, or
            ``None`` when there is none.
    """

    name: str
    zero_at_zero: bool
    piecewise_linear: bool
    positively_homogeneous: bool
    kinks: tuple[float, ...] = ()
    continuous: bool = True
    identity_on: tuple[float, float] | None = None

    @property
    def smooth(self) -> bool:
        """``f`` is differentiable everywhere (finite differences are safe at any point)."""
        return not self.kinks


def _relu_like(name: str) -> ActivationProps:
    """ReLU, modified ReLU and leaky ReLU share every property (the slope changes none)."""
    return ActivationProps(name, True, True, True, kinks=(0.0,), identity_on=(0.0, _INF))


#: Properties of every activation the engine supports, by name.
ACTIVATION_PROPS: Mapping[str, ActivationProps] = MappingProxyType(
    {
        p.name: p
        for p in (
            ActivationProps("identity", True, True, True, identity_on=(-_INF, _INF)),
            _relu_like("relu"),
            _relu_like("modified_relu"),
            _relu_like("leaky_relu"),
            ActivationProps("sigmoid", False, False, False),
            ActivationProps("tanh", True, False, False),
            ActivationProps("saturation", True, True, False, (-1.0, 1.0), identity_on=(-1.0, 1.0)),
            ActivationProps("sign", False, True, False, (0.0,), continuous=False),
        )
    }
)


def _names(**want: bool) -> tuple[str, ...]:
    """Activations (in :data:`~neuroplast.layers.ACTIVATIONS` order) with the wanted flags."""
    return tuple(
        a for a in ACTIVATIONS if all(getattr(ACTIVATION_PROPS[a], k) == v for k, v in want.items())
    )


#: Activations with ``f(0) = 0``.
ZERO_AT_ZERO: frozenset[str] = frozenset(_names(zero_at_zero=True))
#: Activations with a kink (finite differences across one are meaningless).
KINKED: frozenset[str] = frozenset(_names(smooth=False))
#: Activations without a kink, in ``ACTIVATIONS`` order.
SMOOTH: tuple[str, ...] = _names(smooth=True)
#: Activations without a jump, in ``ACTIVATIONS`` order: float32 rounding of an exact edit
#: cannot flip their output (``sign`` can, at a pre-activation of exactly 0 ± rounding).
CONTINUOUS: tuple[str, ...] = _names(continuous=True)


def props(name: str) -> ActivationProps:
    """The :class:`ActivationProps` of activation ``name``.

    Raises:
        ConfigError: ``name`` is not a supported activation.

    Example:
        >>> props("tanh").zero_at_zero, props("tanh").piecewise_linear
        (True, False)
    """
    try:
        return ACTIVATION_PROPS[name]
    except KeyError:
        raise ConfigError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}") from None


def forward(name: str, z: npt.ArrayLike, negative_slope: float = 0.01) -> F64:
    """Applies activation ``name`` elementwise in float64.

    Args:
        name: One of :data:`~neuroplast.layers.ACTIVATIONS`.
        z: Pre-activations, any shape.
        negative_slope: Slope of ``leaky_relu`` for ``z ≤ 0`` (ignored by the others).

    Raises:
        ConfigError: ``name`` is not a supported activation.

    Example:
        >>> forward("saturation", [-3.0, 0.5, 2.0]).tolist()
        [-1.0, 0.5, 1.0]
    """
    props(name)
    x = np.asarray(z, dtype=np.float64)
    if name in ("relu", "modified_relu"):
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, negative_slope * x)
    if name == "sigmoid":
        # Stable logistic: exp of a non-positive number never overflows.
        e = np.exp(-np.abs(x))
        out: F64 = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return out
    if name == "tanh":
        return np.tanh(x)
    if name == "saturation":
        return np.clip(x, -1.0, 1.0)
    if name == "sign":
        return np.where(x >= 0, 1.0, -1.0)
    return x.copy()  # identity


def derivative(name: str, z: npt.ArrayLike, negative_slope: float = 0.01) -> F64:
    """Derivative of activation ``name`` at ``z``, with the engine's conventions at kinks.

    Args:
        name: One of :data:`~neuroplast.layers.ACTIVATIONS`.
        z: Pre-activations, any shape.
        negative_slope: Slope of ``leaky_relu`` for ``z ≤ 0`` (ignored by the others).

    Raises:
        ConfigError: ``name`` is not a supported activation.

    Example:
        >>> derivative("relu", [0.0, 2.0]).tolist()
        [0.0, 1.0]
    """
    props(name)
    x = np.asarray(z, dtype=np.float64)
    if name == "relu":
        return (x > 0).astype(np.float64)
    if name == "modified_relu":
        return (x >= 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, negative_slope)
    if name == "sigmoid":
        s = forward("sigmoid", x)
        return s * (1.0 - s)
    if name == "tanh":
        t = np.tanh(x)
        return 1.0 - t * t
    if name == "saturation":
        return ((x > -1.0) & (x < 1.0)).astype(np.float64)
    if name == "sign":
        return np.zeros_like(x)
    return np.ones_like(x)  # identity


def interval_image(
    name: str, lo: float, hi: float, negative_slope: float = 0.01
) -> tuple[float, float]:
    """An interval containing ``f([lo, hi])``; bounds may be infinite.

    Every activation is non-decreasing except ``leaky_relu`` with a negative slope, for which
    the whole real line is returned.

    Example:
        >>> interval_image("relu", -math.inf, 2.0), interval_image("tanh", 0.0, math.inf)
        ((0.0, 2.0), (0.0, 1.0))
    """
    props(name)
    if name == "leaky_relu" and negative_slope < 0:
        return (-_INF, _INF)
    # A flat leaky ReLU (slope 0) computes 0·(−∞) = nan at an infinite bound; its limit is 0.
    with np.errstate(invalid="ignore"):
        ends = forward(name, [lo, hi], negative_slope)
    ends = np.nan_to_num(ends, nan=0.0, posinf=_INF, neginf=-_INF)
    return (float(ends[0]), float(ends[1]))
