"""The MCTS controller: generations of training and one searched action each (seed 000).

Generation ``g``: train ``epochs`` epochs (generation 0: ``initial_epochs``), record validation
accuracy and the true parameter count, check the phase's stopping rule, then run one MCTS
decision (:mod:`neuroplast.search.mcts.search`) and apply the chosen action through
:mod:`neuroplast.morph`. Every seed derives from ``(seed, generation, purpose)`` with
:func:`~neuroplast._seeds.derive_seed`, and a checkpoint after every generation stores the
network (with optimizer state), the history and the edit log, so ``resume=True`` continues a
killed run to the same final network as an uninterrupted one.

Every decision uses the validation split only: the generation records score the whole split,
the search's rollouts a seeded subset of ``val_size`` samples of it. The test split is never
read here (the base class reports it).

The accuracy budget (``max_drop``, phases ``"optimize"`` and ``None``): generation 0's
validation accuracy (the start network's) minus ``max_drop`` is the floor. Every generation's
trained network is offered to a :class:`~neuroplast.search._budget.BestUnderBudget`; the run
returns the one with the fewest parameters at or above the floor (``chosen_step``), not the
last one. The search gets the floor on its validation subset (generation 0's accuracy there
minus ``max_drop``, calibrated by what its short training alone does to the root, see
:mod:`~neuroplast.search.mcts.search`): with ``budget_score`` its candidates below it score
below every candidate above it, and a decision whose candidates all fall below it ends the run
(``stop_reason`` ``"budget: ..."``).
"""

from __future__ import annotations

from concurrent.futures import Executor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast._seeds import derive_seed
from neuroplast.morph.record import EditLog, EditRecord
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._budget import BestUnderBudget, Budget, chance_level, fine_tune_final
from neuroplast.search._contract import Controller, Result, RunContext
from neuroplast.search._evaluate import DataRef, shared_data
from neuroplast.search._progress import Progress
from neuroplast.search._report import layer_widths, plot_architectures, plot_epochs
from neuroplast.search._splits import Splits
from neuroplast.search.mcts._checkpoint import load_state, save_state
from neuroplast.search.mcts.config import MCTSConfig
from neuroplast.search.mcts.search import Decision, Searcher

__all__ = ["MCTS", "MCTSResult"]

# Keys of the random streams of generation g: (g, _TRAIN) and (g, _SEARCH). The validation
# subset's stream has a key no generation reaches.
_TRAIN, _SEARCH = 0, 1
_VAL_SUBSET = 2**31
_FINAL = 2**31 + 1  # the final fine-tuning's stream


@dataclass(kw_only=True)
class MCTSResult(Result):
    """What an MCTS run produced (see :class:`~neuroplast.search.Result`).

    ``history`` holds one record per generation: ``step`` (the generation), ``val_accuracy``
    and ``val_loss`` (whole validation split), ``n_params``, ``widths`` (layer widths, see
    :func:`~neuroplast.search.layer_widths`), ``epoch_val_accuracy`` (after every training
    epoch of the generation) and, when an action was applied after it, ``edit`` (its label),
    ``edit_kind`` (its kind), ``edit_args`` and ``decision`` (evaluations, seconds, tree nodes
    and per-child statistics of the search); otherwise ``edit`` is ``None``.

    With a budget every record also has ``search_val_accuracy`` (on the search's validation
    subset) and ``in_budget``.

    The edits are applied with training between them, so replaying :attr:`edits` on the
    initial network gives the final architecture, not its weights: :attr:`edits` are those
    that lead to the returned network (the generations up to :attr:`chosen_step`).

    Attributes:
        chosen_step: The generation whose network is returned (the last one without a
            budget).
        budget: The run's budget (:meth:`neuroplast.search._budget.Budget.to_dict`:
            ``start_accuracy``, ``max_drop``, ``chance``, ``floor``); ``None`` without one.
        final_tuning: What the final fine-tuning did (``epochs`` run, ``best_epoch``,
            validation accuracy ``before`` and ``after``, whether it was ``kept``); ``None``
            without it.
    """

    @property
    def generations(self) -> int:
        """Generations trained after generation 0."""
        return max(len(self.history) - 1, 0)

    @property
    def actions(self) -> list[str]:
        """Labels of the applied actions, in order."""
        return [str(r["edit"]) for r in self.history if r.get("edit")]

    def summary(self) -> dict[str, Any]:
        """The base summary plus ``generations`` and ``actions`` (labels, comma-separated)."""
        out = super().summary()
        out["generations"] = self.generations
        out["actions"] = ", ".join(self.actions) or "none"
        return out


class MCTS(Controller[MCTSConfig, MCTSResult]):
    """Monte Carlo Tree Search over structural actions (Świdorski and Jastrzębska), as published.

    Args:
        config: All settings (default :class:`MCTSConfig`; presets ``MCTSConfig.paper()``
            and ``MCTSConfig.fast()``, whose ``phase`` picks phase 1 or 2).
        **overrides: Single fields replaced on ``config``.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> from neuroplast.search import MCTS, MCTSConfig
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 6)).astype(np.float32); y = (X[:, 0] > 0).astype(np.int64)
        >>> net = Network.init(Spec.mlp(6, [16], 2), seed=0)
        >>> mcts = MCTS(MCTSConfig.fast(generations=2, rollouts=6))
        >>> res = mcts.run(net, (X[:150], y[:150], X[150:], y[150:]), progress=False)
        >>> res.history[0]["step"], res.before["n_params"]
        (0, 146)
    """

    name = "mcts"
    config_class = MCTSConfig

    def decide(
        self,
        net: Network,
        data: Any,
        *,
        seed: int = 0,
        executor: Executor | None = None,
        progress: bool = False,
    ) -> Decision:
        """Runs one MCTS decision from ``net`` (not modified) and returns the chosen action.

        Args:
            net: The current (trained) network.
            data: Anything :meth:`~neuroplast.search.Splits.coerce` accepts; the search
                scores on (a ``val_size`` subset of) its validation split.
            seed: Seed of the decision.
            executor: Where the evaluations run (``None``: in this process).
            progress: Show a progress bar over evaluations.
        """
        splits = Splits.coerce(data, seed=seed)
        with self._shared(splits, seed) as ref:
            return Searcher(net, self.config, ref, seed, executor, progress).run()

    # ------------------------------------------------------------------ the run
    def _run(self, net: Network, data: Splits, ctx: RunContext) -> MCTSResult:
        cfg = self.config
        net, history, log, best = load_state(net, ctx)
        start = len(history)
        opt = Adam(lr=cfg.lr)
        reason: str | None = None
        bar = Progress(cfg.generations + 1, "generations", enabled=ctx.progress, unit="gen")
        bar.update(start)
        with self._shared(data, ctx.seed) as ref, bar:
            X_sub, y_sub = ref.arrays()[2:]
            for g in range(start, cfg.generations + 1):
                rec = self._train_generation(net, g, data, opt, ctx)
                if cfg.uses_budget:
                    rec["search_val_accuracy"] = _accuracy(net, X_sub, y_sub)
                    if best is None:  # generation 0 sets the budget
                        best = BestUnderBudget(self._budget(rec, data))
                    rec["in_budget"] = best.budget.admits(rec["val_accuracy"])
                    best.offer(net, rec["val_accuracy"], g)
                history.append(rec)
                reason = self._stop(history)
                if reason is None:
                    floor = self._search_floor(history)
                    search = Searcher(
                        net, cfg, ref, ctx.seed_for(g, _SEARCH), ctx.executor, ctx.progress, floor
                    )
                    net, edit, reason = self._act(net, search.run(), rec, data)
                    log = log if edit is None else log.append(edit)
                bar.update(1, acc=rec["val_accuracy"], params=rec["n_params"])
                if reason is not None:
                    break
                save_state(ctx, g + 1, net, history, log, best)
        return self._result(net, history, log, best, data, reason or "generation limit", ctx)

    def _budget(self, first: dict[str, Any], data: Splits) -> Budget:
        """The run's budget from generation 0's record."""
        return Budget(first["val_accuracy"], self.config.max_drop, chance_level(data.y_val))

    def _search_floor(self, history: list[dict[str, Any]]) -> float | None:
        """The floor on the search's validation subset (``None`` without a budget)."""
        cfg = self.config
        if not cfg.uses_budget or cfg.max_drop is None:
            return None
        return float(history[0]["search_val_accuracy"]) - cfg.max_drop

    def _result(
        self,
        net: Network,
        history: list[dict[str, Any]],
        log: EditLog,
        best: BestUnderBudget | None,
        data: Splits,
        reason: str,
        ctx: RunContext,
    ) -> MCTSResult:
        """The result: the best network under the budget (else the last), fine-tuned."""
        step = history[-1]["step"]
        if best is not None and best.network is not None and best.step is not None:
            net, step = best.network, best.step
            log = EditLog(log.records[:step])
        tuning = None
        if self.config.final_epochs > 0:
            net, tuning = self._fine_tune(net, data, ctx)
        return MCTSResult(
            network=net,
            history=history,
            edits=log,
            stop_reason=reason,
            chosen_step=step,
            budget=None if best is None else best.budget.to_dict(),
            final_tuning=tuning,
        )

    def _fine_tune(
        self, net: Network, data: Splits, ctx: RunContext
    ) -> tuple[Network, dict[str, Any]]:
        """:func:`~neuroplast.search._budget.fine_tune` with the run's Adam settings."""
        cfg = self.config
        return fine_tune_final(net, data, cfg, optimizer=Adam(lr=cfg.lr), seed=ctx.seed_for(_FINAL))

    def _shared(self, data: Splits, seed: int) -> AbstractContextManager[DataRef]:
        """:func:`shared_data` of the training split and the search's validation subset."""
        X_val, y_val = _val_subset(data, self.config.val_size, derive_seed(seed, _VAL_SUBSET))
        return shared_data(data.X_train, data.y_train, X_val, y_val)

    def _train_generation(
        self, net: Network, g: int, data: Splits, opt: Adam, ctx: RunContext
    ) -> dict[str, Any]:
        """Trains generation ``g`` in place and returns its history record."""
        cfg = self.config
        epochs = cfg.epochs if g > 0 else cfg.initial_epochs
        curve: list[float | None] = []
        if epochs:
            hist = net.fit(
                data.X_train,
                data.y_train,
                epochs=epochs,
                batch_size=cfg.batch_size,
                optimizer=opt,
                seed=ctx.seed_for(g, _TRAIN),
                validation_data=(data.X_val, data.y_val),
            )
            curve = list(hist.val_accuracy)
        m = net.evaluate(data.X_val, data.y_val)
        return {
            "step": g,
            "val_accuracy": float(m.get("accuracy", float("nan"))),
            "val_loss": float(m["loss"]),
            "n_params": net.n_params,
            "widths": [list(w) for w in layer_widths(net.spec)],
            "epoch_val_accuracy": curve,
            "edit": None,
        }

    def _act(
        self,
        net: Network,
        decision: Decision,
        rec: dict[str, Any],
        data: Splits,
    ) -> tuple[Network, EditRecord | None, str | None]:
        """Applies the decision's action: ``(network, edit, stop reason)``; updates ``rec``."""
        if decision.action is None:
            if decision.stop == "budget":
                rec["decision"] = _decision_fields(decision)
                return (
                    net,
                    None,
                    "budget: no action keeps the search's validation accuracy >= "
                    f"{decision.floor:.4f}",
                )
            return net, None, "no legal action"
        n = self.config.actions.calibration
        calibration = (np.asarray(data.X_train)[:n], np.asarray(data.y_train)[:n])
        net, edit = self.config.actions.apply(
            net, decision.action, decision.edit_seed, calibration=calibration
        )
        rec.update(_edit_fields(decision))
        return net, edit, None

    def _stop(self, history: list[dict[str, Any]]) -> str | None:
        """The phase's stop rule after the newest record (``None``: go on)."""
        cfg, first, last = self.config, history[0], history[-1]
        if cfg.phase == "grow" and last["val_accuracy"] >= cfg.target_accuracy:
            return f"target accuracy {cfg.target_accuracy} reached"
        if cfg.phase == "optimize" and not cfg.uses_budget and len(history) > 1:
            shrunk = last["n_params"] <= (1.0 - cfg.min_param_reduction) * first["n_params"]
            kept = last["val_accuracy"] > first["val_accuracy"] - cfg.max_accuracy_drop
            if shrunk and kept:
                return (
                    f"parameters fell by >= {cfg.min_param_reduction:.0%} with an accuracy "
                    f"drop < {cfg.max_accuracy_drop}"
                )
        if last["step"] >= cfg.generations:
            return "generation limit"
        return None

    # ------------------------------------------------------------------ report
    def report(self, result: MCTSResult, out: Path) -> None:
        """The shared overview, the per-epoch accuracy and the architecture per generation."""
        super().report(result, out)
        plot_epochs(
            result.history,
            out / "training.png",
            curve="epoch_val_accuracy",
            title="MCTS: validation accuracy per epoch (lines: applied actions)",
        )
        archs = [(r["step"], [tuple(w) for w in r["widths"]]) for r in result.history]
        plot_architectures(archs, out / "architecture.png")


def _val_subset(
    data: Splits, n: int | None, seed: int
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """A seeded subset of ``n`` validation samples (all of them when ``n`` is ``None``)."""
    X, y = np.asarray(data.X_val), np.asarray(data.y_val)
    if n is None or n >= X.shape[0]:
        return X, y
    idx = np.sort(np.random.default_rng(seed).choice(X.shape[0], n, replace=False))
    return X[idx], y[idx]


def _accuracy(net: Network, X: Any, y: Any) -> float:
    return float(net.evaluate(X, y).get("accuracy", float("nan")))


def _decision_fields(decision: Decision) -> dict[str, Any]:
    return {
        "rollouts": decision.rollouts,
        "seconds": round(decision.seconds, 4),
        "nodes": decision.nodes,
        "children": list(decision.children),
        "floor": decision.floor,
    }


def _edit_fields(decision: Decision) -> dict[str, Any]:
    """The history fields of an applied action and its decision."""
    assert decision.action is not None
    return {
        "edit": decision.action.label,
        "edit_kind": decision.action.kind,
        "edit_args": decision.action.to_dict(),
        "decision": _decision_fields(decision),
    }
