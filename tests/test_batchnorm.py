"""Batch normalization: training vs evaluation semantics and the running-statistics update."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neuroplast import SGD, Network, Spec
from neuroplast.errors import ConfigError
from neuroplast.layers import BatchNorm, Conv2d, Dense, Flatten
from neuroplast.testing import assert_all_close, assert_close, reference
from neuroplast.testing.strategies import (
    Problem,
    inputs_for,
    params_for,
    problems,
    seeds,
    targets_for,
)

BN = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Float32 batch-norm backward cancels terms of the size of the largest gradient; keep batch
# variances away from 0 (where 1/√(var + ε) amplifies rounding) and compare with this atol.
GRAD_TOL = {"rtol": 2e-4, "atol": 5e-5}
MIN_VAR = 1e-2


def _input_bn_spec(shape: tuple[int, ...], momentum: float = 0.1) -> Spec:
    """``input → bn → flatten → dense``: the batch norm sees the raw batch."""
    return Spec(
        shape,
        (
            BatchNorm("bn", "input", momentum=momentum, activation="tanh"),
            Flatten("flat", "bn"),
            Dense("out", "flat", 3, "identity"),
        ),
        "out",
    )


def _deep_bn_spec() -> Spec:
    """Conv → BN (ReLU) → flatten → dense → flat BN → dense."""
    return Spec(
        (2, 5, 5),
        (
            Conv2d("conv", "input", 3, 3, padding=1, activation="identity", bias=False),
            BatchNorm("bn", "conv", activation="relu"),
            Flatten("flat", "bn"),
            Dense("hid", "flat", 4, "identity"),
            BatchNorm("bn_flat", "hid", momentum=0.3, activation="tanh"),
            Dense("out", "bn_flat", 3, "identity"),
        ),
        "out",
    )


def _fit_one_step(net: Network, X: np.ndarray, y: np.ndarray, lr: float = 0.1) -> None:
    net.fit(X, y, epochs=1, batch_size=len(X), optimizer=SGD(lr=lr), shuffle=False)


@BN
@given(
    st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
    st.integers(2, 6),
    st.sampled_from((0.0, 0.1, 0.5, 1.0)),
    seeds(),
)
def test_fit_step_updates_running_stats_per_formula(
    shape: tuple[int, int, int], n: int, momentum: float, seed: int
) -> None:
    spec = _input_bn_spec(shape, momentum)
    params = params_for(spec, seed)
    X = inputs_for(spec, n, seed + 1)
    net = Network(spec, params)
    _fit_one_step(net, X, targets_for(spec, n, seed + 2))
    # Plain NumPy from the batch: per channel over batch, height and width.
    x = X.astype(np.float64)
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3), ddof=1)
    expected_mean = (1 - momentum) * params["bn.running_mean"] + momentum * mean
    expected_var = (1 - momentum) * params["bn.running_var"] + momentum * var
    assert_close(net.params["bn.running_mean"], expected_mean, what="running_mean")
    assert_close(net.params["bn.running_var"], expected_var, what="running_var")


def test_momentum_extremes() -> None:
    X = inputs_for(_input_bn_spec((2, 3, 3)), 4, 0)
    y = np.arange(4) % 3
    frozen = Network.init(_input_bn_spec((2, 3, 3), momentum=0.0), 0)
    before = {k: v.copy() for k, v in frozen.params.items() if "running" in k}
    _fit_one_step(frozen, X, y)
    for k, v in before.items():
        np.testing.assert_array_equal(frozen.params[k], v)
    replaced = Network.init(_input_bn_spec((2, 3, 3), momentum=1.0), 0)
    _fit_one_step(replaced, X, y)
    assert_close(replaced.params["bn.running_mean"], X.mean(axis=(0, 2, 3), dtype=np.float64))
    assert_close(replaced.params["bn.running_var"], X.astype(np.float64).var((0, 2, 3), ddof=1))


def _deep_problems(min_batch: int) -> st.SearchStrategy[Problem]:
    return problems(st.just(_deep_bn_spec()), min_batch=min_batch, max_batch=8, with_masks=False)


@settings(max_examples=15, deadline=None)
@given(_deep_problems(3))
def test_two_steps_match_reference(p: Problem) -> None:
    # Step 1 updates the running stats from the initial parameters, step 2 from the parameters
    # after one SGD update: both steps reproduced with the reference (deep BN, spatial + flat).
    spec, params, X, y = p.spec, p.params, p.X, p.y
    assume(reference.batch_norm_min_variance(spec, params, X) > MIN_VAR)
    net = Network(spec, params)
    net.fit(X, y, epochs=2, batch_size=len(X), optimizer=SGD(lr=0.05), shuffle=False)
    ref: dict[str, np.ndarray] = {k: np.asarray(v, np.float64) for k, v in params.items()}
    for _ in range(2):
        _, grads = reference.loss_and_gradients(spec, ref, X, y)
        stats = reference.batch_norm_updates(spec, ref, X)
        ref, _ = reference.optimizer_step(SGD(lr=0.05), ref, grads)
        ref.update(stats)
    assert_all_close(net.params, ref, **GRAD_TOL, what="after two steps")


@settings(max_examples=15, deadline=None)
@given(_deep_problems(2))
def test_predict_uses_running_stats(p: Problem) -> None:
    spec, params, X, y = p.spec, p.params, p.X, p.y
    net = Network(spec, params)
    out = net.forward(X)
    assert_close(out, reference.forward(spec, params, X), what="eval forward")
    train = reference.forward(spec, params, X, training=True)
    assert np.abs(train - out).max() > 1e-3  # the two modes really differ here
    # Prediction of one sample does not depend on the rest of the batch.
    assert_close(net.forward(X[:1]), out[:1])
    expected = reference.loss_value(spec, reference.forward(spec, params, X), y)
    assert net.evaluate(X, y)["loss"] == pytest.approx(expected, rel=1e-4, abs=1e-5)


@settings(max_examples=15, deadline=None)
@given(_deep_problems(3))
def test_gradients_use_batch_stats_and_keep_running_stats(p: Problem) -> None:
    spec, params, X, y = p.spec, p.params, p.X, p.y
    assume(reference.batch_norm_min_variance(spec, params, X) > MIN_VAR)
    net = Network(spec, params)
    loss, grads = net.gradients(X, y)
    ref_loss, ref_grads = reference.loss_and_gradients(spec, params, X, y)
    assert loss == pytest.approx(ref_loss, rel=1e-4, abs=1e-5)
    assert_all_close(grads, ref_grads, **GRAD_TOL)
    for name in spec.buffers:
        assert not grads[name].any()
        np.testing.assert_array_equal(net.params[name], params[name])
    eval_loss = reference.loss_value(spec, reference.forward(spec, params, X), y)
    assert abs(loss - eval_loss) > 1e-6  # not the running-statistics loss


def test_flat_batch_norm_per_feature() -> None:
    spec = Spec(
        (4,),
        (BatchNorm("bn", "input", eps=1e-3), Dense("out", "bn", 2, "identity")),
        "out",
        "mse",
    )
    assert spec.shapes["bn"] == (4,) and spec.param_shapes["bn.running_var"] == (4,)
    params = params_for(spec, 3)
    X = inputs_for(spec, 6, 4) * np.float32([1, 10, 0.1, 3]) + np.float32([0, 5, -2, 1])
    y = targets_for(spec, 6, 5)
    x = X.astype(np.float64)
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    normed = params["bn.weight"] * xhat + params["bn.bias"]
    train_out = normed @ params["out.weight"].T + params["out.bias"]
    assert_close(reference.forward(spec, params, X, training=True), train_out)
    net = Network(spec, params)
    _, grads = net.gradients(X, y)
    assert_all_close(grads, reference.loss_and_gradients(spec, params, X, y)[1])
    _fit_one_step(net, X, y)
    expected_var = 0.9 * params["bn.running_var"] + 0.1 * x.var(0, ddof=1)
    assert_close(net.params["bn.running_var"], expected_var)


def test_batch_of_one_raises_config_error() -> None:
    flat = Spec((3,), (BatchNorm("bn", "input"), Dense("out", "bn", 2)), "out")
    net = Network.init(flat, 0)
    X, y = np.ones((1, 3), np.float32), np.zeros(1, np.int64)
    with pytest.raises(ConfigError, match=r"bn.*more than one value per channel"):
        net.gradients(X, y)
    with pytest.raises(ConfigError, match="more than one value per channel"):
        net.fit(X, y, epochs=1, batch_size=1)
    # A last batch of one sample (5 = 2 + 2 + 1) is refused up front.
    X5, y5 = np.ones((5, 3), np.float32), np.zeros(5, np.int64)
    with pytest.raises(ConfigError, match="batch_size"):
        net.fit(X5, y5, epochs=1, batch_size=2)
    # Prediction uses running statistics: one sample is fine.
    assert net.forward(X).shape == (1, 2)
    # A spatial batch norm has H·W values per channel even for one sample; 1×1 has one.
    spatial = _input_bn_spec((2, 2, 1))
    Network.init(spatial, 0).gradients(np.ones((1, 2, 2, 1), np.float32), np.zeros(1, np.int64))
    tiny = _input_bn_spec((2, 1, 1))
    with pytest.raises(ConfigError):
        Network.init(tiny, 0).gradients(np.ones((1, 2, 1, 1), np.float32), np.zeros(1, np.int64))


def test_buffers_are_not_trainable() -> None:
    spec = _deep_bn_spec()
    assert spec.buffers == {
        "bn.running_mean",
        "bn.running_var",
        "bn_flat.running_mean",
        "bn_flat.running_var",
    }
    trainable = sum(int(np.prod(s)) for k, s in spec.param_shapes.items() if k not in spec.buffers)
    assert spec.n_params == trainable == reference.n_params(spec)
    init = Network.init(spec, 0).params
    np.testing.assert_array_equal(init["bn.running_mean"], np.zeros(3))
    np.testing.assert_array_equal(init["bn.running_var"], np.ones(3))
    np.testing.assert_array_equal(init["bn.weight"], np.ones(3))
