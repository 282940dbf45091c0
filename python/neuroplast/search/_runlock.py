"""One process at a time per run folder: an exclusive ``flock`` on ``run_dir/.lock``.

The lock is taken when a :class:`~neuroplast.search.RunFolder` is created and held until the
last ``RunFolder`` of that folder in this process is released (or the process exits, which
releases it even after a crash or ``kill -9``). Within one process the lock is shared, so
opening the same folder twice (for instance resuming right after a run) works; another process
is refused with a :class:`~neuroplast.ConfigError` instead of interleaving its checkpoints
with ours.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from neuroplast.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "acquire", "release"]

LOCK_NAME = ".lock"

_guard = threading.Lock()
_held: dict[str, tuple[int, int]] = {}  # resolved folder -> (fd, users in this process)


def _key(folder: Path) -> str:
    return os.path.realpath(folder)


def acquire(folder: Path) -> str:
    """Takes (or shares) the lock of ``folder``; returns the key for :func:`release`."""
    key = _key(folder)
    with _guard:
        if key in _held:
            fd, users = _held[key]
            _held[key] = (fd, users + 1)
            return key
        try:
            fd = os.open(os.path.join(key, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot lock run folder {folder}: {exc}") from exc
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                raise ConfigError(
                    f"run folder {folder} is in use by another process; wait for it to finish "
                    "(or stop it) before running or resuming there"
                ) from exc
        _held[key] = (fd, 1)
        return key


def release(key: str) -> None:
    """Gives up one use of the lock; the last one closes it."""
    with _guard:
        if key not in _held:
            return
        fd, users = _held[key]
        if users > 1:
            _held[key] = (fd, users - 1)
            return
        del _held[key]
        os.close(fd)  # closing the descriptor releases the flock
