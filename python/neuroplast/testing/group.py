"""A NumPy statement of the equivariant layers, independent of the Rust tables.

* :func:`act`: a point-group element acting on arrays (``numpy.fliplr`` then ``numpy.rot90``).
* :func:`product`: group products found by acting on a probe array, not by formula.
* :func:`expand_reference`: the expanded kernel of a lifting or group convolution, written
  straight from the thesis's eqs. 2–3 with loops.
* :func:`plain_equivalent`: a network of plain nodes computing the same function as a network
  with group layers (conv with the expanded kernel, tiled batch norm, group pooling as a fixed
  1×1 convolution, a mixed layer as its collapsed kernel), for the float64 NumPy reference of
  :mod:`neuroplast.testing.reference`.

Example:
    >>> import numpy as np
    >>> from neuroplast import Network, Spec
    >>> net = Network.init(Spec.gcnn((1, 5, 5), 3, "C4", widths=[4], hidden=[]), seed=0)
    >>> X = np.random.default_rng(0).normal(size=(2, 1, 5, 5)).astype(np.float32)
    >>> bool(np.allclose(plain_equivalent(net).forward(X), net.forward(X), atol=1e-5))
    True
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.groups import table
from neuroplast.layers import BatchNorm as PlainBatchNorm
from neuroplast.layers import (
    Conv2d,
    Dense,
    GroupBatchNorm,
    GroupConv,
    GroupPool,
    LiftConv,
    MixedConv,
    Node,
)
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = ["act", "expand_reference", "plain_equivalent", "product"]

F64 = npt.NDArray[np.float64]
Element = tuple[int, bool]


def act(element: Element, a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``T_g a`` on the last two axes: mirror if ``f``, then ``k`` quarter turns."""
    k, f = element
    return np.rot90(a[..., ::-1] if f else a, k, axes=(-2, -1))


_PROBE = np.arange(9).reshape(3, 3)
_ALL: tuple[Element, ...] = tuple((k, f) for f in (False, True) for k in range(4))


@functools.cache
def product(a: Element, b: Element) -> Element:
    """The element acting as ``T_a ∘ T_b`` (found by acting on a probe array)."""
    target = act(a, act(b, _PROBE))
    (found,) = [e for e in _ALL if np.array_equal(act(e, _PROBE), target)]
    return found


@functools.cache
def _inverse(a: Element) -> Element:
    (found,) = [e for e in _ALL if product(a, e) == (0, False)]
    return found


def expand_reference(weight: npt.ArrayLike, group: str, in_group: str | None = None) -> F64:
    """The standard conv kernel of a stored weight (``in_group=None``: a lifting layer).

    Lifting: ``Ψ[(d,g), c] = T_g ψ_{d,c}``. Group convolution with input group ``H ⊇ G`` and
    coset representatives ``s`` (smallest element of each right coset ``G·v``):
    ``Ψ[(d,g), (c,v)] = T_g ψ_{d,(c,s)}(g⁻¹h)`` for ``v = h·s``.
    """
    w = np.asarray(weight, dtype=np.float64)
    els = table(group).elements
    if in_group is None:
        out = np.stack([np.stack([act(g, w[d]) for g in els]) for d in range(w.shape[0])])
        return out.reshape(w.shape[0] * len(els), *w.shape[1:])
    in_els = table(in_group).elements
    number = {e: 4 * int(e[1]) + e[0] for e in _ALL}
    reps = sorted(
        {min((product(h, v) for h in els), key=number.__getitem__) for v in in_els},
        key=number.__getitem__,
    )
    c_out, c_in, k = w.shape[0], w.shape[1] // len(reps), w.shape[-1]
    out = np.zeros((c_out, len(els), c_in, len(in_els), k, k))
    for d in range(c_out):
        for gi, g in enumerate(els):
            for c in range(c_in):
                for vi, v in enumerate(in_els):
                    (s,) = [r for r in reps if any(product(h, r) == v for h in els)]
                    h = product(v, _inverse(s))
                    u = els.index(product(_inverse(g), h))
                    out[d, gi, c, vi] = act(g, w[d, c * len(reps) + reps.index(s), u])
    return out.reshape(c_out * len(els), c_in * len(in_els), k, k)


def _mixed_kernel(net: Network, node: MixedConv) -> F64:
    p = net.params
    logits = np.asarray(p[f"{node.name}.logits"], dtype=np.float64)
    z = np.exp(logits - logits.max())
    z /= z.sum()
    total: F64 | None = None
    for zi, g in zip(z, node.candidates, strict=True):
        v = np.asarray(p[f"{node.name}.v_{g}"], dtype=np.float64)
        scale = np.asarray(p[f"{node.name}.g_{g}"], dtype=np.float64)
        norms = np.sqrt((v.reshape(v.shape[0], -1) ** 2).sum(axis=1))
        psi = v * (scale / norms).reshape(-1, *([1] * (v.ndim - 1)))
        kern = expand_reference(psi, g) if node.lift else expand_reference(psi, g, g)
        total = zi * kern if total is None else total + zi * kern
    assert total is not None
    return total


def plain_equivalent(net: Network) -> Network:
    """A network of plain nodes with the same function as ``net``.

    Group batch norm is tiled, so the two agree in evaluation mode; in training mode its
    statistics differ.
    """
    spec, params = net.spec, {k: np.asarray(v, np.float64) for k, v in net.params.items()}
    nodes: list[Node] = []
    out: dict[str, F64] = {}
    for node in spec.nodes:
        nodes.append(_plain_node(spec, node, params, out, net))
    keep = {k: v for k, v in params.items() if not k.startswith(tuple(out_prefixes(spec)))}
    keep.update(out)
    new = Spec(spec.input_shape, tuple(nodes), spec.output, spec.loss)
    return Network(new, {k: keep[k].astype(np.float32) for k in new.param_shapes})


def out_prefixes(spec: Spec) -> list[str]:
    """Parameter prefixes of the nodes :func:`plain_equivalent` rewrites."""
    kinds = (LiftConv, GroupConv, GroupBatchNorm, MixedConv)
    return [f"{n.name}." for n in spec.nodes if isinstance(n, kinds)]


def _plain_node(
    spec: Spec, node: Node, params: dict[str, F64], out: dict[str, F64], net: Network
) -> Node:
    name = node.name
    if isinstance(node, (LiftConv, GroupConv, MixedConv)):
        if isinstance(node, MixedConv):
            kern, bias = _mixed_kernel(net, node), None
        else:
            in_group = None if isinstance(node, LiftConv) else node.in_group
            kern = expand_reference(params[f"{name}.weight"], node.group, in_group)
            n = table(node.group).order
            bias = np.repeat(params[f"{name}.bias"], n) if node.bias else None
        out[f"{name}.weight"] = kern
        if bias is not None:
            out[f"{name}.bias"] = bias
        return Conv2d(
            name,
            node.input,
            kern.shape[0],
            kern.shape[-1],
            padding=int(node.padding),
            activation=node.activation,
            negative_slope=node.negative_slope,
            bias=bias is not None,
        )
    if isinstance(node, GroupBatchNorm):
        n = table(node.group).order
        for p in ("weight", "bias", "running_mean", "running_var"):
            out[f"{name}.{p}"] = np.repeat(params[f"{name}.{p}"], n)
        return PlainBatchNorm(
            name, node.input, node.eps, node.momentum, node.activation, node.negative_slope
        )
    if isinstance(node, GroupPool):
        n = table(node.group).order
        c = spec.shapes[name][0]
        w = np.kron(np.eye(c), np.full((1, n), 1.0 / n))
        out[f"{name}.weight"] = w.reshape(c, c * n, 1, 1) if len(spec.shapes[name]) == 3 else w
        if len(spec.shapes[name]) == 3:
            return Conv2d(name, node.input, c, 1, activation=node.activation, bias=False)
        return Dense(name, node.input, c, node.activation, bias=False)
    return dataclasses.replace(node)
