"""Records of a Surgeon run: branches, candidates, decision points, the result (JSON-able)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from neuroplast.morph import EditRecord
from neuroplast.network import Network
from neuroplast.search._contract import Result
from neuroplast.search.surgeon.config import SurgeonConfig
from neuroplast.search.surgeon.score import score

__all__ = ["Branch", "CandidateRecord", "DecisionRecord", "SurgeonResult"]

#: ``(epoch, hidden widths)`` of a lineage, one entry per structural change.
Topology = tuple[tuple[float, tuple[int, ...]], ...]
Curve = tuple[tuple[float, float], ...]
#: ``(epoch, operation, label)`` of the structural changes of a lineage.
Changes = tuple[tuple[float, str, str], ...]


@dataclass(frozen=True)
class Branch:
    """A network of the current population and its lineage.

    Attributes:
        id: Unique id within the run.
        net: The network at its last decision point.
        position: Batches of the stream its lineage has been trained on.
        accuracy: Validation accuracy at ``position``.
        parent: Id of the branch it was derived from.
        label: The operation that created it.
        parent_accuracy: The parent's accuracy before the operation.
        parent_params: The parent's parameter count.
        edits: Edit records of the lineage, in order.
        curve: ``(epoch, validation accuracy)`` of the lineage.
        topology: ``(epoch, hidden widths)`` of the lineage, one entry per change.
        changes: ``(epoch, operation, label)`` of every non-identity operation of the lineage.
        op: The operation that created it (``"initial"`` for the pre-trained start network).
    """

    id: int
    net: Network
    position: int
    accuracy: float
    parent: int | None = None
    label: str = "initial"
    parent_accuracy: float = 0.0
    parent_params: int = 0
    edits: tuple[EditRecord, ...] = ()
    curve: Curve = ()
    topology: Topology = ()
    changes: Changes = ()
    op: str = "initial"

    def score(self) -> float:
        """Eq. 16 against its parent (the final selection's criterion)."""
        frac = self.net.n_params / self.parent_params if self.parent_params else 1.0
        return score(self.accuracy, self.accuracy - self.parent_accuracy, frac)

    def meta(self) -> dict[str, Any]:
        """Everything but the network, JSON-compatible (see :meth:`from_meta`)."""
        return {
            "id": self.id,
            "position": self.position,
            "accuracy": self.accuracy,
            "parent": self.parent,
            "label": self.label,
            "parent_accuracy": self.parent_accuracy,
            "parent_params": self.parent_params,
            "edits": [e.to_dict() for e in self.edits],
            "curve": [list(p) for p in self.curve],
            "topology": [[e, list(w)] for e, w in self.topology],
            "changes": [list(c) for c in self.changes],
            "op": self.op,
        }

    @classmethod
    def from_meta(cls, d: Mapping[str, Any], net: Network) -> Branch:
        """Inverse of :meth:`meta`."""
        return cls(
            int(d["id"]),
            net,
            int(d["position"]),
            float(d["accuracy"]),
            d["parent"],
            str(d["label"]),
            float(d["parent_accuracy"]),
            int(d["parent_params"]),
            tuple(EditRecord.from_dict(e) for e in d["edits"]),
            tuple((float(a), float(b)) for a, b in d["curve"]),
            tuple((float(e), tuple(int(x) for x in w)) for e, w in d["topology"]),
            tuple((float(e), str(o), str(lb)) for e, o, lb in d["changes"]),
            str(d["op"]),
        )


@dataclass(frozen=True)
class CandidateRecord:
    """One competitor of one draw after recuperative training (the columns of Table 1).

    ``on_track``: with a budget and ``budget_decisions``, whether its accuracy after the
    recuperative training was within ``max_drop`` of the baseline's at that epoch.
    """

    attempt: int
    branch: int
    op: str
    label: str
    rating: float
    accuracy: float
    gain: float
    fraction: float
    score: float
    n_params: int
    random: bool
    chosen: bool
    on_track: bool | None = None


@dataclass(frozen=True)
class DecisionRecord:
    """What happened at one decision point.

    Attributes:
        epoch: The decision point.
        previous_best: Best validation accuracy of the branches before the surgery.
        candidates: Every competitor of every draw.
        attempts: Draws made (1 + re-draws).
        improved: Whether a draw reached ``previous_best`` at the next decision point.
        backtracked: Whether the previous branches were trained on instead (memory).
        branches: The branches kept: id, parent, label, widths, n_params, accuracy.
    """

    epoch: int
    previous_best: float
    candidates: tuple[CandidateRecord, ...]
    attempts: int
    improved: bool
    backtracked: bool
    branches: tuple[Mapping[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (see :meth:`from_dict`)."""
        d = asdict(self)
        d["candidates"] = [asdict(c) for c in self.candidates]
        d["branches"] = [dict(b) for b in self.branches]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DecisionRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            int(d["epoch"]),
            float(d["previous_best"]),
            tuple(CandidateRecord(**c) for c in d["candidates"]),
            int(d["attempts"]),
            bool(d["improved"]),
            bool(d["backtracked"]),
            tuple(dict(b) for b in d["branches"]),
        )


@dataclass(kw_only=True)
class SurgeonResult(Result):
    """Outcome of :meth:`Surgeon.run <neuroplast.search.surgeon.Surgeon.run>`.

    The shared fields (:class:`~neuroplast.search.Result`): ``network`` is the final branch
    chosen by score (eq. 16), trained for ``total_epochs``; ``history`` holds one record per
    decision point and one for the end of training (``step``, ``epoch``, ``n_params`` and
    ``val_accuracy`` of the branch that ranks first by score at that point, its ``branch`` id,
    and ``edit`` / ``edit_kind``: the modification that created the branch chosen at the next
    step, when that is a structural edit); ``edits`` the final lineage's edit records.

    Attributes:
        val_accuracy: Validation accuracy of :attr:`network`.
        n_params_initial: Parameters of the starting network.
        n_params: Parameters of the final network.
        epochs_trained: All training of the run (every branch and candidate), in epochs.
        curve: Validation accuracy of the final lineage per epoch.
        topology: ``(epoch, hidden widths)`` of the final lineage (the start network first).
        changes: ``(epoch, operation, label)`` of the final lineage's structural changes.
        decisions: One record per decision point.
        config: The settings used.
        seed: The run's seed.
        baseline_curve: ``(epoch, validation accuracy)`` of the start network trained without
            surgery (``config.baseline``, or needed by the budget), else empty.
        chosen_step: The ``history`` step whose branch is returned (``None``: the budget's
            reference network, when no step's branch was within the budget; without a budget
            the last step).
        budget: The budget (``start_accuracy``: the reference accuracy, ``max_drop``,
            ``chance``, ``floor``, and ``reference``: ``"baseline"`` or ``"start"``);
            ``None`` without one.
        final_tuning: What the final fine-tuning did (``epochs``, ``best_epoch``, validation
            accuracy ``before``/``after``, ``kept``); ``None`` without it.
    """

    val_accuracy: float
    n_params_initial: int
    n_params: int
    epochs_trained: float
    curve: Curve = ()
    topology: Topology = ()
    changes: Changes = ()
    decisions: tuple[DecisionRecord, ...] = ()
    config: SurgeonConfig = field(default_factory=SurgeonConfig)
    seed: int = 0
    baseline_curve: Curve = ()

    @property
    def param_fraction(self) -> float:
        """``n_params / n_params_initial``."""
        return self.n_params / self.n_params_initial

    def summary(self) -> dict[str, Any]:
        """The shared before/after table plus hidden widths, epochs trained and decisions."""
        out = super().summary()
        if self.topology:
            out["hidden_before"] = _widths_text(self.topology[0][1])
            out["hidden_after"] = _widths_text(self.topology[-1][1])
        out["epochs_trained"] = round(self.epochs_trained, 2)
        out["decisions"] = len(self.decisions)
        if self.baseline_curve:
            out["baseline_val_accuracy"] = self.baseline_curve[-1][1]
        return out

    def to_dict(self) -> dict[str, Any]:
        """``history.json``: the shared content plus the Surgeon's curves and decisions."""
        out = super().to_dict()
        out.update(
            val_accuracy=self.val_accuracy,
            n_params_initial=self.n_params_initial,
            n_params=self.n_params,
            param_fraction=self.param_fraction,
            epochs_trained=self.epochs_trained,
            curve=[list(p) for p in self.curve],
            topology=[[e, list(w)] for e, w in self.topology],
            edits=[e.to_dict() for e in self.edits.records],
            changes=[list(c) for c in self.changes],
            decisions=[d.to_dict() for d in self.decisions],
            config=self.config.to_dict(),
            seed=self.seed,
            baseline_curve=[list(p) for p in self.baseline_curve],
        )
        return out


def _widths_text(ws: tuple[int, ...]) -> str:
    return "-".join(map(str, ws)) or "none"
