"""Unit dependencies: which units of which nodes must change together (one mechanism for all edits).

Every value a node outputs along its unit axis (a feature of a flat node, a channel of a spatial
node) is a *position*. Positions are traced back to *atoms*: the output rows of dense layers and
the output channels of convolutions (and the network input's units). Pass-through nodes (batch
norm, pooling, global average pooling) keep their input's positions; ``concat`` lays its inputs'
positions end to end; ``flatten`` (and a dense layer reading a spatial node) expands each
channel into ``H·W`` consecutive flat columns; ``add`` puts the atoms at the same index of all
its inputs into one *coupled class* (union-find). A unit of a layer can only be added or removed
together with its whole class, which is what :func:`coupled_group` returns.

Example:
    >>> from neuroplast import Add, Dense, Spec
    >>> spec = Spec((3,), (Dense("a", "input", 4), Dense("b", "a", 4), Add("s", ("a", "b")),
    ...                    Dense("out", "s", 2, "identity")), "out")
    >>> g = coupled_group(spec, "b")
    >>> g.producers, sorted(g.consumers)
    (('a', 'b'), ['b', 'out'])
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import Add, BatchNorm, Concat, Conv2d, Dense, Flatten, MixedOp, Node
from neuroplast.spec import Spec

__all__ = [
    "Atom",
    "CoupledGroup",
    "Key",
    "UnitGraph",
    "coupled_group",
    "group_leaders",
    "unit_graph",
]

#: An atom: ``(producer name, output row/channel)``; the network input's units are ``"input"``.
Atom = tuple[str, int]
#: A position's identity: its atom plus a tag (concat input index, flattened spatial offset).
Key = tuple[str, int, tuple[int, ...]]


def _atom(key: Key) -> Atom:
    return (key[0], key[1])


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Atom, Atom] = {}

    def find(self, a: Atom) -> Atom:
        root = self.parent.setdefault(a, a)
        while root != self.parent[root]:
            root = self.parent[root]
        while a != root:  # path compression
            self.parent[a], a = root, self.parent[a]
        return root

    def union(self, a: Atom, b: Atom) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # deterministic root: the smaller atom
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def flat_keys(keys: tuple[Key, ...], shape: tuple[int, ...]) -> tuple[Key, ...]:
    """Keys of the flat view of a node: each channel of a ``(C, H, W)`` node becomes H·W keys."""
    if len(shape) != 3:
        return keys
    hw = shape[1] * shape[2]
    return tuple((p, r, (*tag, s)) for p, r, tag in keys for s in range(hw))


@dataclass(frozen=True)
class UnitGraph:
    """Positions of every node of a spec and the coupled classes of their atoms.

    Attributes:
        spec: The analysed spec.
        keys: Per node, the key of each unit position (channels for spatial nodes).
        root: Coupled class (its smallest atom) of every atom.
    """

    spec: Spec
    keys: Mapping[str, tuple[Key, ...]]
    root: Mapping[Atom, Atom]

    def input_keys(self, node: Dense | Conv2d) -> tuple[Key, ...]:
        """Keys of the columns (dense) or input channels (conv) a layer reads."""
        src = node.input
        if isinstance(node, Dense):
            return flat_keys(self.keys[src], self.spec.shapes[src])
        return self.keys[src]

    def cls(self, key: Key) -> Atom:
        """Coupled class of a position."""
        return self.root[_atom(key)]


def unit_graph(spec: Spec) -> UnitGraph:
    """Traces every node's unit positions to atoms and couples atoms merged by ``add``.

    Cached per spec (specs are immutable and hashable; the graph is read-only), so repeated
    edits of one architecture, as in a tree search, do not retrace it.
    """
    return _unit_graph(spec)


@functools.lru_cache(maxsize=128)
def _unit_graph(spec: Spec) -> UnitGraph:
    uf = _UnionFind()
    shape = spec.shapes["input"]
    keys: dict[str, tuple[Key, ...]] = {"input": tuple(("input", i, ()) for i in range(shape[0]))}
    for node in spec.nodes:
        keys[node.name] = _node_keys(node, spec, keys, uf)
    root = {a: uf.find(a) for ks in keys.values() for a in map(_atom, ks)}
    return UnitGraph(spec, MappingProxyType(keys), MappingProxyType(root))


def _node_keys(
    node: Node, spec: Spec, keys: Mapping[str, tuple[Key, ...]], uf: _UnionFind
) -> tuple[Key, ...]:
    if isinstance(node, (Dense, Conv2d)):
        return tuple((node.name, i, ()) for i in range(spec.widths[node.name]))
    if isinstance(node, (Add, MixedOp)):  # a weighted sum couples like a sum
        first = keys[node.inputs[0]]
        for other in node.inputs[1:]:
            for a, b in zip(first, keys[other], strict=True):
                uf.union(_atom(a), _atom(b))
        return first
    if isinstance(node, Concat):
        return tuple((p, r, (j, *t)) for j, i in enumerate(node.inputs) for p, r, t in keys[i])
    if isinstance(node, Flatten):
        return flat_keys(keys[node.input], spec.shapes[node.input])
    return keys[node.input]  # batch norm, pooling, global average pooling


@dataclass(frozen=True)
class CoupledGroup:
    """The units of a layer and everything that must change with them.

    Attributes:
        layer: The addressed node.
        units: Its number of units.
        classes: Coupled class of each of the layer's units (distinct).
        members: Nodes with positions in the group, with the group positions of each layer
            unit: ``members[node][u]`` lists the unit-axis indices of ``node`` carrying unit
            ``u`` (several for ``concat`` of the same node twice; empty when unit ``u`` does
            not reach ``node``).
        producers: Dense/conv layers whose output rows/channels are group atoms.
        consumers: Dense/conv layers reading group positions, with the input columns (dense,
            flattened row-major) or input channels (conv) carrying each layer unit.
        norms: Batch norms normalizing group positions (per-channel parameters follow).
    """

    layer: str
    units: int
    classes: tuple[Atom, ...]
    members: Mapping[str, tuple[tuple[int, ...], ...]]
    producers: tuple[str, ...]
    consumers: Mapping[str, tuple[tuple[int, ...], ...]]
    norms: tuple[str, ...]


def _check_layer(spec: Spec, layer: str) -> Node:
    if layer == "input":
        raise InvalidMorphismError("the network input cannot be edited")
    if layer == spec.output:
        raise InvalidMorphismError(
            f"{layer!r} is the network output; its units are the predictions and cannot change"
        )
    names = [n.name for n in spec.nodes]
    if layer not in names:
        raise InvalidMorphismError(f"no layer named {layer!r}; layers: {names}")
    node = spec.node(layer)
    if isinstance(node, Flatten):
        raise InvalidMorphismError(
            f"{layer!r} is a flatten node; edit the layer producing its channels"
        )
    return node


def _positions(keys: tuple[Key, ...], ug: UnitGraph, index: Mapping[Atom, int]) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in index]
    for pos, key in enumerate(keys):
        u = index.get(ug.cls(key))
        if u is not None:
            out[u].append(pos)
    return out


def coupled_group(spec: Spec, layer: str, graph: UnitGraph | None = None) -> CoupledGroup:
    """The coupled unit group of ``layer``: producers, consumers and members of its units.

    Cached per ``(spec, layer)``: the group is a read-only value of the immutable spec.

    Args:
        spec: The network's spec.
        layer: Name of a dense, conv, merge, batch-norm or pooling node (not the output,
            the input or a flatten node).
        graph: Unused (the unit graph is cached per spec); accepted so that callers holding
            a :func:`unit_graph` can pass it.

    Raises:
        InvalidMorphismError: Unknown layer, the input or output, a flatten node, units tied
            to the network input or output, units of the layer coupled to each other, or a
            grouped convolution touching the group.
    """
    return _coupled_group(spec, layer)


@functools.lru_cache(maxsize=512)
def _coupled_group(spec: Spec, layer: str) -> CoupledGroup:
    return _group(spec, layer, unit_graph(spec))


def _group(spec: Spec, layer: str, ug: UnitGraph) -> CoupledGroup:
    _check_layer(spec, layer)
    classes = tuple(ug.cls(k) for k in ug.keys[layer])
    if len(set(classes)) != len(classes):
        raise InvalidMorphismError(f"units of {layer!r} are coupled to each other by an add node")
    index = {c: u for u, c in enumerate(classes)}
    in_group = set(index)
    if any(ug.cls(k) in in_group for k in ug.keys["input"]):
        raise InvalidMorphismError(f"units of {layer!r} are added to the network input")
    if any(ug.cls(k) in in_group for k in ug.keys[spec.output]):
        raise InvalidMorphismError(f"units of {layer!r} reach the network output {spec.output!r}")
    members: dict[str, tuple[tuple[int, ...], ...]] = {}
    consumers: dict[str, tuple[tuple[int, ...], ...]] = {}
    producers: list[str] = []
    norms: list[str] = []
    for n in spec.nodes:
        pos = _positions(ug.keys[n.name], ug, index)
        if any(pos):
            members[n.name] = tuple(map(tuple, pos))
            if isinstance(n, (Dense, Conv2d)):
                producers.append(n.name)
            if isinstance(n, BatchNorm):
                norms.append(n.name)
        if isinstance(n, (Dense, Conv2d)):
            cols = _positions(ug.input_keys(n), ug, index)
            if any(cols):
                consumers[n.name] = tuple(map(tuple, cols))
    for name in (*producers, *consumers):
        conv = spec.node(name)
        if isinstance(conv, Conv2d) and conv.groups > 1:
            raise InvalidMorphismError(
                f"grouped convolution {name!r} (groups={conv.groups}) is coupled to the units "
                f"of {layer!r}; editing them would break its group structure"
            )
    return CoupledGroup(
        layer,
        len(classes),
        classes,
        MappingProxyType(members),
        tuple(producers),
        MappingProxyType(consumers),
        tuple(norms),
    )


@functools.lru_cache(maxsize=128)
def group_leaders(spec: Spec) -> tuple[str, ...]:
    """Hidden dense/conv layers whose units can change, one per coupled group, in graph order.

    Layers tied by a residual ``add`` form one group; the first of them (the group's leader)
    stands for it. Layers whose group cannot be edited (see :func:`coupled_group`) are left
    out. Cached per spec.
    """
    seen: set[frozenset[str]] = set()
    out: list[str] = []
    for node in spec.nodes:
        if not isinstance(node, Dense | Conv2d) or node.name == spec.output:
            continue
        try:
            group = coupled_group(spec, node.name)
        except InvalidMorphismError:
            continue
        key = frozenset(group.producers)
        if key not in seen:
            seen.add(key)
            out.append(node.name)
    return tuple(out)
