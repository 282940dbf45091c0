"""DARTS cells and networks: the search network and the evaluation network of a genotype.

The search network has every operation on every edge; the evaluation network is built from a
:class:`~neuroplast.nas.Genotype` (Liu et al. 2019, Sec. 3; Maile 2023, Sec. 5.1).

Both share one skeleton: a 3×3 convolution stem with ``stem_multiplier · channels`` channels
and batch norm; ``cells`` cells, those at positions ``cells // 3`` and ``2·cells // 3`` being
reduction cells (stride 2, channels doubled); global average pooling and a dense classifier.
A cell reads the outputs of the two previous cells, preprocesses each to the cell's channels
(ReLU, 1×1 convolution, BN; stride 2 for the first input after a reduction cell), computes
``states`` intermediate states — each the sum of its incoming edges — and concatenates them.

In the search network every edge is a :class:`~neuroplast.layers.MixedOp` over all operations,
its row of ``alpha_normal`` or ``alpha_reduce`` shared by all cells of a type; batch norms are
non-affine. With the CRB weighting each state's sum is followed by a non-affine batch norm and
there is no "none" column (Maile 2023, Sec. 5.2.5). In the evaluation network every state sums
the two operations of the genotype and batch norms are affine. Not included (the laptop
scale of this library): DARTS's auxiliary head, drop path and cutout.

Example:
    >>> from neuroplast import Spec
    >>> spec = Spec.darts_search((1, 8, 8), 10, cells=3, channels=4, states=2)
    >>> spec.param_shapes["alpha_normal"]
    (5, 8)
"""

from __future__ import annotations

from collections.abc import Sequence

from neuroplast.errors import ConfigError
from neuroplast.layers import (
    Add,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    GlobalAvgPool,
    Identity,
    MixedOp,
    Node,
)
from neuroplast.nas.genotype import Genotype
from neuroplast.nas.ops import OPS, op_nodes

__all__ = ["eval_nodes", "reduction_cells", "search_nodes"]


def reduction_cells(cells: int) -> tuple[int, ...]:
    """Positions of the reduction cells: ``cells // 3`` and ``2·cells // 3`` (DARTS)."""
    return tuple(sorted({cells // 3, 2 * cells // 3}))


class _Builder:
    """Accumulates nodes; one shared ReLU per source node."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._relu: dict[str, str] = {}

    def relu(self, src: str) -> str:
        if src not in self._relu:
            self._relu[src] = f"{src}_relu"
            self.nodes.append(Identity(f"{src}_relu", src, "relu"))
        return self._relu[src]

    def relu_conv_bn(self, name: str, src: str, c: int, stride: int, affine: bool) -> str:
        conv = Conv2d(f"{name}_conv", self.relu(src), c, 1, stride, 0, 1, 1, "identity", bias=False)
        self.nodes += [conv, BatchNorm(name, conv.name, affine=affine)]
        return name

    def concat(self, name: str, states: list[str]) -> str:
        """The cell output: the states concatenated (the state itself when there is one)."""
        if len(states) == 1:
            return states[0]
        self.nodes.append(Concat(name, tuple(states)))
        return name

    def op(self, op: str, prefix: str, src: str, c: int, stride: int, search: bool) -> str:
        needs_relu = op.startswith(("sep", "dil")) or (op == "skip_connect" and stride == 2)
        relu = self.relu(src) if needs_relu else ""
        nodes, out = op_nodes(op, prefix, src, relu, c, stride, affine=not search, pool_bn=search)
        self.nodes += nodes
        return out


def _check(cells: int, channels: int, states: int, stem_multiplier: int) -> None:
    for name, v in (("cells", cells), ("channels", channels), ("states", states)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive int, got {v!r}")
    if (
        isinstance(stem_multiplier, bool)
        or not isinstance(stem_multiplier, int)
        or stem_multiplier < 1
    ):
        raise ConfigError(f"stem_multiplier must be a positive int, got {stem_multiplier!r}")


def _skeleton(
    b: _Builder,
    n_classes: int,
    cells: int,
    channels: int,
    states: int,
    stem_multiplier: int,
    cell: object,
    affine: bool,
) -> str:
    """Stem, cells (``cell(b, k, s0, s1, c, reduction, reduction_prev) -> output``), head."""
    c_stem = stem_multiplier * channels
    b.nodes += [
        Conv2d("stem", "input", c_stem, 3, 1, 1, 1, 1, "identity", bias=False),
        BatchNorm("stem_bn", "stem", affine=affine),
    ]
    s0 = s1 = "stem_bn"
    c, reduction_prev = channels, False
    for k in range(cells):
        reduction = k in reduction_cells(cells)
        c = 2 * c if reduction else c
        p0 = b.relu_conv_bn(f"c{k}_pre0", s0, c, 2 if reduction_prev else 1, affine)
        p1 = b.relu_conv_bn(f"c{k}_pre1", s1, c, 1, affine)
        out = cell(b, k, [p0, p1], c, reduction)  # type: ignore[operator]
        s0, s1, reduction_prev = s1, out, reduction
    b.nodes += [GlobalAvgPool("gap", s1), Dense("output", "gap", n_classes, "identity")]
    return "output"


def search_nodes(
    n_classes: int,
    *,
    cells: int = 5,
    channels: int = 8,
    states: int = 4,
    stem_multiplier: int = 3,
    weighting: str = "softmax",
    ops: Sequence[str] = OPS,
) -> tuple[list[Node], str]:
    """Nodes of the search network (see the module docstring) and its output name."""
    _check(cells, channels, states, stem_multiplier)
    ops = tuple(ops)
    if not ops or any(op not in OPS for op in ops) or len(set(ops)) != len(ops):
        raise ConfigError(f"ops must be distinct operations from {OPS}, got {ops!r}")
    rows = states * (states + 3) // 2
    none = weighting == "softmax"

    def cell(b: _Builder, k: int, src: list[str], c: int, reduction: bool) -> str:
        alpha, row = ("alpha_reduce" if reduction else "alpha_normal"), 0
        for i in range(states):
            edges = []
            for j in range(i + 2):
                stride = 2 if reduction and j < 2 else 1
                outs = [b.op(op, f"c{k}_e{i}_{j}_{op}", src[j], c, stride, True) for op in ops]
                edge = MixedOp(f"c{k}_e{i}_{j}", tuple(outs), alpha, row, rows, none, weighting)
                b.nodes.append(edge)
                edges.append(edge.name)
                row += 1
            b.nodes.append(Add(f"c{k}_s{i}", tuple(edges)))
            state = f"c{k}_s{i}"
            if weighting == "crb":
                b.nodes.append(BatchNorm(f"c{k}_s{i}_bn", state, affine=False))
                state = f"c{k}_s{i}_bn"
            src.append(state)
        return b.concat(f"c{k}_out", src[2:])

    b = _Builder()
    out = _skeleton(b, n_classes, cells, channels, states, stem_multiplier, cell, affine=False)
    return b.nodes, out


def eval_nodes(
    genotype: Genotype,
    n_classes: int,
    *,
    cells: int = 8,
    channels: int = 16,
    stem_multiplier: int = 3,
) -> tuple[list[Node], str]:
    """Nodes of the evaluation network of ``genotype`` and its output name."""
    _check(cells, channels, genotype.states, stem_multiplier)

    def cell(b: _Builder, k: int, src: list[str], c: int, reduction: bool) -> str:
        pairs = genotype.cell("reduce" if reduction else "normal")
        for i in range(genotype.states):
            outs = []
            for op, j in pairs[2 * i : 2 * i + 2]:
                stride = 2 if reduction and j < 2 else 1
                outs.append(b.op(op, f"c{k}_s{i}_{j}_{op}", src[j], c, stride, False))
            b.nodes.append(Add(f"c{k}_s{i}", tuple(outs)))
            src.append(f"c{k}_s{i}")
        return b.concat(f"c{k}_out", src[2:])

    b = _Builder()
    out = _skeleton(b, n_classes, cells, channels, genotype.states, stem_multiplier, cell, True)
    return b.nodes, out
