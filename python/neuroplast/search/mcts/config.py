"""Configuration of the MCTS controller (seed 000) and its presets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

from neuroplast.errors import ConfigError
from neuroplast.search._contract import ConfigBase
from neuroplast.search.mcts.actions import ActionSpace

__all__ = ["MCTSConfig", "Phase", "score"]

Phase = Literal["grow", "optimize"]


def score(accuracy: float, n_params: int, w_acc: float, w_params: float, beta: float) -> float:
    """The paper's eq. 1: ``(w_acc·acc + w_params/(1 + β·p)) / (w_acc + w_params)``.

    Example:
        >>> round(score(0.9, 1000, 1.0, 2.0, 0.001), 4)
        0.6333
    """
    return (w_acc * accuracy + w_params / (1.0 + beta * n_params)) / (w_acc + w_params)


@dataclass(frozen=True)
class MCTSConfig(ConfigBase):
    """Every setting of an MCTS run; presets: :meth:`paper` and :meth:`fast`.

    Generations:
        generations: Most decisions (the paper: 20).
        epochs: Training epochs after each applied action (the paper: 50).
        initial_epochs: Epochs trained before generation 0 (for an untrained network).
        batch_size: Minibatch size of all training.
        lr: Adam learning rate of all training.
    Score (eq. 1):
        w_acc, w_params, beta: Weights and parameter scale (paper: 1, 2 in phase 2, 0.001).
    Search:
        rollouts: Evaluations per decision (deterministic budget; at least one per legal
            action of the current network); ``None`` with ``seconds``.
        seconds: Wall-clock budget per decision instead (not reproducible across machines).
        depth: Random actions per rollout after the evaluated node (the paper's ``d``).
        tree_depth: Deepest level of stored nodes; deeper moves happen only in rollouts.
        c: UCB1 exploration constant (the paper gives none; ``√2``, the classical value).
        rollout_value: Value backed up: the score after the last rollout step (``"last"``),
            the best (``"max"``) or the mean (``"mean"``) score along the rollout.
        train_epochs, train_samples: The short training after every edit in the search:
            epochs over a seeded subset of ``train_samples`` training samples.
        val_size: Validation samples scored in the search (a seeded subset of the validation
            split; ``None``: all of it). Generation records always use the whole split.
        parallel: Evaluations submitted together (to the executor); results do not depend on
            the executor, only on this number.
        threads: Engine threads per evaluation.
        cache_size: Most networks of tree nodes kept in memory (others are re-derived).
        cache_mb: Most memory (parameters and optimizer state) of those cached networks.
    Phases:
        phase: ``"grow"`` stops when validation accuracy reaches ``target_accuracy``;
            ``"optimize"`` stops once parameters fell by ``min_param_reduction`` with an
            accuracy drop below ``max_accuracy_drop``; ``None`` runs every generation.
    Actions:
        actions: The :class:`~neuroplast.search.mcts.actions.ActionSpace`.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    generations: int = 20
    epochs: int = 50
    initial_epochs: int = 0
    batch_size: int = 32
    lr: float = 1e-3
    w_acc: float = 1.0
    w_params: float = 1.0
    beta: float = 0.001
    rollouts: int | None = 60
    seconds: float | None = None
    depth: int = 2
    tree_depth: int = 3
    c: float = math.sqrt(2.0)
    rollout_value: Literal["last", "max", "mean"] = "last"
    train_epochs: int = 1
    train_samples: int | None = 512
    val_size: int | None = 500
    parallel: int = 1
    threads: int = 1
    cache_size: int = 256
    cache_mb: float = 16.0
    phase: Phase | None = "optimize"
    target_accuracy: float = 0.9
    min_param_reduction: float = 0.2
    max_accuracy_drop: float = 0.1
    actions: ActionSpace = field(default_factory=ActionSpace)

    def __post_init__(self) -> None:
        if isinstance(self.actions, Mapping):
            object.__setattr__(self, "actions", ActionSpace.from_dict(self.actions))
        for name in ("generations", "epochs", "initial_epochs", "depth", "train_epochs"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("batch_size", "parallel", "threads", "cache_size", "tree_depth"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if (self.rollouts is None) == (self.seconds is None):
            raise ConfigError("set exactly one budget: rollouts or seconds")
        if self.rollouts is not None and self.rollouts < 1:
            raise ConfigError(f"rollouts must be >= 1, got {self.rollouts}")
        if self.seconds is not None and not self.seconds > 0:
            raise ConfigError(f"seconds must be > 0, got {self.seconds}")
        if self.w_acc < 0 or self.w_params < 0 or self.w_acc + self.w_params <= 0:
            raise ConfigError("w_acc and w_params must be >= 0 with a positive sum")
        if self.beta < 0 or self.c < 0 or self.lr <= 0:
            raise ConfigError("beta and c must be >= 0 and lr > 0")
        if self.rollout_value not in ("last", "max", "mean"):
            raise ConfigError(f"rollout_value must be last, max or mean: {self.rollout_value!r}")
        if self.phase not in ("grow", "optimize", None):
            raise ConfigError(f"phase must be 'grow', 'optimize' or None, got {self.phase!r}")
        if not self.cache_mb >= 0:
            raise ConfigError(f"cache_mb must be >= 0, got {self.cache_mb}")
        if self.val_size is not None and self.val_size < 1:
            raise ConfigError(f"val_size must be >= 1 or None, got {self.val_size}")
        if self.train_samples is not None and self.train_samples < 1:
            raise ConfigError(f"train_samples must be >= 1 or None, got {self.train_samples}")

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``; setting one budget (``rollouts``/``seconds``) clears the other.

        Raises:
            ConfigError: Unknown names or invalid values.
        """
        if changes.get("seconds") is not None and "rollouts" not in changes:
            changes["rollouts"] = None
        if changes.get("rollouts") is not None and "seconds" not in changes:
            changes["seconds"] = None
        return super().replace(**changes)

    # ------------------------------------------------------------------ presets
    @classmethod
    def paper(cls, phase: Phase | None = "optimize", **overrides: Any) -> MCTSConfig:
        """The paper's settings (seed 000, Sec. 3.1 and Fig. 1).

        20 generations of 50 epochs, β = 0.001, w_acc = 1, w_params = 2 in phase 2 (0.5 in
        phase 1, the authors' code default; the paper states only phase 2's), rollout depth 2,
        UCB1 with c = √2. The paper states no search budget; its authors' code stops a decision
        after 60 s. The preset uses a deterministic 100 evaluations per decision instead (pass
        ``seconds=60`` for the time budget).

        Args:
            phase: ``"optimize"`` (phase 2, a trained network), ``"grow"`` (phase 1: 50
                initial epochs, then grow until ``target_accuracy``) or ``None`` (every
                generation).
            **overrides: Fields replaced on the preset.

        Example:
            >>> cfg = MCTSConfig.paper(phase="grow")
            >>> cfg.epochs, cfg.w_params, cfg.initial_epochs
            (50, 0.5, 50)
        """
        base = cls(
            generations=20,
            epochs=50,
            w_params=2.0 if phase == "optimize" else 0.5,
            rollouts=100,
            depth=2,
            phase=phase,
            initial_epochs=0 if phase == "optimize" else 50,
        )
        return base.replace(**overrides)

    @classmethod
    def fast(cls, phase: Phase | None = "optimize", **overrides: Any) -> MCTSConfig:
        """Quick runs: 8 generations of 5 epochs, 24 evaluations per decision, depth 1.

        w_params is 2 for phase 2 and 0.5 otherwise, as in :meth:`paper`; phase 1 trains 5
        initial epochs.

        Args:
            phase: ``"optimize"``, ``"grow"`` or ``None`` (see :meth:`paper`).
            **overrides: Fields replaced on the preset.

        Example:
            >>> MCTSConfig.fast(rollouts=6).rollouts
            6
        """
        base = cls(
            generations=8,
            epochs=5,
            w_params=2.0 if phase == "optimize" else 0.5,
            rollouts=24,
            depth=1,
            tree_depth=2,
            train_samples=256,
            val_size=300,
            phase=phase,
            initial_epochs=0 if phase == "optimize" else 5,
        )
        return base.replace(**overrides)
