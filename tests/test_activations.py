"""The activation table: forward/derivative against finite differences and the engine, and
every property flag against the function it describes."""

from __future__ import annotations

import ast
import doctest
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroplast
import neuroplast.activations as acts
from neuroplast import ConfigError, Dense, Network, Spec
from neuroplast.activations import (
    ACTIVATION_PROPS,
    CONTINUOUS,
    KINKED,
    SMOOTH,
    ZERO_AT_ZERO,
    derivative,
    forward,
    interval_image,
    props,
)
from neuroplast.layers import ACTIVATIONS
from neuroplast.testing import reference
from neuroplast.testing.morph import CONTINUOUS_ACTIVATIONS
from neuroplast.testing.strategies import SLOPES, SMOOTH_ACTIVATIONS

SETTINGS = settings(max_examples=200, deadline=None)
#: Finite-difference step; points closer than ``2·H`` to a kink are skipped.
H = 1e-6
names = st.sampled_from(ACTIVATIONS)
# A leaky ReLU with slope 1 is the identity; the flags describe every other slope.
slopes = st.sampled_from(SLOPES) | st.floats(-2.0, 2.0).filter(lambda s: s != 1.0)
reals = st.floats(-8.0, 8.0, allow_nan=False)


def _near_kink(name: str, x: float, margin: float = 2 * H) -> bool:
    return any(abs(x - k) < margin for k in props(name).kinks)


def test_the_table_covers_every_supported_activation() -> None:
    assert set(ACTIVATION_PROPS) == set(ACTIVATIONS)
    assert all(p.name == name for name, p in ACTIVATION_PROPS.items())


def test_derived_sets_follow_the_table() -> None:
    table = ACTIVATION_PROPS.values()
    assert {p.name for p in table if p.zero_at_zero} == ZERO_AT_ZERO
    assert {p.name for p in table if p.kinks} == KINKED
    assert set(SMOOTH) == set(ACTIVATIONS) - KINKED
    assert set(CONTINUOUS) == {p.name for p in table if p.continuous}
    # The test package re-exports the product module's answers, never a copy of its own.
    assert SMOOTH_ACTIVATIONS == SMOOTH and CONTINUOUS_ACTIVATIONS == CONTINUOUS
    assert reference.KINKED_ACTIVATIONS is KINKED
    assert reference.activation is forward and reference.activation_derivative is derivative


def test_known_values() -> None:
    zero = {"identity", "relu", "modified_relu", "leaky_relu", "tanh", "saturation"}
    assert zero == ZERO_AT_ZERO
    assert forward("sigmoid", [-1000.0, 0.0, 1000.0]).tolist() == [0.0, 0.5, 1.0]
    assert forward("sign", [-1.0, 0.0]).tolist() == [-1.0, 1.0]
    assert derivative("relu", [0.0]).tolist() == [0.0]
    assert derivative("modified_relu", [0.0]).tolist() == [1.0]
    assert derivative("leaky_relu", [0.0], 0.3).tolist() == [0.3]
    assert derivative("saturation", [-1.0, 1.0]).tolist() == [0.0, 0.0]


@SETTINGS
@given(names, reals, slopes)
def test_derivative_matches_finite_differences_away_from_kinks(name, x, slope) -> None:  # type: ignore[no-untyped-def]
    if _near_kink(name, x):
        return
    fd = (forward(name, x + H, slope) - forward(name, x - H, slope)) / (2 * H)
    assert derivative(name, x, slope) == pytest.approx(fd, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", sorted(KINKED))
def test_kinks_are_real_and_take_a_one_sided_derivative(name: str) -> None:
    for k in props(name).kinks:
        left = float((forward(name, k, 0.2) - forward(name, k - H, 0.2)) / H)
        right = float((forward(name, k + H, 0.2) - forward(name, k, 0.2)) / H)
        assert not math.isclose(left, right, abs_tol=1e-3)
        d = float(derivative(name, k, 0.2))
        assert math.isclose(d, left, abs_tol=1e-6) or math.isclose(d, right, abs_tol=1e-6)


@SETTINGS
@given(names, slopes)
def test_zero_at_zero_flag_matches_the_value_at_zero(name, slope) -> None:  # type: ignore[no-untyped-def]
    assert (float(forward(name, 0.0, slope)) == 0.0) == props(name).zero_at_zero


@SETTINGS
@given(names, reals, slopes)
def test_continuous_flag(name, x, slope) -> None:  # type: ignore[no-untyped-def]
    if props(name).continuous:
        gap = abs(float(forward(name, x + H, slope) - forward(name, x, slope)))
        assert gap <= 4 * H * (1 + abs(slope))
    else:  # the jump sits at a kink
        k = props(name).kinks[0]
        assert forward(name, k, slope) != forward(name, k - H, slope)


@SETTINGS
@given(names, reals, slopes)
def test_piecewise_linear_flag(name, x, slope) -> None:  # type: ignore[no-untyped-def]
    if not props(name).piecewise_linear:
        # sigmoid and tanh bend everywhere but at 0 (and hardly at all far out)
        x = float(np.clip(x, -3.0, 3.0)) if abs(x) > 0.1 else 0.5
        second = forward(name, x + 1e-2) - 2 * forward(name, x) + forward(name, x - 1e-2)
        assert abs(float(second)) > 1e-9
    elif not _near_kink(name, x, 0.1):
        mid = (forward(name, x - 0.05, slope) + forward(name, x + 0.05, slope)) / 2
        assert float(mid) == pytest.approx(float(forward(name, x, slope)), abs=1e-12)


@SETTINGS
@given(names, reals, st.floats(0.01, 100.0), slopes)
def test_positively_homogeneous_flag(name, x, a, slope) -> None:  # type: ignore[no-untyped-def]
    if props(name).positively_homogeneous:
        assert float(forward(name, a * x, slope)) == pytest.approx(
            a * float(forward(name, x, slope)), rel=1e-12, abs=1e-12
        )
    else:
        assert float(forward(name, 3 * 0.5, slope)) != 3 * float(forward(name, 0.5, slope))


@SETTINGS
@given(names, st.floats(0.0, 1.0), slopes)
def test_identity_interval(name, t, slope) -> None:  # type: ignore[no-untyped-def]
    on = props(name).identity_on
    if on is None:
        assert np.any(forward(name, [-0.5, 0.5, 2.0], slope) != [-0.5, 0.5, 2.0])
        return
    lo, hi = max(on[0], -1e6), min(on[1], 1e6)
    x = lo + t * (hi - lo)
    assert float(forward(name, x, slope)) == x
    for out in (on[0] - 0.5, on[1] + 0.5):  # and nowhere just outside (the interval is maximal)
        if math.isfinite(out):
            assert float(forward(name, out, slope)) != out


# Bounds are float32 values: networks compute in float32, so a float64 bound between two float32
# values has no input on it (a float64 point is rounded before the activation sees it).
bounds = st.floats(-20.0, 20.0, width=32) | st.sampled_from([-math.inf, math.inf])


@SETTINGS
@given(names, bounds, bounds, st.floats(0.0, 1.0), slopes)
def test_interval_image_contains_every_value(name, a, b, t, slope) -> None:  # type: ignore[no-untyped-def]
    lo, hi = min(a, b), max(a, b)
    img = interval_image(name, lo, hi, slope)
    if lo == math.inf or hi == -math.inf:  # no finite point to evaluate
        return
    assert img[0] <= img[1]
    finite = np.clip([lo, hi], -1e6, 1e6)
    # rounding to float32 is monotone, so a point between float32 bounds stays between them
    x = float(np.float32(finite[0] + t * (finite[1] - finite[0])))
    for v in (x, *finite):
        assert img[0] <= float(forward(name, v, slope)) <= img[1]


def test_interval_image_at_infinite_bounds() -> None:
    inf = math.inf
    assert interval_image("leaky_relu", -inf, 1.0, 0.0) == (0.0, 1.0)
    assert interval_image("leaky_relu", -inf, inf, 0.1) == (-inf, inf)
    assert interval_image("leaky_relu", 0.0, 1.0, -0.5) == (-inf, inf)
    assert interval_image("sigmoid", -inf, inf) == (0.0, 1.0)
    assert interval_image("sign", -inf, inf) == (-1.0, 1.0)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_forward_agrees_with_the_engine(name: str) -> None:
    """The NumPy math is what the Rust kernels compute (float32 tolerance)."""
    z = np.linspace(-3.0, 3.0, 61).astype(np.float32)[None, :]
    z = z[:, np.abs(z[0]) > 1e-3]  # away from 0, where sign's float32 rounding decides
    n = z.shape[1]
    spec = Spec((n,), (Dense("h", "input", n, name, 0.2),), "h", "mse")
    params = {"h.weight": np.eye(n, dtype=np.float32), "h.bias": np.zeros(n, np.float32)}
    got = Network(spec, params).forward(z)
    np.testing.assert_allclose(got, forward(name, z, 0.2), rtol=1e-5, atol=1e-6)
    assert float(Network(spec, params).forward(np.zeros((1, n), np.float32))[0, 0]) == float(
        forward(name, 0.0)
    )


@pytest.mark.parametrize("call", [props, lambda a: forward(a, [0.0]), lambda a: derivative(a, 0.0)])
def test_unknown_activations_are_config_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="unknown activation 'swish'"):
        call("swish")
    with pytest.raises(ConfigError):
        interval_image("swish", 0.0, 1.0)


def test_doctests() -> None:
    result = doctest.testmod(acts)
    assert result.failed == 0 and result.attempted > 0


def test_no_product_module_imports_the_test_package() -> None:
    """Layering: ``neuroplast.testing`` may use the product, never the other way round."""
    root = Path(neuroplast.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if (root / "testing") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if any(_is_testing(name) for name in _imported(node)):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


def _imported(node: ast.AST) -> list[str]:
    """Dotted names an import statement brings in (``from a import b`` gives ``a.b``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return []


def _is_testing(name: str) -> bool:
    return name == "neuroplast.testing" or name.startswith("neuroplast.testing.")
