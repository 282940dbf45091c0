"""The one seed derivation of neuroplast: independent child seeds from a run's seed.

Every controller and helper that needs several random streams derives them from the user's
``seed`` and a tuple of integer keys (a generation, a branch, a purpose), so that runs are
reproducible, resumable from any checkpoint, and independent of the order in which the
streams are first used.

Example:
    >>> derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(0, 2)
    True
"""

from __future__ import annotations

import numpy as np

__all__ = ["derive_seed"]


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed derived from ``seed`` and ``keys`` by NumPy's ``SeedSequence``.

    Args:
        seed: The run's seed (``>= 0``).
        *keys: Non-negative integers naming the stream (e.g. generation, branch, purpose).

    Returns:
        An ``int`` in ``[0, 2**63)``, usable as a seed by every neuroplast API.
    """
    # 63 bits: fits a signed 64-bit integer and every seed argument of the engine.
    state = np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))
