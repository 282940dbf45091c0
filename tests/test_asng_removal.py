"""Removing the switched-off bits computes what the mask computes: units (dense, conv + batch
norm), DenseNet connections, residual adds; and the parameter counts of the encoding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec
from neuroplast.errors import ConfigError, InvalidMorphismError
from neuroplast.morph import EditLog, disconnect
from neuroplast.search.asng import deterministic, encode, masked_forward, remove

TOL = 1e-5


def _randomized(spec: Spec, seed: int) -> Network:
    """A network with random weights and batch-norm statistics (not the identity)."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in spec.param_shapes.items():
        if name.endswith("running_var"):
            params[name] = rng.uniform(0.5, 2.0, shape)
        else:
            params[name] = rng.normal(0, 0.5, shape)
    return Network(spec, params)


def _structure(enc, rng: np.random.Generator, p_on: float) -> np.ndarray:
    """A random structure that keeps at least one bit per group."""
    theta = np.where(rng.random(enc.d) < p_on, 0.9, 0.1) + rng.uniform(-0.05, 0.05, enc.d)
    return deterministic(enc, theta)


def _check_exact(net: Network, enc, m: np.ndarray, X: np.ndarray) -> Network:
    small, log = remove(net, enc, m)
    masked = masked_forward(net, enc, m, X)
    out = small.forward(X)
    np.testing.assert_allclose(out, masked, rtol=TOL, atol=TOL)
    np.testing.assert_array_equal(out.argmax(1), masked.argmax(1))
    assert small.n_params == round(enc.n_params(m))
    assert small.n_params <= net.n_params
    # The log replays the removal.
    replayed = EditLog.from_json(log.to_json()).replay(net)
    assert replayed.spec == small.spec
    return small


@settings(max_examples=25, deadline=None)
@given(
    widths=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
    p_on=st.floats(0.0, 1.0),
)
def test_removing_units_equals_the_deterministic_mask(widths, seed, p_on) -> None:
    spec = Spec.mlp(5, widths, 3, activation="tanh")
    if sum(widths) < 2:
        return
    net = _randomized(spec, seed)
    enc = encode(spec, "units")
    rng = np.random.default_rng(seed)
    m = _structure(enc, rng, p_on)
    _check_exact(net, enc, m, rng.normal(size=(20, 5)).astype(np.float32))


def test_units_of_a_conv_net_with_batch_norm() -> None:
    spec = Spec.cnn((1, 8, 8), [6, 5], 4, hidden=[7], batch_norm=True)
    enc = encode(spec, "units")
    assert [b.node for b in enc.bits][:6] == ["conv_0_bn"] * 6  # masked behind the batch norm
    net = _randomized(spec, 1)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(16, 1, 8, 8)).astype(np.float32)
    for p in (0.2, 0.5, 0.8):
        _check_exact(net, enc, _structure(enc, rng, p), X)


def test_expected_parameters_are_the_mean_of_sampled_counts() -> None:
    spec = Spec.cnn((1, 8, 8), [4, 3], 3, hidden=[5], batch_norm=True)
    enc = encode(spec, "units")
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.1, 0.9, enc.d)
    M = rng.random((4000, enc.d)) < theta
    counts = [enc.n_params(m) for m in M]
    assert enc.n_params(np.ones(enc.d)) == spec.n_params
    assert abs(np.mean(counts) - enc.n_params(theta)) < 4 * np.std(counts) / np.sqrt(len(M))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_densenet_connection_removal_is_exact(seed: int) -> None:
    spec = Spec.densenet((1, 8, 8), 5, growth=3, blocks=(3, 2), stem_channels=4)
    enc = encode(spec, "connections")
    assert enc.d == (4 * 5) // 2 + (3 * 4) // 2  # (L+1)(L+2)/2 per block
    net = _randomized(spec, seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, 1, 8, 8)).astype(np.float32)
    for p in (0.15, 0.5, 0.85):
        m = _structure(enc, rng, p)
        small = _check_exact(net, enc, m, X)
        cat = [n for n in small.spec.nodes if n.name.endswith("_in")]
        assert sum(len(n.inputs) for n in cat) <= int(m.sum())


def test_connection_costs_are_the_weights_of_each_connection() -> None:
    spec = Spec.densenet((1, 8, 8), 5, growth=3, blocks=(2,), stem_channels=4)
    enc = encode(spec, "connections")
    by_label = dict(zip([b.label for b in enc.bits], enc.weights, strict=True))
    # Into layer 2 from layer 1: 3 channels × (3 out × 3×3 kernel + BN γ, β).
    assert by_label["b0l2_in<-b0l2_bn1#1"] == 3 * (3 * 9 + 2)
    # Into the output from the stem: 4 channels × (5 dense rows + BN γ, β).
    assert by_label["b0o_in<-b0o_bn0#0"] == 4 * (5 + 2)


def test_residual_add_connections() -> None:
    spec = Spec.resnet((1, 8, 8), 3, stem_channels=4, stages=[(4, 1), (6, 1)])
    enc = encode(spec, "connections")
    net = _randomized(spec, 3)
    X = np.random.default_rng(3).normal(size=(10, 1, 8, 8)).astype(np.float32)
    for m in ([True, False, True, True], [False, True, True, False], [True, True, False, True]):
        _check_exact(net, enc, np.array(m), X)


def test_disconnect_refuses_what_it_cannot_do() -> None:
    spec = Spec.densenet((1, 8, 8), 5, growth=3, blocks=(2,), stem_channels=4)
    net = Network.init(spec, seed=0)
    with pytest.raises(InvalidMorphismError, match="at least one"):
        disconnect(net, "b0l1_in", [0])
    with pytest.raises(InvalidMorphismError, match="not an add or concat"):
        disconnect(net, "b0l1", [0])
    with pytest.raises(ConfigError, match="switches off all"):
        enc = encode(spec, "connections")
        remove(net, enc, np.zeros(enc.d, bool))
    # A concat followed by batch norm cannot be selected exactly.
    bad = Spec.cnn((1, 8, 8), [4], 3)
    from neuroplast.layers import BatchNorm, Concat, Conv2d, Dense, Flatten

    nodes = (
        Conv2d("a", "input", 2, 3, padding=1),
        Conv2d("b", "input", 2, 3, padding=1),
        Concat("c", ("a", "b")),
        BatchNorm("n", "c"),
        Flatten("f", "n"),
        Dense("output", "f", 3, "identity"),
    )
    bad = Spec((1, 8, 8), nodes, "output")
    with pytest.raises(ConfigError, match="batch norm"):
        encode(bad, "connections")
