"""The data of candidate jobs: registered once per process, shipped once per worker.

:func:`shared_data` registers the training and validation arrays (and, for distillation, a
teacher's logits on the training samples) in this process and hands out a :class:`DataRef`,
which pickles to a few bytes. A worker process of a pool memory-maps the arrays from ``.npy``
files written once (:func:`_spill`); a Dask cluster receives them once per worker
(:mod:`neuroplast.search._dask`). :func:`calibration_rows` picks the seeded calibration rows of
a data-aware edit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, DataError

__all__ = ["Arrays", "DataRef", "calibration_rows", "shared_data"]

Arrays = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]
_NAMES = ("X_train", "y_train", "X_val", "y_val")


@dataclass(frozen=True)
class DataRef:
    """A handle on arrays registered with :func:`shared_data` (pickles to a few bytes).

    Attributes:
        key: Registry key in the process that registered the data.
        path: Folder of the ``.npy`` files read by worker processes (``None`` until needed).
    """

    key: str
    path: str | None = None
    teacher: bool = False

    def teacher_logits(self) -> npt.NDArray[Any]:
        """The teacher logits registered with the data (one row per training sample).

        Raises:
            ConfigError: None were registered (``shared_data(..., teacher=None)``).
        """
        if not self.teacher:
            raise ConfigError("a distilling TrainStep needs shared_data(..., teacher=logits)")
        if self.key in _TEACHERS:
            return _TEACHERS[self.key]
        if self.path is None:
            raise ConfigError(
                "the job's teacher logits are not registered in this process and were not "
                "written to disk; use shared_data(..., teacher=...) and pass the executor to "
                "evaluate()"
            )
        logits: npt.NDArray[Any] = np.load(os.path.join(self.path, "teacher.npy"), mmap_mode="r")
        return logits

    def arrays(self) -> Arrays:
        """``(X_train, y_train, X_val, y_val)``: from this process's registry or the files."""
        if self.key in _REGISTRY:
            return _REGISTRY[self.key]
        if self.path is None:
            raise ConfigError(
                "the job's data is not registered in this process and was not written to disk; "
                "use shared_data() and pass the executor to evaluate()"
            )
        return _worker_arrays(self.path)


# ----------------------------------------------------------------------------- data registry
_REGISTRY: dict[str, Arrays] = {}
_TEACHERS: dict[str, npt.NDArray[Any]] = {}
_SPILLED: dict[str, str] = {}
_WORKER_CACHE: OrderedDict[str, Arrays] = OrderedDict()
_LOCK = threading.Lock()
# Executors that keep their own copies of registered data (a Dask cluster's scattered arrays);
# each is told when a shared_data block ends so the copies do not outlive the block.
_HOLDERS: weakref.WeakSet[Any] = weakref.WeakSet()


@contextmanager
def shared_data(
    X_train: npt.ArrayLike,
    y_train: npt.ArrayLike,
    X_val: npt.ArrayLike,
    y_val: npt.ArrayLike,
    *,
    teacher: npt.ArrayLike | None = None,
) -> Iterator[DataRef]:
    """Registers training and validation arrays for jobs; removes them (and files) on exit.

    ``teacher``: logits of a teacher network on ``X_train`` (one row per sample), for jobs
    whose :class:`TrainStep` distills (``temperature`` set).

    Raises:
        DataError: ``teacher`` does not have one row per training sample.

    Example:
        >>> import numpy as np
        >>> with shared_data(np.zeros((2, 3)), np.zeros(2), np.zeros((1, 3)), np.zeros(1)) as d:
        ...     d.arrays()[0].shape
        (2, 3)
    """
    a = [np.ascontiguousarray(x) for x in (X_train, y_train, X_val, y_val)]
    arrays: Arrays = (a[0], a[1], a[2], a[3])
    key = uuid.uuid4().hex
    if teacher is not None:
        logits = np.ascontiguousarray(teacher, dtype=np.float32)
        if logits.ndim != 2 or logits.shape[0] != arrays[0].shape[0]:
            raise DataError(
                f"teacher logits must have one row per training sample ({arrays[0].shape[0]}), "
                f"got shape {logits.shape}"
            )
        _TEACHERS[key] = logits
    _REGISTRY[key] = arrays
    try:
        yield DataRef(key, teacher=teacher is not None)
    finally:
        del _REGISTRY[key]
        _TEACHERS.pop(key, None)
        for holder in list(_HOLDERS):
            holder.release_data(key)
        path = _SPILLED.pop(key, None)
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


def _spill(ref: DataRef) -> DataRef:
    """``ref`` with its arrays written once to ``.npy`` files (for worker processes)."""
    if ref.path is not None:
        return ref
    with _LOCK:
        if ref.key not in _SPILLED:
            path = tempfile.mkdtemp(prefix="neuroplast-data-")
            for name, arr in zip(_NAMES, ref.arrays(), strict=True):
                np.save(os.path.join(path, f"{name}.npy"), arr)
            if ref.teacher:
                np.save(os.path.join(path, "teacher.npy"), ref.teacher_logits())
            _SPILLED[ref.key] = path
    return replace(ref, path=_SPILLED[ref.key])


def _worker_arrays(path: str) -> Arrays:
    """Arrays of a spilled data set, memory-mapped once per process (two data sets cached)."""
    if path not in _WORKER_CACHE:
        a = [np.load(os.path.join(path, f"{name}.npy"), mmap_mode="r") for name in _NAMES]
        _WORKER_CACHE[path] = (a[0], a[1], a[2], a[3])
        while len(_WORKER_CACHE) > 2:
            _WORKER_CACHE.popitem(last=False)
    _WORKER_CACHE.move_to_end(path)
    return _WORKER_CACHE[path]


def calibration_rows(n_rows: int, n: int, seed: int) -> npt.NDArray[np.int64] | None:
    """Sorted indices of a seeded random subset of ``n`` of ``n_rows`` rows (``None``: all).

    The subset of a job's calibration samples and of a ``TrainStep``'s ``samples``.

    Example:
        >>> calibration_rows(10, 3, seed=0).tolist(), calibration_rows(10, 10, seed=0)
        ([5, 6, 9], None)
    """
    if n >= n_rows:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, n, replace=False))
