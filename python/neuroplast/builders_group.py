"""Node lists of group-equivariant CNNs, used by :meth:`Spec.gcnn` and :meth:`Spec.mixed_gcnn`.

The backbone of Maile (2023, Sec. 4.5), scaled down: a lifting layer and group convolutions of
constant *expanded* width (``width/|G|`` channels of ``|G|`` group entries each), each followed
by an equivariant batch norm and the activation, 2×2 average pooling after every other layer
(while the grid stays even, so pooling commutes with the rotations), then pooling over the
group axis and over space, dense layers and the output.
"""

from __future__ import annotations

from collections.abc import Sequence

from neuroplast.errors import SpecError
from neuroplast.groups import is_subgroup
from neuroplast.layers import (
    GROUP_ORDERS,
    GROUPS,
    AvgPool2d,
    Dense,
    GlobalAvgPool,
    GroupBatchNorm,
    GroupConv,
    GroupPool,
    LiftConv,
    MaxPool2d,
    MixedConv,
    Node,
)
from neuroplast.layers.group import check_group

__all__ = ["gcnn_nodes", "layer_groups", "mixed_gcnn_nodes"]


def layer_groups(group: str | Sequence[str], n_layers: int) -> tuple[str, ...]:
    """One group per conv layer, non-increasing along the network (local equivariance)."""
    groups = (group,) * n_layers if isinstance(group, str) else tuple(group)
    if len(groups) != n_layers:
        raise SpecError(f"give one group per conv layer ({n_layers}), got {len(groups)}")
    groups = tuple(check_group(f"conv_{i}", "group", g) for i, g in enumerate(groups))
    for i in range(1, n_layers):
        if not is_subgroup(groups[i], groups[i - 1]):
            raise SpecError(
                f"layer conv_{i} is {groups[i]}-equivariant but conv_{i - 1} is "
                f"{groups[i - 1]}: each layer's group must be a subgroup of the one before"
            )
    return groups


def _pools(
    nodes: list[Node], prev: str, i: int, size: int, pool: str | None, pool_every: int
) -> tuple[str, int]:
    if pool is None or (i + 1) % pool_every or size % 2 or size < 2:
        return prev, size
    cls = MaxPool2d if pool == "max" else AvgPool2d
    nodes.append(cls(f"pool_{i}", prev, 2))
    return f"pool_{i}", size // 2


def _head(
    nodes: list[Node],
    prev: str,
    group: str,
    hidden: Sequence[int],
    n_out: int,
    act: str,
    out_act: str,
) -> tuple[list[Node], str]:
    nodes.append(GroupPool("group_pool", prev, group))
    nodes.append(GlobalAvgPool("gap", "group_pool"))
    prev = "gap"
    for i, units in enumerate(hidden):
        nodes.append(Dense(f"dense_{i}", prev, units, act))
        prev = f"dense_{i}"
    nodes.append(Dense("output", prev, n_out, out_act))
    return nodes, "output"


def _check_widths(widths: Sequence[int], groups: Sequence[str], pool: str | None) -> None:
    if not widths:
        raise SpecError("a group CNN needs at least one conv layer (widths is empty)")
    if pool not in ("max", "avg", None):
        raise SpecError(f"pool must be 'max', 'avg' or None, got {pool!r}")
    for i, (w, g) in enumerate(zip(widths, groups, strict=True)):
        if not isinstance(w, int) or w < 1 or w % GROUP_ORDERS[g]:
            raise SpecError(f"width {w!r} of conv_{i} is not a positive multiple of |{g}|")


def gcnn_nodes(
    size: int,
    n_out: int,
    groups: Sequence[str],
    widths: Sequence[int],
    *,
    kernel_size: int,
    pool: str | None,
    pool_every: int,
    batch_norm: bool,
    hidden: Sequence[int],
    activation: str,
    output_activation: str,
) -> tuple[list[Node], str]:
    """A G-CNN (see :meth:`Spec.gcnn`); ``size`` is the input's height (= width)."""
    _check_widths(widths, groups, pool)
    nodes: list[Node] = []
    prev, in_group = "input", groups[0]
    for i, (w, g) in enumerate(zip(widths, groups, strict=True)):
        act = "identity" if batch_norm else activation
        c = w // GROUP_ORDERS[g]
        name = f"conv_{i}"
        if i == 0:
            nodes.append(
                LiftConv(name, prev, c, kernel_size, g, activation=act, bias=not batch_norm)
            )
        else:
            nodes.append(
                GroupConv(
                    name,
                    prev,
                    c,
                    kernel_size,
                    g,
                    activation=act,
                    bias=not batch_norm,
                    in_group=in_group,
                )
            )
        prev, in_group = name, g
        if batch_norm:
            nodes.append(GroupBatchNorm(f"{name}_bn", name, g, activation=activation))
            prev = f"{name}_bn"
        prev, size = _pools(nodes, prev, i, size, pool, pool_every)
    return _head(nodes, prev, groups[-1], hidden, n_out, activation, output_activation)


def mixed_gcnn_nodes(
    size: int,
    n_out: int,
    candidates: Sequence[str],
    widths: Sequence[int],
    *,
    kernel_size: int,
    pool: str | None,
    pool_every: int,
    batch_norm: bool,
    hidden: Sequence[int],
    activation: str,
    output_activation: str,
) -> tuple[list[Node], str]:
    """A network of ``[G]``-mixed layers (see :meth:`Spec.mixed_gcnn`)."""
    cands = tuple(check_group("mixed", "candidate", g) for g in candidates)
    # The smallest group containing every candidate: pooling and batch-norm statistics over
    # its blocks keep every candidate's equivariance.
    largest = next(h for h in GROUPS if all(is_subgroup(g, h) for g in cands))
    _check_widths(widths, (largest,) * len(widths), pool)
    nodes: list[Node] = []
    prev = "input"
    for i, w in enumerate(widths):
        name = f"conv_{i}"
        act = "identity" if batch_norm else activation
        nodes.append(MixedConv(name, prev, w, kernel_size, cands, lift=i == 0, activation=act))
        prev = name
        if batch_norm:
            nodes.append(GroupBatchNorm(f"{name}_bn", name, largest, activation=activation))
            prev = f"{name}_bn"
        prev, size = _pools(nodes, prev, i, size, pool, pool_every)
    return _head(nodes, prev, largest, hidden, n_out, activation, output_activation)
