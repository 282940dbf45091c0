"""Disconnect: remove inputs of a merge node (``add`` or ``concat``), i.e. connections.

* **Concat**: the removed input's positions disappear from the concatenation and from
  everything downstream that carries them (pooling, flatten, further concats); every dense or
  conv consumer loses the matching input columns or channels, and every batch norm on the way
  the matching entries. ``"exact"`` when every consumer has zero weights on the removed
  positions (e.g. a switched-off connection whose weights were zeroed), ``"approximate"``
  otherwise.
* **Add**: the summand is dropped; an ``add`` left with a single input becomes a one-input
  ``concat`` (the identity) with the same name and activation. ``"exact"`` when the removed
  input is a dense or conv layer that outputs zero for every input, ``"approximate"``
  otherwise.

Nodes that no longer reach the output afterwards (for example a layer whose only reader was
the removed connection) are deleted with their parameters. A merge keeps at least one input.
Optimizer state follows the parameters (removed entries are dropped).

Relative to a network whose switched-off connections are gated to zero (as structure search
trains them), removing them is exact whenever the removed positions reach consumers only
through pooling, flatten and concat nodes with a zero-preserving activation: then a gated
input contributes nothing. :func:`connection_positions` reports that path.

Example:
    >>> from neuroplast import Network, Spec
    >>> from neuroplast.layers import Concat, Dense
    >>> spec = Spec((3,), (Dense("a", "input", 4), Dense("b", "input", 2),
    ...                    Concat("c", ("a", "b")), Dense("out", "c", 2, "identity")), "out")
    >>> net = Network.init(spec, seed=0)
    >>> small, rec = disconnect(net, "c", [1])
    >>> [n.name for n in small.spec.nodes], small.params["out.weight"].shape
    (['a', 'c', 'out'], (2, 4))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.activations import ZERO_AT_ZERO
from neuroplast.errors import InvalidMorphismError
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
from neuroplast.morph.record import Calibration, Contract, EditRecord, measure
from neuroplast.network import Network
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec

__all__ = ["ConnectionPath", "connection_positions", "disconnect", "disconnect_spec", "live_nodes"]

Mask = npt.NDArray[np.bool_]
_PASS = (BatchNorm, MaxPool2d, AvgPool2d, GlobalAvgPool)


@dataclasses.dataclass(frozen=True)
class ConnectionPath:
    """Where the positions of one merge input go downstream.

    Attributes:
        nodes: Per node carrying them, a boolean mask over its units (features or channels).
        consumers: Per dense/conv layer reading them, a mask over its input columns (dense,
            flattened) or input channels (conv).
        norms: Batch norms normalizing some of them.
        zero_preserving: Whether every node on the way maps zero to zero (no batch norm, and
            zero-preserving activations), so that a zero input reaches the consumers as zeros.
    """

    nodes: Mapping[str, Mask]
    consumers: Mapping[str, Mask]
    norms: tuple[str, ...]
    zero_preserving: bool


def _check_merge(spec: Spec, merge: str) -> Add | Concat:
    names = [n.name for n in spec.nodes]
    if merge not in names:
        raise InvalidMorphismError(f"no node named {merge!r}; nodes: {names}")
    node = spec.node(merge)
    if not isinstance(node, Add | Concat):
        raise InvalidMorphismError(f"{merge!r} is not an add or concat merge")
    return node


def _flat(mask: Mask, shape: tuple[int, ...]) -> Mask:
    return np.repeat(mask, shape[1] * shape[2]) if len(shape) == 3 else mask


def connection_positions(spec: Spec, merge: str, k: int) -> ConnectionPath:
    """Positions of input ``k`` of ``merge`` in every node downstream (concat merges).

    Raises:
        InvalidMorphismError: Not a merge, ``k`` out of range, or the positions reach an
            ``add`` node (removing them would misalign its inputs).
    """
    node = _check_merge(spec, merge)
    if not 0 <= k < len(node.inputs):
        raise InvalidMorphismError(f"merge {merge!r} has {len(node.inputs)} inputs, not {k}")
    if isinstance(node, Add):
        return ConnectionPath({}, {}, (), True)
    widths = [spec.widths[i] for i in node.inputs]
    start = sum(widths[:k])
    first = np.zeros(spec.widths[merge], bool)
    first[start : start + widths[k]] = True
    nodes: dict[str, Mask] = {merge: first}
    consumers: dict[str, Mask] = {}
    norms: list[str] = []
    zero = node.activation in ZERO_AT_ZERO
    after = [n.name for n in spec.nodes].index(merge) + 1
    for n in spec.nodes[after:]:
        hit = [i for i in n.inputs if i in nodes]
        if not hit:
            continue
        if isinstance(n, Dense):
            consumers[n.name] = _flat(nodes[n.input], spec.shapes[n.input])
        elif isinstance(n, Conv2d):
            consumers[n.name] = nodes[n.input]
        elif isinstance(n, Concat):
            parts = [nodes.get(i, np.zeros(spec.widths[i], bool)) for i in n.inputs]
            nodes[n.name] = np.concatenate(parts)
            zero = zero and n.activation in ZERO_AT_ZERO
        elif isinstance(n, Flatten):
            nodes[n.name] = _flat(nodes[n.input], spec.shapes[n.input])
        elif isinstance(n, _PASS):
            nodes[n.name] = nodes[n.input]
            if isinstance(n, BatchNorm):
                norms.append(n.name)
            zero = zero and not isinstance(n, BatchNorm) and n.activation in ZERO_AT_ZERO
        else:
            raise InvalidMorphismError(
                f"input {k} of {merge!r} reaches add node {n.name!r}; removing it would "
                "misalign the sum"
            )
    return ConnectionPath(nodes, consumers, tuple(norms), zero)


def live_nodes(nodes: Sequence[Node], output: str) -> set[str]:
    """Names of the nodes the output depends on (the output included)."""
    live = {output}
    for n in reversed(nodes):
        if n.name in live:
            live.update(n.inputs)
    return live


def disconnect_spec(
    spec: Spec, merge: str, inputs: Sequence[int]
) -> tuple[Spec, dict[str, Mask], dict[str, Mask]]:
    """The spec without inputs ``inputs`` of ``merge``, dead nodes deleted.

    Returns:
        The new spec and the removed positions: per consumer its removed input columns or
        channels, per batch norm its removed entries.
    """
    node = _check_merge(spec, merge)
    drop = sorted({int(k) for k in inputs})
    if any(not 0 <= k < len(node.inputs) for k in drop):
        raise InvalidMorphismError(f"merge {merge!r} has {len(node.inputs)} inputs; got {drop}")
    rest = tuple(i for k, i in enumerate(node.inputs) if k not in drop)
    if not rest:
        raise InvalidMorphismError(f"merge {merge!r} must keep at least one input")
    consumers: dict[str, Mask] = {}
    norms: dict[str, Mask] = {}
    for k in drop:
        path = connection_positions(spec, merge, k)
        for name, m in path.consumers.items():
            consumers[name] = consumers.get(name, np.zeros_like(m)) | m
        for name in path.norms:
            m = path.nodes[name]
            norms[name] = norms.get(name, np.zeros_like(m)) | m
    new: Node = dataclasses.replace(node, inputs=rest)
    if isinstance(node, Add) and len(rest) == 1:
        new = Concat(node.name, rest, node.activation, node.negative_slope)
    nodes = tuple(new if n is node else n for n in spec.nodes)
    live = live_nodes(nodes, spec.output)
    nodes = tuple(n for n in nodes if n.name in live)
    out = Spec(spec.input_shape, nodes, spec.output, spec.loss)
    keep = {n.name for n in nodes}
    return (
        out,
        {c: m for c, m in consumers.items() if c in keep},
        {b: m for b, m in norms.items() if b in keep},
    )


def _slice(name: str, a: npt.NDArray[Any], cons: dict[str, Mask], norms: dict[str, Mask]) -> Any:
    node, _, kind = name.rpartition(".")
    if node in cons and kind == "weight":
        return np.ascontiguousarray(a[:, ~cons[node]])
    if node in norms:
        return np.ascontiguousarray(a[~norms[node]])
    return a


def disconnect(
    net: Network,
    merge: str,
    inputs: Sequence[int],
    *,
    calibration: Calibration | None = None,
) -> tuple[Network, EditRecord]:
    """Removes inputs ``inputs`` (positions in ``merge.inputs``) of an ``add``/``concat`` node.

    See the module docstring for what is removed and the contract.

    Args:
        net: The network (not modified).
        merge: Name of an ``add`` or ``concat`` node.
        inputs: Positions of the inputs to remove (the merge keeps at least one).
        calibration: Optional ``X`` or ``(X, y)`` to measure the distortion.

    Returns:
        The network without those connections and its :class:`EditRecord`.

    Raises:
        InvalidMorphismError: Not a merge, bad positions, every input removed, or removed
            positions that reach an ``add`` node.
    """
    spec = net.spec
    node = _check_merge(spec, merge)
    drop = sorted({int(k) for k in inputs})
    new_spec, cons, norms = disconnect_spec(spec, merge, drop)
    params = {k: _slice(k, np.asarray(net.params[k]), cons, norms) for k in new_spec.param_shapes}
    state = net.optimizer_state
    new_state = None
    if state is not None:
        slots = {
            k: {s: _slice(k, np.asarray(v), cons, norms) for s, v in state.slots[k].items()}
            for k in new_spec.param_shapes
            if k in state.slots
        }
        new_state = OptimizerState(state.kind, state.step, slots)
    out = Network(new_spec, params, new_state)
    if isinstance(node, Concat):
        zero = all(not np.any(np.asarray(net.params[f"{c}.weight"])[:, m]) for c, m in cons.items())
        contract: Contract = "exact" if zero else "approximate"
        why = (
            "every consumer has zero weights on the removed positions"
            if zero
            else ("consumers had non-zero weights on the removed positions")
        )
    else:
        gone = [node.inputs[k] for k in drop]
        zero = all(_zero_layer(net, spec.node(g)) for g in gone if g != "input")
        zero = zero and "input" not in gone
        contract = "exact" if zero else "approximate"
        why = "the removed summands output zero" if zero else "the removed summands may be non-zero"
    args: dict[str, Any] = {"merge": merge, "inputs": drop}
    dist = None if calibration is None else measure(net, out, calibration)
    return out, EditRecord("disconnect", args, contract, why, dist)


def _zero_layer(net: Network, node: Node) -> bool:
    if not isinstance(node, Dense | Conv2d) or node.activation not in ZERO_AT_ZERO:
        return False
    zero = not np.any(net.params[f"{node.name}.weight"])
    return zero and not (node.bias and np.any(net.params[f"{node.name}.bias"]))
