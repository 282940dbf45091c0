"""Immutable network specifications: a DAG of nodes with an input shape, output and loss."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from neuroplast import _core
from neuroplast._json import loads as _loads
from neuroplast._spec_builders import SpecBuilders
from neuroplast._spec_builders import _square_input as _square_input  # moved; importable here
from neuroplast.errors import SpecError
from neuroplast.layers import NODE_TYPES, Node, node_from_dict
from neuroplast.limits import check_count

__all__ = ["LOSSES", "SPEC_FORMAT_VERSION", "Spec"]

#: Supported training objectives.
LOSSES: tuple[str, ...] = ("cross_entropy", "mse")
#: Version of the JSON form written by :meth:`Spec.to_json`.
SPEC_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Spec(SpecBuilders):
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
