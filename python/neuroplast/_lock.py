"""The per-network training lock: concurrent ``fit`` calls on one network are serialized."""

from __future__ import annotations

import threading
from types import TracebackType

from neuroplast.errors import ConfigError

__all__ = ["FitLock"]


class FitLock:
    """A lock held for the whole of one ``fit`` call.

    A second thread calling ``fit`` on the same network waits and then trains from the
    parameters the first call produced, so two concurrent calls equal two sequential ones
    (never a lost update). A ``fit`` started from inside the same network's ``fit`` (from its
    callback) would wait for itself; it is refused with a :class:`ConfigError` instead.
    """

    __slots__ = ("_lock", "_owner")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def __enter__(self) -> None:
        me = threading.get_ident()
        if self._owner == me:
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
