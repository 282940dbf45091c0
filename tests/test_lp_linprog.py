"""``neuroplast.lp.linprog`` against ``scipy.optimize.linprog(method="highs")``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroplast as npl
from neuroplast.errors import ConfigError, DataError, ResourceLimitError, ShapeError
from neuroplast.lp import LinprogResult, linprog

scipy_optimize = pytest.importorskip("scipy.optimize")

METHODS = ["simplex", "ipm", "auto"]
BOUND_CHOICES = [(0, None), (None, None), (-2, 3), (None, 4), (1, 1), (-1, None), (0, 2)]


@st.composite
def lps(draw: st.DrawFn) -> dict[str, Any]:
    """Small LPs with integer data: feasible, infeasible, unbounded and degenerate ones."""
    n = draw(st.integers(1, 6))
    m_ub = draw(st.integers(0, 6))
    m_eq = draw(st.integers(0, 3))
    coef = st.integers(-3, 3)
    c = np.array(draw(st.lists(coef, min_size=n, max_size=n)), dtype=float)
    a_ub = np.array(draw(st.lists(coef, min_size=m_ub * n, max_size=m_ub * n)), dtype=float)
    a_ub = a_ub.reshape(m_ub, n)
    b_ub = np.array(draw(st.lists(st.integers(-2, 6), min_size=m_ub, max_size=m_ub)), dtype=float)
    a_eq = np.array(draw(st.lists(coef, min_size=m_eq * n, max_size=m_eq * n)), dtype=float)
    a_eq = a_eq.reshape(m_eq, n)
    b_eq = np.array(draw(st.lists(st.integers(-3, 3), min_size=m_eq, max_size=m_eq)), dtype=float)
    if m_ub and draw(st.booleans()):
        # Degeneracy: duplicated rows and an all-zero row.
        a_ub = np.vstack([a_ub, a_ub[:1], np.zeros((1, n))])
        b_ub = np.concatenate([b_ub, b_ub[:1], [0.0]])
    bounds = [draw(st.sampled_from(BOUND_CHOICES)) for _ in range(n)]
    return {
        "c": c,
        "A_ub": a_ub if a_ub.shape[0] else None,
        "b_ub": b_ub if a_ub.shape[0] else None,
        "A_eq": a_eq if m_eq else None,
        "b_eq": b_eq if m_eq else None,
        "bounds": bounds,
    }


def assert_feasible(lp: dict[str, Any], x: np.ndarray, tol: float = 1e-7) -> None:
    for j, (lo, hi) in enumerate(lp["bounds"]):
        assert lo is None or x[j] >= lo - tol
        assert hi is None or x[j] <= hi + tol
    if lp["A_ub"] is not None:
        assert np.all(lp["A_ub"] @ x <= lp["b_ub"] + tol * (1 + np.abs(lp["b_ub"])))
    if lp["A_eq"] is not None:
        np.testing.assert_allclose(lp["A_eq"] @ x, lp["b_eq"], atol=tol)


def highs_status(lp: dict[str, Any], ref: Any) -> int:
    """HiGHS' status, corrected where its presolve reports an unbounded LP as infeasible."""
    if ref.status == 2:
        feasibility = scipy_optimize.linprog(method="highs", **{**lp, "c": np.zeros_like(lp["c"])})
        if feasibility.status == 0:
            return 3
    return int(ref.status)


def assert_matches_highs(lp: dict[str, Any], res: LinprogResult) -> None:
    ref = scipy_optimize.linprog(method="highs", **lp)
    assert res.status == highs_status(lp, ref), (res, ref.message)
    # Infeasible and unbounded answers come with their (already verified) certificate.
    kinds = {2: "farkas", 3: "ray"}
    if res.status in kinds:
        assert res.certificate is not None and res.certificate.kind == kinds[res.status]
        assert res.certificate.margin > 0
    else:
        assert res.certificate is None
    if ref.status == 0:
        assert res.success and res.x is not None and res.fun is not None
        assert abs(res.fun - ref.fun) <= 1e-7 * abs(ref.fun) + 1e-9
        assert_feasible(lp, res.x)
        assert res.fun == pytest.approx(float(lp["c"] @ res.x), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=150, deadline=None)
@given(lp=lps())
def test_random_lps_match_highs(method: str, lp: dict[str, Any]) -> None:
    assert_matches_highs(lp, linprog(method=method, **lp))


def perceptron_lp(t: int, n: int, flip: float, seed: int) -> dict[str, Any]:
    """The L1 perceptron LP of seed 004 in inequality form (split weights, artificials)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t, n))
    y = np.sign(x @ rng.standard_normal(n) + 0.1)
    y[rng.random(t) < flip] *= -1
    yx = y[:, None] * x
    a = np.hstack([-yx, yx, -y[:, None], y[:, None], -np.eye(t)])
    c = np.concatenate([np.ones(2 * n + 2), 100.0 * np.ones(t)])
    return {"c": c, "A_ub": a, "b_ub": -np.ones(t), "A_eq": None, "b_eq": None, "bounds": (0, None)}


@pytest.mark.parametrize(("t", "n", "flip"), [(150, 40, 0.0), (150, 40, 0.1), (40, 90, 0.1)])
@pytest.mark.parametrize("method", METHODS)
def test_perceptron_lp_matches_highs(t: int, n: int, flip: float, method: str) -> None:
    lp = perceptron_lp(t, n, flip, seed=t + n)
    lp["bounds"] = [(0, None)] * lp["c"].shape[0]
    res = linprog(method=method, **lp)
    assert_matches_highs(lp, res)


def test_perceptron_lp_equality_form_with_surplus() -> None:
    lp = perceptron_lp(120, 30, 0.1, seed=3)
    t = lp["b_ub"].shape[0]
    # y_t(x_t·w + u) - s_t + a_t = 1 with surplus s_t ≥ 0.
    a_eq = np.hstack([-lp["A_ub"], -np.eye(t)])
    c = np.concatenate([lp["c"], np.zeros(t)])
    eq = {"c": c, "A_ub": None, "b_ub": None, "A_eq": a_eq, "b_eq": np.ones(t)}
    eq["bounds"] = [(0, None)] * c.shape[0]
    res = linprog(method="ipm", **eq)
    assert res.method == "ipm"
    assert_matches_highs(eq, res)


def test_beale_cycling_example() -> None:
    c = [-0.75, 150, -0.02, 6]
    a = [[0.25, -60, -0.04, 9], [0.5, -90, -0.02, 3], [0, 0, 1, 0]]
    for method in METHODS:
        res = linprog(c, A_ub=a, b_ub=[0, 0, 1], method=method)
        assert res.status == 0 and res.fun == pytest.approx(-0.05, rel=1e-9)


def test_result_layout() -> None:
    res = linprog([-1, -2], A_ub=[[1, 1]], b_ub=[4], bounds=(0, 3), method="simplex")
    assert res["x"] is res.x and res["status"] == 0 and res.nit >= 1
    np.testing.assert_allclose(res.x, [1.0, 3.0])
    assert res.active_bounds is not None and res.active_bounds.tolist() == [0, 1]
    assert res.active_ub is not None and res.active_ub.tolist() == [True]
    assert res.con is not None and res.con.shape == (0,)
    with pytest.raises(KeyError):
        res["nope"]
    infeasible = linprog([1], A_ub=[[-1], [1]], b_ub=[-2, 1])
    assert infeasible.status == 2 and infeasible.x is None and not infeasible.success
    cert = infeasible.certificate
    assert cert is not None and cert.kind == "farkas" and cert.ray is None
    assert cert.y_ub is not None and cert.y_ub.tolist() == [1.0, 1.0]
    assert cert.y_eq is not None and cert.y_eq.shape == (0,) and cert.margin == 1.0
    unbounded = linprog([-1, -1], A_ub=[[1, -1]], b_ub=[1])
    ray = unbounded.certificate
    assert unbounded.status == 3 and ray is not None and ray.kind == "ray"
    assert ray.ray is not None and ray.point is not None and ray.y_ub is None
    assert float(np.dot([-1, -1], ray.ray)) == pytest.approx(-ray.margin)


def test_iteration_limit() -> None:
    res = linprog([-1, -2], A_ub=[[1, 1], [1, -1]], b_ub=[4, 1], options={"maxiter": 0})
    assert res.status == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"c": [np.nan, 1.0]}, DataError),
        ({"c": [1.0, 1.0], "A_ub": [[1.0, np.inf]], "b_ub": [1.0]}, DataError),
        ({"c": [1.0, 1.0], "A_ub": [[1.0, 1.0]], "b_ub": [np.nan]}, DataError),
        ({"c": [1.0, 1.0], "A_ub": [[1.0, 1.0, 1.0]], "b_ub": [1.0]}, ShapeError),
        ({"c": [1.0, 1.0], "A_eq": [[1.0, 1.0]]}, ShapeError),
        ({"c": [[1.0, 1.0]]}, ShapeError),
        ({"c": [1.0], "method": "revised simplex"}, ConfigError),
        ({"c": [1.0], "bounds": [(0, 1), (0, 1)]}, ConfigError),
        ({"c": [1.0], "bounds": [(np.inf, None)]}, ConfigError),
        ({"c": [1.0], "bounds": [(0, "x")]}, ConfigError),
        ({"c": [1.0], "options": {"tol": 1.0}}, ConfigError),
        ({"c": [1.0], "options": {"maxiter": -1}}, ConfigError),
        ({"c": [1.0], "options": {"maxiter": 1.5}}, ConfigError),
        # Reproducers of the hardening campaign: plain Python exceptions used to escape.
        ({"c": [1.0, 2.0], "bounds": 5}, ConfigError),
        ({"c": [1.0, 2.0], "bounds": "ab"}, ConfigError),
        ({"c": [1.0, 2.0], "bounds": {0: 1}}, ConfigError),
        ({"c": [1.0, 2.0], "bounds": [(0, 1), "xy"]}, ConfigError),
        ({"c": [1.0, 2.0], "options": "x"}, ConfigError),
        ({"c": [1.0, 2.0], "options": [("maxiter", 3)]}, ConfigError),
        ({"c": [1.0], "options": {1: 2}}, ConfigError),
        ({"c": [1.0], "method": 5}, ConfigError),
        ({"c": [1.0], "method": ["simplex"]}, ConfigError),
    ],
)
def test_invalid_input(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        linprog(**kwargs)


def test_huge_iteration_limit_means_no_limit() -> None:
    # Used to raise OverflowError on the way into the core.
    args = {"c": [-1, -2], "A_ub": [[1, 1], [1, -1]], "b_ub": [4, 1]}
    big = linprog(**args, options={"maxiter": 10**30})
    none = linprog(**args)
    assert big.status == none.status == 0
    assert big.x is not None and none.x is not None
    np.testing.assert_array_equal(big.x, none.x)


def test_working_memory_is_checked_before_solving() -> None:
    # 3000 equality rows need a 3000 x 3000 basis factor (72 MB), above a 10 MB limit.
    a = np.zeros((3000, 2))
    a[:, 0] = 1.0
    with (
        npl.limits.temporary_limits(max_bytes=10 * 2**20),
        pytest.raises(ResourceLimitError, match="LP with 3000 constraint rows"),
    ):
        linprog([1.0, 1.0], A_eq=a, b_eq=np.ones(3000))
