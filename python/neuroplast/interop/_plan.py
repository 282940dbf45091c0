"""What the PyTorch and ONNX writers share: how each neuroplast node is spelled elsewhere.

Example:
    >>> from neuroplast import Spec
    >>> spec = Spec.cnn((1, 8, 8), [4], 3)
    >>> is_chain(spec), flattens_input(spec), needs_flatten(spec, spec.node("output"))
    (True, False, False)
"""

from __future__ import annotations

from neuroplast.interop._errors import UnsupportedOpError
from neuroplast.layers import Dense, Node
from neuroplast.spec import Spec

__all__ = [
    "activation_of",
    "flattens_input",
    "is_chain",
    "is_spatial",
    "needs_flatten",
    "unsupported_activation",
]


def is_spatial(spec: Spec, name: str) -> bool:
    """Whether node ``name`` (or ``"input"``) produces a ``(C, H, W)`` image."""
    shape = spec.input_shape if name == "input" else spec.shapes[name]
    return len(shape) == 3


def flattens_input(spec: Spec) -> bool:
    """Whether the input must be flattened first: it is neither flat nor ``(C, H, W)``.

    The engine reads such inputs as flat vectors, so the exported model flattens them once.
    """
    return len(spec.input_shape) not in (1, 3)


def needs_flatten(spec: Spec, node: Node) -> bool:
    """Whether ``node`` (a dense layer) reads an image that PyTorch/ONNX must flatten first."""
    return isinstance(node, Dense) and is_spatial(spec, node.input)


def is_chain(spec: Spec) -> bool:
    """Whether every node reads only the node before it and the last node is the output."""
    prev = "input"
    for node in spec.nodes:
        if node.inputs != (prev,):
            return False
        prev = node.name
    return prev == spec.output


def activation_of(node: Node) -> tuple[str, float]:
    """``(activation, negative_slope)`` of ``node`` (``("identity", 0.0)`` for flatten).

    ``modified_relu`` differs from ``relu`` only in its derivative at 0, so it is written as
    ``relu`` (exact forward; it reads back as ``relu``).
    """
    activation = str(getattr(node, "activation", "identity"))
    slope = float(getattr(node, "negative_slope", 0.0))
    return ("relu" if activation == "modified_relu" else activation), slope


def unsupported_activation(activation: str, node: str, target: str) -> UnsupportedOpError:
    """The error for an activation that ``target`` has no exact operator for."""
    return UnsupportedOpError(activation, f"node {node!r}", f"no exact {target} equivalent")
