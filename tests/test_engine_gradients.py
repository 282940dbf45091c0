"""Engine forward passes and gradients vs the float64 NumPy reference and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neuroplast import Add, Concat, Dense, Network, Spec
from neuroplast.layers import ACTIVATIONS
from neuroplast.testing import assert_all_close, assert_close, reference
from neuroplast.testing.strategies import (
    SMOOTH_ACTIVATIONS,
    Problem,
    inputs_for,
    masks_for,
    params_for,
    problems,
    seeds,
    specs,
    targets_for,
)

# Kinked activations must stay this far from 0 so float32 rounding or a finite-difference step
# cannot flip a derivative.
MARGIN = 1e-4
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _check_gradients(p: Problem) -> None:
    loss, grads = p.network().gradients(p.X, p.y, masks=p.masks)
    ref_loss, ref_grads = reference.loss_and_gradients(p.spec, p.params, p.X, p.y, p.masks)
    assert isinstance(loss, float)
    assert_close(loss, ref_loss, what="loss")
    assert list(grads) == list(p.spec.param_shapes)
    for name, g in grads.items():
        assert g.dtype == np.float32
        assert g.shape == p.spec.param_shapes[name]
    assert_all_close(grads, ref_grads, what="gradients")


# ------------------------------------------------------------------------------ forward
@SETTINGS
@given(problems())
def test_forward_matches_reference(p: Problem) -> None:
    out = p.network().forward(p.X, masks=p.masks)
    assert out.dtype == np.float32
    assert out.shape == (p.X.shape[0], p.spec.n_outputs)
    assert_close(out, reference.forward(p.spec, p.params, p.X, p.masks), what="forward")


@SETTINGS
@given(problems())
def test_flat_and_shaped_inputs_agree(p: Problem) -> None:
    net = p.network()
    flat = p.X.reshape(p.X.shape[0], -1)
    np.testing.assert_array_equal(net.forward(flat, masks=p.masks), net.forward(p.X, masks=p.masks))


def test_forward_in_blocks_of_rows_matches_reference() -> None:
    # Inference runs in blocks of 1024 rows; 2500 rows cover full and partial blocks.
    spec = Spec.mlp(5, [7, 6], 3, activation="tanh")
    params = params_for(spec, 0)
    X = inputs_for(spec, 2500, 1)
    out = Network(spec, params).forward(X)
    assert_close(out, reference.forward(spec, params, X))
    assert_close(Network(spec, params).forward(X[1500:1501]), out[1500:1501])


# ------------------------------------------------------------------------------ gradients
@SETTINGS
@given(problems())
def test_gradients_match_reference(p: Problem) -> None:
    assume(reference.kink_margin(p.spec, p.params, p.X, p.masks) > MARGIN)
    _check_gradients(p)


@settings(
    max_examples=60, deadline=None, suppress_health_check=list(SETTINGS.suppress_health_check)
)
@given(problems(specs(max_width=6, max_nodes=4), max_batch=6))
def test_gradients_match_finite_differences(p: Problem) -> None:
    assume(reference.kink_margin(p.spec, p.params, p.X, p.masks) > MARGIN)
    numeric = reference.numerical_gradients(p.spec, p.params, p.X, p.y, p.masks, eps=1e-6)
    _, analytic = reference.loss_and_gradients(p.spec, p.params, p.X, p.y, p.masks)
    # The reference backward itself is exact up to finite-difference error ...
    assert_all_close(analytic, numeric, rtol=1e-6, atol=1e-7, what="reference vs FD")
    # ... and the engine's float32 gradients match the float64 finite differences.
    _, grads = p.network().gradients(p.X, p.y, masks=p.masks)
    assert_all_close(grads, numeric, what="engine vs FD")


@settings(max_examples=40, deadline=None)
@given(
    problems(
        specs(max_width=8, hidden_activations=SMOOTH_ACTIVATIONS, output_activations=ACTIVATIONS),
        max_batch=8,
    ),
    seeds(),
)
def test_engine_loss_directional_derivative(p: Problem, seed: int) -> None:
    # Central differences of the engine's own float32 loss along a random unit direction.
    # Output activations may be kinked, so keep the step away from output kinks.
    assume(reference.kink_margin(p.spec, p.params, p.X, p.masks) > 1e-1)
    rng = np.random.default_rng(seed)
    direction = {k: rng.standard_normal(v.shape) for k, v in p.params.items()}
    norm = np.sqrt(sum(float((d * d).sum()) for d in direction.values()))
    direction = {k: d / norm for k, d in direction.items()}
    h = 1e-2
    net = p.network()
    _, grads = net.gradients(p.X, p.y, masks=p.masks)
    slope = sum(float((grads[k].astype(np.float64) * direction[k]).sum()) for k in grads)

    def loss_at(t: float) -> float:
        shifted = {k: (p.params[k] + t * direction[k]).astype(np.float32) for k in p.params}
        return Network(p.spec, shifted).evaluate(p.X, p.y, masks=p.masks)["loss"]

    fd = (loss_at(h) - loss_at(-h)) / (2 * h)
    # Truncation error O(h^2) plus float32 rounding of the loss amplified by 1/(2h).
    curvature = abs(loss_at(h) - 2 * loss_at(0.0) + loss_at(-h)) / h**2
    assert abs(fd - slope) <= 1e-3 * max(1.0, abs(slope)) + 0.1 * curvature * h


# ------------------------------------------------------------------------------ each op
def _single_op_specs() -> list[tuple[str, Spec]]:
    out: list[tuple[str, Spec]] = []
    for act in ACTIVATIONS:
        slope = 0.2
        out.append(
            (
                f"dense-{act}",
                Spec(
                    (4,),
                    (Dense("a", "input", 5, act, slope), Dense("out", "a", 3, "identity")),
                    "out",
                ),
            )
        )
        out.append(
            (
                f"add-{act}",
                Spec(
                    (4,),
                    (
                        Dense("a", "input", 5, "tanh"),
                        Dense("b", "a", 5, "identity", bias=False),
                        Add("s", ("a", "b", "a"), act, slope),
                        Dense("out", "s", 3, "identity"),
                    ),
                    "out",
                    "mse",
                ),
            )
        )
        out.append(
            (
                f"concat-{act}",
                Spec(
                    (2, 2),
                    (
                        Dense("a", "input", 3, "sigmoid"),
                        Concat("c", ("a", "input", "a"), act, slope),
                        Dense("out", "c", 2, act, slope),
                    ),
                    "out",
                ),
            )
        )
    return out


@pytest.mark.parametrize(
    ("label", "spec"), _single_op_specs(), ids=[s[0] for s in _single_op_specs()]
)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(seed=seeds(), n=st.integers(1, 9), masked=st.booleans())
def test_every_op_and_activation(label: str, spec: Spec, seed: int, n: int, masked: bool) -> None:
    p = Problem(
        spec,
        params_for(spec, seed),
        inputs_for(spec, n, seed + 1),
        targets_for(spec, n, seed + 2),
        masks_for(spec, seed + 3, p_mask=1.0) if masked else {},
    )
    assume(reference.kink_margin(p.spec, p.params, p.X, p.masks) > MARGIN)
    assert_close(
        p.network().forward(p.X, masks=p.masks), reference.forward(spec, p.params, p.X, p.masks)
    )
    _check_gradients(p)
    numeric = reference.numerical_gradients(spec, p.params, p.X, p.y, p.masks)
    _, grads = p.network().gradients(p.X, p.y, masks=p.masks)
    assert_all_close(grads, numeric, what=label)


@pytest.mark.parametrize(
    ("activation", "slope", "expected_derivative"),
    [("relu", 0.01, 0.0), ("modified_relu", 0.01, 1.0), ("leaky_relu", 0.3, 0.3)],
)
def test_derivative_at_exact_kink(
    activation: str, slope: float, expected_derivative: float
) -> None:
    # Unit 0 of "a" has all-zero weights and no bias, so its pre-activation is exactly 0.
    spec = Spec(
        (3,),
        (Dense("a", "input", 2, activation, slope, bias=False), Dense("out", "a", 2, "identity")),
        "out",
    )
    params = {
        "a.weight": np.array([[0, 0, 0], [0.5, -0.3, 0.1]], np.float32),
        "out.weight": np.array([[1.0, 0.5], [-2.0, 0.25]], np.float32),
        "out.bias": np.zeros(2, np.float32),
    }
    X = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 3.0]], np.float32)
    y = np.array([0, 1])
    _, grads = Network(spec, params).gradients(X, y)
    _, ref_grads = reference.loss_and_gradients(spec, params, X, y)
    assert_all_close(grads, ref_grads)
    # dL/dW_a[0] = Σ_rows (dL/da_0)·f'(0)·x.
    _, g_out = reference.loss_and_output_gradient(spec, reference.forward(spec, params, X), y)
    upstream = g_out @ params["out.weight"][:, 0]
    assert_close(grads["a.weight"][0], expected_derivative * upstream @ X)
    if expected_derivative == 0.0:
        assert not grads["a.weight"][0].any()


# ------------------------------------------------------------------------------ losses
def test_loss_values_by_hand() -> None:
    spec = Spec((2,), (Dense("out", "input", 3, "identity", bias=False),), "out")
    eye = {"out.weight": np.array([[1, 0], [0, 1], [0, 0]], np.float32)}
    X = np.array([[1.0, 2.0], [0.0, 0.0]], np.float32)
    y = np.array([1, 2])
    logits = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    expected = np.mean(np.log(np.exp(logits).sum(1)) - logits[[0, 1], [1, 2]])
    net = Network(spec, eye)
    result = net.evaluate(X, y)
    assert result["loss"] == pytest.approx(expected, rel=1e-6)
    assert result["accuracy"] == 0.5  # row 2 ties: argmax takes the first maximum (class 0)
    mse = Spec((2,), (Dense("out", "input", 3, "identity", bias=False),), "out", "mse")
    t = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 2.0]], np.float32)
    got = Network(mse, eye).evaluate(X, t)
    assert set(got) == {"loss"}
    assert got["loss"] == pytest.approx((0 + 4 + 1 + 0 + 0 + 4) / 6, rel=1e-6)


@SETTINGS
@given(problems(max_batch=40))
def test_evaluate_matches_reference(p: Problem) -> None:
    res = p.network().evaluate(p.X, p.y, masks=p.masks)
    out = reference.forward(p.spec, p.params, p.X, p.masks)
    assert_close(res["loss"], reference.loss_value(p.spec, out, p.y))
    if p.spec.loss == "cross_entropy":
        engine_out = p.network().forward(p.X, masks=p.masks)
        assert res["accuracy"] == pytest.approx(reference.accuracy(engine_out, p.y))
    else:
        assert "accuracy" not in res


@SETTINGS
@given(problems(min_batch=2))
def test_gradient_is_the_batch_mean(p: Problem) -> None:
    assume(reference.kink_margin(p.spec, p.params, p.X, p.masks) > MARGIN)
    net = p.network()
    n = p.X.shape[0]
    k = n // 2
    loss, full = net.gradients(p.X, p.y, masks=p.masks)
    l1, g1 = net.gradients(p.X[:k], p.y[:k], masks=p.masks)
    l2, g2 = net.gradients(p.X[k:], p.y[k:], masks=p.masks)
    assert_close(loss, (k * l1 + (n - k) * l2) / n)
    assert_all_close(full, {name: (k * g1[name] + (n - k) * g2[name]) / n for name in full})


# ------------------------------------------------------------------------------ masks
@SETTINGS
@given(problems(with_masks=False), seeds())
def test_mask_of_ones_is_a_no_op(p: Problem, seed: int) -> None:
    net = p.network()
    ones = {name: np.ones(p.spec.widths[name], np.float32) for name in masks_for(p.spec, seed, 1.0)}
    np.testing.assert_array_equal(net.forward(p.X, masks=ones), net.forward(p.X))
    l0, g0 = net.gradients(p.X, p.y)
    l1, g1 = net.gradients(p.X, p.y, masks=ones)
    assert l0 == l1
    for k in g0:
        np.testing.assert_array_equal(g0[k], g1[k])


def test_zero_mask_removes_a_units_outgoing_effect() -> None:
    spec = Spec(
        (4,),
        (
            Dense("h", "input", 6, "tanh"),
            Dense("r", "h", 6, "sigmoid"),
            Add("s", ("h", "r")),
            Dense("out", "s", 3, "identity"),
        ),
        "out",
    )
    params = params_for(spec, 7)
    X, y = inputs_for(spec, 10, 8), targets_for(spec, 10, 9)
    mask = np.ones(6, np.float32)
    mask[[1, 4]] = 0.0
    masks = {"h": mask}
    base = Network(spec, params).forward(X, masks=masks)
    # Perturbing what unit 1 and 4 of "h" feed into, or what feeds them, changes nothing.
    changed = dict(params)
    w = params["r.weight"].copy()
    w[:, [1, 4]] += 3.0
    changed["r.weight"] = w
    hw = params["h.weight"].copy()
    hw[[1, 4]] -= 2.0
    changed["h.weight"] = hw
    np.testing.assert_array_equal(Network(spec, changed).forward(X, masks=masks), base)
    assert not np.array_equal(Network(spec, changed).forward(X), Network(spec, params).forward(X))
    _, grads = Network(spec, params).gradients(X, y, masks=masks)
    assert not grads["h.weight"][[1, 4]].any()
    assert not grads["h.bias"][[1, 4]].any()
    assert not grads["r.weight"][:, [1, 4]].any()
    assert grads["h.weight"][[0, 2, 3, 5]].all()


def test_dead_branch_gets_exact_zero_gradients() -> None:
    spec = Spec(
        (3,),
        (
            Dense("dead", "input", 4),
            Dense("h", "input", 5, "tanh"),
            Dense("out", "h", 2, "identity"),
        ),
        "out",
    )
    params = params_for(spec, 1)
    X, y = inputs_for(spec, 6, 2), targets_for(spec, 6, 3)
    _, grads = Network(spec, params).gradients(X, y)
    assert not grads["dead.weight"].any() and not grads["dead.bias"].any()
    assert grads["h.weight"].any()


def test_one_input_merges_pass_their_gradient_once() -> None:
    # A concat of one input is the identity; its gradient must not pile up across steps.
    plain = Spec((3,), (Dense("a", "input", 4), Dense("out", "a", 2, "identity")), "out")
    merged = Spec(
        (3,),
        (Dense("a", "input", 4), Concat("c", ("a",)), Dense("out", "c", 2, "identity")),
        "out",
    )
    params = Network.init(plain, seed=0).params
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3)).astype(np.float32)
    y = rng.integers(0, 2, 12)
    a, b = Network(plain, params), Network(merged, params)
    for _ in range(2):
        ga, gb = a.gradients(X, y)[1], b.gradients(X, y)[1]
        assert all(np.array_equal(ga[k], gb[k]) for k in ga)
    a.fit(X, y, epochs=3, batch_size=4, seed=0)
    b.fit(X, y, epochs=3, batch_size=4, seed=0)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in params)
