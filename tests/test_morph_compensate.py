"""Reported distortion equals measured distortion; least-squares refit of dense/conv consumers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neuroplast import Conv2d, Dense, Flatten, InvalidMorphismError, Network, Spec
from neuroplast.morph import EDITS, SELECT_RULES, EditLog, narrow
from neuroplast.morph.deps import coupled_group
from neuroplast.morph.select import node_activations
from neuroplast.testing import assert_bitwise_equal
from neuroplast.testing.morph import EditProblem, edit_problems, editable_layers, morph_specs
from neuroplast.testing.reference import forward as reference_forward
from neuroplast.testing.reference_spatial import conv2d_backward, conv2d_forward
from neuroplast.testing.strategies import inputs_for, params_for, seeds

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _labels(net: Network, n: int, seed: int) -> np.ndarray | None:
    if net.spec.loss != "cross_entropy":
        return None
    return np.random.default_rng(seed).integers(0, net.spec.n_outputs, n)


def _check_reported(before: Network, after: Network, rec, X, y) -> None:  # type: ignore[no-untyped-def]
    """The record's distortion is exactly what the engine measures, and close to float64."""
    d = rec.distortion
    assert d is not None
    a64 = before.forward(X).astype(np.float64)
    b64 = after.forward(X).astype(np.float64)
    assert d.max_abs_output == float(np.abs(a64 - b64).max(initial=0.0))
    ref = reference_forward(after.spec, after.params, X) - reference_forward(
        before.spec, before.params, X
    )
    scale = 1.0 + float(np.abs(a64).max(initial=0.0))
    assert abs(d.max_abs_output - float(np.abs(ref).max(initial=0.0))) <= 1e-4 * scale
    if y is None:
        assert d.accuracy_before is None and d.accuracy_after is None
    else:
        assert d.accuracy_before == float(np.mean(np.argmax(a64, axis=1) == y))
        assert d.accuracy_after == float(np.mean(np.argmax(b64, axis=1) == y))


@SETTINGS
@given(edit_problems())
def test_every_edit_reports_the_distortion_it_causes(p: EditProblem) -> None:
    y = _labels(p.network, p.X.shape[0], 7)
    after, rec = EDITS[p.edit.name](p.network, **p.edit.args, calibration=(p.X, y))
    _check_reported(p.network, after, rec, p.X, y)
    replayed = EditLog((rec,)).replay(p.network)
    assert_bitwise_equal(replayed.params, after.params)


@SETTINGS
@given(morph_specs(), seeds(), st.data())
def test_selection_and_compensation_report_what_they_cause(spec, seed, data) -> None:  # type: ignore[no-untyped-def]
    net = Network(spec, params_for(spec, seed))
    layers = [
        name
        for name in editable_layers(spec)
        if all(
            isinstance(spec.node(c), Dense | Conv2d)
            and c not in coupled_group(spec, name).producers
            for c in coupled_group(spec, name).consumers
        )
        and not any(
            isinstance(spec.node(c), Conv2d) and spec.node(c).groups != 1  # type: ignore[union-attr]
            for c in coupled_group(spec, name).consumers
        )
    ]
    assume(layers)
    layer = data.draw(st.sampled_from(layers))
    rule = data.draw(st.sampled_from(SELECT_RULES))
    X = inputs_for(spec, 12, seed + 1)
    y = _labels(net, 12, seed)
    k = data.draw(st.integers(1, spec.widths[layer]))
    after, rec = narrow(net, layer, keep=k, select=rule, compensate="lstsq", calibration=(X, y))
    assert after.spec.widths[layer] == k
    _check_reported(net, after, rec, X, y)
    # The recorded refit replays without the calibration data, bit for bit.
    replayed = EditLog((rec,)).replay(net)
    assert_bitwise_equal(replayed.params, after.params)


def _conv_chain(stride: int, padding: int, dilation: int, bias: bool) -> Spec:
    nodes = (
        Conv2d("c0", "input", 4, 3, padding=1),
        Conv2d(
            "c1",
            "c0",
            3,
            3,
            stride=stride,
            padding=padding,
            dilation=dilation,
            activation="identity",
            bias=bias,
        ),
        Flatten("f", "c1"),
        Dense("out", "f", 2, "identity"),
    )
    return Spec((2, 7, 7), nodes, "out")


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(1, 2),
    st.booleans(),
    st.integers(1, 3),
    seeds(),
)
def test_conv_refit_solves_the_least_squares_problem(
    stride, padding, dilation, bias, k, seed
) -> None:  # type: ignore[no-untyped-def]
    """At the refit, the gradient of ‖conv(x', W') − conv(x, W)‖² w.r.t. (W', b') vanishes."""
    spec = _conv_chain(stride, padding, dilation, bias)
    net = Network(spec, params_for(spec, seed))
    X = inputs_for(spec, 16, seed + 1)
    after, rec = narrow(
        net, "c0", keep=k, method="quasi_identity", compensate="lstsq", calibration=(X, None)
    )
    assert rec.args["compensate"] == "lstsq" and "c1" in rec.args["refit"]
    geometry = {"stride": (stride,) * 2, "padding": (padding,) * 2, "dilation": (dilation,) * 2}

    def conv(n: Network) -> tuple[np.ndarray, np.ndarray]:
        x = node_activations(n, "c0", X).reshape(16, -1, 7, 7)
        w = np.asarray(n.params["c1.weight"], np.float64)
        b = np.asarray(n.params["c1.bias"], np.float64) if bias else None
        return x, conv2d_forward(x, w, b, **geometry)

    _, target = conv(net)
    x_new, out = conv(after)
    w_new = np.asarray(after.params["c1.weight"], np.float64)
    residual = out - target
    _, dw, db = conv2d_backward(x_new, w_new, residual, **geometry)
    # Normal equations: Pᵀ·r = 0, relative to the size of Pᵀ·target (float32 parameters).
    _, gw, gb = conv2d_backward(x_new, w_new, target, **geometry)
    assert np.abs(dw).max() <= 1e-4 * (1.0 + np.abs(gw).max())
    if bias:
        assert np.abs(db).max() <= 1e-4 * (1.0 + np.abs(gb).max())
    # The refit cannot be worse than the uncompensated edit.
    plain, _ = narrow(net, "c0", keep=k, method="quasi_identity")
    _, out_plain = conv(plain)
    assert np.linalg.norm(residual) <= np.linalg.norm(out_plain - target) * (1 + 1e-5) + 1e-6


def test_conv_refit_keeping_every_channel_recovers_the_weights() -> None:
    spec = _conv_chain(1, 1, 1, True)
    net = Network(spec, params_for(spec, 3))
    X = inputs_for(spec, 32, 4)
    after, _ = narrow(
        net, "c0", keep=4, select="magnitude_std", compensate="lstsq", calibration=(X, None)
    )
    np.testing.assert_allclose(after.forward(X), net.forward(X), rtol=1e-4, atol=1e-4)
    # keep=4 keeps every channel in order, so the refit recovers the consumer.
    np.testing.assert_allclose(
        after.params["c1.weight"], net.params["c1.weight"], rtol=1e-3, atol=1e-3
    )


def test_grouped_conv_consumer_is_refused() -> None:
    nodes = (
        Conv2d("c0", "input", 4, 3, padding=1),
        Conv2d("c1", "c0", 4, 3, padding=1, groups=2),
        Flatten("f", "c1"),
        Dense("out", "f", 2, "identity"),
    )
    spec = Spec((1, 5, 5), nodes, "out")
    net = Network(spec, params_for(spec, 0))
    with pytest.raises(InvalidMorphismError, match="grouped convolution"):
        narrow(
            net, "c0", keep=[0, 1], compensate="lstsq", calibration=(inputs_for(spec, 4, 1), None)
        )
