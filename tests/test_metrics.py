"""Spectral metrics against NumPy's SVD and the closed-form fixtures of the thesis digest."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroplast
from neuroplast.errors import ConfigError, DataError, DTypeError, ShapeError
from neuroplast.metrics import (
    effective_dimension,
    numerical_rank,
    orthogonality_gap,
    removable_units,
    singular_values,
)

F64 = npt.NDArray[np.float64]


def orthonormal(rng: np.random.Generator, n: int, k: int) -> F64:
    """``n × k`` with orthonormal columns (``k <= n``)."""
    q, _ = np.linalg.qr(rng.normal(size=(n, k)))
    return q


def with_spectrum(rng: np.random.Generator, m: int, n: int, s: F64) -> F64:
    """``m × n`` matrix whose nonzero singular values are exactly ``s`` (up to rounding)."""
    k = len(s)
    return (orthonormal(rng, m, k) * s) @ orthonormal(rng, n, k).T


shapes = st.tuples(st.integers(1, 48), st.integers(1, 48)).flatmap(
    lambda mn: st.tuples(
        st.just(mn[0]), st.just(mn[1]), st.integers(0, min(mn)), st.integers(0, 2**32 - 1)
    )
)


@settings(max_examples=60, deadline=None)
@given(shapes, st.sampled_from([np.float32, np.float64]))
def test_singular_values_match_numpy(shape: tuple[int, int, int, int], dtype: Any) -> None:
    m, n, r, seed = shape
    rng = np.random.default_rng(seed)
    a = with_spectrum(rng, m, n, rng.uniform(0.5, 5.0, size=r)).astype(dtype)
    if r == 0:
        a = rng.normal(size=(m, n)).astype(dtype)  # full rank instead of all-zero
    ours = singular_values(a)
    ref = np.linalg.svd(a.astype(np.float32).astype(np.float64), compute_uv=False)
    assert ours.dtype == np.float64
    assert ours.shape == (min(m, n),)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * max(1.0, ref[0]))


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 7), (8, 16), (16, 8), (3, 64)])
def test_singular_values_edge_shapes(shape: tuple[int, int]) -> None:
    a = np.random.default_rng(0).normal(size=shape)
    ref = np.linalg.svd(a.astype(np.float32).astype(np.float64), compute_uv=False)
    np.testing.assert_allclose(singular_values(a), ref, atol=1e-6 * ref[0])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 24), st.integers(0, 24), st.integers(0, 200), st.integers(0, 2**32 - 1))
def test_rank_r_activations_give_r_over_m(units: int, r: int, extra: int, seed: int) -> None:
    """Issue 4's fixture: H = A·B of rank r gives φ_ED = r/M (thesis eq. 27)."""
    r = min(r, units)
    n = units + extra
    rng = np.random.default_rng(seed)
    h = with_spectrum(rng, n, units, rng.uniform(1.0, 3.0, size=r) * np.sqrt(n))
    if r == 0:
        h = np.zeros((n, units))
    assert effective_dimension(h) == pytest.approx(r / units, abs=1e-12)
    assert numerical_rank(h, eps=0.01 * np.sqrt(n)) == r
    # A unit in the span of the others leaves the count unchanged.
    h2 = np.hstack([h, h[:, :1] - 2.0 * h[:, -1:]])
    if n >= units + 1:
        assert effective_dimension(h2) == pytest.approx(r / (units + 1), abs=1e-12)


def test_effective_dimension_threshold_is_scaled_by_sqrt_samples() -> None:
    n = 400
    s = np.array([2.0, 0.02, 0.005]) * np.sqrt(n)  # scaled: 2, 0.02, 0.005 vs ε = 0.01
    h = with_spectrum(np.random.default_rng(1), n, 3, s)
    assert effective_dimension(h) == pytest.approx(2 / 3)
    assert effective_dimension(h, eps=0.001) == 1.0
    assert effective_dimension(h, eps=0.5) == pytest.approx(1 / 3)


def test_conv_activations_flatten_channels_as_units() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5, 4, 4))  # N, C, H, W
    x[:, 4] = x[:, 0] + x[:, 1]  # channel 4 redundant
    flat = np.moveaxis(x, 1, -1).reshape(-1, 5)  # (N·H·W, C)
    assert effective_dimension(x) == effective_dimension(flat) == pytest.approx(4 / 5)
    assert orthogonality_gap(x) == pytest.approx(orthogonality_gap(x.reshape(3, -1)))


def test_weights_effective_dimension() -> None:
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    b = np.array([0.0, 0.0, 1.0, -3.0])
    assert effective_dimension(w, kind="weights") == 0.5
    assert effective_dimension(w, kind="weights", bias=b) == 0.75
    # Rank bound (digest 6.1.3): φ_w <= (fan_in + 1) / M.
    wide = np.random.default_rng(3).normal(size=(20, 4))
    bias = np.random.default_rng(4).normal(size=20)
    assert effective_dimension(wide, kind="weights", bias=bias) == pytest.approx(5 / 20)
    kernel = np.random.default_rng(5).normal(size=(6, 2, 3, 3))
    assert effective_dimension(kernel, kind="weights") == 1.0


def gap_reference(h: F64) -> float:
    g = h @ h.T / np.sum(h * h)
    n = h.shape[0]
    return float(np.linalg.norm(g - np.eye(n) / n))


@pytest.mark.parametrize("n", [1, 2, 10, 100])
def test_orthogonality_gap_of_identical_samples(n: int) -> None:
    h = np.tile(np.array([[1.0, -2.0, 0.5]]), (n, 1))
    assert orthogonality_gap(h) == pytest.approx(np.sqrt(1 - 1 / n), abs=1e-9)
    assert orthogonality_gap(h, as_metric=True) == pytest.approx(1 - np.sqrt(1 - 1 / n))
    if n == 10:
        assert orthogonality_gap(h) == pytest.approx(0.948683, abs=1e-6)


def test_orthogonality_gap_of_orthonormal_samples_is_zero() -> None:
    h = orthonormal(np.random.default_rng(6), 12, 5).T  # 5 orthonormal samples
    assert orthogonality_gap(h) == pytest.approx(0.0, abs=1e-6)
    assert orthogonality_gap(h, as_metric=True) == pytest.approx(1.0, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_orthogonality_gap_matches_definition(n: int, features: int, seed: int) -> None:
    h = np.random.default_rng(seed).normal(size=(n, features)).astype(np.float32)
    ref = gap_reference(h.astype(np.float64))
    assert orthogonality_gap(h) == pytest.approx(ref, abs=1e-6)


def test_removable_units_thresholds() -> None:
    rng = np.random.default_rng(7)
    # 0.005·100 = 0.5 > 0.4, 0.29 < 0.3: the last three are removable.
    s = np.array([100.0, 10.0, 0.4, 0.29, 0.001])
    w = with_spectrum(rng, 5, 8, s)
    assert removable_units(w) == 3
    assert removable_units(s) == 3
    assert removable_units(s, eps_abs=0.0, eps_rel=0.0) == 0
    # The relative threshold dominates for a large σ₁.
    assert removable_units(np.array([1000.0, 6.0, 4.9, 1.0])) == 2
    assert removable_units(np.array([1.0, 0.31, 0.299])) == 1
    kernel = rng.normal(size=(4, 2, 3, 3))
    kernel[3] = 0.0
    assert removable_units(kernel) == 1


def test_threads_give_the_same_result(restore_threads: None) -> None:
    a = np.random.default_rng(8).normal(size=(300, 40)).astype(np.float32)
    neuroplast.set_num_threads(1)
    one = singular_values(a)
    neuroplast.set_num_threads(2)
    np.testing.assert_allclose(singular_values(a), one, rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: singular_values(np.zeros(3)), ShapeError),
        (lambda: singular_values(np.zeros((2, 2, 2))), ShapeError),
        (lambda: singular_values(np.zeros((0, 3))), ShapeError),
        (lambda: singular_values(np.array([[1.0, np.nan]])), DataError),
        (lambda: singular_values(np.array([[1.0, np.inf]])), DataError),
        (lambda: singular_values(np.array([[1e300]])), DataError),
        (lambda: singular_values(np.array([["a"]])), DTypeError),
        (lambda: numerical_rank(np.eye(2), eps=-1.0), ConfigError),
        (lambda: numerical_rank(np.eye(2), eps=float("nan")), ConfigError),
        (lambda: numerical_rank(np.eye(2), eps=True), ConfigError),
        (lambda: effective_dimension(np.ones((2, 3))), DataError),
        (lambda: effective_dimension(np.eye(3), kind="bogus"), ConfigError),  # type: ignore[arg-type]
        (lambda: effective_dimension(np.eye(3), bias=np.zeros(3)), ConfigError),
        (lambda: effective_dimension(np.eye(3), kind="weights", bias=np.zeros(2)), ShapeError),
        (lambda: effective_dimension(np.eye(3), eps="x"), ConfigError),  # type: ignore[arg-type]
        (lambda: effective_dimension(np.ones((2, 3, 4))), ShapeError),
        (lambda: orthogonality_gap(np.zeros((3, 2))), DataError),
        (lambda: orthogonality_gap(np.zeros((0, 2))), ShapeError),
        (lambda: removable_units(np.array([1.0, np.nan])), DataError),
        (lambda: removable_units(np.array([1.0, -0.5])), DataError),
        (lambda: removable_units(np.array([])), ShapeError),
        (lambda: removable_units(np.eye(2), eps_abs=-0.3), ConfigError),
        (lambda: removable_units(np.eye(2), eps_rel=float("inf")), ConfigError),
    ],
)
def test_errors_are_typed(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()
