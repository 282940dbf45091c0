"""Structure encodings of ASNG: which bits exist, what each switches, and what each costs.

A structure vector ``M ∈ {0, 1}^d`` selects either **hidden units** (``select="units"``: bit
``(layer, u)`` multiplies unit ``u`` of a dense or conv layer by 0 or 1; behind a batch norm
that follows the layer, the mask sits on the batch norm's output) or **connections**
(``select="connections"``: bit ``(merge, k)`` switches input ``k`` of an ``add`` or ``concat``
node on or off).

Every bit is checked to be *exactly removable*: a switched-off unit or connection must reach
its consumers as zeros (only through pooling, flatten and concat nodes with a zero-preserving
activation; not through batch norm or an ``add``), so that physically removing it
(:func:`neuroplast.search.asng.removal.remove`) computes what the mask computes.

Complexity coefficients ``c`` (the paper's Sec. 3): ``"weights"``, the number of trainable
parameters the bit switches on its own (units: fan-in + fan-out + bias, plus batch-norm
entries; connections: the consumer weights and batch-norm entries of that input, plus layers
only it feeds), or ``"ones"`` (``c = 1``, the paper's unit selection).

Example:
    >>> from neuroplast import Spec
    >>> enc = encode(Spec.mlp(4, [3, 2], 2), "units")
    >>> enc.d, enc.weights.tolist()
    (5, [7.0, 7.0, 7.0, 6.0, 6.0])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from neuroplast.activations import ZERO_AT_ZERO
from neuroplast.errors import ConfigError, InvalidMorphismError
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
from neuroplast.morph.connections import connection_positions, disconnect_spec, live_nodes
from neuroplast.morph.deps import coupled_group, group_leaders, unit_graph
from neuroplast.spec import Spec

__all__ = ["SELECTIONS", "Bit", "Encoding", "encode"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Selection = Literal["units", "connections"]
#: What a structure vector may select.
SELECTIONS: tuple[str, ...] = ("units", "connections")
_ZERO_PASS = (MaxPool2d, AvgPool2d, GlobalAvgPool, Flatten, Concat)


@dataclass(frozen=True)
class Bit:
    """One bit of a structure vector.

    Attributes:
        kind: ``"unit"`` or ``"input"`` (a merge input, i.e. a connection).
        group: The layer whose unit it is, or the merge whose input it is.
        index: The unit, or the position in the merge's inputs.
        node: The node the engine masks (the layer, or the batch norm right after it) or the
            merge it gates.
        source: For a connection, the node feeding that input.
    """

    kind: Literal["unit", "input"]
    group: str
    index: int
    node: str
    source: str = ""

    @property
    def label(self) -> str:
        """``"layer[u]"`` or ``"merge<-source"``."""
        if self.kind == "unit":
            return f"{self.group}[{self.index}]"
        return f"{self.group}<-{self.source}#{self.index}"


@dataclass(frozen=True)
class Encoding:
    """The bits of a structure search over one spec (see the module docstring).

    Attributes:
        spec: The spec the bits refer to.
        select: ``"units"`` or ``"connections"``.
        bits: The bits, grouped by layer or merge in graph order.
        weights: Trainable parameters each bit switches on its own (``c`` in ``"weights"``
            mode).
    """

    spec: Spec
    select: Selection
    bits: tuple[Bit, ...]
    weights: F64
    _rows: tuple[tuple[I64, I64, float], ...] = field(default=(), repr=False, compare=False)
    _biases: tuple[I64, ...] = field(default=(), repr=False, compare=False)

    @property
    def d(self) -> int:
        """Number of bits."""
        return len(self.bits)

    @property
    def groups(self) -> dict[str, list[int]]:
        """Bit indices per layer (units) or merge (connections), in graph order."""
        out: dict[str, list[int]] = {}
        for i, b in enumerate(self.bits):
            out.setdefault(b.group, []).append(i)
        return out

    def costs(self, kind: Literal["weights", "ones"]) -> F64:
        """Complexity coefficients ``c``: parameters per bit, or all ones."""
        if kind == "ones":
            return np.ones(self.d)
        if kind == "weights":
            return self.weights.copy()
        raise ConfigError(f"cost must be 'weights' or 'ones', got {kind!r}")

    def wire(self) -> list[tuple[int, int, int]]:
        """The bits as the engine takes them: ``(kind, node index, unit or input)``."""
        return [
            (0 if b.kind == "unit" else 1, self.spec.node_index(b.node), b.index) for b in self.bits
        ]

    def n_params(self, p: npt.ArrayLike) -> float:
        """Trainable parameters of the structure with bit probabilities ``p``.

        For a 0/1 vector, the parameter count of the network with the switched-off units or
        connections removed; for probabilities ``θ``, its expectation under ``Bernoulli(θ)``
        (exact for units, whose counts are products of independent layer widths; for
        connections, each bit's own parameters weighted by its probability).
        """
        q = np.asarray(p, np.float64)
        if self.select == "connections":
            if np.all((q == 0) | (q == 1)):
                return float(self._connections_spec(q.astype(bool)).n_params)
            return float(self.spec.n_params - np.dot(self.weights, 1.0 - q))
        ext = np.append(q, 1.0)
        total = sum(ext[r].sum() * ext[c].sum() * area for r, c, area in self._rows)
        total += sum(ext[b].sum() for b in self._biases)
        return float(total)

    def _connections_spec(self, m: npt.NDArray[np.bool_]) -> Spec:
        spec = self.spec
        for merge, idx in reversed(self.groups.items()):
            off = [self.bits[i].index for i in idx if not m[i]]
            if off and merge in {n.name for n in spec.nodes}:
                spec = disconnect_spec(spec, merge, off)[0]
        return spec


def _readers(spec: Spec, name: str) -> list[Node]:
    return [n for n in spec.nodes if name in n.inputs]


def _mask_node(spec: Spec, layer: str) -> str:
    """The node whose output carries ``layer``'s units to every reader.

    The layer itself, or the batch norm right after it; checks that zeros there reach every
    consumer as zeros.
    """
    node = layer
    readers = _readers(spec, node)
    while len(readers) == 1 and isinstance(readers[0], BatchNorm):
        node = readers[0].name
        readers = _readers(spec, node)
    stack = list(readers)
    while stack:
        r = stack.pop()
        if isinstance(r, Dense | Conv2d):
            continue
        if isinstance(r, _ZERO_PASS) and getattr(r, "activation", "identity") in ZERO_AT_ZERO:
            stack += _readers(spec, r.name)
            continue
        raise ConfigError(
            f"unit bits on {layer!r}: its units reach {type(r).__name__} node {r.name!r}, where "
            "a switched-off unit does not stay zero, so it could not be removed exactly"
        )
    return node


def _unit_layers(spec: Spec, layers: Sequence[str]) -> list[str]:
    if not layers:
        out = [n for n in group_leaders(spec) if len(coupled_group(spec, n).producers) == 1]
        if not out:
            raise ConfigError("the network has no hidden dense or conv layer to select units of")
        return out
    names = {n.name for n in spec.nodes}
    for layer in layers:
        if layer == spec.output:
            raise ConfigError(
                f"{layer!r} is the output layer: its units are the predictions and cannot be "
                "selected"
            )
        if layer not in names or not isinstance(spec.node(layer), Dense | Conv2d):
            raise ConfigError(f"{layer!r} is not a dense or conv layer of the network")
        try:
            group = coupled_group(spec, layer)
        except InvalidMorphismError as exc:
            raise ConfigError(f"units of {layer!r} cannot be selected: {exc}") from exc
        if len(group.producers) != 1:
            raise ConfigError(
                f"units of {layer!r} are tied to {group.producers} by an add node; select "
                "connections instead"
            )
    return list(dict.fromkeys(layers))


def _resized(spec: Spec, layer: str, units: int) -> Spec:
    node = spec.node(layer)
    field_name = "units" if isinstance(node, Dense) else "channels"
    new = dataclasses.replace(node, **{field_name: units})  # type: ignore[arg-type]
    nodes = tuple(new if n is node else n for n in spec.nodes)
    return Spec(spec.input_shape, nodes, spec.output, spec.loss)


def _unit_tables(spec: Spec, bits: Sequence[Bit]) -> tuple[tuple[I64, I64, float], ...]:
    """Per weight tensor and batch-norm position: the bit index of each row/column (d: none)."""
    ug = unit_graph(spec)
    d = len(bits)
    index = {(b.group, b.index): i for i, b in enumerate(bits)}

    def ids(keys: Sequence[tuple[str, int, tuple[int, ...]]]) -> I64:
        return np.array([index.get((p, r), d) for p, r, _ in keys], np.int64)

    rows: list[tuple[I64, I64, float]] = []
    one = np.array([d], np.int64)
    for n in spec.nodes:
        if isinstance(n, Dense | Conv2d):
            area = 1.0
            if isinstance(n, Conv2d):
                kh, kw = n.kernel_size  # type: ignore[misc]
                area = kh * kw / n.groups
            rows.append((ids(ug.keys[n.name]), ids(ug.input_keys(n)), area))
        elif isinstance(n, BatchNorm):
            rows.append((ids(ug.keys[n.name]), one, 2.0))
    return tuple(rows)


def _unit_biases(spec: Spec, bits: Sequence[Bit]) -> tuple[I64, ...]:
    ug = unit_graph(spec)
    index = {(b.group, b.index): i for i, b in enumerate(bits)}
    return tuple(
        np.array([index.get((p, r), len(bits)) for p, r, _ in ug.keys[n.name]], np.int64)
        for n in spec.nodes
        if isinstance(n, Dense | Conv2d) and n.bias
    )


def _encode_units(spec: Spec, layers: Sequence[str]) -> Encoding:
    bits: list[Bit] = []
    weights: list[float] = []
    for layer in _unit_layers(spec, layers):
        node = _mask_node(spec, layer)
        n = spec.widths[layer]
        per_unit = _resized(spec, layer, n + 1).n_params - spec.n_params
        bits += [Bit("unit", layer, u, node) for u in range(n)]
        weights += [float(per_unit)] * n
    return Encoding(
        spec,
        "units",
        tuple(bits),
        np.array(weights),
        _unit_tables(spec, bits),
        _unit_biases(spec, bits),
    )


def _connection_cost(spec: Spec, merge: Add | Concat, k: int) -> float:
    path = connection_positions(spec, merge.name, k)
    total = 0.0
    for name, m in path.consumers.items():
        w = spec.param_shapes[f"{name}.weight"]
        total += w[0] * int(m.sum()) * math.prod(w[2:])
    total += sum(2 * int(path.nodes[b].sum()) for b in path.norms)
    without = dataclasses.replace(
        merge, inputs=tuple(i for j, i in enumerate(merge.inputs) if j != k)
    )
    nodes = [without if n is merge else n for n in spec.nodes]
    dead = live_nodes(spec.nodes, spec.output) - live_nodes(nodes, spec.output)
    total += sum(
        math.prod(s)
        for p, s in spec.param_shapes.items()
        if p.rpartition(".")[0] in dead and p not in spec.buffers
    )
    return float(total)


def _encode_connections(spec: Spec, merges: Sequence[str]) -> Encoding:
    names = list(merges) or [n.name for n in spec.nodes if isinstance(n, Add | Concat)]
    if not names:
        raise ConfigError("the network has no add or concat merge to select connections of")
    bits: list[Bit] = []
    weights: list[float] = []
    for name in dict.fromkeys(names):
        if name == spec.output:
            raise ConfigError(f"{name!r} is the output layer; its inputs cannot be selected")
        node = spec.node(name) if name in {n.name for n in spec.nodes} else None
        if not isinstance(node, Add | Concat):
            raise ConfigError(f"{name!r} is not an add or concat node of the network")
        for k, src in enumerate(node.inputs):
            try:
                path = connection_positions(spec, name, k)
            except InvalidMorphismError as exc:
                raise ConfigError(f"connections of {name!r} cannot be selected: {exc}") from exc
            if not path.zero_preserving:
                raise ConfigError(
                    f"connections of {name!r}: a switched-off input does not reach the "
                    f"consumers as zeros (batch norm {path.norms} or a non-zero-preserving "
                    "activation on the way); normalize before the merge, as Spec.densenet does"
                )
            bits.append(Bit("input", name, k, name, src))
            weights.append(_connection_cost(spec, node, k))
    return Encoding(spec, "connections", tuple(bits), np.array(weights))


def encode(spec: Spec, select: str, layers: Sequence[str] = ()) -> Encoding:
    """The structure encoding of ``spec``.

    Args:
        spec: The network's spec.
        select: ``"units"`` or ``"connections"``.
        layers: Layers (units) or merges (connections) to search; empty: every eligible one
            (hidden dense/conv layers not tied by an add; every add/concat node).

    Raises:
        ConfigError: An unknown selection, the output layer, a layer that is not eligible, or
            a bit that could not be removed exactly.
    """
    if select not in SELECTIONS:
        raise ConfigError(f"select must be one of {SELECTIONS}, got {select!r}")
    if isinstance(layers, str):
        raise ConfigError(f"layers must be a sequence of names, got {layers!r}")
    build = _encode_units if select == "units" else _encode_connections
    enc = build(spec, layers)
    if enc.d < 2:
        raise ConfigError(f"structure search needs at least 2 bits, the encoding has {enc.d}")
    return enc
