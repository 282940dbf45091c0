"""Differentiable architecture search: DARTS and DARTS-PRIME (Maile 2023, ch. 5).

:class:`DARTS` runs the search on the engine (mixed operations with architecture weights,
α gradients from the same backward pass as the weights', the α/w schedules, proximity and ADMM
regularization, CRB weighting with progressive pruning) and retrains the derived cells;
:class:`DARTSConfig` holds every switch, :data:`VARIANTS` the thesis's ablation rows.
"""

from __future__ import annotations

from neuroplast.search.darts.config import SCHEDULES, VARIANTS, DARTSConfig
from neuroplast.search.darts.controller import DARTS, DARTSResult

__all__ = ["DARTS", "SCHEDULES", "VARIANTS", "DARTSConfig", "DARTSResult"]
