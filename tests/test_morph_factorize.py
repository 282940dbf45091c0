"""morph.factorize: rank-k split of a dense or conv layer (seed 001's truncated-SVD operation)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Conv2d, Dense, Flatten, InvalidMorphismError, Network, Spec
from neuroplast.morph import EditLog, factorize
from neuroplast.testing import assert_bitwise_equal
from neuroplast.testing.morph import (
    EditProblem,
    assert_function_preserved,
    edit_problems,
    random_optimizer_state,
)
from neuroplast.testing.strategies import params_for, seeds

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(edit_problems(kinds=("factorize",)))
def test_factorize_exact_edits_preserve_and_replay(p: EditProblem) -> None:
    net = random_optimizer_state(p.network, 3)
    after, rec = p.edit.apply(net)
    if rec.contract == "exact":
        assert_function_preserved(net, after, p.X)
    assert_bitwise_equal(EditLog((rec,)).replay(net).params, after.params)
    slots = after.optimizer_state.slots  # type: ignore[union-attr]
    name = next(n.name for n in after.spec.nodes if n.name.endswith("_svd"))
    assert not np.any(slots[f"{name}.weight"]["exp_avg"])


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6), st.data(), seeds())
def test_linear_error_is_the_discarded_singular_values(n, m, data, seed) -> None:  # type: ignore[no-untyped-def]
    spec = Spec((m,), (Dense("a", "input", n, "identity"),), "a", "mse")
    net = Network(spec, params_for(spec, seed))
    k = data.draw(st.integers(1, min(n, m)))
    after, rec = factorize(net, "a", k)
    w = np.asarray(net.params["a.weight"], np.float64)
    s = np.linalg.svd(w, compute_uv=False)
    np.testing.assert_allclose(rec.args["bound"], s[k:], rtol=1e-9, atol=1e-12)
    # The pre-activation error map E = W - W' has exactly the discarded singular values.
    eye = np.eye(m, dtype=np.float32)
    err = (net.forward(eye) - after.forward(eye)).astype(np.float64)  # rows: E·e_j (bias cancels)
    got = np.linalg.svd(err, compute_uv=False)
    want = np.concatenate([s[k:], np.zeros(len(got) - len(s[k:]))])
    np.testing.assert_allclose(got, want, atol=1e-5 * (1 + s[0]))
    assert after.n_params == net.n_params - n * m + k * (n + m)
    assert rec.contract == ("exact" if k == min(n, m) else "approximate")


def test_conv_factorization_is_a_k_channel_conv_then_1x1() -> None:
    nodes = (
        Conv2d("c", "input", 6, 3, stride=2, padding=1, dilation=1, activation="tanh"),
        Flatten("f", "c"),
        Dense("out", "f", 2, "identity"),
    )
    spec = Spec((3, 7, 7), nodes, "out")
    net = Network(spec, params_for(spec, 1))
    X = np.random.default_rng(0).standard_normal((4, 3, 7, 7)).astype(np.float32)
    full, rec = factorize(net, "c", 6)
    assert rec.contract == "exact"
    assert_function_preserved(net, full, X)
    first, second = full.spec.node("c_svd"), full.spec.node("c")
    assert isinstance(first, Conv2d) and isinstance(second, Conv2d)
    assert (first.channels, first.stride, first.activation, first.bias) == (
        6,
        (2, 2),
        "identity",
        False,
    )
    assert (second.kernel_size, second.activation) == ((1, 1), "tanh")


def test_invalid_factorizations() -> None:
    net = Network.init(Spec.mlp(4, [3], 2), seed=0)
    with pytest.raises(InvalidMorphismError, match="rank"):
        factorize(net, "dense_0", 4)
    with pytest.raises(InvalidMorphismError, match="rank"):
        factorize(net, "dense_0", 0)
    with pytest.raises(InvalidMorphismError, match="unknown layer"):
        factorize(net, "nope", 1)
    _, rec = factorize(net, "dense_0", 1)
    with pytest.raises(InvalidMorphismError, match="recorded bound"):
        factorize(net, "dense_0", 1, bound=[0.0])
    assert rec.name == "factorize"
