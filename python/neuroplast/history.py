"""Training history returned by :meth:`neuroplast.Network.fit`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EpochCallback", "History", "ProgressCallback"]

#: Called after every epoch with its metrics; returning ``False`` stops training.
EpochCallback = Callable[[dict[str, Any]], bool | None]


@dataclass
class History:
    """Per-epoch metrics of one ``fit`` call.

    Training ``loss``/``accuracy`` are averaged over the epoch's minibatches as they were
    seen (before each update); with a distillation teacher, ``loss`` is the distillation loss.
    Validation metrics are ``None`` without validation data; accuracies are ``None`` for
    regression losses.

    Attributes:
        stopped_early: Whether fewer epochs ran than asked (early stopping or the callback).
        best_epoch: With early stopping, the epoch (a value of ``epoch``) with the best
            monitored metric, whose parameters the network holds when ``restore_best``;
            ``None`` without early stopping.
    """

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    stopped_early: bool = False
    best_epoch: int | None = None

    def append(self, record: dict[str, Any]) -> None:
        """Adds one epoch record from the engine."""
        self.epoch.append(int(record["epoch"]))
        self.loss.append(float(record["loss"]))
        self.accuracy.append(record["accuracy"])
        self.val_loss.append(record["val_loss"])
        self.val_accuracy.append(record["val_accuracy"])

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict of all metrics."""
        return {
            "epoch": list(self.epoch),
            "loss": list(self.loss),
            "accuracy": list(self.accuracy),
            "val_loss": list(self.val_loss),
            "val_accuracy": list(self.val_accuracy),
            "stopped_early": self.stopped_early,
            "best_epoch": self.best_epoch,
        }


class ProgressCallback:
    """Drives an optional progress bar and the user's callback between epochs.

    Only passed to the engine when needed: without it, training never re-acquires the GIL.
    """

    def __init__(self, epochs: int, user: EpochCallback | None, progress: bool) -> None:
        self.user = user
        self.bar: Any = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs, unit="epoch", dynamic_ncols=True)

    def __call__(self, record: dict[str, Any]) -> bool:
        """Shows ``record`` and returns whether training continues."""
        if self.bar is not None:
            shown = {k: f"{v:.4f}" for k, v in record.items() if k != "epoch" and v is not None}
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        if self.user is not None:
            return self.user(record) is not False
        return True

    def close(self) -> None:
        """Closes the progress bar."""
        if self.bar is not None:
            self.bar.close()
