"""NumPy's BLAS thread count while a job runs (candidate jobs, LP jobs)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

__all__ = ["blas_threads"]

_BLAS_LOCK = threading.Lock()
_CONTROLLER: list[Any] = []  # this process's ThreadpoolController, made on first use
# Jobs running at once in this process (a ThreadPoolExecutor) share one limit: the first sets
# it, the last restores the original, so interleaved exits cannot leave a job's limit behind.
_BLAS_USERS: list[Any] = [0, None]  # [jobs inside, the active limiter]


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """NumPy's BLAS (the edits' refits and projections) on at most ``n`` threads while a job runs.

    A job's thread count holds for all its work: two worker processes of one engine thread each
    must not also run two BLAS threads each, whose spinning doubled every job's time on two
    cores. It also makes a job's result depend on its thread count alone, in this process as on
    a worker: OpenBLAS may round differently on another thread count, and its default count
    depends on the machine.
    """
    with _BLAS_LOCK:
        if not _CONTROLLER:
            _CONTROLLER.append(ThreadpoolController())
        if _BLAS_USERS[0] == 0:
            _BLAS_USERS[1] = _CONTROLLER[0].limit(limits=n, user_api="blas")
        _BLAS_USERS[0] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_USERS[0] -= 1
            if _BLAS_USERS[0] == 0:
                _BLAS_USERS[1].restore_original_limits()
                _BLAS_USERS[1] = None
