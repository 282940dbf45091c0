"""Safe file writes: a unique temporary file in the target's folder, ``fsync``, atomic replace.

Readers of the target see either the old file or the new one, never a torn one; concurrent
writers each use their own temporary file, so they never collide (the last ``os.replace``
wins); a failed write leaves the target as it was and no temporary file behind.

**Symlinks are followed**: writing to a symbolic link replaces the file the link points to
(resolved with ``os.path.realpath``, chains included) and leaves the link itself in place.
Every operating-system failure (missing or non-folder parent, a folder at the target, an
empty, too long or NUL-containing name, permissions, a full disk) raises the caller's error
class (:class:`~neuroplast.SerializationError` by default), naming the path.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from neuroplast.errors import NeuroplastError, SerializationError

__all__ = ["atomic_write", "checked_path"]


def checked_path(path: object, *, error: type[NeuroplastError] = SerializationError) -> Path:
    """``path`` as a :class:`Path` after checking it is a non-empty name without NUL bytes."""
    try:
        text = os.fspath(path)  # type: ignore[call-overload]
    except TypeError as exc:
        raise error(f"a path must be a str or os.PathLike, got {type(path).__name__}") from exc
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text:
        raise error("the path is empty")
    if "\0" in text:
        raise error(f"the path {text!r} contains a NUL byte")
    return Path(text)


def _target(path: Path, error: type[NeuroplastError]) -> Path:
    """The file a write to ``path`` replaces (symlinks followed), checked writable in principle."""
    try:
        target = Path(os.path.realpath(path))
        if target.is_dir():
            raise error(f"cannot write {path}: it is a folder")
        parent = target.parent
        if not parent.exists():
            raise error(f"cannot write {path}: the folder {parent} does not exist")
        if not parent.is_dir():
            raise error(f"cannot write {path}: {parent} is not a folder")
    except (OSError, ValueError) as exc:
        if isinstance(exc, NeuroplastError):
            raise
        raise error(f"cannot write {path}: {exc}") from exc
    return target


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _mode(target: Path) -> int:
    """Permissions for the new file: the old file's, or the usual ``0o666 & ~umask``."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: object,
    chunks: Iterable[bytes],
    *,
    error: type[NeuroplastError] = SerializationError,
) -> Path:
    """Writes the concatenated ``chunks`` to ``path`` atomically; returns the file written.

    Raises:
        SerializationError (or ``error``): Any operating-system failure; the target is then
            unchanged and no temporary file is left.
    """
    target = _target(checked_path(path, error=error), error)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:64]}.", suffix=".tmp")
    except OSError as exc:
        raise error(f"cannot write {path}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            for piece in chunks:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode(target))
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, NeuroplastError):
            raise error(f"cannot write {path}: {exc}") from exc
        raise
    _sync_folder(target.parent)
    return target
