"""Candidate evaluation on a Dask cluster, with each data set scattered once per cluster.

:class:`DaskExecutor` wraps a ``distributed.Client`` as a :class:`concurrent.futures.Executor`.
Given to :func:`~neuroplast.search.evaluate` (or to any controller's ``run(..., executor=...)``),
it sends the training and validation arrays of a :func:`~neuroplast.search.shared_data` block to
every worker once (``Client.scatter(..., broadcast=True)``), keeps the handle for later batches,
and submits each job with that handle: a job travels as its network plus a few numbers, no file
system is shared, and the arrays are dropped from the cluster when the block ends or the
executor shuts down. Results are bit-for-bit those of an in-process run, because every job
fixes its own seeds and engine thread count.

A plain ``client.get_executor()`` takes the same path (one wrapper per executor object, so the
data are scattered once per executor). Dask is optional: nothing here imports it until a
:class:`DaskExecutor` is built (``pip install "neuroplast[dask]"``).

Example:
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> from neuroplast.search import MCTS, DaskExecutor  # doctest: +SKIP
    >>> with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
    ...     with DaskExecutor(c) as ex:
    ...         result = MCTS().run(net, data, seed=0, executor=ex)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from typing import Any

import numpy as np

from neuroplast.errors import ConfigError
from neuroplast.search import _shared
from neuroplast.search._evaluate import Job, JobResult, run_job_on
from neuroplast.search._shared import Arrays

__all__ = ["DaskExecutor", "dask_runner", "require_distributed"]

_INSTALL = 'pip install "neuroplast[dask]"'


def require_distributed() -> Any:
    """The ``distributed`` module, or a :class:`~neuroplast.ConfigError` saying how to install it.

    Example:
        >>> require_distributed().__name__
        'distributed'
    """
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise ConfigError(
            f"running on a Dask cluster needs dask.distributed, which is not installed; "
            f"install it with `{_INSTALL}`"
        ) from exc


class _Shipment:
    """The arrays of one data set as scattered: re-aligned once where they are unpickled.

    Dask packs small buffers into shared frames, so an array can land at an address that is
    not a multiple of its item size; the engine cannot borrow such an array and every call
    would copy it. Copying the few that need it here costs one copy per worker instead of one
    per training or validation call of every job. The teacher logits of a distilling data set
    travel with the arrays.
    """

    def __init__(self, arrays: Arrays, teacher: np.ndarray | None = None) -> None:
        self.arrays, self.teacher = arrays, teacher

    def __getstate__(self) -> tuple[Arrays, np.ndarray | None]:
        return self.arrays, self.teacher

    def __setstate__(self, state: tuple[Arrays, np.ndarray | None]) -> None:
        arrays, teacher = state
        a = [np.require(x, requirements=("C_CONTIGUOUS", "ALIGNED")) for x in arrays]
        self.arrays = (a[0], a[1], a[2], a[3])
        self.teacher = (
            None
            if teacher is None
            else np.require(teacher, requirements=("C_CONTIGUOUS", "ALIGNED"))
        )


def _run_scattered(job: Job, data: _Shipment) -> JobResult:
    """What a worker runs: the job on the worker's own copy of the scattered arrays."""
    return run_job_on(job, data.arrays, data.teacher)


class DaskExecutor(Executor):
    """A ``concurrent.futures.Executor`` on a Dask cluster that scatters job data once.

    ``submit``/``map`` behave like ``client.get_executor()``; :func:`~neuroplast.search.evaluate`
    (and so every controller) uses :meth:`run_jobs`, which ships each data set to every worker
    once and reuses it for all later jobs. ``shutdown`` releases the scattered data and this
    executor's pending work; it leaves the client (owned by the caller) open.

    Args:
        client: A connected ``distributed.Client`` (a ``LocalCluster``'s or a remote
            scheduler's).
        **submit_options: Passed to every ``client.submit`` (``resources``, ``retries``,
            ``workers``...). ``pure`` defaults to ``False``.

    Raises:
        ConfigError: ``dask.distributed`` is not installed.

    Example:
        >>> from distributed import Client  # doctest: +SKIP
        >>> ex = DaskExecutor(Client("tcp://scheduler:8786"))  # doctest: +SKIP
        >>> results = evaluate(jobs, ex)  # doctest: +SKIP
    """

    def __init__(self, client: Any, **submit_options: Any) -> None:
        require_distributed()
        self.client = client
        self._options: dict[str, Any] = {"pure": False, **submit_options}
        self._executor: Executor = client.get_executor(**self._options)
        self._scattered: dict[str, Any] = {}  # DataRef key -> future of its _Shipment
        self._lock = threading.Lock()
        self._closed = False
        _shared._HOLDERS.add(self)

    # ------------------------------------------------------------ concurrent.futures surface
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Runs ``fn(*args, **kwargs)`` on the cluster (see ``Executor.submit``)."""
        return self._executor.submit(fn, *args, **kwargs)

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Any,
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        """Like ``Executor.map``, on the cluster (``chunksize`` is ignored, as Dask does)."""
        return self._executor.map(fn, *iterables, timeout=timeout, chunksize=chunksize)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Drops the scattered data and stops accepting work; the client stays open."""
        with self._lock:
            self._closed = True
            held, self._scattered = self._scattered, {}
        for future in held.values():
            future.release()
        # The ClientExecutor waits for (or cancels) only the futures it created itself.
        self._executor.shutdown(wait=wait and not cancel_futures)

    # ------------------------------------------------------------ neuroplast jobs
    @property
    def scattered(self) -> frozenset[str]:
        """Keys of the :class:`~neuroplast.search.DataRef` s whose arrays are on the cluster."""
        with self._lock:
            return frozenset(self._scattered)

    def run_jobs(self, jobs: Sequence[Job]) -> list[JobResult]:
        """Runs ``jobs`` on the cluster and returns their results in order.

        Each data set is scattered to all workers on first use and reused afterwards; a job
        error (not an edit or training failure, which the result reports) propagates.
        """
        submitted = [
            self.client.submit(_run_scattered, job, self._data(job), **self._options)
            for job in jobs
        ]
        results: list[JobResult] = self.client.gather(submitted)
        return results

    def release_data(self, key: str) -> None:
        """Drops the cluster's copy of the data set ``key`` (called when its block ends)."""
        with self._lock:
            future = self._scattered.pop(key, None)
        if future is not None:
            future.release()

    def _data(self, job: Job) -> Any:
        key = job.data.key
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot run jobs after the DaskExecutor was shut down")
            if key not in self._scattered:
                # A one-element list: scattering the tuple itself would scatter each array
                # separately. broadcast=True puts a copy on every worker now, so no job waits
                # for (or triggers) a transfer later.
                teacher = job.data.teacher_logits() if job.data.teacher else None
                shipment = _Shipment(job.data.arrays(), teacher)
                [future] = self.client.scatter([shipment], broadcast=True, hash=False)
                self._scattered[key] = future
            return self._scattered[key]


# ClientExecutor objects (from client.get_executor()) -> the wrapper that holds their data.
_WRAPPERS: weakref.WeakKeyDictionary[Executor, DaskExecutor] = weakref.WeakKeyDictionary()


def dask_runner(executor: Executor) -> DaskExecutor | None:
    """The :class:`DaskExecutor` to run jobs of ``executor`` on, or ``None`` if not Dask.

    A plain ``client.get_executor()`` gets one wrapper (kept while the executor lives) using its
    client and its submit options, so its data are scattered once too.
    """
    if isinstance(executor, DaskExecutor):
        return executor
    cf = sys.modules.get("distributed.cfexecutor")  # a ClientExecutor means dask is imported
    if cf is None or not isinstance(executor, cf.ClientExecutor):
        return None
    with _shared._LOCK:
        if executor not in _WRAPPERS:
            options = getattr(executor, "_kwargs", {})
            _WRAPPERS[executor] = DaskExecutor(executor._client, **options)
        return _WRAPPERS[executor]
