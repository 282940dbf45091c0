"""Growth initializations: function preservation, what each one promises, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import (
    Add,
    ConfigError,
    Conv2d,
    Dense,
    Flatten,
    InvalidMorphismError,
    Network,
    Spec,
    metrics,
)
from neuroplast.growth import (
    INITIALIZATIONS,
    GradientTrigger,
    grow,
    measure_gradient,
    north_pre,
    north_weight,
)
from neuroplast.growth._layer import layer_view
from neuroplast.growth.init._common import fan_out_norm, orthogonality_scores
from neuroplast.testing import assert_function_preserved

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRESERVING = ("north_select", "north_pre", "north_random", "north_weight", "gradmax")
ZERO_AT_ZERO = ("relu", "modified_relu", "tanh", "identity", "leaky_relu")


def _data(shape: tuple[int, ...], n: int, n_out: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, *shape)).astype(np.float32), rng.integers(0, n_out, n)


def _mlp(activation: str, widths: list[int], seed: int = 0) -> Network:
    return Network.init(Spec.mlp(6, widths, 3, activation=activation), seed=seed)


def _cnn(activation: str = "modified_relu", consumer: Conv2d | None = None) -> Network:
    c1 = consumer or Conv2d("conv_1", "conv_0", 4, 3, padding="same", activation=activation)
    nodes = (
        Conv2d("conv_0", "input", 3, 3, padding="same", activation=activation),
        c1,
        Flatten("flatten", "conv_1"),
        Dense("output", "flatten", 3, "identity"),
    )
    return Network.init(Spec((2, 6, 6), nodes, "output"), seed=0)


def _with_bias(net: Network, seed: int) -> Network:
    """Non-zero biases everywhere (GradMax must still preserve the function: new bias is 0)."""
    rng = np.random.default_rng(seed)
    params = {
        k: (rng.normal(size=v.shape).astype(np.float32) * 0.3 if k.endswith(".bias") else v)
        for k, v in net.params.items()
    }
    return Network(net.spec, params)


# ---------------------------------------------------------------------------- preservation
@SETTINGS
@given(
    init=st.sampled_from(PRESERVING),
    activation=st.sampled_from(ZERO_AT_ZERO),
    widths=st.lists(st.integers(2, 7), min_size=1, max_size=2),
    n_new=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_preserving_inits_keep_the_mlp_function(
    init: str, activation: str, widths: list[int], n_new: int, seed: int
) -> None:
    net = _with_bias(_mlp(activation, widths, seed), seed)
    X, y = _data((6,), 40, 3, seed)
    for layer in [f"dense_{i}" for i in range(len(widths))]:
        wide, rec = grow(net, layer, n_new, init, X=X, y=y, seed=seed, candidates=n_new + 6)
        assert rec.contract == "exact", rec
        assert wide.spec.widths[layer] == net.spec.widths[layer] + n_new
        assert_function_preserved(net, wide, X)


@pytest.mark.parametrize("init", ["north_select", "north_random", "north_weight", "gradmax"])
@pytest.mark.parametrize("activation", ["relu", "modified_relu"])
@pytest.mark.parametrize("layer", ["conv_0", "conv_1"])
def test_preserving_inits_keep_the_cnn_function(init: str, activation: str, layer: str) -> None:
    net = _with_bias(_cnn(activation), 1)
    X, y = _data((2, 6, 6), 6, 3, 2)
    wide, rec = grow(net, layer, 2, init, X=X, y=y, seed=3, candidates=8)
    assert rec.contract == "exact"
    assert wide.spec.widths[layer] == net.spec.widths[layer] + 2
    assert_function_preserved(net, wide, X)


def test_gradmax_with_sigmoid_is_not_exact() -> None:
    net = _mlp("sigmoid", [4])
    X, y = _data((6,), 30, 3, 0)
    _wide, rec = grow(net, "dense_0", 2, "gradmax", X=X, y=y, calibration=(X, y))
    assert rec.contract == "approximate"
    assert rec.distortion is not None and rec.distortion.max_abs_output > 1e-3


def test_firefly_without_noise_preserves_and_with_noise_changes_by_order_eps() -> None:
    net = _with_bias(_mlp("tanh", [5, 4]), 0)
    X, y = _data((6,), 40, 3, 1)
    for layer in ("dense_0", "dense_1"):
        w = INITIALIZATIONS["firefly"](net, layer, 3, X=X, y=y, candidates=10, eps=0.0)
        assert w["split"], "half of the candidates are splits; some should be chosen"
        wide, rec = grow(net, layer, 3, "firefly", X=X, y=y, candidates=10, calibration=(X, y))
        assert rec.contract == "approximate"
        assert rec.distortion is not None
        assert 0 < rec.distortion.max_abs_output < 1e-2
    # ε = 0: splits are exact copies with halved fan-out, new units have zero fan-out.
    from neuroplast.morph import widen

    w = INITIALIZATIONS["firefly"](net, "dense_0", 3, X=X, y=y, candidates=10, eps=0.0)
    assert w["split"]
    wide, _ = widen(net, "dense_0", 3, "given", weights=w)
    assert_function_preserved(net, wide, X)


@pytest.mark.parametrize("case", range(4))
def test_firefly_on_cnns_changes_by_order_eps(case: int) -> None:
    from neuroplast.morph import widen

    net, shape, layer = _probe_cases()[case]
    X, y = _data(shape, 8, 3, 4)
    _wide, rec = grow(net, layer, 2, "firefly", X=X, y=y, candidates=8, calibration=(X, y))
    assert rec.contract == "approximate" and rec.distortion is not None
    assert rec.distortion.max_abs_output < 1e-2
    w = INITIALIZATIONS["firefly"](net, layer, 2, X=X, y=y, candidates=8, eps=0.0)
    exact, _ = widen(net, layer, 2, "given", weights=w)
    assert_function_preserved(net, exact, X, atol=1e-5)


def test_nest_on_a_cnn_keeps_the_candidates_that_lower_the_loss_most() -> None:
    from neuroplast.growth import nest
    from neuroplast.morph import widen

    net, shape, layer = _probe_cases()[0]
    X, y = _data(shape, 8, 3, 4)
    best = nest(net, layer, 1, X=X, y=y, candidates=6, seed=2)
    pool = nest(net, layer, 6, X=X, y=y, candidates=6, seed=2)  # all candidates, best first
    losses = []
    for i in range(6):
        one = {
            "incoming": pool["incoming"][i : i + 1],
            "outgoing": {c: a[:, i : i + 1] for c, a in pool["outgoing"].items()},
        }
        losses.append(widen(net, layer, 1, "given", weights=one)[0].evaluate(X, y)["loss"])
    assert losses == sorted(losses)
    np.testing.assert_array_equal(best["incoming"], pool["incoming"][:1])


def test_nest_changes_the_function_and_is_approximate() -> None:
    net = _mlp("relu", [5])
    X, y = _data((6,), 40, 3, 1)
    wide, rec = grow(net, "dense_0", 2, "nest", X=X, y=y, calibration=(X, y))
    assert rec.contract == "approximate"
    new_in = wide.params["dense_0.weight"][5:]
    assert np.all(np.linalg.norm(new_in, axis=1) > 0)


# ---------------------------------------------------------------------------- what they promise
def test_new_fan_in_rows_match_the_mean_existing_norm() -> None:
    net = _mlp("relu", [6])
    X, y = _data((6,), 40, 3, 0)
    target = np.mean(np.linalg.norm(net.params["dense_0.weight"], axis=1))
    for init in ("north_select", "north_pre", "north_random", "north_weight"):
        w = INITIALIZATIONS[init](net, "dense_0", 3, X=X, y=y, candidates=10)
        assert set(w) == {"incoming"}  # zero fan-out, zero bias
        np.testing.assert_allclose(np.linalg.norm(w["incoming"], axis=1), target, rtol=1e-5)


def test_orthogonality_score_is_count_plus_sum_and_prefers_new_directions() -> None:
    rng = np.random.default_rng(0)
    existing = rng.normal(size=(60, 3))
    cands = np.column_stack([existing[:, 0], rng.normal(size=60), np.zeros(60)])
    scores = orthogonality_scores(existing, cands, 0.01)
    for j in range(3):
        sv = np.linalg.svd(np.column_stack([existing, cands[:, j]]) / np.sqrt(60), compute_uv=False)
        assert scores[j] == pytest.approx(np.sum(sv > 0.01) + np.sum(sv), abs=1e-6)
    assert np.argmax(scores) == 1 and scores[1] > scores[0] + 0.9


def test_north_select_adds_independent_units() -> None:
    # Positive inputs: relu candidates with mostly negative weights are (nearly) dead and
    # add no direction; the selected units must each add one.
    net = _mlp("relu", [3])
    X = np.abs(np.random.default_rng(0).normal(size=(100, 6))).astype(np.float32)
    wide, _ = grow(net, "dense_0", 3, "north_select", X=X, candidates=40, seed=1)
    acts = wide.activations(X, ["dense_0"])["dense_0"]
    assert metrics.numerical_rank(acts / np.sqrt(100)) == 6


def test_north_pre_pre_activations_are_orthogonal_to_the_existing_ones() -> None:
    net = _with_bias(_mlp("relu", [3]), 0)
    X, _ = _data((6,), 50, 3, 0)
    w = north_pre(net, "dense_0", 2, X=X, candidates=8)
    z_old = net.activations(X, ["dense_0"], pre=True)["dense_0"].astype(np.float64)
    z_new = X.astype(np.float64) @ w["incoming"].T.astype(np.float64)
    cos = (z_old.T @ z_new) / np.outer(np.linalg.norm(z_old, axis=0), np.linalg.norm(z_new, axis=0))
    assert np.max(np.abs(cos)) < 1e-4


def test_north_weight_rows_lie_in_the_kernel_of_w() -> None:
    net = _mlp("relu", [3])
    W = net.params["dense_0.weight"].astype(np.float64)
    w = north_weight(net, "dense_0", 2, seed=4)["incoming"].astype(np.float64)
    assert np.max(np.abs(W @ w.T)) < 1e-5
    wide = Network.init(Spec.mlp(3, [5], 2), seed=0)  # M ≥ fan_in: no kernel, random rows
    assert north_weight(wide, "dense_0", 1)["incoming"].shape == (1, 3)


@pytest.mark.parametrize(
    "consumer",
    [
        Conv2d("conv_1", "conv_0", 4, 3, padding="same", activation="modified_relu"),
        Conv2d("conv_1", "conv_0", 2, 3, stride=2, padding=1, activation="modified_relu"),
        Conv2d("conv_1", "conv_0", 3, 2, padding=0, dilation=2, activation="modified_relu"),
    ],
)
def test_gradmax_fan_in_gradient_equals_the_top_singular_values(consumer: Conv2d) -> None:
    # For each new unit i: ‖∂L/∂(w_i, b_i)‖ = σ_i · s with s its fan-out norm (σ'(0) = 1).
    for net, shape, layer in [
        (_mlp("modified_relu", [5, 4]), (6,), "dense_0"),
        (_mlp("modified_relu", [5, 4]), (6,), "dense_1"),
        (_cnn(consumer=consumer), (2, 6, 6), "conv_0"),
        (_cnn(consumer=consumer), (2, 6, 6), "conv_1"),  # conv → flatten → dense
    ]:
        X, y = _data(shape, 12, 3, 5)
        m = measure_gradient(net, layer, X, y)
        scale = fan_out_norm(net, layer_view(net, layer))
        wide, _ = grow(net, layer, 2, "gradmax", X=X, y=y)
        _, g = wide.gradients(X, y)
        old = net.spec.widths[layer]
        gw = g[f"{layer}.weight"][old:].reshape(2, -1)
        norms = np.sqrt(np.sum(gw**2, axis=1) + g[f"{layer}.bias"][old:] ** 2)
        np.testing.assert_allclose(norms, m.singular_values[:2] * scale, rtol=1e-3)


def _probe_cases() -> list[tuple[Network, tuple[int, ...], str]]:
    return [
        (Network.init(Spec.cnn((2, 8, 8), [3, 4], 3), seed=0), (2, 8, 8), "conv_0"),
        (Network.init(Spec.cnn((2, 8, 8), [3, 4], 3, pool="avg"), seed=0), (2, 8, 8), "conv_1"),
        (
            Network.init(Spec.cnn((2, 8, 8), [3], 3, hidden=[5], batch_norm=True), seed=0),
            (2, 8, 8),
            "conv_0",
        ),
        (
            Network.init(Spec.resnet((1, 8, 8), 3, stem_channels=4, stages=[(4, 1)]), seed=0),
            (1, 8, 8),
            "s0b0_c2",
        ),
    ]


@pytest.mark.parametrize("case", range(4))
def test_gradmax_through_pooling_norm_and_residuals(case: int) -> None:
    net, shape, layer = _probe_cases()[case]
    X, y = _data(shape, 8, 3, 4)
    m = measure_gradient(net, layer, X, y)
    wide, rec = grow(net, layer, 2, "gradmax", X=X, y=y)
    assert rec.contract == "exact"
    assert_function_preserved(net, wide, X)
    probed = wide
    if net.spec.node(layer).activation == "relu":  # type: ignore[union-attr]
        from neuroplast.growth.init._aux import _probe_spec

        probed = Network(_probe_spec(wide.spec, layer)[0], dict(wide.params))
    _, g = probed.gradients(X, y)
    old = net.spec.widths[layer]
    gw = g[f"{layer}.weight"][old:].reshape(2, -1)
    gb = g[f"{layer}.bias"][old:] if f"{layer}.bias" in g else np.zeros(2)
    scale = fan_out_norm(net, layer_view(net, layer))
    norms = np.sqrt(np.sum(gw.astype(np.float64) ** 2, axis=1) + gb.astype(np.float64) ** 2)
    np.testing.assert_allclose(norms, m.singular_values[:2] * scale, rtol=2e-3)


@pytest.mark.parametrize(
    ("net", "shape", "layer"),
    [
        (_mlp("relu", [5, 4]), (6,), "dense_0"),
        (_cnn("relu"), (2, 6, 6), "conv_0"),
        (_cnn("tanh"), (2, 6, 6), "conv_1"),
    ],
)
def test_probed_auxiliary_gradient_equals_the_explicit_one(
    net: Network, shape: tuple[int, ...], layer: str
) -> None:
    from neuroplast.growth.init._aux import _explicit, _probe

    X, y = _data(shape, 10, 3, 6)
    view = layer_view(net, layer)
    a, b = _explicit(net, view, X, y), _probe(net, view, X, y)
    assert a.blocks == b.blocks
    np.testing.assert_allclose(b.matrix, a.matrix, rtol=1e-4, atol=1e-6 * np.abs(a.matrix).max())


def test_gradient_trigger_on_a_measurement() -> None:
    net = _mlp("modified_relu", [5])
    X, y = _data((6,), 40, 3, 0)
    m = measure_gradient(net, "dense_0", X, y)
    assert m.singular_values.size == 3  # at most M_{l+1} directions
    assert m.gradient_norms > 0
    n = GradientTrigger(threshold_scale=1e-9)("dense_0", 5, m)
    assert n == 3


# ---------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("init", list(INITIALIZATIONS))
def test_same_seed_same_weights(init: str) -> None:
    net = _mlp("modified_relu", [3, 4])
    X, y = _data((6,), 30, 3, 0)
    a, _ = grow(net, "dense_0", 2, init, X=X, y=y, seed=7, candidates=9)
    b, _ = grow(net, "dense_0", 2, init, X=X, y=y, seed=7, candidates=9)
    for k in a.params:
        assert a.params[k].tobytes() == b.params[k].tobytes(), k
    if init not in ("gradmax", "nest"):  # these two draw nothing for these shapes or signs only
        c, _ = grow(net, "dense_0", 2, init, X=X, y=y, seed=8, candidates=9)
        assert any(a.params[k].tobytes() != c.params[k].tobytes() for k in a.params)


# ---------------------------------------------------------------------------- errors
def test_typed_errors() -> None:
    net = _mlp("relu", [4])
    X, _y = _data((6,), 20, 3, 0)
    with pytest.raises(ConfigError, match="unknown initialization"):
        grow(net, "dense_0", 1, "north_magic", X=X)
    with pytest.raises(InvalidMorphismError):
        grow(net, "dense_0", 0, "north_random")
    with pytest.raises(ConfigError, match="dense layers only"):
        grow(_cnn(), "conv_0", 1, "north_pre", X=_data((2, 6, 6), 4, 3, 0)[0])
    with pytest.raises(ConfigError, match="labels"):
        grow(net, "dense_0", 1, "gradmax", X=X)
    with pytest.raises(ConfigError, match="candidates"):
        grow(net, "dense_0", 3, "north_select", X=X, candidates=2)
    with pytest.raises(ConfigError, match="dense or conv"):
        grow(_cnn(), "flatten", 1, "north_random")
    pooled = Network.init(Spec.cnn((2, 6, 6), [3, 4], 3, activation="sigmoid"), seed=0)
    with pytest.raises(ConfigError, match="σ"):
        grow(pooled, "conv_0", 1, "gradmax", X=_data((2, 6, 6), 4, 3, 0)[0], y=np.zeros(4, int))
    residual = Network.init(
        Spec(
            (6,),
            (
                Dense("a", "input", 4),
                Dense("b", "a", 4),
                Add("s", ("a", "b")),
                Dense("output", "s", 3, "identity"),
            ),
            "output",
        ),
        seed=0,
    )
    for init in INITIALIZATIONS:  # "b" reads "a", which it is coupled to
        if init == "north_pre":
            continue
        wide, rec = grow(residual, "b", 2, init, X=X, y=np.zeros(20, int), candidates=6)
        if init in PRESERVING:
            assert rec.contract == "exact"
            assert_function_preserved(residual, wide, X)
        assert wide.spec.widths["b"] == 6
    wide, rec = grow(residual, "b", 2, "gradmax", X=X, y=np.zeros(20, int))
    assert rec.contract == "exact"
    assert_function_preserved(residual, wide, X)
