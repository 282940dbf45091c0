"""The Surgeon's loop state and its checkpoints in a :class:`neuroplast.search.RunFolder`.

After every decision point the state is saved as generation ``decision``: the first branch's
network through :meth:`RunFolder.save_checkpoint` (whose JSON, written last, marks the
checkpoint complete), the other branches' networks before it as
``checkpoints/gen_XXXX_branch_<id>.npl``. All random choices derive from ``(seed, decision,
...)``, so no generator state is stored; a resumed run ends bit-for-bit where an uninterrupted
one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.search._run import RunFolder
from neuroplast.search.surgeon.config import SurgeonConfig
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
        next_id: Id of the next branch.
        batches: Batches trained so far (all branches and candidates).
    """

    epoch: int
    decision: int
    branches: list[Branch]
    decisions: list[DecisionRecord] = field(default_factory=list)
    next_id: int = 1
    batches: int = 0


def save_state(folder: RunFolder, st: LoopState, seed: int, config: SurgeonConfig) -> None:
    """Saves ``st`` as generation ``st.decision`` of ``folder``."""
    gen = st.decision
    for b in st.branches[1:]:
        b.net.save(folder.checkpoints / f"gen_{gen:04d}_branch_{b.id}.npl")
    state: dict[str, Any] = {
        "generation": gen,
        "epoch": st.epoch,
        "next_id": st.next_id,
        "batches": st.batches,
        "branches": [b.meta() for b in st.branches],
        "decisions": [d.to_dict() for d in st.decisions],
        "seed": seed,
        "config": config.to_dict(),
    }
    folder.save_checkpoint(gen, st.branches[0].net, state)


def load_state(folder: RunFolder, seed: int, config: SurgeonConfig) -> LoopState | None:
    """The newest complete checkpoint of ``folder``, or ``None`` when there is none.

    Raises:
        ConfigError: The checkpoint was written with another seed or configuration.
    """
    found = folder.latest_checkpoint()
    if found is None:
        return None
    gen, first, state = found
    if state["seed"] != seed or state["config"] != config.to_dict():
        raise ConfigError(
            f"the checkpoint in {folder.path} was written with another seed or config; "
            "resume with the same settings or use a fresh run folder"
        )
    branches = []
    for k, meta in enumerate(state["branches"]):
        path = folder.checkpoints / f"gen_{gen:04d}_branch_{meta['id']}.npl"
        branches.append(Branch.from_meta(meta, first if k == 0 else Network.load(path)))
    decisions = [DecisionRecord.from_dict(d) for d in state["decisions"]]
    return LoopState(
        int(state["epoch"]), gen, branches, decisions, int(state["next_id"]), int(state["batches"])
    )
