"""Branches and their lineages in a Surgeon run: the chosen branch, children, history records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neuroplast.morph import EditRecord
from neuroplast.network import Network
from neuroplast.search._budget import Budget
from neuroplast.search.surgeon._checkpoint import LoopState
from neuroplast.search.surgeon._train import TrainOutcome
from neuroplast.search.surgeon.proposal import Proposal
from neuroplast.search.surgeon.recommend import hidden_layers
from neuroplast.search.surgeon.records import Branch, Curve
from neuroplast.search.surgeon.score import rank

__all__ = ["branch_meta", "child", "chosen", "curve", "log_step", "widths"]


def widths(net: Network) -> tuple[int, ...]:
    """Units of the hidden layers (the boxes of the paper's Fig. 3, right), in spec order."""
    return tuple(net.spec.widths[n] for n in hidden_layers(net))


def chosen(branches: Sequence[Branch], budget: Budget | None = None) -> Branch:
    """The branch of the step: best score (eq. 16), ties to fewer parameters.

    With a ``budget``: the branch with the fewest parameters among those it admits (ties:
    higher accuracy, then the order given), by score when it admits none.
    """
    if budget is not None:
        ok = [i for i, b in enumerate(branches) if budget.admits(b.accuracy)]
        if ok:
            i = min(ok, key=lambda i: (branches[i].net.n_params, -branches[i].accuracy, i))
            return branches[i]
    scores = [b.score() for b in branches]
    return branches[rank(branches, scores, [b.net.n_params for b in branches])[0]]


def curve(parent: Curve, own: Curve, epoch: float, acc: float) -> Curve:
    """The lineage's curve, ending with the accuracy at the decision point ``epoch``."""
    pts = (*parent, *own)
    return pts if pts and pts[-1][0] == epoch else (*pts, (epoch, acc))


def child(
    par: Branch,
    p: Proposal,
    r: TrainOutcome,
    edits: Sequence[EditRecord],
    st: LoopState,
    target: int,
    B: int,
) -> Branch:
    """The branch grown from ``par`` by the winning proposal ``p``, trained to ``target``.

    Args:
        par: The parent branch.
        p: The winning proposal.
        r: The outcome of training the built candidate to the next decision point.
        edits: The edit records of building it.
        st: The loop state (its decision point's epoch and the next branch id).
        target: Batch position of the next decision point.
        B: Batches per epoch.
    """
    assert r.net is not None  # only finished candidates grow
    topo, changes = par.topology, par.changes
    if p.op != "identity":
        topo = (*topo, (float(st.epoch), widths(r.net)))
        changes = (*changes, (float(st.epoch), p.op, p.label))
    return Branch(
        id=st.next_id,
        net=r.net,
        position=target,
        accuracy=r.val_accuracy,
        parent=par.id,
        label=p.label,
        parent_accuracy=par.accuracy,
        parent_params=par.net.n_params,
        edits=(*par.edits, *edits),
        curve=curve(par.curve, r.curve, target / B, r.val_accuracy),
        topology=topo,
        changes=changes,
        op=p.op,
    )


def branch_meta(b: Branch) -> dict[str, Any]:
    """What a :class:`~neuroplast.search.surgeon.DecisionRecord` keeps of a branch."""
    return {
        "id": b.id,
        "parent": b.parent,
        "label": b.label,
        "widths": list(widths(b.net)),
        "n_params": b.net.n_params,
        "accuracy": b.accuracy,
    }


def log_step(st: LoopState, budget: Budget | None = None) -> Branch:
    """Appends the history record of the current step; returns its chosen branch.

    The previous record gets the chosen branch's modification as its ``edit`` (applied at
    that record's decision point) unless the step backtracked or kept the identity. With a
    ``budget`` the record also says whether the branch is ``in_budget``.
    """
    best = chosen(st.branches, budget)
    backtracked = bool(st.decisions) and st.decisions[-1].backtracked
    if st.history and not backtracked and best.op not in ("identity", "initial"):
        st.history[-1].update(edit=best.label, edit_kind=best.op)
    st.history.append(
        {
            "step": st.decision,
            "epoch": st.epoch,
            "n_params": int(best.net.n_params),
            "val_accuracy": float(best.accuracy),
            "branch": best.id,
            "edit": None,
        }
    )
    if budget is not None:
        st.history[-1]["in_budget"] = budget.admits(best.accuracy)
    return best
