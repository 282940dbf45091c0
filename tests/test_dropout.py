"""Inverted dropout in ``Network.fit``: off by default, seeded, training only, validated."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroplast
from neuroplast import ConfigError, Network, Spec
from neuroplast.testing import assert_bitwise_equal, same_network


def _data(n: int = 96, d: int = 6, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)


def _fit(dropout: float, seed: int = 0, threads: int | None = None, **kw: object) -> Network:
    X, y = _data()
    net = Network.init(Spec.mlp(6, [12, 8], 3), seed=0)
    before = neuroplast.get_num_threads()
    if threads is not None:
        neuroplast.set_num_threads(threads)
    try:
        net.fit(X, y, epochs=3, batch_size=16, seed=seed, dropout=dropout, **kw)  # type: ignore[arg-type]
    finally:
        neuroplast.set_num_threads(before)
    return net


def test_zero_dropout_is_plain_training() -> None:
    X, y = _data()
    plain = Network.init(Spec.mlp(6, [12, 8], 3), seed=0)
    plain.fit(X, y, epochs=3, batch_size=16, seed=0)
    assert_bitwise_equal(plain.params, _fit(0.0).params)


@settings(max_examples=10, deadline=None)
@given(rate=st.floats(0.05, 0.9), seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_run_other_seed_other_run(rate: float, seed: int) -> None:
    a, b = _fit(rate, seed), _fit(rate, seed)
    assert_bitwise_equal(a.params, b.params)
    c = _fit(rate, seed + 1)
    assert not same_network(a, c)


def test_independent_of_the_thread_count() -> None:
    assert_bitwise_equal(_fit(0.5, threads=1).params, _fit(0.5, threads=2).params)


def test_dropout_changes_training_but_not_inference() -> None:
    X, _ = _data()
    plain, dropped = _fit(0.0), _fit(0.5)
    assert not same_network(plain, dropped)
    # Inference is deterministic: no dropout outside fit.
    np.testing.assert_array_equal(dropped.forward(X), dropped.forward(X))


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2.0, float("nan"), "0.5", True, None])
def test_invalid_rates_are_refused_before_training(bad: object) -> None:
    X, y = _data()
    net = Network.init(Spec.mlp(6, [12], 3), seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ConfigError, match="dropout"):
        net.fit(X, y, epochs=1, dropout=bad)  # type: ignore[arg-type]
    assert_bitwise_equal(before, net.params)
