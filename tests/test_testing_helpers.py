"""The shipped test helpers (neuroplast.testing): reference, assertions and strategies."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from hypothesis import find, given, settings

import neuroplast.testing
from neuroplast import SGD, Adam, AdamW, Add, Concat, Dense, Spec
from neuroplast.layers import ACTIVATIONS
from neuroplast.testing import (
    assert_all_close,
    assert_bitwise_equal,
    assert_close,
    max_abs,
    reference,
    strategies,
)
from neuroplast.testing.strategies import Problem, problems, specs


@pytest.mark.parametrize(
    "module",
    [
        neuroplast.testing,
        reference,
        neuroplast.testing.reference_optim,
        strategies,
        neuroplast.testing.asserts,
    ],
    ids=lambda m: m.__name__,
)
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0


def test_activations_closed_forms() -> None:
    z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    assert reference.activation("identity", z).tolist() == z.tolist()
    assert reference.activation("relu", z).tolist() == [0, 0, 0, 0.5, 3]
    assert reference.activation("modified_relu", z).tolist() == [0, 0, 0, 0.5, 3]
    assert reference.activation("leaky_relu", z, 0.1).tolist() == pytest.approx(
        [-0.3, -0.05, 0, 0.5, 3]
    )
    np.testing.assert_allclose(reference.activation("sigmoid", z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(reference.activation("tanh", z), np.tanh(z))
    assert reference.activation("sigmoid", [-1000.0, 1000.0]).tolist() == [0.0, 1.0]
    h = 1e-6
    for act in ACTIVATIONS:
        x = np.array([-1.3, -0.2, 0.4, 2.0])
        fd = (reference.activation(act, x + h, 0.2) - reference.activation(act, x - h, 0.2)) / (
            2 * h
        )
        np.testing.assert_allclose(
            reference.activation_derivative(act, x, 0.2), fd, rtol=1e-6, atol=1e-9
        )
    with pytest.raises(ValueError):
        reference.activation("swish", z)
    with pytest.raises(ValueError):
        reference.activation_derivative("swish", z)


def test_kink_margin() -> None:
    smooth = Spec.mlp(2, [3], 2, activation="tanh")
    params = strategies.params_for(smooth, 0)
    assert reference.kink_margin(smooth, params, np.ones((2, 2))) == math.inf
    relu = Spec.mlp(2, [3], 2)
    p = {k: np.zeros(s) for k, s in relu.param_shapes.items()}
    p["dense_0.bias"] = np.array([0.25, -0.5, 0.0])
    assert reference.kink_margin(relu, p, np.ones((2, 2))) == 0.25


def test_reference_optimizer_ignores_incompatible_state() -> None:
    w, g = {"w": np.array([1.0])}, {"w": np.array([0.5])}
    _, sgd_state = reference.optimizer_step(SGD(lr=0.1, momentum=0.9), w, g)
    fresh, s1 = reference.optimizer_step(Adam(lr=0.1), w, g)
    switched, s2 = reference.optimizer_step(Adam(lr=0.1), w, g, sgd_state)
    assert fresh == switched and s2.step == 1
    _, s3 = reference.optimizer_step(AdamW(lr=0.1), w, g, s1)
    assert s3.step == 2 and s3.kind == "adamw"
    cont, _ = reference.optimizer_step(SGD(lr=0.1, momentum=0.9), w, g, sgd_state)
    assert cont["w"][0] == pytest.approx(1.0 - 0.1 * (0.9 * 0.5 + 0.5))


def test_assert_helpers() -> None:
    assert_close(np.float32([1.0, 1e-7]), [1.0, 0.0])
    assert_close([1e6], [1e6 + 50], rtol=1e-4)
    with pytest.raises(AssertionError, match="worst at"):
        assert_close([1.0, 2.0], [1.0, 2.1])
    with pytest.raises(AssertionError, match="shape"):
        assert_close([1.0], [1.0, 2.0])
    with pytest.raises(AssertionError, match="non-finite"):
        assert_close([np.nan], [1.0])
    assert_close([np.inf, np.nan], [np.inf, np.nan])
    assert_all_close({"a": [1.0], "b": [1e-6]}, {"a": [1.0], "b": [0.0]})
    with pytest.raises(AssertionError, match="keys"):
        assert_all_close({"a": [1.0]}, {"b": [1.0]})
    assert_bitwise_equal({"a": np.float32([0.0])}, {"a": np.float32([0.0])})
    with pytest.raises(AssertionError):
        assert_bitwise_equal({"a": np.float32([0.0])}, {"a": np.float32([-0.0])})
    with pytest.raises(AssertionError):
        assert_bitwise_equal({"a": np.float32([0.0])}, {"a": np.float64([0.0])})
    assert max_abs([1.0, -3.0], []) == 3.0 and max_abs() == 0.0


def test_strategies_cover_the_graph_features() -> None:
    def has(kind: type) -> object:
        return lambda s: any(isinstance(n, kind) for n in s.nodes)

    assert find(specs(), has(Add))  # type: ignore[arg-type]
    assert find(specs(), has(Concat))  # type: ignore[arg-type]
    assert find(specs(), lambda s: isinstance(s.node(s.output), Add))
    assert find(specs(), lambda s: len(s.input_shape) == 2 and s.loss == "mse")
    assert find(specs(), lambda s: any(isinstance(n, Dense) and not n.bias for n in s.nodes))
    assert find(
        problems(), lambda p: bool(p.masks) and any((m == 0).any() for m in p.masks.values())
    )
    # Nodes that do not reach the output (zero-gradient paths) are generated too.
    assert find(specs(), lambda s: len(s.nodes) >= 3 and s.nodes[0].name not in _ancestors(s))


def _ancestors(spec: Spec) -> set[str]:
    seen, todo = set(), [spec.output]
    while todo:
        name = todo.pop()
        if name in seen or name == "input":
            continue
        seen.add(name)
        todo.extend(spec.node(name).inputs)
    return seen


@settings(max_examples=40, deadline=None)
@given(problems())
def test_problems_are_consistent(p: Problem) -> None:
    assert p.X.shape[1:] == p.spec.input_shape and p.X.dtype == np.float32
    assert set(p.params) == set(p.spec.param_shapes)
    assert all(p.params[k].shape == s for k, s in p.spec.param_shapes.items())
    assert p.spec.output not in p.masks
    if p.spec.loss == "cross_entropy":
        assert p.y.dtype == np.int64 and p.y.max() < p.spec.n_outputs
    else:
        assert p.y.shape == (p.X.shape[0], p.spec.n_outputs)
    assert repr(p).startswith("Problem(")
    assert p.network().spec == p.spec
