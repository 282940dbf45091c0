"""Property tests: exact edits preserve the function; widen-then-narrow restores the network."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neuroplast import Conv2d, Dense, InvalidMorphismError, Network
from neuroplast.morph import narrow, widen
from neuroplast.testing import assert_bitwise_equal
from neuroplast.testing.morph import (
    EditProblem,
    assert_function_preserved,
    edit_problems,
    editable_layers,
    morph_specs,
    random_optimizer_state,
)
from neuroplast.testing.strategies import inputs_for, params_for, seeds

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(edit_problems(kinds=("widen",), widen_methods=("net2wider", "zero_fanout")))
def test_net2wider_and_zero_fanout_are_exact(p: EditProblem) -> None:
    after, rec = p.edit.apply(p.network)
    assert rec.contract == "exact", rec
    assert after.spec.widths[p.edit.args["layer"]] == (
        p.network.spec.widths[p.edit.args["layer"]] + p.edit.args["n_new"]
    )
    assert_function_preserved(p.network, after, p.X)


@SETTINGS
@given(edit_problems(kinds=("deepen",), deepen_kinds=("residual",)))
def test_residual_deepen_is_exact(p: EditProblem) -> None:
    after, rec = p.edit.apply(p.network)
    assert rec.contract == "exact"
    assert_function_preserved(p.network, after, p.X)


@SETTINGS
@given(edit_problems())
def test_every_edit_marked_exact_preserves_the_function(p: EditProblem) -> None:
    after, rec = p.edit.apply(p.network)
    if rec.contract == "exact":
        assert_function_preserved(p.network, after, p.X)


@SETTINGS
@given(morph_specs(), seeds(), st.data())
def test_orthogonal_widening_is_exact_and_orthogonal(spec, seed, data) -> None:  # type: ignore[no-untyped-def]
    layers = [n for n in editable_layers(spec) if isinstance(spec.node(n), (Dense, Conv2d))]
    assume(layers)
    layer = data.draw(st.sampled_from(layers))
    net = Network(spec, params_for(spec, seed))
    try:
        after, rec = widen(net, layer, 1, "orthogonal", seed=seed)
    except InvalidMorphismError as exc:
        assert "orthogonal" in str(exc)
        return
    assert rec.contract == "exact"
    w = after.params[f"{layer}.weight"].reshape(after.spec.widths[layer], -1).astype(np.float64)
    old, new = w[:-1], w[-1]
    assert (
        np.abs(old @ new).max(initial=0.0)
        <= 1e-4 * np.linalg.norm(new) * max(1.0, np.abs(old).max(initial=0.0)) * w.shape[1]
    )
    assert_function_preserved(net, after, inputs_for(spec, 4, seed + 1))


@SETTINGS
@given(morph_specs(), seeds(), st.data())
def test_widen_then_narrow_same_units_restores_the_network(spec, seed, data) -> None:  # type: ignore[no-untyped-def]
    layers = editable_layers(spec)
    assume(layers)
    layer = data.draw(st.sampled_from(layers))
    # Not net2wider: narrowing its copies leaves the originals' outgoing weights divided.
    method = data.draw(st.sampled_from(["zero_fanout", "zero_fanin", "random"]))
    n_new = data.draw(st.integers(1, 3))
    net0 = Network(spec, params_for(spec, seed))
    net = random_optimizer_state(net0, seed)
    wide, _ = widen(net, layer, n_new, method, seed=seed)
    back, rec = narrow(wide, layer, keep=list(range(spec.widths[layer])))
    assert back.spec == spec
    if method == "zero_fanout":  # the removed units had zero fan-out
        assert rec.contract == "exact"
    X = inputs_for(spec, 6, seed + 1)
    assert_bitwise_equal(back.params, net.params, "params")
    assert back.optimizer_state is not None and net.optimizer_state is not None
    for name, slots in net.optimizer_state.slots.items():
        assert_bitwise_equal(back.optimizer_state.slots[name], slots, name)
    assert_function_preserved(net, back, X, rtol=0.0, atol=0.0)


def test_narrow_of_units_without_fanout_is_exact() -> None:
    from neuroplast import Spec

    net = Network.init(Spec.mlp(5, [6], 3, activation="sigmoid"), seed=0)
    params = {k: np.array(v) for k, v in net.params.items()}
    params["output.weight"][:, [1, 4]] = 0.0
    net = Network(net.spec, params)
    small, rec = narrow(net, "dense_0", keep=[0, 2, 3, 5])
    assert rec.contract == "exact"
    assert_function_preserved(net, small, np.random.default_rng(0).normal(size=(9, 5)))


@pytest.mark.parametrize("method", ["zero_fanout", "net2wider"])
def test_widen_resnet_stage_is_exact(method: str) -> None:
    from neuroplast import Spec

    spec = Spec.resnet((1, 8, 8), 3, stages=[(4, 1), (6, 1)])
    net = Network.init(spec, seed=0)
    X = inputs_for(spec, 4, 0)
    for layer in editable_layers(spec):
        wide, rec = widen(net, layer, 2, method, seed=1)  # type: ignore[arg-type]
        assert rec.contract == "exact"
        assert_function_preserved(net, wide, X)
