"""The LP pruning controller of seed 004 on the one controller contract.

:class:`LPPrune` reads a trained one-hidden-layer network (a chain of two biased dense layers)
as a perceptron network with saturation (``sign`` networks stay ``sign``) and prunes it by
linear programming on the first :attr:`LPPruneConfig.samples` training samples:

* phase 1, :func:`~neuroplast.lp.prune_hidden_lp`: the output layer is re-solved from the
  hidden values by the L1 LP, hidden units left without outgoing links are removed, and the
  first layer is re-solved to reproduce the surviving hidden values;
* phase 2 (``multilevel=True``), :func:`~neuroplast.lp.optimize_multilevel`: every node may
  read the inputs and all earlier nodes, and each is re-solved from the last to the first.

The LP only sees the training samples; accuracy is measured on the validation split (one
history record per phase: step 0 the start, 1 after the hidden-layer LP, 2 after the
multi-level LP). The returned :attr:`~neuroplast.search.Result.network` is always a
:class:`~neuroplast.Network` (saturation/sign activations with limits (-1, 1)): the layered
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
    >>> res = LPPrune(LPPruneConfig.fast()).run(net, data, progress=False)
    >>> res.links_before, res.links_after, res.after["val_accuracy"]
    (40, 12, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from neuroplast.errors import ConfigError, NumericalError, SerializationError
from neuroplast.lp._convert import (
    dag_network,
    read_perceptron,
    structure_from_state,
    structure_state,
)
from neuroplast.lp._solve import METHODS
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.lp.perceptron import DEFAULT_BIG_M
from neuroplast.lp.prune import PruneReport, optimize_multilevel, prune_hidden_lp
from neuroplast.network import Network
from neuroplast.search._budget import BestUnderBudget, Budget, chance_level, check_max_drop
from neuroplast.search._contract import ConfigBase, Controller, Result, RunContext
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits

__all__ = ["LPPrune", "LPPruneConfig", "LPPruneRunResult"]

#: History step after each phase.
START, HIDDEN, MULTILEVEL = 0, 1, 2
_NAMES = {
    START: "the start network",
    HIDDEN: "the hidden-layer LP",
    MULTILEVEL: "the multi-level LP",
}


@dataclass(frozen=True)
class LPPruneConfig(ConfigBase):
    """Settings of :class:`LPPrune` (presets: :meth:`paper`, :meth:`fast`).

    The saturation limits are fixed at (-1, 1), those of the engine's ``saturation`` and
    ``sign`` activations, so that the pruned network is a :class:`~neuroplast.Network`.

    Attributes:
        method: LP solver method: ``"auto"``, ``"simplex"`` or ``"ipm"``.
        big_m: Weight M of the artificial (training-error) variables.
        multilevel: After the hidden-layer LP, re-solve as a multi-level DAG.
        samples: Training samples in the LP (the first ``samples`` of the training split).
        tol: Weights below this magnitude count as zero (removed links).
        options: Solver options passed to :func:`neuroplast.lp.linprog` (``None``: defaults).
        max_drop: Accuracy budget (not in the paper): the returned network's validation
            accuracy may fall at most this much below the start network's; the smallest of
            the start network and the phases' networks within it is returned (see the module
            docstring). ``None`` (the ``paper`` preset): the last phase's network.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    method: str = "auto"
    big_m: float = DEFAULT_BIG_M
    multilevel: bool = False
    samples: int = 500
    tol: float = 1e-7
    options: Mapping[str, Any] | None = None
    max_drop: float | None = 0.01

    def __post_init__(self) -> None:
        check_max_drop(self.max_drop)
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, got {self.method!r}")
        if not _positive(self.big_m):
            raise ConfigError(f"big_m must be a finite number > 0, got {self.big_m!r}")
        if not isinstance(self.multilevel, bool):
            raise ConfigError(f"multilevel must be a bool, got {self.multilevel!r}")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 1:
            raise ConfigError(f"samples must be an int >= 1, got {self.samples!r}")
        if not _positive(self.tol) and self.tol != 0:
            raise ConfigError(f"tol must be a finite number >= 0, got {self.tol!r}")
        if self.options is not None:
            # A read-only copy: the config is frozen, and the caller's dict may change later.
            object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    @classmethod
    def paper(cls, **overrides: Any) -> LPPruneConfig:
        """The seed's procedure: simplex, the two-phase LP, then the multi-level LP; no budget."""
        return cls(**{"method": "simplex", "multilevel": True, "max_drop": None, **overrides})

    @classmethod
    def fast(cls, **overrides: Any) -> LPPruneConfig:
        """The two-phase hidden-layer LP alone, solver chosen per problem, ``max_drop=0.01``."""
        return cls(**{"method": "auto", "multilevel": False, "max_drop": 0.01, **overrides})


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0


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
        perceptron: The layered float64 network after the hidden-layer LP (the start
            network's reading when that LP failed; see ``stop_reason``).
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


@dataclass
class _State:
    """Everything a resumed run needs: the last finished phase, the history, the structures."""

    step: int
    history: list[dict[str, Any]]
    perceptron: PerceptronNetwork | None = None
    dag: PerceptronDAG | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "history": self.history}
        for key in ("perceptron", "dag"):
            value = getattr(self, key)
            out[key] = None if value is None else structure_state(value)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _State:
        p, g = d.get("perceptron"), d.get("dag")
        perceptron = None if p is None else structure_from_state(p)
        dag = None if g is None else structure_from_state(g)
        if not isinstance(perceptron, PerceptronNetwork | None) or not isinstance(
            dag, PerceptronDAG | None
        ):
            raise SerializationError("the checkpoint's perceptron structures are of the wrong kind")
        return cls(int(d["step"]), list(d["history"]), perceptron, dag)


class LPPrune(Controller[LPPruneConfig, LPPruneRunResult]):
    """LP pruning of a trained one-hidden-layer network (seed 004); see the module docstring.

    The LPs run one after the other in this process (``executor`` is not used). A run is
    checkpointed after each phase and resumes after the last one saved.

    Args:
        config: The settings (default: ``LPPruneConfig()``, the :meth:`LPPruneConfig.fast`
            settings).
        **overrides: Single fields replaced on ``config``.
    """

    name: ClassVar[str] = "lp"
    config_class: ClassVar[type[Any]] = LPPruneConfig

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> LPPruneRunResult:
        cfg = self.config
        start = read_perceptron(net)
        X, y = data.X_train[: cfg.samples], data.y_train[: cfg.samples]
        state = self._resume(ctx) or _State(START, [self._record(START, net, start, data)])
        phases = 2 if cfg.multilevel else 1
        bar = Progress(phases, f"lp ({X.shape[0]} samples)", enabled=ctx.progress, unit="phase")
        failure = None
        with bar:
            bar.update(min(state.step, phases))
            try:
                if state.step < HIDDEN:
                    res = prune_hidden_lp(start, X, y, **self._solver())
                    assert isinstance(res.network, PerceptronNetwork)  # its contract
                    state.perceptron = res.network
                    self._finish(state, HIDDEN, res.network, res.report, data, net.spec.loss, ctx)
                    bar.update(1, links=res.report.links_after, units=res.report.units_after)
                if cfg.multilevel and state.step < MULTILEVEL:
                    assert state.perceptron is not None
                    res = optimize_multilevel(state.perceptron, X, y, **self._solver())
                    assert isinstance(res.network, PerceptronDAG)  # its contract
                    state.dag = res.network
                    loss = net.spec.loss
                    self._finish(state, MULTILEVEL, res.network, res.report, data, loss, ctx)
                    bar.update(1, links=res.report.links_after, units=res.report.units_after)
            except NumericalError as exc:
                # A solver that finds no verified optimum ends the run with what it has (the
                # start network at worst), as any budgeted controller would: never a crash
                # that loses the phases already solved.
                failure = f"{_NAMES[state.step + 1]} failed ({exc})"
        return self._result(state, net, start, data, int(X.shape[0]), failure)

    # ------------------------------------------------------------------ phases
    def _solver(self) -> dict[str, Any]:
        cfg = self.config
        options = None if cfg.options is None else dict(cfg.options)
        return {"big_m": cfg.big_m, "method": cfg.method, "tol": cfg.tol, "options": options}

    def _resume(self, ctx: RunContext) -> _State | None:
        if not ctx.resume or ctx.folder is None:
            return None
        latest = ctx.folder.latest_checkpoint()
        return None if latest is None else _State.from_dict(latest[2])

    def _finish(
        self,
        state: _State,
        step: int,
        structure: PerceptronNetwork | PerceptronDAG,
        report: PruneReport,
        data: Splits,
        loss: str,
        ctx: RunContext,
    ) -> None:
        """Records phase ``step`` in the history and checkpoints the run after it."""
        network = _as_network(structure, loss)
        extra = {"lp_error": float(report.lp_error), "iterations": int(report.nit)}
        state.history.append(self._record(step, network, structure, data, **extra))
        state.step = step
        if ctx.folder is not None:
            ctx.folder.save_checkpoint(step, network, state.to_dict())

    def _record(
        self,
        step: int,
        network: Network,
        structure: PerceptronNetwork | PerceptronDAG,
        data: Splits,
        **extra: Any,
    ) -> dict[str, Any]:
        """The history record of ``step``, with the label of the phase that follows it."""
        metrics = network.evaluate(data.X_val, data.y_val)
        rec: dict[str, Any] = {
            "step": step,
            "n_params": int(network.n_params),
            "val_accuracy": metrics.get("accuracy"),
            "val_loss": metrics["loss"],
            "links": int(structure.n_links),
            "units": int(structure.n_units),
            **extra,
        }
        if step == START:
            rec["edit"], rec["edit_kind"] = "hidden-layer LP", "remove_neurons"
        elif step == HIDDEN and self.config.multilevel:
            rec["edit"], rec["edit_kind"] = "multi-level LP", "multilevel"
        return rec

    def _result(
        self,
        state: _State,
        net: Network,
        start: PerceptronNetwork,
        data: Splits,
        samples: int,
        failure: str | None = None,
    ) -> LPPruneRunResult:
        options: dict[int, tuple[Network, PerceptronNetwork | PerceptronDAG]] = {
            START: (net, start)
        }
        if state.perceptron is not None:
            options[HIDDEN] = (_as_network(state.perceptron, net.spec.loss), state.perceptron)
        if state.dag is not None:
            options[MULTILEVEL] = (_as_network(state.dag, net.spec.loss), state.dag)
        step, reason, best = self._choose(state.history, options, data)
        network, chosen = options[step]
        if best is not None and best.network is not None:
            network = best.network  # a copy: never the input network
        elif step == START:
            network = network.copy()
        phases = state.history[1:]
        return LPPruneRunResult(
            network=network,
            history=state.history,
            stop_reason=f"{len(phases)} LP phase{'s' * (len(phases) != 1)} solved{reason}"
            + ("" if failure is None else f"; {failure}"),
            links_before=start.n_links,
            links_after=chosen.n_links,
            units_before=start.n_units,
            units_after=chosen.n_units,
            lp_error=float(sum(r["lp_error"] for r in phases)),
            iterations=int(sum(r["iterations"] for r in phases)),
            samples=samples,
            perceptron=start if state.perceptron is None else state.perceptron,
            dag=state.dag,
            chosen_step=step,
            budget=None if best is None else best.budget.to_dict(),
        )

    def _choose(
        self,
        history: list[dict[str, Any]],
        options: Mapping[int, tuple[Network, Any]],
        data: Splits,
    ) -> tuple[int, str, BestUnderBudget | None]:
        """``(step returned, what to add to the stop reason, the budget's keeper)``.

        Marks every record ``in_budget`` when there is a budget.
        """
        last = max(options)
        start_accuracy = history[START]["val_accuracy"]
        if self.config.max_drop is None or start_accuracy is None:
            return last, "", None
        budget = Budget(float(start_accuracy), self.config.max_drop, chance_level(data.y_val))
        best = BestUnderBudget(budget)
        for rec in history:
            rec["in_budget"] = budget.admits(rec["val_accuracy"])
            best.offer(options[rec["step"]][0], rec["val_accuracy"], rec["step"])
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
        return step, f"; budget: returned {_NAMES[step]}, not {_NAMES[last]} ({why})", best

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
        ax.set_xticks(steps, ["start", "hidden LP", "multi-level LP"][: len(steps)])
        ax.set_yscale("log")
        ax.set_title(f"LP pruning on {result.samples} training samples", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "links.png", dpi=110)
        plt.close(fig)


def _as_network(structure: PerceptronNetwork | PerceptronDAG, loss: str) -> Network:
    if isinstance(structure, PerceptronNetwork):
        return structure.to_network(loss)
    return dag_network(structure, loss)
