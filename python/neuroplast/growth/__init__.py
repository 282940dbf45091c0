"""Neurogenesis building blocks (Maile 2023, chs. 6–7): when to grow or prune, and how to grow.

* Triggers (:mod:`neuroplast.growth.triggers`): :class:`ActivationTrigger` (T_act on φ_ED or
  φ_OG, initial or running-maximum baseline), :class:`WeightTrigger` (T_weight),
  :class:`GradientTrigger` (T_grad, fed by :func:`measure_gradient`), and DYNO's
  :class:`PruneGrowTrigger` (eqs. 38–39, moving baseline).
* :class:`ActivationBuffer`: the most recent training inputs, more samples than units.
* Initializations (:mod:`neuroplast.growth.init`): NORTH-Select, -Pre, -Random, -Weight,
  GradMax, Firefly, NeST, each returning the ``weights=`` of ``widen(method="given")``, and
  :func:`grow`, which applies one.

Example (one step of Algorithm 4 for one layer):
    >>> import numpy as np
    >>> from neuroplast import Network, Spec
    >>> net = Network.init(Spec.mlp(8, [4], 2), seed=0)
    >>> X = np.random.default_rng(0).normal(size=(32, 8)).astype(np.float32)
    >>> trig = ActivationTrigger(gamma=0.97, max_width=16)
    >>> from neuroplast.morph import node_activations
    >>> acts = lambda n: node_activations(n, "dense_0", X)
    >>> trig.start("dense_0", trig.measure(acts(net)))
    >>> k = trig("dense_0", 4, trig.measure(acts(net)))
    >>> net, rec = grow(net, "dense_0", k, "north_select", X=X, candidates=16)
    >>> net.spec.widths["dense_0"], rec.contract
    (5, 'exact')
"""

from __future__ import annotations

from neuroplast.growth.buffer import ActivationBuffer
from neuroplast.growth.dyno import PruneGrowTrigger
from neuroplast.growth.init import (
    INITIALIZATIONS,
    AuxiliaryGradient,
    Initialization,
    Weights,
    auxiliary_gradient,
    firefly,
    gradmax,
    grow,
    measure_gradient,
    nest,
    north_pre,
    north_random,
    north_select,
    north_weight,
)
from neuroplast.growth.triggers import (
    ActivationTrigger,
    Baseline,
    GradientMeasurement,
    GradientTrigger,
    Metric,
    Rounding,
    WeightTrigger,
)

__all__ = [
    "INITIALIZATIONS",
    "ActivationBuffer",
    "ActivationTrigger",
    "AuxiliaryGradient",
    "Baseline",
    "GradientMeasurement",
    "GradientTrigger",
    "Initialization",
    "Metric",
    "PruneGrowTrigger",
    "Rounding",
    "WeightTrigger",
    "Weights",
    "auxiliary_gradient",
    "firefly",
    "gradmax",
    "grow",
    "measure_gradient",
    "nest",
    "north_pre",
    "north_random",
    "north_select",
    "north_weight",
]
