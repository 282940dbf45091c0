"""Search controllers that drive the structural edits of :mod:`neuroplast.morph`.

Every controller follows one contract (:mod:`~neuroplast.search._contract`):
``Controller(Config.preset(...)).run(net, data, *, seed, run_dir, resume, overwrite, executor,
progress) -> Result``, with ``data`` a :class:`Splits` (validation carved the same way
everywhere when not given).

Shared infrastructure (used by every controller):

* :mod:`~neuroplast.search._evaluate`: picklable candidate :class:`Job` s (start network, a path
  of :class:`EditStep` / :class:`TrainStep`, a :class:`DataRef`), run by :func:`evaluate`
  in-process or on any ``concurrent.futures.Executor`` with identical results;
  :class:`DaskExecutor` (:mod:`~neuroplast.search._dask`) runs them on a Dask cluster with the
  data scattered once.
* :mod:`~neuroplast.search._run`: :class:`RunFolder` (history, final model, edit log, report,
  atomic per-generation checkpoints and the resume protocol).
* :mod:`~neuroplast.search._report`: PNG plots (metric per generation with actions marked,
  architecture per generation).
* :mod:`~neuroplast.search._progress`: tqdm progress bars, off with ``progress=False``.
* :mod:`~neuroplast.search._budget`: the accuracy budget (``max_drop``) every controller that
  starts from a trained network keeps: :class:`Budget` (floor and chance-level guard),
  :class:`BestUnderBudget` (the smallest network within it, the one returned) and
  :class:`MostAccurate` (the most accurate network, for growth from an untrained start).

Controllers: :class:`MCTS` (Świdorski and Jastrzębska, :mod:`neuroplast.search.mcts`),
:class:`Surgeon` (Schiessler et al. 2021, :mod:`neuroplast.search.surgeon`),
:class:`Neurogenesis` and :class:`DYNO` (Maile 2023, chs. 6–7, :mod:`neuroplast.search.growth`),
:class:`LPPrune` (Hyötyniemi 1996, :mod:`neuroplast.lp.controller`), :class:`ASNG` (Saito and
Shirakawa 2019, :mod:`neuroplast.search.asng`), :class:`Compress` (budgeted data-aware
narrowing, :mod:`neuroplast.search.compress`), :class:`EquiNASE` and :class:`EquiNASD`
(Maile 2023, ch. 4, :mod:`neuroplast.search.equinas`) and :class:`DARTS` (Liu et al. 2019 and
DARTS-PRIME, Maile 2023, ch. 5, :mod:`neuroplast.search.darts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neuroplast.search._budget import BestUnderBudget, Budget, MostAccurate
from neuroplast.search._contract import ConfigBase, Controller, Result, RunContext, measure
from neuroplast.search._dask import DaskExecutor
from neuroplast.search._evaluate import (
    DataRef,
    EditStep,
    Job,
    JobResult,
    Step,
    TrainStep,
    evaluate,
    run_job,
    shared_data,
)
from neuroplast.search._progress import Progress
from neuroplast.search._report import (
    layer_widths,
    plot_architectures,
    plot_epochs,
    plot_history,
    plot_overview,
)
from neuroplast.search._run import RunFolder, atomic_write_text, rng_from_state, rng_state
from neuroplast.search._splits import Splits
from neuroplast.search.asng import ASNG, ASNGConfig, ASNGResult
from neuroplast.search.compress import Compress, CompressConfig, CompressResult, compress
from neuroplast.search.darts import DARTS, VARIANTS, DARTSConfig, DARTSResult
from neuroplast.search.equinas import (
    EquiNASD,
    EquiNASDConfig,
    EquiNASDResult,
    EquiNASE,
    EquiNASEConfig,
    EquiNASEResult,
)
from neuroplast.search.growth import (
    DYNO,
    DYNOConfig,
    GrowthResult,
    Neurogenesis,
    NeurogenesisConfig,
)
from neuroplast.search.mcts import (
    ACTION_KINDS,
    MCTS,
    Action,
    ActionSpace,
    Decision,
    IllegalActionError,
    MCTSConfig,
    MCTSResult,
)
from neuroplast.search.surgeon import Surgeon, SurgeonConfig, SurgeonResult

if TYPE_CHECKING:
    from neuroplast.lp.controller import LPPrune, LPPruneConfig, LPPruneRunResult

__all__ = [
    "ACTION_KINDS",
    "ASNG",
    "ASNGConfig",
    "ASNGResult",
    "BestUnderBudget",
    "Budget",
    "MostAccurate",
    "Compress",
    "CompressConfig",
    "CompressResult",
    "LPPrune",
    "LPPruneConfig",
    "LPPruneRunResult",
    "ConfigBase",
    "Controller",
    "DARTS",
    "DARTSConfig",
    "DARTSResult",
    "VARIANTS",
    "JobResult",
    "RunContext",
    "Splits",
    "measure",
    "plot_overview",
    "DYNO",
    "DYNOConfig",
    "EquiNASD",
    "EquiNASDConfig",
    "EquiNASDResult",
    "EquiNASE",
    "EquiNASEConfig",
    "EquiNASEResult",
    "GrowthResult",
    "Neurogenesis",
    "NeurogenesisConfig",
    "MCTS",
    "Action",
    "ActionSpace",
    "DaskExecutor",
    "DataRef",
    "Decision",
    "EditStep",
    "IllegalActionError",
    "Job",
    "MCTSConfig",
    "MCTSResult",
    "Progress",
    "Result",
    "RunFolder",
    "Step",
    "Surgeon",
    "SurgeonConfig",
    "SurgeonResult",
    "TrainStep",
    "atomic_write_text",
    "compress",
    "evaluate",
    "layer_widths",
    "plot_architectures",
    "plot_epochs",
    "plot_history",
    "rng_from_state",
    "rng_state",
    "run_job",
    "shared_data",
]


#: The LP controller (Hyötyniemi 1996, :mod:`neuroplast.lp.controller`) builds on this package's
#: contract, so importing it here would be circular: its names load on first access.
_LP_NAMES = ("LPPrune", "LPPruneConfig", "LPPruneRunResult")


def __getattr__(name: str) -> Any:
    if name in _LP_NAMES:
        from neuroplast.lp import controller

        return getattr(controller, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
