"""Relax: the equivariance relaxation morphism (Maile 2023, ch. 4, eqs. 4–5).

A ``G``-equivariant layer (lifting or group convolution) becomes a ``G'``-layer for a maximal
subgroup ``G' < G`` (one edge of the lattice ``D4→C4, D4→D2, C4→C2, D2→C2, D2→D1, C2→C1,
D1→C1``). With ``R`` the right-coset representatives of ``G'`` in ``G``, every channel ``d``
becomes ``|R|`` channels ``(d, t)`` whose entry ``g'`` is the old entry ``g'·t`` (eq. 4), and the
new stored kernel is ``ψ̃_{(d,t),(c,s)}(h') = ψ_{d,c}(t⁻¹h's)`` with the spatial action of ``t⁻¹``
(eq. 5). The expanded kernel is the old one with its rows permuted, entry for entry; the layer
is still ``G``-equivariant now but has ``|R|`` times the parameters, and training may break the
symmetry. The next layers follow:

* an equivariant batch norm (:class:`~neuroplast.layers.GroupBatchNorm`) tiles its statistics
  and ``γ``, ``β`` over the ``|R|`` copies (exact with running statistics, i.e. in evaluation;
  the thesis does not discuss batch norm under the morphism); a plain batch norm permutes them;
* the next group convolution reads a ``G'``-feature map: its stored kernel is permuted so its
  expanded kernel is the old one with the columns permuted (bit for bit);
* group pooling pools over ``G'`` (the mean over ``G`` is the mean over the ``|R|`` copies), so
  the dense layer after it gets its columns tiled and divided by ``|R|`` (equal up to float
  rounding).

Pooling over space and activations commute with the channel permutation. Local equivariance
is required: the next group layer's group must be a subgroup of ``G'``. Optimizer moments follow
the parameters: a permuted tensor's moments are permuted; a tiled one's are split over the
copies (first moments divided by ``|R|``, ``exp_avg_sq`` by ``|R|²``, the convention of
:func:`~neuroplast.morph.widen` for duplicated units); the head's tiled columns keep theirs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast.errors import InvalidMorphismError, SpecError
from neuroplast.groups import GROUP_ORDERS, LATTICE_EDGES, is_subgroup
from neuroplast.layers import (
    AvgPool2d,
    BatchNorm,
    Dense,
    Flatten,
    GlobalAvgPool,
    GroupBatchNorm,
    GroupConv,
    GroupPool,
    LiftConv,
    MaxPool2d,
    Node,
)
from neuroplast.morph.record import Calibration, EditRecord, measure
from neuroplast.network import Network
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec

__all__ = ["relax", "relaxations"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class _Change:
    """How one tensor changes: gathered along ``axis`` (flattened) by ``src``.

    ``split``: the number of copies its moments are split over (``None``: moments move as they
    are); ``scale``: a factor on the parameter only (the head's tiled columns).
    """

    src: I64
    axis: int = 0
    split: float | None = None
    scale: float | None = None

    def apply(self, a: F32, shape: tuple[int, ...], moment: str | None) -> F32:
        flat = a.reshape(a.shape[0], -1) if self.axis == 1 else a.reshape(-1)
        out = np.take(flat, self.src, axis=self.axis).astype(np.float64)
        if moment is None and self.scale is not None:
            out *= self.scale
        if moment is not None and self.split is not None:
            out /= self.split ** (2 if moment == "exp_avg_sq" else 1)
        return np.ascontiguousarray(out.reshape(shape), dtype=np.float32)


_PASS = (MaxPool2d, AvgPool2d)
_CONDITIONS = (
    "expanded kernels equal up to a fixed channel permutation; group batch norm exact with "
    "running statistics (evaluation mode); the head after group pooling tiled (equal up to "
    "float rounding)"
)


def _consumers(spec: Spec, name: str) -> list[Node]:
    return [n for n in spec.nodes if name in getattr(n, "inputs", ())]


def _layer(spec: Spec, layer: str, subgroup: str) -> tuple[LiftConv | GroupConv, str]:
    try:
        node = spec.node(layer)
    except SpecError as exc:
        raise InvalidMorphismError(f"unknown layer {layer!r}") from exc
    if not isinstance(node, (LiftConv, GroupConv)):
        raise InvalidMorphismError(f"relax needs a lifting or group convolution, not {layer!r}")
    to = subgroup.upper() if isinstance(subgroup, str) else subgroup
    if (node.group, to) not in LATTICE_EDGES:
        raise InvalidMorphismError(
            f"cannot relax {layer!r} from {node.group} to {subgroup!r}; the lattice edges are "
            f"{', '.join(f'{a}->{b}' for a, b in LATTICE_EDGES)}"
        )
    return node, to


def relaxations(net: Network) -> list[tuple[str, str]]:
    """Every ``(layer, subgroup)`` that :func:`relax` accepts on ``net``, in node order.

    A layer may step down one lattice edge when the next group layer (if any) stays a
    subgroup of the new group (local equivariance).

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.gcnn((1, 6, 6), 3, ["D4", "C4"], widths=[8, 8]), seed=0)
        >>> relaxations(net)
        [('conv_0', 'C4'), ('conv_1', 'C2')]
    """
    out: list[tuple[str, str]] = []
    convs = [n for n in net.spec.nodes if isinstance(n, (LiftConv, GroupConv))]
    for i, node in enumerate(convs):
        nxt = convs[i + 1].group if i + 1 < len(convs) else "C1"
        for a, b in LATTICE_EDGES:
            if a == node.group and is_subgroup(nxt, b):
                out.append((node.name, b))
    return out


def _tile(n_old: int, r: int, block: int = 1) -> I64:
    """New index ``j`` → old index for ``|R| = r`` copies of each block of ``block`` entries."""
    j = np.arange(n_old * r, dtype=np.int64)
    return (j // (block * r)) * block + j % block


def _plan(net: Network, node: LiftConv | GroupConv, to: str) -> tuple[Spec, dict[str, _Change]]:
    """The relaxed spec and, per changed tensor, how it is gathered from the old one."""
    spec, frm = net.spec, node.group
    r = GROUP_ORDERS[frm] // GROUP_ORDERS[to]
    k = node.kernel_size
    in_c = spec.shapes[node.input][0] if node.input != "input" else spec.input_shape[0]
    g_in = None if isinstance(node, LiftConv) else node.in_group
    c_in = in_c if g_in is None else in_c // GROUP_ORDERS[g_in]
    w_src = _core.relax_layer(g_in, frm, to, node.channels, c_in, k)
    changes = {f"{node.name}.weight": _Change(w_src, split=r)}
    if node.bias:
        changes[f"{node.name}.bias"] = _Change(_tile(node.channels, r), split=r)
    new_nodes: dict[str, Node] = {
        node.name: dataclasses.replace(node, channels=node.channels * r, group=to)
    }
    perm = _core.relax_channels(frm, to, node.channels)
    cur: str = node.name
    while True:
        (nxt,) = _single_consumer(spec, cur)
        if isinstance(nxt, _PASS):
            cur = nxt.name
        elif isinstance(nxt, GroupBatchNorm) and nxt.group == frm:
            new_nodes[nxt.name] = dataclasses.replace(nxt, group=to)
            for p in ("weight", "bias", "running_mean", "running_var"):
                changes[f"{nxt.name}.{p}"] = _Change(_tile(node.channels, r), split=r)
            cur = nxt.name
        elif isinstance(nxt, BatchNorm):
            for p in ("weight", "bias", "running_mean", "running_var"):
                changes[f"{nxt.name}.{p}"] = _Change(perm)
            cur = nxt.name
        elif isinstance(nxt, GroupConv) and nxt.in_group == frm:
            new_nodes[nxt.name] = dataclasses.replace(nxt, in_group=to)
            src = _core.relax_consumer(nxt.group, frm, to, nxt.channels, node.channels, k)
            changes[f"{nxt.name}.weight"] = _Change(src)
            break
        elif isinstance(nxt, GroupPool) and nxt.group == frm:
            new_nodes[nxt.name] = dataclasses.replace(nxt, group=to)
            changes.update(_head(spec, nxt, node.channels, r))
            break
        else:
            raise InvalidMorphismError(
                f"relax cannot carry {node.name!r}'s channels through {nxt.name!r} "
                f"({type(nxt).__name__}); supported: pooling, batch norm, a group conv of "
                f"input group {frm}, or group pooling into a dense head"
            )
    nodes = tuple(new_nodes.get(n.name, n) for n in spec.nodes)
    return Spec(spec.input_shape, nodes, spec.output, spec.loss), changes


def _single_consumer(spec: Spec, name: str) -> list[Node]:
    users = _consumers(spec, name)
    if len(users) != 1:
        raise InvalidMorphismError(
            f"relax needs a chain: {name!r} feeds {len(users)} nodes ({[u.name for u in users]})"
        )
    return users


def _head(spec: Spec, pool: GroupPool, channels: int, r: int) -> dict[str, _Change]:
    """Tiled columns (divided by ``|R|``) of the dense layer after group pooling."""
    cur: Node = pool
    while True:
        (nxt,) = _single_consumer(spec, cur.name)
        if isinstance(nxt, (GlobalAvgPool, Flatten, *_PASS)):
            cur = nxt
            continue
        if not isinstance(nxt, Dense):
            raise InvalidMorphismError(
                f"relax needs a dense layer after group pooling, not {nxt.name!r}"
            )
        break
    block = int(np.prod(spec.shapes[cur.name])) // channels
    return {f"{nxt.name}.weight": _Change(_tile(channels, r, block), axis=1, scale=1.0 / r)}


def relax(
    net: Network, layer: str, subgroup: str, *, calibration: Calibration | None = None
) -> tuple[Network, EditRecord]:
    """Relaxes the equivariance of ``layer`` to the maximal subgroup ``subgroup``.

    Args:
        net: The network (not modified).
        layer: A :class:`~neuroplast.layers.LiftConv` or :class:`~neuroplast.layers.GroupConv`.
        subgroup: A maximal subgroup of the layer's group (one lattice edge).
        calibration: Optional ``X`` or ``(X, y)`` to measure the distortion.

    Returns:
        The relaxed network and its :class:`~neuroplast.morph.EditRecord` (contract
        ``"exact"``; see the module docstring for the conditions).

    Raises:
        InvalidMorphismError: Not a group layer, not a lattice edge, the next group layer not a
            subgroup of ``subgroup``, or a graph relax cannot carry the channels through.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.gcnn((1, 6, 6), 3, "D4", widths=[8, 8], hidden=[]), seed=0)
        >>> relaxed, rec = relax(net, "conv_1", "C4")
        >>> relaxed.spec.node("conv_1").channels, rec.contract
        (2, 'exact')
        >>> X = np.random.default_rng(0).normal(size=(4, 1, 6, 6)).astype(np.float32)
        >>> bool(np.allclose(relaxed.forward(X), net.forward(X), atol=1e-5))
        True
    """
    node, to = _layer(net.spec, layer, subgroup)
    spec, changes = _plan(net, node, to)
    shapes = spec.param_shapes
    params: dict[str, Any] = dict(net.params)
    for name, change in changes.items():
        params[name] = change.apply(np.asarray(params[name]), shapes[name], None)
    state = net.optimizer_state
    new_state = None
    if state is not None:
        slots = {p: dict(s) for p, s in state.slots.items()}
        for name, change in changes.items():
            for slot, m in slots[name].items():
                slots[name][slot] = change.apply(np.asarray(m), shapes[name], slot)
        new_state = OptimizerState(state.kind, state.step, slots)
    out = Network(spec, params, new_state)
    args = {"layer": layer, "subgroup": to}
    dist = None if calibration is None else measure(net, out, calibration)
    return out, EditRecord("relax", args, "exact", _CONDITIONS, dist)
