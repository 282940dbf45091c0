"""The accuracy budget of the controllers: the best network under ``start − max_drop``.

A controller that shrinks a trained network is judged by the static frontier (a network as
good as one of the same size trained directly), within an accuracy budget: the validation
accuracy may fall at most ``max_drop`` below that of a reference network (usually the start
network). :class:`Budget` is that rule; :class:`BestUnderBudget` keeps, among the networks a
run offers it, the one to return: the fewest parameters among those whose validation accuracy
reaches the floor (ties: the higher validation accuracy, then the earlier offer), never a
collapsed one (validation accuracy at or below the majority-class rate, :func:`chance_level`).
:class:`MostAccurate` keeps the most accurate admitted network instead (for controllers that
grow from an untrained start, where a budget relative to the start means nothing); both save
and restore what they keep in a run folder's checkpoints (:meth:`BestUnderBudget.state`,
:meth:`BestUnderBudget.load_state`). :func:`fine_tune` is the optional early-stopped
fine-tuning of the chosen network, which keeps the budget (the tuned network is only taken
when it is not worse on validation).

Example:
    >>> from neuroplast import Network, Spec
    >>> budget = Budget(0.95, 0.01)
    >>> budget.floor, budget.admits(0.945), budget.admits(0.93)
    (0.94, True, False)
    >>> best = BestUnderBudget(budget)
    >>> big, small = (Network.init(Spec.mlp(4, [w], 2), seed=0) for w in (8, 2))
    >>> best.offer(big, 0.95, step=0), best.offer(small, 0.93, step=1), best.step
    (True, False, 0)
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, NumericalError
from neuroplast.network import Network
from neuroplast.optim import Optimizer
from neuroplast.search._splits import Splits

__all__ = [
    "BestUnderBudget",
    "Budget",
    "MostAccurate",
    "chance_level",
    "check_max_drop",
    "fine_tune",
    "parse_max_drop",
]


def check_max_drop(value: float | None, name: str = "max_drop") -> None:
    """Raises :class:`~neuroplast.ConfigError` unless ``value`` is ``None`` or in ``[0, 1]``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{name} must be None or a number in [0, 1], got {value!r}")


def parse_max_drop(text: str) -> float | None:
    """``"0.02"`` → ``0.02``; ``"none"`` → ``None`` (no budget).

    Example:
        >>> parse_max_drop("0.02"), parse_max_drop("none")
        (0.02, None)
    """
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--max-drop must be a number or 'none', got {text!r}"
        ) from exc


def chance_level(y: npt.ArrayLike) -> float:
    """Accuracy of always predicting the most frequent label of ``y`` (``0`` for targets).

    Example:
        >>> chance_level([0, 1, 1, 2])
        0.5
    """
    ya = np.asarray(y)
    if ya.size == 0 or not np.issubdtype(ya.dtype, np.integer):
        return 0.0
    counts = np.bincount(ya.astype(np.int64).ravel() - int(ya.min()))
    return float(counts.max() / ya.size)


@dataclass(frozen=True)
class Budget:
    """Validation accuracy may fall at most ``max_drop`` below ``start_accuracy``.

    Attributes:
        start_accuracy: Validation accuracy of the reference network (usually the start).
        max_drop: The allowed drop (``None``: no budget, every accuracy is admitted).
        chance: Accuracy of a collapsed network (majority-class rate of the validation
            labels, :func:`chance_level`); an accuracy at or below it is never admitted.
    """

    start_accuracy: float
    max_drop: float | None
    chance: float = 0.0

    def __post_init__(self) -> None:
        check_max_drop(self.max_drop)

    @property
    def floor(self) -> float:
        """``start_accuracy − max_drop`` (``-inf`` without a budget)."""
        if self.max_drop is None:
            return -math.inf
        return self.start_accuracy - self.max_drop

    def admits(self, accuracy: float) -> bool:
        """Whether ``accuracy`` is finite, ``>= floor`` and above the chance level."""
        acc = float(accuracy)
        if not math.isfinite(acc) or acc <= self.chance:
            return False
        return acc >= self.floor

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible ``start_accuracy``, ``max_drop``, ``chance`` and ``floor``."""
        floor = self.floor
        return {
            "start_accuracy": self.start_accuracy,
            "max_drop": self.max_drop,
            "chance": self.chance,
            "floor": floor if math.isfinite(floor) else None,
        }


class BestUnderBudget:
    """Keeps the smallest admitted network of a run (see the module docstring).

    Args:
        budget: The rule networks must meet.

    Attributes:
        network: The kept network (a copy of the one offered), ``None`` before any admission.
        accuracy: Its validation accuracy.
        step: The step it was offered at.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.network: Network | None = None
        self.accuracy = -math.inf
        self.step: int | None = None

    def better(self, n_params: int, accuracy: float) -> bool:
        """Whether a network of this size and accuracy would replace the kept one."""
        if not self.budget.admits(accuracy):
            return False
        if self.network is None:
            return True
        kept = self.network.n_params
        return n_params < kept or (n_params == kept and accuracy > self.accuracy)

    def offer(self, net: Network, accuracy: float, step: int) -> bool:
        """Keeps (a copy of) ``net`` if it is admitted and better; returns whether it was."""
        if not self.better(net.n_params, accuracy):
            return False
        self.network, self.accuracy, self.step = net.copy(), float(accuracy), int(step)
        return True

    def restore(self, net: Network, accuracy: float, step: int) -> None:
        """Sets the kept network (from a checkpoint) without checking it."""
        self.network, self.accuracy, self.step = net, float(accuracy), int(step)

    def state(self, folder: Path) -> dict[str, Any]:
        """JSON state for a checkpoint; the kept network is saved as ``folder/best_XXXX.npl``.

        ``XXXX`` is its step; save the state only after this returns, so that a complete
        checkpoint always finds the file.
        """
        if self.network is not None and self.step is not None:
            self.network.save(_kept_path(folder, self.step))
        kept = self.step is not None
        return {
            "budget": self.budget.to_dict(),
            "step": self.step,
            "accuracy": self.accuracy if kept else None,
        }

    def load_state(self, state: Mapping[str, Any], folder: Path) -> None:
        """Restores what :meth:`state` saved (nothing when no network was kept yet)."""
        if state.get("step") is not None:
            step = int(state["step"])
            self.restore(Network.load(_kept_path(folder, step)), state["accuracy"], step)


class MostAccurate(BestUnderBudget):
    """Keeps the admitted network with the highest validation accuracy.

    Ties go to the fewer parameters, then to the earlier offer. Use it with a budget without
    ``max_drop`` (``Budget(start, None, chance)``): every non-collapsed network is admitted.

    Example:
        >>> from neuroplast import Network, Spec
        >>> best = MostAccurate(Budget(0.2, None, chance=0.1))
        >>> nets = [Network.init(Spec.mlp(4, [w], 2), seed=0) for w in (2, 8, 4)]
        >>> [best.offer(n, a, s) for s, (n, a) in enumerate(zip(nets, (0.6, 0.9, 0.9)))]
        [True, True, True]
        >>> best.step, best.network.n_params
        (2, 30)
    """

    def better(self, n_params: int, accuracy: float) -> bool:
        """Whether a network of this size and accuracy would replace the kept one."""
        if not self.budget.admits(accuracy):
            return False
        if self.network is None:
            return True
        acc = float(accuracy)
        return acc > self.accuracy or (acc == self.accuracy and n_params < self.network.n_params)


def _kept_path(folder: Path, step: int) -> Path:
    return Path(folder) / f"best_{step:04d}.npl"


def fine_tune(
    net: Network,
    data: Splits,
    *,
    epochs: int,
    patience: int,
    optimizer: Optimizer,
    batch_size: int,
    seed: int,
    fit_options: Mapping[str, Any] | None = None,
) -> tuple[Network, dict[str, Any]]:
    """Early-stopped fine-tuning of a copy of ``net``, kept only when it is not worse.

    Trains on ``data``'s training split for at most ``epochs`` epochs, stopping after
    ``patience`` epochs without a better validation accuracy and restoring the best epoch
    (:meth:`Network.fit <neuroplast.Network.fit>`). The tuned copy is returned when its
    validation accuracy is at least ``net``'s, so a network within a budget stays within it.
    ``fit_options`` are further :meth:`~neuroplast.Network.fit` arguments, or replace the
    ones above (e.g. ``monitor="val_loss"``, or ``teacher`` for distillation).

    Returns:
        ``(network, info)``: the tuned copy or ``net`` itself, and ``epochs`` (run),
        ``best_epoch``, validation accuracy ``before`` and ``after``, ``kept`` (and
        ``diverged``, the error message, when training diverged: ``net`` is returned).
    """
    before = _accuracy(net, data)
    tuned = net.copy()
    options: dict[str, Any] = {"monitor": "val_accuracy", "restore_best": True}
    options.update(fit_options or {})
    try:
        hist = tuned.fit(
            data.X_train,
            data.y_train,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            seed=seed,
            validation_data=(data.X_val, data.y_val),
            patience=patience,
            **options,
        )
    except NumericalError as exc:
        # A diverging fine-tune must not cost the network the search found.
        info = {"epochs": 0, "best_epoch": None, "before": before, "after": math.nan}
        return net, {**info, "kept": False, "diverged": str(exc)}
    after = _accuracy(tuned, data)
    kept = after >= before
    info = {
        "epochs": len(hist.val_accuracy),
        "best_epoch": hist.best_epoch,
        "before": before,
        "after": after,
        "kept": kept,
    }
    return (tuned if kept else net), info


class FinalTuning(Protocol):
    """A controller config with the final fine-tune's settings."""

    @property
    def final_epochs(self) -> int: ...
    @property
    def final_patience(self) -> int: ...
    @property
    def batch_size(self) -> int: ...


def fine_tune_final(
    net: Network,
    data: Splits,
    cfg: FinalTuning,
    *,
    optimizer: Optimizer,
    seed: int,
    fit_options: Mapping[str, Any] | None = None,
) -> tuple[Network, dict[str, Any]]:
    """:func:`fine_tune` with a config's ``final_epochs``, ``final_patience`` and ``batch_size``."""
    return fine_tune(
        net,
        data,
        epochs=cfg.final_epochs,
        patience=cfg.final_patience,
        optimizer=optimizer,
        batch_size=cfg.batch_size,
        seed=seed,
        fit_options=fit_options,
    )


def _accuracy(net: Network, data: Splits) -> float:
    return float(net.evaluate(data.X_val, data.y_val).get("accuracy", math.nan))
