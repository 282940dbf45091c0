"""LP structural optimization of perceptron networks (seed 004)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import ConfigError, DataError, Network, NumericalError, ShapeError, Spec
from neuroplast.errors import SerializationError, SpecError
from neuroplast.layers import Dense
from neuroplast.lp.examples import xor_example
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.lp.perceptron import build_perceptron_lp, optimize_perceptron
from neuroplast.lp.persist import load_perceptron, save_perceptron
from neuroplast.lp.prune import optimize_multilevel, prune_hidden_lp

X_AND = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
Y_AND = np.array([-1.0, -1.0, -1.0, 1.0])
# A draw of 10 random sign hidden units whose table, like the seed's (lost in conversion),
# lets the output LP reach zero error with two hidden units. Over draws 0..399 the L1 optimum
# keeps 3-6 units in most draws and 2 in this one: fewer units is not what the LP minimizes.
XOR_TWO_UNIT_SEED = 354


def test_and_reaches_zero_error_with_minimal_l1_weights() -> None:
    res = optimize_perceptron(X_AND, Y_AND)
    # The seed's optimum: W = [1 1], U = -1 (the unique minimum, L1 norm 3), zero error.
    np.testing.assert_allclose(res.weights, [[1.0, 1.0]], atol=1e-8)
    np.testing.assert_allclose(res.biases, [-1.0], atol=1e-8)
    assert res.error == 0.0 and res.n_errors == 0
    assert res.objective == pytest.approx(3.0, abs=1e-8) and res.l1_norm == pytest.approx(3.0)
    assert res.n_links == 2 and res.status == 0 and res.nit >= 1
    np.testing.assert_array_equal(res.predict(X_AND).ravel(), Y_AND)


def test_lp_layout_is_data_block_plus_singletons() -> None:
    c, A, b = build_perceptron_lp(X_AND, Y_AND, big_m=100.0)
    n, T = 2, 4
    assert A.shape == (T, 2 * n + 2 + 2 * T)
    np.testing.assert_array_equal(A[:, :n], X_AND)
    np.testing.assert_array_equal(A[:, n : 2 * n], -X_AND)
    np.testing.assert_array_equal(A[:, 2 * n : 2 * n + 2], np.tile([1.0, -1.0], (T, 1)))
    # Artificial sign +1 on upper-limit rows, -1 on lower-limit rows; surplus the opposite.
    np.testing.assert_array_equal(np.diag(A[:, 2 * n + 2 : 2 * n + 2 + T]), [-1, -1, -1, 1])
    np.testing.assert_array_equal(np.diag(A[:, 2 * n + 2 + T :]), [1, 1, 1, -1])
    np.testing.assert_array_equal(c, [1] * 6 + [100] * 4 + [0] * 4)
    np.testing.assert_array_equal(b, Y_AND)


def test_non_separable_data_leave_artificials() -> None:
    xor = np.array([-1.0, 1.0, 1.0, -1.0])
    res = optimize_perceptron(X_AND, xor)
    assert res.error > 0 and res.n_errors >= 1


def test_linear_perceptron_fits_inner_targets_exactly() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = X @ np.array([0.5, 0.0, -0.25]) + 0.1
    res = optimize_perceptron(X, y, activation="linear")
    np.testing.assert_allclose(res.weights, [[0.5, 0.0, -0.25]], atol=1e-7)
    assert res.n_links == 2 and res.error == pytest.approx(0.0, abs=1e-7)


def test_limits_zero_one() -> None:
    X01 = (X_AND + 1) / 2
    res = optimize_perceptron(X01, (Y_AND + 1) / 2, limits=(0.0, 1.0))
    assert res.error == 0.0
    np.testing.assert_array_equal(res.predict(X01).ravel(), (Y_AND + 1) / 2)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    T=st.integers(2, 30),
    m=st.integers(1, 3),
)
def test_separable_targets_are_reproduced(seed: int, n: int, T: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, n))
    W, u = rng.normal(size=(m, n)), rng.normal(size=m)
    # Targets from a random hyperplane with a margin: a zero-error solution exists.
    Z = X @ W.T + u
    keep = (np.abs(Z) > 0.1).all(axis=1)
    if keep.sum() < 2:
        return
    X, Y = X[keep], np.where(Z[keep] > 0, 1.0, -1.0)
    res = optimize_perceptron(X, Y, big_m=1e5)
    assert res.error == 0.0
    np.testing.assert_allclose(res.predict(X), Y, atol=1e-7)


def test_deterministic() -> None:
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 5)), rng.choice([-1.0, 1.0], size=40)
    a, b = optimize_perceptron(X, y), optimize_perceptron(X, y)
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.artificial, b.artificial)


@pytest.mark.parametrize(
    ("X", "Y", "error"),
    [
        (np.ones((4, 2)), np.ones(3), ShapeError),
        (np.ones(4), np.ones(4), ShapeError),
        (np.full((4, 2), np.nan), np.ones(4), DataError),
        (np.ones((4, 2)), [1.0, np.inf, 1.0, 1.0], DataError),
        (np.ones((0, 2)), np.ones(0), DataError),
        (np.array([["a", "b"]]), np.ones(1), DataError),
    ],
)
def test_invalid_data(X: object, Y: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        optimize_perceptron(X, Y)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"activation": "relu"},
        {"big_m": 0.0},
        {"big_m": float("inf")},
        {"method": "bogus"},
        {"limits": (1.0, -1.0)},
        {"limits": (0.0,)},
        {"tol": -1.0},
    ],
)
def test_invalid_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        optimize_perceptron(X_AND, Y_AND, **kwargs)  # type: ignore[arg-type]


def test_solver_failure_is_an_error() -> None:
    with pytest.raises(NumericalError):
        optimize_perceptron(X_AND, Y_AND, options={"maxiter": 0})


def test_xor_prunes_ten_hidden_units_and_admits_the_seeds_two_unit_optimum() -> None:
    X, Y, net = xor_example(seed=XOR_TWO_UNIT_SEED)
    assert net.layer_sizes == (10, 2) and np.array_equal(net.predict(X), Y)
    # The output LP's optimum is attained by many vertices with the same L1 cost; the seed's
    # run landed on one that uses two hidden units. Here units 1 and 8 alone reach the same
    # optimum with zero error (HiGHS picks exactly that vertex), so the seed's two-unit
    # structure is an L1-optimal pruning of this network.
    H = net.layer_values(X)[0]
    full = optimize_perceptron(H, Y)
    two = optimize_perceptron(H[:, [1, 8]], Y)
    assert two.n_errors == 0 and two.objective == pytest.approx(full.objective, rel=1e-9)
    res = prune_hidden_lp(net, X, Y)
    pruned, rep = res.network, res.report
    assert rep.lp_error == 0.0 and rep.accuracy_before == rep.accuracy_after == 1.0
    assert (rep.links_before, rep.units_before) == (40, 12)
    assert 2 <= len(rep.kept_units) < 10 and rep.links_after == pruned.n_links < 40
    np.testing.assert_array_equal(pruned.predict(X), Y)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_pruned_xor_networks_reproduce_targets(seed: int) -> None:
    X, Y, net = xor_example(seed=seed)
    res = prune_hidden_lp(net, X, Y)
    assert res.report.lp_error == 0.0 and res.report.accuracy_after == 1.0
    np.testing.assert_array_equal(res.network.predict(X), Y)
    assert res.report.units_after < res.report.units_before
    assert res.report.links_after < res.report.links_before
    ml = optimize_multilevel(res.network, X, Y)
    np.testing.assert_allclose(ml.network.predict(X), Y, atol=1e-9)
    assert ml.report.lp_error == 0.0 and ml.report.units_after <= res.report.units_after
    # The L1 cost can only fall (the link count need not).
    dag = ml.network
    assert isinstance(dag, PerceptronDAG)
    l1_dag = sum(np.abs(a).sum() for a in (dag.input_weights, dag.links, dag.biases))
    l1_net = sum(np.abs(a).sum() for a in (*res.network.weights, *res.network.biases))
    assert l1_dag <= l1_net + 1e-9


def test_multilevel_links_outputs_and_is_triangular() -> None:
    X, Y, net = xor_example(seed=XOR_TWO_UNIT_SEED)
    ml = optimize_multilevel(prune_hidden_lp(net, X, Y).network, X, Y)
    dag = ml.network
    assert isinstance(dag, PerceptronDAG)
    assert not np.tril(dag.links).any()
    # NOT XOR is read from the XOR output node with one link of weight -1.
    o1, o2 = dag.outputs
    assert dag.links[o1, o2] == pytest.approx(-1.0)
    np.testing.assert_allclose(dag.predict(X), Y, atol=1e-9)


def test_prune_trained_engine_network_keeps_training_accuracy() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    net = Network.init(Spec.mlp(4, [12], 2, "tanh"), seed=0)
    net.fit(X, y, epochs=60, batch_size=16, seed=0)
    res = prune_hidden_lp(net, X, y)
    assert res.report.units_after <= res.report.units_before
    assert res.report.accuracy_after >= res.report.accuracy_before - 0.05
    assert res.network.layer_sizes[1] == 2


def test_prune_reads_before_and_after_with_the_same_activation() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4))
    y = (X[:, 0] - X[:, 2] > 0).astype(np.int64)
    net = Network.init(Spec.mlp(4, [10], 2, "tanh"), seed=1)
    net.fit(X, y, epochs=40, batch_size=16, seed=1)
    sat = prune_hidden_lp(net, X, y).report
    # Saturation reading of the trained network, as the pruned one is read.
    perceptron = PerceptronNetwork.from_network(net)
    expected = float(np.mean(np.argmax(perceptron.predict(X), axis=1) == y))
    assert sat.hidden_activation == "saturation" and sat.accuracy_before == expected
    real = prune_hidden_lp(net, X, y, hidden_activation="real")
    own = float(np.mean(np.argmax(net.forward(X), axis=1) == y))
    assert real.report.hidden_activation == "tanh" and real.report.accuracy_before == own


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_prune_with_real_hidden_activations_keeps_accuracy(activation: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    net = Network.init(Spec.mlp(5, [16], 3, activation), seed=0)
    net.fit(X, y, epochs=80, batch_size=16, seed=0)
    res = prune_hidden_lp(net, X, y, hidden_activation="real")
    pruned, rep = res.network, res.report
    assert isinstance(pruned, Network)
    hidden = pruned.spec.nodes[0]
    assert isinstance(hidden, Dense) and hidden.activation == activation
    assert hidden.units == len(rep.kept_units) == rep.units_after - 3
    # The kept units' first layer is the trained one, unchanged.
    kept = list(rep.kept_units)
    np.testing.assert_array_equal(
        pruned.params["dense_0.weight"], net.params["dense_0.weight"][kept]
    )
    # Samples the LP fits without error stay correct, so training accuracy cannot fall.
    if rep.lp_error == 0.0:
        assert rep.accuracy_after == 1.0
    assert rep.accuracy_after >= rep.accuracy_before
    assert rep.links_after <= rep.links_before
    acc = float(np.mean(np.argmax(pruned.forward(X), axis=1) == y))
    assert acc == rep.accuracy_after


def test_prune_real_rejects_other_structures() -> None:
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    deep = Network.init(Spec.mlp(2, [3, 3], 2, "tanh"), seed=0)
    with pytest.raises(SpecError):
        prune_hidden_lp(deep, X, y, hidden_activation="real")
    with pytest.raises(ConfigError):
        prune_hidden_lp(deep, X, y, hidden_activation="tanh")  # type: ignore[arg-type]


def test_prune_rejects_deep_or_foreign_networks() -> None:
    net = PerceptronNetwork([np.ones((1, 2))], [np.zeros(1)])
    with pytest.raises(ShapeError):
        prune_hidden_lp(net, X_AND, Y_AND)
    with pytest.raises(ConfigError):
        prune_hidden_lp("net", X_AND, Y_AND)  # type: ignore[arg-type]
    with pytest.raises(ShapeError):
        prune_hidden_lp(xor_example()[2], X_AND, np.ones((4, 3)))


def test_network_validation_and_conversion() -> None:
    with pytest.raises(ShapeError):
        PerceptronNetwork([np.ones((2, 2)), np.ones((1, 3))], [np.zeros(2), np.zeros(1)])
    with pytest.raises(DataError):
        PerceptronNetwork([np.full((1, 2), np.nan)], [np.zeros(1)])
    with pytest.raises(ConfigError):
        PerceptronNetwork([np.ones((1, 2))], [np.zeros(1)], activation="relu")
    with pytest.raises(ShapeError):
        PerceptronDAG(np.ones((2, 1)), np.eye(2), np.zeros(2), (1,))
    lin = PerceptronNetwork([np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.ones(1)], "linear")
    np.testing.assert_allclose(lin.to_network().forward(X_AND), lin.predict(X_AND), atol=1e-5)
    # Limits (-1, 1): the engine's sign/saturation activations reproduce the network exactly.
    X, Y, xor_net = xor_example()
    engine = xor_net.to_network()
    assert {n.activation for n in engine.spec.nodes} == {"sign"}
    np.testing.assert_array_equal(engine.forward(X), xor_net.predict(X))
    pruned = prune_hidden_lp(xor_net, X, Y).network
    np.testing.assert_array_equal(pruned.to_network().forward(X), Y)
    other = PerceptronNetwork(xor_net.weights, xor_net.biases, "sign", (0.0, 1.0))
    with pytest.raises(ConfigError):
        other.to_network()
    with pytest.raises(SpecError):
        PerceptronNetwork.from_network(Network.init(Spec.mlp(2, [], 1, bias=False)))


def test_save_load_round_trip(tmp_path: Path) -> None:
    X, Y, net = xor_example(seed=1)
    res = prune_hidden_lp(net, X, Y)
    for obj in (res.network, optimize_multilevel(res.network, X, Y).network):
        save_perceptron(obj, tmp_path / "p.npz")
        back = load_perceptron(tmp_path / "p.npz")
        assert type(back) is type(obj)
        np.testing.assert_array_equal(back.predict(X), obj.predict(X))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(SerializationError):
        load_perceptron(tmp_path / "bad.npz")
