"""Configuration of the MCTS controller (seed 000) and its presets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

from neuroplast.errors import ConfigError
from neuroplast.search._budget import check_max_drop
from neuroplast.search._contract import ConfigBase
from neuroplast.search.mcts.actions import ActionSpace

__all__ = ["MCTSConfig", "Phase", "penalized_score", "score"]

Phase = Literal["grow", "optimize"]


def score(accuracy: float, n_params: int, w_acc: float, w_params: float, beta: float) -> float:
    """The paper's eq. 1: ``(w_acc·acc + w_params/(1 + β·p)) / (w_acc + w_params)``.

    Example:
        >>> round(score(0.9, 1000, 1.0, 2.0, 0.001), 4)
        0.6333
    """
    return (w_acc * accuracy + w_params / (1.0 + beta * n_params)) / (w_acc + w_params)


def penalized_score(
    accuracy: float,
    n_params: int,
    floor: float,
    w_acc: float,
    w_params: float,
    beta: float,
) -> float:
    """Eq. 1 inside the accuracy budget, a penalty below it (``budget_score``).

    The rule: ``score(acc, p)`` (in ``[0, 1]``) when ``acc >= floor``, else
    ``acc − floor − 1`` (in ``[−2, −1)``). Every candidate inside the budget therefore beats
    every candidate below the floor, whatever their sizes; inside the budget eq. 1 ranks as in
    the paper (with w_params = 2 in phase 2: mostly by size), below it the candidates rank by
    accuracy alone (the least bad first). A non-finite accuracy scores ``−2``.

    Example:
        >>> round(penalized_score(0.96, 760, 0.95, 1.0, 2.0, 0.001), 4)
        0.6988
        >>> round(penalized_score(0.90, 760, 0.95, 1.0, 2.0, 0.001), 4)
        -1.05
    """
    if not math.isfinite(accuracy):
        return -2.0
    if accuracy >= floor:
        return score(accuracy, n_params, w_acc, w_params, beta)
    return max(accuracy - floor, -1.0) - 1.0


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
            the best (``"max"``) or the mean (``"mean"``) of the node's own score and the
            rollout's scores.
        backup: How values combine in the tree: ``"mean"`` (the paper's UCB1 on mean values)
            or ``"max"`` (single-player MCTS: UCB1 on the best value backed up through a
            node; see :mod:`~neuroplast.search.mcts.tree`).
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
            ``"optimize"`` stops by the budget (below) or, without one (``max_drop=None``,
            the paper), once parameters fell by ``min_param_reduction`` with an accuracy drop
            below ``max_accuracy_drop``; ``None`` runs every generation (and stops by the
            budget when one is set).
    Budget (not in the paper; phases ``"optimize"`` and ``None``):
        max_drop: Validation accuracy may fall at most this much below generation 0's (the
            start network's; :class:`~neuroplast.search._budget.Budget`). The run returns the
            network of the generation with the fewest parameters among those within the
            budget (ties: higher validation accuracy), never the last one by default, never
            a collapsed one (accuracy at or below the majority-class rate); and it stops
            (``stop_reason`` ``"budget: ..."``) when no action of a decision keeps the
            search's validation accuracy within the budget. ``None``: no budget, the last
            network is returned (the paper). Phase ``"grow"`` starts from an untrained
            network, so the budget does not apply there (the last network is returned).
        budget_score: Score candidates of the search with
            :func:`penalized_score` (eq. 1 inside the budget, below every in-budget
            candidate outside it) and choose only among in-budget actions; ``False``: the
            paper's eq. 1 (:func:`score`). No effect without a budget. In the search the
            floor is measured the search's way: generation 0's accuracy on the validation
            subset (``val_size``) minus ``max_drop``, compared with accuracies after the short
            training (``train_epochs``, ``train_samples``).
        final_epochs: Fine-tune the chosen network at the end for at most this many epochs
            with early stopping on validation accuracy (``final_patience``), restoring the
            best epoch; the tuned network is returned when its validation accuracy is at
            least the untuned one's (so it stays within the budget). ``0``: no fine-tuning.
        final_patience: Epochs without improvement before the fine-tuning stops.
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
    backup: Literal["mean", "max"] = "mean"
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
    max_drop: float | None = 0.01
    budget_score: bool = True
    final_epochs: int = 0
    final_patience: int = 10
    actions: ActionSpace = field(default_factory=ActionSpace)

    def __post_init__(self) -> None:
        if isinstance(self.actions, Mapping):
            object.__setattr__(self, "actions", ActionSpace.from_dict(self.actions))
        check_max_drop(self.max_drop)
        if not isinstance(self.budget_score, bool):
            raise ConfigError(f"budget_score must be a bool, got {self.budget_score!r}")
        for name in (
            "generations",
            "epochs",
            "initial_epochs",
            "depth",
            "train_epochs",
            "final_epochs",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in (
            "batch_size",
            "parallel",
            "threads",
            "cache_size",
            "tree_depth",
            "final_patience",
        ):
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
        if self.backup not in ("mean", "max"):
            raise ConfigError(f"backup must be mean or max: {self.backup!r}")
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

    @property
    def uses_budget(self) -> bool:
        """Whether the budget applies: ``max_drop`` is set and the phase is not ``"grow"``."""
        return self.max_drop is not None and self.phase != "grow"

    # ------------------------------------------------------------------ presets
    @classmethod
    def paper(cls, phase: Phase | None = "optimize", **overrides: Any) -> MCTSConfig:
        """The paper's settings (seed 000, Sec. 3.1 and Fig. 1).

        20 generations of 50 epochs, β = 0.001, w_acc = 1, w_params = 2 in phase 2 (0.5 in
        phase 1, the authors' code default; the paper states only phase 2's), rollout depth 2,
        UCB1 with c = √2. The paper states no search budget; its authors' code stops a decision
        after 60 s. The preset uses a deterministic 100 evaluations per decision instead (pass
        ``seconds=60`` for the time budget). No accuracy budget (``max_drop=None``,
        ``budget_score=False``): candidates are scored by eq. 1, phase 2 stops by the paper's
        rule and the last network is returned; pass ``max_drop=0.01`` to return the best
        network within a budget instead.

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
            max_drop=None,
            budget_score=False,
        )
        return base.replace(**overrides)

    @classmethod
    def fast(cls, phase: Phase | None = "optimize", **overrides: Any) -> MCTSConfig:
        """Quick runs: 8 generations of 5 epochs, 24 evaluations per decision, depth 1.

        w_params is 2 for phase 2 and 0.5 otherwise, as in :meth:`paper`; phase 1 trains 5
        initial epochs. Unlike the paper, phases ``"optimize"`` and ``None`` work within an
        accuracy budget (``max_drop=0.01``, ``budget_score=True``), remove neurons by data-aware
        selection with a least-squares refit of the consumers (``narrow_method="select"``,
        ``narrow_compensate="lstsq"``: the paper's quasi-identity resampling loses more than
        the budget allows at every step, so it could not shrink at all) and fine-tune the
        chosen network at the end (``final_epochs=50``, early stopping with
        ``final_patience=10``).

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
            actions=ActionSpace(narrow_method="select", narrow_compensate="lstsq"),
            final_epochs=0 if phase == "grow" else 50,
        )
        return base.replace(**overrides)
