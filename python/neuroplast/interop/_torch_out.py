"""neuroplast → PyTorch: an ``nn.Sequential`` for chains, else a ``torch.fx.GraphModule``.

Imports torch at module level: import it only through :mod:`neuroplast.interop`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import fx, nn

from neuroplast.interop._plan import activation_of, flattens_input, is_chain, is_spatial
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
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = ["HardSign", "activation_module", "to_torch"]

Path = tuple[str, ...]
Items = list[tuple[Path, Any]]


class HardSign(nn.Module):
    """neuroplast's ``sign`` activation: 1 where ``x >= 0``, else -1 (so ``sign(0) = 1``).

    Unlike :func:`torch.sign`, zero maps to 1, as in the engine.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Elementwise ``1`` for ``x >= 0`` and ``-1`` otherwise."""
        one = torch.ones_like(x)
        return torch.where(x >= 0, one, -one)


def activation_module(activation: str, slope: float) -> Any:
    """The PyTorch module computing ``activation``, or ``None`` for the identity.

    Example:
        >>> activation_module("leaky_relu", 0.1)
        LeakyReLU(negative_slope=0.1)
    """
    if activation == "identity":
        return None
    if activation == "leaky_relu":
        return nn.LeakyReLU(slope)
    table: dict[str, Any] = {
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "sign": HardSign,
    }
    if activation == "saturation":
        return nn.Hardtanh(-1.0, 1.0)
    return table[activation]()


def _tensor(a: npt.ArrayLike) -> Any:
    return torch.from_numpy(np.array(a, dtype=np.float32, copy=True))


def _load(module: Any, params: Mapping[str, Any], name: str, fields: tuple[str, ...]) -> Any:
    with torch.no_grad():
        for f in fields:
            key = f"{name}.{f}"
            if key in params:
                getattr(module, f).copy_(_tensor(params[key]))
    return module


def _layer(spec: Spec, node: Node, params: Mapping[str, Any]) -> Any:
    """The module computing ``node`` before its activation (None for merges)."""
    name = node.name
    if isinstance(node, Dense):
        fan_in = params[f"{name}.weight"].shape[1]
        linear = nn.Linear(fan_in, node.units, bias=node.bias)
        return _load(linear, params, name, ("weight", "bias"))
    if isinstance(node, Conv2d):
        conv = nn.Conv2d(
            spec.widths[node.input],
            node.channels,
            node.kernel_size,
            stride=node.stride,
            padding=node.padding,
            dilation=node.dilation,
            groups=node.groups,
            bias=node.bias,
        )
        return _load(conv, params, name, ("weight", "bias"))
    if isinstance(node, BatchNorm):
        cls = nn.BatchNorm2d if is_spatial(spec, node.input) else nn.BatchNorm1d
        bn = cls(spec.widths[node.input], eps=node.eps, momentum=node.momentum)
        return _load(bn, params, name, ("weight", "bias", "running_mean", "running_var"))
    if isinstance(node, MaxPool2d):
        return nn.MaxPool2d(node.kernel_size, node.stride, node.padding)
    if isinstance(node, AvgPool2d):
        return nn.AvgPool2d(
            node.kernel_size,
            node.stride,
            node.padding,
            count_include_pad=True,
        )
    if isinstance(node, GlobalAvgPool):
        return nn.AdaptiveAvgPool2d(1)
    if isinstance(node, Flatten):
        return nn.Flatten()
    return None


def _items(spec: Spec, node: Node, params: Mapping[str, Any]) -> Items:
    """``(path, module)`` pairs computing ``node`` on its (single) input, in order."""
    path: Path = tuple(node.name.split("."))
    if not all(path):
        path = (node.name.replace(".", "_"),)
    sibling = (*path[:-1], path[-1] + "_{}")
    items: Items = []
    if isinstance(node, Dense) and is_spatial(spec, node.input):
        items.append(((*sibling[:-1], sibling[-1].format("flatten")), nn.Flatten()))
    layer = _layer(spec, node, params)
    if layer is not None:
        items.append((path, layer))
    if isinstance(node, GlobalAvgPool):
        items.append(((*sibling[:-1], sibling[-1].format("flatten")), nn.Flatten()))
    act = activation_module(*activation_of(node))
    if act is not None:
        items.append(((*sibling[:-1], sibling[-1].format("act")), act))
    return items


@functools.cache
def _reserved() -> frozenset[str]:
    """Attribute names of the containers, which submodules must not shadow."""
    probes = (nn.Sequential(), fx.GraphModule(nn.Module(), fx.Graph()))
    return frozenset(name for p in probes for name in dir(p))


def _nest(items: Items, parent: Any) -> Any:
    """Adds ``items`` under ``parent`` (a fresh ``nn.Sequential`` or ``nn.Module``)."""
    for path, module in items:
        owner = parent
        for part in path[:-1]:
            child = owner._modules.get(part)
            if child is None and part in _reserved():
                raise KeyError(part)
            if child is None:
                child = nn.Sequential() if isinstance(parent, nn.Sequential) else nn.Module()
                owner.add_module(part, child)
            owner = child
        if path[-1] in owner._modules or path[-1] in _reserved():
            raise KeyError(path[-1])
        owner.add_module(path[-1], module)
    return parent


def _flat_names(items: Items) -> Items:
    out: Items = []
    taken: set[str] = set()
    for path, module in items:
        base = name = "_".join(path)
        i = 1
        while name in taken or name in _reserved():
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        out.append(((name,), module))
    return out


def _build(spec: Spec, items_of: Mapping[str, Items], head: Items) -> Any:
    """The container holding every module, nested by dotted node names where possible."""
    flat = head + [it for n in spec.nodes for it in items_of[n.name]]
    chain = is_chain(spec)
    for attempt in (flat, _flat_names(flat)):
        root: Any = nn.Sequential() if chain else nn.Module()
        try:
            return _nest(attempt, root), attempt
        except KeyError:
            continue
    raise AssertionError("unreachable: flat names are unique")  # pragma: no cover


def _graph_module(spec: Spec, root: Any, named: Items, items_of: Mapping[str, Items]) -> Any:
    graph = fx.Graph()
    cursor = iter(named)
    values: dict[str, Any] = {"input": graph.placeholder("x")}
    if flattens_input(spec):
        values["input"] = graph.call_module(".".join(next(cursor)[0]), (values["input"],))
    for node in spec.nodes:
        ins = [values[i] for i in node.inputs]
        if isinstance(node, Add):
            value = ins[0]
            for other in ins[1:]:
                value = graph.call_function(operator.add, (value, other))
        elif isinstance(node, Concat):
            value = graph.call_function(torch.cat, (tuple(ins),), {"dim": 1})
        else:
            value = ins[0]
        for _ in items_of[node.name]:
            value = graph.call_module(".".join(next(cursor)[0]), (value,))
        values[node.name] = value
    graph.output(values[spec.output])
    return fx.GraphModule(root, graph, class_name="NeuroplastNet")


def to_torch(net: Network) -> Any:
    """See :func:`neuroplast.interop.to_torch`."""
    spec, params = net.spec, net.params
    items_of = {n.name: _items(spec, n, params) for n in spec.nodes}
    head: Items = [(("input_flatten",), nn.Flatten())] if flattens_input(spec) else []
    root, named = _build(spec, items_of, head)
    module = root if is_chain(spec) else _graph_module(spec, root, named, items_of)
    return module.eval()
