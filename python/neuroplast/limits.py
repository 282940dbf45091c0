"""The resource policy: every size that allocates is checked against a limit *before* allocating.

One process-wide :class:`Limits` value decides what a single call may ask for. A request
beyond a limit raises :class:`~neuroplast.ResourceLimitError` (a ``ConfigError`` and a
``MemoryError``) that says how much the request needs and which limit it exceeds; nothing
has been allocated or changed at that point. The same error is raised if an allocation fails
anyway (the Rust core allocates fallibly, so running out of memory is never an abort).

=================  =====================================================  =====================
limit              what it bounds                                          default
=================  =====================================================  =====================
``max_bytes``      memory one call may need: converted inputs, outputs,   the machine's memory,
                   engine buffers, metric workspaces, a network's          or the address-space
                   parameters                                              limit if lower
``max_params``     values (parameters and buffers) of one network spec     ``2**30``
``max_units``      values per sample of one node (width, or C·H·W)         ``2**24``
``max_threads``    the thread count of :func:`neuroplast.set_num_threads`  ``256``
``max_file_bytes`` size of a model file that :func:`neuroplast.io.load`    ``max_bytes``
                   reads
``max_json_depth`` nesting depth of JSON read from files or strings        ``64``
``chunk_bytes``    inference converts its input in chunks of about this    ``64 MiB``
                   size, so a huge or broadcast input is never copied
                   whole
=================  =====================================================  =====================

Example:
    >>> import numpy as np
    >>> import neuroplast as npl
    >>> from neuroplast.limits import get_limits, temporary_limits
    >>> get_limits().max_json_depth
    64
    >>> with temporary_limits(max_units=1000):
    ...     try:
    ...         npl.Spec.mlp(4, [5000], 3)
    ...     except npl.ResourceLimitError as exc:
    ...         print(str(exc)[:60])
    the number of values per sample of node 'dense_0' is 5000, m
"""

from __future__ import annotations

import dataclasses
import os
import resource
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from neuroplast import _core
from neuroplast.errors import ConfigError, ResourceLimitError

__all__ = [
    "Limits",
    "check_bytes",
    "check_count",
    "default_max_bytes",
    "get_limits",
    "human_bytes",
    "set_limits",
    "temporary_limits",
]


def default_max_bytes() -> int:
    """The machine's physical memory, or the address-space / data-segment limit when lower."""
    try:
        phys = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        phys = 2**36
    best = max(int(phys), 2**28)
    for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        soft, _ = resource.getrlimit(which)
        if soft != resource.RLIM_INFINITY and soft > 0:
            best = min(best, int(soft))
    return best


@dataclass(frozen=True)
class Limits:
    """The resource limits (see the module docstring for what each bounds).

    Example:
        >>> Limits(max_bytes=2**30).max_threads
        256
    """

    max_bytes: int = dataclasses.field(default_factory=default_max_bytes)
    max_params: int = 2**30
    max_units: int = 2**24
    max_threads: int = 256
    max_file_bytes: int | None = None
    max_json_depth: int = 64
    chunk_bytes: int = 64 * 2**20

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "max_file_bytes" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"limit {f.name} must be an int >= 1, got {value!r}")
        if self.max_threads > 1 << 16:
            raise ConfigError(f"limit max_threads must be at most {1 << 16}")

    @property
    def file_bytes(self) -> int:
        """``max_file_bytes``, defaulting to ``max_bytes``."""
        return self.max_bytes if self.max_file_bytes is None else self.max_file_bytes


_lock = threading.Lock()
_current = Limits()


def _push(limits: Limits) -> None:
    _core.set_limits(min(limits.max_bytes, 2**64 - 1), limits.max_threads)


_push(_current)


def get_limits() -> Limits:
    """The limits in force."""
    return _current


def set_limits(limits: Limits | None = None, /, **changes: int | None) -> Limits:
    """Replaces the process-wide limits (or some of them) and returns the previous ones.

    Args:
        limits: A complete :class:`Limits` value (``Limits()`` restores the defaults).
        **changes: Individual limits to change, e.g. ``max_bytes=2**32``.

    Raises:
        ConfigError: An unknown limit name or a value that is not an int ``>= 1``.

    Example:
        >>> old = set_limits(max_threads=8)
        >>> get_limits().max_threads
        8
        >>> _ = set_limits(old)
    """
    global _current
    names = {f.name for f in dataclasses.fields(Limits)}
    unknown = set(changes) - names
    if unknown:
        raise ConfigError(f"unknown limits {sorted(unknown)}; known: {sorted(names)}")
    if limits is not None and not isinstance(limits, Limits):
        raise ConfigError(f"limits must be a Limits value, got {type(limits).__name__}")
    with _lock:
        old = _current
        new = dataclasses.replace(old if limits is None else limits, **changes)  # type: ignore[arg-type]
        _push(new)
        _current = new
    return old


@contextmanager
def temporary_limits(**changes: int | None) -> Iterator[Limits]:
    """Changes limits for the duration of a ``with`` block (process-wide, not per thread)."""
    old = set_limits(**changes)
    try:
        yield get_limits()
    finally:
        set_limits(old)


def human_bytes(n: int) -> str:
    """``n`` bytes as a short figure (``"8.2 GB"``)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError  # pragma: no cover


def check_bytes(nbytes: int, what: str) -> None:
    """Refuses a request that needs ``nbytes`` bytes when that is above ``max_bytes``."""
    limit = _current.max_bytes
    if nbytes > limit:
        raise ResourceLimitError(
            f"{what} would need {human_bytes(nbytes)} ({nbytes} bytes), more than the "
            f"max_bytes limit of {human_bytes(limit)} (see neuroplast.limits)"
        )


def check_count(value: int, limit: str, what: str) -> None:
    """Refuses ``value`` when it is above the limit named ``limit`` (e.g. ``"max_units"``)."""
    bound = getattr(_current, limit)
    if value > bound:
        raise ResourceLimitError(
            f"{what} is {value}, more than the {limit} limit of {bound} (see neuroplast.limits)"
        )
