"""Shallow: remove a layer, by merging two linear maps or by dropping a residual branch.

* **Merge** (Schiessler et al. 2021, eqs. 11–12): a dense layer ``L`` (``h = f(W₁·x + b₁)``) whose
  only reader is a dense layer ``C`` (``y = g(W₂·h + b₂)``) is removed and ``C`` reads ``L``'s input
  with ``W = W₂·W₁`` and ``b = W₂·b₁ + b₂`` (computed in float64). ``"exact"`` when ``f`` is the
  identity (equal up to float32 rounding), ``"approximate"`` otherwise.
* **Drop** (a layer that keeps its input's shape, e.g. a conv layer with as many channels as its
  input and "same" padding): ``L`` is deleted and its readers read its input. ``"exact"`` when
  ``L`` is an identity layer — identity weights (dense ``I``; conv: a centred one-hot kernel,
  stride 1, "same" padding), zero bias, and an activation equal to ``x`` on everything its input
  can output (e.g. ReLU after a ReLU layer), as :func:`deepen` inserts it — ``"approximate"``
  otherwise. A dense identity layer read by a dense layer is dropped the same way rather than
  merged, so that its reader stays as it was.
* **Residual branch**: when ``L`` is an input of an ``add`` node, ``L`` is dropped from that sum;
  nodes that then no longer reach the output are deleted, and an ``add`` left with one input
  (allowed only with an identity activation) is replaced by that input. ``"exact"`` when ``L``
  outputs zero for every input (a dense/conv layer with zero weights and bias and an activation
  with ``f(0) = 0``, e.g. a zero-initialized residual branch from :func:`deepen`),
  ``"approximate"`` otherwise.

Optimizer moments of the merged layer restart at zero (its parameters are new); every other
parameter keeps its moments, and deleted nodes' moments are dropped.

Example:
    >>> from neuroplast import Network, Spec
    >>> net = Network.init(Spec.mlp(4, [6, 5], 3, activation="identity"), seed=0)
    >>> small, rec = shallow(net, "dense_0")
    >>> [n.name for n in small.spec.nodes], rec.contract
    (['dense_1', 'output'], 'exact')
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

from neuroplast.activations import ZERO_AT_ZERO
from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import Add, Conv2d, Dense, Node
from neuroplast.morph.deepen import _identity_exact, _rewired
from neuroplast.morph.record import Calibration, Contract, EditRecord, measure
from neuroplast.network import Network
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec

__all__ = ["shallow", "shallow_kind"]


def _readers(spec: Spec, name: str) -> list[Node]:
    return [n for n in spec.nodes if name in n.inputs]


def _ancestors(nodes: tuple[Node, ...], output: str) -> set[str]:
    live = {output}
    for n in reversed(nodes):
        if n.name in live:
            live.update(n.inputs)
    return live


def _network(net: Network, spec: Spec, new: dict[str, np.ndarray]) -> Network:
    """``spec`` with ``net``'s parameters (``new`` overriding); fresh moments for ``new``."""
    params = {k: (new[k] if k in new else net.params[k]) for k in spec.param_shapes}
    state = net.optimizer_state
    if state is None:
        return Network(spec, params)
    kinds = sorted({s for v in state.slots.values() for s in v})
    slots = {
        k: dict(state.slots[k])
        if k in state.slots and k not in new
        else {s: np.zeros(spec.param_shapes[k], np.float32) for s in kinds}
        for k in spec.param_shapes
        if k in state.slots or k in new
    }
    return Network(spec, params, OptimizerState(state.kind, state.step, slots))


def _identity_layer(net: Network, node: Node) -> tuple[bool, str]:
    """Whether ``node`` computes exactly its input (see the module docstring)."""
    if (
        not isinstance(node, Dense | Conv2d)
        or net.spec.shapes[node.input] != net.spec.shapes[node.name]
    ):
        return False, f"{node.name!r} is not a shape-preserving dense or conv layer"
    w = np.asarray(net.params[f"{node.name}.weight"])
    if isinstance(node, Dense):
        eye = np.eye(node.units, dtype=w.dtype)
    else:
        # Conv2d.__post_init__ normalized the geometry fields to pairs of ints.
        (kh, kw), pad = node.kernel_size, node.padding  # type: ignore[misc]
        dh, dw = node.dilation  # type: ignore[misc]
        centred = pad == (dh * (kh - 1) // 2, dw * (kw - 1) // 2)
        if node.groups != 1 or node.stride != (1, 1) or kh % 2 == 0 or kw % 2 == 0 or not centred:
            return False, f"{node.name!r} is not a stride-1, same-padded, ungrouped convolution"
        eye = np.zeros_like(w)
        eye[np.arange(node.units), np.arange(node.units), kh // 2, kw // 2] = 1
    bias = net.params.get(f"{node.name}.bias")
    if not np.array_equal(w, eye) or (bias is not None and np.any(bias)):
        return False, f"{node.name!r} does not have identity weights and a zero bias"
    return _identity_exact(net.spec, node.input, node.activation)


def _drop(net: Network, node: Dense | Conv2d) -> tuple[Network, Contract, str]:
    spec = net.spec
    nodes = tuple(_rewired(n, node.name, node.input) for n in spec.nodes if n is not node)
    out = _network(net, Spec(spec.input_shape, nodes, spec.output, spec.loss), {})
    exact, why = _identity_layer(net, node)
    if exact:
        return out, "exact", f"{node.name!r} is an identity layer: {why}"
    return out, "approximate", f"dropped {node.name!r}, which is not an identity layer: {why}"


def _merge(net: Network, node: Dense, reader: Dense) -> tuple[Network, Contract, str]:
    spec = net.spec
    w1 = np.asarray(net.params[f"{node.name}.weight"], np.float64)
    w2 = np.asarray(net.params[f"{reader.name}.weight"], np.float64)
    b = np.zeros(reader.units)
    if node.bias:
        b += w2 @ np.asarray(net.params[f"{node.name}.bias"], np.float64)
    if reader.bias:
        b += np.asarray(net.params[f"{reader.name}.bias"], np.float64)
    merged = dataclasses.replace(reader, input=node.input, bias=node.bias or reader.bias)
    nodes = tuple(merged if n is reader else n for n in spec.nodes if n is not node)
    new = {f"{reader.name}.weight": (w2 @ w1).astype(np.float32)}
    if merged.bias:
        new[f"{reader.name}.bias"] = b.astype(np.float32)
    out = _network(net, Spec(spec.input_shape, nodes, spec.output, spec.loss), new)
    if node.activation == "identity":
        return out, "exact", "merged two linear maps; the activation between them is identity"
    return out, "approximate", f"merged across a {node.activation!r} activation"


def _drop_branch(net: Network, node: Node, add: Add) -> tuple[Network, Contract, str]:
    spec = net.spec
    rest = tuple(i for i in add.inputs if i != node.name)
    nodes: tuple[Node, ...]
    output = spec.output
    if len(rest) >= 2:
        nodes = tuple(dataclasses.replace(add, inputs=rest) if n is add else n for n in spec.nodes)
    else:
        nodes = tuple(_rewired(n, add.name, rest[0]) for n in spec.nodes if n is not add)
        output = rest[0] if output == add.name else output
    live = _ancestors(nodes, output)
    nodes = tuple(n for n in nodes if n.name in live)
    out = _network(net, Spec(spec.input_shape, nodes, output, spec.loss), {})
    if isinstance(node, (Dense, Conv2d)) and node.activation in ZERO_AT_ZERO:
        zero = not np.any(net.params[f"{node.name}.weight"])
        if node.bias:
            zero = zero and not np.any(net.params[f"{node.name}.bias"])
        if zero:
            return out, "exact", f"residual branch {node.name!r} outputs zero for every input"
    return out, "approximate", f"dropped residual branch {node.name!r}, which may be non-zero"


def shallow_kind(spec: Spec, layer: str) -> Literal["branch", "merge", "drop"]:
    """Which removal applies to ``layer``: ``"branch"`` or ``"merge"`` (see the module docstring).

    Raises:
        InvalidMorphismError: Unknown layer, the input or output, or a layer that is neither a
            residual branch, nor a dense layer with a single dense reader, nor a dense or conv
            layer with its input's shape.
    """
    names = [n.name for n in spec.nodes]
    if layer not in names:
        raise InvalidMorphismError(f"no layer named {layer!r}; layers: {names}")
    if layer == spec.output:
        raise InvalidMorphismError(f"{layer!r} is the network output and cannot be removed")
    node = spec.node(layer)
    readers = _readers(spec, layer)
    adds = [r for r in readers if isinstance(r, Add)]
    if adds:
        if len(adds) > 1 or adds[0].inputs.count(layer) > 1:
            raise InvalidMorphismError(f"{layer!r} feeds several add inputs; ambiguous branch")
        add = adds[0]
        if len(add.inputs) == 2 and add.activation != "identity":
            raise InvalidMorphismError(
                f"add node {add.name!r} applies {add.activation!r}; dropping {layer!r} would "
                "leave it with one input, which cannot carry an activation"
            )
        return "branch"
    if isinstance(node, Dense) and len(readers) == 1 and isinstance(readers[0], Dense):
        return "merge"
    if isinstance(node, Dense | Conv2d) and spec.shapes[node.input] == spec.shapes[layer]:
        return "drop"
    raise InvalidMorphismError(
        f"cannot remove {layer!r}: it neither feeds an add node (residual branch), nor is a "
        f"dense layer read only by one dense layer (its readers: {[r.name for r in readers]}), "
        "nor keeps its input's shape"
    )


def shallow(
    net: Network, layer: str, *, calibration: Calibration | None = None
) -> tuple[Network, EditRecord]:
    """Removes ``layer``: from its residual ``add``, into its dense reader, or by dropping it.

    See the module docstring for the three cases and their contracts.

    Args:
        net: The network (not modified).
        layer: A node feeding one ``add`` (residual branch), a dense layer whose only reader
            is a dense layer, or a dense/conv layer that keeps its input's shape.
        calibration: Optional ``X`` or ``(X, y)`` to measure the distortion (accuracies only
            with labels ``y``).

    Returns:
        The shallower network and its :class:`EditRecord`.

    Raises:
        InvalidMorphismError: See :func:`shallow_kind`.
    """
    spec = net.spec
    kind = shallow_kind(spec, layer)
    node = spec.node(layer)
    readers = _readers(spec, layer)
    if kind == "branch":
        add = next(r for r in readers if isinstance(r, Add))
        out, contract, conditions = _drop_branch(net, node, add)
    elif kind == "drop" or _identity_layer(net, node)[0]:
        # An identity layer is removed by rewiring its readers, so they stay as they were.
        assert isinstance(node, Dense | Conv2d)
        out, contract, conditions = _drop(net, node)
    else:
        assert isinstance(node, Dense) and isinstance(readers[0], Dense)
        out, contract, conditions = _merge(net, node, readers[0])
    args: dict[str, Any] = {"layer": layer}
    dist = None if calibration is None else measure(net, out, calibration)
    return out, EditRecord("shallow", args, contract, conditions, dist)
