"""DYNO grow-and-prune (Maile 2023, ch. 7, Algorithm 5).

::

    while f not converged:
        for each hidden layer l:
            if TRIG_PRUNE(f,l) > 0: remove TRIG_PRUNE(f,l) neurons chosen by SELECT_PRUNE(f,l)
            if TRIG_GROW(f,l) > 0:  add TRIG_GROW(f,l) neurons using INIT_GROW(f,l)
        for n steps: gradient descent step on current weights and dataset

Triggers (eqs. 38–39, ``max(0, ·)`` read for the printed ``min(0, ·)``) compare φ_ED with a
per-layer moving baseline φ* (the value at the layer's last structural change; 1.0 before the
first, as in the reference code): prune ``⌊M·((1−δ)φ* − φ)⌋`` units, grow
``⌊M·(φ − (1+δ)φ*)⌋`` (:class:`~neuroplast.growth.PruneGrowTrigger`). Within one evaluation
the layer is pruned first, φ is re-measured, then growth is computed with the width before
pruning. Pruning removes dormant units first, then greedily the unit whose cosine similarities
to the remaining ones have the largest norm (``narrow(select="cosine")``); growth is
NORTH-Select with ``100 ×`` the number of units added as candidates. Dense layers are never
pruned below the number of classes. Defaults follow Sec. 7.3: triggers every 50 steps,
δ = 0.03, ε = 0.01. The loop ends with training: no evaluation follows the last chunk (a
change then would never be trained).

The accuracy budget (``max_drop``, not in the thesis; ``None`` in the ``paper`` preset): the
start network's validation accuracy minus ``max_drop`` is the floor; every history record's
network (the start, then after every chunk) is offered to a
:class:`~neuroplast.search.BestUnderBudget`, and the run returns the one with the fewest
parameters at or above the floor (``chosen_step``), not the last one. ``final_epochs``
fine-tunes it with early stopping (:func:`~neuroplast.search._budget.fine_tune`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from neuroplast.errors import ConfigError
from neuroplast.growth import PruneGrowTrigger, grow
from neuroplast.layers import Dense
from neuroplast.morph import narrow
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
from neuroplast.search.growth.config import DYNOConfig
from neuroplast.search.growth.result import GrowthResult

__all__ = ["DYNO"]


class DYNO(Controller[DYNOConfig, GrowthResult]):
    """Algorithm 5: grow and prune hidden layers while training (e.g. while fine-tuning).

    Trains a copy of the network for ``config.steps`` steps on the training split; after
    every chunk of ``eval_every`` steps a history record is measured on the validation split
    and a run folder gets a checkpoint. Returns the smallest record's network within the
    budget (``max_drop``; the last one without), fine-tuned when ``final_epochs > 0``.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(512, 8)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
        >>> cfg = DYNOConfig.fast(steps=32, eval_every=8, lr=1e-2, final_epochs=0)
        >>> res = DYNO(cfg).run(Network.init(Spec.mlp(8, [6], 2), seed=0), (X, y), progress=False)
        >>> res.network.spec.widths["dense_0"] >= 2, len(res.history)
        (True, 5)
        >>> res.chosen_step, res.after["val_accuracy"] >= res.budget["floor"]
        (32, True)
    """

    name: ClassVar[str] = "dyno"
    config_class: ClassVar[type[Any]] = DYNOConfig

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> GrowthResult:
        cfg = self.config
        layers = growable_layers(net.spec, cfg.layers)
        min_w, max_w = self._limits(net, layers)
        trigger = cfg.trigger()
        capacity = math.ceil(cfg.buffer_factor * max(max_w.values()))
        opt = Adam(lr=cfg.lr, weight_decay=cfg.weight_decay)
        seed = ctx.seed_for(TRAIN_STREAM)
        trainer = StepTrainer(data.X_train, data.y_train, cfg.batch_size, opt, seed)
        keep = keeper(cfg.max_drop, False, data)
        session = Session(net, data, trainer, capacity, layers, keep)
        triggers = {"prune_grow": trigger}
        if not session.resume(ctx, triggers):
            session.record()
            self._evaluate(session, trigger, min_w, max_w, ctx)
            session.checkpoint(ctx, 0, triggers)
        with Progress(cfg.steps, "dyno", enabled=ctx.progress, unit="step") as bar:
            if trainer.step:
                bar.update(trainer.step)
            while trainer.step < cfg.steps:
                chunk = session.train(min(cfg.eval_every, cfg.steps - trainer.step))
                rec = session.record()
                if trainer.step < cfg.steps:
                    self._evaluate(session, trigger, min_w, max_w, ctx)
                bar.update(chunk.steps, val_accuracy=rec["val_accuracy"], params=rec["n_params"])
                session.checkpoint(ctx, -(-trainer.step // cfg.eval_every), triggers)
        return session.finish(f"trained {cfg.steps} steps", cfg, ctx.seed_for(FINAL_STREAM))

    def report(self, result: GrowthResult, out: Path) -> None:
        """The overview figure, ``widths.png`` and ``accuracy.png``."""
        from neuroplast.search.growth.report import write_report

        super().report(result, out)
        write_report(result, out, "dyno")

    def _limits(self, net: Network, layers: list[str]) -> tuple[dict[str, int], dict[str, int]]:
        """``(min_width, max_width)`` per layer (checked against the start widths)."""
        cfg = self.config
        initial = snapshot(net, layers)
        max_w = resolve_widths(
            cfg.max_width, layers, {k: 4 * v for k, v in initial.items()}, "max_width"
        )
        for name in layers:
            if max_w[name] < initial[name]:
                raise ConfigError(f"max_width of {name!r} is below its width {initial[name]}")
        classes = net.spec.n_outputs
        floors = {k: classes if isinstance(net.spec.node(k), Dense) else 1 for k in layers}
        return resolve_widths(cfg.min_width, layers, floors, "min_width"), max_w

    def _evaluate(
        self,
        session: Session,
        trig: PruneGrowTrigger,
        min_w: Mapping[str, int],
        max_w: Mapping[str, int],
        ctx: RunContext,
    ) -> None:
        """Prune, re-measure, grow: one evaluation of every layer."""
        buffer, step = session.buffer, session.trainer.step
        for li, name in enumerate(session.layers):
            net = session.network
            width = net.spec.widths[name]
            phi = _phi(net, name, buffer.X, trig)
            n_prune = trig.prune(name, width, phi, min_width=min_w[name])
            if n_prune > 0:
                net, rec = narrow(
                    net,
                    name,
                    keep=width - n_prune,
                    method="select",
                    select="cosine",
                    calibration=(buffer.X, None),
                )
                session.edit(net, rec, name, "prune", n_prune)
                phi = _phi(net, name, buffer.X, trig)
            now = net.spec.widths[name]
            n_grow = trig.grow(name, width, phi, current_width=now, max_width=max_w[name])
            if n_grow > 0:
                net, rec = grow(
                    net,
                    name,
                    n_grow,
                    "north_select",
                    X=buffer.X,
                    seed=ctx.seed_for(GROW_STREAM, step, li),
                    candidates=self.config.candidates_factor * n_grow,
                )
                session.edit(net, rec, name, "grow", n_grow)
            if n_prune > 0 or n_grow > 0:
                trig.changed(name)


def _phi(net: Network, layer: str, X: Any, trig: PruneGrowTrigger) -> float:
    return trig.measure(net.activations(X, [layer])[layer])
