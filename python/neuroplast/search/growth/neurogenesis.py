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
initializations.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import check_int
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

__all__ = ["SCHEDULES", "STRATEGIES", "Neurogenesis", "Schedule"]

#: Strategy → (trigger kind, initialization), thesis Table 7.
STRATEGIES: dict[str, tuple[str, str]] = {
    "north-select": ("activation", "north_select"),
    "north-pre": ("activation", "north_pre"),
    "north-random": ("activation", "north_random"),
    "north-weight": ("weight", "north_weight"),
    "gradmax": ("gradient", "gradmax"),
    "firefly": ("gradient", "firefly"),
    "nest": ("gradient", "nest"),
}
Schedule = Literal["dynamic", "linear", "batched"]
SCHEDULES: tuple[str, ...] = ("dynamic", "linear", "batched")


@dataclass(frozen=True, kw_only=True)
class Neurogenesis:
    """Algorithm 4 with one strategy of thesis Table 7.

    Args:
        strategy: A key of :data:`STRATEGIES`.
        schedule: ``"dynamic"`` (the strategy's trigger) or a preset ``"linear"`` /
            ``"batched"`` schedule to ``target_width`` (the strategy's initialization only).
        gamma_a: γ of the activation trigger (thesis: 0.97).
        gamma_w: γ of the weight trigger (0.99).
        eps: ε of the effective dimension (0.01).
        metric: ``"effective_dimension"`` or ``"orthogonality_gap"`` (activation trigger).
        threshold_scale: Scale of the gradient trigger's threshold (1: as printed; the
            reference code uses 0.5).
        max_width: Largest width per layer (int or mapping); default 8× the initial width.
        target_width: Final width of the preset schedules (int or mapping).
        buffer_size: Activation buffer capacity; default ``max(2 × largest max_width, 128)``.
        candidates: Candidates of the candidate-based initializations (default: thesis
            values, 1000 dense / 100 conv plus the number to add).
        eval_every: Gradient steps between trigger evaluations (thesis: 1).
        layers: Hidden layers that grow (default: every growable one).
        grow_fraction: Fraction of training during which the preset schedules grow (0.75).
        events: Growth events of the ``"batched"`` schedule (8).

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(256, 8)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
        >>> res = Neurogenesis(strategy="north-random", max_width=16).fit(
        ...     Network.init(Spec.mlp(8, [4], 2), seed=0), X, y, epochs=2, seed=0)
        >>> 4 <= res.network.spec.widths["dense_0"] <= 16
        True
    """

    strategy: str = "north-select"
    schedule: Schedule = "dynamic"
    gamma_a: float = 0.97
    gamma_w: float = 0.99
    eps: float = 0.01
    metric: Literal["effective_dimension", "orthogonality_gap"] = "effective_dimension"
    threshold_scale: float = 1.0
    max_width: int | Mapping[str, int] | None = None
    target_width: int | Mapping[str, int] | None = None
    buffer_size: int | None = None
    candidates: int | None = None
    eval_every: int = 1
    layers: Sequence[str] | None = None
    grow_fraction: float = 0.75
    events: int = 8

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}; choose from {list(STRATEGIES)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; choose from {SCHEDULES}")
        if self.schedule != "dynamic" and self.target_width is None:
            raise ConfigError(f"schedule={self.schedule!r} needs target_width")
        check_int(self.eval_every, "eval_every", 1, 2**31)
        check_int(self.events, "events", 1, 2**31)
        if not 0 < self.grow_fraction <= 1:
            raise ConfigError(f"grow_fraction must be in (0, 1], got {self.grow_fraction!r}")

    # ------------------------------------------------------------------ driver
    def fit(
        self,
        net: Network,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        epochs: int,
        batch_size: int = 128,
        optimizer: Optimizer | None = None,
        seed: int = 0,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        progress: bool = False,
    ) -> GrowthResult:
        """Trains a copy of ``net`` for ``epochs`` epochs, growing its hidden layers.

        Args:
            net: The starting network (not modified).
            X: Training inputs.
            y: Training labels.
            epochs: Epochs of training (``>= 1``).
            batch_size: Minibatch size (thesis: 128 generated data, 512 MNIST).
            optimizer: Default ``Adam(lr=3e-3)`` (the reference code's rate).
            seed: Seed of the sample orders and of every initialization.
            validation_data: Optional ``(X_val, y_val)`` evaluated after every epoch.
            progress: Show a progress bar over epochs.

        Returns:
            A :class:`GrowthResult`.
        """
        start = time.perf_counter()
        epochs = check_int(epochs, "epochs", 1, 2**31)
        layers = growable_layers(net.spec, self.layers)
        initial = snapshot(net, layers)
        max_w = resolve_widths(
            self.max_width, layers, {k: 8 * v for k, v in initial.items()}, "max_width"
        )
        for name in layers:
            if max_w[name] < initial[name]:
                raise ConfigError(f"max_width of {name!r} is below its width {initial[name]}")
        kind, init = STRATEGIES[self.strategy]
        conv = {name for name in layers if isinstance(net.spec.node(name), Conv2d)}
        capacity = self.buffer_size or max(2 * max(max_w.values()), 128 if conv else 0)
        trainer = StepTrainer(
            np.asarray(X), np.asarray(y), batch_size, optimizer or Adam(lr=3e-3), seed
        )
        run = Session(net, trainer, capacity, layers, validation_data)
        out, buffer = run.out, run.buffer
        triggers = self._triggers(layers, conv, max_w)
        if self.schedule == "dynamic":
            for name in layers:
                if kind != "gradient":
                    triggers[name].start(
                        name, self._measure(out.network, name, triggers[name], buffer)
                    )
        total = epochs * trainer.steps_per_epoch
        plan = self._plan(layers, initial, total)
        with progress_bar(epochs, f"neurogenesis {self.strategy}", progress, unit="epoch") as bar:
            while trainer.step < total:
                records = run.train(min(self.eval_every, total - trainer.step))
                args = (layers, kind, init, triggers, plan, buffer, seed, trainer.steps_per_epoch)
                self._evaluate(out, trainer.step, *args)
                for rec in records:
                    bar.update(1, loss=rec["loss"], params=rec["n_params"])
        out.seconds = time.perf_counter() - start
        return out

    # ------------------------------------------------------------------ pieces
    def _triggers(
        self, layers: Sequence[str], conv: set[str], max_w: dict[str, int]
    ) -> dict[str, Any]:
        kind = STRATEGIES[self.strategy][0]
        triggers: dict[str, Any] = {}
        for name in layers:
            if kind == "activation":
                triggers[name] = ActivationTrigger(
                    metric=self.metric,
                    gamma=self.gamma_a,
                    eps=self.eps,
                    baseline="running_max" if name in conv else "initial",
                    max_width=max_w[name],
                )
            elif kind == "weight":
                triggers[name] = WeightTrigger(
                    gamma=self.gamma_w, eps=self.eps, max_width=max_w[name]
                )
            else:
                triggers[name] = GradientTrigger(
                    threshold_scale=self.threshold_scale, max_width=max_w[name]
                )
        return triggers

    @staticmethod
    def _measure(net: Network, layer: str, trigger: Any, buffer: ActivationBuffer) -> Any:
        """What ``trigger`` looks at for ``layer``, measured on the buffer."""
        if isinstance(trigger, ActivationTrigger):
            return trigger.measure(net.activations(buffer.X, [layer])[layer])
        if isinstance(trigger, WeightTrigger):
            bias = net.params.get(f"{layer}.bias")
            return trigger.measure(net.params[f"{layer}.weight"], bias)
        return measure_gradient(net, layer, buffer.X, buffer.y)

    def _plan(
        self, layers: Sequence[str], initial: dict[str, int], total: int
    ) -> dict[int, dict[str, int]]:
        """Preset schedules: step → units to add per layer (empty for ``"dynamic"``)."""
        if self.schedule == "dynamic":
            return {}
        target = resolve_widths(self.target_width, layers, initial, "target_width")
        horizon = max(1, int(self.grow_fraction * total))
        plan: dict[int, dict[str, int]] = {}
        for name in layers:
            extra = target[name] - initial[name]
            if extra < 0:
                raise ConfigError(f"target_width of {name!r} is below its width {initial[name]}")
            if self.schedule == "linear":
                widths = [initial[name] + extra * s // horizon for s in range(horizon + 1)]
                adds = {s: widths[s] - widths[s - 1] for s in range(1, horizon + 1)}
            else:
                marks = [max(1, horizon * (i + 1) // self.events) for i in range(self.events)]
                adds = {
                    s: extra * (i + 1) // self.events - extra * i // self.events
                    for i, s in enumerate(marks)
                }
            for s, n in adds.items():
                if n > 0:
                    plan.setdefault(s, {})[name] = plan.get(s, {}).get(name, 0) + n
        return plan

    def _evaluate(
        self,
        out: GrowthResult,
        step: int,
        layers: Sequence[str],
        kind: str,
        init: str,
        triggers: dict[str, Any],
        plan: dict[int, dict[str, int]],
        buffer: ActivationBuffer,
        seed: int,
        per_epoch: int,
    ) -> None:
        """One pass of Algorithm 4's inner loop after ``step`` gradient steps."""
        net = out.network
        acts = (
            net.activations(buffer.X, list(layers))
            if self.schedule == "dynamic" and kind == "activation"
            else {}
        )
        for li, name in enumerate(layers):
            width = net.spec.widths[name]
            if self.schedule != "dynamic":
                n = plan.get(step, {}).get(name, 0)
            elif kind == "activation":
                n = triggers[name](name, width, triggers[name].measure(acts[name]))
            else:
                n = triggers[name](name, width, self._measure(net, name, triggers[name], buffer))
            if n <= 0:
                continue
            net, rec = grow(
                net,
                name,
                n,
                init,
                X=buffer.X,
                y=buffer.y,
                seed=derived_seed(seed, step, li),
                candidates=self.candidates,
            )
            out.network = net
            out.log = out.log.append(rec)
            out.events.append(
                {
                    "step": step,
                    "epoch": (step - 1) // per_epoch,
                    "layer": name,
                    "kind": "grow",
                    "units": n,
                    "width": width + n,
                }
            )
