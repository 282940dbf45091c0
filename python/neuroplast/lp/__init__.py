"""Linear programming and seed 004's LP structural optimization of perceptron networks.

* :func:`linprog`: a SciPy-compatible LP solver on the Rust core (bounded two-phase simplex,
  structure-exploiting interior point with crossover to a vertex).
* :func:`optimize_perceptron`: one layer of perceptrons by the L1 LP of seed 004 (classification
  error removed first through big-M artificials, then Σ|w| + Σ|u| minimized).
* :func:`prune_hidden_lp`: the two-phase hidden-unit pruning of a trained two-layer network;
  :func:`optimize_multilevel`: the multi-level form with a strictly upper-triangular link
  matrix.
* :class:`LPPrune` (:mod:`neuroplast.lp.controller`): the pruning as a search controller,
  ``LPPrune(LPPruneConfig.paper()).run(net, data)``, like every controller of
  :mod:`neuroplast.search`.
"""

from typing import TYPE_CHECKING, Any

from neuroplast.lp._checks import labels_to_targets
from neuroplast.lp._linprog import LinprogResult, linprog
from neuroplast.lp.examples import xor_example
from neuroplast.lp.networks import (
    PERCEPTRON_ACTIVATIONS,
    PerceptronDAG,
    PerceptronNetwork,
    saturate,
)
from neuroplast.lp.perceptron import (
    DEFAULT_BIG_M,
    PerceptronResult,
    build_perceptron_lp,
    optimize_perceptron,
)
from neuroplast.lp.persist import load_perceptron, save_perceptron
from neuroplast.lp.prune import LPPruneResult, PruneReport, optimize_multilevel, prune_hidden_lp

if TYPE_CHECKING:
    from neuroplast.lp.controller import LPPrune, LPPruneConfig, LPPruneRunResult

__all__ = [
    "DEFAULT_BIG_M",
    "LPPrune",
    "LPPruneConfig",
    "LPPruneRunResult",
    "PERCEPTRON_ACTIVATIONS",
    "LPPruneResult",
    "LinprogResult",
    "PerceptronDAG",
    "PerceptronNetwork",
    "PerceptronResult",
    "PruneReport",
    "build_perceptron_lp",
    "labels_to_targets",
    "linprog",
    "load_perceptron",
    "optimize_multilevel",
    "optimize_perceptron",
    "prune_hidden_lp",
    "save_perceptron",
    "saturate",
    "xor_example",
]


#: The controller's names: loaded on first access, because the controller builds on
#: neuroplast.search, which must not load while ``import neuroplast`` runs (circular import).
_CONTROLLER = ("LPPrune", "LPPruneConfig", "LPPruneRunResult")


def __getattr__(name: str) -> Any:
    if name in _CONTROLLER:
        from neuroplast.lp import controller

        return getattr(controller, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
