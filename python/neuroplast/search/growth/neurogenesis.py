"""Neurogenesis (Maile 2023, ch. 6, Algorithm 4): grow hidden layers while training.

::

    while f not converged:
        gradient descent step on current weights
        for each hidden layer l:
            if TRIGGER(f, l) > 0: add TRIGGER(f, l) neurons using INITIALIZATION(f, l)

A strategy is a trigger and an initialization (thesis Table 7):

| strategy | trigger | initialization |
|---|---|---|
| ``north-select`` | T_act (φ_ED, eq. 28) | NORTH-Select |
| ``north-pre`` | T_act | NORTH-Pre (eq. 33, MLPs only) |
| ``north-random`` | T_act | NORTH-Random |
| ``north-weight`` | T_weight (eq. 31) | NORTH-Weight (eq. 34) |
| ``gradmax`` | T_grad (eq. 32) | GradMax |
| ``firefly`` | T_grad | Firefly |
| ``nest`` | T_grad | NeST |

The triggers and initializations are :mod:`neuroplast.growth`'s (errata applied there). Dense
layers keep the metric at initialization as baseline; convolutional ones the running maximum
(eq. 35). Metrics are computed on a FIFO buffer of the most recent training inputs, holding
more samples than the widest layer (reference code: twice the maximum width), whose
activations are recomputed with the current network at every evaluation. Training runs
``eval_every`` steps per engine call (:class:`~neuroplast.search.growth._steps.StepTrainer`),
so no Python code runs per minibatch between evaluations. ``schedule="linear"|"batched"``
replaces the trigger by the thesis' preset schedules (Sec. 6.3.3: growing to ``target_width``
during the first 75 % of training, one unit at a time or in 8 equal events), to isolate the
initializations; units a schedule adds at steps between two evaluations are added at the
next evaluation. No evaluation follows the last step (units added then would never train).

The returned network (not in the thesis, which returns the last one): with ``restore_best``
(the ``fast`` preset) the network of the history record — the start, then every epoch's end —
with the highest validation accuracy (:class:`~neuroplast.search._budget.MostAccurate`), and
``final_epochs`` fine-tunes it with early stopping
(:func:`~neuroplast.search._budget.fine_tune`). Neurogenesis grows from a small, usually
untrained start, so the pruning controllers' budget relative to the start network does not
apply: ``max_drop`` is ``None`` by default (set, the smallest record within it is returned).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from neuroplast.errors import ConfigError
from neuroplast.growth import (
    ActivationBuffer,
    ActivationTrigger,
    GradientTrigger,
    WeightTrigger,
    grow,
    measure_gradient,
)
from neuroplast.layers import Conv2d
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._contract import Controller, RunContext
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits
from neuroplast.search.growth._common import (
    FINAL_STREAM,
    GROW_STREAM,
    TRAIN_STREAM,
    growable_layers,
    resolve_widths,
    snapshot,
)
from neuroplast.search.growth._session import Session, keeper
from neuroplast.search.growth._steps import StepTrainer
from neuroplast.search.growth.config import NeurogenesisConfig
from neuroplast.search.growth.result import GrowthResult

__all__ = ["Neurogenesis"]

Plan = dict[int, dict[str, int]]


class Neurogenesis(Controller[NeurogenesisConfig, GrowthResult]):
    """Algorithm 4 with one strategy of thesis Table 7 (see the module docstring).

    Trains a copy of the network for ``config.epochs`` epochs on the training split, growing
    its hidden layers; every epoch's record is measured on the validation split, and a run
    folder gets a checkpoint at the end of every epoch. Returns the last network, or with
    ``restore_best`` the most accurate record's, fine-tuned when ``final_epochs > 0``.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(256, 8)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
        >>> cfg = NeurogenesisConfig.fast(strategy="north-random", max_width=16, epochs=2)
        >>> res = Neurogenesis(cfg).run(
        ...     Network.init(Spec.mlp(8, [4], 2), seed=0), (X, y), progress=False)
        >>> 4 <= res.network.spec.widths["dense_0"] <= 16
        True
    """

    name: ClassVar[str] = "neurogenesis"
    config_class: ClassVar[type[Any]] = NeurogenesisConfig

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> GrowthResult:
        cfg = self.config
        layers = growable_layers(net.spec, cfg.layers)
        initial = snapshot(net, layers)
        max_w = resolve_widths(
            cfg.max_width, layers, {k: 8 * v for k, v in initial.items()}, "max_width"
        )
        for name in layers:
            if max_w[name] < initial[name]:
                raise ConfigError(f"max_width of {name!r} is below its width {initial[name]}")
        conv = {name for name in layers if isinstance(net.spec.node(name), Conv2d)}
        capacity = cfg.buffer_size or max(2 * max(max_w.values()), 128 if conv else 0)
        opt = Adam(lr=cfg.lr, weight_decay=cfg.weight_decay)
        seed = ctx.seed_for(TRAIN_STREAM)
        trainer = StepTrainer(data.X_train, data.y_train, cfg.batch_size, opt, seed)
        keep = keeper(cfg.max_drop, cfg.restore_best, data)
        session = Session(net, data, trainer, capacity, layers, keep)
        triggers = self._triggers(layers, conv, max_w)
        total = cfg.epochs * trainer.steps_per_epoch
        plan = self._plan(layers, initial, total)
        if not session.resume(ctx, triggers):
            self._start(session, triggers)
        desc = f"neurogenesis {cfg.strategy}"
        with Progress(cfg.epochs, desc, enabled=ctx.progress, unit="epoch") as bar:
            if trainer.epoch:
                bar.update(trainer.epoch)
            while trainer.step < total:
                chunk = session.train(min(cfg.eval_every, total - trainer.step))
                rec = session.record() if chunk.epoch_ends else None
                if trainer.step < total:
                    self._evaluate(session, triggers, plan, trainer.step - chunk.steps, ctx)
                if rec is not None:
                    bar.update(len(chunk.epoch_ends), loss=rec["loss"], params=rec["n_params"])
                    session.checkpoint(ctx, trainer.epoch, triggers)
        reason = f"trained {cfg.epochs} epochs"
        return session.finish(reason, cfg, ctx.seed_for(FINAL_STREAM))

    def report(self, result: GrowthResult, out: Path) -> None:
        """The overview figure, ``widths.png`` and ``accuracy.png``."""
        from neuroplast.search.growth.report import write_report

        super().report(result, out)
        write_report(result, out, f"neurogenesis {self.config.strategy}")

    # ------------------------------------------------------------------ pieces
    def _triggers(
        self, layers: Sequence[str], conv: set[str], max_w: Mapping[str, int]
    ) -> dict[str, Any]:
        cfg = self.config
        triggers: dict[str, Any] = {}
        for name in layers:
            if cfg.trigger_kind == "activation":
                triggers[name] = ActivationTrigger(
                    metric=cfg.metric,
                    gamma=cfg.gamma_a,
                    eps=cfg.eps,
                    baseline="running_max" if name in conv else "initial",
                    max_width=max_w[name],
                )
            elif cfg.trigger_kind == "weight":
                triggers[name] = WeightTrigger(
                    gamma=cfg.gamma_w, eps=cfg.eps, max_width=max_w[name]
                )
            else:
                triggers[name] = GradientTrigger(
                    threshold_scale=cfg.threshold_scale, max_width=max_w[name]
                )
        return triggers

    def _start(self, session: Session, triggers: Mapping[str, Any]) -> None:
        """Baselines of the dynamic triggers on the start network, and the step-0 record."""
        if self.config.schedule == "dynamic" and self.config.trigger_kind != "gradient":
            for name, trigger in triggers.items():
                trigger.start(name, _measure(session.network, name, trigger, session.buffer))
        session.record()

    def _plan(self, layers: Sequence[str], initial: Mapping[str, int], total: int) -> Plan:
        """Preset schedules: step → units to add per layer (empty for ``"dynamic"``)."""
        cfg = self.config
        if cfg.schedule == "dynamic":
            return {}
        target = resolve_widths(cfg.target_width, layers, initial, "target_width")
        # Growth ends a step before the last: no evaluation follows the last step.
        horizon = max(1, min(int(cfg.grow_fraction * total), total - 1))
        plan: Plan = {}
        for name in layers:
            extra = target[name] - initial[name]
            if extra < 0:
                raise ConfigError(f"target_width of {name!r} is below its width {initial[name]}")
            if cfg.schedule == "linear":
                widths = [initial[name] + extra * s // horizon for s in range(horizon + 1)]
                adds = {s: widths[s] - widths[s - 1] for s in range(1, horizon + 1)}
            else:
                marks = [max(1, horizon * (i + 1) // cfg.events) for i in range(cfg.events)]
                adds = {
                    s: extra * (i + 1) // cfg.events - extra * i // cfg.events
                    for i, s in enumerate(marks)
                }
            for s, n in adds.items():
                if n > 0:
                    plan.setdefault(s, {})[name] = plan.get(s, {}).get(name, 0) + n
        return plan

    def _evaluate(
        self,
        session: Session,
        triggers: Mapping[str, Any],
        plan: Plan,
        since: int,
        ctx: RunContext,
    ) -> None:
        """One pass of Algorithm 4's inner loop after the steps ``(since, step]``."""
        cfg = self.config
        net, buffer, step = session.network, session.buffer, session.trainer.step
        dynamic = cfg.schedule == "dynamic"
        activation = dynamic and cfg.trigger_kind == "activation"
        acts = net.activations(buffer.X, list(triggers)) if activation else {}
        for li, (name, trigger) in enumerate(triggers.items()):
            width = net.spec.widths[name]
            if not dynamic:
                n = sum(plan.get(s, {}).get(name, 0) for s in range(since + 1, step + 1))
            elif activation:
                n = trigger(name, width, trigger.measure(acts[name]))
            else:
                n = trigger(name, width, _measure(net, name, trigger, buffer))
            if n <= 0:
                continue
            net, rec = grow(
                net,
                name,
                n,
                cfg.initialization,
                X=buffer.X,
                y=buffer.y,
                seed=ctx.seed_for(GROW_STREAM, step, li),
                candidates=cfg.candidates,
            )
            session.edit(net, rec, name, "grow", n)


def _measure(net: Network, layer: str, trigger: Any, buffer: ActivationBuffer) -> Any:
    """What ``trigger`` looks at for ``layer``, measured on the buffer."""
    if isinstance(trigger, ActivationTrigger):
        return trigger.measure(net.activations(buffer.X, [layer])[layer])
    if isinstance(trigger, WeightTrigger):
        bias = net.params.get(f"{layer}.bias")
        return trigger.measure(net.params[f"{layer}.weight"], bias)
    return measure_gradient(net, layer, buffer.X, buffer.y)
