"""Narrow: remove units of a layer (and of everything coupled to them), with a declared contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, InvalidMorphismError
from neuroplast.morph._apply import apply_plan
from neuroplast.morph.deps import CoupledGroup, UnitGraph, coupled_group, unit_graph
from neuroplast.morph.record import Calibration, EditRecord, measure
from neuroplast.network import Network

__all__ = ["NARROW_METHODS", "NarrowMethod", "narrow"]

F32 = npt.NDArray[np.float32]
NarrowMethod = Literal["select"]
#: Methods accepted by :func:`narrow`.
NARROW_METHODS: tuple[str, ...] = ("select",)


class _NoFresh:
    """Narrowing creates no units; these are never asked for a non-empty array."""

    def rows(self, layer: str, n: int, weight: F32) -> F32:
        return np.zeros((n, *weight.shape[1:]), np.float32)

    def bias(self, layer: str, n: int) -> F32:
        return np.zeros(n, np.float32)

    def cols(self, layer: str, n: int, weight: F32) -> F32:
        return np.zeros((weight.shape[0], n, *weight.shape[2:]), np.float32)


def _keep_indices(keep: Sequence[int], units: int, layer: str) -> list[int]:
    if isinstance(keep, (str, bytes)) or not isinstance(keep, Sequence | np.ndarray):
        raise InvalidMorphismError(f"keep must be a sequence of unit indices, got {keep!r}")
    out: list[int] = []
    for k in keep:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise InvalidMorphismError(f"keep must contain ints, got {k!r}")
        if not 0 <= int(k) < units:
            raise InvalidMorphismError(
                f"unit index {int(k)} out of range for {layer!r} with {units} units"
            )
        out.append(int(k))
    if len(set(out)) != len(out):
        raise InvalidMorphismError(f"keep has repeated indices: {sorted(out)}")
    if not out:
        raise InvalidMorphismError(f"cannot remove all {units} units of {layer!r}")
    return sorted(out)


def _removed_contribution(
    net: Network, group: CoupledGroup, removed: set[int], ug: UnitGraph
) -> bool:
    """Whether a surviving row of any consumer reads a removed unit through a non-zero weight."""
    gone = {group.classes[u] for u in removed}
    for name, cols in group.consumers.items():
        idx = sorted({c for u in removed for c in cols[u]})
        w = np.asarray(net.params[f"{name}.weight"])
        rows = [r for r in range(w.shape[0]) if ug.root[(name, r)] not in gone]
        if idx and np.any(w[rows][:, idx]):
            return True
    return False


def narrow(
    net: Network,
    layer: str,
    keep: Sequence[int],
    method: NarrowMethod = "select",
    *,
    calibration: Calibration | None = None,
) -> tuple[Network, EditRecord]:
    """Keeps only the units ``keep`` of ``layer``, removing the others everywhere they reach.

    A removed unit disappears with its whole coupled class: the rows (and biases) of every
    coupled producer, the batch-norm entries of every position carrying it, and the input
    columns (dense, ``H·W`` per channel after flatten) or input channels (conv) of every
    consumer, at every concat offset. Kept units keep their order; optimizer moments of removed
    entries are dropped.

    The edit is ``"exact"`` when the weights of every surviving consumer row on the removed
    units are zero (the removed units contribute nothing), ``"approximate"`` otherwise; pass
    ``calibration`` to measure the distortion.

    Args:
        net: The network (not modified).
        layer: Name of a dense or conv layer (or a merge/pass-through node).
        keep: Indices of the units to keep (distinct, in range, at least one).
        method: ``"select"``: keep exactly the units ``keep``.
        calibration: Optional ``(X, y)`` to measure the distortion.

    Returns:
        The narrowed network and its :class:`EditRecord`.

    Raises:
        InvalidMorphismError: See :func:`~neuroplast.morph.deps.coupled_group`; also bad
            indices, removing every unit, or emptying a coupled producer.

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(3, [5], 2), seed=0)
        >>> small, rec = narrow(net, "dense_0", keep=[0, 2, 4])
        >>> small.spec.widths["dense_0"], rec.contract
        (3, 'approximate')
    """
    if method not in NARROW_METHODS:
        raise ConfigError(f"unknown narrow method {method!r}; expected one of {NARROW_METHODS}")
    ug = unit_graph(net.spec)
    group = coupled_group(net.spec, layer, ug)
    kept = _keep_indices(keep, group.units, layer)
    removed = set(range(group.units)) - set(kept)
    gone = {group.classes[u] for u in removed}
    plans: dict[str, list[int | None]] = {}
    for p in group.producers:
        rows = [r for r in range(net.spec.widths[p]) if ug.root[(p, r)] not in gone]
        if not rows:
            raise InvalidMorphismError(
                f"removing these units of {layer!r} would leave coupled layer {p!r} empty"
            )
        if len(rows) < net.spec.widths[p]:
            plans[p] = list(rows)
    out = apply_plan(net, plans, _NoFresh()) if removed else net.copy()
    if _removed_contribution(net, group, removed, ug):
        contract: Literal["exact", "approximate"] = "approximate"
        conditions = "removed units feed consumers through non-zero weights"
    else:
        contract, conditions = "exact", "removed units have zero outgoing weights; any activation"
    args: dict[str, Any] = {"layer": layer, "keep": kept, "method": method}
    dist = None if calibration is None else measure(net, out, calibration)
    return out, EditRecord("narrow", args, contract, conditions, dist)
