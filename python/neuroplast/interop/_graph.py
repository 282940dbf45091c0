"""A framework-neutral graph of operators and its lowering to a neuroplast :class:`Network`.

The PyTorch and ONNX readers translate their graphs into :class:`Op` values, one per operator,
with PyTorch's semantics (NCHW, weights laid out as PyTorch stores them). :func:`lower` turns
that into a :class:`~neuroplast.Spec` and parameters:

* activations are fused into the node that produces their input when that node has no
  activation yet and nothing else reads its pre-activation output; an activation after a
  flatten is moved before it (they commute); one that cannot be fused becomes a 1×1 max pool
  carrying the activation on spatial values (exact) and an :class:`UnsupportedOpError` on flat
  values (neuroplast has no standalone activation node);
* identity-like operators (``alias``: Identity, Dropout at inference) and flattening of values
  that are already flat disappear;
* global average pooling becomes :class:`~neuroplast.GlobalAvgPool` when only flattens read it
  (they then vanish), else an :class:`~neuroplast.AvgPool2d` over the whole image (same
  ``(C, 1, 1)`` output as PyTorch);
* a softmax is accepted only as the last operator and dropped (the network returns logits).

Example:
    >>> import numpy as np
    >>> w = np.eye(2, dtype=np.float32)
    >>> g = Graph((2,), "x", [Op("fc", "dense", ("x",), {"units": 2, "bias": False},
    ...     {"weight": w}), Op("r", "act", ("fc",), {"activation": "relu"})], "r")
    >>> net = lower(g)
    >>> net.spec.nodes[0].activation, net.forward([[-1.0, 3.0]]).tolist()
    ('relu', [[0.0, 3.0]])
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import InteropError, NeuroplastError
from neuroplast.interop._errors import UnsupportedOpError
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
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = ["KINDS", "Graph", "Op", "lower"]

F32 = npt.NDArray[np.float32]

#: Operator kinds of the neutral graph.
KINDS: tuple[str, ...] = (
    "dense",
    "conv2d",
    "batch_norm",
    "act",
    "alias",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool",
    "flatten",
    "add",
    "concat",
    "softmax",
)
_IDEMPOTENT = ("relu", "saturation", "sign")
_NODE_CLASSES: dict[str, type] = {
    "dense": Dense,
    "conv2d": Conv2d,
    "batch_norm": BatchNorm,
    "max_pool2d": MaxPool2d,
    "avg_pool2d": AvgPool2d,
    "global_avg_pool": GlobalAvgPool,
    "flatten": Flatten,
}


@dataclass(frozen=True)
class Op:
    """One operator: its output value is called ``name``.

    Attributes:
        name: Name of the output value (and of the neuroplast node it becomes).
        kind: One of :data:`KINDS`.
        inputs: Names of the input values (the graph input or earlier ops).
        attrs: Constructor arguments of the neuroplast node (``units``, ``kernel_size``, ...;
            ``activation`` and ``negative_slope`` for ``act``).
        tensors: Parameters by short name (``weight``, ``bias``, ``running_mean``, ...).
        where: Where it came from, for error messages (``"module 'layer1.0.conv1'"``).
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    tensors: Mapping[str, F32] = field(default_factory=dict)
    where: str = ""


@dataclass(frozen=True)
class Graph:
    """Operators in topological order with one input (per-sample ``input_shape``) and one output."""

    input_shape: tuple[int, ...]
    input: str
    ops: Sequence[Op]
    output: str


@dataclass
class _Entry:
    """A neuroplast node under construction."""

    kind: str
    inputs: tuple[str, ...]
    attrs: dict[str, Any]
    tensors: Mapping[str, F32]
    where: str
    activation: str = "identity"
    negative_slope: float = 0.01


@dataclass
class _Lowering:
    graph: Graph
    uses: Counter[str]
    readers: dict[str, list[str]]
    ref: dict[str, str] = field(default_factory=dict)
    shape: dict[str, tuple[int, ...]] = field(default_factory=dict)
    entries: dict[str, _Entry] = field(default_factory=dict)
    head_uses: dict[str, int] = field(default_factory=dict)

    def add(self, op: Op, kind: str, attrs: dict[str, Any], shape: tuple[int, ...]) -> None:
        name = _unique(op.name, self.entries)
        inputs = tuple(self.ref[i] for i in op.inputs)
        self.entries[name] = _Entry(kind, inputs, attrs, op.tensors, op.where or op.name)
        self.ref[op.name] = name
        self.shape[op.name] = shape
        self.head_uses[name] = self.uses[op.name]

    def alias(self, op: Op) -> None:
        (src,) = op.inputs
        target = self.ref[src]
        self.ref[op.name] = target
        self.shape[op.name] = self.shape[src]
        if target in self.head_uses:
            self.head_uses[target] += self.uses[op.name] - 1


def _unique(name: str, taken: Mapping[str, object]) -> str:
    base = name if name and name != "input" else f"{name or 'node'}_"
    out, i = base, 1
    while out in taken:
        out, i = f"{base}_{i}", i + 1
    return out


def _where(op: Op) -> str:
    return op.where or f"node {op.name!r}"


def _window(extent: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (extent + 2 * p - d * (k - 1) - 1) // s + 1


def _pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _spatial_out(op: Op, c: int, h: int, w: int) -> tuple[int, int, int]:
    a = op.attrs
    k, p = _pair(a["kernel_size"]), _pair(a.get("padding", 0))
    s = _pair(a.get("stride") or k)
    d = _pair(a.get("dilation", 1))
    oh, ow = _window(h, k[0], s[0], p[0], d[0]), _window(w, k[1], s[1], p[1], d[1])
    if oh < 1 or ow < 1:
        raise InteropError(f"{_where(op)}: window {k} does not fit an input of {h}×{w}")
    return (int(a.get("channels", c)), oh, ow)


def _need_rank(op: Op, shape: tuple[int, ...], ranks: tuple[int, ...]) -> None:
    if len(shape) not in ranks:
        want = " or ".join({1: "flat (N, F)", 3: "spatial (N, C, H, W)"}[r] for r in ranks)
        raise InteropError(
            f"{_where(op)}: {op.kind} needs a {want} input, got per-sample shape {shape}"
        )


def _merge_shape(op: Op, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    if len(shapes) < 2:
        raise InteropError(f"{_where(op)}: {op.kind} needs at least two inputs")
    if op.kind == "add":
        if len(set(shapes)) != 1:
            raise InteropError(f"{_where(op)}: add of differently shaped inputs {shapes}")
        return shapes[0]
    if len({s[1:] for s in shapes}) != 1 or len({len(s) for s in shapes}) != 1:
        raise InteropError(f"{_where(op)}: concat needs equal height × width, got {shapes}")
    return (sum(s[0] for s in shapes), *shapes[0][1:])


def _step(low: _Lowering, op: Op) -> None:
    shapes = [low.shape[i] for i in op.inputs]
    kind, attrs = op.kind, dict(op.attrs)
    if kind == "alias":
        low.alias(op)
    elif kind == "act":
        _activation(low, op)
    elif kind == "flatten":
        _flatten(low, op)
    elif kind == "softmax":
        if op.name != low.graph.output or len(shapes[0]) != 1:
            raise UnsupportedOpError("softmax", _where(op), "only as the last op, on logits")
        low.alias(op)
    elif kind == "dense":
        _need_rank(op, shapes[0], (1,))
        low.add(op, kind, attrs, (int(attrs["units"]),))
    elif kind == "batch_norm":
        _need_rank(op, shapes[0], (1, 3))
        low.add(op, kind, attrs, shapes[0])
    elif kind in ("conv2d", "max_pool2d", "avg_pool2d"):
        _need_rank(op, shapes[0], (3,))
        low.add(op, kind, attrs, _spatial_out(op, *shapes[0]))
    elif kind == "global_avg_pool":
        _global_pool(low, op, shapes[0])
    elif kind in ("add", "concat"):
        low.add(op, kind, attrs, _merge_shape(op, shapes))
    else:
        raise UnsupportedOpError(kind, _where(op))


def _global_pool(low: _Lowering, op: Op, shape: tuple[int, ...]) -> None:
    _need_rank(op, shape, (3,))
    readers = low.readers.get(op.name, [])
    kinds = {o.kind for o in low.graph.ops if o.name in readers}
    if readers and kinds == {"flatten"} and op.name != low.graph.output:
        low.add(op, "global_avg_pool", {}, (shape[0],))
    else:  # PyTorch keeps a (C, 1, 1) image: average over the whole image instead
        attrs = {"kernel_size": shape[1:], "stride": shape[1:]}
        low.add(op, "avg_pool2d", attrs, (shape[0], 1, 1))


def _flatten(low: _Lowering, op: Op) -> None:
    (src,) = op.inputs
    shape = low.shape[src]
    features = op.attrs.get("features", math.prod(shape))
    if features != math.prod(shape):
        raise InteropError(f"{_where(op)}: cannot reshape {shape} to ({features},)")
    if len(shape) == 3:
        low.add(op, "flatten", {}, (math.prod(shape),))
    elif len(shape) == 1 or low.ref[src] == "input":  # the engine reads such inputs flat
        low.alias(op)
        low.shape[op.name] = (math.prod(shape),)
    else:
        raise InteropError(f"{_where(op)}: cannot flatten per-sample shape {shape}")


def _fusable(low: _Lowering, name: str, activation: str) -> bool:
    entry = low.entries.get(name)
    if entry is None or entry.kind == "flatten" or low.head_uses[name] != 1:
        return False
    return entry.activation == "identity" or (
        entry.activation == activation and activation in _IDEMPOTENT
    )


def _activation(low: _Lowering, op: Op) -> None:
    (src,) = op.inputs
    activation = str(op.attrs["activation"])
    slope = float(op.attrs.get("negative_slope", 0.01))
    target = low.ref[src]
    entry = low.entries.get(target)
    if entry is not None and entry.kind == "flatten" and low.head_uses[target] == 1:
        target = entry.inputs[0]  # act(flatten(x)) == flatten(act(x))
    if _fusable(low, target, activation):
        fused = low.entries[target]
        fused.activation, fused.negative_slope = activation, slope
        low.ref[op.name] = low.ref[src]
        low.shape[op.name] = low.shape[src]
        low.head_uses[low.ref[src]] = low.uses[op.name]
        return
    if len(low.shape[src]) != 3:
        raise UnsupportedOpError(
            activation,
            _where(op),
            "cannot be fused into the node before it (that node already has an activation, "
            "or its output is also read without this one) and neuroplast has no standalone "
            "activation for flat values",
        )
    low.add(op, "max_pool2d", {"kernel_size": 1, "stride": 1}, low.shape[src])
    fused = low.entries[low.ref[op.name]]
    fused.activation, fused.negative_slope = activation, slope


def _reachable(entries: Mapping[str, _Entry], output: str) -> list[str]:
    keep, stack = set(), [output]
    while stack:
        name = stack.pop()
        if name in keep or name == "input":
            continue
        keep.add(name)
        stack.extend(entries[name].inputs)
    return [n for n in entries if n in keep]


def _node(name: str, e: _Entry) -> Node:
    extra: dict[str, Any] = {"activation": e.activation, "negative_slope": e.negative_slope}
    if e.kind in ("add", "concat"):
        cls = Add if e.kind == "add" else Concat
        return cls(name, e.inputs, **extra)
    if e.kind == "flatten":
        return Flatten(name, e.inputs[0])
    node: Node = _NODE_CLASSES[e.kind](name, e.inputs[0], **e.attrs, **extra)
    return node


def lower(graph: Graph, loss: str = "cross_entropy") -> Network:
    """The neuroplast network computing what ``graph`` computes (see the module docstring).

    Raises:
        UnsupportedOpError: An operator without an exact neuroplast form.
        InteropError: Shapes that neuroplast cannot represent, or an invalid result.
    """
    uses: Counter[str] = Counter(i for op in graph.ops for i in op.inputs)
    uses[graph.output] += 1
    readers: dict[str, list[str]] = {}
    for op in graph.ops:
        for i in op.inputs:
            readers.setdefault(i, []).append(op.name)
    low = _Lowering(graph, uses, readers)
    low.ref[graph.input] = "input"
    low.shape[graph.input] = tuple(graph.input_shape)
    for op in graph.ops:
        _step(low, op)
    out = low.ref[graph.output]
    if out == "input" or len(low.shape[graph.output]) != 1:
        raise InteropError(
            "the network output must be a flat (N, F) tensor computed by at least one layer, "
            f"got per-sample shape {low.shape[graph.output]}"
        )
    names = _reachable(low.entries, out)
    params = {
        f"{n}.{k}": np.ascontiguousarray(v, dtype=np.float32)
        for n in names
        for k, v in low.entries[n].tensors.items()
    }
    try:
        nodes = tuple(_node(n, low.entries[n]) for n in names)
        return Network(Spec(tuple(graph.input_shape), nodes, out, loss), params)
    except NeuroplastError as exc:
        raise InteropError(f"the converted graph is not a valid neuroplast network: {exc}") from exc
