"""Optimizers (PyTorch update rules) and the optimizer state that travels with a network."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "OptimizerState"]


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


def _finite_nonneg(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x >= 0


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    Update (as ``torch.optim.SGD`` with zero dampening): ``d = g + wd·w``; ``b = μ·b + d``;
    ``w -= lr·(d + μ·b if nesterov else b)``.

    Example:
        >>> SGD(lr=0.05, momentum=0.9, nesterov=True).kind
        'sgd'
    """

    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _check(_finite_nonneg(self.lr) and self.lr > 0, f"lr must be > 0, got {self.lr!r}")
        _check(
            _finite_nonneg(self.momentum) and self.momentum < 1,
            f"momentum must be in [0, 1), got {self.momentum!r}",
        )
        _check(
            _finite_nonneg(self.weight_decay),
            f"weight_decay must be >= 0, got {self.weight_decay!r}",
        )
        _check(not self.nesterov or self.momentum > 0, "nesterov requires momentum > 0")

    @property
    def kind(self) -> str:
        """Identifier of the update rule."""
        return "sgd"

    @property
    def slot_names(self) -> tuple[str, ...]:
        """Names of the per-parameter state buffers."""
        return ("momentum_buffer",) if self.momentum > 0 else ()

    def to_dict(self) -> dict[str, Any]:
        """Settings as passed to the engine."""
        return {
            "kind": "sgd",
            "lr": self.lr,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` is L2 added to the gradient.

    Example:
        >>> Adam(lr=1e-3).betas
        (0.9, 0.999)
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _check(_finite_nonneg(self.lr) and self.lr > 0, f"lr must be > 0, got {self.lr!r}")
        try:
            betas = tuple(self.betas)
        except TypeError:
            betas = ()
        _check(
            len(betas) == 2 and all(_finite_nonneg(b) and b < 1 for b in betas),
            f"betas must be two values in [0, 1), got {self.betas!r}",
        )
        object.__setattr__(self, "betas", betas)
        _check(_finite_nonneg(self.eps) and self.eps > 0, f"eps must be > 0, got {self.eps!r}")
        _check(
            _finite_nonneg(self.weight_decay),
            f"weight_decay must be >= 0, got {self.weight_decay!r}",
        )

    @property
    def kind(self) -> str:
        """Identifier of the update rule."""
        return "adam"

    @property
    def slot_names(self) -> tuple[str, ...]:
        """Names of the per-parameter state buffers."""
        return ("exp_avg", "exp_avg_sq")

    def to_dict(self) -> dict[str, Any]:
        """Settings as passed to the engine."""
        return {
            "kind": self.kind,
            "lr": self.lr,
            "beta1": self.betas[0],
            "beta2": self.betas[1],
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``w ← w·(1 − lr·wd)`` each step.

    Example:
        >>> AdamW().weight_decay
        0.01
    """

    weight_decay: float = 0.01

    @property
    def kind(self) -> str:
        """Identifier of the update rule."""
        return "adamw"


Optimizer: TypeAlias = SGD | Adam | AdamW


@dataclass(frozen=True)
class OptimizerState:
    """Optimizer buffers of a network: the update count and, per parameter, its slots.

    ``slots[param_name][slot_name]`` has the parameter's shape, so structural edits can
    transform the state exactly like the parameter itself.
    """

    kind: str
    step: int
    slots: Mapping[str, Mapping[str, npt.NDArray[np.float32]]] = field(default_factory=dict)

    def compatible_with(self, optimizer: Optimizer, shapes: Mapping[str, tuple[int, ...]]) -> bool:
        """Whether this state can continue training with ``optimizer`` on ``shapes``."""
        # Adam and AdamW share their moments; switching between them keeps the state.
        same_family = self.kind == optimizer.kind or {self.kind, optimizer.kind} == {
            "adam",
            "adamw",
        }
        if not same_family or set(self.slots) != set(shapes):
            return False
        return all(
            set(self.slots[p]) == set(optimizer.slot_names)
            and all(a.shape == shapes[p] for a in self.slots[p].values())
            for p in shapes
        )

    def copy(self) -> OptimizerState:
        """A deep copy."""
        return OptimizerState(
            self.kind,
            self.step,
            {p: {k: v.copy() for k, v in s.items()} for p, s in self.slots.items()},
        )
