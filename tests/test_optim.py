"""Optimizers: settings, validation, update rules vs the PyTorch-rule reference, state handling."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neuroplast import (
    SGD,
    Adam,
    AdamW,
    ConfigError,
    Network,
    NeuroplastError,
    OptimizerState,
    Spec,
)
from neuroplast.testing import assert_all_close, assert_bitwise_equal, max_abs, reference
from neuroplast.testing.strategies import (
    SMOOTH_ACTIVATIONS,
    Problem,
    inputs_for,
    params_for,
    problems,
    specs,
    targets_for,
)

OPTIMIZERS = [
    SGD(lr=0.1),
    SGD(lr=0.1, momentum=0.9),
    SGD(lr=0.05, momentum=0.9, nesterov=True),
    SGD(lr=0.1, weight_decay=0.1),
    SGD(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.05),
    Adam(lr=0.01),
    Adam(lr=0.01, weight_decay=0.1),
    Adam(lr=0.02, betas=(0.5, 0.9), eps=1e-4),
    AdamW(lr=0.01),
    AdamW(lr=0.01, weight_decay=0.5, betas=(0.8, 0.99)),
]
IDS = [repr(o) for o in OPTIMIZERS]
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _compare_state(net: Network, ref_state: reference.ReferenceOptimizerState) -> None:
    state = net.optimizer_state
    assert state is not None
    assert state.step == ref_state.step
    for pname, slots in ref_state.slots.items():
        assert set(state.slots[pname]) == set(slots)
        for k, expected in slots.items():
            got = state.slots[pname][k]
            assert got.shape == net.spec.param_shapes[pname]
            scale = max(max_abs(*(s[k] for s in ref_state.slots.values())), 1e-30)
            assert_all_close({k: got}, {k: expected}, rtol=1e-4, atol=1e-5, scale=scale, what=pname)


# ------------------------------------------------------------------------------ settings
def test_optimizer_settings_and_slots() -> None:
    assert SGD().to_dict() == {
        "kind": "sgd",
        "lr": 0.01,
        "momentum": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
    }
    assert SGD().slot_names == ()
    assert SGD(momentum=0.9).slot_names == ("momentum_buffer",)
    assert Adam().to_dict() == {
        "kind": "adam",
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
    }
    assert AdamW().kind == "adamw" and AdamW().weight_decay == 0.01
    assert Adam().slot_names == AdamW().slot_names == ("exp_avg", "exp_avg_sq")
    assert Adam(betas=[0.8, 0.9]).betas == (0.8, 0.9)  # type: ignore[arg-type]
    assert Adam(lr=0.1) == Adam(lr=0.1) and hash(SGD()) == hash(SGD())
    with pytest.raises(dataclasses.FrozenInstanceError):
        SGD().lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(lr=0),
        lambda: SGD(lr=-0.1),
        lambda: SGD(lr=math.nan),
        lambda: SGD(lr=math.inf),
        lambda: SGD(lr="0.1"),  # type: ignore[arg-type]
        lambda: SGD(momentum=1.0),
        lambda: SGD(momentum=-0.1),
        lambda: SGD(nesterov=True),
        lambda: SGD(weight_decay=-1e-3),
        lambda: SGD(weight_decay=math.inf),
        lambda: Adam(lr=0),
        lambda: Adam(betas=(1.0, 0.999)),
        lambda: Adam(betas=(0.9, 1.0)),
        lambda: Adam(betas=(-0.1, 0.999)),
        lambda: Adam(betas=(0.9, math.nan)),
        lambda: Adam(betas=(0.9,)),  # type: ignore[arg-type]
        lambda: Adam(betas=(0.9, 0.99, 0.9)),  # type: ignore[arg-type]
        lambda: Adam(eps=0),
        lambda: Adam(eps=-1e-8),
        lambda: Adam(weight_decay=-1),
        lambda: AdamW(lr=-1),
        lambda: AdamW(weight_decay=-0.01),
        lambda: AdamW(betas=(0.9, 1.5)),
    ],
)
def test_bad_hyperparameters_raise_config_error(make: object) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]


def test_adam_betas_none_raises_config_error() -> None:
    with pytest.raises(ConfigError):
        Adam(betas=None)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ update rules
def test_reference_step_by_hand() -> None:
    w = {"w": np.array([1.0, -2.0])}
    g = {"w": np.array([0.5, 0.25])}
    p, s = reference.optimizer_step(SGD(lr=0.1, momentum=0.9, nesterov=True), w, g)
    np.testing.assert_allclose(p["w"], [1.0 - 0.1 * 1.9 * 0.5, -2.0 - 0.1 * 1.9 * 0.25])
    p, s = reference.optimizer_step(SGD(lr=0.1, momentum=0.9, nesterov=True), p, g, s)
    # buf = 0.9*0.5 + 0.5 = 0.95, step = 0.5 + 0.9*0.95.
    assert p["w"][0] == pytest.approx(1.0 - 0.095 - 0.1 * (0.5 + 0.9 * 0.95))
    p, s = reference.optimizer_step(Adam(lr=0.1), w, g)
    # First Adam step is lr·g/(|g| + eps) ≈ lr·sign(g).
    np.testing.assert_allclose(p["w"], [0.9, -2.1], rtol=1e-6)
    p, _ = reference.optimizer_step(AdamW(lr=0.1, weight_decay=0.5), w, g)
    np.testing.assert_allclose(p["w"], [1.0 * 0.95 - 0.1, -2.0 * 0.95 - 0.1], rtol=1e-6)


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=IDS)
@SETTINGS
@given(p=problems(max_batch=10), steps=st.integers(1, 3))
def test_fit_steps_follow_reference_rule(opt: SGD | Adam, p: Problem, steps: int) -> None:
    # Each fit(epochs=1, batch_size=n, shuffle=False) is exactly one update with the gradient
    # Network.gradients reports at the current parameters; state continues across calls.
    net = p.network()
    n = p.X.shape[0]
    ref_params = {k: v.astype(np.float64) for k, v in p.params.items()}
    ref_state = None
    for _ in range(steps):
        loss, grads = net.gradients(p.X, p.y, masks=p.masks)
        if type(opt) is Adam and opt.weight_decay > 0:
            # Adam's L2 term g + wd·w is formed in float32 by the engine; where it nearly
            # cancels, m/(sqrt(v) + eps) amplifies that rounding beyond any fixed tolerance.
            assume(
                all(
                    np.abs(grads[k] + opt.weight_decay * net.params[k].astype(np.float64)).min()
                    > 1e-5
                    for k in grads
                )
            )
        ref_params, ref_state = reference.optimizer_step(opt, ref_params, grads, ref_state)
        hist = net.fit(
            p.X, p.y, epochs=1, batch_size=n, shuffle=False, optimizer=opt, masks=p.masks
        )
        assert hist.loss == [pytest.approx(loss, rel=1e-6, abs=1e-7)]
        assert_all_close(net.params, ref_params, rtol=1e-5, atol=1e-6, what=repr(opt))
    assert ref_state is not None
    _compare_state(net, ref_state)


@pytest.mark.parametrize("opt", [o for o in OPTIMIZERS if isinstance(o, SGD)], ids=repr)
@SETTINGS
@given(
    p=problems(specs(hidden_activations=SMOOTH_ACTIVATIONS), max_batch=10),
    steps=st.integers(1, 3),
)
def test_sgd_trajectory_matches_float64_reference(opt: SGD, p: Problem, steps: int) -> None:
    # Gradients and updates entirely from the float64 reference (smooth activations only).
    net = p.network()
    ref_params: dict[str, np.ndarray] = {k: v.astype(np.float64) for k, v in p.params.items()}
    ref_state = None
    losses = []
    for _ in range(steps):
        loss, grads = reference.loss_and_gradients(p.spec, ref_params, p.X, p.y, p.masks)
        losses.append(loss)
        ref_params, ref_state = reference.optimizer_step(opt, ref_params, grads, ref_state)
    hist = net.fit(
        p.X, p.y, epochs=steps, batch_size=p.X.shape[0], shuffle=False, optimizer=opt, masks=p.masks
    )
    assert hist.loss == pytest.approx(losses, rel=1e-4, abs=1e-5)
    assert_all_close(net.params, ref_params, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("opt", [SGD(lr=0.1), Adam(lr=0.01)], ids=repr)
@SETTINGS
@given(p=problems(max_batch=10))
def test_one_fit_step_matches_full_reference(opt: SGD | Adam, p: Problem) -> None:
    assume(reference.kink_margin(p.spec, p.params, p.X, p.masks) > 1e-4)
    _, grads = reference.loss_and_gradients(p.spec, p.params, p.X, p.y, p.masks)
    if isinstance(opt, Adam):
        # Adam's first step is lr·g/(|g| + eps): only well-determined when |g| >> float32 noise.
        assume(all(np.all((np.abs(g) > 1e-4) | (g == 0)) for g in grads.values()))
    expected, _ = reference.optimizer_step(opt, p.params, grads)
    net = p.network()
    net.fit(
        p.X, p.y, epochs=1, batch_size=p.X.shape[0], shuffle=False, optimizer=opt, masks=p.masks
    )
    assert_all_close(net.params, expected, rtol=1e-4, atol=1e-5)


def test_last_partial_batch_is_averaged_over_its_own_rows() -> None:
    spec = Spec.mlp(3, [4], 2, activation="tanh")
    p = Problem(spec, params_for(spec, 0), inputs_for(spec, 5, 1), targets_for(spec, 5, 2))
    opt = SGD(lr=0.1)
    # batch_size 3 on 5 rows: updates on rows 0..2 then on rows 3..4 (no shuffling).
    ref_params = {k: v.astype(np.float64) for k, v in p.params.items()}
    for rows in (slice(0, 3), slice(3, 5)):
        _, g = reference.loss_and_gradients(spec, ref_params, p.X[rows], p.y[rows])
        ref_params, _ = reference.optimizer_step(opt, ref_params, g)
    net = p.network()
    hist = net.fit(p.X, p.y, epochs=1, batch_size=3, shuffle=False, optimizer=opt)
    assert_all_close(net.params, ref_params)
    assert net.optimizer_state is not None and net.optimizer_state.step == 2
    # The epoch loss is the per-sample mean of the losses seen before each update.
    l1 = reference.loss_value(spec, reference.forward(spec, p.params, p.X[:3]), p.y[:3])
    assert hist.loss[0] == pytest.approx(
        (3 * l1 + 2 * _loss_after_first(spec, p, opt)) / 5, rel=1e-5
    )


def _loss_after_first(spec: Spec, p: Problem, opt: SGD) -> float:
    _, g = reference.loss_and_gradients(spec, p.params, p.X[:3], p.y[:3])
    params, _ = reference.optimizer_step(opt, p.params, g)
    return reference.loss_value(spec, reference.forward(spec, params, p.X[3:]), p.y[3:])


# ------------------------------------------------------------------------------ state
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=IDS)
def test_split_fit_equals_one_long_fit_bitwise(opt: SGD | Adam) -> None:
    spec = Spec.mlp(4, [6], 3, activation="tanh")
    X, y = inputs_for(spec, 37, 1), targets_for(spec, 37, 2)
    one = Network.init(spec, seed=3)
    h = one.fit(X, y, epochs=3, batch_size=8, optimizer=opt, seed=5)
    split = Network.init(spec, seed=3)
    h1 = split.fit(X, y, epochs=1, batch_size=8, optimizer=opt, seed=5)
    h2 = split.fit(X, y, epochs=2, batch_size=8, optimizer=opt, seed=5, initial_epoch=1)
    assert_bitwise_equal(split.params, one.params)
    assert one.optimizer_state is not None and split.optimizer_state is not None
    assert split.optimizer_state.step == one.optimizer_state.step == 3 * 5
    for p in one.optimizer_state.slots:
        assert_bitwise_equal(split.optimizer_state.slots[p], one.optimizer_state.slots[p])
    assert h1.epoch + h2.epoch == h.epoch == [0, 1, 2]
    assert h1.loss + h2.loss == h.loss
    # Without initial_epoch the second call replays epoch 0's shuffle: a different result.
    replay = Network.init(spec, seed=3)
    replay.fit(X, y, epochs=1, batch_size=8, optimizer=opt, seed=5)
    replay.fit(X, y, epochs=2, batch_size=8, optimizer=opt, seed=5)
    assert any(not np.array_equal(replay.params[k], one.params[k]) for k in one.params)


def _trained(opt: SGD | Adam, steps: int = 2) -> tuple[Network, np.ndarray, np.ndarray]:
    spec = Spec.mlp(4, [5], 3, activation="tanh")
    X, y = inputs_for(spec, 12, 1), targets_for(spec, 12, 2)
    net = Network.init(spec, seed=0)
    net.fit(X, y, epochs=steps, batch_size=12, shuffle=False, optimizer=opt)
    return net, X, y  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (SGD(lr=0.1, momentum=0.9), Adam(lr=0.01)),
        (Adam(lr=0.01), SGD(lr=0.1, momentum=0.9)),
        (SGD(lr=0.1, momentum=0.9), SGD(lr=0.1)),
        (SGD(lr=0.1), SGD(lr=0.1, momentum=0.5)),
        (AdamW(lr=0.01), SGD(lr=0.1)),
    ],
    ids=repr,
)
def test_changing_optimizer_kind_resets_state(first: SGD | Adam, second: SGD | Adam) -> None:
    net, X, y = _trained(first)
    fresh = Network(net.spec, net.params)  # same parameters, no state
    net.fit(X, y, epochs=1, batch_size=12, shuffle=False, optimizer=second)
    fresh.fit(X, y, epochs=1, batch_size=12, shuffle=False, optimizer=second)
    assert_bitwise_equal(net.params, fresh.params)
    assert net.optimizer_state is not None
    assert net.optimizer_state.kind == second.kind
    assert net.optimizer_state.step == 1
    assert set(next(iter(net.optimizer_state.slots.values()))) == set(second.slot_names)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Adam(lr=0.01), AdamW(lr=0.01)),
        (AdamW(lr=0.01), Adam(lr=0.02)),
        (SGD(0.1, 0.9), SGD(0.05, 0.5)),
    ],
    ids=repr,
)
def test_same_family_keeps_state(first: SGD | Adam, second: SGD | Adam) -> None:
    net, X, y = _trained(first, steps=2)
    state = net.optimizer_state
    assert state is not None and state.step == 2
    expected, _ = reference.optimizer_step(
        second,
        net.params,
        net.gradients(X, y)[1],
        reference.ReferenceOptimizerState.from_state(state),
    )
    net.fit(X, y, epochs=1, batch_size=12, shuffle=False, optimizer=second)
    assert net.optimizer_state is not None and net.optimizer_state.step == 3
    assert net.optimizer_state.kind == second.kind
    assert_all_close(net.params, expected, rtol=1e-5, atol=1e-6)


def test_default_optimizer_is_adam() -> None:
    spec = Spec.mlp(4, [5], 3)
    X, y = inputs_for(spec, 20, 1), targets_for(spec, 20, 2)
    a, b = Network.init(spec, 1), Network.init(spec, 1)
    a.fit(X, y, epochs=2, batch_size=7)
    b.fit(X, y, epochs=2, batch_size=7, optimizer=Adam(lr=1e-3))
    assert_bitwise_equal(a.params, b.params)
    assert a.optimizer_state is not None and a.optimizer_state.kind == "adam"


def test_zero_epochs_changes_nothing() -> None:
    spec = Spec.mlp(4, [5], 3)
    X, y = inputs_for(spec, 20, 1), targets_for(spec, 20, 2)
    net = Network.init(spec, 1)
    before = dict(net.params)
    hist = net.fit(X, y, epochs=0)
    assert len(hist) == 0 and not hist.stopped_early
    assert_bitwise_equal(net.params, before)


def test_optimizer_state_helpers() -> None:
    net, _, _ = _trained(Adam(lr=0.01))
    state = net.optimizer_state
    assert isinstance(state, OptimizerState)
    shapes = net.spec.param_shapes
    assert state.compatible_with(Adam(), shapes) and state.compatible_with(AdamW(), shapes)
    assert not state.compatible_with(SGD(momentum=0.9), shapes)
    assert not state.compatible_with(Adam(), {**shapes, "extra": (1,)})
    assert not state.compatible_with(Adam(), {k: (*v, 1) for k, v in shapes.items()})
    dup = state.copy()
    assert dup.step == state.step and dup.kind == state.kind
    first = next(iter(shapes))
    dup.slots[first]["exp_avg"][...] = 123.0
    assert not np.any(state.slots[first]["exp_avg"] == 123.0)
    copy = net.copy()
    assert copy.optimizer_state is not state and copy.optimizer_state is not None
    assert_bitwise_equal(copy.params, net.params)


def _state(dtype: type, step: int = 1, fill: float = 0.0) -> tuple[Network, OptimizerState]:
    spec = Spec.mlp(3, [4], 2)
    slots = {
        k: {n: np.full(s, fill, dtype) for n in ("exp_avg", "exp_avg_sq")}
        for k, s in spec.param_shapes.items()
    }
    return Network.init(spec, 0), OptimizerState("adam", step, slots)


@pytest.mark.parametrize(("dtype", "step"), [(np.float64, 1), (np.float32, -1)], ids=["f64", "neg"])
def test_foreign_optimizer_state_is_converted_or_rejected(dtype: type, step: int) -> None:
    net, state = _state(dtype, step)
    X = np.ones((4, 3), np.float32)
    if step < 0:
        with pytest.raises(ConfigError, match="step"):
            Network(net.spec, net.params, state)
        return
    converted = Network(net.spec, net.params, state)
    assert converted.optimizer_state is not None
    slots = converted.optimizer_state.slots
    assert all(a.dtype == np.float32 for s in slots.values() for a in s.values())
    converted.fit(X, np.array([0, 1, 0, 1]), epochs=1)


def test_nan_optimizer_state_is_rejected() -> None:
    net, state = _state(np.float32, fill=np.nan)
    X = np.ones((4, 3), np.float32)
    with pytest.raises(NeuroplastError):
        Network(net.spec, net.params, state).fit(X, np.array([0, 1, 0, 1]), epochs=1)
