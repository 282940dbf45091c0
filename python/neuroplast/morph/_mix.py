"""Linear unit mixing: replace a coupled group's ``n`` units by ``k`` linear combinations of them.

A :class:`Mix` is a banded ``k × n`` matrix ``M``: new unit ``j`` is ``Σ_t coef[j, t] · old unit
idx[j, t]``. Applied to a coupled group (see :func:`~neuroplast.morph.deps.coupled_group`):

* every producer's rows (and bias entries) become ``M · rows`` (``W' = M·W``, ``b' = M·b``);
* every consumer's input columns become ``cols · Mᵀ`` (``W_next' = W_next·Mᵀ``), at every
  position carrying a unit (each flattened spatial column, each concat offset);
* batch-norm entries of the group are mixed like rows (a convex combination when ``M``'s rows
  are non-negative and sum to one, as for the quasi-identity).

This is a *banded gather*: the quasi-identity has ``w = 2`` entries per row, a truncated SVD
``w = n``. Mixing is done in place on the unedited spec (new unit ``j`` is written at the
positions of old unit ``j``), then units ``0..k-1`` are kept by the ordinary removal plan, so
residual ``add`` nodes, ``concat`` offsets and flatten columns work exactly as for every other edit.

Optimizer moments are mapped by the same linear map as the parameters they belong to:
first moments (``exp_avg``, ``momentum_buffer``) by ``M``, second moments (``exp_avg_sq``) by the
elementwise square of ``M`` (the variance of a weighted sum of independent entries), which keeps
them non-negative. This is a consistent, documented convention, not an exact identity: Adam's
moments are not linear in a reparametrization of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from neuroplast.errors import InvalidMorphismError
from neuroplast.morph.deps import CoupledGroup
from neuroplast.network import Network
from neuroplast.optim import OptimizerState

__all__ = ["Mix", "check_mixable", "mix_group"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Mix:
    """A banded ``k × n`` mixing matrix: new unit ``j`` = ``Σ_t coef[j, t] · old[idx[j, t]]``.

    Attributes:
        idx: Source unit indices, shape ``(k, w)``.
        coef: Coefficients, shape ``(k, w)`` (float64).
    """

    idx: I64
    coef: F64

    @property
    def k(self) -> int:
        """Number of new units."""
        return int(self.idx.shape[0])

    def dense(self, n: int) -> F64:
        """The full ``k × n`` matrix (for tests and small layers)."""
        m = np.zeros((self.k, n))
        for j in range(self.k):
            np.add.at(m[j], self.idx[j], self.coef[j])
        return m


def _table(positions: tuple[tuple[int, ...], ...], node: str) -> I64:
    lengths = {len(p) for p in positions}
    if len(lengths) != 1 or 0 in lengths:
        raise InvalidMorphismError(
            f"mixing units needs every unit of the group at the same number of positions of "
            f"{node!r} (a concat of different layers, or units not reaching {node!r}, cannot be "
            "mixed linearly); use method='select'"
        )
    return np.array(positions, dtype=np.int64)


def _mix_axis(a: F64, axis: int, table: I64, mix: Mix, power: int) -> F64:
    """``a`` with the positions ``table[j]`` (``j < k``) replaced by mixed positions."""
    k, w = mix.idx.shape
    t = table.shape[1]
    src = table[mix.idx]  # (k, w, t)
    moved = np.moveaxis(a, axis, 0)
    vals = moved[src.reshape(-1)].reshape(k, w, t, *moved.shape[1:])
    coef = (mix.coef**power).reshape(k, w, *([1] * (vals.ndim - 2)))
    out = moved.copy()
    out[table[:k].reshape(-1)] = (coef * vals).sum(axis=1).reshape(k * t, *moved.shape[1:])
    return np.moveaxis(out, 0, axis)


def check_mixable(group: CoupledGroup) -> None:
    """Raises :class:`InvalidMorphismError` unless ``group``'s units can be mixed linearly."""
    for p in group.producers:
        if _table(group.members[p], p).shape[1] != 1:  # pragma: no cover - one row per atom
            raise InvalidMorphismError(f"producer {p!r} carries a unit twice")
    for bn in group.norms:
        _table(group.members[bn], bn)
    for c, cols in group.consumers.items():
        _table(cols, c)


def mix_group(net: Network, group: CoupledGroup, mix: Mix) -> Network:
    """The network (same spec) whose units ``0..k-1`` of ``group`` are mixed by ``mix``.

    Units ``k..n-1`` keep their values; the caller removes them next.

    Raises:
        InvalidMorphismError: A producer without exactly one row per unit, or a node carrying
            different numbers of positions per unit.
    """
    params = {k: np.asarray(v, dtype=np.float64) for k, v in net.params.items()}
    state = net.optimizer_state
    slots = (
        {k: {s: np.asarray(m, np.float64) for s, m in v.items()} for k, v in state.slots.items()}
        if state is not None
        else None
    )

    def edit(name: str, axis: int, table: I64) -> None:
        params[name] = _mix_axis(params[name], axis, table, mix, 1)
        if slots is not None:
            for slot, m in slots[name].items():
                power = 2 if slot == "exp_avg_sq" else 1
                slots[name][slot] = _mix_axis(m, axis, table, mix, power)

    check_mixable(group)
    for p in group.producers:
        table = _table(group.members[p], p)
        edit(f"{p}.weight", 0, table)
        if f"{p}.bias" in params:
            edit(f"{p}.bias", 0, table)
    for bn in group.norms:
        table = _table(group.members[bn], bn)
        for part in ("weight", "bias", "running_mean", "running_var"):
            if f"{bn}.{part}" in params:
                edit(f"{bn}.{part}", 0, table)
    for c, cols in group.consumers.items():
        edit(f"{c}.weight", 1, _table(cols, c))
    out = {k: v.astype(np.float32) for k, v in params.items()}
    new_state = None
    if state is not None and slots is not None:
        cast = {k: {s: m.astype(np.float32) for s, m in v.items()} for k, v in slots.items()}
        new_state = OptimizerState(state.kind, state.step, cast)
    return Network(net.spec, out, new_state)
