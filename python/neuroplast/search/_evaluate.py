"""Candidate evaluation shared by the search controllers: picklable jobs, any executor.

A controller describes each candidate as a :class:`Job`: a start network, a path of steps
(structural edits by name and short training runs) and a reference to the data. :func:`evaluate`
runs a list of jobs in-process (default) or on any :class:`concurrent.futures.Executor` and
returns one :class:`JobResult` per job, in order. Results do not depend on the executor: every job
fixes its own seeds and its engine thread count (:attr:`Job.threads`), so a process pool returns
bit-for-bit what the in-process run returns.

Data never travels with the jobs. :func:`shared_data` registers the arrays (and, for
distillation, the teacher's logits on the training samples) once in this process;
for a process pool they are written once to ``.npy`` files that each worker memory-maps on its
first job and keeps cached, so a job pickles to the size of its network plus a few numbers. On a
Dask cluster (:class:`~neuroplast.search.DaskExecutor`) they are scattered once to every worker
instead, so no file system needs to be shared.

Example:
    >>> import numpy as np
    >>> from neuroplast import Network, Spec
    >>> from neuroplast.search import EditStep, Job, TrainStep, evaluate, shared_data
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4)).astype(np.float32); y = (X[:, 0] > 0).astype(np.int64)
    >>> net = Network.init(Spec.mlp(4, [8], 2), seed=0)
    >>> with shared_data(X, y, X, y) as data:
    ...     steps = (EditStep("widen", {"layer": "dense_0", "n_new": 4}), TrainStep(epochs=2))
    ...     [res] = evaluate([Job(net, steps, data)])
    >>> res.n_params, res.error is None
    (86, True)
"""

from __future__ import annotations

import copy
import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy.typing as npt

from neuroplast import _core
from neuroplast._threads import blas_threads
from neuroplast.errors import ConfigError, InvalidMorphismError, NumericalError
from neuroplast.morph.record import EditRecord
from neuroplast.network import Network
from neuroplast.optim import Optimizer
from neuroplast.search._shared import (
    Arrays,
    DataRef,
    _spill,
    calibration_rows,
    shared_data,
)

__all__ = [
    "DataRef",
    "EditStep",
    "Job",
    "JobResult",
    "Step",
    "TrainStep",
    "calibration_rows",
    "evaluate",
    "run_job",
    "shared_data",
]


@dataclass(frozen=True)
class TrainStep:
    """A short training run inside a job (see :meth:`neuroplast.Network.fit`).

    Attributes:
        epochs: Passes over the (possibly subsampled) training data.
        samples: If set, train on a seeded random subset of this many training samples
            (a fraction of an epoch); ``None`` uses the whole training set.
        batch_size: Minibatch size.
        optimizer: Update rule (default ``Adam(lr=1e-3)``); state on the network continues.
        seed: Seed of the subset draw and of the shuffling.
        initial_epoch: Global epoch index passed to ``fit`` (shuffle stream).
        validate: Evaluate on the validation data afterwards (an entry of
            :attr:`JobResult.trace`); the final network is always evaluated.
        temperature: If set, distill from the teacher logits registered with the data
            (:func:`shared_data` ``teacher=``) at this temperature (see
            :meth:`neuroplast.Network.fit`).
        alpha: Weight of the distillation term.
    """

    epochs: int = 1
    samples: int | None = None
    batch_size: int = 32
    optimizer: Optimizer | None = None
    seed: int = 0
    initial_epoch: int = 0
    validate: bool = True
    temperature: float | None = None
    alpha: float = 0.5


@dataclass(frozen=True)
class EditStep:
    """A structural edit inside a job, named rather than pickled as code.

    ``name`` is an edit of :data:`neuroplast.morph.EDITS` (``"widen"``, ``"narrow"``,
    ``"deepen"``, ``"shallow"``) called as ``edit(net, **args)``, or ``"package.module:function"``
    for any importable function with the signature ``fn(net, **args) -> (Network, EditRecord |
    None)`` (a controller's random rollout step, for instance; ``None`` means "nothing applied").

    Attributes:
        name: Edit name or ``"module:function"``.
        args: JSON-compatible keyword arguments.
        calibration: If > 0, ``calibration=(X, y)`` with the first ``calibration`` training
            samples is passed too (for data-aware removal).
        calibration_seed: If set, the calibration samples are a seeded random subset of the
            training samples (in their order; :func:`calibration_rows`) instead of the first.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    calibration: int = 0
    calibration_seed: int | None = None

    @classmethod
    def from_record(cls, record: EditRecord | Mapping[str, Any]) -> EditStep:
        """The step that replays an :class:`~neuroplast.morph.EditRecord` (or its dict)."""
        rec = record if isinstance(record, EditRecord) else EditRecord.from_dict(record)
        return cls(rec.name, dict(rec.args))


Step = TrainStep | EditStep


@dataclass(frozen=True)
class Job:
    """One candidate: a start network, a path of steps and the data to train/validate on.

    Attributes:
        start: The network the path starts from (not modified).
        steps: Edits and training runs, applied in order.
        data: Training and validation arrays (:func:`shared_data`).
        threads: Engine threads while the job runs (results are reproducible per thread count,
            so this is part of the job, not of the executor).
        capture: If set, also return the network after the first ``capture`` steps.
        return_network: Whether to return the final network.
        tag: Anything picklable the caller wants back with the result.
    """

    start: Network
    steps: tuple[Step, ...]
    data: DataRef
    threads: int = 1
    capture: int | None = None
    return_network: bool = True
    tag: Any = None


@dataclass(frozen=True)
class JobResult:
    """Outcome of one :class:`Job`.

    Attributes:
        accuracy: Validation accuracy of the final network (``nan`` on error or regression).
        loss: Validation loss of the final network (``nan`` on error).
        n_params: True number of trainable parameters of the final network.
        seconds: Wall time of the job (edits, training, evaluation).
        network: The final network (``None`` unless ``return_network``, or on error).
        captured: The network after ``capture`` steps (``None`` if not asked or not reached;
            kept when a later step fails).
        trace: ``(validation accuracy, n_params)`` after every validated training step.
        records: Edit records of the applied edits, as dicts (what to replay).
        error: The message of an :class:`~neuroplast.InvalidMorphismError` (an edit that does
            not apply) or :class:`~neuroplast.NumericalError` (diverged training) raised by a
            step; other errors (bad configuration) propagate.
        tag: The job's tag.
    """

    accuracy: float
    loss: float
    n_params: int
    seconds: float
    network: Network | None = None
    captured: Network | None = None
    trace: tuple[tuple[float, int], ...] = ()
    records: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    tag: Any = None


# ----------------------------------------------------------------------------- running jobs
def _resolve(name: str) -> Callable[..., tuple[Network, EditRecord | None]]:
    from neuroplast.morph import EDITS

    if name in EDITS:
        return EDITS[name]
    module, sep, attr = name.partition(":")
    if not sep:
        raise ConfigError(f"unknown edit {name!r}; expected one of {sorted(EDITS)} or 'mod:func'")
    fn: Callable[..., tuple[Network, EditRecord | None]] = getattr(
        importlib.import_module(module), attr
    )
    return fn


def _train(
    net: Network, step: TrainStep, arrays: Arrays, teacher_logits: Callable[[], npt.NDArray[Any]]
) -> None:
    X, y = arrays[0], arrays[1]
    teacher = None if step.temperature is None else teacher_logits()
    idx = None if step.samples is None else calibration_rows(X.shape[0], step.samples, step.seed)
    if idx is not None:
        X, y = X[idx], y[idx]
        teacher = None if teacher is None else teacher[idx]
    distill: dict[str, Any] = {}
    if teacher is not None:
        distill = {"teacher": teacher, "temperature": step.temperature, "alpha": step.alpha}
    net.fit(
        X,
        y,
        epochs=step.epochs,
        batch_size=step.batch_size,
        optimizer=step.optimizer,
        seed=step.seed,
        initial_epoch=step.initial_epoch,
        **distill,
    )


def _calibration(step: EditStep, arrays: Arrays) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    X, y = arrays[0], arrays[1]
    if step.calibration_seed is None:
        return X[: step.calibration], y[: step.calibration]
    rows = calibration_rows(X.shape[0], step.calibration, step.calibration_seed)
    return (X, y) if rows is None else (X[rows], y[rows])


def _validate(net: Network, arrays: Arrays) -> tuple[float, float]:
    metrics = net.evaluate(arrays[2], arrays[3])
    return float(metrics.get("accuracy", float("nan"))), float(metrics["loss"])


def run_job(job: Job) -> JobResult:
    """Runs one job in this process (the function a worker executes).

    The start network is never modified (a shallow copy is trained: parameter arrays are
    read-only and training replaces them instead of writing into them); the engine runs with
    ``job.threads`` threads and the previous thread count is restored afterwards.
    """
    return run_job_on(job, None)


def run_job_on(
    job: Job, arrays: Arrays | None, teacher: npt.NDArray[Any] | None = None
) -> JobResult:
    """:func:`run_job` on data already at hand (a worker's scattered copy), else the job's.

    ``teacher``: the data's teacher logits, if at hand too.
    """

    def teacher_logits() -> npt.NDArray[Any]:
        return job.data.teacher_logits() if teacher is None else teacher

    t0 = time.perf_counter()
    before = _core.get_num_threads()
    if before != job.threads:
        _core.set_num_threads(job.threads)
    net = copy.copy(job.start)
    trace: list[tuple[float, int]] = []
    records: list[dict[str, Any]] = []
    captured = copy.copy(net) if job.capture == 0 else None
    try:
        arrays = job.data.arrays() if arrays is None else arrays
    except BaseException:
        _core.set_num_threads(before)
        raise
    last: tuple[float, float] | None = None  # validation of the current network, if done
    with blas_threads(job.threads):
        try:
            for i, step in enumerate(job.steps):
                last = None
                if isinstance(step, TrainStep):
                    _train(net, step, arrays, teacher_logits)
                    if step.validate:
                        last = _validate(net, arrays)
                        trace.append((last[0], net.n_params))
                else:
                    kwargs = dict(step.args)
                    if step.calibration > 0:
                        kwargs["calibration"] = _calibration(step, arrays)
                    net, rec = _resolve(step.name)(net, **kwargs)
                    if rec is not None:
                        records.append(rec.to_dict())
                if job.capture == i + 1:
                    captured = copy.copy(net)
            acc, loss = last if last is not None else _validate(net, arrays)
        except (InvalidMorphismError, NumericalError) as exc:
            return JobResult(
                float("nan"),
                float("nan"),
                net.n_params,
                time.perf_counter() - t0,
                captured=captured,
                trace=tuple(trace),
                records=tuple(records),
                error=f"{type(exc).__name__}: {exc}",
                tag=job.tag,
            )
        finally:
            if before != job.threads:
                _core.set_num_threads(before)
    return JobResult(
        acc,
        loss,
        net.n_params,
        time.perf_counter() - t0,
        net if job.return_network else None,
        captured,
        tuple(trace),
        tuple(records),
        None,
        job.tag,
    )


def _in_process(executor: Executor | None) -> bool:
    return executor is None or isinstance(executor, ThreadPoolExecutor)


def evaluate(jobs: Sequence[Job], executor: Executor | None = None) -> list[JobResult]:
    """Runs ``jobs`` and returns their results in the same order.

    Args:
        jobs: The candidates.
        executor: ``None`` runs them one after another in this process; any
            :class:`concurrent.futures.Executor` runs them concurrently. On a
            :class:`~neuroplast.search.DaskExecutor` or a Dask ``Client.get_executor()`` the
            data are scattered once to every worker. For other executors but a
            ``ThreadPoolExecutor`` they are written once to temporary ``.npy`` files that the
            workers memory-map (a shared file system). Both copies are removed when the
            ``shared_data`` block ends.

    Returns:
        One :class:`JobResult` per job; identical for every executor.
    """
    from neuroplast.search._dask import dask_runner

    jobs = list(jobs)
    if executor is None:
        return [run_job(j) for j in jobs]
    runner = dask_runner(executor)
    if runner is not None:
        return runner.run_jobs(jobs)
    if not _in_process(executor):
        jobs = [replace(j, data=_spill(j.data)) for j in jobs]
    return list(executor.map(run_job, jobs))
