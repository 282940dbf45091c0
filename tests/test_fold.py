"""``Network.fold_batchnorm``: equivalent inference networks without batch-norm layers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec
from neuroplast.layers import Add, BatchNorm, Conv2d, Dense, Flatten

_SETTINGS = settings(max_examples=15, deadline=None)


def _trained(spec: Spec, seed: int) -> tuple[Network, np.ndarray]:
    """A network whose batch-norm statistics and affine parameters are far from identity."""
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=0.5, scale=2.0, size=(48, *spec.input_shape)).astype(np.float32)
    y = rng.integers(0, spec.n_outputs, 48)
    net = Network.init(spec, seed=seed)
    net.fit(X, y, epochs=2, batch_size=12, seed=seed)
    return net, X


def _assert_folded(net: Network, X: np.ndarray) -> Network:
    folded = net.fold_batchnorm()
    assert not any(isinstance(n, BatchNorm) for n in folded.spec.nodes)
    assert folded.spec.n_outputs == net.spec.n_outputs
    ref = net.forward(X)
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(folded.forward(X), ref, rtol=0, atol=2e-5 * scale)
    return folded


@_SETTINGS
@given(
    channels=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    hidden=st.lists(st.integers(1, 6), max_size=2),
    size=st.integers(4, 9),
    seed=st.integers(0, 2**16),
)
def test_cnn_folds_exactly(channels: list[int], hidden: list[int], size: int, seed: int) -> None:
    pool = "max" if size >= 2 ** len(channels) else None
    spec = Spec.cnn((2, size, size), channels, 3, hidden=hidden, batch_norm=True, pool=pool)
    net, X = _trained(spec, seed)
    folded = _assert_folded(net, X)
    # Every batch norm sat right after an identity conv: all fold into their convs.
    assert len(folded.spec.nodes) == len(spec.nodes) - len(channels)
    # γ and β (2 per channel) become the conv bias (1 per channel).
    assert folded.spec.n_params == spec.n_params - sum(channels)


@_SETTINGS
@given(seed=st.integers(0, 2**16), blocks=st.integers(1, 2))
def test_resnet_folds_exactly(seed: int, blocks: int) -> None:
    spec = Spec.resnet((1, 8, 8), 4, stem_channels=3, stages=[(3, blocks), (5, 1)])
    net, X = _trained(spec, seed)
    _assert_folded(net, X)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unfoldable_batch_norms_become_affine_layers(seed: int) -> None:
    # BN of the raw input, BN after a ReLU conv, BN after a merge, and a flat BN after a
    # tanh dense layer: none can fold into a producer, all become per-channel affine layers.
    nodes = (
        BatchNorm("bn_in", "input"),
        Conv2d("c", "bn_in", 3, 3, padding=1, activation="relu"),
        BatchNorm("bn_relu", "c", activation="tanh"),
        Add("sum", ("bn_relu", "c")),
        BatchNorm("bn_sum", "sum"),
        Flatten("flat", "bn_sum"),
        Dense("d", "flat", 5, "tanh"),
        BatchNorm("bn_flat", "d", activation="relu"),
        Dense("output", "bn_flat", 3, "identity"),
    )
    net, X = _trained(Spec((2, 5, 5), nodes, "output"), seed)
    folded = _assert_folded(net, X)
    kinds = {n.name: type(n).__name__ for n in folded.spec.nodes}
    assert kinds["bn_in"] == kinds["bn_relu"] == kinds["bn_sum"] == "Conv2d"
    assert kinds["bn_flat"] == "Dense"


def test_batch_norm_at_the_output_folds_into_the_last_layer() -> None:
    nodes = (
        Dense("h", "input", 6, "relu"),
        Dense("z", "h", 3, "identity"),
        BatchNorm("out_bn", "z"),
    )
    net, X = _trained(Spec((4,), nodes, "out_bn"), 0)
    folded = _assert_folded(net, X)
    assert folded.spec.output == "z"


def test_shared_producer_is_not_folded() -> None:
    # The conv feeds both the BN and a residual add: folding would change the add's input.
    nodes = (
        Conv2d("c", "input", 2, 3, padding=1, activation="identity"),
        BatchNorm("bn", "c", activation="relu"),
        Add("sum", ("bn", "c")),
        Flatten("flat", "sum"),
        Dense("output", "flat", 3, "identity"),
    )
    net, X = _trained(Spec((2, 4, 4), nodes, "output"), 3)
    folded = _assert_folded(net, X)
    assert {n.name for n in folded.spec.nodes} >= {"c", "bn"}


def test_network_without_batch_norm_is_unchanged() -> None:
    net = Network.init(Spec.cnn((1, 6, 6), [3], 2), seed=0)
    folded = net.fold_batchnorm()
    assert folded.spec == net.spec
    for k, v in net.params.items():
        np.testing.assert_array_equal(folded.params[k], v)
