"""Settings of the dynamic growth controllers: :class:`NeurogenesisConfig` and :class:`DYNOConfig`.

Both are frozen dataclasses with two presets: ``paper`` (the thesis' settings) and ``fast``
(a quick setting for demos, tests and the frontier protocol: it returns the best network seen
rather than the last and ends with an early-stopped fine-tuning). Every setting of a run lives
here, training included (epochs or steps, batch size, learning rate), so that ``config.json``
of a run folder describes the run completely.

Example:
    >>> NeurogenesisConfig.fast(strategy="gradmax").eval_every
    10
    >>> DYNOConfig.paper().steps, DYNOConfig.paper().eval_every, DYNOConfig.paper().max_drop
    (1000, 50, None)
    >>> DYNOConfig().max_drop, DYNOConfig.fast().final_epochs
    (0.01, 50)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from neuroplast._arrays import check_int
from neuroplast.errors import ConfigError
from neuroplast.growth import ActivationTrigger, GradientTrigger, PruneGrowTrigger, WeightTrigger
from neuroplast.optim import Adam
from neuroplast.search._budget import check_max_drop
from neuroplast.search._contract import ConfigBase

__all__ = ["SCHEDULES", "STRATEGIES", "DYNOConfig", "NeurogenesisConfig", "Schedule"]

#: Strategy → (trigger kind, initialization), thesis Table 7.
STRATEGIES: dict[str, tuple[str, str]] = {
    "north-select": ("activation", "north_select"),
    "north-pre": ("activation", "north_pre"),
    "north-random": ("activation", "north_random"),
    "north-weight": ("weight", "north_weight"),
    "gradmax": ("gradient", "gradmax"),
    "firefly": ("gradient", "firefly"),
    "nest": ("gradient", "nest"),
}
Schedule = Literal["dynamic", "linear", "batched"]
SCHEDULES: tuple[str, ...] = ("dynamic", "linear", "batched")

Widths = int | Mapping[str, int] | None


def _widths(value: Widths, name: str) -> Widths:
    """An int, a plain dict of ints, or ``None`` (mappings copied so the config stays frozen)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): check_int(v, f"{name}[{k!r}]", 1, 2**31) for k, v in value.items()}
    return check_int(value, name, 1, 2**31)


def _layers(value: Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"layers must be a sequence of layer names, got {value!r}")
    return tuple(value)


def _fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"{name} must be in (0, 1], got {value!r}")
    return float(value)


def _training(cfg: Any, length: str) -> None:
    """Checks the shared training settings (the length field is ``epochs`` or ``steps``)."""
    check_int(getattr(cfg, length), length, 1, 2**31)
    check_int(cfg.batch_size, "batch_size", 1, 2**31)
    check_int(cfg.eval_every, "eval_every", 1, 2**31)
    Adam(lr=cfg.lr, weight_decay=cfg.weight_decay)  # validates lr and weight_decay


def _returned(cfg: Any) -> None:
    """Checks the settings of the returned network: budget and final fine-tuning."""
    check_max_drop(cfg.max_drop)
    check_int(cfg.final_epochs, "final_epochs", 0, 2**31)
    check_int(cfg.final_patience, "final_patience", 1, 2**31)


@dataclass(frozen=True, kw_only=True)
class NeurogenesisConfig(ConfigBase):
    """Every setting of :class:`~neuroplast.search.growth.Neurogenesis` (Algorithm 4).

    The defaults are the ``paper`` preset (thesis Table 8, MLP columns; the reference code's
    learning rate; the last network is returned); ``fast`` evaluates the trigger every 10
    steps, scores 50 candidates, trains 5 epochs, returns the network of the epoch with the
    best validation accuracy (``restore_best``) and fine-tunes it (``final_epochs=50``).

    Neurogenesis grows from a small, usually untrained network, so an accuracy budget
    relative to the start network (``max_drop``, as the pruning controllers have) means
    nothing here: ``max_drop`` is ``None`` in both presets, and ``restore_best`` picks the
    returned network instead.

    Args:
        strategy: A key of :data:`STRATEGIES` (thesis Table 7): its trigger and initialization.
        schedule: ``"dynamic"`` (the strategy's trigger) or a preset ``"linear"`` /
            ``"batched"`` schedule to ``target_width`` (the strategy's initialization only).
        epochs: Epochs of training (thesis: 20 on MNIST).
        batch_size: Minibatch size (thesis: 128 on generated data, 512 on MNIST).
        lr: Adam learning rate (reference code: 3e-3).
        weight_decay: Adam's L2 weight decay (0).
        gamma_a: γ of the activation trigger (0.97).
        gamma_w: γ of the weight trigger (0.99).
        eps: ε of the effective dimension (0.01).
        metric: ``"effective_dimension"`` or ``"orthogonality_gap"`` (activation trigger).
        threshold_scale: Scale of the gradient trigger's threshold (1: as printed; the
            reference code uses 0.5).
        max_width: Largest width per layer (int or mapping); default 8× the initial width.
        target_width: Final width of the preset schedules (int or mapping).
        buffer_size: Activation buffer capacity; default ``max(2 × largest max_width, 128)``
            (the 128 only for convolutions).
        candidates: Candidates of the candidate-based initializations (default: thesis
            values, 1000 dense / 100 conv plus the number to add).
        eval_every: Gradient steps between trigger evaluations (thesis: 1).
        layers: Hidden layers that grow (default: every growable one).
        grow_fraction: Fraction of training during which the preset schedules grow (0.75).
        events: Growth events of the ``"batched"`` schedule (8).
        restore_best: Return the network of the history record (the start, then every
            epoch's end) with the highest validation accuracy (ties: the smaller, then the
            earlier), not the last one (not in the thesis).
        max_drop: An accuracy budget relative to the start network
            (:class:`~neuroplast.search.Budget`): the returned network is the smallest record
            within it (overrides ``restore_best``). Only meaningful for a trained start
            network — which is itself within the budget, so the start is returned unless it
            is collapsed; ``None`` (both presets): no budget.
        final_epochs: Fine-tune the returned network for at most this many epochs (the
            run's Adam settings) with early stopping on validation accuracy
            (``final_patience``), restoring the best epoch; the tuned network is kept only
            when its validation accuracy is at least the untuned one's. ``0``: none.
        final_patience: Epochs without improvement before the fine-tuning stops.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    strategy: str = "north-select"
    schedule: Schedule = "dynamic"
    epochs: int = 20
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.0
    gamma_a: float = 0.97
    gamma_w: float = 0.99
    eps: float = 0.01
    metric: Literal["effective_dimension", "orthogonality_gap"] = "effective_dimension"
    threshold_scale: float = 1.0
    max_width: Widths = None
    target_width: Widths = None
    buffer_size: int | None = None
    candidates: int | None = None
    eval_every: int = 1
    layers: Sequence[str] | None = None
    grow_fraction: float = 0.75
    events: int = 8
    restore_best: bool = False
    max_drop: float | None = None
    final_epochs: int = 0
    final_patience: int = 10

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}; choose from {list(STRATEGIES)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; choose from {SCHEDULES}")
        if self.schedule != "dynamic" and self.target_width is None:
            raise ConfigError(f"schedule={self.schedule!r} needs target_width")
        _training(self, "epochs")
        check_int(self.events, "events", 1, 2**31)
        _fraction(self.grow_fraction, "grow_fraction")
        _returned(self)
        if not isinstance(self.restore_best, bool):
            raise ConfigError(f"restore_best must be a bool, got {self.restore_best!r}")
        for name in ("buffer_size", "candidates"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name, 1, 2**31)
        # The triggers validate their own settings; build one of each kind once.
        ActivationTrigger(metric=self.metric, gamma=self.gamma_a, eps=self.eps)
        WeightTrigger(gamma=self.gamma_w, eps=self.eps)
        GradientTrigger(threshold_scale=self.threshold_scale)
        object.__setattr__(self, "max_width", _widths(self.max_width, "max_width"))
        object.__setattr__(self, "target_width", _widths(self.target_width, "target_width"))
        object.__setattr__(self, "layers", _layers(self.layers))

    @property
    def trigger_kind(self) -> str:
        """``"activation"``, ``"weight"`` or ``"gradient"`` (the strategy's trigger)."""
        return STRATEGIES[self.strategy][0]

    @property
    def initialization(self) -> str:
        """The strategy's initialization (a key of :data:`neuroplast.growth.INITIALIZATIONS`)."""
        return STRATEGIES[self.strategy][1]

    @classmethod
    def paper(cls, **overrides: Any) -> NeurogenesisConfig:
        """The thesis' settings (the field defaults) with ``overrides``."""
        return cls().replace(**overrides)

    @classmethod
    def fast(cls, **overrides: Any) -> NeurogenesisConfig:
        """A quick setting: 5 epochs, triggers every 10 steps, 50 candidates, best epoch tuned.

        The network of the best epoch is returned (``restore_best``), fine-tuned for at most
        50 epochs (``final_patience=10``).
        """
        fast: dict[str, Any] = {
            "epochs": 5,
            "eval_every": 10,
            "candidates": 50,
            "restore_best": True,
            "final_epochs": 50,
            "final_patience": 10,
        }
        return cls().replace(**{**fast, **overrides})


@dataclass(frozen=True, kw_only=True)
class DYNOConfig(ConfigBase):
    """Every setting of :class:`~neuroplast.search.growth.DYNO` (Algorithm 5).

    The defaults are the ``paper`` preset (thesis Sec. 7.3: 1000 steps of 64 samples, Adam lr
    3e-4 with weight decay 1e-3, triggers every 50 steps, δ = 0.03, ε = 0.01, 100 candidates
    per unit added) but for the accuracy budget (``max_drop=0.01``), which the ``paper``
    preset turns off (the thesis returns the last network); ``fast`` trains 200 steps with
    triggers every 20 and 20 candidates per unit, and fine-tunes the returned network
    (``final_epochs=50``).

    Args:
        steps: Gradient steps in total.
        batch_size: Minibatch size.
        lr: Adam learning rate.
        weight_decay: Adam's L2 weight decay.
        delta: δ of the triggers.
        eps: ε of φ_ED.
        eval_every: Gradient steps between trigger evaluations (and between history records
            and checkpoints).
        candidates_factor: NORTH-Select candidates per unit added.
        initial_baseline: φ* before a layer's first change (1.0; ``None``: first measurement).
        max_width: Largest width per layer (int or mapping); default 4× the initial width.
        min_width: Smallest width per layer; default the class count for dense layers, 1 for
            convolutions.
        buffer_factor: The activation buffer holds ``buffer_factor ×`` the widest layer's
            maximum width (> 1; reference code subsamples to 3× the width).
        layers: Layers that change (default: every growable hidden layer).
        max_drop: Accuracy budget (not in the thesis): the validation accuracy of the
            returned network may fall at most this much below the start network's
            (:class:`~neuroplast.search.Budget`). Every history record's network (the start,
            then after every chunk of ``eval_every`` steps) is a candidate; the run returns
            the one with the fewest parameters within the budget (ties: the higher
            validation accuracy, then the earlier), never a collapsed one (at or below the
            majority-class rate) and not the last one by default. ``None``: the last network.
        final_epochs: Fine-tune the returned network for at most this many epochs (the
            run's Adam settings) with early stopping on validation accuracy
            (``final_patience``), restoring the best epoch; the tuned network is kept only
            when its validation accuracy is at least the untuned one's (so it stays within
            the budget). ``0``: none.
        final_patience: Epochs without improvement before the fine-tuning stops.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-3
    delta: float = 0.03
    eps: float = 0.01
    eval_every: int = 50
    candidates_factor: int = 100
    initial_baseline: float | None = 1.0
    max_width: Widths = None
    min_width: Widths = None
    buffer_factor: float = 3.0
    layers: Sequence[str] | None = None
    max_drop: float | None = 0.01
    final_epochs: int = 0
    final_patience: int = 10

    def __post_init__(self) -> None:
        _training(self, "steps")
        _returned(self)
        check_int(self.candidates_factor, "candidates_factor", 1, 2**31)
        factor = self.buffer_factor
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 1:
            raise ConfigError(f"buffer_factor must be > 1, got {factor!r}")
        if not math.isfinite(factor):
            raise ConfigError(f"buffer_factor must be finite, got {factor!r}")
        # Validates delta, eps and initial_baseline.
        PruneGrowTrigger(delta=self.delta, eps=self.eps, initial_baseline=self.initial_baseline)
        object.__setattr__(self, "max_width", _widths(self.max_width, "max_width"))
        object.__setattr__(self, "min_width", _widths(self.min_width, "min_width"))
        object.__setattr__(self, "layers", _layers(self.layers))

    def trigger(self) -> PruneGrowTrigger:
        """A fresh prune/grow trigger with these settings."""
        return PruneGrowTrigger(
            delta=self.delta, eps=self.eps, initial_baseline=self.initial_baseline
        )

    @classmethod
    def paper(cls, **overrides: Any) -> DYNOConfig:
        """The thesis' settings (the field defaults without a budget) with ``overrides``."""
        return cls().replace(**{"max_drop": None, **overrides})

    @classmethod
    def fast(cls, **overrides: Any) -> DYNOConfig:
        """A quick setting: 200 steps, triggers every 20 steps, 20 candidates per unit.

        The smallest network within ``max_drop=0.01`` is returned, fine-tuned for at most 50
        epochs (``final_patience=10``).
        """
        fast: dict[str, Any] = {
            "steps": 200,
            "eval_every": 20,
            "candidates_factor": 20,
            "final_epochs": 50,
            "final_patience": 10,
        }
        return cls().replace(**{**fast, **overrides})
