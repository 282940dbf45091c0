"""Training jobs of the Surgeon on the shared evaluation mechanism (:mod:`neuroplast.search`).

Training is counted in batches of one stream per run: batch ``p`` lies in epoch ``p // B``
(``B`` batches per epoch). Whole epochs go to the engine as ``fit`` calls whose shuffle of epoch
``e`` is stream ``e`` of the run's seed; a partial epoch of ``b - a`` batches trains on a seeded
random subset of ``(b - a)·batch_size`` samples. A branch created at a decision point keeps its
parent's position, so recuperative training counts toward the epochs it receives (as in the
paper, where the winning branch is trained for exactly ``total_epochs``).

Each :class:`TrainJob` becomes one :class:`neuroplast.search.Job` (start network and a path of
:class:`~neuroplast.search.TrainStep` s) run by :func:`neuroplast.search.evaluate` in-process or
on any executor, with the same results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from neuroplast._seeds import derive_seed
from neuroplast.network import Network
from neuroplast.optim import SGD
from neuroplast.search._evaluate import DataRef, Job, TrainStep, evaluate
from neuroplast.search.surgeon.config import SurgeonConfig

__all__ = ["SUBSET_STREAM", "TrainJob", "TrainOutcome", "Trainer"]

#: First key of the seeds of partial-epoch subsets: ``derive_seed(seed, 0, epoch, offset)``.
SUBSET_STREAM = 0


@dataclass(frozen=True)
class TrainJob:
    """Train ``net`` (a copy) for ``n_batches`` from stream position ``start``.

    Attributes:
        net: The network to train.
        start: Position in the batch stream (batches already trained in its lineage).
        n_batches: Batches to train (0: evaluate only).
        curve: Train whole epochs one ``fit`` call at a time so the validation accuracy is
            recorded after each.
    """

    net: Network
    start: int
    n_batches: int
    curve: bool = False


@dataclass(frozen=True)
class TrainOutcome:
    """Result of one :class:`TrainJob`.

    Attributes:
        net: The trained network (``None`` when training diverged).
        val_accuracy: Validation accuracy after training (``-inf`` when diverged).
        batches: Batches trained.
        curve: ``(epoch, validation accuracy)`` after every training step (epochs as floats).
        error: Why training failed, else ``None``.
    """

    net: Network | None
    val_accuracy: float
    batches: int
    curve: tuple[tuple[float, float], ...] = field(default_factory=tuple)
    error: str | None = None


class Trainer:
    """Turns :class:`TrainJob` s into shared jobs and runs them.

    Args:
        data: Training and validation data (:func:`neuroplast.search.shared_data`).
        n_train: Number of training samples.
        config: The run's settings (SGD learning rate, momentum, batch size).
        seed: Seed of the batch stream.
        threads: Engine threads per job.
        executor: Where the jobs run (``None``: in this process).
    """

    def __init__(
        self,
        data: DataRef,
        n_train: int,
        config: SurgeonConfig,
        *,
        seed: int,
        threads: int,
        executor: Executor | None = None,
    ) -> None:
        self.data, self.n_train = data, n_train
        self.optimizer = SGD(lr=config.lr, momentum=config.momentum)
        self.batch_size, self.seed, self.threads = config.batch_size, seed, threads
        self.executor = executor
        self.batches_per_epoch = math.ceil(n_train / config.batch_size)

    def steps(self, start: int, n: int, curve: bool) -> tuple[list[TrainStep], list[float]]:
        """The training steps of ``n`` batches from ``start`` and the epoch each one ends at."""
        B, bs = self.batches_per_epoch, self.batch_size
        pos, end = start, start + n
        steps: list[TrainStep] = []
        ends: list[float] = []
        while pos < end:
            epoch, off = divmod(pos, B)
            if off == 0 and end - pos >= B:
                k = 1 if curve else (end - pos) // B
                steps.append(TrainStep(k, None, bs, self.optimizer, self.seed, initial_epoch=epoch))
                pos += k * B
            else:
                stop = min(end, (epoch + 1) * B)
                samples = min(self.n_train, (stop - pos) * bs)
                seed = derive_seed(self.seed, SUBSET_STREAM, epoch, off)
                steps.append(TrainStep(1, samples, bs, self.optimizer, seed))
                pos = stop
            ends.append(pos / B)
        return steps, ends

    def __call__(self, jobs: Sequence[TrainJob]) -> list[TrainOutcome]:
        """Runs ``jobs``; divergence is reported in the outcome, not raised."""
        shared, ends = [], []
        for j in jobs:
            steps, e = self.steps(j.start, j.n_batches, j.curve)
            shared.append(Job(j.net, tuple(steps), self.data, threads=self.threads))
            ends.append(e)
        out = []
        for j, e, r in zip(jobs, ends, evaluate(shared, self.executor), strict=True):
            if r.error is not None or r.network is None:
                out.append(TrainOutcome(None, -math.inf, j.n_batches, (), r.error))
                continue
            curve = (
                tuple((x, acc) for x, (acc, _) in zip(e, r.trace, strict=True)) if j.curve else ()
            )
            out.append(TrainOutcome(r.network, float(r.accuracy), j.n_batches, curve))
        return out
