from __future__ import annotations

import numpy as np
import pytest

from neuroplast import ConfigError, InvalidMorphismError, Network, Spec
from neuroplast.search.mcts import (
    ACTION_KINDS,
    Action,
    ActionSpace,
    IllegalActionError,
    predict_params,
    random_action,
)

MLP = Spec.mlp(6, [10, 8], 3)
CNN = Spec.cnn((1, 8, 8), [4, 6], 3, hidden=[12])
X_CNN = np.random.default_rng(0).normal(size=(16, 64)).astype(np.float32)
X_MLP = np.random.default_rng(1).normal(size=(16, 6)).astype(np.float32)


def _labels(space: ActionSpace, spec: Spec) -> set[str]:
    return {a.label for a in space.legal(spec)}


def test_mlp_legal_set() -> None:
    legal = _labels(ActionSpace(), MLP)
    for layer in ("dense_0", "dense_1"):
        assert {f"add_neurons({layer}, 1.5)", f"add_neurons({layer}, 2)"} <= legal
        assert {f"remove_neurons({layer}, {k})" for k in ("0.1", "0.5", "0.9")} <= legal
        assert {f"add_dense({layer})", f"add_residual_dense({layer})"} <= legal
        assert f"delete_layer({layer})" in legal
    # Never the output; no conv actions without conv layers.
    assert not any("output" in a for a in legal)
    assert not any("conv" in a for a in legal)
    assert len(legal) == 2 * (2 + 3 + 2 + 1)


def test_cnn_legal_set() -> None:
    legal = _labels(ActionSpace(), CNN)
    assert {"add_conv(conv_0)", "add_residual_conv(pool_1)", "add_residual_conv(conv_1)"} <= legal
    assert {"add_neurons(conv_0, 2)", "remove_neurons(conv_1, 0.5)"} <= legal
    assert {"add_dense(dense_0)", "delete_layer(dense_0)"} <= legal
    # A conv layer in a plain chain cannot be removed; no dense layer after a spatial node.
    assert "delete_layer(conv_0)" not in legal and "add_dense(conv_0)" not in legal
    assert "add_conv(dense_0)" not in legal


@pytest.mark.parametrize(
    ("action", "why"),
    [
        (Action("add_neurons", "output", 2.0), "output"),
        (Action("remove_neurons", "output", 0.5), "output"),
        (Action("delete_layer", "output"), "output"),
        (Action("add_dense", "output"), "output"),
        (Action("add_neurons", "nope", 2.0), "no layer"),
        (Action("add_neurons", "dense_0", 3.0), "does not apply"),  # amount not in the space
        (Action("add_conv", "dense_0"), "does not apply"),  # no conv layers
        (Action("add_residual_conv", "dense_0"), "does not apply"),
        (Action("explode", "dense_0"), "unknown"),
    ],
)
def test_illegal_actions_raise_with_a_reason(action: Action, why: str) -> None:
    with pytest.raises(IllegalActionError, match=why):
        ActionSpace().check(MLP, action)
    assert action not in ActionSpace().legal(MLP)
    assert issubclass(IllegalActionError, InvalidMorphismError)


def test_conv_specific_illegal_cases() -> None:
    space = ActionSpace()
    for bad in (Action("delete_layer", "conv_0"), Action("add_dense", "pool_0")):
        with pytest.raises(IllegalActionError, match="does not apply"):
            space.check(CNN, bad)


def test_width_limits() -> None:
    spec = Spec.mlp(6, [5], 3)
    # 5 units keep 0.1 -> 1 unit: legal with min_width 1, illegal with min_width 2.
    ActionSpace().check(spec, Action("remove_neurons", "dense_0", 0.1))
    with pytest.raises(IllegalActionError, match="min_width"):
        ActionSpace(min_width=2).check(spec, Action("remove_neurons", "dense_0", 0.1))
    # 1 unit cannot lose any: keep 0.9 of 1 unit removes nothing.
    one = Spec.mlp(6, [1], 3)
    with pytest.raises(IllegalActionError, match="at least one unit"):
        ActionSpace().check(one, Action("remove_neurons", "dense_0", 0.9))
    with pytest.raises(IllegalActionError, match="max_width"):
        ActionSpace(max_width=9).check(spec, Action("add_neurons", "dense_0", 2.0))
    ActionSpace(max_width=10).check(spec, Action("add_neurons", "dense_0", 2.0))


def test_max_params_and_disabled_kinds() -> None:
    grow = Action("add_residual_dense", "dense_0")
    p = predict_params(MLP, grow, ActionSpace())
    ActionSpace(max_params=p).check(MLP, grow)
    with pytest.raises(IllegalActionError, match="max_params"):
        ActionSpace(max_params=p - 1).check(MLP, grow)
    only_remove = ActionSpace(kinds=("remove_neurons",))
    assert {a.kind for a in only_remove.legal(MLP)} == {"remove_neurons"}
    with pytest.raises(IllegalActionError, match="disabled"):
        only_remove.check(MLP, Action("delete_layer", "dense_0"))


@pytest.mark.parametrize("spec", [MLP, CNN], ids=["mlp", "cnn"])
def test_every_legal_action_applies_and_predicts_its_size(spec: Spec) -> None:
    space = ActionSpace()
    net = Network.init(spec, seed=0)
    X = X_MLP if spec is MLP else X_CNN
    for action in space.legal(spec):
        out, rec = space.apply(net, action, seed=3)
        assert out.n_params == predict_params(spec, action, space), action.label
        expected = {
            "add_neurons": "widen",
            "remove_neurons": "narrow",
            "delete_layer": "shallow",
        }.get(action.kind, "deepen")
        assert rec.name == expected
        if action.kind.startswith("add_"):
            # Growth is function preserving (zero fan-out units, identity/zero-branch layers
            # after ReLU outputs).
            assert rec.contract == "exact", action.label
            np.testing.assert_allclose(out.forward(X), net.forward(X), atol=1e-5)


def test_remove_neurons_uses_the_configured_method() -> None:
    net = Network.init(MLP, seed=0)
    action = Action("remove_neurons", "dense_0", 0.5)
    _, rec = ActionSpace().apply(net, action)
    assert rec.args["method"] == "quasi_identity"
    sel = ActionSpace(narrow_method="select", narrow_compensate="lstsq", calibration=16)
    with pytest.raises(ConfigError, match="calibration"):
        sel.apply(net, action)
    y = np.zeros(16, np.int64)
    out, rec = sel.apply(net, action, calibration=(X_MLP, y))
    assert rec.args["method"] == "select" and rec.args["compensate"] == "lstsq"
    assert out.spec.widths["dense_0"] == 5


def test_space_validation_and_round_trip() -> None:
    for bad in (
        {"kinds": ("nope",)},
        {"widen_factors": (1.0,)},
        {"keep_fractions": (1.0,)},
        {"min_width": 0},
        {"widen_method": "given"},
        {"narrow_method": "nope"},
        {"narrow_compensate": "ridge"},
        {"kernel_size": 2},
    ):
        with pytest.raises(ConfigError):
            ActionSpace(**bad)
    space = ActionSpace(kinds=("add_neurons", "delete_layer"), max_params=100)
    assert ActionSpace.from_dict(space.to_dict()) == space
    assert set(ACTION_KINDS) == {a.kind for a in ActionSpace().legal(CNN)}
    a = Action("remove_neurons", "dense_0", 0.5)
    assert Action.from_dict(a.to_dict()) == a


def test_random_action_is_seeded_and_legal() -> None:
    net = Network.init(MLP, seed=0)
    space = ActionSpace().to_dict()
    a1, r1 = random_action(net, space=space, seed=5)
    a2, r2 = random_action(net, space=space, seed=5)
    assert r1 is not None and r2 is not None and r1.to_dict() == r2.to_dict()
    assert a1.spec == a2.spec
    none = ActionSpace(kinds=("remove_neurons",)).to_dict()
    tiny = Network.init(Spec.mlp(6, [1], 3), seed=0)
    same, rec = random_action(tiny, space=none, seed=0)
    assert rec is None and same is tiny


def test_residual_graphs_use_coupled_groups() -> None:
    space = ActionSpace()
    net = Network.init(MLP, seed=0)
    res, _ = space.apply(net, Action("add_residual_dense", "dense_0"), seed=1)
    legal = _labels(space, res.spec)
    # The branch output is coupled to dense_0 through the add: one target for both.
    assert "add_neurons(dense_0, 2)" in legal and "add_neurons(dense_0_res_out, 2)" not in legal
    assert "add_neurons(dense_0_res, 2)" in legal  # the branch's hidden layer is free
    # The zero-initialized branch can be dropped again, exactly.
    assert "delete_layer(dense_0_res_out)" in legal
    back, rec = space.apply(res, Action("delete_layer", "dense_0_res_out"))
    assert rec.contract == "exact" and back.spec == net.spec
    for action in space.legal(res.spec):
        out, _ = space.apply(res, action, seed=2)
        assert out.n_params == predict_params(res.spec, action, space), action.label


def test_the_last_hidden_layer_is_kept_by_default() -> None:
    one = Spec.mlp(6, [5], 3)
    with pytest.raises(IllegalActionError, match="min_depth"):
        ActionSpace().check(one, Action("delete_layer", "dense_0"))
    ActionSpace(min_depth=0).check(one, Action("delete_layer", "dense_0"))
    # Dropping a residual branch never shortens the main path.
    net = Network.init(one, seed=0)
    res, _ = ActionSpace().apply(net, Action("add_residual_dense", "dense_0"))
    ActionSpace().check(res.spec, Action("delete_layer", "dense_0_res_out"))
    with pytest.raises(ConfigError):
        ActionSpace(min_depth=-1)


def test_inserted_layers_can_be_deleted_again() -> None:
    space = ActionSpace()
    net = Network.init(CNN, seed=0)
    deep, _ = space.apply(net, Action("add_conv", "conv_0"))
    assert "delete_layer(conv_0_id)" in _labels(space, deep.spec)
    back, rec = space.apply(deep, Action("delete_layer", "conv_0_id"))
    assert rec.contract == "exact" and back.spec == net.spec
    assert predict_params(deep.spec, Action("delete_layer", "conv_0_id"), space) == net.n_params
    # A dense layer with its input's width (10 -> 10) is dropped the same way.
    mlp = Network.init(Spec.mlp(6, [10, 10, 10], 3), seed=0)
    for action in space.legal(mlp.spec):
        out, _ = space.apply(mlp, action, seed=2)
        assert out.n_params == predict_params(mlp.spec, action, space), action.label
    # Dropping the only hidden layer is illegal whatever the removal kind.
    one = Network.init(Spec.mlp(6, [6], 3), seed=0)
    with pytest.raises(IllegalActionError, match="min_depth"):
        space.check(one.spec, Action("delete_layer", "dense_0"))
