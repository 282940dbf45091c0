"""Widen: add units to a layer (and to everything coupled to it), with a declared contract."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast import _linalg
from neuroplast._arrays import check_int
from neuroplast.activations import ZERO_AT_ZERO
from neuroplast.errors import ConfigError, InvalidMorphismError, ShapeError
from neuroplast.limits import check_count
from neuroplast.morph._apply import apply_plan
from neuroplast.morph.deps import Atom, CoupledGroup, UnitGraph, coupled_group, unit_graph
from neuroplast.morph.record import Calibration, EditRecord, measure
from neuroplast.network import Network

__all__ = ["WIDEN_METHODS", "ZERO_PRESERVING", "WidenMethod", "widen"]

F32 = npt.NDArray[np.float32]
WidenMethod = Literal["net2wider", "zero_fanout", "zero_fanin", "random", "orthogonal", "given"]
#: Methods accepted by :func:`widen`.
WIDEN_METHODS: tuple[str, ...] = (
    "net2wider",
    "zero_fanout",
    "zero_fanin",
    "random",
    "orthogonal",
    "given",
)
#: Activations with ``f(0) = 0`` (a unit with zero fan-in then outputs exactly 0); an alias of
#: :data:`neuroplast.activations.ZERO_AT_ZERO`, kept for existing imports.
ZERO_PRESERVING = ZERO_AT_ZERO


def _rms_row_norm(w: F32) -> float:
    m = w.reshape(w.shape[0], -1).astype(np.float64)
    fan = m.shape[1]
    norm = float(np.sqrt(np.mean(np.sum(m * m, axis=1)))) if m.size else 0.0
    return norm if norm > 0 else 1.0 / np.sqrt(fan)


class _Init:
    """Fresh-unit values for one widen call; draws in spec order from one seeded generator."""

    def __init__(
        self, method: str, layer: str, seed: int, weights: Mapping[str, Any] | None
    ) -> None:
        self.method, self.layer, self.weights = method, layer, weights or {}
        self.rng = np.random.default_rng(seed)
        self.nonzero_rows = False
        self.nonzero_cols = False

    def _given(self, key: str, shape: tuple[int, ...], what: str) -> F32 | None:
        value = self.weights.get(key)
        if value is None:
            return None
        arr = np.asarray(value, dtype=np.float32)
        if arr.shape != shape:
            raise ShapeError(f"weights[{what!r}] has shape {arr.shape}, expected {shape}")
        return arr

    def rows(self, layer: str, n: int, weight: F32) -> F32:
        shape = (n, *weight.shape[1:])
        out: F32 | None
        if self.method in ("zero_fanin", "net2wider") or (
            self.method == "given" and layer != self.layer
        ):
            out = None
        elif self.method == "given":
            out = self._given("incoming", shape, "incoming")
        elif self.method == "orthogonal" and layer == self.layer:
            out = _orthogonal_rows(weight, n, self.rng)
        else:
            g = self.rng.standard_normal((n, int(np.prod(shape[1:], dtype=np.int64))))
            g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
            out = (g * _rms_row_norm(weight)).reshape(shape).astype(np.float32)
        result = np.zeros(shape, np.float32) if out is None else out
        self.nonzero_rows |= bool(np.any(result))
        return result

    def bias(self, layer: str, n: int) -> F32:
        b = None
        if self.method == "given" and layer == self.layer:
            b = self._given("bias", (n,), "bias")
        result = np.zeros(n, np.float32) if b is None else b
        self.nonzero_rows |= bool(np.any(result))
        return result

    def cols(self, layer: str, n: int, weight: F32) -> F32:
        shape = (weight.shape[0], n, *weight.shape[2:])
        out: F32 | None = None
        if self.method in ("zero_fanin", "random"):
            std = float(np.sqrt(np.mean(weight.astype(np.float64) ** 2))) if weight.size else 0.0
            std = std if std > 0 else 1.0 / np.sqrt(max(1, int(np.prod(weight.shape[1:]))))
            out = (self.rng.standard_normal(shape) * std).astype(np.float32)
        elif self.method == "given":
            outgoing = self.weights.get("outgoing") or {}
            if layer in outgoing:
                out = np.asarray(outgoing[layer], dtype=np.float32)
                if out.shape != shape:
                    raise ShapeError(
                        f"weights['outgoing'][{layer!r}] has shape {out.shape}, expected {shape}"
                    )
        result = np.zeros(shape, np.float32) if out is None else out
        self.nonzero_cols |= bool(np.any(result))
        return result


def _orthogonal_rows(weight: F32, n: int, rng: np.random.Generator) -> F32:
    """``n`` mutually orthogonal rows orthogonal to every row of ``weight`` (flattened)."""
    m = weight.reshape(weight.shape[0], -1).astype(np.float64)
    # The Rust SVD (not LAPACK): the edit's bits do not depend on the BLAS/LAPACK build.
    _, s, vt = _linalg.svd(m, full_matrices=True)
    tol = max(m.shape) * np.finfo(np.float32).eps * (s[0] if s.size else 0.0)
    rank = int(np.sum(s > tol))
    free = vt[rank:]
    if free.shape[0] < n:
        raise InvalidMorphismError(
            f"orthogonal widening: only {free.shape[0]} directions are orthogonal to the "
            f"existing {weight.shape[0]} kernels (fan-in {m.shape[1]}), {n} requested"
        )
    q, _, _ = _linalg.svd(rng.standard_normal((free.shape[0], n)), full_matrices=False)
    rows: F32 = ((q.T @ free) * _rms_row_norm(weight)).astype(np.float32)
    return rows.reshape((n, *weight.shape[1:]))


def _class_rows(ug: UnitGraph, group: CoupledGroup) -> dict[Atom, dict[str, list[int]]]:
    """Per group class, the rows of each producer in it (sorted)."""
    wanted = set(group.classes)
    out: dict[Atom, dict[str, list[int]]] = {c: defaultdict(list) for c in group.classes}
    for atom, root in sorted(ug.root.items()):
        if root in wanted and atom[0] != "input":
            out[root][atom[0]].append(atom[1])
    return out


def _plans(
    ug: UnitGraph, group: CoupledGroup, sources: list[int | None]
) -> dict[str, list[int | None]]:
    """New rows of every producer: each new unit right after the atoms of the last unit's class.

    Inserting next to the template class keeps every ``add`` aligned; for the layer itself the
    new units are appended at the end.
    """
    rows = _class_rows(ug, group)
    template = rows[group.classes[-1]]
    plans: dict[str, list[int | None]] = {}
    for p, t_rows in template.items():
        plan: list[int | None] = []
        for r in range(ug.spec.widths[p]):
            plan.append(r)
            if r in t_rows:
                k = t_rows.index(r)
                for u in sources:
                    plan.append(None if u is None else rows[group.classes[u]][p][k])
        plans[p] = plan
    return plans


def _net2wider_sources(
    ug: UnitGraph, group: CoupledGroup, n_new: int, seed: int
) -> list[int | None]:
    rows = _class_rows(ug, group)
    shape = {p: len(r) for p, r in rows[group.classes[-1]].items()}
    eligible = [
        u for u, c in enumerate(group.classes) if {p: len(r) for p, r in rows[c].items()} == shape
    ]
    picks = np.random.default_rng(seed).integers(0, len(eligible), size=n_new)
    return [eligible[int(i)] for i in picks]


def _contract(
    net: Network, group: CoupledGroup, method: str, init: _Init
) -> tuple[Literal["exact", "approximate"], str]:
    if method == "net2wider":
        return "exact", (
            "Net2Wider split: each copy duplicates a unit's incoming weights (in every coupled "
            "producer) and the outgoing weights of the unit and its copies are divided by the "
            "replication count; exact for any activation"
        )
    if not init.nonzero_cols:
        return "exact", "new units have zero fan-out (all outgoing weights are 0); any activation"
    acts = {
        getattr(net.spec.node(m), "activation", "identity") for m in group.members
    } - ZERO_AT_ZERO
    if not init.nonzero_rows and not acts:
        return "exact", (
            "new units have zero fan-in and zero bias, and every activation on their path "
            "satisfies f(0) = 0, so they output 0"
        )
    why = f"activations with f(0) != 0 on the path: {sorted(acts)}" if acts else ""
    return "approximate", (
        "new units have non-zero incoming and outgoing weights" if init.nonzero_rows else why
    )


def widen(
    net: Network,
    layer: str,
    n_new: int,
    method: WidenMethod = "net2wider",
    *,
    seed: int = 0,
    weights: Mapping[str, Any] | None = None,
    calibration: Calibration | None = None,
) -> tuple[Network, EditRecord]:
    """Adds ``n_new`` units to ``layer`` and to every layer coupled to it.

    New units of ``layer`` are appended after its existing units (indices ``n .. n+n_new-1``);
    coupled producers (across ``add`` nodes) get the matching units next to the ones aligned
    with ``layer``'s last unit, and every consumer (through concat, flatten, pooling, batch
    norm) gets matching input columns. Optimizer moments follow (see
    :mod:`neuroplast.morph._apply`: fresh units zero, copies scaled like their gradients).

    Args:
        net: The network (not modified).
        layer: Name of a dense or conv layer (or a merge/pass-through node).
        n_new: Number of units to add (>= 1).
        method: ``"net2wider"`` (copies of seeded random units, outgoing weights divided by
            the replication count: exact for any activation); ``"zero_fanout"`` (random
            incoming, zero outgoing: exact); ``"zero_fanin"`` (zero incoming and bias,
            random outgoing: exact iff ``f(0) = 0`` on the units' path); ``"random"``
            (incoming rows scaled to the layer's RMS row norm, outgoing to the consumer's
            RMS weight: approximate); ``"orthogonal"`` (incoming rows orthonormal to the
            existing kernels, scaled like ``random``; zero outgoing: exact); ``"given"``.
        seed: Seed of every random choice.
        weights: For ``"given"``: ``{"incoming": (n_new, *kernel_row), "bias": (n_new,),
            "outgoing": {consumer: (consumer_rows, new_columns, ...)}}``, each optional
            (zeros where omitted; coupled producers get zero rows), and ``"split": {unit:
            kernel_row}``: existing units whose fan-in gets the row added and whose fan-out is
            halved (Firefly's splits; the edit is then approximate).
        calibration: Optional ``X`` or ``(X, y)`` to measure the distortion (accuracies only
            with labels ``y``).

    Returns:
        The widened network and its :class:`EditRecord`.

    Raises:
        InvalidMorphismError: See :func:`~neuroplast.morph.deps.coupled_group`; also
            ``n_new < 1`` or too few orthogonal directions.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(3, [4], 2, activation="tanh"), seed=0)
        >>> wide, rec = widen(net, "dense_0", 3, "net2wider", seed=7)
        >>> X = np.ones((2, 3), np.float32)
        >>> bool(np.allclose(wide.forward(X), net.forward(X), atol=1e-6)), rec.contract
        (True, 'exact')
    """
    if method not in WIDEN_METHODS:
        raise ConfigError(f"unknown widen method {method!r}; expected one of {WIDEN_METHODS}")
    if isinstance(n_new, bool) or not isinstance(n_new, int) or n_new < 1:
        raise InvalidMorphismError(f"n_new must be an int >= 1, got {n_new!r}")
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    ug = unit_graph(net.spec)
    group = coupled_group(net.spec, layer, ug)
    # Refuse sizes beyond the resource policy before building anything of size n_new.
    per_unit = math.prod(net.spec.shapes[layer][1:])
    check_count(
        (group.units + n_new) * per_unit,
        "max_units",
        f"the values per sample of {layer!r} widened by {n_new}",
    )
    init = _Init(method, layer, seed, weights)
    if method == "net2wider":
        sources: list[int | None] = _net2wider_sources(ug, group, n_new, seed)
    else:
        sources = [None] * n_new
    out = apply_plan(net, _plans(ug, group, sources), init)
    contract, conditions = _contract(net, group, method, init)
    split = (weights or {}).get("split") if method == "given" else None
    if split:
        out = _split_existing(out, layer, split)
        contract, conditions = (
            "approximate",
            (
                f"{conditions}; existing units {sorted(int(u) for u in split)} were split (fan-in "
                "plus the given noise, fan-out halved)"
            ),
        )
    args: dict[str, Any] = {"layer": layer, "n_new": n_new, "method": method, "seed": seed}
    if weights is not None:
        args["weights"] = _jsonable(weights)
    dist = None if calibration is None else measure(net, out, calibration)
    return out, EditRecord("widen", args, contract, conditions, dist)


def _split_existing(net: Network, layer: str, split: Mapping[Any, Any]) -> Network:
    """Adds ``split[u]`` to unit ``u``'s fan-in row and halves its fan-out (Firefly splits)."""
    group = coupled_group(net.spec, layer)
    params = {k: np.array(v) for k, v in net.params.items()}
    w = params[f"{layer}.weight"]
    for key, noise in split.items():
        unit = int(key)
        if not 0 <= unit < group.units:
            raise InvalidMorphismError(f"split unit {unit} is not a unit of {layer!r}")
        row = np.asarray(noise, dtype=np.float32)
        if row.size == w[0].size:  # a flattened kernel row is accepted too
            row = row.reshape(w.shape[1:])
        if row.shape != w.shape[1:]:
            raise ShapeError(
                f"split noise of unit {unit} has shape {row.shape}, expected {w.shape[1:]}"
            )
        w[unit] += row
        for c, cols in group.consumers.items():
            params[f"{c}.weight"][:, list(cols[unit])] *= np.float32(0.5)
    return Network(net.spec, params, net.optimizer_state)


def _jsonable(value: Any) -> Any:
    """Arrays as nested lists of Python floats (exact for float32), mappings as dicts."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return np.asarray(value, dtype=np.float32).tolist()
