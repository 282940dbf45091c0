"""Per-unit importance scores against direct NumPy computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from neuroplast import ConfigError, InvalidMorphismError, Network, Spec
from neuroplast.morph import IMPORTANCES, node_activations, unit_importances
from neuroplast.testing.strategies import params_for, seeds


@settings(max_examples=30, deadline=None)
@given(seeds())
def test_dense_scores_match_numpy(seed: int) -> None:
    spec = Spec.mlp(5, [7, 4], 3)
    net = Network(spec, params_for(spec, seed))
    X = np.random.default_rng(seed).standard_normal((40, 5)).astype(np.float32)
    a = node_activations(net, "dense_0", X)
    w_next = np.asarray(net.params["dense_1.weight"], np.float64)
    fan_out = np.linalg.norm(w_next, axis=0)
    expected = {
        "mean_abs": np.abs(a).mean(0),
        "activation_std": a.std(0),
        "fan_out_norm": fan_out,
        "magnitude_std": fan_out * a.std(0),
        "energy": (a**2).mean(0),
    }
    assert set(expected) == set(IMPORTANCES)
    for kind, value in expected.items():
        got = unit_importances(net, "dense_0", X, kind)  # type: ignore[arg-type]
        assert got.shape == (7,) and got.dtype == np.float64
        np.testing.assert_allclose(got, value, rtol=1e-12, atol=1e-12)


def test_dormant_units_score_zero() -> None:
    spec = Spec.mlp(3, [5], 2)
    params = dict(Network.init(spec, seed=0).params)
    bias = params["dense_0.bias"].copy()
    bias[[1, 3]] = -1e3  # relu units that never fire
    params["dense_0.bias"] = bias
    net = Network(spec, params)
    X = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32)
    score = unit_importances(net, "dense_0", X, "mean_abs")
    assert score[1] == 0.0 and score[3] == 0.0 and np.all(score[[0, 2, 4]] > 0)


def test_conv_channels_pool_every_pixel() -> None:
    spec = Spec.cnn((1, 6, 6), [3], 2)
    net = Network.init(spec, seed=1)
    X = np.random.default_rng(1).standard_normal((4, 1, 6, 6)).astype(np.float32)
    a = node_activations(net, "conv_0", X).reshape(4, 3, 36)
    per_channel = np.moveaxis(a, 1, 2).reshape(-1, 3)
    np.testing.assert_allclose(
        unit_importances(net, "conv_0", X, "activation_std"), per_channel.std(0), rtol=1e-12
    )


def test_bad_arguments_are_typed() -> None:
    net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    X = np.ones((2, 3), np.float32)
    with pytest.raises(ConfigError, match="unknown importance"):
        unit_importances(net, "dense_0", X, "taylor")  # type: ignore[arg-type]
    with pytest.raises(InvalidMorphismError):
        unit_importances(net, "output", X)
