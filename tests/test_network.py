"""Network: construction, initialization, inference, training behaviour and History."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from neuroplast import (
    SGD,
    Adam,
    Add,
    Concat,
    Dense,
    History,
    Network,
    ShapeError,
    Spec,
)
from neuroplast.testing import assert_bitwise_equal, assert_close, reference
from neuroplast.testing.strategies import inputs_for, params_for, targets_for

Data = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]


# ------------------------------------------------------------------------------ construction
def test_init_bounds_and_zero_biases() -> None:
    spec = Spec(
        (20,),
        (
            Dense("r", "input", 300, "relu"),
            Dense("l", "r", 50, "leaky_relu"),
            Dense("m", "l", 40, "modified_relu"),
            Dense("t", "m", 30, "tanh"),
            Dense("out", "t", 10, "identity", bias=False),
        ),
        "out",
    )
    net = Network.init(spec, seed=0)
    he = {"r": 20, "l": 300, "m": 50}
    for name, fan_in in he.items():
        w = net.params[f"{name}.weight"]
        bound = np.sqrt(6.0 / fan_in)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
        assert not net.params[f"{name}.bias"].any()
    for name, fan_in, fan_out in (("t", 40, 30), ("out", 30, 10)):
        w = net.params[f"{name}.weight"]
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert "out.bias" not in net.params
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.optimizer_state is None


def test_params_are_read_only_copies() -> None:
    spec = Spec.mlp(3, [4], 2)
    src: dict[str, Any] = {k: np.ones(s) for k, s in spec.param_shapes.items()}
    net = Network(spec, src)
    src["dense_0.weight"][0, 0] = 5.0  # the network copied its input
    assert net.params["dense_0.weight"][0, 0] == 1.0
    assert net.params["dense_0.weight"].dtype == np.float32
    with pytest.raises(ValueError, match="read-only"):
        net.params["dense_0.weight"][0, 0] = 2.0
    with pytest.raises(TypeError):
        net.params["dense_0.weight"] = np.zeros((4, 3))  # type: ignore[index]
    # Nested lists are accepted as array-likes.
    lists = {k: np.zeros(s).tolist() for k, s in spec.param_shapes.items()}
    assert Network(spec, lists).n_params == spec.n_params


def test_copy_is_independent() -> None:
    spec = Spec.mlp(4, [5], 3)
    X, y = inputs_for(spec, 20, 1), targets_for(spec, 20, 2)
    net = Network.init(spec, 0)
    net.fit(X, y, epochs=1)
    dup = net.copy()
    assert_bitwise_equal(dup.params, net.params)
    dup.fit(X, y, epochs=1)
    assert not np.array_equal(dup.params["output.weight"], net.params["output.weight"])
    assert net.optimizer_state is not None and dup.optimizer_state is not None
    assert net.optimizer_state.step == 1 and dup.optimizer_state.step == 2


def test_properties_and_repr() -> None:
    spec = Spec.mlp(64, [100], 10)
    net = Network.init(spec, seed=1)
    assert net.n_params == 7510 == spec.n_params
    assert net.flops == spec.flops
    assert net.spec is spec
    assert repr(net) == f"Network({spec!r}, n_params=7510)"


# ------------------------------------------------------------------------------ inference
def test_predict_and_predict_proba(blobs: Data) -> None:
    X, _ = blobs
    spec = Spec.mlp(4, [8], 3)
    net = Network.init(spec, 0)
    logits = net.forward(X)
    proba = net.predict_proba(X)
    assert proba.dtype == np.float32 and proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    z = reference.forward(spec, net.params, X)
    expected = np.exp(z - z.max(1, keepdims=True))
    assert_close(proba, expected / expected.sum(1, keepdims=True))
    pred = net.predict(X)
    assert pred.dtype == np.int64
    np.testing.assert_array_equal(pred, logits.argmax(1))
    np.testing.assert_array_equal(pred, proba.argmax(1))


def test_regression_predict_returns_outputs() -> None:
    spec = Spec.mlp(3, [4], 2, loss="mse")
    net = Network.init(spec, 0)
    X = inputs_for(spec, 7, 0)
    np.testing.assert_array_equal(net.predict(X), net.forward(X))


def test_integer_and_float64_features_are_converted() -> None:
    spec = Spec.mlp(3, [4], 2)
    net = Network.init(spec, 0)
    Xi = np.arange(12).reshape(4, 3)
    np.testing.assert_array_equal(net.forward(Xi), net.forward(Xi.astype(np.float32)))
    np.testing.assert_array_equal(net.forward(Xi.tolist()), net.forward(Xi.astype(np.float32)))
    Xf = np.asfortranarray(np.random.default_rng(0).normal(size=(5, 3)))
    np.testing.assert_array_equal(
        net.forward(Xf), net.forward(np.ascontiguousarray(Xf, np.float32))
    )
    assert net.forward(Xf[::2]).shape == (3, 2)


def test_shaped_inputs() -> None:
    spec = Spec((2, 3), (Dense("h", "input", 4), Dense("out", "h", 2, "identity")), "out")
    net = Network.init(spec, 0)
    X = inputs_for(spec, 5, 0)
    assert X.shape == (5, 2, 3)
    np.testing.assert_array_equal(net.forward(X), net.forward(X.reshape(5, 6)))
    with pytest.raises(ShapeError):
        net.forward(X.reshape(5, 3, 2))


# ------------------------------------------------------------------------------ training
def _graph(kind: str) -> Spec:
    if kind == "residual":
        nodes: tuple[Any, ...] = (
            Dense("h", "input", 16, "relu"),
            Dense("r1", "h", 16, "relu"),
            Dense("r2", "r1", 16, "identity"),
            Add("s", ("h", "r2"), "relu"),
            Dense("out", "s", 3, "identity"),
        )
    else:
        nodes = (
            Dense("a", "input", 8, "tanh"),
            Dense("b", "a", 8, "relu"),
            Concat("c", ("a", "b", "input")),
            Dense("out", "c", 3, "identity"),
        )
    return Spec((4,), nodes, "out")


@pytest.mark.parametrize("kind", ["residual", "concat"])
def test_skip_connection_graphs_train(kind: str, blobs: Data) -> None:
    X, y = blobs
    net = Network.init(_graph(kind), seed=0)
    before = net.evaluate(X, y)
    hist = net.fit(X, y, epochs=15, batch_size=16, optimizer=Adam(lr=0.01), seed=0)
    after = net.evaluate(X, y)
    assert hist.loss[-1] < hist.loss[0]
    assert after["loss"] < 0.5 * before["loss"]
    assert after["accuracy"] >= 0.9


def test_regression_trains() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    Y = np.stack([X[:, 0] - 2 * X[:, 1], np.tanh(X[:, 2])], axis=1).astype(np.float32)
    net = Network.init(Spec.mlp(3, [16], 2, "tanh", loss="mse"), seed=0)
    hist = net.fit(X, Y, epochs=40, batch_size=20, optimizer=Adam(lr=0.02))
    assert hist.accuracy == [None] * 40
    assert hist.loss[-1] < 0.1 * hist.loss[0]
    one = Network.init(Spec.mlp(3, [4], 1, loss="mse"), seed=0)
    one.fit(X, Y[:, 0], epochs=1)  # (n,) targets are accepted for one output


def test_masked_units_do_not_learn() -> None:
    spec = Spec.mlp(4, [6], 3, activation="tanh")
    X, y = inputs_for(spec, 30, 1), targets_for(spec, 30, 2)
    net = Network(spec, params_for(spec, 3))
    before = dict(net.params)
    mask = np.array([1, 0, 1, 1, 0, 1], np.float32)
    net.fit(
        X, y, epochs=3, batch_size=10, optimizer=SGD(lr=0.1, momentum=0.9), masks={"dense_0": mask}
    )
    for k in ("dense_0.weight", "dense_0.bias"):
        np.testing.assert_array_equal(net.params[k][[1, 4]], before[k][[1, 4]])
        assert not np.array_equal(net.params[k][[0, 2]], before[k][[0, 2]])
    w = net.params["output.weight"]
    np.testing.assert_array_equal(w[:, [1, 4]], before["output.weight"][:, [1, 4]])


def test_history_contents(blobs: Data) -> None:
    X, y = blobs
    net = Network.init(Spec.mlp(4, [8], 3), seed=0)
    hist = net.fit(X, y, epochs=3, batch_size=30, validation_data=(X[:20], y[:20]), initial_epoch=4)
    assert isinstance(hist, History) and len(hist) == 3
    assert hist.epoch == [4, 5, 6]
    assert all(0.0 <= a <= 1.0 for a in hist.accuracy)  # type: ignore[operator]
    assert hist.val_loss[-1] == pytest.approx(net.evaluate(X[:20], y[:20])["loss"], rel=1e-6)
    assert hist.val_accuracy[-1] == pytest.approx(net.evaluate(X[:20], y[:20])["accuracy"])
    d = hist.to_dict()
    assert d == {
        "epoch": [4, 5, 6],
        "loss": hist.loss,
        "accuracy": hist.accuracy,
        "val_loss": hist.val_loss,
        "val_accuracy": hist.val_accuracy,
        "stopped_early": False,
        "best_epoch": None,
    }
    plain = net.fit(X, y, epochs=2)
    assert plain.val_loss == [None, None] and plain.val_accuracy == [None, None]


def test_callback_sees_records_and_can_stop(blobs: Data) -> None:
    X, y = blobs
    seen: list[dict[str, Any]] = []

    def cb(record: dict[str, Any]) -> bool | None:
        seen.append(record)
        return False if record["epoch"] == 1 else None

    net = Network.init(Spec.mlp(4, [8], 3), seed=0)
    hist = net.fit(X, y, epochs=5, callback=cb, validation_data=(X, y))
    assert len(hist) == 2 and hist.stopped_early
    assert [r["epoch"] for r in seen] == [0, 1]
    assert set(seen[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    assert seen[1]["loss"] == hist.loss[1]
    # The network keeps the updates of the epochs that ran.
    assert net.optimizer_state is not None
    assert net.optimizer_state.step == 2 * int(np.ceil(90 / 32))
    # Truthy and None return values continue.
    full = net.fit(X, y, epochs=3, callback=lambda r: 1)
    assert len(full) == 3 and not full.stopped_early


def test_callback_exception_propagates_and_leaves_network_unchanged(blobs: Data) -> None:
    X, y = blobs
    net = Network.init(Spec.mlp(4, [8], 3), seed=0)
    before = dict(net.params)
    calls = []

    class BoomError(Exception):
        pass

    def cb(record: dict[str, Any]) -> None:
        calls.append(record["epoch"])
        if record["epoch"] == 1:
            raise BoomError("stop")

    with pytest.raises(BoomError, match="stop"):
        net.fit(X, y, epochs=5, callback=cb)
    assert calls == [0, 1]
    assert_bitwise_equal(net.params, before)
    assert net.optimizer_state is None
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, epochs=2, callback=lambda r: (_ for _ in ()).throw(KeyboardInterrupt()))


def test_progress_bar(blobs: Data, capsys: pytest.CaptureFixture[str]) -> None:
    X, y = blobs
    net = Network.init(Spec.mlp(4, [8], 3), seed=0)
    quiet = net.copy()
    hist = net.fit(X, y, epochs=2, progress=True, validation_data=(X, y))
    quiet.fit(X, y, epochs=2)
    err = capsys.readouterr().err
    assert "epoch" in err and "2/2" in err
    assert len(hist) == 2
    assert_bitwise_equal(net.params, quiet.params)


def _unaligned(a: np.ndarray) -> np.ndarray:
    """``a``'s values in a C-contiguous buffer one byte off its element alignment."""
    raw = np.zeros(a.nbytes + 1, np.uint8)
    out = np.frombuffer(raw[1:].data, dtype=a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned and out.flags.c_contiguous
    return out


def test_unaligned_buffers_are_accepted_like_aligned_ones() -> None:
    # Packed buffers (e.g. arrays unpickled from a message) used to be refused with a
    # misleading "expected a C-contiguous 2-D array".
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    a = Network.init(Spec.mlp(6, [5], 3), seed=0)
    b = Network.init(Spec.mlp(6, [5], 3), seed=0)
    a.fit(X, y, epochs=2, seed=0)
    b.fit(_unaligned(X), _unaligned(y), epochs=2, seed=0)
    np.testing.assert_array_equal(a.forward(X), b.forward(_unaligned(X)))
    assert a.evaluate(X, y) == b.evaluate(_unaligned(X), _unaligned(y))
