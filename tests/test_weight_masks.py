"""``Network.fit(weight_masks=...)``: training on a fixed support."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec
from neuroplast.errors import ConfigError, DTypeError, ShapeError
from neuroplast.optim import SGD, Adam


def _data(n_in: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in)).astype(np.float32)
    return X, (X[:, 0] + X[:, -1] > 0).astype(np.int64)


def _random_masks(net: Network, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        name: (rng.random(p.shape) < 0.5).astype(np.float32)
        for name, p in net.params.items()
        if name.endswith(".weight")
    }


@settings(max_examples=25, deadline=None)
@given(
    n_in=st.integers(1, 6),
    widths=st.lists(st.integers(1, 7), min_size=1, max_size=2),
    seed=st.integers(0, 2**16),
    batch=st.integers(1, 9),
)
def test_masked_entries_stay_zero_and_ones_change_nothing(
    n_in: int, widths: list[int], seed: int, batch: int
) -> None:
    X, y = _data(n_in, 23, seed)
    net = Network.init(Spec.mlp(n_in, widths, 2), seed=seed)
    masks = _random_masks(net, seed)
    masked = net.copy()
    masked.fit(
        X, y, epochs=2, batch_size=batch, optimizer=Adam(lr=1e-2), seed=seed, weight_masks=masks
    )
    state = masked.optimizer_state
    assert state is not None and state.kind == "adam"
    for name, m in masks.items():
        assert np.all(masked.params[name][m == 0] == 0)
        # Dropped gradients leave the masked entries' moments at zero.
        for buffer in state.slots[name].values():
            assert np.all(buffer[m == 0] == 0)
    # An all-ones mask trains bitwise like no mask.
    ones = {name: np.ones_like(m) for name, m in masks.items()}
    a, b = net.copy(), net.copy()
    a.fit(X, y, epochs=2, batch_size=batch, seed=seed)
    b.fit(X, y, epochs=2, batch_size=batch, seed=seed, weight_masks=ones)
    for name, value in a.params.items():
        assert value.tobytes() == b.params[name].tobytes()


def test_one_sgd_step_matches_the_numpy_reference() -> None:
    X, y = _data(5, 16, 0)
    net = Network.init(Spec.mlp(5, [6], 3), seed=1)
    masks = _random_masks(net, 1)
    start = Network(net.spec, {k: v * masks.get(k, 1) for k, v in net.params.items()})
    _, grads = start.gradients(X, y)
    lr = 0.1
    net.fit(X, y, epochs=1, batch_size=16, shuffle=False, optimizer=SGD(lr=lr), weight_masks=masks)
    for name, w in start.params.items():
        m = masks.get(name, np.ones_like(w))
        expected = (w - lr * grads[name] * m) * m
        np.testing.assert_allclose(net.params[name], expected, rtol=1e-6, atol=1e-7)


def test_masks_hold_through_weight_decay_and_early_stopping() -> None:
    X, y = _data(4, 60, 2)
    net = Network.init(Spec.mlp(4, [8], 2), seed=2)
    masks = _random_masks(net, 2)
    hist = net.fit(
        X[:40],
        y[:40],
        epochs=30,
        optimizer=SGD(lr=0.05, momentum=0.9, weight_decay=0.1),
        validation_data=(X[40:], y[40:]),
        patience=2,
        weight_masks=masks,
    )
    assert hist.best_epoch is not None
    for name, m in masks.items():
        assert np.all(net.params[name][m == 0] == 0)
        assert np.any(net.params[name][m == 1] != 0)


def test_bad_masks_are_typed_errors() -> None:
    X, y = _data(3, 10, 0)
    net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    w = np.ones((4, 3), np.float32)
    cases: list[tuple[dict[str, object], type[Exception]]] = [
        ({"dense_9.weight": w}, ConfigError),
        ({"dense_0.weight": np.ones((3, 4))}, ShapeError),
        ({"dense_0.weight": w * 0.5}, ConfigError),
        ({"dense_0.weight": np.full((4, 3), np.nan)}, ConfigError),
        ({"dense_0.weight": np.full((4, 3), "a")}, DTypeError),
    ]
    before = {k: v.copy() for k, v in net.params.items()}
    for masks, error in cases:
        with pytest.raises(error):
            net.fit(X, y, epochs=1, weight_masks=masks)  # type: ignore[arg-type]
    for name, value in before.items():
        assert np.array_equal(net.params[name], value)  # a refused call trains nothing
