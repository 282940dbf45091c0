"""Network.activations and Network.node_gradients against the float64 reference and the engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import ConfigError, Conv2d, Dense, Network, Spec
from neuroplast.testing.reference import forward_trace
from neuroplast.testing.strategies import inputs_for, params_for, seeds, specs, targets_for
from neuroplast.testing.strategies_conv import conv_specs

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(st.one_of(specs(), conv_specs()), seeds(), st.booleans())
def test_activations_match_the_reference(spec: Spec, seed: int, pre: bool) -> None:
    net = Network(spec, params_for(spec, seed))
    X = inputs_for(spec, 5, seed + 1)
    names = ["input", *(n.name for n in spec.nodes)]
    got = net.activations(X, names, pre=pre)
    ref = forward_trace(spec, net.params, X)
    for name in names:
        want = ref.out[name] if (name == "input" or not pre) else ref.pre[name]
        shape = spec.input_shape if name == "input" else spec.shapes[name]
        assert got[name].shape == (5, *shape) and got[name].dtype == np.float32
        scale = 1.0 + np.abs(want).max()
        assert np.abs(got[name].reshape(5, -1) - want.reshape(5, -1)).max() <= 1e-4 * scale, name


@SETTINGS
@given(st.one_of(specs(), conv_specs()), seeds())
def test_node_gradients_reproduce_the_parameter_gradients(spec: Spec, seed: int) -> None:
    """``∂L/∂W = Σ_i g_i·x_iᵀ`` and ``∂L/∂b = Σ_i g_i`` for every dense layer; conv biases too."""
    net = Network(spec, params_for(spec, seed))
    n = 6
    X, y = inputs_for(spec, n, seed + 1), targets_for(spec, n, seed + 2)
    layers = [node for node in spec.nodes if isinstance(node, Dense | Conv2d)]
    loss, g = net.node_gradients(X, y, [node.name for node in layers])
    loss_ref, grads = net.gradients(X, y)
    assert loss == loss_ref
    # Training-mode inputs: batch norm normalizes with the batch's statistics here.
    inputs = forward_trace(spec, net.params, X, training=True).out
    for node in layers:
        gz = g[node.name].astype(np.float64)
        if node.bias:
            axes = (0,) if isinstance(node, Dense) else (0, 2, 3)
            want = grads[f"{node.name}.bias"]
            scale = 1e-5 * (1.0 + np.abs(gz).sum())
            assert np.abs(gz.sum(axis=axes) - want).max() <= scale, node.name
        if isinstance(node, Dense):
            x = inputs[node.input].reshape(n, -1)
            want = grads[f"{node.name}.weight"]
            scale = 1e-5 * (1.0 + np.abs(gz).sum() * np.abs(x).max())
            assert np.abs(gz.T @ x - want).max() <= scale, node.name


def test_unreached_nodes_get_zero_gradients_and_bad_names_are_typed() -> None:
    nodes = (Dense("a", "input", 3), Dense("dead", "input", 2), Dense("out", "a", 2, "identity"))
    spec = Spec((4,), nodes, "out")
    net = Network.init(spec, seed=0)
    X = np.ones((3, 4), np.float32)
    _, g = net.node_gradients(X, np.array([0, 1, 0]), ["dead", "a"])
    assert not g["dead"].any() and g["a"].any()
    with pytest.raises(ConfigError, match="no node named"):
        net.activations(X, ["nope"])
    with pytest.raises(ConfigError, match="sequence of node names"):
        net.activations(X, "a")
