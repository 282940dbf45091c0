"""The Surgeon (seed 001, Algorithm 1): training fused with a genetic topology search.

Per run: pre-train the network for ``initial_epochs``; then at every decision point (every
``decision_every`` epochs) the recommendation module proposes candidates for every current
branch, a draw of them (:func:`~neuroplast.search.surgeon.recommend.select`) is built by the
modification module and given recuperative training, each is scored with
``s = a + exp(Δa)/exp(Δf)`` on validation accuracy (eq. 16; ``Δa`` against its parent, ``Δf``
its parameter count as a fraction of its parent's), the ``branches`` best (ties: fewer
parameters) are trained to the next decision point, and if none reaches the previous best
validation accuracy the draw is repeated from the candidates not yet tried, up to
``max_redraws`` times. With the one-cycle memory a new branch is kept only if it reaches the
previous best; when none does after the last re-draw, the search backtracks one step (the
previous branches are trained on instead). At the end the best-scoring branch is returned
(the paper, ``max_drop=None``), or with an accuracy budget the smallest network within it.

The budget (``max_drop``, not in the paper): before the search the start network is trained
without surgery for ``total_epochs`` on the run's batch stream (the baseline, the same training
the identity lineage gets); the better of its validation accuracy and the start network's is
the reference, and the floor is the reference minus ``max_drop``. Every step records the
smallest current branch at or above the floor (else the best-scoring one), and the run returns
the smallest recorded network at or above the floor (``chosen_step``), or the reference network
itself when none is. A surgery that turns a small start into a linear model is therefore only
kept when the linear model is within the budget of the start topology trained directly.

Every score and choice uses the validation split of the run's
:class:`~neuroplast.search.Splits` (never its test split). Training jobs run through
:func:`neuroplast.search.evaluate` (in-process by default, or on the run's executor), or
through an evaluation function given to the constructor. With a run folder, every decision
point is checkpointed and a resumed run ends bit-for-bit where an uninterrupted one does:
every random choice derives from the run's seed with
:meth:`~neuroplast.search.RunContext.seed_for` (keys ``(PROPOSE_STREAM, decision, branch)``
for the edits' random choices, ``(DRAW_STREAM, decision, attempt)`` for the random draw).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from neuroplast import get_num_threads
from neuroplast.errors import ConfigError, NumericalError
from neuroplast.morph import EditLog, EditRecord
from neuroplast.network import Network
from neuroplast.optim import SGD
from neuroplast.search._budget import Budget, chance_level, fine_tune_final
from neuroplast.search._contract import Controller, RunContext
from neuroplast.search._evaluate import shared_data
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits
from neuroplast.search.surgeon._checkpoint import LoopState, load_state, save_state
from neuroplast.search.surgeon._lineage import (
    branch_meta,
    child,
    chosen,
    curve,
    log_step,
    widths,
)
from neuroplast.search.surgeon._reference import (
    OnTrack,
    Reference,
    on_track,
    reference,
    returned,
    track,
)
from neuroplast.search.surgeon._train import Trainer, TrainJob, TrainOutcome
from neuroplast.search.surgeon.config import SurgeonConfig
from neuroplast.search.surgeon.modify import apply
from neuroplast.search.surgeon.proposal import Proposal
from neuroplast.search.surgeon.recommend import propose, select
from neuroplast.search.surgeon.records import (
    Branch,
    CandidateRecord,
    DecisionRecord,
    SurgeonResult,
)
from neuroplast.search.surgeon.score import rank, score

__all__ = ["DRAW_STREAM", "PROPOSE_STREAM", "EvaluateFn", "Surgeon", "chosen", "widths"]

#: Runs a batch of training jobs and returns their outcomes in order.
EvaluateFn = Callable[[Sequence[TrainJob]], list[TrainOutcome]]

#: First seed keys of the Surgeon's random streams (the batch stream's subsets use 0).
PROPOSE_STREAM, DRAW_STREAM = 1, 2
#: Seed key of the final fine-tuning's shuffling.
FINAL_STREAM = 3


@dataclass
class _Round:
    """The working state of one decision point.

    Attributes:
        st: The loop state.
        parents: The branches at the decision point, by id.
        target: Batch position of the next decision point.
        B: Batches per epoch.
        run_jobs: Runs training jobs.
        previous_best: Best validation accuracy of the branches at the decision point.
        on_track: The budget along the baseline's trajectory (``None``: rank by score).
        records: Every competitor of every draw so far.
    """

    st: LoopState
    parents: dict[int, Branch]
    target: int
    B: int
    run_jobs: EvaluateFn
    previous_best: float
    on_track: OnTrack | None = None
    records: list[CandidateRecord] = field(default_factory=list)


class Surgeon(Controller[SurgeonConfig, SurgeonResult]):
    """The Surgeon: ``Surgeon(SurgeonConfig.fast()).run(net, data, seed=0)``.

    Args:
        config: Settings; default :meth:`SurgeonConfig.paper`.
        evaluate: Replaces the training-job runner entirely (``jobs -> outcomes``), e.g. a
            scripted function in tests; default: train through the engine.
        **overrides: Single fields replaced on ``config``.

    Raises:
        ConfigError: ``config`` is not a :class:`SurgeonConfig`, or unknown overrides.

    Example:
        >>> from neuroplast import Network, Spec, data
        >>> ds = data.load("digits", seed=0)
        >>> cfg = SurgeonConfig.fast(total_epochs=4, initial_epochs=2, decision_every=2)
        >>> net = Network.init(Spec.mlp(64, [10], 10), seed=0)
        >>> res = Surgeon(cfg).run(net, ds, seed=0, progress=False)
        >>> len(res.decisions), res.curve[-1][0], [r["step"] for r in res.history]
        (1, 4.0, [0, 1])
    """

    name = "surgeon"
    config_class = SurgeonConfig

    def __init__(
        self,
        config: SurgeonConfig | None = None,
        *,
        evaluate: EvaluateFn | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, **overrides)
        self._evaluate = evaluate

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> SurgeonResult:
        """Runs Algorithm 1 on ``net`` (not modified) and returns the final chosen branch.

        Raises:
            ConfigError: ``net`` is not a classifier.
            NumericalError: Pre-training diverged.
        """
        if net.spec.loss != "cross_entropy":
            raise ConfigError("the Surgeon scores validation accuracy: it needs a classifier")
        cfg = self.config
        threads = cfg.threads or (get_num_threads() if ctx.executor is None else 1)
        with shared_data(data.X_train, data.y_train, data.X_val, data.y_val) as ref:
            trainer = Trainer(
                ref, len(data.X_train), cfg, seed=ctx.seed, threads=threads, executor=ctx.executor
            )
            B = trainer.batches_per_epoch
            run_jobs: EvaluateFn = self._evaluate or trainer
            base = None
            if cfg.baseline or cfg.max_drop is not None:
                base = reference(net, data, cfg.total_epochs * B, run_jobs)
            budget = None
            if cfg.max_drop is not None and base is not None:
                budget = Budget(base.accuracy, cfg.max_drop, chance_level(data.y_val))
            st = load_state(ctx.folder) if ctx.resume and ctx.folder is not None else None
            if st is None:
                st = self._start(net, trainer, run_jobs, budget)
                if ctx.folder is not None:
                    save_state(ctx.folder, st)
            gate = None
            if budget is not None and base is not None and cfg.budget_decisions:
                gate = on_track(base.baseline_curve, budget.max_drop or 0.0)
            self._loop(st, B, run_jobs, ctx, budget, gate)
        result = self._result(st, net.n_params, B, ctx.seed, base, budget)
        if cfg.final_epochs > 0:
            self._fine_tune(result, data, ctx)
        return result

    # ------------------------------------------------------------------ steps
    def _loop(
        self,
        st: LoopState,
        B: int,
        run_jobs: EvaluateFn,
        ctx: RunContext,
        budget: Budget | None,
        gate: OnTrack | None = None,
    ) -> None:
        """Decision points until ``total_epochs``, each logged and checkpointed."""
        cfg = self.config
        total = math.ceil((cfg.total_epochs - cfg.initial_epochs) / cfg.decision_every)
        with Progress(total, self.name, enabled=ctx.progress, unit="decision") as bar:
            bar.update(st.decision)
            while st.epoch < cfg.total_epochs:
                self._decide(st, B, run_jobs, ctx, gate)
                best = log_step(st, budget)
                track(st, best, budget)
                if ctx.folder is not None:
                    save_state(ctx.folder, st)
                bar.update(1, acc=best.accuracy, params=best.net.n_params)

    def _start(
        self, net: Network, trainer: Trainer, run_jobs: EvaluateFn, budget: Budget | None
    ) -> LoopState:
        cfg = self.config
        n = cfg.initial_epochs * trainer.batches_per_epoch
        (out,) = run_jobs([TrainJob(net, 0, n, curve=True)])
        if out.net is None:
            raise NumericalError(f"pre-training diverged: {out.error}")
        root = Branch(
            0,
            out.net,
            n,
            out.val_accuracy,
            parent_accuracy=out.val_accuracy,
            parent_params=net.n_params,
            curve=out.curve,
            topology=((0.0, widths(net)),),
        )
        st = LoopState(cfg.initial_epochs, 0, [root], batches=n)
        track(st, log_step(st, budget), budget)
        return st

    def _decide(
        self,
        st: LoopState,
        B: int,
        run_jobs: EvaluateFn,
        ctx: RunContext,
        gate: OnTrack | None = None,
    ) -> None:
        """One decision point: draws until one improves (or the re-draws run out)."""
        cfg = self.config
        target_epoch = min(st.epoch + cfg.decision_every, cfg.total_epochs)
        rnd = _Round(
            st,
            {b.id: b for b in st.branches},
            target_epoch * B,
            B,
            run_jobs,
            max(b.accuracy for b in st.branches),
            gate,
        )
        new, improved, attempts = self._draws(rnd, self._pool(st, ctx), ctx)
        backtracked = not (improved or (new and not cfg.memory))
        st.branches = self._carry_on(rnd) if backtracked else new
        st.decisions.append(
            DecisionRecord(
                st.epoch,
                rnd.previous_best,
                tuple(rnd.records),
                attempts,
                improved,
                backtracked,
                tuple(branch_meta(b) for b in st.branches),
            )
        )
        st.epoch, st.decision = target_epoch, st.decision + 1

    def _pool(self, st: LoopState, ctx: RunContext) -> list[Proposal]:
        """Every candidate of every current branch."""
        pool: list[Proposal] = []
        for b in st.branches:
            seed = ctx.seed_for(PROPOSE_STREAM, st.decision, b.id)
            pool += propose(b.net, self.config, branch=b.id, seed=seed)
        return pool

    def _draws(
        self, rnd: _Round, pool: list[Proposal], ctx: RunContext
    ) -> tuple[list[Branch], bool, int]:
        """``(new branches, improved, draws made)``: re-draws until one reaches the best."""
        cfg = self.config
        new: list[Branch] = []
        attempts = 0
        for attempt in range(cfg.max_redraws + 1):
            rng = np.random.default_rng(ctx.seed_for(DRAW_STREAM, rnd.st.decision, attempt))
            draw = select(pool, cfg, rng)
            if not draw:
                break
            attempts += 1
            n_fixed = len(select(pool, cfg.replace(random_draw=False), rng))
            pool = [p for p in pool if p not in draw]
            new = self._compete(rnd, draw, n_fixed, attempt)
            kept = [b for b in new if b.accuracy >= rnd.previous_best] if cfg.memory else new
            if kept and max(b.accuracy for b in new) >= rnd.previous_best:
                return kept, True, attempts
        return new, False, attempts

    def _compete(
        self, rnd: _Round, draw: list[Proposal], n_fixed: int, attempt: int
    ) -> list[Branch]:
        """Builds and recuperates one draw, scores it and trains the winners to the target."""
        cfg = self.config
        built = [apply(rnd.parents[p.branch].net, p) for p in draw]
        jobs = [
            TrainJob(
                net,
                rnd.parents[p.branch].position,
                cfg.recuperation[p.op] * cfg.recuperation_batches,
            )
            for p, (net, _) in zip(draw, built, strict=True)
        ]
        outs = rnd.run_jobs(jobs)
        rnd.st.batches += sum(o.batches for o in outs)
        win = self._score(rnd, draw, outs, n_fixed, attempt)
        return self._grow(rnd, [(draw[i], built[i][1], outs[i]) for i in win])

    def _score(
        self,
        rnd: _Round,
        draw: list[Proposal],
        outs: list[TrainOutcome],
        n_fixed: int,
        attempt: int,
    ) -> list[int]:
        """Scores a recuperated draw (eq. 16), records it; returns the winners, best first."""
        ok = [i for i, o in enumerate(outs) if o.net is not None]
        gains = [
            o.val_accuracy - rnd.parents[p.branch].accuracy for p, o in zip(draw, outs, strict=True)
        ]
        scores = {i: score(outs[i].val_accuracy, gains[i], draw[i].param_fraction) for i in ok}
        order = rank(ok, [scores[i] for i in ok], [draw[i].n_params for i in ok])
        fit: dict[int, bool] = {}
        if rnd.on_track is not None:
            for i in ok:
                epoch = (rnd.parents[draw[i].branch].position + outs[i].batches) / rnd.B
                fit[i] = rnd.on_track(epoch, outs[i].val_accuracy)
            order = sorted(order, key=lambda k: not fit[ok[k]])  # stable: score order within
        win = [ok[k] for k in order[: self.config.branches]]
        for i, (p, o) in enumerate(zip(draw, outs, strict=True)):
            rnd.records.append(
                CandidateRecord(
                    attempt,
                    p.branch,
                    p.op,
                    p.label,
                    p.rating,
                    o.val_accuracy,
                    gains[i],
                    p.param_fraction,
                    scores.get(i, -math.inf),
                    p.n_params,
                    i >= n_fixed,
                    i in win,
                    fit.get(i),
                )
            )
        return win

    def _grow(
        self, rnd: _Round, winners: list[tuple[Proposal, list[EditRecord], TrainOutcome]]
    ) -> list[Branch]:
        """Trains the winners to the next decision point; they become the new branches."""
        st, grow = rnd.st, []
        for p, _, out in winners:
            start = rnd.parents[p.branch].position + out.batches
            assert out.net is not None  # only finished candidates can win
            grow.append(TrainJob(out.net, start, max(0, rnd.target - start), curve=True))
        res = rnd.run_jobs(grow)
        st.batches += sum(r.batches for r in res)
        new = []
        for (p, edits, _), r in zip(winners, res, strict=True):
            if r.net is not None:
                par = rnd.parents[p.branch]
                new.append(child(par, p, r, edits, st, rnd.target, rnd.B))
                st.next_id += 1
        return new

    def _carry_on(self, rnd: _Round) -> list[Branch]:
        """Backtracking: the previous branches are trained on to the next decision point."""
        st, target = rnd.st, rnd.target
        jobs = [TrainJob(b.net, b.position, target - b.position, curve=True) for b in st.branches]
        res = rnd.run_jobs(jobs)
        st.batches += sum(r.batches for r in res)
        kept = [
            replace(
                b,
                net=r.net,
                position=target,
                accuracy=r.val_accuracy,
                curve=curve(b.curve, r.curve, target / rnd.B, r.val_accuracy),
            )
            for b, r in zip(st.branches, res, strict=True)
            if r.net is not None
        ]
        return kept or st.branches

    def _result(
        self,
        st: LoopState,
        n_initial: int,
        B: int,
        seed: int,
        ref: Reference | None,
        budget: Budget | None,
    ) -> SurgeonResult:
        cfg = self.config
        best, step = returned(st, ref, budget)
        extra = 0 if ref is None else cfg.total_epochs * B
        return SurgeonResult(
            network=best.net,
            history=st.history,
            edits=EditLog(best.edits),
            stop_reason=f"trained for total_epochs={cfg.total_epochs}",
            val_accuracy=best.accuracy,
            n_params_initial=n_initial,
            n_params=best.net.n_params,
            epochs_trained=(st.batches + extra) / B,
            curve=best.curve,
            topology=best.topology,
            changes=best.changes,
            decisions=tuple(st.decisions),
            config=cfg,
            seed=seed,
            baseline_curve=() if ref is None else ref.baseline_curve,
            chosen_step=step,
            budget=None if budget is None or ref is None else _budget_info(budget, ref),
        )

    def _fine_tune(self, result: SurgeonResult, data: Splits, ctx: RunContext) -> None:
        """:func:`~neuroplast.search._budget.fine_tune` of the result with the run's SGD."""
        cfg = self.config
        result.network, result.final_tuning = fine_tune_final(
            result.network,
            data,
            cfg,
            optimizer=SGD(lr=cfg.lr, momentum=cfg.momentum),
            seed=ctx.seed_for(FINAL_STREAM),
        )
        if result.final_tuning["kept"]:
            result.val_accuracy = result.final_tuning["after"]

    def report(self, result: SurgeonResult, out: Path) -> None:
        """Draws the shared overview, ``topology.png`` (Fig. 3) and ``accuracy.png`` (Fig. 4)."""
        from neuroplast.search.surgeon.report import write_report

        super().report(result, out)
        write_report(out, result)


def _budget_info(budget: Budget, ref: Reference) -> dict[str, Any]:
    return {**budget.to_dict(), "reference": ref.name}
