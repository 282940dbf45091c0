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
    auxiliary_gradient,
    auxiliary_gradient_singular_values,
    cosine_redundancy,
    effective_dimension,
    numerical_rank,
    orthogonality_gap,
    removable_units,
    singular_values,
    unit_statistics,
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


@pytest.mark.parametrize("shape", [(300, 300), (40, 600), (600, 40)])
def test_orthogonality_gap_on_larger_matrices(shape: tuple[int, int]) -> None:
    h = np.random.default_rng(13).normal(size=shape).astype(np.float32)
    h[:, :5] += 3.0  # correlated samples: a gap well above 0
    ref = gap_reference(h.astype(np.float64))
    assert orthogonality_gap(h) == pytest.approx(ref, rel=1e-9)


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


@settings(max_examples=40, deadline=None)
@given(shapes, st.integers(0, 2**32 - 1))
def test_rank_counts_match_numpy_between_separated_values(
    shape: tuple[int, int, int, int], seed2: int
) -> None:
    """Inertia counts vs NumPy's SVD, with thresholds midway (geometrically) between values."""
    m, n, r, seed = shape
    rng = np.random.default_rng(seed ^ seed2)
    s = np.sort(4.0 ** rng.uniform(-4, 3, size=r))[::-1]  # separated by >= ~1.2x typically
    a = with_spectrum(rng, m, n, s).astype(np.float32)
    ref = np.linalg.svd(a.astype(np.float64), compute_uv=False)
    gaps = [(ref[i], ref[i + 1]) for i in range(len(ref) - 1) if ref[i] > 1.5 * ref[i + 1]]
    for hi, lo in gaps:
        if lo < 1e-4 * ref[0]:  # below f32 rounding of the data: not a meaningful count
            continue
        t = float(np.sqrt(hi * lo))
        assert numerical_rank(a, eps=t) == int(np.sum(ref > t))
    assert numerical_rank(a, eps=2 * ref[0] + 1.0) == 0


@pytest.mark.parametrize("shape", [(4096, 64), (300, 300), (200, 260)])
def test_effective_dimension_count_route_on_larger_matrices(shape: tuple[int, int]) -> None:
    n, units = shape
    rng = np.random.default_rng(9)
    r = min(n, units) // 2
    h = (rng.normal(size=(n, r)) @ rng.normal(size=(r, units))).astype(np.float32)
    h += 1e-4 * rng.normal(size=h.shape).astype(np.float32)
    ref = np.linalg.svd(h.astype(np.float64), compute_uv=False)
    if n >= units:
        assert effective_dimension(h) == int(np.sum(ref / np.sqrt(n) > 0.01)) / units == r / units
    for t in (1.0, 0.5 * ref[r - 1], 0.5 * ref[0]):
        assert numerical_rank(h, eps=t) == int(np.sum(ref > t))


def test_threshold_at_a_singular_value_counts_strictly() -> None:
    a = np.diag([4.0, 2.0, 1.0, 0.5])
    assert [numerical_rank(a, eps=e) for e in (4.0, 2.0, 1.0, 0.5, 0.0)] == [0, 1, 2, 3, 4]


def aux_reference(g: F64, h: F64) -> tuple[F64, F64]:
    m = g.astype(np.float32).astype(np.float64).T @ h.astype(np.float32).astype(np.float64)
    u, s, _ = np.linalg.svd(m)
    return s, u


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_auxiliary_gradient_matches_numpy(n: int, p: int, q: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    g, h = rng.normal(size=(n, p)), rng.normal(size=(n, q))
    s_ref, u_ref = aux_reference(g, h)
    np.testing.assert_allclose(auxiliary_gradient_singular_values(g, h), s_ref, atol=1e-9)
    k = p if seed % 2 else max(1, min(p, q) // 2)
    aux = auxiliary_gradient(g, h, k=k)
    np.testing.assert_allclose(aux.singular_values, s_ref, atol=1e-9)
    assert aux.vectors is not None and aux.vectors.shape == (p, k)
    np.testing.assert_allclose(aux.vectors.T @ aux.vectors, np.eye(k), atol=1e-10)
    big = np.argmax(np.abs(aux.vectors), axis=0)
    assert np.all(aux.vectors[big, np.arange(k)] > 0)
    # Vectors of well-separated singular values equal NumPy's up to sign.
    for j in range(min(k, len(s_ref))):
        neighbours = [s_ref[i] for i in (j - 1, j + 1) if 0 <= i < len(s_ref)]
        if s_ref[j] > 1e-6 and all(abs(s_ref[j] - x) > 1e-3 * s_ref[0] for x in neighbours):
            dot = abs(float(aux.vectors[:, j] @ u_ref[:, j]))
            assert dot == pytest.approx(1.0, abs=1e-6)


def test_auxiliary_gradient_fixture_and_errors() -> None:
    g = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    h = np.array([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0], [5.0, 5.0, 5.0]])
    aux = auxiliary_gradient(g, h, k=2)  # M = [[3, 0, 0], [0, 2, 0]]
    assert aux.singular_values.tolist() == [3.0, 2.0]
    assert aux.vectors is not None and np.array_equal(aux.vectors, np.eye(2))
    assert auxiliary_gradient(g, h).vectors is None
    with pytest.raises(ShapeError):
        auxiliary_gradient(g, h[:2])
    with pytest.raises(ConfigError):
        auxiliary_gradient(g, h, k=3)
    with pytest.raises(ConfigError):
        auxiliary_gradient(g, h, k=0)
    with pytest.raises(DataError):
        auxiliary_gradient(g * np.nan, h)


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (50, 20)])
def test_unit_statistics_match_numpy(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(10)
    h = np.maximum(rng.normal(size=shape), 0.0) + 3.0 * (rng.random(shape) < 0.1)
    h[:, 0] = 0.0  # a dormant unit
    st_ = unit_statistics(h)
    np.testing.assert_allclose(st_.mean, h.mean(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(st_.std, h.std(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(st_.max_abs, np.abs(h).max(axis=0))
    np.testing.assert_allclose(st_.mean_abs, np.abs(h).mean(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(st_.zero_fraction, np.mean(h == 0, axis=0))
    assert st_.zero_fraction[0] == 1.0


def test_unit_statistics_flatten_conv_channels() -> None:
    x = np.random.default_rng(11).normal(size=(2, 3, 4, 5)).astype(np.float32)
    flat = np.moveaxis(x, 1, -1).reshape(-1, 3)
    np.testing.assert_allclose(unit_statistics(x).std, flat.astype(np.float64).std(axis=0))


def _cosine_reference(a: np.ndarray, n_remove: int) -> list[int]:
    """The rule written out in NumPy: dormant, then exact duplicates, then the greedy norm."""
    alive = [u for u in range(a.shape[1]) if a[:, u].any()]
    removed = [u for u in range(a.shape[1]) if not a[:, u].any()][:n_remove]
    b = a[:, alive] / np.linalg.norm(a[:, alive], axis=0)
    c = b.T @ b
    left = list(range(len(alive)))
    for j in range(1, len(alive)):
        if len(removed) < n_remove and any(c[i, j] >= 1 - 1e-9 for i in left if i < j):
            left.remove(j)
            removed.append(alive[j])
    while len(removed) < n_remove:
        scores = np.sum(c[np.ix_(left, left)] ** 2, axis=1)
        # Ties (relative 1e-10, so rounding cannot decide them) go to the lower index.
        best = int(np.flatnonzero(scores >= scores.max() * (1 - 1e-10))[0])
        removed.append(alive[left.pop(best)])
    return removed


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(1, 16), st.integers(0, 2**32 - 1), st.data())
def test_cosine_redundancy_matches_the_numpy_rule(
    n: int, units: int, seed: int, data: st.DataObject
) -> None:
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(n, units))
    dead = rng.random(units) < 0.2
    h[:, dead] = 0.0
    for u in range(1, units):  # plant positive multiples of earlier units
        if rng.random() < 0.25:
            h[:, u] = rng.uniform(0.5, 3.0) * h[:, rng.integers(0, u)]
    n_remove = data.draw(st.integers(0, units - 1))
    ours = cosine_redundancy(h, n_remove)
    assert ours.dtype == np.int64
    assert ours.tolist() == _cosine_reference(h, n_remove)


def test_cosine_redundancy_duplicates_and_errors() -> None:
    base = np.random.default_rng(12).normal(size=(30, 3))
    h = np.hstack([base, base[:, :1] * 2.0, np.zeros((30, 1))])  # unit 3 = 2·unit 0, 4 dormant
    assert cosine_redundancy(h, 2).tolist() == [4, 3]  # dormant, then the duplicate of unit 0
    h[:, 3] *= -1.0  # anti-parallel is no duplicate: rows of 0 and 3 tie, the lower index wins
    assert cosine_redundancy(h, 2).tolist() == [4, 0]
    assert cosine_redundancy(h, 0).tolist() == []
    with pytest.raises(ConfigError):
        cosine_redundancy(h, 6)
    with pytest.raises(ShapeError):
        cosine_redundancy(np.zeros((0, 3)), 0)
    with pytest.raises(DataError):
        unit_statistics(np.array([[np.inf]]))
