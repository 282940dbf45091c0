"""Point groups of the square: exact tables and actions on images and group feature maps.

The candidate groups of equivariance-aware search (Maile 2023, "Dynamic Architectural
Optimization of Artificial Neural Networks", ch. 4) are the subgroups ``C1, D1, C2, D2, C4, D4``
of the dihedral group of the square. Every element is ``r^k m^f``: first the mirror ``m``
(``numpy.fliplr``) if ``f``, then ``k`` quarter turns ``r`` (``numpy.rot90``). The reflection of
``D1`` is ``m``, so ``C1 ≤ D1 ≤ D2 ≤ D4`` and ``C1 ≤ C2 ≤ C4 ≤ D4``, ``C2 ≤ D2``; ``C4`` and
``D2``, ``C2`` and ``D1`` are incomparable. The tables come from the Rust core (the same tables
the engine expands kernels with).

A ``G``-feature map with ``C`` channels is an array of ``C·|G|`` channels; channel ``c·|G| + i``
holds channel ``c`` at element ``i`` of :attr:`GroupTable.elements`. A G-CNN maps a transformed
input ``T_u x`` to the feature map whose channel ``(c, g)`` is ``T_u`` of the old channel
``(c, u⁻¹g)`` (:func:`transform_features`).

Example:
    >>> t = table("C4")
    >>> t.order, t.elements[1], t.cayley[1][3]
    (4, (1, False), 0)
    >>> maximal_subgroups("D4")
    ('C4', 'D2')
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast.layers.group import GROUP_ORDERS, GROUPS, check_group

__all__ = [
    "GROUPS",
    "GROUP_ORDERS",
    "LATTICE_EDGES",
    "GroupTable",
    "is_subgroup",
    "maximal_subgroups",
    "table",
    "transform_features",
    "transform_images",
]


@dataclass(frozen=True)
class GroupTable:
    """The exact tables of one point group.

    Attributes:
        name: ``"C1"`` … ``"D4"``.
        elements: ``(quarter turns k, mirrored f)`` of every element, identity first.
        cayley: ``cayley[i][j]`` is the index of ``elements[i]·elements[j]``.
        inverses: Index of every element's inverse.
        maximal: The maximal subgroups among the candidates (the relaxation lattice's edges).
    """

    name: str
    elements: tuple[tuple[int, bool], ...]
    cayley: tuple[tuple[int, ...], ...]
    inverses: tuple[int, ...]
    maximal: tuple[str, ...]

    @property
    def order(self) -> int:
        """Number of elements ``|G|``."""
        return len(self.elements)

    def grid_permutation(self, element: int, k: int) -> npt.NDArray[np.int64]:
        """The action of ``elements[element]`` on a ``k × k`` grid as a gather of flat indices.

        ``A_flat[perm]`` equals ``np.rot90(np.fliplr(A) if f else A, k)`` flattened.
        """
        _, _, _, perms, _ = _core.group_table(self.name, k)
        return np.asarray(perms[element], dtype=np.int64)


def table(group: str) -> GroupTable:
    """The :class:`GroupTable` of ``group`` (``"C1"`` … ``"D4"``, any case).

    Raises:
        SpecError: An unknown group.
    """
    return _table(check_group("groups", "group", group))


@functools.cache
def _table(name: str) -> GroupTable:
    elements, cayley, inverses, _, maximal = _core.group_table(name, 1)
    n = len(elements)
    return GroupTable(
        name,
        tuple((int(k), bool(f)) for k, f in elements),
        tuple(tuple(cayley[i * n : (i + 1) * n]) for i in range(n)),
        tuple(inverses),
        tuple(maximal),
    )


def is_subgroup(a: str, b: str) -> bool:
    """Whether group ``a`` is a subgroup of group ``b``.

    Example:
        >>> is_subgroup("C2", "D2"), is_subgroup("C4", "D2")
        (True, False)
    """
    return set(table(a).elements) <= set(table(b).elements)


def maximal_subgroups(group: str) -> tuple[str, ...]:
    """The groups one relaxation step below ``group`` (edges of the lattice)."""
    return table(group).maximal


#: Every edge ``(G, G')`` of the relaxation lattice.
LATTICE_EDGES: tuple[tuple[str, str], ...] = tuple(
    (g, h) for g in reversed(GROUPS) for h in maximal_subgroups(g)
)


def transform_images(x: npt.ArrayLike, group: str, element: int) -> npt.NDArray[Any]:
    """``T_g x`` for images ``(..., H, W)`` with ``H == W``: mirror (if ``f``), then rotate.

    Example:
        >>> a = np.arange(4.0).reshape(2, 2)
        >>> transform_images(a, "C4", 1).tolist()
        [[1.0, 3.0], [0.0, 2.0]]
    """
    arr = np.asarray(x)
    k, f = table(group).elements[element]
    if f:
        arr = arr[..., ::-1]
    return np.ascontiguousarray(np.rot90(arr, k, axes=(-2, -1)))


def transform_features(f: npt.ArrayLike, group: str, element: int) -> npt.NDArray[Any]:
    """How a ``G``-feature map ``(n, C·|G|, H, W)`` transforms when the input is ``T_u x``.

    Channel ``(c, g)`` of the result is ``T_u`` applied to channel ``(c, u⁻¹g)`` of ``f``.
    """
    t = table(group)
    arr = np.asarray(f)
    n, ch = arr.shape[0], arr.shape[1]
    grouped = arr.reshape(n, ch // t.order, t.order, *arr.shape[2:])
    inv = t.inverses[element]
    src = [t.cayley[inv][g] for g in range(t.order)]
    moved = grouped[:, :, src]
    return transform_images(moved.reshape(arr.shape), group, element)
