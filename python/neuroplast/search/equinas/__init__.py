"""EquiNAS: equivariance-aware architecture search (Maile 2023, ch. 4).

How much symmetry should each convolutional layer keep? Both controllers search over the
point groups ``C1, D1, C2, D2, C4, D4`` per layer (:mod:`neuroplast.groups`):

* :class:`EquiNASE` (Algorithm 1): evolutionary hill climbing from a fully equivariant G-CNN
  whose children are single-layer relaxations (:func:`neuroplast.morph.relax`), with Pareto
  selection on validation accuracy and parameter count;
* :class:`EquiNASD` (Algorithm 2): ``[G]``-mixed layers (:class:`~neuroplast.layers.MixedConv`)
  whose architecture weights and kernels are trained alternately, collapsed at the end into a
  standard CNN (:func:`neuroplast.morph.collapse`).
"""

from neuroplast.search.equinas._alternate import AlternatingState, arch_params, fit_alternating
from neuroplast.search.equinas._pareto import pareto_front, select
from neuroplast.search.equinas.differentiable import EquiNASD, EquiNASDConfig, EquiNASDResult
from neuroplast.search.equinas.evolution import (
    EquiNASE,
    EquiNASEConfig,
    EquiNASEResult,
    Individual,
    layer_groups,
)

__all__ = [
    "AlternatingState",
    "EquiNASD",
    "EquiNASDConfig",
    "EquiNASDResult",
    "EquiNASE",
    "EquiNASEConfig",
    "EquiNASEResult",
    "Individual",
    "arch_params",
    "fit_alternating",
    "layer_groups",
    "pareto_front",
    "select",
]
