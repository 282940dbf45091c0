"""The Surgeon's loop state and its checkpoints in the run folder (``ctx.folder``).

After the pre-training and after every decision point the state is saved as generation
``decision`` of the :class:`~neuroplast.search.RunFolder`: the first branch's network through
:meth:`RunFolder.save_checkpoint` (whose JSON, written last, marks the checkpoint complete),
the other branches' networks before it as ``checkpoints/gen_XXXX_branch_<id>.npl``. All random
choices derive from ``(seed, purpose, decision, ...)``, so no generator state is stored; a
resumed run ends bit-for-bit where an uninterrupted one does. That the checkpoint belongs to
the same settings, seed and data is checked by the run folder's ``config.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroplast.network import Network
from neuroplast.search._run import RunFolder
from neuroplast.search.surgeon.records import Branch, DecisionRecord

__all__ = ["LoopState", "load_state", "save_state"]


@dataclass
class LoopState:
    """Loop state of a run, checkpointed after every decision point.

    Attributes:
        epoch: Epoch of the current branches (the next decision point's start).
        decision: Decision points done.
        branches: The current branches.
        decisions: Records of the decision points done.
        history: The result's history records so far (one per step done).
        next_id: Id of the next branch.
        batches: Batches trained so far (all branches and candidates).
        best: The branch with the fewest parameters within the budget so far (``None``:
            none yet, or no budget).
        best_step: The step :attr:`best` was recorded at.
    """

    epoch: int
    decision: int
    branches: list[Branch]
    decisions: list[DecisionRecord] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1
    batches: int = 0
    best: Branch | None = None
    best_step: int | None = None


def _branch_path(folder: RunFolder, gen: int, branch: int) -> Path:
    return folder.checkpoints / f"gen_{gen:04d}_branch_{branch}.npl"


def _best_path(folder: RunFolder, gen: int) -> Path:
    return folder.checkpoints / f"gen_{gen:04d}_best.npl"


def save_state(folder: RunFolder, st: LoopState) -> None:
    """Saves ``st`` as generation ``st.decision`` of ``folder``."""
    gen = st.decision
    for b in st.branches[1:]:
        b.net.save(_branch_path(folder, gen, b.id))
    if st.best is not None:
        st.best.net.save(_best_path(folder, gen))
    state: dict[str, Any] = {
        "generation": gen,
        "epoch": st.epoch,
        "next_id": st.next_id,
        "batches": st.batches,
        "branches": [b.meta() for b in st.branches],
        "decisions": [d.to_dict() for d in st.decisions],
        "history": st.history,
        "best": None if st.best is None else st.best.meta(),
        "best_step": st.best_step,
    }
    folder.save_checkpoint(gen, st.branches[0].net, state)


def load_state(folder: RunFolder) -> LoopState | None:
    """The newest complete checkpoint of ``folder``, or ``None`` when there is none."""
    found = folder.latest_checkpoint()
    if found is None:
        return None
    gen, first, state = found
    branches = []
    for k, meta in enumerate(state["branches"]):
        net = first if k == 0 else Network.load(_branch_path(folder, gen, int(meta["id"])))
        branches.append(Branch.from_meta(meta, net))
    meta = state.get("best")
    best = None if meta is None else Branch.from_meta(meta, Network.load(_best_path(folder, gen)))
    return LoopState(
        epoch=int(state["epoch"]),
        decision=gen,
        branches=branches,
        decisions=[DecisionRecord.from_dict(d) for d in state["decisions"]],
        history=[dict(r) for r in state["history"]],
        next_id=int(state["next_id"]),
        batches=int(state["batches"]),
        best=best,
        best_step=state.get("best_step"),
    )
