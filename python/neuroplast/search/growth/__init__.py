"""Dynamic growth controllers (Maile 2023): Neurogenesis (Algorithm 4) and DYNO (Algorithm 5).

Both train in chunks of gradient steps, one engine call per chunk
(:class:`~neuroplast.search.growth._steps.StepTrainer`), and change the widths of hidden
layers between chunks with :mod:`neuroplast.growth`'s triggers and initializations.
"""

from __future__ import annotations

from neuroplast.search.growth._common import GrowthResult, growable_layers
from neuroplast.search.growth._steps import Chunk, StepTrainer
from neuroplast.search.growth.dyno import DYNO
from neuroplast.search.growth.neurogenesis import SCHEDULES, STRATEGIES, Neurogenesis, Schedule

__all__ = [
    "SCHEDULES",
    "STRATEGIES",
    "DYNO",
    "Chunk",
    "GrowthResult",
    "Neurogenesis",
    "Schedule",
    "StepTrainer",
    "growable_layers",
]
