"""The Surgeon's accuracy budget: its reference network, the tracked best branch, the choice.

The reference is the better (on validation accuracy) of the start network as given and the
baseline, the start network trained without surgery for ``total_epochs`` on the run's batch
stream; the floor is its accuracy minus ``max_drop`` (:class:`~neuroplast.search._budget.Budget`).
After every step the step's branch is offered to the loop state's best (:func:`track`), and the
run returns that best or, when no step's branch was within the budget, the reference itself
(:func:`returned`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from neuroplast.errors import NumericalError
from neuroplast.network import Network
from neuroplast.search._budget import BestUnderBudget, Budget
from neuroplast.search._splits import Splits
from neuroplast.search.surgeon._checkpoint import LoopState
from neuroplast.search.surgeon._lineage import chosen, widths
from neuroplast.search.surgeon._train import TrainJob, TrainOutcome
from neuroplast.search.surgeon.records import Branch, Curve

__all__ = ["OnTrack", "Reference", "on_track", "reference", "returned", "track"]

#: ``(epoch, validation accuracy) -> within the budget along the baseline's trajectory``.
OnTrack = Callable[[float, float], bool]


@dataclass(frozen=True)
class Reference:
    """The budget's reference network.

    Attributes:
        net: The start network as given (a copy) or the baseline network.
        accuracy: Its validation accuracy.
        name: ``"start"`` or ``"baseline"``.
        curve: Its ``(epoch, validation accuracy)`` curve (empty for the start network).
        baseline_curve: The baseline's curve.
    """

    net: Network
    accuracy: float
    name: str
    curve: Curve
    baseline_curve: Curve

    def branch(self) -> Branch:
        """The reference as a branch of its own (returned when no step's branch fits)."""
        topology = ((0.0, widths(self.net)),)
        return Branch(
            -1,
            self.net,
            0,
            self.accuracy,
            label=self.name,
            curve=self.curve,
            topology=topology,
            op=self.name,
        )


def reference(
    net: Network,
    data: Splits,
    n_batches: int,
    run_jobs: Callable[[Sequence[TrainJob]], list[TrainOutcome]],
) -> Reference:
    """Trains the baseline (``n_batches`` from the start of the stream) and picks the reference.

    Raises:
        NumericalError: The baseline's training diverged.
    """
    (out,) = run_jobs([TrainJob(net, 0, n_batches, curve=True)])
    if out.net is None:
        raise NumericalError(f"baseline training diverged: {out.error}")
    start = float(net.evaluate(data.X_val, data.y_val).get("accuracy", math.nan))
    if start > out.val_accuracy:
        return Reference(net.copy(), start, "start", (), out.curve)
    return Reference(out.net, out.val_accuracy, "baseline", out.curve, out.curve)


def on_track(curve: Curve, max_drop: float) -> OnTrack:
    """Whether an accuracy at an epoch is within ``max_drop`` of the baseline at that epoch.

    The baseline's accuracy between its whole-epoch points is interpolated linearly (before
    the first point: the first point's).

    Example:
        >>> ok = on_track(((1.0, 0.5), (2.0, 0.9)), 0.05)
        >>> ok(1.5, 0.66), ok(1.5, 0.64), ok(3.0, 0.86)
        (True, False, True)
    """
    xs = np.array([e for e, _ in curve], dtype=np.float64)
    ys = np.array([a for _, a in curve], dtype=np.float64)

    def check(epoch: float, accuracy: float) -> bool:
        if not math.isfinite(accuracy) or xs.size == 0:
            return False
        return accuracy >= float(np.interp(epoch, xs, ys)) - max_drop

    return check


def track(st: LoopState, branch: Branch, budget: Budget | None) -> None:
    """Keeps ``branch`` as the run's best if the budget admits it and it is smaller."""
    if budget is None:
        return
    tracker = BestUnderBudget(budget)
    if st.best is not None and st.best_step is not None:
        tracker.restore(st.best.net, st.best.accuracy, st.best_step)
    if tracker.better(branch.net.n_params, branch.accuracy):
        st.best, st.best_step = branch, st.decision


def returned(
    st: LoopState, ref: Reference | None, budget: Budget | None
) -> tuple[Branch, int | None]:
    """``(branch, step)`` the run returns (``step`` ``None``: the reference itself).

    Without a budget: the final branch with the best score, at the last step.
    """
    if budget is None or ref is None:
        return chosen(st.branches), len(st.history) - 1
    if st.best is not None:
        return st.best, st.best_step
    return ref.branch(), None
