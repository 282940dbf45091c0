"""Node lists of common architectures, used by :meth:`Spec.cnn` and :meth:`Spec.resnet`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neuroplast.errors import SpecError
from neuroplast.layers import (
    Add,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool2d,
    Node,
)

__all__ = ["cnn_nodes", "densenet_nodes", "resnet_nodes"]


def _conv_bn(
    nodes: list[Node],
    name: str,
    inp: str,
    channels: int,
    *,
    kernel: int,
    stride: int,
    activation: str,
    batch_norm: bool,
) -> str:
    """Appends conv (+ batch norm, activation after it); returns the last node's name."""
    pad = kernel // 2
    conv_act = "identity" if batch_norm else activation
    # With batch norm right after, the conv bias is redundant (β absorbs it).
    nodes.append(
        Conv2d(name, inp, channels, kernel, stride, pad, activation=conv_act, bias=not batch_norm)
    )
    if not batch_norm:
        return name
    nodes.append(BatchNorm(f"{name}_bn", name, activation=activation))
    return f"{name}_bn"


def cnn_nodes(
    channels: Sequence[int],
    hidden: Sequence[int],
    n_out: int,
    *,
    kernel_size: int,
    pool: str | None,
    batch_norm: bool,
    activation: str,
    global_pool: bool,
    output_activation: str,
) -> tuple[list[Node], str]:
    """A plain conv stack (see :meth:`Spec.cnn`).

    Per entry of ``channels`` a ``conv_i`` ("same" padding, optional ``conv_i_bn``) and a 2×2
    ``pool_i``; then flatten (or global average pooling), the dense layers ``dense_i`` and
    ``"output"``.
    """
    if not channels:
        raise SpecError("cnn needs at least one conv layer (channels is empty)")
    if pool not in ("max", "avg", None):
        raise SpecError(f"pool must be 'max', 'avg' or None, got {pool!r}")
    if kernel_size % 2 == 0:
        raise SpecError(f"cnn uses 'same' padding and needs an odd kernel_size, got {kernel_size}")
    nodes: list[Node] = []
    prev = "input"
    for i, ch in enumerate(channels):
        prev = _conv_bn(
            nodes,
            f"conv_{i}",
            prev,
            ch,
            kernel=kernel_size,
            stride=1,
            activation=activation,
            batch_norm=batch_norm,
        )
        if pool is not None:
            cls = MaxPool2d if pool == "max" else AvgPool2d
            nodes.append(cls(f"pool_{i}", prev, 2))
            prev = f"pool_{i}"
    nodes.append(GlobalAvgPool("gap", prev) if global_pool else Flatten("flatten", prev))
    prev = nodes[-1].name
    for i, units in enumerate(hidden):
        nodes.append(Dense(f"dense_{i}", prev, units, activation))
        prev = f"dense_{i}"
    nodes.append(Dense("output", prev, n_out, output_activation))
    return nodes, "output"


def resnet_nodes(
    n_out: int,
    *,
    stem_channels: int,
    stages: Sequence[tuple[int, int]],
    batch_norm: bool,
    activation: str,
    output_activation: str,
) -> tuple[list[Node], str]:
    """A small ResNet (see :meth:`Spec.resnet`).

    A 3×3 stem, stages of basic residual blocks (two 3×3 convs), global average pooling and a
    dense output.

    Each stage is ``(channels, blocks)``; every stage after the first starts with stride 2.
    A block whose input differs in channels or resolution gets a 1×1 projection shortcut
    (``{block}_proj``, with batch norm when enabled); otherwise the shortcut is the identity.
    """
    if not stages or any(c < 1 or b < 1 for c, b in stages):
        raise SpecError(f"stages must be a non-empty list of (channels, blocks >= 1), got {stages}")
    nodes: list[Node] = []
    kw: dict[str, Any] = {"kernel": 3, "batch_norm": batch_norm}
    prev = _conv_bn(nodes, "stem", "input", stem_channels, stride=1, activation=activation, **kw)
    width = stem_channels
    for s, (channels, blocks) in enumerate(stages):
        for b in range(blocks):
            name = f"s{s}b{b}"
            stride = 2 if s > 0 and b == 0 else 1
            h = _conv_bn(
                nodes, f"{name}_c1", prev, channels, stride=stride, activation=activation, **kw
            )
            h = _conv_bn(nodes, f"{name}_c2", h, channels, stride=1, activation="identity", **kw)
            shortcut = prev
            if stride != 1 or channels != width:
                shortcut = _conv_bn(
                    nodes,
                    f"{name}_proj",
                    prev,
                    channels,
                    kernel=1,
                    stride=stride,
                    activation="identity",
                    batch_norm=batch_norm,
                )
            nodes.append(Add(f"{name}_add", (h, shortcut), activation=activation))
            prev, width = f"{name}_add", channels
    nodes.append(GlobalAvgPool("gap", prev))
    nodes.append(Dense("output", "gap", n_out, output_activation))
    return nodes, "output"


def _dense_input(nodes: list[Node], name: str, sources: Sequence[str], activation: str) -> str:
    """BN-activation of every source, concatenated: the input of a DenseNet layer."""
    for k, src in enumerate(sources):
        nodes.append(BatchNorm(f"{name}_bn{k}", src, activation=activation))
    nodes.append(Concat(f"{name}_in", tuple(f"{name}_bn{k}" for k in range(len(sources)))))
    return f"{name}_in"


def densenet_nodes(
    n_out: int,
    *,
    growth: int,
    blocks: Sequence[int],
    stem_channels: int,
    compression: float,
    activation: str,
    output_activation: str,
) -> tuple[list[Node], str]:
    """A DenseNet (see :meth:`Spec.densenet`)."""
    if not blocks or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in blocks):
        raise SpecError(f"blocks must be a non-empty list of layer counts >= 1, got {blocks}")
    if not 0 < compression <= 1:
        raise SpecError(f"compression must be in (0, 1], got {compression}")
    nodes: list[Node] = [
        Conv2d("stem", "input", stem_channels, 3, padding=1, activation="identity", bias=False)
    ]
    prev, width = "stem", stem_channels
    for b, n_layers in enumerate(blocks):
        feats = [prev]
        for i in range(1, n_layers + 1):
            name = f"b{b}l{i}"
            inp = _dense_input(nodes, name, feats, activation)
            nodes.append(Conv2d(name, inp, growth, 3, padding=1, activation="identity", bias=False))
            feats.append(name)
        width += n_layers * growth
        if b + 1 < len(blocks):
            name = f"b{b}t"
            inp = _dense_input(nodes, name, feats, activation)
            width = max(1, int(compression * width))
            nodes.append(Conv2d(name, inp, width, 1, activation="identity", bias=False))
            nodes.append(AvgPool2d(f"{name}_pool", name, 2))
            prev = f"{name}_pool"
        else:
            inp = _dense_input(nodes, f"b{b}o", feats, activation)
            nodes.append(GlobalAvgPool("gap", inp))
    nodes.append(Dense("output", "gap", n_out, output_activation))
    return nodes, "output"
