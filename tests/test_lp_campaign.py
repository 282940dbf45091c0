"""LPs built from data and LPs with known infeasibility/unboundedness, against HiGHS.

Data LPs are the perceptron LPs of ``prune_hidden_lp`` (``build_perceptron_lp``) from small
trained networks on digits, the synthetic task of ``neuroplast.data`` (rank-deficient
features) and random data, over several sample counts and seeds; every method must agree
with ``scipy.optimize.linprog(method="highs")`` and never call such an LP infeasible or
unbounded. Generated infeasible and unbounded LPs must come with certificates that pass an
independent NumPy check.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec, data
from neuroplast.lp import LinprogResult, linprog
from neuroplast.lp.networks import PerceptronNetwork
from neuroplast.lp.perceptron import build_perceptron_lp
from neuroplast.optim import Adam

scipy_optimize = pytest.importorskip("scipy.optimize")

F64 = npt.NDArray[np.float64]
METHODS = ("auto", "ipm", "simplex")
#: Relative objective agreement with HiGHS (its own tolerances are 1e-7).
OBJ_TOL = 1e-7


@functools.cache
def material(source: str, seed: int) -> tuple[F64, F64, F64]:
    """``(inputs, saturated hidden values, ±1 class targets)`` of a small trained tanh MLP."""
    if source == "digits":
        ds = data.load("digits", seed=seed)
        X, y, k = ds.X_train[:120], ds.y_train[:120], 10
    elif source == "synthetic":
        # float64: in float32 the mixed features are dependent only up to rounding (singular
        # values ~1e-7), which makes the optimum ill-posed; HiGHS' own default answers
        # then move by 1e-6 relative with its tolerances.
        ds = data.load("synthetic", seed=seed, n_samples=150, n_features=12, dtype=np.float64)
        X, y, k = ds.X_train[:120], ds.y_train[:120], 2
    else:
        rng = np.random.default_rng(seed)
        X, y, k = rng.normal(size=(120, 10)), rng.integers(0, 3, 120), 3
    X = np.asarray(X, dtype=np.float64)
    net = Network.init(Spec.mlp(X.shape[1], [8], k, "tanh"), seed)
    net.fit(X, y, epochs=8, optimizer=Adam(lr=1e-2), seed=seed)
    H = PerceptronNetwork.from_network(net).layer_values(X)[0]
    return X, H, np.where(np.eye(k)[y] > 0, 1.0, -1.0)


@st.composite
def data_lps(draw: st.DrawFn) -> dict[str, Any]:
    """One perceptron LP (equality form) of the output or the hidden layer."""
    source = draw(st.sampled_from(["digits", "synthetic", "random"]))
    X, H, Y = material(source, draw(st.integers(0, 2)))
    T = draw(st.sampled_from([4, 12, 30, 60, 90]))  # 60 and 90 rows cross auto's threshold
    j = draw(st.integers(0, 7))
    if draw(st.booleans()):
        inputs, target = H[:T], Y[:T, j % Y.shape[1]]
    else:
        inputs, target = X[:T, : draw(st.sampled_from([4, 10, 64]))], H[:T, j]
    c, A, b = build_perceptron_lp(inputs, target, big_m=draw(st.sampled_from([1e2, 1e4])))
    return {"c": c, "A_eq": A, "b_eq": b, "bounds": (0, None)}


def check_certificate(lp: dict[str, Any], res: LinprogResult, tol: float = 1e-8) -> None:
    """Checks the certificate of an infeasible or unbounded answer with NumPy alone."""
    cert = res.certificate
    assert cert is not None and cert.margin > 0, res
    n = len(lp["c"])
    a_ub = np.zeros((0, n)) if lp.get("A_ub") is None else np.asarray(lp["A_ub"], float)
    b_ub = np.zeros(0) if lp.get("b_ub") is None else np.asarray(lp["b_ub"], float)
    a_eq = np.zeros((0, n)) if lp.get("A_eq") is None else np.asarray(lp["A_eq"], float)
    b_eq = np.zeros(0) if lp.get("b_eq") is None else np.asarray(lp["b_eq"], float)
    bounds = lp["bounds"] if isinstance(lp["bounds"], list) else [lp["bounds"]] * n
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds], dtype=float)
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds], dtype=float)
    if res.status == 2:
        assert cert.kind == "farkas" and cert.y_ub is not None and cert.y_eq is not None
        if np.any(lo > hi):
            return
        assert np.all(cert.y_ub >= 0)
        r = a_ub.T @ cert.y_ub + a_eq.T @ cert.y_eq
        size = np.abs(a_ub.T) @ np.abs(cert.y_ub) + np.abs(a_eq.T) @ np.abs(cert.y_eq)
        # min of r @ x over the bounds: r_j l_j or r_j u_j; entries of the wrong sign against
        # an infinite bound must be negligible.
        bound = np.where(r > 0, lo, hi)
        finite = np.isfinite(bound)
        assert np.all(finite | (np.abs(r) <= tol * size))
        low = float(np.sum(r[finite] * bound[finite]))
        assert low - (cert.y_ub @ b_ub + cert.y_eq @ b_eq) > 0
    else:
        assert res.status == 3 and cert.kind == "ray"
        d, x = cert.ray, cert.point
        assert d is not None and x is not None
        scale = 1 + np.abs(a_ub) @ np.abs(x)
        assert np.all(a_ub @ x <= b_ub + 1e-7 * (scale + np.abs(b_ub)))
        np.testing.assert_allclose(a_eq @ x, b_eq, atol=1e-7 * (1 + np.abs(b_eq).max(initial=0)))
        assert np.all(x >= lo - 1e-7) and np.all(x <= hi + 1e-7)
        assert np.all(a_ub @ d <= tol * (np.abs(a_ub) @ np.abs(d)))
        assert np.all(np.abs(a_eq @ d) <= tol * (np.abs(a_eq) @ np.abs(d)))
        assert np.all(d[np.isfinite(lo)] >= 0) and np.all(d[np.isfinite(hi)] <= 0)
        assert float(lp["c"] @ d) == pytest.approx(-cert.margin) and cert.margin > 0


@settings(max_examples=40, deadline=None)
@given(lp=data_lps())
def test_data_lps_match_highs(lp: dict[str, Any]) -> None:
    ref = scipy_optimize.linprog(method="highs", **lp)
    assert ref.status == 0
    for method in METHODS:
        res = linprog(method=method, **lp)
        # Never an infeasibility or unboundedness claim on an LP HiGHS solves.
        assert res.status == 0, (method, res.status, res.message)
        assert res.fun is not None and res.x is not None and res.certificate is None
        assert abs(res.fun - ref.fun) <= OBJ_TOL * (1 + abs(ref.fun)), (method, res.fun, ref.fun)
        np.testing.assert_allclose(lp["A_eq"] @ res.x, lp["b_eq"], atol=1e-7)
        assert res.x.min() >= -1e-9


def test_reported_digits_lp_is_solved_by_every_method() -> None:
    """The LP of the user report (seed 1, 300 samples, hidden unit 3 of a 64-32-10 tanh MLP).

    The simplex reported it unbounded: Bland's rule took a pivot of 1e-9 in a column whose
    largest entry was 59, and the never-refactored tableau lost its reduced costs.
    """
    ds = data.load("digits", seed=0)
    net = Network.init(Spec.mlp(64, [32], 10, "tanh"), 1)
    net.fit(ds.X_train, ds.y_train, epochs=30, optimizer=Adam(lr=3e-3), seed=1)
    X = np.asarray(ds.X_train[:300], dtype=np.float64)
    H = PerceptronNetwork.from_network(net).layer_values(X)[0]
    c, A, b = build_perceptron_lp(X, H[:, 3])
    lp = {"c": c, "A_eq": A, "b_eq": b, "bounds": (0, None)}
    ref = scipy_optimize.linprog(method="highs", **lp)
    for method in METHODS:
        res = linprog(method=method, **lp)
        assert res.status == 0, (method, res.message)
        assert res.fun == pytest.approx(ref.fun, rel=OBJ_TOL)


@st.composite
def infeasible_lps(draw: st.DrawFn) -> dict[str, Any]:
    """Integer LPs with a row that contradicts a non-negative combination of the others."""
    n, m = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    ints = st.integers(-3, 3)
    a = np.array(draw(st.lists(ints, min_size=m * n, max_size=m * n)), float).reshape(m, n)
    b = np.array(draw(st.lists(st.integers(-3, 6), min_size=m, max_size=m)), float)
    y = np.array(draw(st.lists(st.integers(0, 2), min_size=m, max_size=m)), float)
    gap = draw(st.integers(1, 3))
    a_ub, b_ub = np.vstack([a, -(y @ a)]), np.concatenate([b, [-(y @ b) - gap]])
    bounds = [draw(st.sampled_from([(None, None), (0, None), (-2, 4)])) for _ in range(n)]
    lp: dict[str, Any] = {"c": np.array(draw(st.lists(ints, min_size=n, max_size=n)), float)}
    if draw(st.booleans()):
        # The last row as an equality (A x = b implies A x <= b).
        lp.update(A_ub=a_ub[:-1], b_ub=b_ub[:-1], A_eq=a_ub[-1:], b_eq=b_ub[-1:])
    else:
        lp.update(A_ub=a_ub, b_ub=b_ub, A_eq=None, b_eq=None)
    lp["bounds"] = bounds
    return lp


@st.composite
def unbounded_lps(draw: st.DrawFn) -> dict[str, Any]:
    """Integer LPs with a feasible point and an improving ray along two variables."""
    n, m_ub, m_eq = draw(st.integers(2, 5)), draw(st.integers(0, 4)), draw(st.integers(0, 2))
    ints = st.integers(-3, 3)
    a_ub = np.array(draw(st.lists(ints, min_size=m_ub * n, max_size=m_ub * n)), float)
    a_ub = a_ub.reshape(m_ub, n)
    a_eq = np.array(draw(st.lists(ints, min_size=m_eq * n, max_size=m_eq * n)), float)
    a_eq = a_eq.reshape(m_eq, n)
    # Ray d = e_0 + e_1: A_ub d <= 0 and A_eq d = 0.
    a_ub[:, 1] = -a_ub[:, 0] - np.abs(a_ub[:, 1])
    a_eq[:, 1] = -a_eq[:, 0]
    c = np.array(draw(st.lists(ints, min_size=n, max_size=n)), float)
    c[1] = -c[0] - draw(st.integers(1, 3))
    x0 = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), float)
    slack = np.array(draw(st.lists(st.integers(0, 3), min_size=m_ub, max_size=m_ub)), float)
    bounds = [(0, None), (0, None)] + [
        draw(st.sampled_from([(0, None), (None, None), (0, 2)])) for _ in range(n - 2)
    ]
    return {
        "c": c,
        "A_ub": a_ub if m_ub else None,
        "b_ub": a_ub @ x0 + slack if m_ub else None,
        "A_eq": a_eq if m_eq else None,
        "b_eq": a_eq @ x0 if m_eq else None,
        "bounds": bounds,
    }


@settings(max_examples=60, deadline=None)
@given(lp=infeasible_lps())
def test_infeasible_lps_carry_verified_farkas_vectors(lp: dict[str, Any]) -> None:
    assert scipy_optimize.linprog(method="highs", **lp).status in (2, 3)
    for method in METHODS:
        res = linprog(method=method, **lp)
        assert res.status == 2 and res.x is None, (method, res)
        check_certificate(lp, res)


@settings(max_examples=60, deadline=None)
@given(lp=unbounded_lps())
def test_unbounded_lps_carry_verified_rays(lp: dict[str, Any]) -> None:
    for method in METHODS:
        res = linprog(method=method, **lp)
        assert res.status == 3 and res.x is None, (method, res)
        check_certificate(lp, res)


def test_crossed_bounds_are_their_own_certificate() -> None:
    lp: dict[str, Any] = {"c": np.array([1.0, 1.0]), "bounds": [(0, 1), (3, 2)]}
    res = linprog(**lp)
    assert res.status == 2 and res.certificate is not None
    assert res.certificate.kind == "farkas" and res.certificate.margin == 1.0
    check_certificate(lp, res)
