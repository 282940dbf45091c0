"""The LP pruning controller of seed 004 on the one controller contract.

:class:`LPPrune` prunes a trained one-hidden-layer network (a chain of two biased dense
layers) by linear programming on the first :attr:`LPPruneConfig.samples` training samples.
With the seed's reading (``hidden_activation="saturation"``, the ``paper`` preset) the network
is read as a perceptron network with saturation (``sign`` networks stay ``sign``):

* phase 1, :func:`~neuroplast.lp.prune_hidden_lp`: the output layer is re-solved from the
  hidden values by the L1 LP, hidden units left without outgoing links are removed, and the
  first layer is re-solved to reproduce the surviving hidden values;
* phase 2 (``multilevel=True``), :func:`~neuroplast.lp.optimize_multilevel`: every node may
  read the inputs and all earlier nodes, and each is re-solved from the last to the first.

With the ``"real"`` reading (the default, not in the paper) phase 1 solves only the output
LP, on the hidden values the network really computes (tanh, ReLU, ...), keeps the surviving
units' first-layer rows and the network's activations. A last phase (``final_epochs > 0``, the
default; not in the paper) fine-tunes the last LP network with early stopping, distilled from
the start network (:func:`~neuroplast.search._budget.fine_tune`, as the other controllers'
final training); ``keep_links`` holds the LP's zero weights at zero while it trains.

The LP only sees the training samples; accuracy is measured on the validation split (one
history record per phase, named by its ``phase``: step 0 the start, then the hidden-layer LP,
the multi-level LP and the fine-tune, those that run). The returned
:attr:`~neuroplast.search.Result.network` is always a :class:`~neuroplast.Network`: with the
saturation reading it has saturation/sign activations with limits (-1, 1), the layered
result through :meth:`PerceptronNetwork.to_network`, the multi-level DAG as one single-unit
dense node per perceptron reading a concat of its sources
(:func:`neuroplast.lp._convert.dag_network`). The float64 structures stay available as
:attr:`LPPruneRunResult.perceptron` and :attr:`LPPruneRunResult.dag`.

The LP re-solves weights rather than applying the morphisms of :mod:`neuroplast.morph`, so the
result's edit log is empty; the phases are the history's ``edit`` labels. ``n_params`` counts
the dense parameters of the network form, zeros included (a DAG node that reads the inputs
holds a weight for every input); ``links`` count the nonzero weights the LP minimizes.

The accuracy budget (``max_drop``, not in the paper; ``None`` in the ``paper`` preset): the LP
fits the training samples it sees, not the validation split, so its network may lose
accuracy. The start network's validation accuracy minus ``max_drop`` is the floor, and the
run returns, among the start network and the network of each phase, the one with the fewest
parameters at or above it (:class:`~neuroplast.search.BestUnderBudget`; never a collapsed
one): the start network itself (a copy) when no LP result is within the budget, or the
hidden-layer LP's when the multi-level one is not (or is larger: its nodes read every input).
``n_params`` counts zeros, so an LP that removes links but no unit keeps the count, and the tie
goes to the more accurate network. ``stop_reason`` says which was returned and why;
:attr:`LPPruneRunResult.chosen_step` is its history step.

Example:
    >>> import numpy as np
    >>> from neuroplast.lp import xor_example
    >>> from neuroplast.search import Splits
    >>> X, Y, start = xor_example(seed=354)
    >>> y = np.argmax(Y, axis=1)  # the demo's +-1 targets are the one-versus-rest code of y
    >>> data = Splits(X, y, X, y, name="xor")
    >>> net = start.to_network("cross_entropy")
    >>> seed = LPPrune(LPPruneConfig.fast(hidden_activation="saturation"))
    >>> res = seed.run(net, data, progress=False)
    >>> res.links_before, res.links_after, res.after["val_accuracy"]
    (40, 12, 1.0)
    >>> res = LPPrune(LPPruneConfig.fast()).run(net, data, progress=False)  # "real" reading
    >>> res.units_after, res.links_after  # the same units; the first layer's rows kept
    (6, 14)
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from neuroplast.errors import NumericalError, ShapeError
from neuroplast.layers import Dense
from neuroplast.lp._config import LPPruneConfig
from neuroplast.lp._convert import dag_network, read_perceptron
from neuroplast.lp._phases import (
    HIDDEN,
    LABELS,
    MULTILEVEL,
    NAMES,
    START,
    State,
    links_and_units,
    phase_names,
)
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.lp.prune import LPPruneResult, PruneReport, optimize_multilevel, prune_hidden_lp
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._budget import BestUnderBudget, Budget, chance_level, fine_tune_final
from neuroplast.search._contract import Controller, Result, RunContext
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits

__all__ = ["LPPrune", "LPPruneConfig", "LPPruneRunResult"]

#: Seed stream of the fine-tune.
_FINAL = 3


@dataclass(kw_only=True)
class LPPruneRunResult(Result):
    """What :meth:`LPPrune.run` returns: the shared :class:`~neuroplast.search.Result` and more.

    Links are nonzero weights between inputs and perceptrons (biases not counted); units are
    perceptrons, hidden and output, of the start network's perceptron reading and of the
    returned network (the start network's when the budget returned it).

    Attributes:
        links_before: Links of the start network.
        links_after: Links of the returned network.
        units_before: Units of the start network.
        units_after: Units of the returned network.
        lp_error: Total training error left by the LPs (sum of artificials; 0: every LP
            sample is realized).
        iterations: Solver iterations of all LPs.
        samples: Training samples in the LPs.
        perceptron: The layered float64 network after the hidden-layer LP with the
            saturation reading (the start network's saturation reading when that LP failed,
            see ``stop_reason``, or with the ``"real"`` reading, which solves no perceptron
            network: :attr:`network` is then the result).
        dag: The float64 multi-level DAG (``None`` without ``multilevel``).
        chosen_step: The history step whose network is returned (0: the start network).
        budget: The run's budget (:meth:`neuroplast.search.Budget.to_dict`); ``None``
            without one.
    """

    links_before: int
    links_after: int
    units_before: int
    units_after: int
    lp_error: float
    iterations: int
    samples: int
    perceptron: PerceptronNetwork
    dag: PerceptronDAG | None = None
    chosen_step: int | None = HIDDEN

    def summary(self) -> dict[str, Any]:
        """The shared summary plus links, units, LP error, iterations, chosen step and floor."""
        return {
            **super().summary(),
            "links_before": self.links_before,
            "links_after": self.links_after,
            "units_before": self.units_before,
            "units_after": self.units_after,
            "lp_error": self.lp_error,
            "iterations": self.iterations,
            "samples": self.samples,
            "structure": "layers" if self.dag is None else "dag",
        }


class LPPrune(Controller[LPPruneConfig, LPPruneRunResult]):
    """LP pruning of a trained one-hidden-layer network (seed 004); see the module docstring.

    The hidden-layer LP solves one LP per output and per kept hidden unit; with ``run(...,
    executor=...)`` (a process pool, a :class:`~neuroplast.search.DaskExecutor`) these run as
    jobs on one engine thread each, with the same result. The multi-level LP (its nodes
    depend on each other) and the fine-tune run in this process. A run is checkpointed after
    each phase and resumes after the last one saved.

    Args:
        config: The settings (default: ``LPPruneConfig()``, the :meth:`LPPruneConfig.fast`
            settings).
        **overrides: Single fields replaced on ``config``.
    """

    name: ClassVar[str] = "lp"
    config_class: ClassVar[type[Any]] = LPPruneConfig

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> LPPruneRunResult:
        cfg = self.config
        # Sign networks have no gradient to fine-tune with.
        tunable = cfg.final_epochs > 0 and not any(
            getattr(n, "activation", None) == "sign" for n in net.spec.nodes
        )
        phases = phase_names(cfg.multilevel, tunable)
        start = read_perceptron(net)
        if len(start.weights) != 2:  # the same error for both readings
            hidden = len(start.weights) - 1
            raise ShapeError(f"need exactly one hidden layer, the network has {hidden}")
        X, y = data.X_train[: cfg.samples], data.y_train[: cfg.samples]
        state = self._resume(ctx) or State(START, [self._record(phases, START, net, data)])
        state.phases = phases
        bar = Progress(
            len(phases) - 1, f"lp ({X.shape[0]} samples)", enabled=ctx.progress, unit="phase"
        )
        failure = None
        with bar:
            bar.update(state.step)
            try:
                if state.step < HIDDEN:
                    res = self._hidden_lp(net, start, X, y, ctx.executor)
                    if isinstance(res.network, PerceptronNetwork):
                        state.perceptron = res.network
                    self._finish(
                        state, HIDDEN, _as_network(res.network, net), data, ctx, res.report
                    )
                    bar.update(1, links=res.report.links_after, units=res.report.units_after)
                if cfg.multilevel and state.step < MULTILEVEL:
                    assert state.perceptron is not None
                    res = optimize_multilevel(state.perceptron, X, y, **self._solver())
                    assert isinstance(res.network, PerceptronDAG)  # its contract
                    state.dag = res.network
                    self._finish(
                        state, MULTILEVEL, _as_network(res.network, net), data, ctx, res.report
                    )
                    bar.update(1, links=res.report.links_after, units=res.report.units_after)
            except NumericalError as exc:
                # A solver that finds no verified optimum ends the run with what it has (the
                # start network at worst), as any budgeted controller would: never a crash
                # that loses the phases already solved.
                failure = f"{NAMES[phases[state.step + 1]]} failed ({exc})"
            if failure is None and tunable and state.step < len(phases) - 1:
                tuned, info = self._fine_tune(state.networks[state.step], net, data, ctx)
                self._finish(state, state.step + 1, tuned, data, ctx, None, **info)
                bar.update(1, val_accuracy=state.history[-1]["val_accuracy"])
        return self._result(state, net, start, data, int(X.shape[0]), failure)

    # ------------------------------------------------------------------ phases
    def _solver(self) -> dict[str, Any]:
        cfg = self.config
        options = None if cfg.options is None else dict(cfg.options)
        return {"big_m": cfg.big_m, "method": cfg.method, "tol": cfg.tol, "options": options}

    def _hidden_lp(
        self, net: Network, start: PerceptronNetwork, X: Any, y: Any, executor: Executor | None
    ) -> LPPruneResult:
        """The hidden-layer LP on the saturation reading ``start`` or on ``net`` itself."""
        kw = {**self._solver(), "executor": executor}
        if self.config.reading == "real":
            return prune_hidden_lp(net, X, y, hidden_activation="real", **kw)
        res = prune_hidden_lp(start, X, y, **kw)
        assert isinstance(res.network, PerceptronNetwork)  # its contract
        return res

    def _fine_tune(
        self, lp_net: Network, teacher: Network, data: Splits, ctx: RunContext
    ) -> tuple[Network, dict[str, Any]]:
        """:func:`~neuroplast.search._budget.fine_tune` of the last LP network, distilled."""
        cfg = self.config
        options: dict[str, Any] = {"monitor": "val_loss"}
        if cfg.alpha > 0:
            options |= {"teacher": teacher, "temperature": cfg.temperature, "alpha": cfg.alpha}
        if cfg.keep_links:
            weights = (f"{n.name}.weight" for n in lp_net.spec.nodes if isinstance(n, Dense))
            options["weight_masks"] = {w: lp_net.params[w] != 0 for w in weights}
        optimizer, seed = Adam(lr=cfg.lr), ctx.seed_for(_FINAL)
        tuned, info = fine_tune_final(
            lp_net, data, cfg, optimizer=optimizer, seed=seed, fit_options=options
        )
        return tuned, {k: info[k] for k in ("epochs", "best_epoch", "kept")}

    def _resume(self, ctx: RunContext) -> State | None:
        if not ctx.resume or ctx.folder is None:
            return None
        latest = ctx.folder.latest_checkpoint()
        if latest is None:
            return None
        networks = {g: ctx.folder.load_checkpoint(g)[0] for g in ctx.folder.generations()}
        return State.from_dict(latest[2], networks)

    def _finish(
        self,
        state: State,
        step: int,
        network: Network,
        data: Splits,
        ctx: RunContext,
        report: PruneReport | None,
        **extra: Any,
    ) -> None:
        """Records phase ``step`` in the history and checkpoints the run after it."""
        if report is not None:
            extra = {"lp_error": float(report.lp_error), "iterations": int(report.nit)}
        state.history.append(self._record(state.phases, step, network, data, **extra))
        state.networks[step] = network
        state.step = step
        if ctx.folder is not None:
            ctx.folder.save_checkpoint(step, network, state.to_dict())

    def _record(
        self, phases: tuple[str, ...], step: int, network: Network, data: Splits, **extra: Any
    ) -> dict[str, Any]:
        """The history record of ``step``, with the label of the phase that follows it."""
        metrics = network.evaluate(data.X_val, data.y_val)
        links, units = links_and_units(network)
        rec: dict[str, Any] = {
            "step": step,
            "n_params": int(network.n_params),
            "val_accuracy": metrics.get("accuracy"),
            "val_loss": metrics["loss"],
            "links": links,
            "units": units,
            "phase": phases[step],
            **extra,
        }
        if step + 1 < len(phases):
            rec["edit"], rec["edit_kind"] = LABELS[phases[step + 1]]
        return rec

    def _result(
        self,
        state: State,
        net: Network,
        start: PerceptronNetwork,
        data: Splits,
        samples: int,
        failure: str | None = None,
    ) -> LPPruneRunResult:
        options = {START: net, **state.networks}
        step, reason, best = self._choose(state, options, data)
        network = options[step]
        if best is not None and best.network is not None:
            network = best.network  # a copy: never the input network
        elif step == START:
            network = network.copy()
        phases = state.history[1:]
        links_after, units_after = links_and_units(network)
        return LPPruneRunResult(
            network=network,
            history=state.history,
            stop_reason=f"{len(phases)} phase{'s' * (len(phases) != 1)} finished{reason}"
            + ("" if failure is None else f"; {failure}"),
            links_before=start.n_links,
            links_after=links_after,
            units_before=start.n_units,
            units_after=units_after,
            lp_error=float(sum(r.get("lp_error", 0.0) for r in phases)),
            iterations=int(sum(r.get("iterations", 0) for r in phases)),
            samples=samples,
            perceptron=start if state.perceptron is None else state.perceptron,
            dag=state.dag,
            chosen_step=step,
            budget=None if best is None else best.budget.to_dict(),
        )

    def _choose(
        self,
        state: State,
        options: Mapping[int, Network],
        data: Splits,
    ) -> tuple[int, str, BestUnderBudget | None]:
        """``(step returned, what to add to the stop reason, the budget's keeper)``.

        Marks every record ``in_budget`` when there is a budget.
        """
        history, last = state.history, max(options)
        start_accuracy = history[START]["val_accuracy"]
        if self.config.max_drop is None or start_accuracy is None:
            return last, "", None
        budget = Budget(float(start_accuracy), self.config.max_drop, chance_level(data.y_val))
        best = BestUnderBudget(budget)
        for rec in history:
            rec["in_budget"] = budget.admits(rec["val_accuracy"])
            best.offer(options[rec["step"]], rec["val_accuracy"], rec["step"])
        step = START if best.step is None else best.step
        if step == last:
            return step, "", best
        acc = float(history[last]["val_accuracy"])
        if history[last]["in_budget"]:
            n, m = history[last]["n_params"], history[step]["n_params"]
            why = f"{n} parameters against {m}" + (", less accurate" if n == m else "")
        elif acc < budget.floor:
            why = f"its validation accuracy {acc:.4f} is below the floor {budget.floor:.4f}"
        else:
            why = f"its validation accuracy {acc:.4f} is at the chance level {budget.chance:.4f}"
        returned, not_returned = NAMES[state.phases[step]], NAMES[state.phases[last]]
        return step, f"; budget: returned {returned}, not {not_returned} ({why})", best

    # ------------------------------------------------------------------ report
    def report(self, result: LPPruneRunResult, out: Path) -> None:
        """The shared overview and ``links.png``: links and units after each phase."""
        super().report(result, out)
        from neuroplast.search._report import _pyplot

        plt = _pyplot()
        steps = [r["step"] for r in result.history]
        fig, ax = plt.subplots(figsize=(5, 3.4))
        ax.plot(steps, [r["links"] for r in result.history], "o-", label="links (nonzero weights)")
        ax.plot(steps, [r["units"] for r in result.history], "s-", label="units (perceptrons)")
        ticks = {"start": "start", "hidden": "hidden LP", "multilevel": "multi-level LP"}
        ax.set_xticks(steps, [ticks.get(r["phase"], "fine-tune") for r in result.history])
        ax.set_yscale("log")
        ax.set_title(f"LP pruning on {result.samples} training samples", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "links.png", dpi=110)
        plt.close(fig)


def _as_network(structure: PerceptronNetwork | PerceptronDAG | Network, start: Network) -> Network:
    """An LP's result as a network with the start network's loss."""
    if isinstance(structure, Network):
        return structure
    if isinstance(structure, PerceptronNetwork):
        return structure.to_network(start.spec.loss)
    return dag_network(structure, start.spec.loss)
