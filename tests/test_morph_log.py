"""Edit records, replay bit-for-bit, optimizer-state surgery, distortion and invalid edits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import (
    Add,
    Concat,
    Dense,
    InvalidMorphismError,
    Network,
    OptimizerState,
    Spec,
)
from neuroplast.morph import EditLog, EditRecord, coupled_group, deepen, narrow, widen
from neuroplast.testing import assert_bitwise_equal
from neuroplast.testing.morph import edits, morph_specs
from neuroplast.testing.strategies import inputs_for, params_for, seeds


def _state(net: Network, seed: int, kind: str = "adam") -> OptimizerState:
    rng = np.random.default_rng(seed)
    names = ("exp_avg", "exp_avg_sq") if kind == "adam" else ("momentum_buffer",)
    slots = {
        p: {s: rng.random(shape).astype(np.float32) + 0.5 for s in names}
        for p, shape in net.spec.param_shapes.items()
    }
    return OptimizerState(kind, 5, slots)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(morph_specs(), seeds(), st.data())
def test_replay_reproduces_bit_for_bit(spec, seed, data) -> None:  # type: ignore[no-untyped-def]
    net0 = Network(spec, params_for(spec, seed))
    net0 = Network(spec, net0.params, _state(net0, seed))
    net, log = net0, EditLog()
    for _ in range(data.draw(st.integers(1, 3))):
        edit = data.draw(edits(net.spec))
        net, rec = edit.apply(net)
        log = log.append(rec)
    again = EditLog.from_json(log.to_json()).replay(net0)
    assert again.spec == net.spec
    assert_bitwise_equal(again.params, net.params, "params")
    assert again.optimizer_state is not None and net.optimizer_state is not None
    for name, slots in net.optimizer_state.slots.items():
        assert_bitwise_equal(again.optimizer_state.slots[name], slots, name)


def test_net2wider_weights_and_moments() -> None:
    net = Network.init(Spec.mlp(3, [4], 2, activation="tanh"), seed=0)
    net = Network(net.spec, net.params, _state(net, 1))
    wide, rec = widen(net, "dense_0", 3, "net2wider", seed=5)
    assert rec.args == {"layer": "dense_0", "n_new": 3, "method": "net2wider", "seed": 5}
    w_in, w_out = net.params["dense_0.weight"], net.params["output.weight"]
    new_in, new_out = wide.params["dense_0.weight"], wide.params["output.weight"]
    assert np.array_equal(new_in[:4], w_in)
    sources = [int(np.flatnonzero((w_in == row).all(axis=1))[0]) for row in new_in[4:]]
    counts = np.bincount(sources, minlength=4) + 1
    for u in range(7):
        src = u if u < 4 else sources[u - 4]
        assert np.allclose(new_out[:, u], w_out[:, src] / counts[src], rtol=1e-6)
    old, new = net.optimizer_state.slots, wide.optimizer_state.slots  # type: ignore[union-attr]
    for u in range(7):
        src = u if u < 4 else sources[u - 4]
        r = float(counts[src])
        m, v = old["dense_0.weight"]["exp_avg"][src], old["dense_0.weight"]["exp_avg_sq"][src]
        assert np.allclose(new["dense_0.weight"]["exp_avg"][u], m / r, rtol=1e-6)
        assert np.allclose(new["dense_0.weight"]["exp_avg_sq"][u], v / r**2, rtol=1e-6)
        col = old["output.weight"]["exp_avg"][:, src]
        assert np.array_equal(new["output.weight"]["exp_avg"][:, u], col)
    assert wide.optimizer_state.step == 5  # type: ignore[union-attr]


@pytest.mark.parametrize("method", ["zero_fanout", "zero_fanin", "random", "orthogonal"])
def test_fresh_units_have_zero_moments(method: str) -> None:
    spec = Spec.cnn((2, 12, 12), [4, 5], 3, batch_norm=True, hidden=[7])
    net = Network.init(spec, seed=0)
    net = Network(spec, net.params, _state(net, 2, "sgd"))
    wide, rec = widen(net, "conv_1", 2, method, seed=3)  # type: ignore[arg-type]
    slots = wide.optimizer_state.slots  # type: ignore[union-attr]
    old = net.optimizer_state.slots  # type: ignore[union-attr]
    assert not slots["conv_1.weight"]["momentum_buffer"][5:].any()
    assert not slots["conv_1_bn.weight"]["momentum_buffer"][5:].any()
    assert np.array_equal(
        slots["conv_1.weight"]["momentum_buffer"][:5], old["conv_1.weight"]["momentum_buffer"]
    )
    hw = 9  # pool_1 is 5 x 3 x 3 -> flatten columns per channel
    dense = slots["dense_0.weight"]["momentum_buffer"]
    assert dense.shape == (7, 7 * hw)
    assert not dense[:, 5 * hw :].any()
    assert np.array_equal(dense[:, : 5 * hw], old["dense_0.weight"]["momentum_buffer"])
    assert wide.params["conv_1_bn.running_var"][5:].tolist() == [1.0, 1.0]
    assert rec.contract == ("approximate" if method == "random" else "exact")


def test_calibration_distortion_matches_measurement() -> None:
    spec = Spec.mlp(4, [8], 3)
    net = Network.init(spec, seed=0)
    X, y = inputs_for(spec, 30, 1), np.arange(30) % 3
    small, rec = narrow(net, "dense_0", keep=[0, 1, 2], calibration=(X, y))
    d = rec.distortion
    assert d is not None and rec.contract == "approximate"
    assert d.max_abs_output == float(
        np.abs(small.forward(X).astype(np.float64) - net.forward(X)).max()
    )
    assert d.accuracy_before == net.evaluate(X, y)["accuracy"]
    assert d.accuracy_after == small.evaluate(X, y)["accuracy"]
    assert EditRecord.from_dict(rec.to_dict()) == rec


def _residual_concat() -> Spec:
    nodes = (
        Dense("a", "input", 3),
        Dense("b", "a", 3),
        Add("s", ("a", "b")),
        Dense("c", "input", 2),
        Concat("k", ("s", "c", "s")),
        Dense("out", "k", 2, "identity"),
    )
    return Spec((4,), nodes, "out")


def test_coupled_group_spans_add_and_concat_offsets() -> None:
    g = coupled_group(_residual_concat(), "b")
    assert g.producers == ("a", "b")
    assert g.members["k"] == ((0, 5), (1, 6), (2, 7))
    assert g.consumers["out"] == ((0, 5), (1, 6), (2, 7))
    assert g.consumers["b"] == ((0,), (1,), (2,))
    net = Network.init(_residual_concat(), seed=0)
    X = inputs_for(net.spec, 5, 0)
    for method in ("net2wider", "zero_fanout"):
        wide, rec = widen(net, "s", 2, method, seed=1)  # type: ignore[arg-type]
        assert wide.spec.widths["k"] == 12 and rec.contract == "exact"
        assert np.allclose(wide.forward(X), net.forward(X), atol=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda n: widen(n, "out", 1), "network output"),
        (lambda n: widen(n, "nope", 1), "no layer named 'nope'"),
        (lambda n: widen(n, "input", 1), "network input"),
        (lambda n: widen(n, "a", 0), "n_new must be an int >= 1"),
        (lambda n: narrow(n, "a", keep=[]), "cannot remove all 3 units"),
        (lambda n: narrow(n, "a", keep=[0, 3]), "out of range"),
        (lambda n: narrow(n, "a", keep=[-1]), "out of range"),
        (lambda n: narrow(n, "a", keep=[1, 1]), "repeated"),
        (lambda n: narrow(n, "a", keep=[0.5]), "must contain ints"),
        (lambda n: narrow(n, "k", keep=[0]), "coupled to each other"),
        (lambda n: deepen(n, "out"), "input or output"),
        (lambda n: widen(n, "a", 4, "orthogonal"), "orthogonal"),
    ],
)
def test_invalid_edits_raise(call, message) -> None:  # type: ignore[no-untyped-def]
    net = Network.init(_residual_concat(), seed=0)
    with pytest.raises(InvalidMorphismError, match=message):
        call(net)


def test_grouped_conv_and_output_coupling_are_refused() -> None:
    from neuroplast import Conv2d

    spec = Spec(
        (2, 5, 5),
        (
            Conv2d("c", "input", 4, 3, padding="same"),
            Conv2d("d", "c", 4, 3, padding="same", groups=2),
            Dense("out", "d", 2, "identity"),
        ),
        "out",
    )
    with pytest.raises(InvalidMorphismError, match="grouped convolution 'd'"):
        widen(Network.init(spec, seed=0), "c", 1)
    res = Spec(
        (3,), (Dense("a", "input", 2), Dense("b", "input", 2), Add("out", ("a", "b"))), "out"
    )
    with pytest.raises(InvalidMorphismError, match="reach the network output"):
        narrow(Network.init(res, seed=0), "a", keep=[0])


def test_deepen_names_are_deterministic_and_fresh() -> None:
    net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    once, _ = deepen(net, "dense_0")
    twice, rec = deepen(once, "dense_0")
    assert [n.name for n in twice.spec.nodes] == ["dense_0", "dense_0_id_1", "dense_0_id", "output"]
    res, rec = deepen(twice, "dense_0_id", kind="residual")
    assert "dense_0_id_res_add" in {n.name for n in res.spec.nodes}
    _, rec = deepen(Network.init(Spec.mlp(3, [4], 2, activation="tanh"), seed=0), "dense_0")
    assert rec.contract == "approximate" and "tanh" in rec.conditions


def test_given_weights_are_used_recorded_and_replayed() -> None:
    net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    rng = np.random.default_rng(0)
    incoming = rng.standard_normal((2, 3)).astype(np.float32)
    weights = {"incoming": incoming, "bias": np.float32([0.5, -1.0])}
    wide, rec = widen(net, "dense_0", 2, "given", weights=weights)
    assert np.array_equal(wide.params["dense_0.weight"][4:], incoming)
    assert rec.contract == "exact"  # no outgoing given: zero fan-out
    outgoing = {"output": rng.standard_normal((2, 2)).astype(np.float32)}
    wide2, rec2 = widen(net, "dense_0", 2, "given", weights={**weights, "outgoing": outgoing})
    assert np.array_equal(wide2.params["output.weight"][:, 4:], outgoing["output"])
    assert rec2.contract == "approximate"
    again = EditLog.from_json(EditLog((rec2,)).to_json()).replay(net)
    assert_bitwise_equal(again.params, wide2.params, "params")


def test_given_split_changes_existing_units_and_replays() -> None:
    net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    noise = np.array([0.1, -0.2, 0.3], np.float32)
    w = net.params["dense_0.weight"]
    weights = {
        "incoming": (w[1] - noise)[None],
        "bias": net.params["dense_0.bias"][[1]],
        "outgoing": {"output": net.params["output.weight"][:, [1]] / 2},
        "split": {1: noise},
    }
    wide, rec = widen(net, "dense_0", 1, "given", weights=weights)
    np.testing.assert_array_equal(wide.params["dense_0.weight"][1], w[1] + noise)
    np.testing.assert_array_equal(
        wide.params["output.weight"][:, 1], net.params["output.weight"][:, 1] * np.float32(0.5)
    )
    assert rec.contract == "approximate" and "split" in rec.conditions
    assert_bitwise_equal(
        EditLog.from_json(EditLog((rec,)).to_json()).replay(net).params, wide.params
    )
    # Zero noise: a Net2Wider-style split, which preserves the function.
    weights["split"] = {1: np.zeros(3, np.float32)}
    weights["incoming"] = w[[1]]
    same, _ = widen(net, "dense_0", 1, "given", weights=weights)
    X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(same.forward(X), net.forward(X), rtol=1e-6, atol=1e-6)
