"""Applies a unit plan (new rows of each producer, by source row) to parameters and optimizer state.

A *plan* maps each changed producer to the source of every row it will have: an old row index
(kept or duplicated) or ``None`` (a fresh unit). Everything else follows from the unit graph of
the new spec: each position of every node is matched to the old position it comes from.

* Weights: output rows are gathered (fresh rows from :class:`Fresh`); input columns are gathered
  and divided by the replication count of their source (Net2Wider), fresh columns from
  :class:`Fresh`. Batch-norm parameters follow their positions; fresh ones are the identity.
* Optimizer moments: the gradient the edited network has at the same point is, for a column of
  a duplicated unit, the gradient of the original column (its activation is unchanged) and, for
  a row, the original row's gradient divided by the replication count ``r`` (its outgoing
  weights were divided by ``r``). So columns are copied unscaled and rows scaled by ``1/r``
  (``exp_avg``, ``momentum_buffer``) or ``1/r²`` (``exp_avg_sq``); fresh entries are zero and
  removed entries are dropped.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import Add, BatchNorm, Conv2d, Dense, Node
from neuroplast.morph.deps import Atom, Key, UnitGraph, unit_graph
from neuroplast.network import Network
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec

__all__ = ["Fresh", "Plan", "apply_plan"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
#: Per changed producer, the source row of each new row (``None`` for a fresh unit).
Plan = Mapping[str, Sequence[int | None]]

_BN_FRESH = {"weight": 1.0, "bias": 0.0, "running_mean": 0.0, "running_var": 1.0}


class Fresh(Protocol):
    """Initial values of fresh units (called in spec order, so seeded draws are deterministic)."""

    def rows(self, layer: str, n: int, weight: F32) -> F32:
        """``n`` new output rows of ``layer`` (shape ``(n, *weight.shape[1:])``)."""

    def bias(self, layer: str, n: int) -> F32:
        """``n`` new bias entries of ``layer``."""

    def cols(self, layer: str, n: int, weight: F32) -> F32:
        """``n`` new input columns of ``layer`` (shape ``(rows, n, *weight.shape[2:])``)."""


def _resized(node: Node, units: int) -> Node:
    if isinstance(node, Dense):
        return dataclasses.replace(node, units=units)
    if isinstance(node, Conv2d):
        return dataclasses.replace(node, channels=units)
    raise TypeError(f"{node.name!r} has no units to resize")  # pragma: no cover


def _sources(
    new: tuple[Key, ...], old: tuple[Key, ...], plans: Plan, counts: Mapping[str, Counter[int]]
) -> tuple[I64, F64]:
    """Old position of every new position (-1: fresh) and its replication factor ``1/r``."""
    index = {k: i for i, k in enumerate(old)}
    idx = np.empty(len(new), dtype=np.int64)
    fac = np.ones(len(new), dtype=np.float64)
    for i, (p, r, tag) in enumerate(new):
        src: int | None = r
        if p in plans:
            src = plans[p][r]
            if src is not None:
                fac[i] = 1.0 / counts[p][src]
        idx[i] = -1 if src is None else index[(p, src, tag)]
    return idx, fac


def _gather(a: F32, axis: int, idx: I64, scale: F64 | None, fill: F32 | None) -> F32:
    """``a`` gathered along ``axis`` by ``idx``, scaled per index, ``fill`` where ``idx < 0``."""
    out = np.take(a, np.maximum(idx, 0), axis=axis).astype(np.float64)
    shape = [1] * a.ndim
    shape[axis] = len(idx)
    if scale is not None:
        out *= scale.reshape(shape)
    fresh = idx < 0
    if fresh.any():
        sel = [slice(None)] * a.ndim
        sel[axis] = fresh  # type: ignore[call-overload]
        out[tuple(sel)] = 0.0 if fill is None else fill
    return out.astype(np.float32)


def _moment_power(slot: str) -> int:
    return 2 if slot == "exp_avg_sq" else 1


def apply_plan(net: Network, plans: Plan, fresh: Fresh) -> Network:
    """The network whose producers have the rows of ``plans`` (see the module docstring)."""
    spec = net.spec
    nodes = tuple(_resized(n, len(plans[n.name])) if n.name in plans else n for n in spec.nodes)
    new_spec = Spec(spec.input_shape, nodes, spec.output, spec.loss)
    old_g, new_g = unit_graph(spec), unit_graph(new_spec)
    counts = {p: Counter(s for s in rows if s is not None) for p, rows in plans.items()}
    params = {k: np.asarray(v) for k, v in net.params.items()}
    state = net.optimizer_state
    slots = {k: dict(v) for k, v in state.slots.items()} if state is not None else None

    def edit(name: str, axis: int, idx: I64, fac: F64, fill: F32 | None, row: bool) -> None:
        params[name] = _gather(params[name], axis, idx, None if row else fac, fill)
        if slots is not None:
            for slot, m in slots[name].items():
                scale = fac ** _moment_power(slot) if row else None
                slots[name][slot] = _gather(np.asarray(m), axis, idx, scale, None)

    for old_node, node in zip(spec.nodes, new_spec.nodes, strict=True):
        name = node.name
        if isinstance(node, (Dense, Conv2d)) and isinstance(old_node, (Dense, Conv2d)):
            keys_new, keys_old = new_g.input_keys(node), old_g.input_keys(old_node)
            if keys_new != keys_old or any(k[0] in plans for k in keys_new):
                idx, fac = _sources(keys_new, keys_old, plans, counts)
                w = params[f"{name}.weight"]
                fill = fresh.cols(name, int((idx < 0).sum()), w) if (idx < 0).any() else None
                edit(f"{name}.weight", 1, idx, fac, fill, row=False)
            if name in plans:
                rows = plans[name]
                idx = np.array([-1 if s is None else s for s in rows], dtype=np.int64)
                fac = np.array([1.0 if s is None else 1.0 / counts[name][s] for s in rows])
                n_fresh = int((idx < 0).sum())
                w = params[f"{name}.weight"]
                edit(f"{name}.weight", 0, idx, fac, fresh.rows(name, n_fresh, w), row=True)
                if node.bias:
                    edit(f"{name}.bias", 0, idx, fac, fresh.bias(name, n_fresh), row=True)
        elif isinstance(node, BatchNorm):
            keys_new, keys_old = new_g.keys[node.input], old_g.keys[node.input]
            if keys_new != keys_old or any(k[0] in plans for k in keys_new):
                idx, fac = _sources(keys_new, keys_old, plans, counts)
                for p, value in _BN_FRESH.items():
                    edit(f"{name}.{p}", 0, idx, fac, np.full(1, value, np.float32), row=True)
    _check_aligned(new_spec, old_g, new_g, plans)
    new_state = None
    if state is not None and slots is not None:
        new_state = OptimizerState(state.kind, state.step, slots)
    return Network(new_spec, params, new_state)


def _check_aligned(spec: Spec, old: UnitGraph, new: UnitGraph, plans: Plan) -> None:
    """Raises unless every ``add`` sums positions that come from one old coupled class."""

    def origin(key: Key) -> Atom | None:
        p, r, _ = key
        src = plans[p][r] if p in plans else r
        return None if src is None else old.root[(p, src)]

    for node in spec.nodes:
        if isinstance(node, Add):
            columns = zip(*(new.keys[i] for i in node.inputs), strict=True)
            if any(len({origin(k) for k in keys}) != 1 for keys in columns):
                raise InvalidMorphismError(
                    f"the edit would misalign the inputs of add node {node.name!r}"
                )
