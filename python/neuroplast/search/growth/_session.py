"""The state both growth controllers share: trainer, activation buffer, result, checkpoints.

A :class:`Session` trains in chunks (:class:`~neuroplast.search.growth._steps.StepTrainer`),
feeds the activation buffer with every sample trained on, appends history records measured on
the validation split, offers every record's network to the network to return
(:func:`keeper`: the smallest within a budget, or the most accurate), applies edits, saves or
restores all of that in a run folder's checkpoints, and builds the result
(:meth:`Session.finish`). The buffer is stored as the training-set indices of the samples it
holds (the run folder checks that a resumed run sees the same data), so a restored buffer
holds exactly the arrays it held when the checkpoint was written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.growth import ActivationBuffer
from neuroplast.morph import EditLog
from neuroplast.morph.record import EditRecord
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._budget import (
    BestUnderBudget,
    Budget,
    MostAccurate,
    chance_level,
    fine_tune_final,
)
from neuroplast.search._contract import RunContext
from neuroplast.search._splits import Splits
from neuroplast.search.growth._common import mean_loss, restore_trigger, snapshot, trigger_state
from neuroplast.search.growth._steps import Chunk, StepTrainer
from neuroplast.search.growth.result import GrowthResult

__all__ = ["Keep", "Session", "keeper"]

#: Builds the keeper of the network to return from the start network's validation accuracy.
Keep = Callable[[float], BestUnderBudget]


def keeper(max_drop: float | None, restore_best: bool, data: Splits) -> Keep | None:
    """Builds the keeper of the network a growth run returns (``None``: the last one).

    The smallest network within ``max_drop`` of the start (:class:`BestUnderBudget`) or,
    without ``max_drop`` but with ``restore_best``, the most accurate one (:class:`MostAccurate`).
    """
    chance = chance_level(data.y_val)
    if max_drop is not None:
        return lambda start: BestUnderBudget(Budget(start, max_drop, chance))
    if restore_best:
        # No chance-level guard: the most accurate record is collapsed only if all are.
        return lambda start: MostAccurate(Budget(start, None))
    return None


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
        keep: Builds the keeper of the network to return (:func:`keeper`); ``None``: the
            last network is returned.

    Attributes:
        best: The keeper, built at the first record (``None`` without ``keep``, or when the
            records have no accuracy).
    """

    def __init__(
        self,
        net: Network,
        data: Splits,
        trainer: StepTrainer,
        capacity: int,
        layers: Sequence[str],
        keep: Keep | None = None,
    ) -> None:
        self.data = data
        self._keep = keep
        self.best: BestUnderBudget | None = None
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
        self._offer(net, rec)
        return rec

    def _offer(self, net: Network, rec: dict[str, Any]) -> None:
        """Offers the record's network to the keeper (the first record builds it)."""
        acc = rec["val_accuracy"]
        if self._keep is None or acc is None:
            return
        if self.best is None:
            self.best = self._keep(float(acc))
        if self.best.budget.max_drop is not None:
            rec["in_budget"] = self.best.budget.admits(acc)
        self.best.offer(net, acc, rec["step"])

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
        if self.best is not None:
            state["best"] = self.best.state(ctx.folder.checkpoints)
        ctx.folder.save_checkpoint(generation, self.out.network, state)

    def resume(self, ctx: RunContext, triggers: Mapping[str, Any]) -> bool:
        """Continues from the newest checkpoint when resuming; ``False`` when there is none.

        ``triggers`` (the same names as at :meth:`checkpoint`) get their saved state back.
        """
        found = ctx.folder.latest_checkpoint() if ctx.resume and ctx.folder else None
        if found is None or ctx.folder is None:
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
        kept = state.get("best")
        if kept is not None and self._keep is not None:
            self.best = self._keep(float(kept["budget"]["start_accuracy"]))
            self.best.load_state(kept, ctx.folder.checkpoints)
        return True

    # ------------------------------------------------------------------ the result
    def finish(self, reason: str, cfg: Any, seed: int) -> GrowthResult:
        """The result: the kept network (else the last), the edits leading to it, tuned.

        Args:
            reason: Why the run ended.
            cfg: The run's config (``lr``, ``weight_decay``, ``batch_size``,
                ``final_epochs``, ``final_patience``).
            seed: Seed of the final fine-tuning's sample order.
        """
        out, best = self.out, self.best
        out.stop_reason, out.chosen_step = reason, out.history[-1]["step"]
        if best is not None and best.budget.max_drop is not None:
            out.budget = best.budget.to_dict()
            if best.network is None:
                out.stop_reason += "; no network within the budget: returned the last one"
        if best is not None and best.network is not None and best.step is not None:
            if best.step != out.chosen_step:
                why = (
                    "the highest validation accuracy"
                    if isinstance(best, MostAccurate)
                    else f"the fewest parameters within the budget (floor {best.budget.floor:.4f})"
                )
                out.stop_reason += f"; returned the network of step {best.step}: {why}"
            # Edits after a record's step were made after its network was measured.
            made = sum(1 for e in out.events if e["step"] < best.step)
            out.network, out.chosen_step = best.network, best.step
            out.edits = EditLog(out.edits.records[:made])
        if cfg.final_epochs > 0:
            optimizer = Adam(lr=cfg.lr, weight_decay=cfg.weight_decay)
            out.network, out.final_tuning = fine_tune_final(
                out.network, self.data, cfg, optimizer=optimizer, seed=seed
            )
        return out
