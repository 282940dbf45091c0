"""Random convolutional graphs vs the NumPy reference; builders, structure and persistence."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings

from neuroplast import Network, Spec
from neuroplast.layers import (
    Add,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool2d,
)
from neuroplast.testing import assert_all_close, assert_close, reference
from neuroplast.testing.strategies import Problem, problems
from neuroplast.testing.strategies_conv import conv_specs

GRAPHS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
KINK = 1e-3  # kinked activations stay this far from 0
TIE_GAP = 1e-3  # max-pool winners lead by at least this much
MIN_VAR = 1e-2  # batch-norm inputs vary at least this much (1/√var amplifies rounding)


def _stable(p: Problem) -> bool:
    return (
        reference.kink_margin(p.spec, p.params, p.X, p.masks) > KINK
        and reference.max_pool_margin(p.spec, p.params, p.X, p.masks) > TIE_GAP
        and reference.batch_norm_min_variance(p.spec, p.params, p.X, p.masks) > MIN_VAR
    )


# ------------------------------------------------------------------------------ random graphs
@GRAPHS
@given(problems(conv_specs(), max_batch=5))
def test_forward_matches_reference(p: Problem) -> None:
    out = p.network().forward(p.X, masks=p.masks)
    assert out.shape == (p.X.shape[0], p.spec.n_outputs)
    assert_close(out, reference.forward(p.spec, p.params, p.X, p.masks), what="forward")
    flat = p.X.reshape(p.X.shape[0], -1)
    np.testing.assert_array_equal(p.network().forward(flat, masks=p.masks), out)


@GRAPHS
@given(problems(conv_specs(), max_batch=5))
def test_gradients_match_reference(p: Problem) -> None:
    assume(_stable(p))
    loss, grads = p.network().gradients(p.X, p.y, masks=p.masks)
    ref_loss, ref_grads = reference.loss_and_gradients(p.spec, p.params, p.X, p.y, p.masks)
    assert_close(loss, ref_loss, what="loss")
    assert list(grads) == list(p.spec.param_shapes)
    assert_all_close(grads, ref_grads, rtol=2e-4, atol=5e-5, what="gradients")


@settings(max_examples=20, deadline=None, suppress_health_check=list(GRAPHS.suppress_health_check))
@given(problems(conv_specs(max_nodes=3, max_channels=3, max_size=5), max_batch=3))
def test_reference_gradients_match_finite_differences(p: Problem) -> None:
    assume(_stable(p))
    numeric = reference.numerical_gradients(p.spec, p.params, p.X, p.y, p.masks)
    _, analytic = reference.loss_and_gradients(p.spec, p.params, p.X, p.y, p.masks)
    assert_all_close(analytic, numeric, rtol=1e-5, atol=1e-6, what="reference vs FD")


@GRAPHS
@given(problems(conv_specs(), max_batch=4))
def test_structure_matches_reference(p: Problem) -> None:
    spec = p.spec
    assert dict(spec.shapes) == reference.node_shapes(spec)
    assert dict(spec.widths) == reference.node_widths(spec)
    assert list(spec.param_shapes.items()) == list(reference.param_shapes(spec).items())
    assert spec.n_params == reference.n_params(spec)
    assert dict(spec.node_flops) == reference.node_flops(spec)
    assert spec.flops == reference.flops(spec)


@GRAPHS
@given(conv_specs())
def test_json_and_pickle_round_trip(spec: Spec) -> None:
    again = Spec.from_json(spec.to_json())
    assert again == spec and again.to_json() == spec.to_json()
    assert dict(again.shapes) == dict(spec.shapes)
    assert pickle.loads(pickle.dumps(spec)) == spec


# ------------------------------------------------------------------------------ hand-built graphs
def _every_node_spec() -> Spec:
    return Spec(
        (3, 8, 8),
        (
            Conv2d("c1", "input", 6, 3, padding="same", activation="tanh"),
            Conv2d("dw", "c1", 6, (3, 1), 1, (2, 0), dilation=(2, 1), groups=6, bias=False),
            BatchNorm("bn", "dw", eps=1e-3, momentum=0.2, activation="leaky_relu"),
            Add("res", ("bn", "c1"), "sigmoid"),
            MaxPool2d("mp", "res", 3, 2, 1),
            AvgPool2d("ap", "res", (2, 3), (2, 2), (0, 1)),
            Conv2d("g", "res", 4, 2, 2, 0, groups=2, activation="modified_relu"),
            Concat("cat", ("mp", "ap", "g"), "identity"),
            GlobalAvgPool("gap", "cat"),
            Flatten("flat", "mp"),
            Dense("d", "flat", 5, "relu"),
            BatchNorm("bnf", "d"),
            Concat("head", ("gap", "bnf")),
            Dense("out", "head", 3, "identity"),
        ),
        "out",
    )


def test_every_node_type_hand_computed() -> None:
    spec = _every_node_spec()
    shapes = dict(spec.shapes)
    assert shapes["dw"] == (6, 8, 8)  # rows (8 + 2·2 - 2·(3-1) - 1) / 1 + 1 = 8
    assert shapes["mp"] == (6, 4, 4) and shapes["ap"] == (6, 4, 4) and shapes["g"] == (4, 4, 4)
    assert shapes["cat"] == (16, 4, 4) and shapes["gap"] == (16,) and shapes["head"] == (21,)
    assert spec.param_shapes["dw.weight"] == (6, 1, 3, 1)
    assert spec.param_shapes["g.weight"] == (4, 3, 2, 2)
    flops = spec.node_flops
    assert flops["c1"] == 2 * 6 * 8 * 8 * 3 * 9 + 6 * 64 + 6 * 64
    assert flops["dw"] == 2 * 6 * 64 * 3 + 6 * 64  # no bias; the default ReLU
    assert flops["bn"] == 2 * 384 + 384
    assert flops["mp"] == 6 * 16 * 9 and flops["ap"] == 6 * 16 * 6
    assert flops["gap"] == 16 * 16 and flops["flat"] == 0 and flops["cat"] == 0
    assert flops["d"] == 2 * 96 * 5 + 5 + 5
    assert spec.n_params == (6 * 27 + 6) + 6 * 3 + 12 + (4 * 12 + 4) + (96 * 5 + 5) + 10 + 63 + 3


def test_every_node_type_graph_matches_reference() -> None:
    spec = _every_node_spec()
    net = Network.init(spec, 3)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    assert_close(net.forward(X), reference.forward(spec, net.params, X))
    _, grads = net.gradients(X, y)
    assert_all_close(grads, reference.loss_and_gradients(spec, net.params, X, y)[1], atol=5e-5)


def test_spec_cnn_hand_computed() -> None:
    spec = Spec.cnn((1, 28, 28), [8, 16], 10, hidden=[32])
    assert spec.shapes["conv_0"] == (8, 28, 28) and spec.shapes["pool_1"] == (16, 7, 7)
    assert spec.shapes["flatten"] == (784,)
    convs = (8 * 9 + 8) + (16 * 8 * 9 + 16)
    assert spec.n_params == convs + (784 * 32 + 32) + (32 * 10 + 10)
    flops = spec.node_flops
    assert flops["conv_0"] == 2 * 8 * 784 * 9 + 8 * 784 + 8 * 784  # MACs, bias, ReLU
    assert flops["pool_0"] == 8 * 14 * 14 * 4
    assert flops["conv_1"] == 2 * 16 * 196 * 72 + 2 * 16 * 196
    assert flops["dense_0"] == 2 * 784 * 32 + 32 + 32
    bn = Spec.cnn((3, 8, 8), [4], 2, batch_norm=True, pool="avg", global_pool=True)
    assert "conv_0.bias" not in bn.param_shapes
    assert bn.node("conv_0_bn").activation == "relu" and bn.shapes["gap"] == (4,)
    assert bn.n_params == 4 * 27 + 8 + 4 * 2 + 2
    assert bn.node_flops["conv_0_bn"] == 3 * 4 * 64 and bn.node_flops["gap"] == 4 * 16
    for s in (spec, bn):
        assert dict(s.node_flops) == reference.node_flops(s)


def test_spec_resnet_hand_computed() -> None:
    spec = Spec.resnet((3, 16, 16), 10, stem_channels=8, stages=((8, 1), (16, 2)))
    shapes = spec.shapes
    assert shapes["s0b0_add"] == (8, 16, 16) and shapes["s1b0_add"] == (16, 8, 8)
    assert shapes["s1b1_add"] == (16, 8, 8) and shapes["gap"] == (16,)
    assert "s0b0_proj" not in shapes and "s1b1_proj" not in shapes
    assert spec.param_shapes["s1b0_proj.weight"] == (16, 8, 1, 1)
    bn = lambda c: 2 * c  # noqa: E731 - trainable γ and β
    expected = (
        (8 * 27 + bn(8))
        + 2 * (8 * 72 + bn(8))
        + (16 * 72 + bn(16)) + (16 * 144 + bn(16)) + (16 * 8 + bn(16))
        + 2 * (16 * 144 + bn(16))
        + (16 * 10 + 10)
    )  # fmt: skip
    assert spec.n_params == expected
    flops = spec.node_flops
    assert flops["s1b0_c1"] == 2 * 16 * 64 * 72
    assert flops["s1b0_add"] == 16 * 64 + 16 * 64  # one addition and a ReLU per element
    assert flops["gap"] == 16 * 64
    assert dict(flops) == reference.node_flops(spec)
    net = Network.init(spec, 0)
    X = np.random.default_rng(1).standard_normal((3, 3, 16, 16)).astype(np.float32)
    assert_close(net.forward(X), reference.forward(spec, net.params, X))


def test_save_load_preserves_running_stats(tmp_path: Path) -> None:
    spec = Spec.cnn((2, 6, 6), [4], 3, batch_norm=True)
    net = Network.init(spec, 0)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((16, 2, 6, 6)).astype(np.float32) * 2 + 1
    y = rng.integers(0, 3, 16)
    net.fit(X, y, epochs=2, batch_size=8, seed=0)
    assert not np.array_equal(net.params["conv_0_bn.running_mean"], np.zeros(4))
    path = tmp_path / "bn.npz"
    net.save(path)
    loaded = Network.load(path)
    assert loaded.spec == spec
    for name in spec.param_shapes:
        np.testing.assert_array_equal(loaded.params[name], net.params[name])
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))
