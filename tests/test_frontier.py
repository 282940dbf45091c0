"""The static frontier protocol (``neuroplast.frontier``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Spec
from neuroplast.errors import ConfigError, DataError
from neuroplast.frontier import Frontier, prepare, static_sweep, train_static


def _blobs(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 5)) + 3.0 * y[:, None]
    return X, y + 10  # labels need not start at 0


def test_prepare_follows_the_protocol() -> None:
    X, y = _blobs()
    s = prepare(X, y)
    assert s.X_test is not None and s.y_test is not None
    assert len(s.y_test) == 60 and len(s.y_val) + len(s.y_train) == 240
    assert len(s.y_val) == 36
    assert set(np.unique(s.y_train)) == {0, 1, 2}
    # Standardized on the training part of the 80 % (train + validation) split.
    both = np.concatenate([s.X_train, s.X_val])
    assert np.allclose(both.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(both.std(axis=0), 1, atol=1e-4)


@pytest.mark.parametrize(
    "X, y",
    [
        (np.ones((10, 2)), np.ones(9, int)),
        (np.full((10, 2), np.nan), np.zeros(10, int)),
        (np.ones((10, 2)), np.linspace(0, 1, 10)),
        (np.array([["a", "b"]] * 10), np.zeros(10, int)),
    ],
)
def test_prepare_refuses_bad_data(X: np.ndarray, y: np.ndarray) -> None:
    with pytest.raises(DataError):
        prepare(X, y)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(10, 10**6), st.floats(0, 1)),
        min_size=1,
        max_size=8,
        unique_by=lambda t: t[0],
    ),
    st.integers(10, 10**6),
)
def test_frontier_is_monotone_envelope(points: list[tuple[int, float]], query: int) -> None:
    rows = [{"n_params": p, "test_accuracy": a} for p, a in points]
    f = Frontier.from_points(rows)
    # Never below a static network no larger than the query, never above the best one.
    below = [a for p, a in points if p <= query]
    assert f(query) >= max(below, default=-1.0) - 1e-12
    assert f(query) <= max(a for _, a in points) + 1e-12
    assert f.delta(query, f(query)) == pytest.approx(0.0)


def test_static_sweep_rows() -> None:
    X, y = _blobs(200)
    rows = static_sweep(prepare(X, y), seeds=(0,), widths=((4,), (8, 8)))
    assert [r["method"] for r in rows] == ["static 4", "static 8-8"]
    assert rows[0]["n_params"] == 5 * 4 + 4 + 4 * 3 + 3
    assert all(0.5 < r["test_accuracy"] <= 1.0 for r in rows)


def test_static_cnn_sweep_trains_spec_cnn_on_flattened_images() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    images = rng.normal(size=(120, 1, 6, 6)).astype(np.float32)
    images[:, 0, :3, :3] += 2.0 * y[:, None, None]  # class 1 lights the top-left corner
    splits = prepare(images.reshape(120, -1), y)
    rows = static_sweep(splits, seeds=(0,), widths=((2, 3),), input_shape=(1, 6, 6))
    assert [r["method"] for r in rows] == ["static cnn 2-3"]
    assert rows[0]["n_params"] == Spec.cnn((1, 6, 6), [2, 3], 2).n_params
    assert rows[0]["test_accuracy"] > 0.6
    with pytest.raises(ConfigError, match="input_shape"):
        train_static((2,), splits, 0, input_shape=(1, 5, 5))
