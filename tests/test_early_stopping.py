"""Early stopping in ``Network.fit``: the stopping rule, the exact best-epoch restore, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import SGD, Adam, History, Network, Spec
from neuroplast.errors import ConfigError
from neuroplast.optim import Optimizer
from neuroplast.testing import assert_bitwise_equal

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
SPEC = Spec.mlp(5, [16], 3, activation="tanh")


def _data() -> tuple[F32, I64, F32, I64]:
    """A small noisy 3-class problem whose validation loss turns around when overfitted."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(80, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    noisy = rng.random(80) < 0.3
    y[noisy] = rng.integers(0, 3, size=int(noisy.sum()))
    return X[:40], y[:40], X[40:], y[40:]


DATA = _data()


def _fit(epochs: int, opt: Optimizer | None = None, **kwargs: Any) -> tuple[Network, History]:
    X, y, Xv, yv = DATA
    net = Network.init(SPEC, seed=1)
    opt = Adam(lr=0.03) if opt is None else opt
    hist = net.fit(
        X,
        y,
        epochs=epochs,
        batch_size=16,
        seed=3,
        optimizer=opt,
        validation_data=(Xv, yv),
        **kwargs,
    )
    return net, hist


def _assert_same_network(a: Network, b: Network) -> None:
    assert_bitwise_equal(a.params, b.params)
    assert a.optimizer_state is not None and b.optimizer_state is not None
    assert a.optimizer_state.kind == b.optimizer_state.kind
    assert a.optimizer_state.step == b.optimizer_state.step
    for name, slots in a.optimizer_state.slots.items():
        assert_bitwise_equal(slots, b.optimizer_state.slots[name])


def _expected_stop(values: list[float], patience: int, min_delta: float, higher: bool) -> int:
    """Number of epochs the rule runs on ``values`` (the rule stated independently)."""
    best, wait = None, 0
    for e, v in enumerate(values):
        better = best is None or (v > best + min_delta if higher else v < best - min_delta)
        if better:
            best, wait = v, 0
        else:
            wait += 1
            if wait >= patience:
                return e + 1
    return len(values)


# ------------------------------------------------------------------------------ restore
@pytest.mark.parametrize("opt", [Adam(lr=0.01), SGD(lr=0.1, momentum=0.9, nesterov=True)], ids=repr)
@pytest.mark.parametrize("monitor", ["val_loss", "val_accuracy"])
def test_restore_gives_bitwise_the_best_epoch(opt: Optimizer, monitor: str) -> None:
    net, hist = _fit(300, opt, patience=4, monitor=monitor)
    assert hist.stopped_early and hist.best_epoch is not None
    best = hist.best_epoch
    assert len(hist) == best + 1 + 4
    values = getattr(hist, monitor)
    pick = max if monitor == "val_accuracy" else min
    assert values[best] == pick(values) and values.index(values[best]) == best
    # Epoch e shuffles with stream initial_epoch + e: a run of best + 1 epochs is the best epoch.
    ref, ref_hist = _fit(best + 1, opt)
    _assert_same_network(net, ref)
    assert ref_hist.to_dict()["val_loss"] == hist.val_loss[: best + 1]
    assert ref_hist.best_epoch is None and not ref_hist.stopped_early
    # The restored network evaluates to the best epoch's metrics.
    assert net.evaluate(DATA[2], DATA[3])["loss"] == pytest.approx(hist.val_loss[best], rel=1e-12)


def test_restore_with_initial_epoch_and_later_continuation() -> None:
    net, hist = _fit(300, patience=3, initial_epoch=5)
    assert hist.epoch[0] == 5 and hist.best_epoch is not None
    ref, _ = _fit(hist.best_epoch - 5 + 1, initial_epoch=5)
    _assert_same_network(net, ref)
    # The restored optimizer state continues exactly like the reference's.
    X, y, _, _ = DATA
    net.fit(X, y, epochs=2, seed=3, initial_epoch=hist.best_epoch + 1, optimizer=Adam(lr=0.03))
    ref.fit(X, y, epochs=2, seed=3, initial_epoch=hist.best_epoch + 1, optimizer=Adam(lr=0.03))
    _assert_same_network(net, ref)


def test_without_restore_the_last_epoch_stays() -> None:
    net, hist = _fit(300, patience=3, restore_best=False)
    assert hist.stopped_early and hist.best_epoch == len(hist) - 4
    ref, _ = _fit(len(hist))
    _assert_same_network(net, ref)


def test_best_epoch_is_restored_when_all_epochs_run() -> None:
    _, full_hist = _fit(40)
    best = int(np.argmin(full_hist.val_loss))  # type: ignore[arg-type]
    assert best < 39, "the validation loss should turn around within 40 epochs"
    net, hist = _fit(40, patience=1000)
    assert not hist.stopped_early and len(hist) == 40 and hist.best_epoch == best
    assert hist.to_dict()["val_loss"] == full_hist.val_loss
    ref, _ = _fit(best + 1)
    _assert_same_network(net, ref)


def test_callback_sees_every_epoch_and_can_stop_first() -> None:
    seen: list[int] = []
    net, hist = _fit(300, patience=3, callback=lambda r: seen.append(r["epoch"]))
    assert seen == hist.epoch
    # The callback stops at epoch 2: the best of epochs 0..2 is still restored.
    net, hist = _fit(300, patience=50, callback=lambda r: r["epoch"] < 2)
    assert len(hist) == 3 and hist.stopped_early and hist.best_epoch is not None
    ref, _ = _fit(hist.best_epoch + 1)
    _assert_same_network(net, ref)


# ------------------------------------------------------------------------------ the rule
@settings(max_examples=25, deadline=None)
@given(
    patience=st.integers(1, 8),
    min_delta=st.sampled_from([0.0, 1e-3, 0.02]),
    monitor=st.sampled_from(["val_loss", "val_accuracy"]),
    lr=st.sampled_from([0.01, 0.03, 0.1]),
)
def test_patience_semantics(patience: int, min_delta: float, monitor: str, lr: float) -> None:
    epochs = 40
    _, full = _fit(epochs, Adam(lr=lr))
    values: list[float] = getattr(full, monitor)
    higher = monitor == "val_accuracy"
    ran = _expected_stop(values, patience, min_delta, higher)
    _, hist = _fit(epochs, Adam(lr=lr), patience=patience, monitor=monitor, min_delta=min_delta)
    assert len(hist) == ran
    assert hist.stopped_early == (ran < epochs)
    # The early-stopped run is a prefix of the full run, bitwise.
    assert hist.to_dict()["loss"] == full.loss[:ran]
    assert hist.to_dict()["val_loss"] == full.val_loss[:ran]
    seen = values[:ran]
    assert hist.best_epoch is not None
    best = hist.best_epoch
    # The best epoch is an improvement, and nothing after it improved on it by min_delta.
    assert all(
        not (v > seen[best] + min_delta if higher else v < seen[best] - min_delta)
        for v in seen[best + 1 :]
    )
    assert (max if higher else min)(seen[: best + 1]) == seen[best]
    if hist.stopped_early:
        assert ran - 1 - best >= patience


def test_history_fields() -> None:
    _, hist = _fit(3)
    assert hist.best_epoch is None and not hist.stopped_early
    assert hist.to_dict()["best_epoch"] is None
    _, hist = _fit(300, patience=2)
    assert hist.to_dict()["best_epoch"] == hist.best_epoch
    assert hist.to_dict()["stopped_early"] is True


def test_zero_epochs_with_patience() -> None:
    net, hist = _fit(0, patience=2)
    assert len(hist) == 0 and hist.best_epoch is None and not hist.stopped_early
    assert_bitwise_equal(net.params, Network.init(SPEC, seed=1).params)


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patience": 0}, "patience"),
        ({"patience": -1}, "patience"),
        ({"patience": 1.5}, "patience"),
        ({"patience": True}, "patience"),
        ({"patience": 2, "monitor": "loss"}, "monitor"),
        ({"monitor": "accuracy"}, "monitor"),
        ({"patience": 2, "min_delta": -0.1}, "min_delta"),
        ({"patience": 2, "min_delta": float("nan")}, "min_delta"),
        ({"patience": 2, "min_delta": float("inf")}, "min_delta"),
        ({"patience": 2, "min_delta": "0.1"}, "min_delta"),
        ({"patience": 2, "restore_best": "yes"}, "restore_best"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    net = Network.init(SPEC, seed=1)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ConfigError, match=match):
        _fit_on(net, **kwargs)
    assert_bitwise_equal(net.params, before)
    assert net.optimizer_state is None


def _fit_on(net: Network, **kwargs: Any) -> History:
    X, y, Xv, yv = DATA
    return net.fit(X, y, epochs=3, validation_data=(Xv, yv), **kwargs)


def test_needs_validation_data() -> None:
    X, y, _, _ = DATA
    net = Network.init(SPEC, seed=1)
    with pytest.raises(ConfigError, match="validation"):
        net.fit(X, y, epochs=3, patience=2)
    assert net.optimizer_state is None


def test_accuracy_monitor_needs_a_classifier() -> None:
    X, _, Xv, _ = DATA
    net = Network.init(Spec.mlp(5, [4], 1, loss="mse"), seed=0)
    t, tv = X[:, :1] * 2.0, Xv[:, :1] * 2.0
    with pytest.raises(ConfigError, match="val_accuracy"):
        net.fit(X, t, epochs=3, validation_data=(Xv, tv), patience=2, monitor="val_accuracy")
    hist = net.fit(X, t, epochs=60, validation_data=(Xv, tv), patience=2, optimizer=Adam(lr=0.03))
    assert hist.best_epoch is not None
