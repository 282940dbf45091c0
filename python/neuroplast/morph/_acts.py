"""Activations of any node of a network, read through a sub-network that ends at the node."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neuroplast.layers import Flatten, Node
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = ["node_activations", "unit_samples"]

F64 = npt.NDArray[np.float64]


def node_activations(net: Network, node: str, X: npt.ArrayLike) -> F64:
    """Outputs of ``node`` on ``X``, flattened row-major to ``(n_samples, prod(shape))``."""
    spec = net.spec
    if node == "input":
        arr = np.asarray(X, dtype=np.float64)
        return arr.reshape(arr.shape[0], -1)
    needed = {node}
    for n in reversed(spec.nodes[: spec.node_index(node) + 1]):
        if n.name in needed:
            needed.update(n.inputs)
    nodes: list[Node] = [n for n in spec.nodes if n.name in needed]
    out = node
    if len(spec.shapes[node]) > 1:
        out = "_probe" + "_" * max(len(n.name) for n in spec.nodes)
        nodes.append(Flatten(out, node))
    sub = Spec(spec.input_shape, tuple(nodes), out, "mse")
    params = {k: v for k, v in net.params.items() if k in sub.param_shapes}
    return Network(sub, params).forward(X).astype(np.float64)


def unit_samples(net: Network, node: str, X: npt.ArrayLike) -> F64:
    """Activations of ``node`` as ``(samples, units)``: each pixel of a spatial node is a sample."""
    a = node_activations(net, node, X)
    shape = net.spec.shapes[node] if node != "input" else net.spec.input_shape
    if len(shape) == 1:
        return a
    c = shape[0]
    return np.moveaxis(a.reshape(a.shape[0], c, -1), 1, 2).reshape(-1, c)
