"""The per-network training lock: concurrent ``fit`` calls on one network are serialized."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from neuroplast.errors import ConfigError

__all__ = ["FitLock"]


class FitLock:
    """A lock held for the whole of one ``fit`` call.

    A second thread calling ``fit`` on the same network waits and then trains from the
    parameters the first call produced, so two concurrent calls equal two sequential ones
    (never a lost update). A ``fit`` started from inside the same network's ``fit`` (from its
    callback) would wait for itself; it is refused with a :class:`ConfigError` instead.
    """

    __slots__ = ("_callback_thread", "_lock", "_owner")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._callback_thread: int | None = None

    def guard(self, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``callback`` marked as running inside this lock's ``fit``.

        The engine calls epoch callbacks from one of its own threads, so the thread that
        holds the lock is not the one a re-entrant ``fit`` comes from.
        """

        def marked(record: Any) -> Any:
            self._callback_thread = threading.get_ident()
            try:
                return callback(record)
            finally:
                self._callback_thread = None

        return marked

    def __enter__(self) -> None:
        me = threading.get_ident()
        if me in (self._owner, self._callback_thread):
            raise ConfigError(
                "fit was called on a network from inside its own fit (a callback); "
                "train a copy (net.copy()) instead"
            )
        self._lock.acquire()
        self._owner = me

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._owner = None
        self._lock.release()
