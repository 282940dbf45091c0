"""ASNG: probabilistic structure search with a complexity penalty (Saito and Shirakawa 2019).

* :mod:`~neuroplast.search.asng.encoding`: the bits (hidden units or connections) and their
  complexity coefficients.
* :mod:`~neuroplast.search.asng.engine`: sampling, the ``θ`` update and training on sampled
  structures, in the Rust engine.
* :mod:`~neuroplast.search.asng.removal`: physical removal of the switched-off bits.
* :mod:`~neuroplast.search.asng.controller`: the :class:`ASNG` controller.
"""

from __future__ import annotations

from neuroplast.search.asng.config import COSTS, ASNGConfig
from neuroplast.search.asng.controller import ASNG, ASNGResult
from neuroplast.search.asng.encoding import SELECTIONS, Bit, Encoding, encode
from neuroplast.search.asng.engine import (
    Settings,
    averaged_gradients,
    deterministic,
    masked_forward,
    sample,
    train,
    update,
)
from neuroplast.search.asng.removal import remove, selected

__all__ = [
    "ASNG",
    "COSTS",
    "SELECTIONS",
    "ASNGConfig",
    "ASNGResult",
    "Bit",
    "Encoding",
    "Settings",
    "averaged_gradients",
    "deterministic",
    "encode",
    "masked_forward",
    "remove",
    "sample",
    "selected",
    "train",
    "update",
]
