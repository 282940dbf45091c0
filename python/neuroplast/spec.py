"""Immutable network specifications: a DAG of nodes with an input shape, output and loss."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from neuroplast import _core
from neuroplast._json import loads as _loads
from neuroplast.errors import SpecError
from neuroplast.layers import NODE_TYPES, Dense, Node, node_from_dict
from neuroplast.limits import check_count

__all__ = ["LOSSES", "SPEC_FORMAT_VERSION", "Spec"]

#: Supported training objectives.
LOSSES: tuple[str, ...] = ("cross_entropy", "mse")
#: Version of the JSON form written by :meth:`Spec.to_json`.
SPEC_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Spec:
    """An immutable, hashable description of a network graph.

    Nodes are listed in topological order; the network input is the implicit node ``"input"``.
    Construction validates the whole graph (in the Rust core, the same code that trains it).

    Args:
        input_shape: Shape of one sample, e.g. ``(64,)`` or ``(1, 8, 8)`` (flattened row-major
            before the first dense layer).
        nodes: The nodes, each referring only to earlier nodes or ``"input"``.
        output: Name of the output node.
        loss: ``"cross_entropy"`` (softmax with integer labels) or ``"mse"``.

    Example:
        >>> from neuroplast import Spec
        >>> spec = Spec.mlp(64, [128], 10)
        >>> spec.n_params
        9610
        >>> Spec.from_json(spec.to_json()) == spec
        True
    """

    input_shape: tuple[int, ...]
    nodes: tuple[Node, ...]
    output: str
    loss: str = "cross_entropy"
    _shapes: Mapping[str, tuple[int, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _flops: Mapping[str, int] = field(init=False, repr=False, compare=False, hash=False)
    _params: Mapping[str, tuple[int, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _buffers: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    _wire: str = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        shape = tuple(self.input_shape) if isinstance(self.input_shape, Iterable) else None
        if not shape or not all(isinstance(d, int) and d >= 1 for d in shape):
            raise SpecError(
                f"input_shape must be a tuple of positive ints, got {self.input_shape!r}"
            )
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not all(isinstance(n, NODE_TYPES) for n in self.nodes):
            raise SpecError(
                "nodes must be node instances from neuroplast.layers "
                f"({', '.join(t.__name__ for t in NODE_TYPES)})"
            )
        if self.loss not in LOSSES:
            raise SpecError(f"unknown loss {self.loss!r}; expected one of {LOSSES}")
        # The engine's JSON form is derived once here and reused by every engine call.
        object.__setattr__(self, "_wire", self._wire_json())
        nodes, params = _core.compile_spec(self._wire)
        object.__setattr__(self, "_shapes", MappingProxyType({n: tuple(s) for n, s, _ in nodes}))
        object.__setattr__(self, "_flops", MappingProxyType({n: f for n, _, f in nodes}))
        object.__setattr__(self, "_params", MappingProxyType({n: tuple(s) for n, s, _ in params}))
        object.__setattr__(self, "_buffers", frozenset(n for n, _, t in params if not t))
        self._check_limits()

    def _check_limits(self) -> None:
        """Refuses specs beyond ``max_units`` / ``max_params`` (:mod:`neuroplast.limits`)."""
        check_count(
            math.prod(self.input_shape), "max_units", "the number of input values per sample"
        )
        for name, shape in self._shapes.items():
            check_count(
                math.prod(shape), "max_units", f"the number of values per sample of node {name!r}"
            )
        total = sum(math.prod(s) for s in self._params.values())
        check_count(total, "max_params", "the number of parameter values (with buffers)")

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild through the constructor so unpickled specs are validated like new ones.
        return (type(self), (self.input_shape, self.nodes, self.output, self.loss))

    # ----------------------------------------------------------------- builders
    @classmethod
    def mlp(
        cls,
        n_in: int,
        hidden: Sequence[int],
        n_out: int,
        activation: str = "relu",
        *,
        loss: str = "cross_entropy",
        output_activation: str = "identity",
        bias: bool = True,
    ) -> Spec:
        """A multilayer perceptron ``n_in → hidden[0] → ... → n_out``.

        Hidden layers are named ``dense_0, dense_1, ...``; the output layer is ``"output"``.

        Example:
            >>> Spec.mlp(4, [8, 8], 3, activation="tanh").widths["dense_1"]
            8
        """
        nodes: list[Node] = []
        prev = "input"
        for i, units in enumerate(hidden):
            nodes.append(Dense(f"dense_{i}", prev, units, activation, bias=bias))
            prev = f"dense_{i}"
        nodes.append(Dense("output", prev, n_out, output_activation, bias=bias))
        return cls((n_in,), tuple(nodes), "output", loss)

    @classmethod
    def cnn(
        cls,
        input_shape: Sequence[int],
        channels: Sequence[int],
        n_out: int,
        *,
        hidden: Sequence[int] = (),
        kernel_size: int = 3,
        pool: str | None = "max",
        batch_norm: bool = False,
        activation: str = "relu",
        global_pool: bool = False,
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Spec:
        """A plain convolutional network for ``(C, H, W)`` inputs.

        Per entry of ``channels``: ``conv_i`` (``kernel_size``, "same" padding), optionally
        ``conv_i_bn``, the activation, then a 2×2 ``pool_i`` (``"max"``, ``"avg"`` or None);
        then ``flatten`` (or ``gap``, global average pooling), dense layers ``dense_i`` of
        ``hidden`` units and the dense ``"output"``.

        Example:
            >>> spec = Spec.cnn((1, 28, 28), [16, 32], 10, hidden=[64])
            >>> spec.shapes["pool_1"]
            (32, 7, 7)
        """
        from neuroplast.builders import cnn_nodes

        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise SpecError(f"kernel_size must be an int >= 1, got {kernel_size!r}")
        nodes, out = cnn_nodes(
            channels,
            hidden,
            n_out,
            kernel_size=kernel_size,
            pool=pool,
            batch_norm=batch_norm,
            activation=activation,
            global_pool=global_pool,
            output_activation=output_activation,
        )
        return cls(tuple(input_shape), tuple(nodes), out, loss)

    @classmethod
    def resnet(
        cls,
        input_shape: Sequence[int],
        n_out: int,
        *,
        stem_channels: int = 16,
        stages: Sequence[tuple[int, int]] = ((16, 1), (32, 1), (64, 1)),
        batch_norm: bool = True,
        activation: str = "relu",
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Spec:
        """A small ResNet for ``(C, H, W)`` inputs.

        A 3×3 stem, stages of basic residual blocks ``(channels, blocks)`` (stride 2 at the
        start of every stage after the first, 1×1 projection shortcuts where the shape
        changes), global average pooling and a dense output.

        Example:
            >>> spec = Spec.resnet((1, 8, 8), 10, stages=[(8, 1), (16, 1)])
            >>> spec.shapes["s1b0_add"]
            (16, 4, 4)
        """
        from neuroplast.builders import resnet_nodes

        try:
            stage_list = [tuple(s) for s in stages]
        except TypeError as exc:
            raise SpecError(f"stages must be (channels, blocks) pairs, got {stages!r}") from exc
        nodes, out = resnet_nodes(
            n_out,
            stem_channels=stem_channels,
            stages=stage_list,  # type: ignore[arg-type]
            batch_norm=batch_norm,
            activation=activation,
            output_activation=output_activation,
        )
        return cls(tuple(input_shape), tuple(nodes), out, loss)

    @classmethod
    def densenet(
        cls,
        input_shape: Sequence[int],
        n_out: int,
        *,
        growth: int = 8,
        blocks: Sequence[int] = (4, 4),
        stem_channels: int = 16,
        compression: float = 1.0,
        activation: str = "relu",
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Spec:
        """A DenseNet (Huang et al. 2017) for ``(C, H, W)`` inputs, without dropout.

        A 3×3 ``stem`` convolution, then dense blocks: layer ``b{b}l{i}`` of block ``b`` is
        BN-activation-3×3 conv (``growth`` channels, no bias) of the concatenation of the block
        input and all earlier layers of the block. Between blocks a transition ``b{b}t``:
        BN-activation-1×1 conv (``compression`` × the channels) and 2×2 average pooling; after
        the last block BN-activation, global average pooling and the dense ``"output"``.

        Batch normalization is per channel, so normalizing a concatenation equals
        concatenating per-input normalizations: each connection gets its own BN node
        (``b{b}l{i}_bn{k}`` normalizes input ``k``) ahead of the concatenation ``b{b}l{i}_in``.
        The function is DenseNet's; the layout makes every connection between layers one
        input of a ``concat`` node that can be switched off, and removed, exactly
        (``neuroplast.morph.connections``). A block of ``L`` layers has ``(L+1)(L+2)/2`` such
        connections (the transition or output reads all ``L+1`` feature maps).

        Example:
            >>> spec = Spec.densenet((1, 8, 8), 10, growth=4, blocks=(2, 2))
            >>> spec.shapes["b0t_pool"], spec.node("b1l2_in").inputs
            ((24, 4, 4), ('b1l2_bn0', 'b1l2_bn1'))
        """
        from neuroplast.builders import densenet_nodes

        nodes, out = densenet_nodes(
            n_out,
            growth=growth,
            blocks=tuple(blocks),
            stem_channels=stem_channels,
            compression=compression,
            activation=activation,
            output_activation=output_activation,
        )
        return cls(tuple(input_shape), tuple(nodes), out, loss)

    @classmethod
    def darts_search(
        cls,
        input_shape: Sequence[int],
        n_classes: int,
        *,
        cells: int = 5,
        channels: int = 8,
        states: int = 4,
        stem_multiplier: int = 3,
        weighting: str = "softmax",
        ops: Sequence[str] | None = None,
    ) -> Spec:
        """The DARTS search network: every operation on every edge of its cells.

        Normal and reduction cells share the architecture tensors ``alpha_normal`` and
        ``alpha_reduce`` (``states·(states+3)/2`` edges × operations, plus "none" for the
        softmax weighting); see :mod:`neuroplast.nas.cells` for the layout.

        Example:
            >>> spec = Spec.darts_search((1, 8, 8), 10, cells=3, channels=4, states=2)
            >>> spec.param_shapes["alpha_reduce"], spec.shapes["c2_out"]
            ((5, 8), (16, 2, 2))
        """
        from neuroplast.nas import OPS, search_nodes

        nodes, out = search_nodes(
            n_classes,
            cells=cells,
            channels=channels,
            states=states,
            stem_multiplier=stem_multiplier,
            weighting=weighting,
            ops=OPS if ops is None else ops,
        )
        return cls(tuple(input_shape), tuple(nodes), out)

    @classmethod
    def darts_network(
        cls,
        genotype: Any,
        input_shape: Sequence[int],
        n_classes: int,
        *,
        cells: int = 8,
        channels: int = 16,
        stem_multiplier: int = 3,
    ) -> Spec:
        """The evaluation network of a :class:`~neuroplast.nas.Genotype` (trained from scratch).

        Example:
            >>> from neuroplast.nas import Genotype
            >>> g = Genotype(normal=(("sep_conv_3x3", 0), ("skip_connect", 1)),
            ...              reduce=(("max_pool_3x3", 0), ("dil_conv_3x3", 1)))
            >>> Spec.darts_network(g, (1, 8, 8), 10, cells=3, channels=4).shapes["c2_out"]
            (16, 2, 2)
        """
        from neuroplast.nas import eval_nodes

        nodes, out = eval_nodes(
            genotype, n_classes, cells=cells, channels=channels, stem_multiplier=stem_multiplier
        )
        return cls(tuple(input_shape), tuple(nodes), out)

    # ----------------------------------------------------------------- queries

    @classmethod
    def gcnn(
        cls,
        input_shape: Sequence[int],
        n_out: int,
        group: str | Sequence[str] = "C4",
        *,
        widths: Sequence[int] = (16, 16, 32, 32),
        kernel_size: int = 3,
        pool: str | None = "avg",
        pool_every: int = 2,
        batch_norm: bool = True,
        hidden: Sequence[int] = (32,),
        activation: str = "relu",
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Spec:
        """A group-equivariant CNN (Maile 2023, Sec. 4.5) for square ``(C, H, H)`` inputs.

        ``conv_0`` is a lifting layer and ``conv_1, ...`` group convolutions; layer ``i`` has
        the *expanded* width ``widths[i]`` (``widths[i]/|G|`` channels of ``|G|`` group entries,
        so groups of equal widths cost equal FLOPs) and group ``group`` (or ``group[i]``; each a
        subgroup of the one before). Each is followed by ``conv_i_bn`` (equivariant batch norm)
        and the activation, and by a 2×2 ``pool_i`` after every ``pool_every``-th layer while
        the grid is even; then ``group_pool`` (mean over the group axis), ``gap`` (mean over
        space), dense layers ``dense_i`` of ``hidden`` units and ``"output"``. The logits are
        invariant to every element of the last layer's group.

        Example:
            >>> spec = Spec.gcnn((1, 8, 8), 10, "D4", widths=[16, 16], hidden=[])
            >>> spec.shapes["conv_1"], spec.param_shapes["conv_1.weight"]
            ((16, 8, 8), (2, 2, 8, 3, 3))
        """
        from neuroplast.builders_group import gcnn_nodes, layer_groups

        shape = _square_input(input_shape)
        nodes, out = gcnn_nodes(
            shape[1],
            n_out,
            layer_groups(group, len(widths)),
            widths,
            kernel_size=kernel_size,
            pool=pool,
            pool_every=pool_every,
            batch_norm=batch_norm,
            hidden=hidden,
            activation=activation,
            output_activation=output_activation,
        )
        return cls(shape, tuple(nodes), out, loss)

    @classmethod
    def mixed_gcnn(
        cls,
        input_shape: Sequence[int],
        n_out: int,
        *,
        candidates: Sequence[str] = ("C1", "D1", "C2", "D2", "C4", "D4"),
        widths: Sequence[int] = (16, 16, 32, 32),
        kernel_size: int = 3,
        pool: str | None = "avg",
        pool_every: int = 2,
        batch_norm: bool = True,
        hidden: Sequence[int] = (32,),
        activation: str = "relu",
        loss: str = "cross_entropy",
        output_activation: str = "identity",
    ) -> Spec:
        """The :meth:`gcnn` backbone with ``[G]``-mixed layers (thesis eqs. 11–12).

        Every ``conv_i`` is a :class:`~neuroplast.layers.MixedConv` over ``candidates`` of
        expanded width ``widths[i]`` (``conv_0`` lifts the image), followed (with
        ``batch_norm``) by a batch norm shared by blocks of ``|G_max|`` channels, ``G_max`` the
        smallest group containing every candidate (so it keeps every candidate's equivariance),
        and the activation; the head pools over ``G_max``'s group axis.

        Example:
            >>> spec = Spec.mixed_gcnn((1, 8, 8), 10, widths=[8, 8], hidden=[])
            >>> spec.param_shapes["conv_1.logits"], spec.param_shapes["conv_1.v_D4"]
            ((6,), (1, 1, 8, 3, 3))
        """
        from neuroplast.builders_group import mixed_gcnn_nodes

        shape = _square_input(input_shape)
        nodes, out = mixed_gcnn_nodes(
            shape[1],
            n_out,
            candidates,
            widths,
            kernel_size=kernel_size,
            pool=pool,
            pool_every=pool_every,
            batch_norm=batch_norm,
            hidden=hidden,
            activation=activation,
            output_activation=output_activation,
        )
        return cls(shape, tuple(nodes), out, loss)

    # ----------------------------------------------------------------- queries

    @property
    def n_inputs(self) -> int:
        """Number of input values per sample (product of ``input_shape``)."""
        return math.prod(self.input_shape)

    @property
    def n_outputs(self) -> int:
        """Width of the output node."""
        return self._shapes[self.output][0]

    @property
    def shapes(self) -> Mapping[str, tuple[int, ...]]:
        """Per-sample output shape of every node: ``(features,)`` or ``(C, H, W)``."""
        return self._shapes

    @property
    def widths(self) -> Mapping[str, int]:
        """Units of every node, including ``"input"``: features (flat) or channels (spatial).

        These are the units that structural edits add or remove.
        """
        return MappingProxyType({n: s[0] for n, s in self._shapes.items()})

    @property
    def param_shapes(self) -> Mapping[str, tuple[int, ...]]:
        """Parameter and buffer names and shapes, in the order the engine uses them."""
        return self._params

    @property
    def buffers(self) -> frozenset[str]:
        """Names of the non-trainable tensors (batch-norm running statistics)."""
        return self._buffers

    @property
    def n_params(self) -> int:
        """Number of trainable parameters (weights, biases, batch-norm γ and β)."""
        return sum(math.prod(s) for n, s in self._params.items() if n not in self._buffers)

    @property
    def node_flops(self) -> Mapping[str, int]:
        """Forward floating-point operations per sample of every node.

        Dense and conv layers count 2 per multiply-add plus one per bias element; pooling one
        per window element read; batch normalization 2 per element; ``add`` one per element
        of each input beyond the first; every non-identity activation one per element.
        """
        return self._flops

    @property
    def flops(self) -> int:
        """Forward floating-point operations per sample (sum of :attr:`node_flops`)."""
        return sum(self._flops.values())

    def node(self, name: str) -> Node:
        """The node called ``name``."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise SpecError(f"no node named {name!r}")

    def node_index(self, name: str) -> int:
        """Engine index of a node (``"input"`` is 0)."""
        if name == "input":
            return 0
        for i, n in enumerate(self.nodes):
            if n.name == name:
                return i + 1
        raise SpecError(f"no node named {name!r}")

    # ----------------------------------------------------------------- serialization
    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (see :meth:`from_dict`)."""
        return {
            "format": "neuroplast.spec",
            "version": SPEC_FORMAT_VERSION,
            "input_shape": list(self.input_shape),
            "nodes": [n.to_dict() for n in self.nodes],
            "output": self.output,
            "loss": self.loss,
        }

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys), stable across runs."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def _wire_json(self) -> str:
        return json.dumps(
            {
                "input_shape": list(self.input_shape),
                "nodes": [n.to_dict() for n in self.nodes],
                "output": self.output,
                "loss": self.loss,
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Spec:
        """Rebuilds a spec from :meth:`to_dict` output; raises ``SpecError`` on bad input."""
        if not isinstance(d, Mapping) or d.get("format") != "neuroplast.spec":
            raise SpecError("not a neuroplast spec (missing format tag 'neuroplast.spec')")
        if d.get("version") != SPEC_FORMAT_VERSION:
            raise SpecError(
                f"unsupported spec version {d.get('version')!r}; this neuroplast reads "
                f"version {SPEC_FORMAT_VERSION}"
            )
        try:
            nodes = tuple(node_from_dict(n) for n in d["nodes"])
            return cls(tuple(d["input_shape"]), nodes, d["output"], d.get("loss", "cross_entropy"))
        except (KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise SpecError(f"malformed spec: {exc!r}") from exc

    @classmethod
    def from_json(cls, text: str) -> Spec:
        """Inverse of :meth:`to_json`.

        Raises:
            SpecError: Invalid JSON, JSON nested deeper than ``max_json_depth``, or an
                invalid spec.
        """
        return cls.from_dict(_loads(text, SpecError, "the spec"))

    def __repr__(self) -> str:
        body = ", ".join(
            f"{n.name}:{type(n).__name__.lower()}({self.widths[n.name]},"
            f"{getattr(n, 'activation', 'identity')})"
            for n in self.nodes
        )
        return (
            f"Spec(input_shape={self.input_shape}, [{body}], output={self.output!r}, "
            f"loss={self.loss!r})"
        )


def _square_input(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise SpecError(f"a group CNN needs a square (C, H, H) input, got {shape}")
    return shape
