"""Settings of :class:`~neuroplast.search.ASNG` (presets ``paper`` and ``fast``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from neuroplast.errors import ConfigError
from neuroplast.search._contract import ConfigBase
from neuroplast.search.asng.encoding import SELECTIONS

__all__ = ["COSTS", "ASNGConfig"]

#: Complexity coefficients: ``"auto"`` (the paper's choice per selection), ``"weights"``
#: (parameters switched per bit) or ``"ones"`` (one per bit).
COSTS: tuple[str, ...] = ("auto", "weights", "ones")


def _finite(value: object) -> bool:
    real = isinstance(value, int | float) and not isinstance(value, bool)
    return real and math.isfinite(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ASNGConfig(ConfigBase):
    """Settings of :class:`~neuroplast.search.ASNG`; the defaults are the paper's (Sec. 4).

    Attributes:
        select: ``"units"`` (hidden units of dense/conv layers) or ``"connections"`` (inputs
            of add/concat merges).
        layers: Layers (units) or merges (connections) to search; empty: every eligible one.
        penalty: ``ε₀``, the complexity penalty before normalization by ``max(c)``; larger
            values remove more. Negative values favour keeping bits.
        cost: Complexity coefficient per bit: ``"weights"`` (the parameters the bit switches),
            ``"ones"``, or ``"auto"`` (``"ones"`` for units and ``"weights"`` for connections,
            as in the paper's two experiments).
        lam: Structures sampled per minibatch (``λ ≥ 2``).
        eta: Learning rate of ``θ``; ``None`` is the paper's ``1/d``.
        theta0: Initial probability of every bit.
        epochs: Training epochs.
        batch_size: Minibatch size (the paper: 32 for ASNG, twice that for fixed networks).
        lr: Initial SGD learning rate (the paper: 0.01 for units, 0.1 for DenseNet).
        momentum: Nesterov momentum.
        weight_decay: L2 weight decay.
        milestones: Fractions of ``epochs`` after which the learning rate is multiplied by
            ``lr_factor``.
        lr_factor: The learning-rate decay at each milestone.
        finetune_epochs: SGD epochs on the smaller network after removal (0: none); kept only
            if the validation accuracy does not drop.
        finetune_lr: Learning rate of the fine-tune; ``None``: the last scheduled rate.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    select: str = "units"
    layers: tuple[str, ...] = ()
    penalty: float = 2.0**-7
    cost: str = "auto"
    lam: int = 2
    eta: float | None = None
    theta0: float = 0.5
    epochs: int = 500
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    milestones: tuple[float, ...] = (0.5, 0.75)
    lr_factor: float = 0.1
    finetune_epochs: int = 0
    finetune_lr: float | None = None

    def __post_init__(self) -> None:
        if self.select not in SELECTIONS:
            raise ConfigError(f"select must be one of {SELECTIONS}, got {self.select!r}")
        if self.cost not in COSTS:
            raise ConfigError(f"cost must be one of {COSTS}, got {self.cost!r}")
        if isinstance(self.layers, str) or not all(isinstance(x, str) for x in self.layers):
            raise ConfigError(f"layers must be a tuple of names, got {self.layers!r}")
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "milestones", tuple(self.milestones))
        if not _finite(self.penalty):
            raise ConfigError(f"penalty (ε₀) must be a finite number, got {self.penalty!r}")
        for name in ("lam", "epochs", "batch_size", "finetune_epochs"):
            v = getattr(self, name)
            low = {"lam": 2, "finetune_epochs": 0}.get(name, 1)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                why = " (the ranking needs two samples)" if name == "lam" else ""
                raise ConfigError(f"{name} must be an int >= {low}{why}, got {v!r}")
        for name in ("lr", "lr_factor"):
            if not _finite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be a positive number, got {getattr(self, name)!r}")
        for name in ("eta", "finetune_lr"):
            v = getattr(self, name)
            if v is not None and (not _finite(v) or v <= 0):
                raise ConfigError(f"{name} must be a positive number or None, got {v!r}")
        if not _finite(self.theta0) or not 0 < self.theta0 < 1:
            raise ConfigError(f"theta0 must be in (0, 1), got {self.theta0!r}")
        if not _finite(self.momentum) or not 0 < self.momentum < 1:
            raise ConfigError(f"momentum must be in (0, 1) (Nesterov), got {self.momentum!r}")
        if not _finite(self.weight_decay) or self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not all(_finite(m) and 0 < m <= 1 for m in self.milestones):
            raise ConfigError(f"milestones must be fractions in (0, 1], got {self.milestones!r}")

    @property
    def cost_kind(self) -> str:
        """The resolved complexity coefficient: ``"weights"`` or ``"ones"``."""
        if self.cost != "auto":
            return self.cost
        return "ones" if self.select == "units" else "weights"

    def lr_at(self, epoch: int) -> float:
        """The learning rate of (0-based) ``epoch``."""
        passed = sum(epoch >= m * self.epochs for m in self.milestones)
        return float(self.lr * self.lr_factor**passed)

    @classmethod
    def paper(cls, **overrides: Any) -> ASNGConfig:
        """The paper's settings: 500 epochs at lr 0.01 for units, 300 at lr 0.1 for connections.

        ``λ = 2``, ``η_θ = 1/d``, ``θ⁽⁰⁾ = 0.5``, minibatch 32, SGD with Nesterov momentum 0.9,
        weight decay 1e-4, learning rate divided by 10 at 1/2 and 3/4 of the epochs.
        """
        base: dict[str, Any] = {}
        if overrides.get("select") == "connections":
            base.update(epochs=300, lr=0.1)
        base.update(overrides)
        return cls(**base)

    @classmethod
    def fast(cls, **overrides: Any) -> ASNGConfig:
        """A quick run: the paper's update, 20 epochs and a 2-epoch fine-tune."""
        base: dict[str, Any] = {"epochs": 20, "finetune_epochs": 2}
        if overrides.get("select") == "connections":
            base.update(lr=0.1)
        base.update(overrides)
        return cls(**base)
