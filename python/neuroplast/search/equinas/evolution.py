"""EquiNAS_E: evolutionary search over per-layer symmetry (Maile 2023, ch. 4, Algorithm 1).

Hill climbing with network morphisms (Elsken et al. 2019) and Pareto selection: the population
starts from one fully equivariant G-CNN (every layer ``D4`` in the thesis). Every generation,

1. each parent adds as children all its single-layer relaxations (:func:`~neuroplast.morph.relax`
   along one lattice edge, keeping each layer's group a subgroup of the layer before: local
   equivariance), which inherit the parent's weights and start with its exact function;
2. every individual, parents included, trains for ``epochs_per_generation`` epochs (0.5 in the
   thesis: one pass over a seeded half of the training split, the same half for all) with
   plain SGD (lr 0.1, no momentum, "to avoid confounding effects such as momentum during the
   morphism");
3. the new parents are the Pareto front of (validation accuracy ↑, parameters ↓), topped up
   with the most accurate others to ``population`` (:mod:`._pareto`).

The thesis does not say how many children a parent gets; here all its valid relaxations, or a
seeded sample of ``max_children``. The result is the most accurate individual of the final
population (fewest parameters on ties); :attr:`EquiNASEResult.population` lists all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from neuroplast import _core
from neuroplast.errors import ConfigError
from neuroplast.layers import GroupConv, LiftConv
from neuroplast.morph.record import EditLog, EditRecord
from neuroplast.network import Network
from neuroplast.search._contract import ConfigBase, Controller, Result, RunContext
from neuroplast.search._evaluate import shared_data
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits

__all__ = ["EquiNASE", "EquiNASEConfig", "EquiNASEResult", "Individual", "layer_groups"]


@dataclass(frozen=True)
class EquiNASEConfig(ConfigBase):
    """Settings of :class:`EquiNASE` (thesis defaults in ``paper()``).

    Attributes:
        generations: Generations of relaxation, training and selection.
        population: Parents kept per generation.
        epochs_per_generation: Training per individual and generation, in epochs: below 1,
            one pass over a seeded subset of that share of the training split; from 1 on,
            whole epochs (rounded down).
        optimizer: ``"sgd"`` (the thesis) or ``"adam"``; a relaxed child inherits its parent's
            optimizer state through the morphism (:func:`~neuroplast.morph.relax`).
        lr: Learning rate.
        momentum: SGD momentum (0 in the thesis; ignored by Adam).
        batch_size: Minibatch size.
        max_children: Relaxations tried per parent (``None``: all valid ones).
        front_cap: Most Pareto-front members kept (``None``: twice ``population``).
        random_select: Ablation "Random Select": random parents instead of Pareto selection.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    generations: int = 50
    population: int = 5
    epochs_per_generation: float = 0.5
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    batch_size: int = 64
    max_children: int | None = None
    front_cap: int | None = None
    random_select: bool = False

    def __post_init__(self) -> None:
        for name in ("generations", "population", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
        if not 0 < self.epochs_per_generation <= 100:
            raise ConfigError("epochs_per_generation must be in (0, 100]")
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if not self.lr > 0 or not 0 <= self.momentum < 1:
            raise ConfigError("lr must be > 0 and momentum in [0, 1)")
        for name in ("max_children", "front_cap"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be None or an int >= 1, got {value!r}")

    @classmethod
    def paper(cls, **overrides: Any) -> EquiNASEConfig:
        """Thesis Sec. 4.5.1: 50 generations, population 5, 0.5 epochs, SGD lr 0.1."""
        return cls(**overrides)

    @classmethod
    def fast(cls, **overrides: Any) -> EquiNASEConfig:
        """A few generations with two children per parent, for smoke runs."""
        base: dict[str, Any] = {"generations": 3, "population": 3, "max_children": 2}
        return cls(**{**base, **overrides})


def layer_groups(net: Network) -> list[str]:
    """The group of every lifting/group convolution of ``net``, in order."""
    return [n.group for n in net.spec.nodes if isinstance(n, (LiftConv, GroupConv))]


@dataclass
class Individual:
    """One member of the population.

    Attributes:
        id: Unique id within the run.
        net: The network (trained).
        parent: Id of the parent (``None`` for the start network).
        edits: Records (dicts) of the relaxations from the start network to this one.
        val_accuracy: Validation accuracy after this generation's training.
        n_params: Trainable parameters.
        born: Generation it was created in (``-1``: the start network).
    """

    id: int
    net: Network
    parent: int | None
    edits: list[dict[str, Any]]
    val_accuracy: float
    n_params: int
    born: int

    def meta(self) -> dict[str, Any]:
        """JSON-compatible description (everything but the network)."""
        return {
            "id": self.id,
            "parent": self.parent,
            "edits": self.edits,
            "val_accuracy": self.val_accuracy,
            "n_params": self.n_params,
            "born": self.born,
            "groups": layer_groups(self.net),
        }


@dataclass(kw_only=True)
class EquiNASEResult(Result):
    """:class:`~neuroplast.search.Result` with the final population (best first)."""

    population: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Adds ``population`` to the base fields."""
        return {**super().to_dict(), "population": self.population}


class EquiNASE(Controller[EquiNASEConfig, EquiNASEResult]):
    """EquiNAS_E (see the module docstring).

    Example:
        >>> from neuroplast import Network, Spec, data
        >>> from neuroplast.search import EquiNASE, EquiNASEConfig, Splits
        >>> splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
        >>> net = Network.init(Spec.gcnn((1, 8, 8), 10, "D4", widths=[8, 8], hidden=[]), 0)
        >>> cfg = EquiNASEConfig.fast(generations=1, population=2)
        >>> res = EquiNASE(cfg).run(net, splits, progress=False)
        >>> len(res.population) <= 4 and res.after["n_params"] >= res.before["n_params"]
        True
    """

    name = "equinas-e"
    config_class = EquiNASEConfig

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> EquiNASEResult:
        from neuroplast.search.equinas._evolve import Loop

        if not layer_groups(net):
            raise ConfigError(
                "EquiNAS_E needs a G-CNN (lifting/group convolutions), e.g. Spec.gcnn"
            )
        loop = Loop(self.config, data, ctx, threads=_core.get_num_threads())
        with shared_data(data.X_train, data.y_train, data.X_val, data.y_val) as ref:
            state = loop.resume() if ctx.resume else None
            state = state or loop.start(net)
            bar = Progress(self.config.generations, self.name, enabled=ctx.progress, unit="gen")
            bar.update(state.generation)
            with bar:
                while state.generation < self.config.generations:
                    state = loop.generation(state, ref)
                    bar.update(1, val_acc=state.population[0].val_accuracy)
        best = state.population[0]
        log = EditLog(tuple(EditRecord.from_dict(d) for d in best.edits))
        return EquiNASEResult(
            network=best.net,
            history=state.history,
            edits=log,
            stop_reason=f"{self.config.generations} generations",
            population=[i.meta() for i in state.population],
        )

    def report(self, result: EquiNASEResult, out: Path) -> None:
        """The overview figure and the per-layer groups of the best individual per generation."""
        from neuroplast.search.equinas.report import plot_groups

        super().report(result, out)
        plot_groups(
            [r["step"] for r in result.history],
            [r["groups"] for r in result.history],
            out / "groups.png",
            title="EquiNAS_E: groups of the most accurate individual",
        )
