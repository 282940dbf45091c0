"""Shallow: merging two dense layers (seed 001 eqs. 11–12) and dropping residual branches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neuroplast import Add, Conv2d, Dense, InvalidMorphismError, Network, Spec
from neuroplast.morph import EditLog, deepen, measure, shallow
from neuroplast.testing import assert_bitwise_equal
from neuroplast.testing.morph import (
    CONTINUOUS_ACTIVATIONS,
    EditProblem,
    assert_function_preserved,
    edit_problems,
    random_optimizer_state,
)
from neuroplast.testing.strategies import seeds

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    st.lists(st.integers(1, 7), min_size=2, max_size=4),
    st.sampled_from(CONTINUOUS_ACTIVATIONS),
    st.booleans(),
    seeds(),
    st.data(),
)
def test_merge_is_exact_for_an_identity_activation(widths, act, bias, seed, data) -> None:  # type: ignore[no-untyped-def]
    i = data.draw(st.integers(0, len(widths) - 2))
    nodes = []
    src = "input"
    for j, w in enumerate(widths):
        a = "identity" if j == i else act
        nodes.append(Dense(f"d{j}", src, w, a, bias=bias or j != i))
        src = f"d{j}"
    nodes.append(Dense("out", src, 3, "identity"))
    net = random_optimizer_state(Network.init(Spec((4,), tuple(nodes), "out"), seed=seed), seed)
    X = np.random.default_rng(seed).standard_normal((16, 4)).astype(np.float32)
    small, rec = shallow(net, f"d{i}", calibration=(X, None))
    assert rec.contract == "exact" and f"d{i}" not in [n.name for n in small.spec.nodes]
    fan_in = 4 if i == 0 else widths[i - 1]
    assert small.params[f"d{i + 1}.weight"].shape == (widths[i + 1], fan_in)
    assert_function_preserved(net, small, X)
    reader = f"d{i + 1}"
    assert not small.optimizer_state.slots[f"{reader}.weight"]["exp_avg"].any()  # type: ignore[union-attr]
    assert_bitwise_equal(
        small.optimizer_state.slots["out.weight"],  # type: ignore[union-attr]
        net.optimizer_state.slots["out.weight"],  # type: ignore[union-attr]
        "untouched moments",
    )


def test_merge_across_a_nonlinearity_is_approximate_and_measured() -> None:
    net = Network.init(Spec.mlp(5, [6, 4], 3, activation="tanh"), seed=0)
    X = np.random.default_rng(0).standard_normal((32, 5)).astype(np.float32)
    y = np.arange(32) % 3
    small, rec = shallow(net, "dense_0", calibration=(X, y))
    assert rec.contract == "approximate" and rec.distortion is not None
    assert rec.distortion == measure(net, small, (X, y))
    assert rec.distortion.max_abs_output > 0


@SETTINGS
@given(seeds(), st.sampled_from(["relu", "tanh", "sigmoid"]))
def test_removing_a_zero_residual_branch_restores_the_network(seed, act) -> None:  # type: ignore[no-untyped-def]
    net = random_optimizer_state(
        Network.init(Spec.mlp(4, [6, 5], 3, activation=act), seed=seed), seed
    )
    deep, _ = deepen(net, after="dense_0", kind="residual", seed=seed)
    branch = next(n.name for n in deep.spec.nodes if isinstance(n, Add)).replace("_add", "_out")
    back, rec = shallow(deep, branch)
    assert rec.contract == "exact"
    assert back.spec == net.spec
    assert_bitwise_equal(back.params, net.params, "params")
    for name, slots in net.optimizer_state.slots.items():  # type: ignore[union-attr]
        assert_bitwise_equal(back.optimizer_state.slots[name], slots, name)  # type: ignore[union-attr]


def test_removing_a_nonzero_branch_is_approximate() -> None:
    spec = Spec(
        (3,),
        (
            Dense("a", "input", 4),
            Dense("b", "a", 4),
            Dense("c", "a", 4),
            Add("s", ("a", "b", "c")),
            Dense("out", "s", 2, "identity"),
        ),
        "out",
    )
    net = Network.init(spec, seed=0)
    small, rec = shallow(net, "b")
    assert rec.contract == "approximate"
    assert [n.name for n in small.spec.nodes] == ["a", "c", "s", "out"]
    X = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    params = {k: np.array(v) for k, v in net.params.items()}
    params["b.weight"][:] = 0.0
    params["b.bias"][:] = 0.0
    zero = Network(spec, params)
    small, rec = shallow(zero, "b")
    assert rec.contract == "exact"
    assert_function_preserved(zero, small, X)


@SETTINGS
@given(edit_problems(kinds=("shallow",)))
def test_shallow_edits_marked_exact_preserve_the_function(p: EditProblem) -> None:
    after, rec = p.edit.apply(p.network)
    assert after.spec != p.network.spec
    if rec.contract == "exact":
        assert_function_preserved(p.network, after, p.X)
    again = EditLog.from_json(EditLog((rec,)).to_json()).replay(p.network)
    assert_bitwise_equal(again.params, after.params, "params")


def test_invalid_shallow() -> None:
    spec = Spec(
        (3,),
        (
            Dense("a", "input", 4),
            Dense("b", "a", 4),
            Dense("c", "a", 4),
            Add("s", ("b", "c"), "relu"),
            Dense("out", "s", 2, "identity"),
        ),
        "out",
    )
    net = Network.init(spec, seed=0)
    with pytest.raises(InvalidMorphismError, match="network output"):
        shallow(net, "out")
    with pytest.raises(InvalidMorphismError, match="no layer"):
        shallow(net, "zz")
    with pytest.raises(InvalidMorphismError, match="readers"):
        shallow(net, "a")  # two readers
    with pytest.raises(InvalidMorphismError, match="one input"):
        shallow(net, "b")  # the add would keep one input and a relu
    with pytest.raises(InvalidMorphismError, match="readers"):
        shallow(net, "s")
    cnn = Network.init(Spec.cnn((1, 6, 6), [2], 2), seed=0)
    assert isinstance(cnn.spec.nodes[0], Conv2d)
    with pytest.raises(InvalidMorphismError, match="neither feeds an add"):
        shallow(cnn, cnn.spec.nodes[0].name)


@settings(max_examples=40, deadline=None)
@given(edit_problems(kinds=("deepen",), deepen_kinds=("identity",)))
def test_removing_an_inserted_identity_layer_restores_the_network(p: EditProblem) -> None:
    deep, rec = p.edit.apply(p.network)
    inserted = next(n.name for n in deep.spec.nodes if n.name not in p.network.spec.widths)
    # A layer feeding an add is removed as a residual branch instead (not an inverse).
    assume(not any(isinstance(n, Add) and inserted in n.inputs for n in deep.spec.nodes))
    back, rec2 = shallow(deep, inserted)
    assert back.spec == p.network.spec
    assert_bitwise_equal(back.params, p.network.params)
    assert rec2.contract == rec.contract  # exact exactly when the inserted layer was


def test_dropping_a_non_identity_conv_is_approximate() -> None:
    from neuroplast import Flatten

    nodes = (
        Conv2d("a", "input", 3, 3, padding="same"),
        Conv2d("b", "a", 3, 3, padding="same"),
        Flatten("f", "b"),
        Dense("out", "f", 2, "identity"),
    )
    net = Network.init(Spec((2, 5, 5), nodes, "out"), seed=0)
    small, rec = shallow(net, "b")
    assert rec.contract == "approximate" and [n.name for n in small.spec.nodes] == ["a", "f", "out"]
    with pytest.raises(InvalidMorphismError, match="keeps its input's shape"):
        shallow(net, "a")  # 2 → 3 channels
