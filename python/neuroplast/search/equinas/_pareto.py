"""Selection of EquiNAS_E: the Pareto front, then the most accurate of the rest.

The front is over (validation accuracy ↑, parameters ↓) (Maile 2023, Sec. 4.4, after Elsken et
al. 2019).

"The entire Pareto front is kept, then additional high-accuracy individuals are added if
necessary until the desired parent population size is reached." The thesis leaves open what
happens when the front alone exceeds the population size; here the whole front is kept up to
``cap`` members (the most accurate first), so the population cannot grow without bound.

Example:
    >>> pts = [(0.9, 100), (0.8, 50), (0.85, 120), (0.95, 200), (0.7, 60)]
    >>> pareto_front(pts)
    [0, 1, 3]
    >>> select(pts, size=4)
    [3, 0, 2, 1]
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["pareto_front", "select"]

Point = tuple[float, int]


def _dominates(a: Point, b: Point) -> bool:
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def pareto_front(points: Sequence[Point]) -> list[int]:
    """Indices of the non-dominated ``(accuracy, n_params)`` points, in input order."""
    return [
        i
        for i, p in enumerate(points)
        if not any(_dominates(q, p) for j, q in enumerate(points) if j != i)
    ]


def _by_accuracy(points: Sequence[Point], idx: Sequence[int]) -> list[int]:
    """``idx`` sorted by accuracy (high first), then parameters (few first), then index."""
    return sorted(idx, key=lambda i: (-points[i][0], points[i][1], i))


def select(points: Sequence[Point], size: int, cap: int | None = None) -> list[int]:
    """The new parents, most accurate first.

    The whole front (at most ``cap``, default ``2·size``), then the most accurate others up to
    ``size``.
    """
    cap = 2 * size if cap is None else cap
    front = _by_accuracy(points, pareto_front(points))[:cap]
    rest = _by_accuracy(points, [i for i in range(len(points)) if i not in set(front)])
    chosen = front + rest[: max(0, size - len(front))]
    return _by_accuracy(points, chosen)
