"""Mixed operations in the engine: the weighted sum, α gradients, pruning and liveness."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import Add, BatchNorm, Conv2d, Dense, GlobalAvgPool, MixedOp, Network, Spec
from neuroplast.errors import SpecError
from neuroplast.layers import Identity, node_from_dict
from neuroplast.nas import OPS, op_nodes
from neuroplast.testing import assert_close, reference

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _cell(ops: tuple[str, ...], states: int, weighting: str, c: int = 2) -> Spec:
    """One DARTS cell on a 1×5×5 input: two convolution sources, ``states`` states of mixed
    edges over ``ops`` sharing ``alpha``, global pooling and a dense output."""
    nodes: list = [
        Conv2d("x0", "input", c, 3, padding=1, activation="identity"),
        Conv2d("x1", "input", c, 1, activation="tanh"),
    ]
    src = ["x0", "x1"]
    rows, row = states * (states + 3) // 2, 0
    for i in range(states):
        edges = []
        for j in range(i + 2):
            relu = f"r{i}_{j}"
            nodes.append(Identity(relu, src[j], "relu"))
            outs = []
            for op in ops:
                more, out = op_nodes(op, f"e{i}_{j}_{op}", src[j], relu, c, 1, pool_bn=True)
                nodes += more
                outs.append(out)
            none = weighting == "softmax"
            nodes.append(MixedOp(f"e{i}_{j}", tuple(outs), "alpha", row, rows, none, weighting))
            edges.append(f"e{i}_{j}")
            row += 1
        nodes.append(Add(f"s{i}", tuple(edges)))
        src.append(f"s{i}")
        if weighting == "crb":
            nodes.append(BatchNorm(f"s{i}_bn", f"s{i}", affine=False))
            src[-1] = f"s{i}_bn"
    nodes += [GlobalAvgPool("gap", src[-1]), Dense("out", "gap", 3, "identity")]
    return Spec((1, 5, 5), tuple(nodes), "out")


@st.composite
def cells(draw: st.DrawFn) -> tuple[Spec, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    ops = tuple(draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=3, unique=True)))
    weighting = draw(st.sampled_from(("softmax", "crb")))
    spec = _cell(ops, draw(st.integers(1, 2)), weighting)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    params = {k: np.asarray(v) for k, v in Network.init(spec, seed=1).params.items()}
    alpha = rng.normal(size=spec.param_shapes["alpha"])
    if weighting == "crb":  # inside the active range, away from the clip points
        alpha = rng.uniform(0.1, 0.9, size=alpha.shape) * rng.choice(
            [1, -1], size=alpha.shape, p=[0.8, 0.2]
        )
    params["alpha"] = alpha.astype(np.float32)
    X = rng.normal(size=(6, 25)).astype(np.float32)
    return spec, params, X, np.arange(6) % 3


@SETTINGS
@given(cells())
def test_alpha_gradients_match_finite_differences(case: tuple) -> None:
    spec, params, X, y = case
    _, grads = Network(spec, params).gradients(X, y)
    p64 = {k: v.astype(np.float64) for k, v in params.items()}

    def loss(alpha: np.ndarray) -> float:
        out = reference.forward(spec, {**p64, "alpha": alpha}, X, training=True)
        return reference.loss_value(spec, out, y)

    fd = np.zeros_like(p64["alpha"])
    for idx in np.ndindex(*fd.shape):
        hi, lo = p64["alpha"].copy(), p64["alpha"].copy()
        hi[idx] += 1e-6
        lo[idx] -= 1e-6
        fd[idx] = (loss(hi) - loss(lo)) / 2e-6
    assert_close(grads["alpha"], fd, rtol=2e-3, atol=2e-5, what="dL/dα")


@SETTINGS
@given(cells())
def test_forward_and_all_gradients_match_the_reference(case: tuple) -> None:
    spec, params, X, y = case
    net = Network(spec, params)
    assert_close(net.forward(X), reference.forward(spec, params, X), what="forward")
    loss, grads = net.gradients(X, y)
    ref_loss, ref = reference.loss_and_gradients(spec, params, X, y)
    assert_close(loss, ref_loss, what="loss")
    for name, g in grads.items():
        assert_close(g, ref[name], rtol=1e-3, atol=1e-5, what=name)


@pytest.mark.parametrize("weighting", ["softmax", "crb"])
def test_mixed_op_is_the_explicit_weighted_sum(weighting: str) -> None:
    rng = np.random.default_rng(0)
    nodes = (
        Conv2d("a", "input", 3, 3, padding=1),
        Conv2d("b", "input", 3, 1, activation="tanh"),
        MixedOp("m", ("a", "b", "input"), "alpha", 0, 2, weighting == "softmax", weighting),
        MixedOp("m2", ("b", "a", "m"), "alpha", 1, 2, weighting == "softmax", weighting),
        GlobalAvgPool("g", "m2"),
    )
    spec = Spec((3, 4, 4), nodes, "g")
    net = Network.init(spec, seed=0)
    alpha = rng.normal(size=spec.param_shapes["alpha"]).astype(np.float32)
    net = Network(spec, {**net.params, "alpha": alpha})
    X = rng.normal(size=(5, 3, 4, 4)).astype(np.float32)
    a, b = (net.activations(X, ["a", "b"])[k] for k in ("a", "b"))
    w = np.exp(alpha - alpha.max(1, keepdims=True))
    w = w / w.sum(1, keepdims=True) if weighting == "softmax" else np.clip(alpha, 0, 1)
    off = int(weighting == "softmax")
    m = w[0, off] * a + w[0, off + 1] * b + w[0, off + 2] * X
    m2 = w[1, off] * b + w[1, off + 1] * a + w[1, off + 2] * m
    assert_close(net.activations(X, ["m"])["m"], m, what="m")
    assert_close(net.forward(X), m2.mean(axis=(2, 3)), what="output")


def test_a_pruned_operation_is_not_computed_and_gets_no_gradient() -> None:
    spec = _cell(("sep_conv_3x3", "skip_connect"), 1, "crb")
    net = Network.init(spec, seed=0)
    alpha = np.full(spec.param_shapes["alpha"], 0.5, np.float32)
    alpha[:, 0] = -0.1  # the separable convolutions of both edges are pruned
    X = np.random.default_rng(0).normal(size=(4, 25)).astype(np.float32)
    y = np.arange(4) % 3
    base = Network(spec, {**net.params, "alpha": alpha})
    # Garbage (even NaN-free huge values) in a pruned operation changes nothing.
    wrecked = dict(base.params)
    wrecked["e0_0_sep_conv_3x3_dw1.weight"] = np.full_like(
        wrecked["e0_0_sep_conv_3x3_dw1.weight"], 1e6
    )
    other = Network(spec, wrecked)
    assert np.array_equal(base.forward(X), other.forward(X))
    _, grads = base.gradients(X, y)
    assert not np.any(grads["e0_0_sep_conv_3x3_pw2.weight"])
    assert not np.any(grads["alpha"][:, 0])
    assert np.any(grads["alpha"][:, 1])


def test_non_affine_batch_norm_keeps_gamma_and_beta() -> None:
    spec = Spec.cnn((1, 6, 6), [4], 3, batch_norm=True)
    nodes = tuple(
        BatchNorm(n.name, n.input, activation=n.activation, affine=False)
        if isinstance(n, BatchNorm)
        else n
        for n in spec.nodes
    )
    plain = Spec(spec.input_shape, nodes, spec.output)
    assert plain.n_params == spec.n_params - 8
    assert "conv_0_bn.weight" in plain.buffers
    net = Network.init(plain, seed=0)
    X = np.random.default_rng(0).normal(size=(16, 36)).astype(np.float32)
    y = np.arange(16) % 3
    _, grads = net.gradients(X, y)
    assert not np.any(grads["conv_0_bn.weight"]) and not np.any(grads["conv_0_bn.bias"])
    net.fit(X, y, epochs=2, batch_size=8, seed=0)
    assert np.array_equal(net.params["conv_0_bn.weight"], np.ones(4, np.float32))
    assert Spec.from_json(plain.to_json()) == plain


def test_mixed_nodes_round_trip_and_validate() -> None:
    m = MixedOp("m", ("a", "b"), "alpha_x", 2, 5, False, "crb")
    assert node_from_dict(m.to_dict()) == m
    assert node_from_dict(Identity("r", "a").to_dict()) == Identity("r", "a")
    for bad in (
        dict(alpha="has.dot"),
        dict(row=5),
        dict(weighting="tanh"),
        dict(inputs=()),
    ):
        kw = dict(name="m", inputs=("a",), alpha="alpha", row=0, rows=5) | bad
        with pytest.raises(SpecError):
            MixedOp(**kw)  # type: ignore[arg-type]
    conv = Conv2d("a", "input", 1, 1)
    with pytest.raises(SpecError, match="alpha"):  # one tensor, two shapes
        Spec(
            (1, 3, 3),
            (
                conv,
                MixedOp("m1", ("a",), "alpha", 0, 2),
                MixedOp("m2", ("a", "input"), "alpha", 1, 2),
                GlobalAvgPool("g", "m2"),
            ),
            "g",
        )
