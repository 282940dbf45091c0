"""What the dynamic growth controllers return: :class:`GrowthResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.search._contract import Result

__all__ = ["GrowthResult"]


@dataclass(kw_only=True)
class GrowthResult(Result):
    """The :class:`~neuroplast.search.Result` of Neurogenesis and DYNO.

    ``history`` holds one record per epoch (Neurogenesis) or per evaluation chunk (DYNO),
    after a record of the start network at step 0: ``step`` (gradient steps so far),
    ``epoch`` (epochs completed), ``loss`` (mean training loss since the previous record),
    ``val_loss``, ``val_accuracy``, ``n_params``, ``widths`` and, where units were added or
    removed after the record's step and before the next record, ``edit`` (e.g.
    ``"+3 dense_0, -1 dense_1"``) and ``edit_kind`` (``"grow"``, ``"prune"`` or
    ``"grow_and_prune"``). With a budget every record also has ``in_budget``.

    The returned :attr:`network` is that of the record at :attr:`chosen_step` (the last one
    unless a budget or ``restore_best`` chose another), fine-tuned when the config asks for
    it. ``edits`` is the :class:`~neuroplast.morph.EditLog` of the changes that lead to it (those
    made before :attr:`chosen_step`), in order; ``events`` lists every change of the run.

    Attributes:
        events: One dict per structural change: ``step``, ``epoch``, ``layer``, ``kind``
            (``"grow"``/``"prune"``), ``units`` and the resulting ``width``.
        initial_widths: Widths of the changing layers at the start.
        steps_per_epoch: Minibatch steps per epoch (to place steps on an epoch axis).
        chosen_step: The ``step`` of the history record whose network is returned.
        budget: The run's budget (:meth:`neuroplast.search.Budget.to_dict`:
            ``start_accuracy``, ``max_drop``, ``chance``, ``floor``); ``None`` without one.
        final_tuning: What the final fine-tuning did (``epochs`` run, ``best_epoch``,
            validation accuracy ``before`` and ``after``, whether it was ``kept``); ``None``
            without it.
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    initial_widths: dict[str, int] = field(default_factory=dict)
    steps_per_epoch: int = 1

    @property
    def steps(self) -> int:
        """Gradient steps trained (the step of the last history record)."""
        return int(self.history[-1]["step"]) if self.history else 0

    def widths_over_time(self) -> dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """Per layer, ``(steps, widths)``: its width from step 0, changing at every event.

        The last point repeats the final width at the last step, so a step plot spans the run.
        """
        out: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}
        for name, width in self.initial_widths.items():
            xs, ws = [0], [width]
            for e in self.events:
                if e["layer"] == name:
                    xs.append(int(e["step"]))
                    ws.append(int(e["width"]))
            xs.append(max(self.steps, xs[-1]))
            ws.append(ws[-1])
            out[name] = (np.array(xs, np.int64), np.array(ws, np.int64))
        return out

    def summary(self) -> dict[str, Any]:
        """The shared summary plus the returned ``widths``, units grown and pruned, and more.

        The units grown and pruned count every change of the run; ``chosen_step`` and, where
        they exist, the budget's ``floor`` and ``final_tuning`` follow.
        """
        out = super().summary()
        widths = self.history[-1]["widths"] if self.history else self.initial_widths
        final = {name: self.network.spec.widths.get(name, w) for name, w in widths.items()}
        out["widths"] = " ".join(f"{k}={v}" for k, v in final.items())
        out["units_grown"] = sum(int(e["units"]) for e in self.events if e["kind"] == "grow")
        out["units_pruned"] = sum(int(e["units"]) for e in self.events if e["kind"] == "prune")
        return out

    def to_dict(self) -> dict[str, Any]:
        """``history.json``: the shared content plus events, widths, budget and the like.

        Added: ``events``, ``initial_widths``, ``steps_per_epoch``, ``chosen_step``,
        ``budget`` and ``final_tuning``.
        """
        out = super().to_dict()
        out["events"] = self.events
        out["initial_widths"] = self.initial_widths
        out["steps_per_epoch"] = self.steps_per_epoch
        return out
