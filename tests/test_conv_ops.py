"""Each spatial op in the engine vs the float64 NumPy reference and finite differences.

Every op is checked inside the smallest graph that isolates it: ``input → op → flatten →
dense "out"`` (MSE, identity activations), so the engine's gradients of the op's parameters
(and of the dense head, which sees the op's output) must match the reference.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec
from neuroplast.layers import (
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool2d,
    Node,
)
from neuroplast.testing import (
    assert_all_close,
    assert_close,
    reference,
    reference_nodes,
    reference_spatial,
    strategies_conv,
)
from neuroplast.testing.strategies import (
    Problem,
    inputs_for,
    params_for,
    seeds,
    targets_for,
)

OPS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Max-pool windows must have their two largest values this far apart, so float32 rounding or
# a finite-difference step cannot change the winner.
TIE_GAP = 1e-3


def _problem(input_shape: tuple[int, int, int], op: Node, n: int, seed: int) -> Problem:
    spec = Spec(
        input_shape,
        (op, Flatten("flat", op.name), Dense("out", "flat", 2, "identity")),
        "out",
        "mse",
    )
    return Problem(
        spec,
        params_for(spec, seed),
        inputs_for(spec, n, seed + 1),
        targets_for(spec, n, seed + 2),
    )


def _check(p: Problem, *, fd: bool) -> None:
    """Engine forward and gradients vs the reference; the reference vs finite differences."""
    net = p.network()
    assert_close(net.forward(p.X), reference.forward(p.spec, p.params, p.X), what="forward")
    loss, grads = net.gradients(p.X, p.y)
    ref_loss, ref_grads = reference.loss_and_gradients(p.spec, p.params, p.X, p.y)
    assert_close(loss, ref_loss, what="loss")
    assert_all_close(grads, ref_grads, rtol=2e-4, atol=2e-5, what="engine vs reference")
    if fd:
        numeric = reference.numerical_gradients(p.spec, p.params, p.X, p.y)
        assert_all_close(ref_grads, numeric, rtol=1e-6, atol=1e-7, what="reference vs FD")


# ------------------------------------------------------------------------------ strategies
@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[tuple[int, int, int], Conv2d]:
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    depthwise = draw(st.booleans())
    if depthwise:  # one group per input channel, a channel multiplier of 1 or 2
        groups = c_in
    c_out = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    span = [d * (k - 1) + 1 - 2 * p for k, d, p in zip(kernel, dilation, padding, strict=True)]
    h = draw(st.integers(max(1, span[0]), max(1, span[0]) + 4))
    w = draw(st.integers(max(1, span[1]), max(1, span[1]) + 4))
    act = draw(st.sampled_from(("identity", "tanh", "sigmoid")))
    conv = Conv2d("op", "input", c_out, kernel, stride, padding, dilation, groups, act)
    return (c_in, h, w), conv


@st.composite
def pool_cases(draw: st.DrawFn, kind: type[MaxPool2d | AvgPool2d]) -> tuple[tuple[int, ...], Node]:
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    h = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 7))
    w = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 7))
    op: Node = kind("op", "input", kernel, stride, padding)
    return (draw(st.integers(1, 3)), h, w), op


# ------------------------------------------------------------------------------ tests
def test_reference_doctests() -> None:
    for module in (reference_spatial, reference_nodes, strategies_conv):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0


@OPS
@given(conv_cases(), seeds(), st.integers(1, 4))
def test_conv2d(case: tuple[tuple[int, int, int], Conv2d], seed: int, n: int) -> None:
    shape, conv = case
    _check(_problem(shape, conv, n, seed), fd=True)


@OPS
@given(pool_cases(MaxPool2d), seeds(), st.integers(1, 4))
def test_max_pool2d(case: tuple[tuple[int, int, int], Node], seed: int, n: int) -> None:
    p = _problem(*case, n, seed)
    op = p.spec.node("op")
    assert isinstance(op, MaxPool2d)
    gap = reference_spatial.max_pool_tie_gap(
        p.X.astype(np.float64),
        op.kernel_size,
        op.stride,
        op.padding,  # type: ignore[arg-type]
    )
    assume(gap > TIE_GAP)
    _check(p, fd=True)


@OPS
@given(pool_cases(AvgPool2d), seeds(), st.integers(1, 4))
def test_avg_pool2d(case: tuple[tuple[int, int, int], Node], seed: int, n: int) -> None:
    _check(_problem(*case, n, seed), fd=True)


@OPS
@given(
    st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5)), seeds(), st.integers(1, 4)
)
def test_global_avg_pool(shape: tuple[int, int, int], seed: int, n: int) -> None:
    spec = Spec(shape, (GlobalAvgPool("gap", "input"), Dense("out", "gap", 2, "identity")), "out")
    p = Problem(
        spec, params_for(spec, seed), inputs_for(spec, n, seed + 1), targets_for(spec, n, 0)
    )
    _check(p, fd=True)
    assert_close(
        p.network().forward(p.X),
        p.X.astype(np.float64).mean(axis=(2, 3)) @ p.params["out.weight"].T + p.params["out.bias"],
    )


@OPS
@given(
    st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
    seeds(),
    st.integers(2, 5),
    st.sampled_from(("identity", "tanh")),
)
def test_batch_norm_spatial(shape: tuple[int, int, int], seed: int, n: int, act: str) -> None:
    p = _problem(shape, BatchNorm("op", "input", activation=act), n, seed)
    # Eval-mode forward uses the running statistics; gradients use the batch's statistics.
    _check(p, fd=True)


def test_flatten_is_row_major() -> None:
    spec = Spec((2, 2, 3), (Flatten("f", "input"), Dense("out", "f", 12, "identity")), "out")
    params = {"out.weight": np.eye(12, dtype=np.float32), "out.bias": np.zeros(12, np.float32)}
    X = np.arange(24, dtype=np.float32).reshape(2, 2, 2, 3)
    np.testing.assert_array_equal(Network(spec, params).forward(X), X.reshape(2, 12))


def test_max_pool_gradient_goes_to_first_maximum() -> None:
    # Exact ties: the engine and the reference both route the gradient to the first maximum.
    spec = Spec(
        (1, 2, 2),
        (MaxPool2d("p", "input", 2), Flatten("f", "p"), Dense("out", "f", 1, "identity")),
        "out",
        "mse",
    )
    params = {"out.weight": np.ones((1, 1), np.float32), "out.bias": np.zeros(1, np.float32)}
    X = np.array([[[[1.0, 3.0], [3.0, 3.0]]]], np.float32)
    x64 = X.astype(np.float64)
    dx = reference_spatial.max_pool2d_backward(x64, np.ones((1, 1, 1, 1)), (2, 2), (2, 2), (0, 0))
    assert dx.reshape(-1).tolist() == [0.0, 1.0, 0.0, 0.0]
    assert_close(Network(spec, params).forward(X), [[3.0]])


def test_avg_pool_counts_padding() -> None:
    # 2x2 window, padding 1: the corner window holds one real value and three zeros.
    x = np.ones((1, 1, 2, 2))
    out = reference_spatial.avg_pool2d_forward(x, (2, 2), (2, 2), (1, 1))
    assert out[0, 0].tolist() == [[0.25, 0.25], [0.25, 0.25]]
    spec = Spec(
        (1, 2, 2),
        (AvgPool2d("p", "input", 2, 2, 1), Flatten("f", "p"), Dense("out", "f", 4, "identity")),
        "out",
    )
    params = {"out.weight": np.eye(4, dtype=np.float32), "out.bias": np.zeros(4, np.float32)}
    assert_close(Network(spec, params).forward(x), out.reshape(1, 4))


@OPS
@given(conv_cases(), seeds())
def test_reference_conv_matches_torch(case: tuple[tuple[int, int, int], Conv2d], seed: int) -> None:
    torch = pytest.importorskip("torch")
    shape, conv = case
    rng = np.random.default_rng(seed)
    c_in = shape[0]
    x = rng.standard_normal((2, *shape))
    w = rng.standard_normal((conv.channels, c_in // conv.groups, *conv.kernel_size))  # type: ignore[misc]
    b = rng.standard_normal(conv.channels)
    args = (conv.stride, conv.padding, conv.dilation, conv.groups)
    out = reference_spatial.conv2d_forward(x, w, b, *args)  # type: ignore[arg-type]
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ot = torch.nn.functional.conv2d(xt, wt, bt, *args)
    np.testing.assert_allclose(out, ot.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(out.shape)
    ot.backward(torch.tensor(g))
    dx, dw, db = reference_spatial.conv2d_backward(x, w, g, *args)  # type: ignore[arg-type]
    for ours, theirs in ((dx, xt), (dw, wt), (db, bt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), atol=1e-10)
