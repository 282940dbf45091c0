"""Narrow by count/fraction: quasi-identity, truncated SVD, selection rules, lstsq compensation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import (
    Add,
    BatchNorm,
    ConfigError,
    Dense,
    InvalidMorphismError,
    Network,
    Spec,
)
from neuroplast.morph import EditLog, narrow, quasi_identity
from neuroplast.testing import assert_bitwise_equal
from neuroplast.testing.morph import (
    EditProblem,
    assert_function_preserved,
    edit_problems,
    editable_layers,
    morph_specs,
    narrow_methods_for,
    random_optimizer_state,
)
from neuroplast.testing.strategies import params_for, seeds

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _linear_net(d: int, n: int, seed: int) -> Network:
    """``input(d) → a: dense n, identity → out: dense n, identity`` with ``out`` = identity map."""
    spec = Spec((d,), (Dense("a", "input", n, "identity"), Dense("out", "a", n, "identity")), "out")
    rng = np.random.default_rng(seed)
    params = {
        "a.weight": rng.standard_normal((n, d)).astype(np.float32),
        "a.bias": rng.standard_normal(n).astype(np.float32),
        "out.weight": np.eye(n, dtype=np.float32),
        "out.bias": np.zeros(n, np.float32),
    }
    return Network(spec, params)


@SETTINGS
@given(st.integers(1, 6), st.integers(2, 8), st.data(), seeds())
def test_svd_error_of_a_linear_layer_is_the_discarded_singular_values(d, n, data, seed) -> None:  # type: ignore[no-untyped-def]
    """The error map ``x ↦ f(x) − f'(x)`` (affine in x) has singular values = discarded σ."""
    k = data.draw(st.integers(1, n))
    net = _linear_net(d, n, seed)
    small, rec = narrow(net, "a", keep=k, method="svd")
    assert small.spec.widths["a"] == k and rec.contract == "approximate"
    probes = np.vstack([np.zeros((1, d)), np.eye(d)]).astype(np.float32)
    err = (net.forward(probes) - small.forward(probes)).astype(np.float64)
    e = np.column_stack([(err[1:] - err[0]).T, err[0]])  # [(I - P) W | (I - P) b], n × (d + 1)
    sv = np.linalg.svd(e, compute_uv=False)
    a = np.column_stack([net.params["a.weight"], net.params["a.bias"]]).astype(np.float64)
    full = np.linalg.svd(a, compute_uv=False)
    bound = np.array(rec.args["bound"])
    assert np.allclose(bound, full[k:], rtol=1e-12, atol=0.0)
    tol = 1e-5 * max(1.0, full[0])
    expected = np.zeros(len(sv))
    expected[: len(bound)] = bound
    assert np.allclose(sv, expected, atol=tol), (sv, bound)
    # Frobenius norm √(Σ σ_i²) and operator norm σ_{k+1} of the error map.
    assert abs(np.linalg.norm(e) - np.sqrt(np.sum(bound**2))) <= tol * (d + 1)
    assert abs(np.linalg.norm(e, 2) - (bound[0] if len(bound) else 0.0)) <= tol * (d + 1)


def test_quasi_identity_matrix() -> None:
    assert np.array_equal(quasi_identity(5, 5).dense(5), np.eye(5))
    q = quasi_identity(6, 3).dense(6)
    assert np.array_equal(q, np.kron(np.eye(3), [[0.5, 0.5]]))
    for n, k in [(7, 3), (10, 9), (100, 10), (3, 1)]:
        q = quasi_identity(n, k).dense(n)
        assert np.allclose(q.sum(axis=1), 1.0) and (q >= 0).all()
        assert ((q != 0).sum(axis=1) <= 2).all()
        s = np.clip((np.arange(k) + 0.5) * n / k - 0.5, 0, n - 1)  # half-pixel sampling
        assert np.allclose(q @ np.arange(n), s)


@SETTINGS
@given(edit_problems(kinds=("narrow",), narrow_methods=("quasi_identity",)), st.booleans())
def test_quasi_identity_keeping_every_unit_is_the_identity_edit(p: EditProblem, frac) -> None:  # type: ignore[no-untyped-def]
    layer = p.edit.args["layer"]
    net = random_optimizer_state(p.network, 0)
    size = {"fraction": 1.0} if frac else {"keep": net.spec.widths[layer]}
    same, rec = narrow(net, layer, method="quasi_identity", **size)  # type: ignore[arg-type]
    assert rec.contract == "exact" and same.spec == net.spec
    assert_bitwise_equal(same.params, net.params, "params")
    for name, s in net.optimizer_state.slots.items():  # type: ignore[union-attr]
        assert_bitwise_equal(same.optimizer_state.slots[name], s, name)  # type: ignore[union-attr]


def test_quasi_identity_is_q_w_and_w_next_q_transpose() -> None:
    net = Network.init(Spec.mlp(5, [7], 3, activation="tanh"), seed=0)
    small, _ = narrow(net, "dense_0", keep=3, method="quasi_identity")
    q = quasi_identity(7, 3).dense(7)
    w, b, w2 = (
        net.params[k].astype(np.float64)
        for k in ("dense_0.weight", "dense_0.bias", "output.weight")
    )
    assert np.allclose(small.params["dense_0.weight"], q @ w, atol=1e-6)
    assert np.allclose(small.params["dense_0.bias"], q @ b, atol=1e-6)
    assert np.allclose(small.params["output.weight"], w2 @ q.T, atol=1e-6)


@SETTINGS
@given(morph_specs(), seeds(), st.data())
def test_keep_count_and_fraction_semantics(spec, seed, data) -> None:  # type: ignore[no-untyped-def]
    layers = editable_layers(spec)
    if not layers:
        return
    layer = data.draw(st.sampled_from(layers))
    n = spec.widths[layer]
    net = Network(spec, params_for(spec, seed))
    method = data.draw(
        st.sampled_from([m for m in narrow_methods_for(spec, layer) if m != "select"] or ["select"])
    )
    if method == "select":
        return
    k = data.draw(st.integers(1, n))
    assert narrow(net, layer, keep=k, method=method)[0].spec.widths[layer] == k
    r = data.draw(st.floats(0.001, 1.0))
    small, rec = narrow(net, layer, fraction=r, method=method)
    assert small.spec.widths[layer] == max(1, int(np.floor(r * n + 0.5))) == rec.args["keep"]
    for bad in (0, n + 1, True, [0]):
        with pytest.raises(InvalidMorphismError):
            narrow(net, layer, keep=bad, method=method)  # type: ignore[arg-type]
    for bad_r in (0.0, 1.5, -0.5, float("nan"), True):
        with pytest.raises(ConfigError, match="fraction"):
            narrow(net, layer, fraction=bad_r, method=method)


def _relu_net(seed: int, dead: list[int], n: int = 10, d: int = 6) -> Network:
    net = Network.init(Spec.mlp(d, [n], 3), seed=seed)
    params = {k: np.array(v) for k, v in net.params.items()}
    params["dense_0.weight"][dead] = 0.0
    params["dense_0.bias"][dead] = -1.0
    return Network(net.spec, params)


@SETTINGS
@given(seeds(), st.lists(st.integers(0, 9), min_size=1, max_size=6, unique=True))
def test_dormant_units_are_found_exactly(seed, dead) -> None:  # type: ignore[no-untyped-def]
    net = _relu_net(seed, dead)
    X = np.random.default_rng(seed).standard_normal((64, 6)).astype(np.float32)
    for rule in ("dormant", "cosine"):
        k = 10 - len(dead)
        _, rec = narrow(net, "dense_0", keep=k, select=rule, calibration=(X, None))
        assert sorted(set(range(10)) - set(rec.args["keep"])) == sorted(dead)
        assert rec.distortion is not None and rec.distortion.max_abs_output == 0.0


def test_cosine_removes_one_of_each_duplicated_pair() -> None:
    rng = np.random.default_rng(0)
    d, n = 24, 8
    w = np.linalg.qr(rng.standard_normal((d, d)))[0][:n].astype(np.float32)
    w[6], w[7] = 2.0 * w[1], 0.5 * w[4]
    spec = Spec((d,), (Dense("h", "input", n, "identity", bias=False), Dense("out", "h", 2)), "out")
    net = Network(
        spec,
        {
            "h.weight": w,
            "out.weight": rng.standard_normal((2, n)).astype(np.float32),
            "out.bias": np.zeros(2, np.float32),
        },
    )
    X = rng.standard_normal((4000, d)).astype(np.float32)
    _, rec = narrow(net, "h", keep=6, select="cosine", calibration=(X, None))
    gone = set(range(n)) - set(rec.args["keep"])
    assert len(gone & {1, 6}) == 1 and len(gone & {4, 7}) == 1


def test_magnitude_std_and_low_energy() -> None:
    net = _relu_net(0, [])
    params = {k: np.array(v) for k, v in net.params.items()}
    params["output.weight"][:, [2, 5]] = 0.0  # no outgoing weight: score 0
    net = Network(net.spec, params)
    X = np.random.default_rng(1).standard_normal((200, 6)).astype(np.float32)
    _small, rec = narrow(net, "dense_0", keep=8, select="magnitude_std", calibration=(X, None))
    assert rec.args["keep"] == [0, 1, 3, 4, 6, 7, 8, 9] and rec.contract == "exact"
    _, rec = narrow(net, "dense_0", fraction=0.5, select="low_energy", calibration=(X, None))
    assert len(rec.args["keep"]) == 5


@SETTINGS
@given(seeds(), st.integers(1, 11), st.sampled_from(["select", "quasi_identity", "svd"]))
def test_lstsq_compensation_reduces_the_calibration_error(seed, k, method) -> None:  # type: ignore[no-untyped-def]
    net = Network.init(Spec.mlp(8, [12], 4, activation="tanh"), seed=seed)
    X = np.random.default_rng(seed).standard_normal((100, 8)).astype(np.float32)
    kw = {"select": "magnitude_std"} if method == "select" else {}
    plain, _ = narrow(net, "dense_0", k, method, calibration=(X, None), **kw)  # type: ignore[arg-type]
    fixed, rec = narrow(net, "dense_0", k, method, compensate="lstsq", calibration=(X, None), **kw)  # type: ignore[arg-type]
    ref = net.forward(X).astype(np.float64)
    err = [np.sum((m.forward(X) - ref) ** 2) for m in (plain, fixed)]
    assert err[1] <= err[0] * (1 + 1e-4) + 1e-6
    assert rec.args["compensate"] == "lstsq" and "output" in rec.args["refit"]


def test_new_edits_replay_bit_for_bit() -> None:
    net0 = Network.init(Spec.mlp(6, [10, 8], 3, activation="relu"), seed=0)
    X = np.random.default_rng(0).standard_normal((50, 6)).astype(np.float32)
    steps = [
        ("dense_0", {"fraction": 0.8, "method": "quasi_identity"}),
        ("dense_1", {"keep": 6, "method": "svd"}),
        ("dense_0", {"keep": 5, "select": "cosine", "compensate": "lstsq"}),
        ("dense_1", {"keep": 4, "method": "svd", "compensate": "lstsq"}),
    ]
    net, log = net0, EditLog()
    for layer, kw in steps:
        net, rec = narrow(net, layer, calibration=(X, None), **kw)  # type: ignore[arg-type]
        log = log.append(rec)
    again = EditLog.from_json(log.to_json()).replay(net0)
    assert again.spec == net.spec
    assert_bitwise_equal(again.params, net.params, "params")


def test_invalid_narrows() -> None:
    spec = Spec(
        (3,),
        (
            Dense("a", "input", 4),
            Dense("b", "a", 4),
            Add("s", ("a", "b")),
            Dense("out", "s", 2, "identity"),
        ),
        "out",
    )
    net = Network.init(spec, seed=0)
    X = np.ones((4, 3), np.float32)
    with pytest.raises(InvalidMorphismError, match="single producing layer"):
        narrow(net, "b", keep=2, method="svd")
    with pytest.raises(InvalidMorphismError, match="cannot refit"):
        narrow(net, "b", keep=2, method="quasi_identity", compensate="lstsq", calibration=(X, None))
    assert narrow(net, "b", keep=2, method="quasi_identity")[0].spec.widths["a"] == 2
    bn = Network.init(
        Spec((3,), (Dense("a", "input", 4), BatchNorm("n", "a"), Dense("out", "n", 2)), "out"),
        seed=0,
    )
    with pytest.raises(InvalidMorphismError, match="batch norm"):
        narrow(bn, "a", keep=2, method="svd")
    mlp = Network.init(Spec.mlp(3, [5], 2), seed=0)
    with pytest.raises(InvalidMorphismError, match="not indices"):
        narrow(mlp, "dense_0", keep=[0, 1], method="svd")
    with pytest.raises(ConfigError, match="calibration"):
        narrow(mlp, "dense_0", keep=2)
    with pytest.raises(ConfigError, match="not indices"):
        narrow(mlp, "dense_0", keep=[0, 1], select="cosine")
    with pytest.raises(ConfigError, match="selection rule"):
        narrow(mlp, "dense_0", keep=2, select="bogus", calibration=(X, None))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="compensation"):
        narrow(mlp, "dense_0", keep=2, method="svd", compensate="ridge")  # type: ignore[arg-type]
    with pytest.raises(InvalidMorphismError, match="recorded bound"):
        narrow(mlp, "dense_0", keep=2, method="svd", bound=[1.0])


def test_exact_quasi_identity_and_svd_edits_on_random_graphs_run() -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(edit_problems(kinds=("narrow",), narrow_methods=("quasi_identity", "svd")))
    def check(p: EditProblem) -> None:
        after, rec = p.edit.apply(p.network)
        assert after.spec.widths[p.edit.args["layer"]] == rec.args["keep"]
        if rec.contract == "exact":
            assert_function_preserved(p.network, after, p.X)

    check()


@pytest.mark.parametrize("rule", ["dormant", "cosine", "magnitude_std", "low_energy"])
def test_selection_rules_on_channels_replay_without_calibration(rule: str) -> None:
    net = Network.init(Spec.cnn((1, 6, 6), [3, 4], 2, batch_norm=True, hidden=[5]), seed=0)
    X = np.random.default_rng(0).standard_normal((8, 1, 6, 6)).astype(np.float32)
    for layer in ("conv_0", "conv_1_bn", "dense_0"):
        small, rec = narrow(net, layer, fraction=0.5, select=rule, calibration=(X, None))  # type: ignore[arg-type]
        assert len(rec.args["keep"]) == small.spec.widths[layer]
        again = EditLog((rec,)).replay(net)
        assert_bitwise_equal(again.params, small.params, "params")


def test_cosine_prunes_exact_duplicates_before_hubs() -> None:
    """Non-negative activations: a unit similar to all others would win the greedy norm alone."""
    from neuroplast.metrics import cosine_redundancy

    def _cosine(a: np.ndarray, n: int) -> list[int]:
        return [int(u) for u in cosine_redundancy(a, n)]

    rng = np.random.default_rng(0)
    base = rng.random((200, 6)) + 0.5  # every pairwise cosine is high
    hub = base.mean(axis=1, keepdims=True)
    acts = np.hstack([base, hub, 3.0 * base[:, [2]], np.zeros((200, 1))])
    # units: 0..5 distinct, 6 the hub, 7 a scaled copy of 2, 8 dormant
    assert _cosine(acts, 1) == [8]
    assert _cosine(acts, 2) == [8, 7]
    assert _cosine(acts, 3)[:2] == [8, 7] and len(set(_cosine(acts, 3))) == 3
