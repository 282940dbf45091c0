"""DYNO's grow-and-prune triggers with a moving baseline (Maile 2023, ch. 7, eqs. 37–39).

::

    TRIG_PRUNE(f, l) = max(0, ⌊M_l · ((1 − δ)·φ* − φ_ED(f, l))⌋)          (38)
    TRIG_GROW(f, l)  = max(0, ⌊M_l · (φ_ED(f, l) − (1 + δ)·φ*)⌋)          (39)

(the thesis prints ``min(0, ·)``; as in ch. 6, ``max`` is meant). φ* is the layer's φ_ED at its
last structural change. Protocol per evaluation of a layer (the reference code's order):

1. ``n = trig.prune(layer, width, phi, min_width=...)`` — the first call for a layer, and the
   first call after :meth:`PruneGrowTrigger.changed`, sets φ* first (to ``initial_baseline``,
   or to ``phi`` after a change), so an evaluation right after a change never fires;
2. prune ``n`` units (dormant first, then greedy cosine: ``narrow(select="cosine")``) and
   re-measure φ on the pruned layer;
3. ``g = trig.grow(layer, width, phi_after, current_width=width − n, max_width=...)`` with the
   width *before* pruning in the formula, as the reference code does; grow with NORTH-Select
   and 100 candidates per unit (Sec. 7.3):
   ``growth.grow(net, layer, g, "north_select", X=..., candidates=100 * g)``;
4. after any change, ``trig.changed(layer)``: only that layer's φ* is reset, to the value
   measured at its next evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neuroplast import metrics
from neuroplast.growth.triggers import _floor, _positive, cap, check_width

__all__ = ["PruneGrowTrigger"]


@dataclass(kw_only=True)
class PruneGrowTrigger:
    """DYNO's prune and grow triggers (eqs. 38, 39) with per-layer moving baselines φ*.

    Args:
        delta: δ > 0 (thesis: 0.03, i.e. thresholds 0.97·φ* and 1.03·φ*).
        eps: ε of φ_ED (0.01).
        initial_baseline: φ* of a layer before its first change (reference code: 1.0, full
            rank assumed on the source distribution); ``None`` uses the first measurement.
        min_width: Floor of pruning (the controller passes the class count for dense layers).
        max_width: Ceiling of growth (``None``: unbounded).

    Example:
        >>> trig = PruneGrowTrigger()
        >>> trig.prune("dense_0", 100, 0.90)  # ⌊100·(0.97·1 − 0.90)⌋
        7
        >>> trig.changed("dense_0"); trig.prune("dense_0", 93, 0.95)  # φ* reset to 0.95
        0
    """

    delta: float = 0.03
    eps: float = metrics.EPS_ED
    initial_baseline: float | None = 1.0
    min_width: int = 1
    max_width: int | None = None
    _baselines: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _pending: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.delta = _positive(self.delta, "delta", upper=1.0)
        self.eps = metrics._eps(self.eps, "eps")
        if self.initial_baseline is not None:
            self.initial_baseline = _positive(self.initial_baseline, "initial_baseline", upper=1)
        self.min_width = check_width(self.min_width, "min_width")
        if self.max_width is not None:
            self.max_width = check_width(self.max_width, "max_width")

    def measure(self, acts: Any) -> float:
        """φ_ED of a layer's post-activations (eq. 37; conv flattened to ``(N·H·W, C)``)."""
        return metrics.effective_dimension(acts, eps=self.eps)

    def baseline_of(self, layer: str) -> float | None:
        """The layer's φ* (``None`` before its first evaluation)."""
        return self._baselines.get(layer)

    def observe(self, layer: str, value: float) -> float:
        """Sets φ* where it is unset or reset after a change; returns φ*."""
        if layer in self._pending:
            self._baselines[layer] = float(value)
            self._pending.discard(layer)
        elif layer not in self._baselines:
            init = self.initial_baseline
            self._baselines[layer] = float(value) if init is None else init
        return self._baselines[layer]

    def changed(self, layer: str) -> None:
        """Records a structural change of ``layer``: φ* is reset at its next evaluation."""
        self._pending.add(layer)

    def prune(self, layer: str, width: int, value: float, *, min_width: int | None = None) -> int:
        """Units to remove from ``layer`` of ``width`` whose φ_ED is ``value`` (eq. 38).

        Never takes the layer below ``min_width`` (the trigger's, or this call's).
        """
        width = check_width(width)
        floor_w = self.min_width if min_width is None else check_width(min_width, "min_width")
        star = self.observe(layer, value)
        n = _floor(width * ((1.0 - self.delta) * star - float(value)))
        return max(0, min(n, width - floor_w))

    def grow(
        self,
        layer: str,
        width: int,
        value: float,
        *,
        current_width: int | None = None,
        max_width: int | None = None,
    ) -> int:
        """Units to add (eq. 39) with ``width`` the width before pruning in this evaluation.

        ``value`` is φ_ED re-measured after pruning; the count is capped so that
        ``current_width`` (default ``width``) plus the count stays within ``max_width``.
        """
        width = check_width(width)
        now = width if current_width is None else check_width(current_width, "current_width")
        limit = self.max_width if max_width is None else check_width(max_width, "max_width")
        star = self.observe(layer, value)
        n = _floor(width * (float(value) - (1.0 + self.delta) * star))
        return cap(n, now, limit)
