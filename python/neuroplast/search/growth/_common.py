"""Pieces shared by the dynamic growth controllers: layers, seeds, records, results."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import check_int
from neuroplast.errors import ConfigError
from neuroplast.morph import EditLog
from neuroplast.morph.deps import group_leaders
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = [
    "GrowthResult",
    "Session",
    "derived_seed",
    "growable_layers",
    "mean_loss",
    "resolve_widths",
    "snapshot",
]


def growable_layers(spec: Spec, layers: Sequence[str] | None = None) -> list[str]:
    """Hidden dense/conv layers that can gain or lose units, one per coupled group.

    Residual stages tie several layers' units together; the first layer of each group (in
    graph order) stands for it (thesis Sec. 6.2.3: "grow channel-tied groups together, based on
    the first layer of each group").

    Raises:
        ConfigError: A named layer is not a growable hidden layer.
    """
    found = list(group_leaders(spec))
    if layers is None:
        if not found:
            raise ConfigError("the network has no hidden dense or conv layer that can grow")
        return found
    for name in layers:
        if name not in found:
            raise ConfigError(f"{name!r} is not a growable hidden layer; choose from {found}")
    return list(layers)


def resolve_widths(
    value: int | Mapping[str, int] | None,
    layers: Sequence[str],
    default: Mapping[str, int],
    what: str,
) -> dict[str, int]:
    """A per-layer width from an int (every layer), a mapping or ``None`` (``default``)."""
    if value is None:
        return dict(default)
    if isinstance(value, Mapping):
        missing = [name for name in layers if name not in value]
        if missing:
            raise ConfigError(f"{what} has no entry for {missing}")
        return {name: check_int(value[name], f"{what}[{name!r}]", 1, 2**31) for name in layers}
    width = check_int(value, what, 1, 2**31)
    return dict.fromkeys(layers, width)


def derived_seed(seed: int, *parts: int) -> int:
    """A seed for one event (``seed`` and e.g. the step and the layer index), reproducible."""
    state = np.random.SeedSequence([seed, *parts]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def mean_loss(losses: list[tuple[float, int]], default: float) -> float:
    """Sample-weighted mean of ``(loss, samples)`` pairs (``default`` when empty)."""
    seen = sum(n for _, n in losses)
    return sum(a * n for a, n in losses) / seen if seen else default


def snapshot(net: Network, layers: Sequence[str]) -> dict[str, int]:
    """Current widths of ``layers``."""
    return {name: int(net.spec.widths[name]) for name in layers}


@dataclass
class GrowthResult:
    """What a dynamic growth controller did.

    Attributes:
        network: The final network (trained in place from a copy of the input network).
        events: One dict per structural change: ``step``, ``epoch``, ``layer``, ``kind``
            (``"grow"``/``"prune"``), ``units`` and the resulting ``width``.
        history: One dict per epoch: ``epoch``, ``step``, ``loss``, ``val_loss``,
            ``val_accuracy`` (``None`` without validation data), ``n_params`` and ``widths``.
        log: The :class:`~neuroplast.morph.EditLog` of every change, in order.
        seconds: Wall time of the whole run.
        initial_widths: Widths of the changing layers at the start.
        steps_per_epoch: Minibatch steps per epoch (to place events on an epoch axis).
    """

    network: Network
    events: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    log: EditLog = field(default_factory=EditLog)
    seconds: float = 0.0
    initial_widths: dict[str, int] = field(default_factory=dict)
    steps_per_epoch: int = 1
    _start: float = field(default_factory=time.perf_counter, repr=False)

    def epoch_record(
        self, epoch: int, step: int, loss: float, layers: Sequence[str], val: Any
    ) -> dict[str, Any]:
        """Appends the record of a finished epoch (validation on ``val`` when given)."""
        net = self.network
        scores = None if val is None else net.evaluate(val[0], val[1])
        record = {
            "epoch": epoch,
            "step": step,
            "loss": float(loss),
            "val_loss": None if scores is None else scores["loss"],
            "val_accuracy": None if scores is None else scores.get("accuracy"),
            "n_params": int(net.n_params),
            "widths": snapshot(net, layers),
            "seconds": time.perf_counter() - self._start,
        }
        self.history.append(record)
        return record

    def widths_over_time(self) -> dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]]:
        """Per layer, ``(epochs, widths)``: its width from the start, changing at every event.

        Epochs are fractional (``step / steps_per_epoch``).
        """
        out: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]] = {}
        end = self.history[-1]["step"] / self.steps_per_epoch if self.history else 0.0
        for name, width in self.initial_widths.items():
            xs, ws = [0.0], [width]
            for e in self.events:
                if e["layer"] == name:
                    xs.append(e["step"] / self.steps_per_epoch)
                    ws.append(e["width"])
            xs.append(max(end, xs[-1]))
            ws.append(ws[-1])
            out[name] = (np.array(xs), np.array(ws, np.int64))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible summary (events, history, final spec)."""
        return {
            "events": self.events,
            "history": self.history,
            "spec": self.network.spec.to_dict(),
            "n_params": int(self.network.n_params),
            "seconds": self.seconds,
            "initial_widths": self.initial_widths,
            "steps_per_epoch": self.steps_per_epoch,
        }


class Session:
    """The state both growth controllers share: trainer, activation buffer and result.

    The buffer starts with the first samples training will visit (so that baselines measured
    before any step see the data the network is about to learn), and every chunk's samples
    are appended to it.
    """

    def __init__(
        self,
        net: Network,
        trainer: Any,
        capacity: int,
        layers: Sequence[str],
        validation: Any,
    ) -> None:
        from neuroplast.growth import ActivationBuffer

        self.trainer = trainer
        self.layers = list(layers)
        self.validation = validation
        self.buffer = ActivationBuffer(capacity)
        first = trainer.upcoming(capacity)
        self.buffer.add(trainer.X[first], trainer.y[first])
        self.out = GrowthResult(
            net.copy(),
            initial_widths=snapshot(net, layers),
            steps_per_epoch=trainer.steps_per_epoch,
        )
        self._losses: list[tuple[float, int]] = []

    def train(self, steps: int, *, last: bool = False) -> list[dict[str, Any]]:
        """Trains ``steps`` steps, feeds the buffer and returns the records of finished epochs.

        With ``last``, a final partial epoch gets a record too.
        """
        chunk = self.trainer.run(self.out.network, steps)
        self.buffer.add(self.trainer.X[chunk.indices], self.trainer.y[chunk.indices])
        self._losses.append((chunk.loss, len(chunk.indices)))
        ends = list(chunk.epoch_ends)
        if last and not ends:
            ends = [self.trainer.epoch]
        records = []
        for e in ends:
            loss = mean_loss(self._losses, chunk.loss)
            step = self.trainer.step
            records.append(self.out.epoch_record(e, step, loss, self.layers, self.validation))
            self._losses.clear()
        return records
