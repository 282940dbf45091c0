"""``compress``: the smallest network within an accuracy budget, by data-aware narrowing.

The one call a user wants: start from a trained network, remove units and channels where the
validation accuracy allows, and return the smallest network whose validation accuracy stays
within ``max_drop`` of the start (or that reaches ``target_params`` / ``target_flops``).

Each round tries, for every hidden layer group (:func:`neuroplast.morph.deps.group_leaders`),
keeping ``1 − step`` of its units, chosen by their activation energy on calibration data
(``narrow(select="low_energy")``, the most accurate rule in the keep table of the docs), with
the consumers refit by least squares (``compensate="lstsq"``), and, with ``factorize``, splitting
every hidden dense layer not yet split into a linear bottleneck fit to the data (a data-basis
:func:`~neuroplast.morph.factorize` keeping ``1 − step`` of its weights; later rounds narrow the
bottleneck like any hidden layer; see :mod:`neuroplast.search._compress_edits`), then fine-tunes
each candidate for ``tune_epochs`` epochs with knowledge distillation from the start network
(soft targets at ``temperature``, mixed by ``alpha``). The candidate removing the most
parameters per point of validation accuracy lost is kept if it respects the budget
(:class:`~neuroplast.search.Budget`: at or above the floor and above the chance level, so never
a collapsed network) and the next round's step grows by ``step_growth`` (up to ``max_step``);
when no candidate does, the step is halved (down to ``min_step``). The
smallest network seen under the budget (:class:`~neuroplast.search.BestUnderBudget`) gets a
final fine-tune with early stopping and best-weights restore
(:func:`~neuroplast.search._budget.fine_tune`, on the validation loss, with distillation), taken
only when its validation accuracy is not worse: the budget holds for the returned network.

Example:
    >>> from neuroplast import Network, Spec, data
    >>> from neuroplast.search import Compress, CompressConfig, Splits
    >>> splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
    >>> net = Network.init(Spec.mlp(64, [64], 10), seed=0)
    >>> _ = net.fit(splits.X_train, splits.y_train, epochs=20, seed=0)
    >>> res = Compress(CompressConfig.fast(max_rounds=2)).run(net, splits, progress=False)
    >>> res.after["n_params"] < res.before["n_params"]
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from neuroplast import get_num_threads
from neuroplast.errors import ConfigError
from neuroplast.morph.record import EditLog, EditRecord
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._budget import BestUnderBudget, Budget, chance_level, fine_tune
from neuroplast.search._compress_edits import CANDIDATE, plan
from neuroplast.search._contract import ConfigBase, Controller, Result, RunContext
from neuroplast.search._evaluate import DataRef, EditStep, Job, TrainStep, evaluate, shared_data
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits

__all__ = ["Compress", "CompressConfig", "CompressResult", "compress"]


@dataclass(frozen=True)
class CompressConfig(ConfigBase):
    """Settings of :class:`Compress`.

    Attributes:
        max_drop: Largest validation-accuracy drop from the start network (budget).
        target_params: Stop once the network has at most this many parameters.
        target_flops: Stop once the network needs at most this many FLOPs per sample.
        step: Fraction of a layer's units removed by one candidate edit (the first round's).
        min_step: Smallest step tried before giving up.
        step_growth: Factor on the step after an accepted edit (a rejected round halves it).
        max_step: Largest step the growth reaches.
        max_rounds: Most accepted edits.
        tune_epochs: Fine-tuning epochs after every candidate edit.
        final_epochs: Most epochs of the final fine-tune (early stopping, best restored).
        patience: Early-stopping patience of the final fine-tune.
        lr: Adam learning rate of all fine-tuning.
        batch_size: Minibatch size of all fine-tuning.
        distill: Fine-tune on the start network's soft targets as well as the labels.
        temperature: Distillation temperature.
        alpha: Weight of the distillation term.
        calibration: Training samples used to score units and refit consumers.
        min_width: Fewest units a layer keeps.
        factorize: Also try splitting each dense layer into a linear bottleneck (data-basis
            :func:`~neuroplast.morph.factorize`, hidden layers) whose rank later rounds shrink.
        threads: Engine threads per candidate (``None``: the current count in-process, 1 on
            an executor). Results are reproducible per thread count.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    max_drop: float = 0.01
    target_params: int | None = None
    target_flops: int | None = None
    step: float = 0.25
    min_step: float = 0.05
    # A fixed step: growing it by 1.5 after each accepted edit (up to 0.5) cut the search's
    # time by about 40 % but ended further below the frontier on synthetic data and digits
    # (bigger steps reach the budget's edge, where validation noise picks the survivors):
    # docs/controllers/compress.md "Defaults".
    step_growth: float = 1.0
    max_step: float = 0.5
    max_rounds: int = 40
    tune_epochs: int = 2
    # 60/10 rather than 30/5: measured across digits, synthetic, MNIST-1D and Fashion-MNIST
    # (benches/python/compress_defaults.py, docs/controllers/compress.md "Defaults").
    final_epochs: int = 60
    patience: int = 10
    lr: float = 1e-3
    batch_size: int = 64
    distill: bool = True
    temperature: float = 4.0
    alpha: float = 0.5
    calibration: int = 2000
    min_width: int = 1
    # On: MNIST-1D (16x) and Fashion-MNIST (1.6x) end smaller and further above the frontier,
    # digits smaller and synthetic larger, both within seed noise of it; the search costs
    # about twice the time (docs/controllers/compress.md "Defaults").
    factorize: bool = True
    threads: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.max_drop < 1:
            raise ConfigError(f"max_drop must be in [0, 1), got {self.max_drop}")
        if not 0 < self.min_step <= self.step <= self.max_step < 1:
            raise ConfigError(
                "need 0 < min_step <= step <= max_step < 1 (raise max_step for a larger step)"
            )
        if not self.step_growth >= 1:
            raise ConfigError(f"step_growth must be >= 1, got {self.step_growth}")
        for name in ("max_rounds", "calibration", "min_width", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1")
        if self.threads is not None and (isinstance(self.threads, bool) or self.threads < 1):
            raise ConfigError(f"threads must be None or an int >= 1, got {self.threads!r}")

    @classmethod
    def paper(cls, **overrides: Any) -> CompressConfig:
        """The default settings (compress has no paper; same as the class defaults)."""
        return cls(**overrides)

    @classmethod
    def fast(cls, **overrides: Any) -> CompressConfig:
        """Quick runs: larger steps, one tuning epoch, a short final fine-tune."""
        base: dict[str, Any] = dict(step=0.35, min_step=0.1, tune_epochs=1, final_epochs=10)
        base.update(overrides)
        return cls(**base)


@dataclass(kw_only=True)
class CompressResult(Result):
    """:class:`~neuroplast.search.Result` of :class:`Compress`.

    Attributes:
        floor: The validation accuracy the budget allows (start minus ``max_drop``).
        rejected: Candidate edits tried and refused (layer, step, validation accuracy).
        budget: The budget (:meth:`neuroplast.search.Budget.to_dict`).
        final_tuning: What the final fine-tuning did (:func:`~neuroplast.search._budget.fine_tune`'s
            ``epochs``, ``best_epoch``, ``before``, ``after``, ``kept``); ``None`` without it.
    """

    floor: float = 0.0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] | None = None
    final_tuning: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """The base summary plus the accuracy floor of the budget."""
        return {**super().summary(), "val_accuracy_floor": self.floor}


class Compress(Controller[CompressConfig, CompressResult]):
    """Iterative data-aware narrowing within an accuracy budget (see the module docstring)."""

    name = "compress"
    config_class = CompressConfig

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> CompressResult:
        cfg = self.config
        if net.spec.loss != "cross_entropy":
            raise ConfigError("compress keeps a validation-accuracy budget: it needs a classifier")
        budget = Budget(_val_accuracy(net, data), cfg.max_drop, chance_level(data.y_val))
        teacher = net.forward(data.X_train) if cfg.distill else None
        st = _State(net.copy(), EditLog(), [_record(net, data, 0)], [], cfg.step, 0)
        ckpt = ctx.folder.latest_checkpoint() if ctx.folder is not None and ctx.resume else None
        if ckpt is not None:
            st = _State.restore(ckpt[1], ckpt[2])
        best = BestUnderBudget(budget)
        best.offer(st.net, st.history[-1]["val_accuracy"], len(st.log))
        with shared_data(
            data.X_train, data.y_train, data.X_val, data.y_val, teacher=teacher
        ) as ref:
            self._search(st, best, data, ref, ctx)
        return self._result(st, best, data, teacher, ctx)

    def _search(
        self, st: _State, best: BestUnderBudget, data: Splits, ref: DataRef, ctx: RunContext
    ) -> None:
        """Accepts edits until the target, the round limit or the smallest step is reached."""
        cfg = self.config
        with Progress(cfg.max_rounds, "compress", enabled=ctx.progress, unit="edit") as bar:
            bar.update(len(st.log))
            while (
                len(st.log) < cfg.max_rounds and st.step >= cfg.min_step and not self._done(st.net)
            ):
                seed = ctx.seed_for(1, len(st.log), round(st.step * 1e6))
                found = self._round(st.net, ref, st.step, seed, ctx)
                accepted = len(st.log)
                self._accept(st, found, best.budget, data)
                if len(st.log) > accepted:
                    best.offer(st.net, st.history[-1]["val_accuracy"], len(st.log))
                st.rounds += 1
                if ctx.folder is not None:
                    ctx.folder.save_checkpoint(st.rounds, st.net, st.state())
                bar.update(len(st.log) - accepted, params=st.net.n_params)

    def _result(
        self, st: _State, best: BestUnderBudget, data: Splits, teacher: Any, ctx: RunContext
    ) -> CompressResult:
        """The smallest network under the budget (else the last), fine-tuned if not worse."""
        cfg = self.config
        chosen = st.net if best.network is None else best.network
        tuning = None
        if cfg.final_epochs > 0:
            chosen, tuning = fine_tune(
                chosen,
                data,
                epochs=cfg.final_epochs,
                patience=cfg.patience,
                optimizer=Adam(lr=cfg.lr),
                batch_size=cfg.batch_size,
                seed=ctx.seed_for(2),
                fit_options={"monitor": "val_loss", **self._distill(teacher)},
            )
            if tuning["kept"]:
                st.history.append(_record(chosen, data, len(st.log) + 1))
                st.history[-1]["edit"] = None
        return CompressResult(
            network=chosen,
            history=st.history,
            edits=st.log,
            stop_reason="target reached" if self._done(chosen) else "budget reached",
            floor=best.budget.floor,
            rejected=st.rejected,
            budget=best.budget.to_dict(),
            final_tuning=tuning,
        )

    def _accept(
        self,
        st: _State,
        found: list[tuple[Network, EditRecord, float]],
        budget: Budget,
        data: Splits,
    ) -> None:
        """Keeps the most efficient in-budget candidate, or halves the step when none is."""
        ok = [c for c in found if budget.admits(c[2])]
        st.rejected += [
            {"layer": c[1].args.get("layer"), "step": st.step, "val_accuracy": c[2]}
            for c in found
            if not budget.admits(c[2])
        ]
        if not ok:
            st.step /= 2
            return
        st.step = min(st.step * self.config.step_growth, self.config.max_step)
        start = budget.start_accuracy
        cand, edit, _ = max(ok, key=lambda c: _gain(st.net, c[0], start - c[2]))
        st.history[-1]["edit"] = f"{edit.name} {edit.args.get('layer')}"
        st.history[-1]["edit_kind"] = "factorize" if edit.name == "factorize" else "remove_neurons"
        st.net, st.log = cand, st.log.append(edit)
        st.history.append(_record(cand, data, len(st.log)))

    def _done(self, net: Network) -> bool:
        cfg = self.config
        return (cfg.target_params is not None and net.n_params <= cfg.target_params) or (
            cfg.target_flops is not None and net.flops <= cfg.target_flops
        )

    def _round(
        self, net: Network, ref: DataRef, step: float, seed: int, ctx: RunContext
    ) -> list[tuple[Network, EditRecord, float]]:
        """Every candidate edit by ``step``, fine-tuned: ``(network, edit, val accuracy)``.

        Each candidate is one :class:`~neuroplast.search.Job` (the edit, built on the
        calibration samples, then the distilled fine-tuning), run on ``ctx.executor``;
        candidates that do not apply or whose fine-tuning diverges are left out.
        """
        cfg = self.config
        tune: tuple[TrainStep, ...] = ()
        if cfg.tune_epochs > 0:
            tune = (
                TrainStep(
                    epochs=cfg.tune_epochs,
                    batch_size=cfg.batch_size,
                    optimizer=Adam(lr=cfg.lr),
                    seed=seed,
                    temperature=cfg.temperature if cfg.distill else None,
                    alpha=cfg.alpha,
                ),
            )
        threads = cfg.threads or (get_num_threads() if ctx.executor is None else 1)
        cal_seed = ctx.seed_for(0)
        jobs = [
            Job(net, (EditStep(CANDIDATE, args, cfg.calibration, cal_seed), *tune), ref, threads)
            for args in plan(net, step, min_width=cfg.min_width, factorize_layers=cfg.factorize)
        ]
        return [
            (r.network, EditRecord.from_dict(r.records[0]), r.accuracy)
            for r in evaluate(jobs, ctx.executor)
            if r.error is None and r.network is not None
        ]

    def _distill(self, teacher: Any) -> dict[str, Any]:
        """The distillation arguments of :meth:`Network.fit` (none without a teacher)."""
        cfg = self.config
        if teacher is None:
            return {}
        return {"teacher": teacher, "temperature": cfg.temperature, "alpha": cfg.alpha}


def compress(
    net: Network,
    data: Any,
    *,
    max_drop: float = 0.01,
    target_params: int | None = None,
    target_flops: int | None = None,
    seed: int = 0,
    progress: bool = False,
    **settings: Any,
) -> CompressResult:
    """The smallest network within ``max_drop`` validation accuracy of ``net``.

    Shorthand for ``Compress(CompressConfig(max_drop=..., ...)).run(net, data, seed=...)``;
    ``settings`` are further :class:`CompressConfig` fields.

    Example:
        >>> from neuroplast import Network, Spec, data
        >>> from neuroplast.search import compress
        >>> ds = data.load("digits", seed=0)
        >>> net = Network.init(Spec.mlp(64, [32], 10), seed=0)
        >>> _ = net.fit(ds.X_train, ds.y_train, epochs=10, seed=0)
        >>> res = compress(net, ds, max_drop=0.02, max_rounds=1, final_epochs=0)
        >>> res.after["val_accuracy"] >= res.floor
        True
    """
    cfg = CompressConfig(
        max_drop=max_drop, target_params=target_params, target_flops=target_flops, **settings
    )
    return Compress(cfg).run(net, data, seed=seed, progress=progress)


@dataclass
class _State:
    """What a checkpoint of :class:`Compress` holds (with the network itself)."""

    net: Network
    log: EditLog
    history: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    step: float
    rounds: int

    def state(self) -> dict[str, Any]:
        return {
            "edits": [r.to_dict() for r in self.log.records],
            "history": self.history,
            "rejected": self.rejected,
            "step": self.step,
            "rounds": self.rounds,
        }

    @classmethod
    def restore(cls, net: Network, state: dict[str, Any]) -> _State:
        log = EditLog(tuple(EditRecord.from_dict(d) for d in state["edits"]))
        step, rounds = float(state["step"]), int(state["rounds"])
        return cls(net, log, state["history"], state["rejected"], step, rounds)


def _val_accuracy(net: Network, data: Splits) -> float:
    return float(net.evaluate(data.X_val, data.y_val)["accuracy"])


def _record(net: Network, data: Splits, step: int) -> dict[str, Any]:
    return {"step": step, "n_params": int(net.n_params), "val_accuracy": _val_accuracy(net, data)}


def _gain(before: Network, after: Network, drop: float) -> float:
    """Parameters removed per point of validation accuracy lost (gains count as tiny losses)."""
    return (before.n_params - after.n_params) / max(drop, 1e-4)
