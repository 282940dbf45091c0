"""Equivariant nodes: lifting, group and ``[G]``-mixed convolutions, group pooling, group BN.

The point groups are the subgroups ``C1, D1, C2, D2, C4, D4`` of the symmetries of the square
(with translations: the wallpaper groups p1, pm, p2, pmm, p4, p4m); see :mod:`neuroplast.groups`.
A *G-feature map* with ``C`` channels is a tensor of ``C·|G|`` channels, channel ``c·|G| + i``
holding channel ``c`` at the ``i``-th element of ``G``. Every convolution here runs in the
engine as a standard convolution with a kernel gathered from the stored weight (Maile 2023,
"Dynamic Architectural Optimization of Artificial Neural Networks", ch. 4), so its FLOPs are
those of the expanded convolution while ``n_params`` counts only the stored weights.

Convolutions use stride 1, no dilation and a square, odd kernel with ``"same"`` padding by
default: then a rotation or reflection of a square input commutes exactly with every layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuroplast.errors import SpecError
from neuroplast.layers._common import check_positive
from neuroplast.layers.spatial import _Single, check_norm_settings

__all__ = [
    "GROUPS",
    "GROUP_ORDERS",
    "GroupBatchNorm",
    "GroupConv",
    "GroupPool",
    "LiftConv",
    "MixedConv",
]

#: The candidate point groups, smallest first.
GROUPS: tuple[str, ...] = ("C1", "D1", "C2", "D2", "C4", "D4")
#: Number of elements of each group.
GROUP_ORDERS: dict[str, int] = {"C1": 1, "D1": 2, "C2": 2, "D2": 4, "C4": 4, "D4": 8}


def check_group(name: str, what: str, group: object) -> str:
    """``group`` in canonical spelling (``"c4"`` → ``"C4"``) or ``SpecError``."""
    key = group.upper() if isinstance(group, str) else None
    if key not in GROUP_ORDERS:
        raise SpecError(f"node {name!r}: {what} must be one of {GROUPS}, got {group!r}")
    return key


def _square(name: str, what: str, value: object, minimum: int) -> int:
    """An int, or a pair of equal ints (the wire form), as one int ``>= minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or value[0] != value[1]:
            raise SpecError(f"node {name!r}: {what} must be square, got {value!r}")
        value = value[0]
    return check_positive(name, what, value, minimum)


def _kernel_padding(name: str, kernel: object, padding: object) -> tuple[int, int]:
    k = _square(name, "kernel_size", kernel, 1)
    if padding == "same":
        if k % 2 == 0:
            raise SpecError(f"node {name!r}: padding='same' needs an odd kernel_size, got {k}")
        return k, k // 2
    return k, _square(name, "padding", padding, 0)


@dataclass(frozen=True)
class _GroupConvBase(_Single):
    channels: int
    kernel_size: int
    group: str = "C4"
    padding: int | str = "same"
    activation: str = "identity"
    negative_slope: float = 0.01
    bias: bool = True

    def _check_conv(self) -> None:
        self._check()
        check_positive(self.name, "channels", self.channels)
        k, p = _kernel_padding(self.name, self.kernel_size, self.padding)
        self._set("kernel_size", k)
        self._set("padding", p)
        self._set("group", check_group(self.name, "group", self.group))
        if not isinstance(self.bias, bool):
            raise SpecError(f"node {self.name!r}: bias must be a bool, got {self.bias!r}")

    @property
    def units(self) -> int:
        """Channels of the output feature map (each with ``|G|`` group entries)."""
        return self.channels

    def _conv_wire(self, op: str, **extra: Any) -> dict[str, Any]:
        p = int(self.padding)
        return self._wire(
            op,
            channels=self.channels,
            kernel_size=[self.kernel_size, self.kernel_size],
            padding=[p, p],
            group=self.group,
            bias=self.bias,
            **extra,
        )


@dataclass(frozen=True)
class LiftConv(_GroupConvBase):
    """Lifting layer (thesis eq. 3): an image to a ``G``-feature map of ``channels`` channels.

    ``[x ⋆ ψ]_d(g) = Σ_y Σ_c x_c(y) ψ_{d,c}(g⁻¹y)``; the stored weight ``"{name}.weight"`` is
    ``(channels, C_in, k, k)`` and ``"{name}.bias"`` ``(channels,)``, shared by the group
    entries. The output has ``channels·|G|`` engine channels.

    Example:
        >>> from neuroplast import Spec
        >>> from neuroplast.layers import Flatten
        >>> spec = Spec((1, 5, 5), (LiftConv("lift", "input", 2, 3, group="D4"),
        ...     Flatten("f", "lift")), "f")
        >>> spec.shapes["lift"], spec.param_shapes["lift.weight"]
        ((16, 5, 5), (2, 1, 3, 3))
    """

    def __post_init__(self) -> None:
        self._check_conv()

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return self._conv_wire("lift_conv")


@dataclass(frozen=True)
class GroupConv(_GroupConvBase):
    """Group convolution (thesis eq. 2) of a ``G_in``-feature map into a ``G``-feature map.

    ``G = group`` must be a subgroup of ``G_in = in_group`` (default ``group``); with
    ``G < G_in`` the layer is a *relaxed* layer (eqs. 4–5) that reads its input's group axis
    through the cosets ``R`` of ``G`` in ``G_in``. Stored weight ``(channels, C_in·|R|, |G|, k,
    k)`` for an input of ``C_in`` channels (``C_in·|G_in|`` engine channels); bias
    ``(channels,)``.

    Example:
        >>> GroupConv("g", "lift", 4, 3, group="C4", in_group="D4").in_group
        'D4'
    """

    in_group: str | None = None

    def __post_init__(self) -> None:
        self._check_conv()
        inner = self.group if self.in_group is None else self.in_group
        self._set("in_group", check_group(self.name, "in_group", inner))

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return self._conv_wire("group_conv", in_group=self.in_group)


@dataclass(frozen=True)
class MixedConv(_Single):
    """``[G]``-mixed convolution (thesis eqs. 11–12) of constant expanded width ``channels``.

    One kernel per candidate group ``G`` with ``channels/|G|`` channels, weight-normalized
    (``"{name}.v_G"`` directions, frozen per-channel scales ``"{name}.g_G"`` kept as buffers),
    mixed by ``z = softmax("{name}.logits")``. With ``lift`` the input is an image; otherwise
    it is read as a ``G``-feature map by each candidate (``C_in`` divisible by every ``|G|``).
    The output is an ordinary feature map of ``channels`` channels; see
    :func:`neuroplast.morph.collapse` for the equivalent single convolution (eq. 12).
    """

    channels: int
    kernel_size: int
    candidates: tuple[str, ...] = GROUPS
    lift: bool = False
    padding: int | str = "same"
    activation: str = "identity"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        self._check()
        check_positive(self.name, "channels", self.channels)
        k, p = _kernel_padding(self.name, self.kernel_size, self.padding)
        self._set("kernel_size", k)
        self._set("padding", p)
        if isinstance(self.candidates, str) or not self.candidates:
            raise SpecError(f"node {self.name!r}: candidates must be a non-empty list of groups")
        names = tuple(check_group(self.name, "candidate", g) for g in self.candidates)
        if len(set(names)) != len(names):
            raise SpecError(f"node {self.name!r}: candidates repeat a group: {names}")
        self._set("candidates", names)
        if not isinstance(self.lift, bool):
            raise SpecError(f"node {self.name!r}: lift must be a bool, got {self.lift!r}")

    @property
    def units(self) -> int:
        """Output channels (the expanded width)."""
        return self.channels

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        p = int(self.padding)
        return self._wire(
            "mixed_conv",
            channels=self.channels,
            kernel_size=[self.kernel_size, self.kernel_size],
            padding=[p, p],
            candidates=list(self.candidates),
            lift=self.lift,
        )


@dataclass(frozen=True)
class GroupPool(_Single):
    """Mean over the group axis: a ``G``-feature map of ``C`` channels to ``C`` channels.

    Spatial inputs stay spatial ``(C·|G|, H, W) → (C, H, W)``; flat inputs stay flat.
    """

    group: str = "C4"
    activation: str = "identity"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        self._check()
        self._set("group", check_group(self.name, "group", self.group))

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return self._wire("group_pool", group=self.group)


@dataclass(frozen=True)
class GroupBatchNorm(_Single):
    """Equivariant batch norm: statistics and ``γ``, ``β`` shared by a channel's group entries.

    Parameters have one entry per channel of the ``G``-feature map (``C``, not ``C·|G|``);
    otherwise exactly :class:`~neuroplast.layers.BatchNorm` (training with batch statistics,
    PyTorch's running-statistics update, evaluation with the running statistics).
    """

    group: str = "C4"
    eps: float = 1e-5
    momentum: float = 0.1
    activation: str = "identity"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        self._check()
        check_norm_settings(self.name, self.eps, self.momentum)
        self._set("group", check_group(self.name, "group", self.group))

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return self._wire(
            "group_batch_norm", eps=self.eps, momentum=self.momentum, group=self.group
        )
