"""Hyperparameters of the Surgeon (Schiessler et al. 2021, appendix) with typed validation."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from neuroplast.errors import ConfigError

__all__ = ["OPERATIONS", "Operation", "SelectionMode", "SurgeonConfig"]

#: The modification module's operations (seed 001, Sec. 3.1 and the appendix).
Operation = Literal[
    "identity", "add_neurons", "add_layer", "remove_neurons", "remove_layer", "factorize"
]
OPERATIONS: tuple[Operation, ...] = (
    "identity",
    "add_neurons",
    "add_layer",
    "remove_neurons",
    "remove_layer",
    "factorize",
)
#: ``"per_type"``: the best-rated candidate of every operation type (plus an optional random
#: draw); ``"top_n"``: the ``top_n`` best-rated candidates overall (seed 001, Sec. 3.2).
SelectionMode = Literal["per_type", "top_n"]

#: Appendix: recuperative training per operation, in multiples of ``recuperation_batches``.
PAPER_RECUPERATION: Mapping[str, int] = MappingProxyType(
    {
        "identity": 1,
        "add_neurons": 1,
        "add_layer": 10,
        "remove_neurons": 10,
        "remove_layer": 10,
        "factorize": 1,
    }
)


@dataclass(frozen=True)
class SurgeonConfig:
    """Everything that steers a Surgeon run; defaults are the paper's appendix.

    Attributes:
        total_epochs: Epochs of training the returned network receives (paper: 100).
        initial_epochs: Pre-training before the first decision point (paper: 10).
        decision_every: Epochs between decision points (paper: 10).
        branches: Concurrent branches kept at every decision point (paper: 2).
        max_redraws: Re-draws of candidates per decision point when no branch reaches the
            previous best validation accuracy (paper: 2).
        lr: SGD learning rate (paper: 0.005).
        momentum: SGD momentum (paper: plain SGD, 0).
        batch_size: Minibatch size (paper: 16).
        recuperation_batches: Unit of recuperative training in batches (paper: 25).
        recuperation: Recuperative training per operation in multiples of
            ``recuperation_batches`` (paper: 1 for identity, add neurons and truncated SVD,
            10 for add layer, remove neurons and remove layer).
        eps_abs: Absolute singular-value threshold ε₂ (paper: 0.3).
        eps_rel: Relative singular-value threshold ε₁ (paper: 0.005).
        selection: ``"per_type"`` (paper's experiments) or ``"top_n"``.
        top_n: Number of candidates drawn in ``"top_n"`` mode.
        random_draw: Add one uniformly drawn candidate from those not chosen (paper: True).
        include_identity: Every branch's unmodified copy competes (paper's Table 1).
        memory: One-cycle memory: a new branch is kept only if its validation accuracy at the
            decision point is at least the previous best; if none is, backtrack one step.
        operations: The operation types that may be proposed.
        widen_fractions: Sizes of the add-neurons candidates as fractions of the layer's
            width (the paper gives no sizes; the default is a small and a large step).
        min_widen: Smallest number of neurons an add-neurons candidate adds.
    """

    total_epochs: int = 100
    initial_epochs: int = 10
    decision_every: int = 10
    branches: int = 2
    max_redraws: int = 2
    lr: float = 0.005
    momentum: float = 0.0
    batch_size: int = 16
    recuperation_batches: int = 25
    recuperation: Mapping[str, int] = field(default_factory=lambda: dict(PAPER_RECUPERATION))
    eps_abs: float = 0.3
    eps_rel: float = 0.005
    selection: SelectionMode = "per_type"
    top_n: int = 7
    random_draw: bool = True
    include_identity: bool = True
    memory: bool = False
    operations: tuple[Operation, ...] = OPERATIONS
    widen_fractions: tuple[float, ...] = (0.1, 1.0)
    min_widen: int = 2

    def __post_init__(self) -> None:
        for name in (
            "total_epochs",
            "decision_every",
            "branches",
            "batch_size",
            "recuperation_batches",
            "top_n",
            "min_widen",
        ):
            _check_int(name, getattr(self, name), 1)
        _check_int("initial_epochs", self.initial_epochs, 0)
        _check_int("max_redraws", self.max_redraws, 0)
        if self.initial_epochs > self.total_epochs:
            raise ConfigError(
                f"initial_epochs ({self.initial_epochs}) exceeds total_epochs ({self.total_epochs})"
            )
        for name in ("lr", "eps_abs", "eps_rel"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"{name} must be a finite number, got {v!r}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.eps_abs < 0 or self.eps_rel < 0:
            raise ConfigError("eps_abs and eps_rel must be >= 0")
        if not (0.0 <= self.momentum < 1.0):
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.selection not in ("per_type", "top_n"):
            raise ConfigError(f"selection must be 'per_type' or 'top_n', got {self.selection!r}")
        ops = tuple(self.operations)
        bad = [o for o in ops if o not in OPERATIONS]
        if bad or not ops or len(set(ops)) != len(ops):
            raise ConfigError(f"operations must be distinct members of {OPERATIONS}, got {ops}")
        object.__setattr__(self, "operations", ops)
        rec = dict(self.recuperation)
        missing = [o for o in OPERATIONS if o not in rec]
        if missing or set(rec) - set(OPERATIONS):
            raise ConfigError(
                f"recuperation needs exactly the keys {OPERATIONS}, got {sorted(rec)}"
            )
        for o, v in rec.items():
            _check_int(f"recuperation[{o!r}]", v, 0)
        # A plain dict (copied): the config pickles and deep-copies.
        object.__setattr__(self, "recuperation", rec)
        fr = tuple(self.widen_fractions)
        if not fr or any(
            isinstance(f, bool) or not isinstance(f, (int, float)) or not f > 0 for f in fr
        ):
            raise ConfigError(f"widen_fractions must be positive numbers, got {fr}")
        object.__setattr__(self, "widen_fractions", tuple(float(f) for f in fr))

    @classmethod
    def paper(cls, **overrides: Any) -> SurgeonConfig:
        """The appendix's settings (SGD lr 0.005, batch 16, 100 epochs, decisions every 10)."""
        return cls(**overrides)

    @classmethod
    def fast(cls, **overrides: Any) -> SurgeonConfig:
        """A quick preset: 20 epochs, decisions every 4, one re-draw, larger steps.

        Example:
            >>> SurgeonConfig.fast().total_epochs
            20
        """
        base: dict[str, Any] = dict(
            total_epochs=20,
            initial_epochs=4,
            decision_every=4,
            max_redraws=1,
            lr=0.05,
            batch_size=32,
            recuperation_batches=10,
        )
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes: Any) -> SurgeonConfig:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (see :meth:`from_dict`)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["recuperation"] = dict(self.recuperation)
        d["operations"] = list(self.operations)
        d["widen_fractions"] = list(self.widen_fractions)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SurgeonConfig:
        """Inverse of :meth:`to_dict`; unknown keys are a :class:`ConfigError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown Surgeon settings: {sorted(unknown)}")
        kw = dict(d)
        for key in ("operations", "widen_fractions"):
            if key in kw:
                kw[key] = tuple(kw[key])
        return cls(**kw)


def _check_int(name: str, v: object, low: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ConfigError(f"{name} must be an int >= {low}, got {v!r}")
