"""Training in chunks of ``k`` minibatch steps, one engine call per chunk.

The dynamic controllers look at the network every few gradient steps (Algorithm 4 after every
step, DYNO every 50). A Python loop per minibatch would dominate the cost, so each chunk of
``k`` steps is one :meth:`~neuroplast.Network.fit` call on exactly the samples those steps
use, in order (``shuffle=False``): epoch ``e`` visits the training set in the order
``numpy.random.default_rng([seed, e]).permutation(n)``, and a chunk that crosses an epoch
boundary is split into one call per epoch so that every epoch's last, possibly smaller,
minibatch stays where it belongs. The optimizer state lives on the network and continues from
call to call, so ``k`` chunks of one step train exactly like one chunk of ``k`` steps (same
minibatches, same updates, same bits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import check_int
from neuroplast.errors import ConfigError, DataError
from neuroplast.network import Network
from neuroplast.optim import Optimizer

__all__ = ["Chunk", "StepTrainer"]


@dataclass(frozen=True)
class Chunk:
    """What one :meth:`StepTrainer.run` call trained on.

    Attributes:
        steps: Minibatch updates made.
        loss: Mean training loss over the chunk's samples (as seen before each update).
        indices: Training-set indices of the chunk's samples, in the order used.
        epoch_ends: Epochs completed during the chunk (0-based global epoch indices).
    """

    steps: int
    loss: float
    indices: npt.NDArray[np.int64]
    epoch_ends: tuple[int, ...]


@dataclass
class StepTrainer:
    """Trains a network ``k`` minibatch steps at a time, resuming where the last call stopped.

    Args:
        X: Training inputs.
        y: Training labels or targets.
        batch_size: Minibatch size (``>= 1``).
        optimizer: Update rule (its state is kept on the network between calls).
        seed: Seed of the per-epoch sample orders.

    Attributes:
        epoch: Global index of the current epoch.
        batch: Index of the next minibatch within the current epoch.
        step: Total updates made so far.
    """

    X: npt.NDArray[Any]
    y: npt.NDArray[Any]
    batch_size: int
    optimizer: Optimizer
    seed: int = 0
    epoch: int = 0
    batch: int = 0
    step: int = 0
    _order: npt.NDArray[np.int64] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.X, self.y = np.asarray(self.X), np.asarray(self.y)
        if self.X.shape[0] == 0:
            raise DataError("the training set is empty")
        if self.y.shape[0] != self.X.shape[0]:
            raise DataError(f"X has {self.X.shape[0]} samples but y has {self.y.shape[0]}")
        self.batch_size = check_int(self.batch_size, "batch_size", 1, 2**31)
        self.seed = check_int(self.seed, "seed", 0, 2**63 - 1)

    @property
    def n(self) -> int:
        """Number of training samples."""
        return int(self.X.shape[0])

    @property
    def steps_per_epoch(self) -> int:
        """Minibatches per epoch (the last one may be smaller)."""
        return -(-self.n // self.batch_size)

    def order(self, epoch: int) -> npt.NDArray[np.int64]:
        """The sample order of ``epoch``."""
        perm: npt.NDArray[np.int64] = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return perm

    def upcoming(self, count: int) -> npt.NDArray[np.int64]:
        """Indices of the next ``count`` samples training will visit (without training)."""
        out: list[npt.NDArray[np.int64]] = []
        epoch, start = self.epoch, self.batch * self.batch_size
        while sum(len(o) for o in out) < min(count, self.n):
            out.append(self.order(epoch)[start:])
            epoch, start = epoch + 1, 0
        return np.concatenate(out)[: min(count, self.n)]

    def run(self, net: Network, steps: int) -> Chunk:
        """Trains ``net`` in place for ``steps`` minibatch updates.

        Raises:
            ConfigError: ``steps < 1``.
            NumericalError: Training diverged (as :meth:`Network.fit`).
        """
        steps = check_int(steps, "steps", 1, 2**62)
        if not hasattr(self.optimizer, "slot_names"):
            raise ConfigError(f"optimizer must be SGD, Adam or AdamW, got {self.optimizer!r}")
        parts, ends = [], []
        loss_sum, seen, done = 0.0, 0, 0
        while done < steps:
            if self._order is None:
                self._order = self.order(self.epoch)
            take = min(steps - done, self.steps_per_epoch - self.batch)
            lo = self.batch * self.batch_size
            idx = self._order[lo : min(self.n, lo + take * self.batch_size)]
            hist = net.fit(
                self.X[idx],
                self.y[idx],
                epochs=1,
                batch_size=self.batch_size,
                optimizer=self.optimizer,
                shuffle=False,
            )
            loss_sum += hist.loss[0] * len(idx)
            seen += len(idx)
            parts.append(idx)
            done += take
            self.batch += take
            if self.batch == self.steps_per_epoch:
                ends.append(self.epoch)
                self.epoch, self.batch, self._order = self.epoch + 1, 0, None
        self.step += steps
        return Chunk(steps, loss_sum / seen, np.concatenate(parts), tuple(ends))

    def state(self) -> dict[str, int]:
        """The resumable position (see :meth:`restore`)."""
        return {"epoch": self.epoch, "batch": self.batch, "step": self.step}

    def restore(self, state: dict[str, int]) -> None:
        """Continues from a position returned by :meth:`state`."""
        self.epoch, self.batch, self.step = (
            int(state["epoch"]),
            int(state["batch"]),
            int(state["step"]),
        )
        self._order = None
