"""Node types of a network graph (:class:`neuroplast.Spec`).

Nodes are immutable values. A graph is a tuple of nodes in topological order; each node names
its inputs, the network input is called ``"input"``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from neuroplast.errors import SpecError
from neuroplast.layers._common import ACTIVATIONS, Activation
from neuroplast.layers.dense import Add, Concat, Dense
from neuroplast.layers.group import (
    GROUP_ORDERS,
    GROUPS,
    GroupBatchNorm,
    GroupConv,
    GroupPool,
    LiftConv,
    MixedConv,
)
from neuroplast.layers.mixed import WEIGHTINGS, Identity, MixedOp
from neuroplast.layers.spatial import (
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    MaxPool2d,
)

__all__ = [
    "ACTIVATIONS",
    "NODE_TYPES",
    "Activation",
    "Add",
    "AvgPool2d",
    "BatchNorm",
    "Concat",
    "Conv2d",
    "Dense",
    "Flatten",
    "GROUPS",
    "GROUP_ORDERS",
    "GlobalAvgPool",
    "GroupBatchNorm",
    "GroupConv",
    "GroupPool",
    "Identity",
    "LiftConv",
    "MaxPool2d",
    "MixedConv",
    "MixedOp",
    "Node",
    "WEIGHTINGS",
    "node_from_dict",
]

Node: TypeAlias = (
    Dense
    | Add
    | Concat
    | Conv2d
    | MaxPool2d
    | AvgPool2d
    | GlobalAvgPool
    | Flatten
    | BatchNorm
    | LiftConv
    | GroupConv
    | GroupPool
    | GroupBatchNorm
    | MixedConv
    | Identity
    | MixedOp
)

#: Every node class, for ``isinstance`` checks.
NODE_TYPES: tuple[type, ...] = (
    Dense,
    Add,
    Concat,
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    GlobalAvgPool,
    Flatten,
    BatchNorm,
    LiftConv,
    GroupConv,
    GroupPool,
    GroupBatchNorm,
    MixedConv,
    Identity,
    MixedOp,
)

_SINGLE: dict[str, tuple[type, tuple[str, ...]]] = {
    "dense": (Dense, ("units", "bias")),
    "conv2d": (
        Conv2d,
        ("channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"),
    ),
    "max_pool2d": (MaxPool2d, ("kernel_size", "stride", "padding")),
    "avg_pool2d": (AvgPool2d, ("kernel_size", "stride", "padding")),
    "global_avg_pool": (GlobalAvgPool, ()),
    "flatten": (Flatten, ()),
    "batch_norm": (BatchNorm, ("eps", "momentum", "affine")),
    "lift_conv": (LiftConv, ("channels", "kernel_size", "group", "padding", "bias")),
    "group_conv": (GroupConv, ("channels", "kernel_size", "group", "in_group", "padding", "bias")),
    "group_pool": (GroupPool, ("group",)),
    "group_batch_norm": (GroupBatchNorm, ("group", "eps", "momentum")),
    "mixed_conv": (MixedConv, ("channels", "kernel_size", "candidates", "lift", "padding")),
    "identity": (Identity, ()),
}
_MIXED_FIELDS = ("alpha", "row", "rows", "none", "weighting")


def _tuples(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def node_from_dict(d: dict[str, Any]) -> Node:
    """Inverse of ``to_dict``; raises :class:`~neuroplast.errors.SpecError` on bad input."""
    try:
        op = d["op"]
        common: dict[str, Any] = {"name": d["name"], "activation": d.get("activation", "identity")}
        if op not in ("flatten",):
            common["negative_slope"] = d.get("negative_slope", 0.01)
        else:
            common.pop("activation")
        if op == "mixed":
            extra = {f: d[f] for f in _MIXED_FIELDS if f in d}
            return MixedOp(inputs=tuple(d["inputs"]), **common, **extra)
        if op in ("add", "concat"):
            cls = Add if op == "add" else Concat
            return cls(inputs=tuple(d["inputs"]), **common)
        if op in _SINGLE:
            node_cls, fields = _SINGLE[op]
            (inp,) = d["inputs"]
            extra = {f: _tuples(d[f]) for f in fields if f in d}
            node: Node = node_cls(input=inp, **common, **extra)
            return node
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"malformed node description {d!r}: {exc}") from exc
    raise SpecError(f"unknown node op {op!r} in {d!r}")
