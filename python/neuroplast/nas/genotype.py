"""Discrete cells: the genotype that a search derives and an evaluation network is built from.

A :class:`Genotype` lists, for every intermediate state of the normal and the reduction cell,
its two ``(operation, source)`` inputs; sources ``0`` and ``1`` are the cell's two inputs (the
outputs of the two previous cells), ``j ≥ 2`` is intermediate state ``j − 2``. The cell output
concatenates all intermediate states (DARTS).

:func:`derive` is the projection ``Π_S`` of Maile (2023, eqs. 13–16) applied to trained
architecture tensors: per state the two strongest operations from distinct sources, never
"none" (computed in the Rust core, the same code the search regularizers use).

Example:
    >>> g = Genotype(normal=(("sep_conv_3x3", 0), ("skip_connect", 1)),
    ...              reduce=(("max_pool_3x3", 0), ("max_pool_3x3", 1)))
    >>> g.states, g.skip_share("normal")
    (1, 0.5)
    >>> Genotype.from_dict(g.to_dict()) == g
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast.errors import ConfigError
from neuroplast.nas.ops import OPS

__all__ = ["Genotype", "activate", "derive", "edge_sources", "project"]

Pair = tuple[str, int]


def _check_cell(name: str, cell: Sequence[Pair]) -> tuple[Pair, ...]:
    pairs = tuple((str(op), int(src)) for op, src in cell)
    if not pairs or len(pairs) % 2:
        raise ConfigError(f"{name} cell needs two (operation, source) pairs per state")
    for k, (op, src) in enumerate(pairs):
        state = k // 2
        if op not in OPS:
            raise ConfigError(f"{name} cell: unknown operation {op!r}; choose from {OPS}")
        if not 0 <= src < state + 2:
            raise ConfigError(f"{name} cell: state {state} cannot read source {src}")
    for k in range(0, len(pairs), 2):
        if pairs[k][1] == pairs[k + 1][1]:
            raise ConfigError(f"{name} cell: state {k // 2} reads source {pairs[k][1]} twice")
    return pairs


@dataclass(frozen=True)
class Genotype:
    """The discrete normal and reduction cells (see the module docstring).

    Attributes:
        normal: ``(operation, source)`` pairs, two per state, of the normal cell.
        reduce: The same for the reduction cell (same number of states).
    """

    normal: tuple[Pair, ...]
    reduce: tuple[Pair, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _check_cell("normal", self.normal))
        object.__setattr__(self, "reduce", _check_cell("reduce", self.reduce))
        if len(self.normal) != len(self.reduce):
            raise ConfigError("normal and reduction cells need the same number of states")

    @property
    def states(self) -> int:
        """Intermediate states per cell."""
        return len(self.normal) // 2

    def cell(self, kind: str) -> tuple[Pair, ...]:
        """The pairs of ``"normal"`` or ``"reduce"``."""
        if kind not in ("normal", "reduce"):
            raise ConfigError(f"cell kind must be 'normal' or 'reduce', got {kind!r}")
        return self.normal if kind == "normal" else self.reduce

    def skip_share(self, kind: str = "normal") -> float:
        """Share of ``skip_connect`` among the operations of a cell (skip collapse: 1.0)."""
        ops = [op for op, _ in self.cell(kind)]
        return ops.count("skip_connect") / len(ops)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {"normal": [list(p) for p in self.normal], "reduce": [list(p) for p in self.reduce]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Genotype:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(tuple(map(tuple, d["normal"])), tuple(map(tuple, d["reduce"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"malformed genotype {d!r}: {exc}") from exc

    def __str__(self) -> str:
        def fmt(cell: tuple[Pair, ...]) -> str:
            return " | ".join(
                f"{a[0]}←{a[1]}, {b[0]}←{b[1]}" for a, b in zip(cell[::2], cell[1::2], strict=True)
            )

        return f"normal: {fmt(self.normal)}\nreduce: {fmt(self.reduce)}"


F32 = npt.NDArray[np.float32]


def edge_sources(states: int) -> list[tuple[int, int]]:
    """``(state, source)`` of every row of a cell's architecture tensor, in row order."""
    return [(i, j) for i in range(states) for j in range(i + 2)]


def activate(alpha: npt.ArrayLike, weighting: str = "softmax") -> F32:
    """``a(α)`` row by row: softmax per edge or the CRB clip ``min(max(α, 0), 1)``."""
    a = np.ascontiguousarray(alpha, dtype=np.float32)
    return _core.arch_weights(np.atleast_2d(a), weighting).reshape(a.shape)


def project(
    alpha: npt.ArrayLike,
    *,
    none: bool = True,
    weighting: str = "softmax",
    pruned: npt.ArrayLike | None = None,
) -> F32:
    """``Π_S(a(α))`` as a 0/1 matrix of the shape of ``alpha`` (eqs. 14–16 hold for any input).

    Operations rank by ``(not pruned, a(α), α)``; per state the two edges whose best operation
    ranks highest are kept. Ties go to the lower source and the lower column.

    Example:
        >>> alpha = np.zeros((2, 3), np.float32)  # one state, two edges, "none" + two ops
        >>> alpha[0, 2] = alpha[1, 1] = 1.0
        >>> project(alpha).tolist()
        [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    a = np.ascontiguousarray(alpha, dtype=np.float32)
    p = None if pruned is None else np.ascontiguousarray(pruned, dtype=np.float32)
    return _core.arch_project(a, none, weighting, p)


def derive(
    alpha_normal: npt.ArrayLike,
    alpha_reduce: npt.ArrayLike,
    *,
    ops: Sequence[str] = OPS,
    none: bool = True,
    weighting: str = "softmax",
    pruned: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> Genotype:
    """The genotype ``Π_S`` selects from trained architecture tensors.

    Args:
        alpha_normal: Architecture tensor of the normal cell, ``(edges, len(ops) + none)``.
        alpha_reduce: The reduction cell's.
        ops: The operations of the columns (after "none").
        none: Whether column 0 is "none".
        weighting: ``"softmax"`` or ``"crb"``.
        pruned: Pruned operations of both tensors (CRB), same shapes.
    """
    cells = []
    for k, alpha in enumerate((alpha_normal, alpha_reduce)):
        a = np.asarray(alpha, np.float32)
        z = project(a, none=none, weighting=weighting, pruned=None if pruned is None else pruned[k])
        pairs = []
        for row, (_, src) in enumerate(edge_sources(_states(a.shape[0]))):
            for col in np.flatnonzero(z[row]):
                pairs.append((ops[int(col) - int(none)], src))
        cells.append(tuple(pairs))
    return Genotype(cells[0], cells[1])


def _states(rows: int) -> int:
    for n in range(1, rows + 1):
        if n * (n + 3) // 2 == rows:
            return n
    raise ConfigError(f"{rows} rows are not the n(n+3)/2 edges of a cell")
