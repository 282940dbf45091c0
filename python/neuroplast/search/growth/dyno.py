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
δ = 0.03, ε = 0.01.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import check_int
from neuroplast.errors import ConfigError
from neuroplast.growth import ActivationBuffer, PruneGrowTrigger, grow
from neuroplast.layers import Dense
from neuroplast.morph import narrow
from neuroplast.network import Network
from neuroplast.optim import Adam, Optimizer
from neuroplast.search._progress import progress_bar
from neuroplast.search.growth._common import (
    GrowthResult,
    Session,
    derived_seed,
    growable_layers,
    resolve_widths,
    snapshot,
)
from neuroplast.search.growth._steps import StepTrainer

__all__ = ["DYNO"]


@dataclass(frozen=True, kw_only=True)
class DYNO:
    """Algorithm 5: grow and prune hidden layers while training (e.g. while fine-tuning).

    Args:
        delta: δ of the triggers (0.03).
        eps: ε of φ_ED (0.01).
        eval_every: Gradient steps between trigger evaluations (50).
        candidates_factor: NORTH-Select candidates per unit added (100).
        initial_baseline: φ* before a layer's first change (1.0; ``None``: first measurement).
        max_width: Largest width per layer (int or mapping); default 4× the initial width.
        min_width: Smallest width per layer; default the class count for dense layers, 1 for
            convolutions.
        buffer_factor: The activation buffer holds ``buffer_factor ×`` the widest layer's
            maximum width (> 1; reference code subsamples to 3× the width).
        layers: Layers that change (default: every growable hidden layer).

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(512, 8)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
        >>> res = DYNO(eval_every=8).fit(Network.init(Spec.mlp(8, [6], 2), seed=0), X, y, steps=32)
        >>> res.network.spec.widths["dense_0"] >= 2
        True
    """

    delta: float = 0.03
    eps: float = 0.01
    eval_every: int = 50
    candidates_factor: int = 100
    initial_baseline: float | None = 1.0
    max_width: int | Mapping[str, int] | None = None
    min_width: int | Mapping[str, int] | None = None
    buffer_factor: float = 3.0
    layers: Sequence[str] | None = None

    def __post_init__(self) -> None:
        check_int(self.eval_every, "eval_every", 1, 2**31)
        check_int(self.candidates_factor, "candidates_factor", 1, 2**31)
        if not self.buffer_factor > 1:
            raise ConfigError(f"buffer_factor must be > 1, got {self.buffer_factor!r}")
        # Validates delta, eps and initial_baseline.
        PruneGrowTrigger(delta=self.delta, eps=self.eps, initial_baseline=self.initial_baseline)

    def fit(
        self,
        net: Network,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        steps: int,
        batch_size: int = 64,
        optimizer: Optimizer | None = None,
        seed: int = 0,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        progress: bool = False,
    ) -> GrowthResult:
        """Trains a copy of ``net`` for ``steps`` minibatch steps with grow-and-prune.

        Args:
            net: The starting (e.g. pretrained) network; not modified.
            X: Training inputs.
            y: Training labels.
            steps: Gradient steps in total (thesis: 1000 × batch 64).
            batch_size: Minibatch size.
            optimizer: Default ``Adam(lr=3e-4, weight_decay=1e-3)`` (Sec. 7.3).
            seed: Seed of the sample orders and of every growth.
            validation_data: Optional ``(X_val, y_val)`` evaluated after every epoch and at
                the end.
            progress: Show a progress bar over steps.

        Returns:
            A :class:`~neuroplast.search.growth.GrowthResult` (events in order: prunes and
            growths with their steps).
        """
        start = time.perf_counter()
        steps = check_int(steps, "steps", 1, 2**62)
        layers = growable_layers(net.spec, self.layers)
        initial = snapshot(net, layers)
        max_w = resolve_widths(
            self.max_width, layers, {k: 4 * v for k, v in initial.items()}, "max_width"
        )
        classes = net.spec.n_outputs
        floors = {k: classes if isinstance(net.spec.node(k), Dense) else 1 for k in layers}
        min_w = resolve_widths(self.min_width, layers, floors, "min_width")
        trigger = PruneGrowTrigger(
            delta=self.delta, eps=self.eps, initial_baseline=self.initial_baseline
        )
        capacity = int(np.ceil(self.buffer_factor * max(max_w.values())))
        opt = optimizer or Adam(lr=3e-4, weight_decay=1e-3)
        trainer = StepTrainer(np.asarray(X), np.asarray(y), batch_size, opt, seed)
        run = Session(net, trainer, capacity, layers, validation_data)
        out = run.out
        with progress_bar(steps, "dyno", progress, unit="step") as bar:
            while True:
                self._evaluate(out, trainer, layers, trigger, run.buffer, min_w, max_w, seed)
                if trainer.step >= steps:
                    break
                chunk = min(self.eval_every, steps - trainer.step)
                run.train(chunk, last=trainer.step + chunk >= steps)
                bar.update(chunk, params=out.network.n_params)
        out.seconds = time.perf_counter() - start
        return out

    def _phi(
        self, net: Network, layer: str, buffer: ActivationBuffer, trig: PruneGrowTrigger
    ) -> float:
        return trig.measure(net.activations(buffer.X, [layer])[layer])

    def _evaluate(
        self,
        out: GrowthResult,
        trainer: StepTrainer,
        layers: Sequence[str],
        trig: PruneGrowTrigger,
        buffer: ActivationBuffer,
        min_w: Mapping[str, int],
        max_w: Mapping[str, int],
        seed: int,
    ) -> None:
        """Prune, re-measure, grow: one evaluation of every layer."""
        step = trainer.step
        for li, name in enumerate(layers):
            net = out.network
            width = net.spec.widths[name]
            phi = self._phi(net, name, buffer, trig)
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
                out.network, out.log = net, out.log.append(rec)
                self._event(out, trainer, name, "prune", n_prune)
                phi = self._phi(net, name, buffer, trig)
            now = net.spec.widths[name]
            n_grow = trig.grow(name, width, phi, current_width=now, max_width=max_w[name])
            if n_grow > 0:
                net, rec = grow(
                    net,
                    name,
                    n_grow,
                    "north_select",
                    X=buffer.X,
                    seed=derived_seed(seed, step, li),
                    candidates=self.candidates_factor * n_grow,
                )
                out.network, out.log = net, out.log.append(rec)
                self._event(out, trainer, name, "grow", n_grow)
            if n_prune > 0 or n_grow > 0:
                trig.changed(name)

    @staticmethod
    def _event(out: GrowthResult, trainer: StepTrainer, layer: str, kind: str, units: int) -> None:
        out.events.append(
            {
                "step": trainer.step,
                "epoch": trainer.epoch,
                "layer": layer,
                "kind": kind,
                "units": units,
                "width": out.network.spec.widths[layer],
            }
        )
