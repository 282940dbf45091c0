"""Growth triggers: metric fixtures, rounding, baselines, caps, DYNO, the buffer, grow loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import ConfigError, Network, Spec, metrics
from neuroplast.growth import (
    ActivationBuffer,
    ActivationTrigger,
    GradientMeasurement,
    GradientTrigger,
    PruneGrowTrigger,
    WeightTrigger,
    grow,
)


def _rank_r(n: int, m: int, r: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, r)) @ rng.normal(size=(r, m))


# ---------------------------------------------------------------------------- metric fixtures
@pytest.mark.parametrize(("m", "r"), [(8, 3), (16, 16), (20, 5)])
def test_effective_dimension_of_rank_r_activations_is_r_over_m(m: int, r: int) -> None:
    assert ActivationTrigger().measure(_rank_r(200, m, r)) == pytest.approx(r / m)


@pytest.mark.parametrize("n", [2, 10, 50])
def test_orthogonality_metric_of_identical_samples(n: int) -> None:
    trig = ActivationTrigger(metric="orthogonality_gap")
    H = np.tile(np.array([[1.0, -2.0, 0.5]]), (n, 1))
    assert trig.measure(H) == pytest.approx(1.0 - math.sqrt(1.0 - 1.0 / n), abs=1e-6)
    assert trig.measure(np.eye(6)) == pytest.approx(1.0, abs=1e-6)


# ---------------------------------------------------------------------------- T_act arithmetic
@pytest.mark.parametrize(
    ("width", "reference", "printed"), [(4, 1, 0), (64, 2, 1), (17, 1, 0), (100, 3, 3)]
)
def test_activation_trigger_rounding_conventions(width: int, reference: int, printed: int) -> None:
    # A full-rank layer at its initial metric φ = φ₀ = 1, γ = 0.97 (digest Sec. 6.3 fixtures).
    ref = ActivationTrigger(gamma=0.97)
    pr = ActivationTrigger(gamma=0.97, rounding="printed")
    assert ref("l", width, 1.0) == reference
    assert pr("l", width, 1.0) == printed


def test_activation_trigger_never_negative_and_respects_baseline() -> None:
    trig = ActivationTrigger(gamma=0.97)
    trig.start("l", 1.0)
    assert trig("l", 10, 0.5) == 0  # 5 − ⌊9.7⌋ < 0 → 0 (max, not min)
    assert trig.baseline_of("l") == 1.0
    trig.start("m", 0.5)
    assert trig("m", 10, 1.0) == 10 - math.floor(0.97 * 0.5 * 10)


def test_running_max_baseline_only_rises() -> None:
    trig = ActivationTrigger(gamma=0.9, baseline="running_max")
    trig.start("conv", 0.1)
    assert trig("conv", 10, 0.5) == 5 - math.floor(0.9 * 0.5 * 10)
    assert trig.baseline_of("conv") == 0.5
    trig("conv", 10, 0.3)
    assert trig.baseline_of("conv") == 0.5
    fixed = ActivationTrigger(gamma=0.9)
    fixed.start("conv", 0.1)
    fixed("conv", 10, 0.5)
    assert fixed.baseline_of("conv") == 0.1


def test_orthogonality_count_rounds_up() -> None:
    trig = ActivationTrigger(metric="orthogonality_gap", gamma=0.5)
    trig.start("l", 0.4)
    # count = ⌈0.41·10⌉ = 5, threshold ⌊0.5·0.4·10⌋ = 2
    assert trig("l", 10, 0.41) == 3


def test_max_width_caps_and_rejects() -> None:
    trig = ActivationTrigger(gamma=0.5, max_width=12)
    trig.start("l", 1.0)
    assert trig("l", 10, 1.0) == 2
    assert trig("l", 12, 1.0) == 0
    assert trig("l", 10, 1.0, max_width=11) == 1
    with pytest.raises(ConfigError, match="beyond max_width"):
        trig("l", 13, 1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gamma": 0.0},
        {"gamma": 1.5},
        {"eps": -1.0},
        {"metric": "rank"},
        {"baseline": "mean"},
        {"rounding": "ceil"},
        {"max_width": 0},
    ],
)
def test_activation_trigger_rejects_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ActivationTrigger(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    width=st.integers(1, 300),
    extra=st.integers(0, 50),
    phi0=st.floats(0.01, 1.0),
    phi=st.floats(0.0, 1.0),
    gamma=st.floats(0.5, 1.0),
    metric=st.sampled_from(["effective_dimension", "orthogonality_gap"]),
    rounding=st.sampled_from(["reference", "printed"]),
)
def test_triggers_stay_within_zero_and_max_width(
    width: int, extra: int, phi0: float, phi: float, gamma: float, metric: str, rounding: str
) -> None:
    trig = ActivationTrigger(
        metric=metric,  # type: ignore[arg-type]
        gamma=gamma,
        max_width=width + extra,
        rounding=rounding,  # type: ignore[arg-type]
    )
    trig.start("l", phi0)
    n = trig("l", width, phi)
    assert isinstance(n, int) and 0 <= n <= extra
    if phi <= gamma * phi0 - 1.0 / width:  # clearly below the baseline: no growth
        assert n == 0
    dyno = PruneGrowTrigger(initial_baseline=phi0, min_width=1, max_width=width + extra)
    p = dyno.prune("l", width, phi)
    g = dyno.grow("l", width, phi, current_width=width - p)
    assert 0 <= p <= width - 1 and 0 <= g <= extra + p
    assert p == 0 or g == 0  # one evaluation never both prunes and grows on the same value


def test_trigger_rejects_bad_width() -> None:
    with pytest.raises(ConfigError):
        ActivationTrigger()("l", 0, 1.0)


# ---------------------------------------------------------------------------- T_weight, T_grad
def test_weight_trigger_counts_columns_and_rank() -> None:
    trig = WeightTrigger()
    W = _rank_r(6, 10, 4)
    assert trig.measure(W) == pytest.approx(4 / 6)
    wide = np.random.default_rng(1).normal(size=(12, 5))  # rank ≤ fan_in + 1 = 6 with a bias
    assert trig.measure(wide, bias=np.ones(12)) <= 6 / 12
    assert trig("l", 4, 1.0) == 4 - math.floor(0.99 * 4)


def test_gradient_trigger_threshold_scale_and_cap() -> None:
    m = GradientMeasurement(np.array([5.0, 3.0, 1.2, 0.2]), 2.0, np.eye(4))
    assert GradientTrigger()("l", 8, m) == 2
    assert GradientTrigger(threshold_scale=0.5)("l", 8, m) == 3
    assert GradientTrigger(threshold_scale=0.5, max_width=9)("l", 8, m) == 1
    with pytest.raises(ConfigError):
        GradientTrigger(threshold_scale=0.0)


# ---------------------------------------------------------------------------- DYNO
def test_dyno_prune_and_grow_fixtures() -> None:
    trig = PruneGrowTrigger(delta=0.03)
    assert trig.prune("a", 100, 0.90) == 7  # ⌊100·(0.97·1 − 0.90)⌋
    assert trig.grow("a", 100, 0.90) == 0
    trig2 = PruneGrowTrigger(initial_baseline=0.9)
    assert trig2.prune("b", 100, 1.0) == 0
    assert trig2.grow("b", 100, 1.0) == 7  # ⌊100·(1.0 − 1.03·0.9)⌋


def test_dyno_baseline_resets_after_a_change_and_floor_holds() -> None:
    trig = PruneGrowTrigger(min_width=10)
    assert trig.prune("a", 12, 0.5) == 2  # floor: never below 10 units
    trig.changed("a")
    assert trig.baseline_of("a") == 1.0
    assert trig.prune("a", 10, 0.5) == 0  # φ* reset to the value measured now
    assert trig.baseline_of("a") == 0.5
    assert trig.grow("a", 10, 0.5) == 0
    assert trig.prune("a", 10, 0.2, min_width=4) == 2  # ⌊10·(0.97·0.5 − 0.2)⌋ = ⌊2.85⌋
    assert trig.prune("a", 10, 0.0, min_width=6) == 4  # ⌊4.85⌋ = 4, floor 6 allows 4
    assert trig.prune("a", 10, 0.0, min_width=8) == 2
    assert trig.grow("a", 100, 0.9, current_width=95, max_width=96) == 1


def test_dyno_uses_first_measurement_without_initial_baseline() -> None:
    trig = PruneGrowTrigger(initial_baseline=None)
    assert trig.prune("a", 50, 0.6) == 0
    assert trig.baseline_of("a") == 0.6


# ---------------------------------------------------------------------------- buffer
def test_buffer_is_fifo_with_labels() -> None:
    buf = ActivationBuffer.for_max_width(3)  # capacity 6
    assert buf.capacity == 6 and len(buf) == 0 and not buf.ready(1)
    buf.add(np.arange(8.0).reshape(4, 2), np.arange(4))
    buf.add(np.arange(8.0, 14.0).reshape(3, 2), np.arange(4, 7))
    assert buf.X[:, 0].tolist() == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert buf.y.tolist() == [1, 2, 3, 4, 5, 6]
    assert buf.ready(5) and not buf.ready(6)
    buf.resize(2)
    assert buf.y.tolist() == [5, 6]
    with pytest.raises(ConfigError):
        ActivationBuffer.for_max_width(3, factor=1.0)
    with pytest.raises(ConfigError):
        buf.add(np.zeros((1, 2)))


# ---------------------------------------------------------------------------- grow loops
def _identity_layer_on_rank(r: int, n_in: int, width: int) -> tuple[Network, np.ndarray]:
    net = Network.init(Spec.mlp(n_in, [width], 2, activation="identity"), seed=0)
    X = _rank_r(400, n_in, r, seed=3).astype(np.float32)
    return net, X


@pytest.mark.parametrize("init", ["north_random", "north_select"])
def test_identity_layer_on_rank_16_input_grows_from_4_to_17(init: str) -> None:
    net, X = _identity_layer_on_rank(16, 24, 4)
    trig = ActivationTrigger(gamma=0.97, max_width=64)
    acts = net.activations(X, ["dense_0"])["dense_0"]
    trig.start("dense_0", trig.measure(acts))
    widths = []
    for step in range(30):
        width = net.spec.widths["dense_0"]
        k = trig("dense_0", width, trig.measure(net.activations(X, ["dense_0"])["dense_0"]))
        if k == 0:
            break
        assert k == 1  # one unit per step while rank == width (and at 16 → 17)
        net, _ = grow(net, "dense_0", k, init, X=X, seed=step, candidates=8)
        widths.append(net.spec.widths["dense_0"])
    assert widths == list(range(5, 18))
    assert net.spec.widths["dense_0"] == 17


def test_north_weight_growth_stops_at_the_input_dimensionality() -> None:
    # Biases are 0 after init, so rank [W | b] ≤ fan_in = 8: stops at ⌊0.99·M⌋ ≥ 8, M = 9.
    net = Network.init(Spec.mlp(8, [4], 2), seed=0)
    trig = WeightTrigger(gamma=0.99, max_width=64)
    for step in range(20):
        w, b = net.params["dense_0.weight"], net.params["dense_0.bias"]
        k = trig("dense_0", net.spec.widths["dense_0"], trig.measure(w, b))
        if k == 0:
            break
        net, _ = grow(net, "dense_0", k, "north_weight", seed=step)
    assert net.spec.widths["dense_0"] == 9
    assert metrics.effective_dimension(net.params["dense_0.weight"], "weights") * 9 == 8
