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
previous branches are trained on instead). At the end the best-scoring branch is returned.

Training jobs run through :func:`neuroplast.search.evaluate` (in-process by default, or on any
:class:`concurrent.futures.Executor`), or through an injected evaluation function. With a run
folder, every decision point is checkpointed (:class:`neuroplast.search.RunFolder`) and a
resumed run ends bit-for-bit where an uninterrupted one does: every random choice is derived
from ``(seed, decision, ...)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from neuroplast import get_num_threads
from neuroplast.errors import ConfigError, DataError, NumericalError
from neuroplast.morph import EditLog
from neuroplast.network import Network
from neuroplast.search._evaluate import shared_data
from neuroplast.search._progress import Progress
from neuroplast.search._run import RunFolder
from neuroplast.search.surgeon._checkpoint import LoopState, load_state, save_state
from neuroplast.search.surgeon._train import Trainer, TrainJob, TrainOutcome
from neuroplast.search.surgeon.config import SurgeonConfig
from neuroplast.search.surgeon.modify import apply
from neuroplast.search.surgeon.recommend import Proposal, hidden_layers, propose, select
from neuroplast.search.surgeon.records import (
    Branch,
    CandidateRecord,
    DecisionRecord,
    SurgeonResult,
)
from neuroplast.search.surgeon.score import rank, score

__all__ = ["EvaluateFn", "Surgeon", "widths"]

#: Runs a batch of training jobs and returns their outcomes in order.
EvaluateFn = Callable[[Sequence[TrainJob]], list[TrainOutcome]]


def widths(net: Network) -> tuple[int, ...]:
    """Units of the hidden layers (the boxes of the paper's Fig. 3, right), in spec order."""
    return tuple(net.spec.widths[n] for n in hidden_layers(net))


def _derive(*key: int) -> int:
    return int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0] >> 1)


class Surgeon:
    """The Surgeon: ``Surgeon(config).run(net, X_train, y_train, X_val, y_val)``.

    Args:
        config: Settings; default :meth:`SurgeonConfig.paper`.

    Example:
        >>> from neuroplast import Network, Spec, data
        >>> ds = data.load("digits", seed=0)
        >>> cfg = SurgeonConfig.fast(total_epochs=4, initial_epochs=2, decision_every=2)
        >>> net = Network.init(Spec.mlp(64, [10], 10), seed=0)
        >>> res = Surgeon(cfg).run(net, ds.X_train, ds.y_train, ds.X_test, ds.y_test, seed=0)
        >>> len(res.decisions), res.curve[-1][0]
        (1, 4.0)
    """

    def __init__(self, config: SurgeonConfig | None = None) -> None:
        if config is not None and not isinstance(config, SurgeonConfig):
            raise ConfigError(f"config must be a SurgeonConfig, got {type(config).__name__}")
        self.config = config or SurgeonConfig.paper()

    def run(
        self,
        net: Network,
        X_train: npt.ArrayLike,
        y_train: npt.ArrayLike,
        X_val: npt.ArrayLike,
        y_val: npt.ArrayLike,
        *,
        run_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        seed: int = 0,
        executor: Executor | None = None,
        evaluate: EvaluateFn | None = None,
        threads: int | None = None,
        progress: bool = False,
    ) -> SurgeonResult:
        """Runs Algorithm 1 on ``net`` (not modified) and returns the final best branch.

        Args:
            net: The starting network (a classifier).
            X_train: Training features.
            y_train: Training labels.
            X_val: Validation features (scores, selection, curves).
            y_val: Validation labels.
            run_dir: Folder for history, final model, edit log and per-decision checkpoints.
            resume: Continue from the newest checkpoint in ``run_dir`` (same seed and config).
            seed: Seed of every random choice (batch order, Net2Wider copies, random draws).
            executor: Runs the training jobs (e.g. a process pool); default in-process.
            evaluate: Replaces the job runner entirely (``jobs -> outcomes``).
            threads: Engine threads per job (default: the current count in-process, 1 on an
                executor). Results are reproducible per thread count.
            progress: Show a progress bar over decision points.

        Raises:
            ConfigError: A bad seed, a non-classifier, or a checkpoint from other settings.
            DataError: Empty data.
            NumericalError: Pre-training diverged.
        """
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be an int >= 0, got {seed!r}")
        if net.spec.loss != "cross_entropy":
            raise ConfigError("the Surgeon scores validation accuracy: it needs a classifier")
        if resume and run_dir is None:
            raise ConfigError("resume=True needs a run_dir")
        Xt, Xv = np.asarray(X_train), np.asarray(X_val)
        if len(Xt) == 0 or len(Xv) == 0:
            raise DataError("the Surgeon needs non-empty training and validation data")
        cfg = self.config
        n_threads = threads or (get_num_threads() if executor is None else 1)
        folder = None if run_dir is None else RunFolder(run_dir)
        with shared_data(Xt, np.asarray(y_train), Xv, np.asarray(y_val)) as data:
            trainer = Trainer(
                data,
                len(Xt),
                cfg,
                seed=seed,
                threads=n_threads,
                executor=executor,
            )
            run_jobs: EvaluateFn = evaluate or trainer
            st = load_state(folder, seed, cfg) if resume and folder is not None else None
            if st is None:
                st = self._start(net, trainer, run_jobs)
                if folder is not None:
                    save_state(folder, st, seed, cfg)
            total = math.ceil((cfg.total_epochs - cfg.initial_epochs) / cfg.decision_every)
            with Progress(total, "surgeon", enabled=progress, unit="decision") as bar:
                bar.update(st.decision)
                while st.epoch < cfg.total_epochs:
                    self._decide(st, trainer.batches_per_epoch, run_jobs, seed)
                    if folder is not None:
                        save_state(folder, st, seed, cfg)
                    bar.update(1, acc=max(b.accuracy for b in st.branches))
            result = self._result(st, net.n_params, trainer.batches_per_epoch, seed)
        if folder is not None:
            folder.write_final(result.network)
            folder.write_edits(EditLog(result.edits))
            folder.write_history(result.summary())
        return result

    # ------------------------------------------------------------------ steps
    def _start(self, net: Network, trainer: Trainer, run_jobs: EvaluateFn) -> LoopState:
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
        return LoopState(cfg.initial_epochs, 0, [root], batches=n)

    def _decide(self, st: LoopState, B: int, run_jobs: EvaluateFn, seed: int) -> None:
        cfg = self.config
        target_epoch = min(st.epoch + cfg.decision_every, cfg.total_epochs)
        parents = {b.id: b for b in st.branches}
        pool: list[Proposal] = []
        for b in st.branches:
            pool += propose(b.net, cfg, branch=b.id, seed=_derive(seed, st.decision, b.id))
        previous_best = max(b.accuracy for b in st.branches)
        records: list[CandidateRecord] = []
        new: list[Branch] = []
        improved = backtracked = False
        attempts = 0
        for attempt in range(cfg.max_redraws + 1):
            rng = np.random.default_rng([seed, st.decision, attempt])
            draw = select(pool, cfg, rng)
            if not draw:
                break
            attempts += 1
            n_fixed = len(select(pool, cfg.replace(random_draw=False), rng))
            pool = [p for p in pool if p not in draw]
            new = self._compete(
                st, draw, n_fixed, parents, attempt, records, target_epoch * B, B, run_jobs
            )
            kept = [b for b in new if b.accuracy >= previous_best] if cfg.memory else new
            if kept and max(b.accuracy for b in new) >= previous_best:
                new, improved = kept, True
                break
        if improved or (new and not cfg.memory):
            st.branches = new
        else:
            st.branches, backtracked = self._carry_on(st, target_epoch * B, B, run_jobs), True
        kept_meta = tuple(
            {
                "id": b.id,
                "parent": b.parent,
                "label": b.label,
                "widths": list(widths(b.net)),
                "n_params": b.net.n_params,
                "accuracy": b.accuracy,
            }
            for b in st.branches
        )
        st.decisions.append(
            DecisionRecord(
                st.epoch, previous_best, tuple(records), attempts, improved, backtracked, kept_meta
            )
        )
        st.epoch, st.decision = target_epoch, st.decision + 1

    def _compete(
        self,
        st: LoopState,
        draw: list[Proposal],
        n_fixed: int,
        parents: dict[int, Branch],
        attempt: int,
        records: list[CandidateRecord],
        target: int,
        B: int,
        run_jobs: EvaluateFn,
    ) -> list[Branch]:
        """Builds and recuperates one draw, scores it and trains the winners to ``target``."""
        cfg = self.config
        built = [apply(parents[p.branch].net, p) for p in draw]
        jobs = [
            TrainJob(
                net, parents[p.branch].position, cfg.recuperation[p.op] * cfg.recuperation_batches
            )
            for p, (net, _) in zip(draw, built, strict=True)
        ]
        outs = run_jobs(jobs)
        st.batches += sum(o.batches for o in outs)
        ok = [i for i, o in enumerate(outs) if o.net is not None]
        scores = {
            i: score(
                outs[i].val_accuracy,
                outs[i].val_accuracy - parents[draw[i].branch].accuracy,
                draw[i].param_fraction,
            )
            for i in ok
        }
        order = rank(ok, [scores[i] for i in ok], [draw[i].n_params for i in ok])
        win = [ok[k] for k in order[: cfg.branches]]
        for i, (p, o) in enumerate(zip(draw, outs, strict=True)):
            gain = o.val_accuracy - parents[p.branch].accuracy
            records.append(
                CandidateRecord(
                    attempt,
                    p.branch,
                    p.op,
                    p.label,
                    p.rating,
                    o.val_accuracy,
                    gain,
                    p.param_fraction,
                    scores.get(i, -math.inf),
                    p.n_params,
                    i >= n_fixed,
                    i in win,
                )
            )
        grow = []
        for i in win:
            start = parents[draw[i].branch].position + outs[i].batches
            net = outs[i].net
            assert net is not None  # only finished candidates can win
            grow.append(TrainJob(net, start, max(0, target - start), curve=True))
        res = run_jobs(grow)
        st.batches += sum(r.batches for r in res)
        new = []
        for i, r in zip(win, res, strict=True):
            if r.net is None:
                continue
            p, par = draw[i], parents[draw[i].branch]
            topo, changes = par.topology, par.changes
            if p.op != "identity":
                topo = (*topo, (float(st.epoch), widths(r.net)))
                changes = (*changes, (float(st.epoch), p.op, p.label))
            new.append(
                Branch(
                    st.next_id,
                    r.net,
                    target,
                    r.val_accuracy,
                    par.id,
                    p.label,
                    par.accuracy,
                    par.net.n_params,
                    (*par.edits, *built[i][1]),
                    _curve(par.curve, r.curve, target / B, r.val_accuracy),
                    topo,
                    changes,
                )
            )
            st.next_id += 1
        return new

    def _carry_on(self, st: LoopState, target: int, B: int, run_jobs: EvaluateFn) -> list[Branch]:
        """Backtracking: the previous branches are trained on to the next decision point."""
        jobs = [TrainJob(b.net, b.position, target - b.position, curve=True) for b in st.branches]
        res = run_jobs(jobs)
        st.batches += sum(r.batches for r in res)
        kept = [
            replace(
                b,
                net=r.net,
                position=target,
                accuracy=r.val_accuracy,
                curve=_curve(b.curve, r.curve, target / B, r.val_accuracy),
            )
            for b, r in zip(st.branches, res, strict=True)
            if r.net is not None
        ]
        return kept or st.branches

    def _result(self, st: LoopState, n_initial: int, B: int, seed: int) -> SurgeonResult:
        scores = [b.score() for b in st.branches]
        best = st.branches[rank(st.branches, scores, [b.net.n_params for b in st.branches])[0]]
        return SurgeonResult(
            best.net,
            best.accuracy,
            n_initial,
            best.net.n_params,
            st.batches / B,
            best.curve,
            best.topology,
            best.edits,
            best.changes,
            tuple(st.decisions),
            self.config,
            seed,
        )


def _curve(
    parent: tuple[tuple[float, float], ...],
    own: tuple[tuple[float, float], ...],
    epoch: float,
    acc: float,
) -> tuple[tuple[float, float], ...]:
    """The lineage's curve, ending with the accuracy at the decision point ``epoch``."""
    pts = (*parent, *own)
    return pts if pts and pts[-1][0] == epoch else (*pts, (epoch, acc))
