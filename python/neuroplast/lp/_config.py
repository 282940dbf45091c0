"""The settings of the LP pruning controller (:class:`~neuroplast.lp.LPPrune`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from neuroplast.errors import ConfigError
from neuroplast.lp._solve import METHODS
from neuroplast.lp.perceptron import DEFAULT_BIG_M
from neuroplast.search._budget import check_max_drop
from neuroplast.search._contract import ConfigBase

__all__ = ["HIDDEN_ACTIVATIONS", "LPPruneConfig"]

#: How the start network's hidden layer is read (see :func:`~neuroplast.lp.prune_hidden_lp`).
HIDDEN_ACTIVATIONS = ("auto", "saturation", "real")


@dataclass(frozen=True)
class LPPruneConfig(ConfigBase):
    """Settings of :class:`~neuroplast.lp.LPPrune` (presets: :meth:`paper`, :meth:`fast`).

    The saturation limits are fixed at (-1, 1), those of the engine's ``saturation`` and
    ``sign`` activations, so that the pruned network is a :class:`~neuroplast.Network`.

    Attributes:
        method: LP solver method: ``"auto"``, ``"simplex"`` or ``"ipm"``.
        big_m: Weight M of the artificial (training-error) variables.
        multilevel: After the hidden-layer LP, re-solve as a multi-level DAG (a DAG of
            perceptrons: needs the ``"saturation"`` reading).
        samples: Training samples in the LP (the first ``samples`` of the training split).
        tol: Weights below this magnitude count as zero (removed links).
        options: Solver options passed to :func:`neuroplast.lp.linprog` (``None``: defaults).
        max_drop: Accuracy budget (not in the paper): the returned network's validation
            accuracy may fall at most this much below the start network's; the smallest of
            the start network and the phases' networks within it is returned (see the module
            docstring). ``None`` (the ``paper`` preset): the last phase's network.
        hidden_activation: ``"saturation"`` (the seed's reading: every activation becomes
            saturation, both layers are re-solved), ``"real"`` (not in the paper: the output
            LP reads the hidden values the network really computes, the first layer is kept;
            the network keeps its activations; see :func:`~neuroplast.lp.prune_hidden_lp`) or
            ``"auto"``: ``"real"``, or ``"saturation"`` with ``multilevel`` (see
            :attr:`reading`). ``"real"`` is the default by measurement on the four frontier
            data sets (both fine-tuned on the LP's links): as close to the static frontier on
            average (Δ −0.0018 against −0.0017), closer in the worst set (−0.0063 against
            −0.0070), and its one LP takes under a second where the saturation reading's two
            take 13–120 s (``docs/controllers/lp.md``, "Defaults").
        final_epochs: Most epochs of a fine-tune of the last LP network (not in the paper;
            0: none): early stopping on the validation loss after ``final_patience`` epochs,
            best epoch restored, distilled from the start network (``alpha``,
            ``temperature``); kept when its validation accuracy is not lower. Every weight
            trains unless ``keep_links``; the unit count stays.
        final_patience: Early-stopping patience of the fine-tune.
        lr: Adam learning rate of the fine-tune.
        batch_size: Minibatch size of the fine-tune.
        temperature: Distillation temperature of the fine-tune.
        alpha: Weight of the distillation term (0: the hard labels alone).
        keep_links: Fine-tune on the LP network's support: its zero weights stay zero
            (:meth:`Network.fit <neuroplast.Network.fit>`'s ``weight_masks``), so the links
            stay those the LP left; otherwise every weight of the kept units trains. On by
            default: as accurate as training every weight on the four frontier sets (within
            seed noise) and the LP's sparsity survives.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    method: str = "auto"
    big_m: float = DEFAULT_BIG_M
    multilevel: bool = False
    samples: int = 500
    tol: float = 1e-7
    options: Mapping[str, Any] | None = None
    max_drop: float | None = 0.01
    hidden_activation: str = "auto"
    final_epochs: int = 60
    final_patience: int = 10
    lr: float = 1e-3
    batch_size: int = 64
    temperature: float = 4.0
    alpha: float = 0.5
    keep_links: bool = True

    def __post_init__(self) -> None:
        check_max_drop(self.max_drop)
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, got {self.method!r}")
        if not _positive(self.big_m):
            raise ConfigError(f"big_m must be a finite number > 0, got {self.big_m!r}")
        for flag in ("multilevel", "keep_links"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"{flag} must be a bool, got {getattr(self, flag)!r}")
        for name, low in (("samples", 1), ("final_epochs", 0), ("final_patience", 1)):
            _check_int(getattr(self, name), name, low)
        _check_int(self.batch_size, "batch_size", 1)
        if not _positive(self.tol) and self.tol != 0:
            raise ConfigError(f"tol must be a finite number >= 0, got {self.tol!r}")
        if self.hidden_activation not in HIDDEN_ACTIVATIONS:
            raise ConfigError(
                f"hidden_activation must be one of {HIDDEN_ACTIVATIONS}, "
                f"got {self.hidden_activation!r}"
            )
        if self.multilevel and self.hidden_activation == "real":
            raise ConfigError(
                "multilevel needs the saturation reading, not hidden_activation='real'"
            )
        if not _positive(self.lr) or not _positive(self.temperature):
            raise ConfigError("lr and temperature must be finite numbers > 0")
        if not (isinstance(self.alpha, int | float) and 0 <= self.alpha <= 1):
            raise ConfigError(f"alpha must be in [0, 1], got {self.alpha!r}")
        if self.options is not None:
            # A read-only copy: the config is frozen, and the caller's dict may change later.
            object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    @property
    def reading(self) -> str:
        """The hidden layer's reading the run uses: ``"saturation"`` or ``"real"``."""
        if self.hidden_activation == "auto":
            return "saturation" if self.multilevel else "real"
        return self.hidden_activation

    @classmethod
    def paper(cls, **overrides: Any) -> LPPruneConfig:
        """The seed's procedure: simplex, both LPs on the saturation reading, no budget or tune."""
        base = {
            "method": "simplex",
            "multilevel": True,
            "max_drop": None,
            "hidden_activation": "saturation",
            "final_epochs": 0,
        }
        return cls(**{**base, **overrides})

    @classmethod
    def fast(cls, **overrides: Any) -> LPPruneConfig:
        """The library defaults: the hidden-layer LP, ``max_drop=0.01``, then a fine-tune."""
        return cls(**overrides)


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _check_int(value: object, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be an int >= {low}, got {value!r}")
