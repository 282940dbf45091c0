"""Immutable network specifications: a DAG of nodes with an input shape, output and loss."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from neuroplast import _core
from neuroplast.errors import SpecError
from neuroplast.layers import Add, Concat, Dense, Node, node_from_dict

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
    _widths: Mapping[str, int] = field(init=False, repr=False, compare=False, hash=False)
    _params: Mapping[str, tuple[int, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _wire: str = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        shape = tuple(self.input_shape) if isinstance(self.input_shape, Iterable) else None
        if not shape or not all(isinstance(d, int) and d >= 1 for d in shape):
            raise SpecError(
                f"input_shape must be a tuple of positive ints, got {self.input_shape!r}"
            )
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not all(isinstance(n, (Dense, Add, Concat)) for n in self.nodes):
            raise SpecError("nodes must be Dense, Add or Concat instances")
        if self.loss not in LOSSES:
            raise SpecError(f"unknown loss {self.loss!r}; expected one of {LOSSES}")
        # The engine's JSON form is derived once here and reused by every engine call.
        object.__setattr__(self, "_wire", self._wire_json())
        widths, params = _core.compile_spec(self._wire)
        object.__setattr__(self, "_widths", MappingProxyType(dict(widths)))
        object.__setattr__(self, "_params", MappingProxyType({n: tuple(s) for n, s in params}))

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

    # ----------------------------------------------------------------- queries
    @property
    def n_inputs(self) -> int:
        """Number of input features (product of ``input_shape``)."""
        return self._widths["input"]

    @property
    def n_outputs(self) -> int:
        """Width of the output node."""
        return self._widths[self.output]

    @property
    def widths(self) -> Mapping[str, int]:
        """Output width of every node, including ``"input"``."""
        return self._widths

    @property
    def param_shapes(self) -> Mapping[str, tuple[int, ...]]:
        """Parameter names and shapes, in the order the engine uses them."""
        return self._params

    @property
    def n_params(self) -> int:
        """Total number of parameters (weights and biases)."""
        total = 0
        for shape in self._params.values():
            size = 1
            for d in shape:
                size *= d
            total += size
        return total

    @property
    def flops(self) -> int:
        """Forward floating-point operations per sample.

        Counts 2·fan_in·units per dense layer (multiply and add), one per bias element, one per
        element of each input beyond the first of an ``add``, and one per element of every
        non-identity activation.
        """
        total = 0
        for node in self.nodes:
            width = self._widths[node.name]
            if isinstance(node, Dense):
                total += 2 * self._widths[node.input] * width + (width if node.bias else 0)
            elif isinstance(node, Add):
                total += (len(node.inputs) - 1) * width
            if node.activation != "identity":
                total += width
        return total

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
        except (KeyError, TypeError) as exc:
            raise SpecError(f"malformed spec: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> Spec:
        """Inverse of :meth:`to_json`."""
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise SpecError(f"spec is not valid JSON: {exc}") from exc
        return cls.from_dict(d)

    def __repr__(self) -> str:
        body = ", ".join(
            f"{n.name}:{type(n).__name__.lower()}({self._widths[n.name]},{n.activation})"
            for n in self.nodes
        )
        return (
            f"Spec(input_shape={self.input_shape}, [{body}], output={self.output!r}, "
            f"loss={self.loss!r})"
        )
