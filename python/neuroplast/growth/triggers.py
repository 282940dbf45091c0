"""Neurogenesis triggers (Maile 2023, ch. 6, eqs. 27–32, 35): how many units a layer should gain.

Every trigger is a small stateful object with one protocol: ``measure`` turns what the trigger
looks at (activations, weights) into its metric, ``start(layer, value)`` records the layer's
baseline, and ``trigger(layer, width, value)`` returns the number of units to add, an int
``>= 0`` that never takes the layer beyond ``max_width``. A layer that was never started is
started with the first value it is called with. The controller calls the trigger with the
layer's *current* width; the baseline is a ratio, so it survives growth.

Errata applied (see the docstring of each class):

* eqs. 28, 31, 35 print ``min(0, ·)``; the sensible reading (and the reference code) is
  ``max(0, ·)``: a trigger that is always ``<= 0`` could never fire.
* Rounding: the reference code computes ``T = count − ⌊γ·φ₀·M_l⌋`` with ``count`` the integer
  number of singular values above ε (``rounding="reference"``, the default), not the printed
  ``⌊M_l·(φ − γ·φ₀)⌋`` (``rounding="printed"``). At ``M_l = 4, φ = φ₀ = 1, γ = 0.97`` the
  printed form gives 0, so a full-rank width-4 layer would never grow, while the reference
  form gives 1; the generated-data experiment starts at width 4.
* eq. 29's identity term is restored (see :func:`neuroplast.metrics.orthogonality_gap`).
* eq. 32 defines a set; its cardinality is meant (see :class:`GradientTrigger`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast import metrics
from neuroplast.errors import ConfigError

__all__ = [
    "ActivationTrigger",
    "Baseline",
    "GradientMeasurement",
    "GradientTrigger",
    "Metric",
    "Rounding",
    "WeightTrigger",
]

#: Activation metrics: φ_ED (eq. 27) or φ_OG = 1 − orthogonality gap (eq. 29).
Metric = Literal["effective_dimension", "orthogonality_gap"]
#: Per-layer baseline: the value at initialization (dense, eq. 28) or the running maximum over
#: all evaluations so far (conv, eq. 35).
Baseline = Literal["initial", "running_max"]
#: ``"reference"``: ``count − ⌊γ·φ₀·M⌋``; ``"printed"``: ``⌊M·(φ − γ·φ₀)⌋``.
Rounding = Literal["reference", "printed"]

# Products such as 0.97·100 are not exact in binary; a value within TOL of an integer counts
# as that integer, so the documented fixtures (97, not 96) hold.
TOL = 1e-9


def _floor(x: float) -> int:
    return math.floor(x + TOL)


def _positive(value: object, name: str, *, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v <= 0 or (upper is not None and v > upper):
        bound = f"in (0, {upper}]" if upper is not None else "> 0"
        raise ConfigError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_width(width: object, name: str = "width") -> int:
    """``width`` as an int ``>= 1``, else ConfigError."""
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ConfigError(f"{name} must be an int >= 1, got {width!r}")
    return int(width)


def cap(n: int, width: int, max_width: int | None) -> int:
    """``n`` clipped to ``[0, max_width − width]``; ConfigError if ``width > max_width``."""
    if max_width is None:
        return max(0, n)
    if width > max_width:
        raise ConfigError(f"layer width {width} is beyond max_width {max_width}")
    return max(0, min(n, max_width - width))


def _check_max(max_width: int | None) -> int | None:
    return None if max_width is None else check_width(max_width, "max_width")


@dataclass(kw_only=True)
class _RatioTrigger:
    """Shared state of the ratio triggers: per-layer baselines and the grow count."""

    gamma: float
    eps: float
    max_width: int | None
    rounding: Rounding
    baseline: Baseline
    _baselines: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.gamma = _positive(self.gamma, "gamma", upper=1.0)
        self.eps = metrics._eps(self.eps, "eps")
        self.max_width = _check_max(self.max_width)
        if self.rounding not in ("reference", "printed"):
            raise ConfigError(f"rounding must be 'reference' or 'printed', got {self.rounding!r}")
        if self.baseline not in ("initial", "running_max"):
            raise ConfigError(f"baseline must be 'initial' or 'running_max', got {self.baseline!r}")

    def start(self, layer: str, value: float) -> None:
        """Records ``value`` (the metric of the network at initialization) as the baseline."""
        self._baselines[layer] = float(value)

    def baseline_of(self, layer: str) -> float | None:
        """The layer's current baseline φ₀ (``None`` before :meth:`start`)."""
        return self._baselines.get(layer)

    def _count(self, value: float, width: int) -> int:
        return round(value * width)

    def trigger(self, layer: str, width: int, value: float, *, max_width: int | None = None) -> int:
        """Units to add to ``layer`` of current ``width`` whose metric is now ``value``.

        Args:
            layer: Layer name (the key of its baseline).
            width: Current width ``M_l``.
            value: The metric now, from :meth:`measure`.
            max_width: Overrides the trigger's ``max_width`` for this call.

        Raises:
            ConfigError: ``width < 1`` or ``width > max_width``.
        """
        width = check_width(width)
        limit = self.max_width if max_width is None else check_width(max_width, "max_width")
        value = float(value)
        if layer not in self._baselines:
            self.start(layer, value)
        elif self.baseline == "running_max":
            self._baselines[layer] = max(self._baselines[layer], value)
        phi0 = self._baselines[layer]
        if self.rounding == "printed":
            n = _floor(width * (value - self.gamma * phi0))
        else:
            n = self._count(value, width) - _floor(self.gamma * phi0 * width)
        return cap(n, width, limit)

    __call__ = trigger


@dataclass(kw_only=True)
class ActivationTrigger(_RatioTrigger):
    """T_act (eq. 28; eq. 35 with ``baseline="running_max"``) on φ_ED (eq. 27) or φ_OG (eq. 29).

    With ``count`` the number of singular values of ``H_l/√n`` above ε (φ_ED) or
    ``⌈φ_OG·M_l⌉`` (φ_OG, as the reference code scores it)::

        T_act = max(0, count − ⌊γ_a · φ₀ · M_l⌋)      (rounding="reference", default)
        T_act = max(0, ⌊M_l · (φ − γ_a · φ₀)⌋)         (rounding="printed", with max for min)

    φ₀ is the layer's metric at initialization (dense, eq. 28) or its running maximum over all
    evaluations including the current one (conv, eq. 35: the metric of deep conv layers is
    about 0 at initialization). Activations need more samples than units (see
    :class:`~neuroplast.growth.ActivationBuffer`).

    Args:
        metric: ``"effective_dimension"`` (thesis default) or ``"orthogonality_gap"``.
        gamma: γ_a in ``(0, 1]`` (thesis: 0.97 for MLPs, 0.9–0.99 for CNNs).
        eps: ε of eq. 27 (0.01).
        baseline: ``"initial"`` or ``"running_max"``.
        max_width: Largest width a layer may reach (``None``: unbounded).
        rounding: ``"reference"`` or ``"printed"`` (see the module docstring).

    Example:
        >>> import numpy as np
        >>> trig = ActivationTrigger(gamma=0.97)
        >>> H = np.random.default_rng(0).normal(size=(64, 4))  # full rank, width 4
        >>> trig.start("dense_0", trig.measure(H))
        >>> trig("dense_0", 4, trig.measure(H))
        1
    """

    metric: Metric = "effective_dimension"
    gamma: float = 0.97
    eps: float = metrics.EPS_ED
    baseline: Baseline = "initial"
    max_width: int | None = None
    rounding: Rounding = "reference"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.metric not in ("effective_dimension", "orthogonality_gap"):
            raise ConfigError(
                f"metric must be 'effective_dimension' or 'orthogonality_gap', got {self.metric!r}"
            )

    def measure(self, acts: Any) -> float:
        """φ of a layer's post-activations ``(n, M)`` (conv ``(N, C, H, W)``, see metrics)."""
        if self.metric == "effective_dimension":
            return metrics.effective_dimension(acts, eps=self.eps)
        return metrics.orthogonality_gap(acts, as_metric=True)

    def _count(self, value: float, width: int) -> int:
        if self.metric == "orthogonality_gap":
            return math.ceil(value * width - TOL)
        return round(value * width)


@dataclass(kw_only=True)
class WeightTrigger(_RatioTrigger):
    """T_weight (eq. 31) on the weight effective dimension φ_w (eq. 30).

    φ_w counts the singular values of ``[W_l | b_l] / √cols`` above ε, ``cols`` the number of
    columns (erratum: the printed ``1/√n`` of eq. 30 divides by the number of samples, which
    does not apply to weights; the reference code divides by the number of columns). Conv
    kernels are flattened to ``(C_out, C_in·kh·kw)``. The count can never exceed
    ``fan_in + 1``, so growth driven by this trigger stops near the input dimensionality.
    Same rounding and sign conventions as :class:`ActivationTrigger`.

    Args:
        gamma: γ_w in ``(0, 1]`` (thesis: 0.99).
        eps: ε of eq. 30 (0.01).
        max_width: Largest width a layer may reach.
        rounding: ``"reference"`` or ``"printed"``.
        baseline: ``"initial"`` (eq. 31) or ``"running_max"``.

    Example:
        >>> import numpy as np
        >>> trig = WeightTrigger()
        >>> W = np.random.default_rng(0).normal(size=(4, 8))
        >>> trig("dense_0", 4, trig.measure(W))
        1
    """

    gamma: float = 0.99
    eps: float = metrics.EPS_ED
    max_width: int | None = None
    rounding: Rounding = "reference"
    baseline: Baseline = "initial"

    def measure(self, weight: Any, bias: Any = None) -> float:
        """φ_w of a weight ``(M, fan_in)`` or ``(C_out, C_in, kh, kw)`` and optional bias."""
        return metrics.effective_dimension(weight, "weights", eps=self.eps, bias=bias)


@dataclass(frozen=True)
class GradientMeasurement:
    """What the gradient trigger (eq. 32) looks at, for one layer on one batch.

    Attributes:
        singular_values: Singular values of the auxiliary gradient ``∂L/∂Z_{l+1} · H_{l-1}ᵀ``
            (nonincreasing; at most ``M_{l+1}`` of them, per kernel offset for convs).
        gradient_norms: ``Σ_m (‖∂L/∂w_m^in‖ + ‖∂L/∂w_m^out‖)`` over the layer's units (fan-in
            with the bias, fan-out over every consumer).
        left_vectors: The matching left singular vectors as columns (GradMax's fan-out).
    """

    singular_values: npt.NDArray[np.float64]
    gradient_norms: float
    left_vectors: npt.NDArray[np.float64]


@dataclass(kw_only=True)
class GradientTrigger:
    """T_grad (eq. 32): how many auxiliary-gradient directions beat the existing units.

    ::

        T_grad = |{σ ∈ SVD(∂L/∂Z_{l+1} · H_{l-1}ᵀ) : σ > s · Σ_m (‖∂L/∂w_m^in‖ + ‖∂L/∂w_m^out‖)}|

    (errata: eq. 32 prints the set, its cardinality is meant). The thesis prints ``s = 1``; the
    reference code uses half the sum (``s = 0.5``). The default follows the thesis text,
    whose stated intent (a condition that gets harder to satisfy as the layer grows, so the
    width converges) both values serve; pass ``threshold_scale=0.5`` to reproduce the
    reference code. The count is capped at the number of singular values (GradMax can add at
    most that many independent directions, at most ``M_{l+1}``) and at ``max_width``.
    Stateless apart from its settings; ``start`` exists for a uniform protocol.

    Args:
        threshold_scale: ``s`` above (> 0).
        max_width: Largest width a layer may reach.

    Example:
        >>> import numpy as np
        >>> m = GradientMeasurement(np.array([3.0, 1.5, 0.1]), 2.0, np.eye(3))
        >>> GradientTrigger()("d", 8, m), GradientTrigger(threshold_scale=0.5)("d", 8, m)
        (1, 2)
    """

    threshold_scale: float = 1.0
    max_width: int | None = None

    def __post_init__(self) -> None:
        self.threshold_scale = _positive(self.threshold_scale, "threshold_scale")
        self.max_width = _check_max(self.max_width)

    def start(self, layer: str, value: GradientMeasurement) -> None:
        """No baseline is needed (the threshold comes from the current gradients)."""

    def trigger(
        self,
        layer: str,
        width: int,
        value: GradientMeasurement,
        *,
        max_width: int | None = None,
    ) -> int:
        """Units to add to ``layer`` of current ``width`` (see the class docstring)."""
        width = check_width(width)
        limit = self.max_width if max_width is None else check_width(max_width, "max_width")
        threshold = self.threshold_scale * float(value.gradient_norms)
        n = int(np.sum(np.asarray(value.singular_values) > threshold))
        return cap(n, width, limit)

    __call__ = trigger
