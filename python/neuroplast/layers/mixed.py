"""Nodes of differentiable architecture search: ``MixedOp`` and the activation-only ``Identity``.

A :class:`MixedOp` is one edge of a DARTS cell: the weighted sum ``Σₚ a(α)ₚ·xₚ`` of its inputs
(the outputs of the candidate operations), with ``α`` one row of an architecture tensor shared
by all edges of a cell type (Liu et al. 2019; Maile 2023, ch. 5). The engine computes the
gradient with respect to ``α`` in the same backward pass as the weight gradients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuroplast.errors import SpecError
from neuroplast.layers._common import check_activation, check_name, check_positive, check_slope

__all__ = ["WEIGHTINGS", "Identity", "MixedOp"]

#: How architecture weights become operation weights: ``"softmax"`` over an edge (DARTS) or
#: ``"crb"``, the unit-clipped ReLU ``min(max(α, 0), 1)`` per operation (Maile 2023, Sec. 5.2.5).
WEIGHTINGS: tuple[str, ...] = ("softmax", "crb")


@dataclass(frozen=True)
class Identity:
    """Its input unchanged, then ``activation`` (e.g. one shared ReLU before several convolutions).

    Example:
        >>> Identity("r", "input", "relu").to_dict()["op"]
        'identity'
    """

    name: str
    input: str
    activation: str = "relu"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        check_name(self.name)
        if not isinstance(self.input, str):
            raise SpecError(f"node {self.name!r}: input must be a node name, got {self.input!r}")
        check_activation(self.name, self.activation)
        check_slope(self.name, self.negative_slope)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the input nodes."""
        return (self.input,)

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return {
            "name": self.name,
            "op": "identity",
            "inputs": [self.input],
            "activation": self.activation,
            "negative_slope": self.negative_slope,
        }


@dataclass(frozen=True)
class MixedOp:
    """``Σₚ a(α[row])ₚ·inputs[p]``: a mixed operation over equally shaped candidate outputs.

    Args:
        name: Unique node name.
        inputs: The candidate operations' output nodes (one or more, one shape).
        alpha: Name of the architecture tensor (no ``.``), shared by every mixed node that
            names it; its shape is ``(rows, len(inputs) + none)``.
        row: This edge's row of ``alpha``.
        rows: Number of rows of ``alpha`` (the same in every node that names it).
        none: Whether column 0 is the zero operation ("none": takes weight, adds nothing).
        weighting: ``"softmax"`` or ``"crb"`` (see :data:`WEIGHTINGS`); with ``"crb"`` an
            operation whose ``α`` is not positive has weight 0 and is not even computed.
        activation: Applied to the sum (normally ``"identity"``).
        negative_slope: Slope for ``leaky_relu``.

    Example:
        >>> m = MixedOp("e", ("a", "b"), "alpha_normal", row=0, rows=2)
        >>> m.n_ops
        3
    """

    name: str
    inputs: tuple[str, ...]
    alpha: str
    row: int
    rows: int
    none: bool = True
    weighting: str = "softmax"
    activation: str = "identity"
    negative_slope: float = 0.01

    def __post_init__(self) -> None:
        check_name(self.name)
        check_activation(self.name, self.activation)
        check_slope(self.name, self.negative_slope)
        if isinstance(self.inputs, str) or not self.inputs:
            raise SpecError(f"node {self.name!r}: inputs must be a non-empty sequence of names")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        if not isinstance(self.alpha, str) or not self.alpha or "." in self.alpha:
            raise SpecError(
                f"node {self.name!r}: alpha must be a name without '.', got {self.alpha!r}"
            )
        check_positive(self.name, "rows", self.rows)
        check_positive(self.name, "row", self.row, minimum=0)
        if self.row >= self.rows:
            raise SpecError(f"node {self.name!r}: row {self.row} must be below rows {self.rows}")
        if not isinstance(self.none, bool):
            raise SpecError(f"node {self.name!r}: none must be a bool, got {self.none!r}")
        if self.weighting not in WEIGHTINGS:
            raise SpecError(
                f"node {self.name!r}: weighting must be one of {WEIGHTINGS}, got {self.weighting!r}"
            )

    @property
    def n_ops(self) -> int:
        """Columns of the architecture tensor (the inputs plus "none" when present)."""
        return len(self.inputs) + int(self.none)

    def to_dict(self) -> dict[str, Any]:
        """Wire form used by the JSON round trip and the Rust core."""
        return {
            "name": self.name,
            "op": "mixed",
            "inputs": list(self.inputs),
            "alpha": self.alpha,
            "row": self.row,
            "rows": self.rows,
            "none": self.none,
            "weighting": self.weighting,
            "activation": self.activation,
            "negative_slope": self.negative_slope,
        }
