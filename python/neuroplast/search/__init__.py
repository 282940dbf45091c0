"""Search controllers that drive the structural edits of :mod:`neuroplast.morph`.

Shared infrastructure (used by every controller):

* :mod:`~neuroplast.search._evaluate`: picklable candidate :class:`Job` s (start network, a path
  of :class:`EditStep` / :class:`TrainStep`, a :class:`DataRef`), run by :func:`evaluate`
  in-process or on any ``concurrent.futures.Executor`` with identical results.
* :mod:`~neuroplast.search._run`: :class:`RunFolder` (history, final model, edit log, report,
  atomic per-generation checkpoints and the resume protocol).
* :mod:`~neuroplast.search._report`: PNG plots (metric per generation with actions marked,
  architecture per generation).
* :mod:`~neuroplast.search._progress`: tqdm progress bars, off with ``progress=False``.

Controllers: :class:`MCTS` (seed 000, :mod:`neuroplast.search.mcts`), :class:`Surgeon` (seed
001, :mod:`neuroplast.search.surgeon`), :class:`Neurogenesis` and :class:`DYNO` (thesis 003
chs. 6–7, :mod:`neuroplast.search.growth`).
"""

from __future__ import annotations

from neuroplast.search._evaluate import (
    DataRef,
    EditStep,
    Job,
    Result,
    Step,
    TrainStep,
    evaluate,
    run_job,
    shared_data,
)
from neuroplast.search._progress import Progress
from neuroplast.search._report import layer_widths, plot_architectures, plot_epochs, plot_history
from neuroplast.search._run import RunFolder, atomic_write_text, rng_from_state, rng_state
from neuroplast.search.growth import DYNO, GrowthResult, Neurogenesis
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
from neuroplast.search.surgeon import Surgeon

__all__ = [
    "ACTION_KINDS",
    "DYNO",
    "GrowthResult",
    "Neurogenesis",
    "MCTS",
    "Action",
    "ActionSpace",
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
    "TrainStep",
    "atomic_write_text",
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
