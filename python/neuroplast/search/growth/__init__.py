"""Dynamic growth controllers (Maile 2023): Neurogenesis (Algorithm 4) and DYNO (Algorithm 5).

Both train in chunks of gradient steps, one engine call per chunk
(:class:`~neuroplast.search.growth._steps.StepTrainer`), and change the widths of hidden
layers between chunks with :mod:`neuroplast.growth`'s triggers and initializations. Both follow
the one controller contract: ``Neurogenesis(NeurogenesisConfig.fast()).run(net, data, ...)``
and ``DYNO(DYNOConfig.paper()).run(net, data, ...)`` return a :class:`GrowthResult`.
"""

from __future__ import annotations

from neuroplast.search.growth._common import growable_layers
from neuroplast.search.growth._steps import Chunk, StepTrainer
from neuroplast.search.growth.config import (
    SCHEDULES,
    STRATEGIES,
    DYNOConfig,
    NeurogenesisConfig,
    Schedule,
)
from neuroplast.search.growth.dyno import DYNO
from neuroplast.search.growth.neurogenesis import Neurogenesis
from neuroplast.search.growth.result import GrowthResult

__all__ = [
    "DYNO",
    "SCHEDULES",
    "STRATEGIES",
    "Chunk",
    "DYNOConfig",
    "GrowthResult",
    "Neurogenesis",
    "NeurogenesisConfig",
    "Schedule",
    "StepTrainer",
    "growable_layers",
]
