"""Checkpoints of an MCTS run: the state a generation starts from, and the best network so far.

Checkpoint ``g`` (:meth:`~neuroplast.search.RunFolder.save_checkpoint`) holds the network that
generation ``g`` starts from (with optimizer state) and, in its JSON, the history of
generations ``0..g-1``, the edit log and, with a budget, the budget and the step of the best
network within it so far. That network is saved before the JSON, as
``checkpoints/best_XXXX.npl`` (``XXXX`` its generation), so a complete checkpoint always finds
it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuroplast.morph.record import EditLog, EditRecord
from neuroplast.network import Network
from neuroplast.search._budget import BestUnderBudget, Budget
from neuroplast.search._contract import RunContext

__all__ = ["load_state", "save_state"]

State = tuple[Network, list[dict[str, Any]], EditLog, BestUnderBudget | None]


def _best_path(folder: Path, step: int) -> Path:
    return folder / f"best_{step:04d}.npl"


def load_state(net: Network, ctx: RunContext) -> State:
    """``(network, history, edit log, best so far)`` of a fresh run or of the newest checkpoint."""
    ckpt = ctx.folder.latest_checkpoint() if ctx.folder is not None and ctx.resume else None
    if ckpt is None or ctx.folder is None:
        return net.copy(), [], EditLog(), None
    _, saved, state = ckpt
    log = EditLog(tuple(EditRecord.from_dict(d) for d in state["edits"]))
    best = None
    kept = state.get("best")
    if kept is not None:
        b = kept["budget"]
        best = BestUnderBudget(Budget(b["start_accuracy"], b["max_drop"], b["chance"]))
        if kept["step"] is not None:
            path = _best_path(ctx.folder.checkpoints, int(kept["step"]))
            best.restore(Network.load(path), kept["accuracy"], kept["step"])
    return saved, list(state["history"]), log, best


def save_state(
    ctx: RunContext,
    g: int,
    net: Network,
    history: list[dict[str, Any]],
    log: EditLog,
    best: BestUnderBudget | None,
) -> None:
    """Saves the state from which generation ``g`` starts (the history holds ``0..g-1``)."""
    if ctx.folder is None:
        return
    state: dict[str, Any] = {
        "generation": g,
        "history": history,
        "edits": [r.to_dict() for r in log.records],
    }
    if best is not None:
        if best.network is not None and best.step is not None:
            best.network.save(_best_path(ctx.folder.checkpoints, best.step))
        state["best"] = {
            "budget": best.budget.to_dict(),
            "step": best.step,
            "accuracy": best.accuracy if best.step is not None else None,
        }
    ctx.folder.save_checkpoint(g, net, state)
