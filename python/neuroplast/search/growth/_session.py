"""The state both growth controllers share: trainer, activation buffer, result, checkpoints.

A :class:`Session` trains in chunks (:class:`~neuroplast.search.growth._steps.StepTrainer`),
feeds the activation buffer with every sample trained on, appends history records measured on
the validation split, applies edits, and saves or restores all of that in a run folder's
checkpoints. The buffer is stored as the training-set indices of the samples it holds (the
run folder checks that a resumed run sees the same data), so a restored buffer holds exactly
the arrays it held when the checkpoint was written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.growth import ActivationBuffer
from neuroplast.morph import EditLog
from neuroplast.morph.record import EditRecord
from neuroplast.network import Network
from neuroplast.search._contract import RunContext
from neuroplast.search._splits import Splits
from neuroplast.search.growth._common import mean_loss, restore_trigger, snapshot, trigger_state
from neuroplast.search.growth._steps import Chunk, StepTrainer
from neuroplast.search.growth.result import GrowthResult

__all__ = ["Session"]


class Session:
    """Training, buffer and result of one growth run.

    The buffer starts with the first samples training will visit (so that baselines measured
    before any step see the data the network is about to learn), and every chunk's samples
    are appended to it.

    Args:
        net: The start network (copied).
        data: The splits; records are measured on the validation split.
        trainer: Trains the network in chunks of steps.
        capacity: Samples kept in the activation buffer.
        layers: The layers that change (their widths go into every record).
    """

    def __init__(
        self,
        net: Network,
        data: Splits,
        trainer: StepTrainer,
        capacity: int,
        layers: Sequence[str],
    ) -> None:
        self.data = data
        self.trainer = trainer
        self.layers = list(layers)
        self.buffer = ActivationBuffer(capacity)
        self._held: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self._feed(trainer.upcoming(capacity))
        self.out = GrowthResult(
            network=net.copy(),
            initial_widths=snapshot(net, layers),
            steps_per_epoch=trainer.steps_per_epoch,
        )
        self._losses: list[tuple[float, int]] = []

    @property
    def network(self) -> Network:
        """The network being trained and edited."""
        return self.out.network

    def _feed(self, indices: npt.NDArray[np.int64]) -> None:
        self.buffer.add(self.trainer.X[indices], self.trainer.y[indices])
        self._held = np.concatenate([self._held, indices])[-self.buffer.capacity :]

    def train(self, steps: int) -> Chunk:
        """Trains ``steps`` steps and feeds the buffer with the samples used."""
        chunk = self.trainer.run(self.out.network, steps)
        self._feed(chunk.indices)
        self._losses.append((chunk.loss, len(chunk.indices)))
        return chunk

    def record(self) -> dict[str, Any]:
        """Appends the history record of the network now (scores on the validation split)."""
        net = self.out.network
        scores = net.evaluate(self.data.X_val, self.data.y_val)
        rec: dict[str, Any] = {
            "step": self.trainer.step,
            "epoch": self.trainer.epoch,
            "loss": mean_loss(self._losses, 0.0) if self._losses else None,
            "val_loss": float(scores["loss"]),
            "val_accuracy": scores.get("accuracy"),
            "n_params": int(net.n_params),
            "widths": snapshot(net, self.layers),
        }
        self._losses.clear()
        self.out.history.append(rec)
        return rec

    def edit(self, net: Network, record: EditRecord, layer: str, kind: str, units: int) -> None:
        """Adopts ``net``, the result of growing (``kind="grow"``) or pruning ``layer``.

        The change is logged, listed in ``events`` and labelled on the last history record
        (it happened after that record's step).
        """
        out = self.out
        out.network, out.edits = net, out.edits.append(record)
        out.events.append(
            {
                "step": self.trainer.step,
                "epoch": self.trainer.epoch,
                "layer": layer,
                "kind": kind,
                "units": int(units),
                "width": int(net.spec.widths[layer]),
            }
        )
        last = out.history[-1]
        label = f"{'+' if kind == 'grow' else '-'}{units} {layer}"
        last["edit"] = f"{last['edit']}, {label}" if last.get("edit") else label
        before = last.get("edit_kind")
        last["edit_kind"] = kind if before in (None, kind) else "grow_and_prune"

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self, ctx: RunContext, generation: int, triggers: Mapping[str, Any]) -> None:
        """Saves the network (with optimizer state) and everything else needed to continue."""
        if ctx.folder is None:
            return
        state = {
            "trainer": self.trainer.state(),
            "buffer": self._held.tolist(),
            "losses": [list(p) for p in self._losses],
            "history": self.out.history,
            "events": self.out.events,
            "edits": json.loads(self.out.edits.to_json()),
            "triggers": {name: trigger_state(t) for name, t in triggers.items()},
        }
        ctx.folder.save_checkpoint(generation, self.out.network, state)

    def resume(self, ctx: RunContext, triggers: Mapping[str, Any]) -> bool:
        """Continues from the newest checkpoint when resuming; ``False`` when there is none.

        ``triggers`` (the same names as at :meth:`checkpoint`) get their saved state back.
        """
        found = ctx.folder.latest_checkpoint() if ctx.resume and ctx.folder else None
        if found is None:
            return False
        _, net, state = found
        self.trainer.restore(state["trainer"])
        self.buffer = ActivationBuffer(self.buffer.capacity)
        self._held = np.zeros(0, np.int64)
        self._feed(np.asarray(state["buffer"], np.int64))
        self._losses = [(float(a), int(n)) for a, n in state["losses"]]
        out = self.out
        out.network = net
        out.history = list(state["history"])
        out.events = list(state["events"])
        out.edits = EditLog.from_json(json.dumps(state["edits"]))
        for name, trigger in triggers.items():
            restore_trigger(trigger, state["triggers"][name])
        return True
