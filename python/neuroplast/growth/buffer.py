"""A FIFO buffer of the most recent training inputs, for activation metrics.

Activation metrics (φ_ED, eq. 27) need more samples than units; a mini-batch is often smaller
than a growing layer. The reference code of the neurogenesis chapter keeps the most recent
``2 × max_width`` training inputs (1024 for a maximum width of 512) and recomputes the current
network's activations on them when a trigger is evaluated (``Network.activations``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import _numeric
from neuroplast.errors import ConfigError, ShapeError
from neuroplast.growth.triggers import check_width

__all__ = ["ActivationBuffer"]


class ActivationBuffer:
    """Keeps the ``capacity`` most recent inputs (and labels), oldest first.

    Args:
        capacity: Number of samples kept (must exceed the widest layer measured on it).

    Example:
        >>> import numpy as np
        >>> buf = ActivationBuffer(3)
        >>> buf.add(np.arange(4.0).reshape(4, 1), np.arange(4))
        >>> buf.X[:, 0].tolist(), buf.y.tolist()
        ([1.0, 2.0, 3.0], [1, 2, 3])
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = check_width(capacity, "capacity")
        self._X: npt.NDArray[np.float32] | None = None
        self._y: npt.NDArray[Any] | None = None

    @classmethod
    def for_max_width(cls, max_width: int, factor: float = 2.0) -> ActivationBuffer:
        """A buffer of ``⌈factor · max_width⌉`` samples (reference code: factor 2).

        Raises:
            ConfigError: ``factor <= 1`` (the buffer must hold more samples than units).
        """
        if not factor > 1:
            raise ConfigError(f"factor must be > 1 (more samples than units), got {factor!r}")
        return cls(int(np.ceil(factor * check_width(max_width, "max_width"))))

    @property
    def capacity(self) -> int:
        """Maximum number of samples kept."""
        return self._capacity

    def __len__(self) -> int:
        return 0 if self._X is None else int(self._X.shape[0])

    def ready(self, width: int) -> bool:
        """Whether the buffer holds more samples than ``width`` units (eq. 27 needs it)."""
        return len(self) > width

    @property
    def X(self) -> npt.NDArray[np.float32]:
        """The kept inputs, oldest first (float32)."""
        if self._X is None:
            raise ConfigError("the activation buffer is empty")
        return self._X

    @property
    def y(self) -> npt.NDArray[Any]:
        """The kept labels, aligned with :attr:`X`."""
        if self._y is None:
            raise ConfigError("the activation buffer holds no labels")
        return self._y

    def add(self, X: npt.ArrayLike, y: npt.ArrayLike | None = None) -> None:
        """Appends a batch; the oldest samples beyond ``capacity`` are dropped.

        Raises:
            ShapeError: Sample shape differs from earlier batches, or ``y`` has another length.
            ConfigError: Labels given for some batches and not others.
        """
        x = np.asarray(_numeric(X, "X"), dtype=np.float32)
        if x.ndim < 1:
            raise ShapeError("X must have a sample axis")
        if self._X is not None and x.shape[1:] != self._X.shape[1:]:
            raise ShapeError(f"sample shape {x.shape[1:]} differs from {self._X.shape[1:]}")
        if (y is None) != (self._y is None) and self._X is not None:
            raise ConfigError("give labels with every batch or with none")
        yy = None if y is None else np.asarray(y)
        if yy is not None and yy.shape[0] != x.shape[0]:
            raise ShapeError(f"y has {yy.shape[0]} samples, X has {x.shape[0]}")
        keep = self._capacity
        self._X = x[-keep:] if self._X is None else np.concatenate([self._X, x])[-keep:]
        if yy is not None:
            self._y = yy[-keep:] if self._y is None else np.concatenate([self._y, yy])[-keep:]

    def resize(self, capacity: int) -> None:
        """Changes the capacity, dropping the oldest samples if it shrinks."""
        self._capacity = check_width(capacity, "capacity")
        if self._X is not None:
            self._X = self._X[-self._capacity :]
        if self._y is not None:
            self._y = self._y[-self._capacity :]
