"""The core's float64 SVD and least squares (``neuroplast._linalg``) against ``numpy.linalg``."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast._linalg import lstsq, svd
from neuroplast.errors import DataError, DTypeError, ShapeError

F64 = npt.NDArray[np.float64]

problems = st.tuples(
    st.integers(1, 30), st.integers(1, 30), st.integers(0, 30), st.integers(0, 2**32 - 1)
)


def low_rank(rng: np.random.Generator, m: int, n: int, r: int) -> F64:
    """``m × n`` of rank ``min(r, m, n)`` (a full-rank random matrix for ``r = 0``)."""
    if r == 0:
        return rng.normal(size=(m, n))
    return rng.normal(size=(m, r)) @ rng.normal(size=(r, n))


@settings(max_examples=50, deadline=None)
@given(problems, st.booleans())
def test_svd_matches_numpy(problem: tuple[int, int, int, int], full: bool) -> None:
    m, n, r, seed = problem
    a = low_rank(np.random.default_rng(seed), m, n, r)
    u, s, vt = svd(a, full_matrices=full)
    u_ref, s_ref, vt_ref = np.linalg.svd(a, full_matrices=full)
    assert u.shape == u_ref.shape and s.shape == s_ref.shape and vt.shape == vt_ref.shape
    scale = max(1.0, s_ref[0])
    np.testing.assert_allclose(s, s_ref, rtol=0, atol=1e-12 * scale)
    k = len(s)
    np.testing.assert_allclose((u[:, :k] * s) @ vt[:k], a, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-12)
    np.testing.assert_allclose(vt @ vt.T, np.eye(vt.shape[0]), atol=1e-12)
    big = np.argmax(np.abs(u), axis=0)
    assert np.all(u[big, np.arange(u.shape[1])] > 0)
    # Vectors of well-separated nonzero singular values match NumPy's after its sign fix.
    u_fix = u_ref * np.sign(u_ref[np.argmax(np.abs(u_ref), axis=0), np.arange(u_ref.shape[1])])
    for j in range(k):
        near = [s_ref[i] for i in (j - 1, j + 1) if 0 <= i < k]
        if s_ref[j] > 1e-8 * scale and all(abs(s_ref[j] - x) > 1e-4 * scale for x in near):
            np.testing.assert_allclose(u[:, j], u_fix[:, j], atol=1e-6)


def test_svd_sign_convention_matches_morph_svd() -> None:
    a = np.array([[1.0, -2.0, 0.5], [-3.0, 0.25, 1.0], [0.5, 0.5, -4.0]])
    u, s, vt = svd(a, full_matrices=True)
    u_ref, _, _ = np.linalg.svd(a, full_matrices=True)
    big = np.argmax(np.abs(u_ref), axis=0)
    u_ref = u_ref * np.sign(u_ref[big, np.arange(3)])  # neuroplast.morph.svd's convention
    np.testing.assert_allclose(u, u_ref, atol=1e-12)
    np.testing.assert_allclose(u @ np.diag(s) @ vt, a, atol=1e-12)


def test_svd_is_deterministic() -> None:
    a = np.random.default_rng(1).normal(size=(40, 25))
    first = svd(a, full_matrices=False)
    for x, y in zip(first, svd(a.copy(), full_matrices=False), strict=True):
        assert np.array_equal(x, y)


@settings(max_examples=60, deadline=None)
@given(problems, st.integers(1, 3), st.booleans())
def test_lstsq_matches_numpy(problem: tuple[int, int, int, int], nrhs: int, vector: bool) -> None:
    """Well-conditioned, over/underdetermined and rank-deficient: NumPy's minimum-norm answer."""
    m, n, r, seed = problem
    rng = np.random.default_rng(seed)
    a = low_rank(rng, m, n, r)
    b = rng.normal(size=m) if vector else rng.normal(size=(m, nrhs))
    x = lstsq(a, b)
    ref = np.linalg.lstsq(a, b, rcond=None)[0]
    assert x.shape == ref.shape
    s = np.linalg.svd(a, compute_uv=False)
    kept = s[s > max(m, n) * np.finfo(float).eps * s[0]]
    if kept[-1] < 1e-6 * kept[0]:
        return  # ill-conditioned draw: 1e-8 agreement is not expected of either solver
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-8 * max(1.0, float(np.abs(ref).max())))


def test_lstsq_minimum_norm_and_zero_matrix() -> None:
    a = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    np.testing.assert_allclose(lstsq(a, np.array([1.0, 2.0, 3.0])), [0.5, 0.5], atol=1e-14)
    assert lstsq(np.zeros((3, 2)), np.ones(3)).tolist() == [0.0, 0.0]
    np.testing.assert_allclose(lstsq(np.eye(3) * 2.0, np.eye(3)), np.eye(3) / 2.0, atol=1e-15)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: svd(np.zeros(3), full_matrices=False), ShapeError),
        (lambda: svd(np.zeros((0, 3)), full_matrices=False), ShapeError),
        (lambda: svd(np.array([[1.0, np.nan]]), full_matrices=True), DataError),
        (lambda: svd(np.array([["a"]]), full_matrices=True), DTypeError),
        (lambda: lstsq(np.eye(2), np.ones(3)), ShapeError),
        (lambda: lstsq(np.eye(2), np.ones((2, 2, 1))), ShapeError),
        (lambda: lstsq(np.eye(2), np.array([1.0, np.inf])), DataError),
        (lambda: lstsq(np.ones((2, 2, 2)), np.ones(2)), ShapeError),
        (lambda: lstsq(np.zeros((2, 0)), np.ones(2)), ShapeError),
    ],
)
def test_errors_are_typed(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()
