"""The one controller contract: configs with presets, ``run(net, data, ...)``, one result.

Every controller (MCTS, Surgeon, Neurogenesis, DYNO, LP pruning, and those to come) is a
:class:`Controller` holding a frozen config (a :class:`ConfigBase` dataclass with presets as
classmethods, e.g. ``MCTSConfig.fast()``) and implements one method, :meth:`Controller._run`.
The base class does the rest the same way for all of them:

* ``data`` becomes :class:`~neuroplast.search.Splits` (validation carved the same way
  everywhere; the test split is only reported);
* the run folder (:class:`~neuroplast.search.RunFolder`) is opened, refused when it already
  holds a run (unless ``overwrite`` or ``resume``), and ``config.json`` is written or, on
  resume, checked against the current settings, seed and data;
* the :class:`Result` gets its before/after table (parameters, FLOPs, validation and test
  accuracy), and the folder gets ``history.json``, ``edits.json``, ``final.npl`` and
  ``report/overview.png``.

Seeds of every random stream derive from the run's seed with
:func:`neuroplast._seeds.derive_seed` (:meth:`RunContext.seed_for`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from neuroplast._arrays import check_int
from neuroplast._seeds import derive_seed
from neuroplast.errors import ConfigError
from neuroplast.morph.record import EditLog
from neuroplast.network import Network
from neuroplast.search._run import RunFolder
from neuroplast.search._splits import Splits

__all__ = ["ConfigBase", "Controller", "Result", "RunContext", "measure"]

C = TypeVar("C", bound="ConfigBase")
R = TypeVar("R", bound="Result")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class ConfigBase:
    """Mixin of the controllers' frozen config dataclasses.

    Subclasses list their presets in ``PRESETS`` (classmethod names, e.g. ``("paper",
    "fast")``); each preset takes keyword overrides.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def preset(cls: type[C], name: str, **overrides: Any) -> C:
        """The preset called ``name`` with ``overrides`` applied."""
        if name not in cls.PRESETS:
            raise ConfigError(
                f"unknown preset {name!r} of {cls.__name__}; choose from {cls.PRESETS}"
            )
        made: C = getattr(cls, name)(**overrides)
        return made

    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes`` (validated again; unknown names raise ConfigError)."""
        names = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        bad = sorted(set(changes) - names)
        if bad:
            raise ConfigError(
                f"unknown {type(self).__name__} settings {bad}; known: {sorted(names)}"
            )
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict of every field (see :meth:`from_dict`)."""
        return {
            f.name: _jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    @classmethod
    def from_dict(cls: type[C], d: Mapping[str, Any]) -> C:
        """Inverse of :meth:`to_dict` (lists become tuples; unknown keys raise ConfigError)."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        bad = sorted(set(d) - names)
        if bad:
            raise ConfigError(f"unknown {cls.__name__} settings {bad}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)


def measure(net: Network, data: Splits) -> dict[str, Any]:
    """Size and accuracy of ``net``: ``n_params``, ``flops``, ``val_*`` and ``test_*`` metrics."""
    out: dict[str, Any] = {"n_params": int(net.n_params), "flops": int(net.flops)}
    splits: list[tuple[str, Any, Any]] = [("val", data.X_val, data.y_val)]
    if data.X_test is not None:
        splits.append(("test", data.X_test, data.y_test))
    for name, X, y in splits:
        for key, value in net.evaluate(X, y).items():
            out[f"{name}_{key}"] = value
    return out


@dataclass(kw_only=True)
class Result:
    """What every controller returns (controllers add their own fields in subclasses).

    Attributes:
        network: The network the controller chose (never the input object).
        history: One JSON-compatible record per step of the controller (generation, decision
            point or epoch); every record has ``step``, ``n_params`` and ``val_accuracy``, and
            ``edit`` (a label) where an edit was applied after it.
        edits: The structural edits applied, in order.
        before: :func:`measure` of the input network.
        after: :func:`measure` of :attr:`network`.
        stop_reason: Why the run ended.
        seconds: Wall time of the run (this call; a resumed run counts its own time).
        run_dir: The run folder, if one was written.
        chosen_step: The ``step`` of the history record whose network is returned (``None``:
            the controller returned a reference network, or it does not choose).
        budget: The accuracy budget of the run, if any (``start_accuracy``, ``max_drop``,
            ``floor``; see :class:`~neuroplast.search.Budget`).
        final_tuning: What a final fine-tune did (epochs, best epoch, accuracies), if any.
    """

    network: Network
    history: list[dict[str, Any]] = field(default_factory=list)
    edits: EditLog = field(default_factory=EditLog)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    stop_reason: str = ""
    seconds: float = 0.0
    run_dir: Path | None = None
    chosen_step: int | None = None
    budget: dict[str, Any] | None = None
    final_tuning: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """The before/after table as ``{quantity}_before`` / ``{quantity}_after`` pairs."""
        out: dict[str, Any] = {}
        for key in self.before:
            if key in self.after:
                out[f"{key}_before"] = self.before[key]
                out[f"{key}_after"] = self.after[key]
        out["edits"] = len(self.edits)
        out["stop_reason"] = self.stop_reason
        out["seconds"] = round(self.seconds, 3)
        if self.chosen_step is not None:
            out["chosen_step"] = self.chosen_step
        if self.budget is not None:
            out["floor"] = self.budget["floor"]
        if self.final_tuning is not None:
            out["final_tuning"] = self.final_tuning
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible content of ``history.json`` (subclasses add their own keys)."""
        return {
            "summary": self.summary(),
            "history": self.history,
            "spec": self.network.spec.to_dict(),
            "chosen_step": self.chosen_step,
            "budget": self.budget,
            "final_tuning": self.final_tuning,
        }


@dataclass(frozen=True)
class RunContext:
    """What :meth:`Controller._run` receives besides the network and the data.

    Attributes:
        seed: The run's seed.
        folder: The run folder (``None``: nothing is written).
        resume: Whether to continue from the newest checkpoint in :attr:`folder`.
        executor: Where candidate evaluations run (``None``: in this process).
        progress: Whether to show progress bars.
    """

    seed: int
    folder: RunFolder | None
    resume: bool
    executor: Executor | None
    progress: bool

    def seed_for(self, *keys: int) -> int:
        """The seed of the stream named by ``keys`` (:func:`~neuroplast._seeds.derive_seed`)."""
        return derive_seed(self.seed, *keys)


class Controller(ABC, Generic[C, R]):
    """Base of every search controller: ``Controller(config).run(net, data, ...)``.

    Subclasses set :attr:`name` and :attr:`config_class` and implement :meth:`_run`; they may
    override :meth:`report` to draw more than the shared overview figure.

    Args:
        config: The settings (default: ``config_class()``).
        **overrides: Single fields replaced on ``config``.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[Any]]

    def __init__(self, config: C | None = None, **overrides: Any) -> None:
        if config is not None and not isinstance(config, self.config_class):
            raise ConfigError(
                f"config must be a {self.config_class.__name__}, got {type(config).__name__}"
            )
        cfg: C = config if config is not None else self.config_class()
        self.config: C = cfg.replace(**overrides) if overrides else cfg

    def run(
        self,
        net: Network,
        data: Any,
        *,
        seed: int = 0,
        run_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        overwrite: bool = False,
        executor: Executor | None = None,
        progress: bool = True,
    ) -> R:
        """Optimizes the structure of ``net`` (not modified) on ``data``.

        Args:
            net: The start network.
            data: A :class:`~neuroplast.search.Splits`, a :class:`~neuroplast.data.Dataset`,
                ``(X, y)`` or ``(X_train, y_train, X_val, y_val)``; validation is carved from
                the training data when not given (:meth:`Splits.coerce`).
            seed: Seed of every random choice; same seed and thread count, same result.
            run_dir: Folder for ``config.json``, ``history.json``, ``edits.json``,
                ``final.npl``, ``checkpoints/`` and ``report/``.
            resume: Continue the run in ``run_dir`` from its newest checkpoint (same network,
                data, seed and config); ends where an uninterrupted run ends.
            overwrite: Replace an existing run in ``run_dir`` (otherwise refused).
            executor: Where candidate evaluations run (e.g. a process pool); results do not
                depend on it.
            progress: Show progress bars.

        Returns:
            The controller's :class:`Result`.

        Raises:
            ConfigError: Bad seed, a run folder in use, or a checkpoint from other settings.
        """
        seed = check_int(seed, "seed", 0, 2**63 - 1)
        if not isinstance(net, Network):
            raise ConfigError(f"net must be a neuroplast Network, got {type(net).__name__}")
        splits = Splits.coerce(data, seed=seed)
        folder = RunFolder.open(run_dir, resume=resume, overwrite=overwrite)
        if folder is not None:
            folder.claim(self.name, self.config.to_dict(), seed, splits.fingerprint())
        ctx = RunContext(seed, folder, resume and folder is not None, executor, bool(progress))
        start = time.perf_counter()
        result: R = self._run(net, splits, ctx)
        result.seconds = time.perf_counter() - start
        result.before = measure(net, splits)
        result.after = measure(result.network, splits)
        if folder is not None:
            result.run_dir = folder.path
            folder.write_result(result.network, result.edits, result.to_dict())
            folder.write_report(lambda out: self.report(result, out))
        return result

    @abstractmethod
    def _run(self, net: Network, data: Splits, ctx: RunContext) -> R:
        """The controller's loop; returns its result (before/after are filled in by run)."""

    def report(self, result: R, out: Path) -> None:
        """Draws the report figures into ``out`` (default: the shared overview figure)."""
        from neuroplast.search._report import plot_overview

        plot_overview(result, out / "overview.png", title=self.name)
