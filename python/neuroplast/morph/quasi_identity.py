"""Quasi-identity: the identity matrix bilinearly resized from ``n × n`` to ``k × n``.

The neuron-removal operator of Świdorski and Jastrzębska's simulation-based structural optimization.
Convention: *half-pixel* bilinear sampling (OpenCV ``INTER_LINEAR``, which is what the authors'
reference implementation calls), resizing only the row axis. New row ``j`` samples the identity at
``s_j = (j + ½)·n/k − ½``, clamped to ``[0, n − 1]``, and interpolates the rows ``⌊s_j⌋`` and
``⌊s_j⌋ + 1`` with weights ``1 − f`` and ``f`` (``f = s_j − ⌊s_j⌋``). Hence:

* ``Q`` is banded with at most two non-zeros per row, each row non-negative and summing to one
  (a convex combination of neighbouring units);
* ``k = n`` gives ``s_j = j`` exactly, i.e. ``Q = I``;
* ``n → n/2`` gives ``½·(u_{2j} + u_{2j+1})``, the symmetric pairwise average; align-corners
  sampling (``s_j = j·(n − 1)/(k − 1)``) would instead keep both end units unchanged and
  average asymmetrically, which is not what the paper's implementation does.

``s_j`` is computed in exact integer arithmetic (``((2j + 1)·n − k) / 2k``), so ``Q`` is the
same on every platform.

Example:
    >>> quasi_identity(4, 2).dense(4)
    array([[0.5, 0.5, 0. , 0. ],
           [0. , 0. , 0.5, 0.5]])
"""

from __future__ import annotations

import numpy as np

from neuroplast.morph._mix import Mix

__all__ = ["quasi_identity"]


def quasi_identity(n: int, k: int) -> Mix:
    """The ``k × n`` quasi-identity (``1 ≤ k ≤ n``) as a banded :class:`Mix` of width 2."""
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    idx = np.zeros((k, 2), dtype=np.int64)
    coef = np.zeros((k, 2), dtype=np.float64)
    den = 2 * k
    for j in range(k):
        num = (2 * j + 1) * n - k
        if num <= 0:
            i0, frac = 0, 0.0
        else:
            i0 = num // den
            frac = (num - i0 * den) / den
        if i0 >= n - 1:
            i0, frac = n - 1, 0.0
        idx[j] = (i0, min(i0 + 1, n - 1))
        coef[j] = (1.0 - frac, frac)
    return Mix(idx, coef)
