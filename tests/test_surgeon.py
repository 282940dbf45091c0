"""Seed 001's recommendation and modification modules and the score (no training loop)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuroplast import Network, Spec
from neuroplast.errors import ConfigError, InvalidMorphismError
from neuroplast.morph import factorize
from neuroplast.search.surgeon import (
    Proposal,
    SurgeonConfig,
    apply,
    layer_info,
    propose,
    rank,
    ratings,
    score,
    select,
)

# Table 1 of the paper: (operation, accuracy, accuracy gain, parameter fraction, score).
TABLE_1 = [
    ("Remove layer", 0.6023, 0.0274, 0.9977, 0.9812),
    ("Identity", 0.6016, 0.0268, 1.0000, 0.9795),
    ("Remove 1 Neuron", 0.5829, 0.0081, 0.9997, 0.9539),
    ("Add layer", 0.5773, 0.0025, 1.0030, 0.9450),
    ("Add 20 Neurons", 0.5678, -0.0070, 2.6544, 0.6377),
]


def _with_singular_values(sigma: list[float], n_in: int, seed: int = 0) -> np.ndarray:
    """``W = U·diag(σ)·Vᵀ`` of shape ``(len(σ), n_in)`` with random orthonormal ``U``, ``V``."""
    rng = np.random.default_rng(seed)
    n = len(sigma)
    u, _ = np.linalg.qr(rng.normal(size=(n, n)))
    v, _ = np.linalg.qr(rng.normal(size=(n_in, n_in)))
    w: np.ndarray = (u @ np.diag(sigma) @ v[:, :n].T).astype(np.float32)
    return w


def _net_with(weights: dict[str, np.ndarray], spec: Spec) -> Network:
    """A network of ``spec`` whose named weights are replaced and whose biases are zero."""
    base = Network.init(spec, seed=0)
    params = {k: np.zeros_like(v) if k.endswith(".bias") else v for k, v in base.params.items()}
    params.update({f"{k}.weight": w for k, w in weights.items()})
    return Network(spec, params)


# ----------------------------------------------------------------------------- score (eq. 16)
@pytest.mark.parametrize(("op", "a", "gain", "frac", "expected"), TABLE_1)
def test_score_reproduces_table_1(
    op: str, a: float, gain: float, frac: float, expected: float
) -> None:
    # The table's inputs are rounded to 4 digits, so the last digit may differ by one.
    assert score(a, gain, frac) == pytest.approx(expected, abs=1.5e-4), op


def test_table_1_winners_are_remove_layer_and_identity() -> None:
    scores = [score(a, g, f) for _, a, g, f, _ in TABLE_1]
    best = rank(TABLE_1, scores, [100] * 5)[:2]
    assert [TABLE_1[i][0] for i in best] == ["Remove layer", "Identity"]


def test_score_grows_with_gain_and_shrinks_with_size() -> None:
    assert score(0.9, 0.02, 1.0) > score(0.9, 0.01, 1.0)
    assert score(0.9, 0.01, 0.8) > score(0.9, 0.01, 1.0)
    # Same accuracy: an operation that shows a gain beats one that stands still.
    assert score(0.94, 0.04, 1.0) > score(0.94, 0.0, 1.0)


def test_rank_breaks_ties_toward_fewer_parameters() -> None:
    assert rank(["big", "small"], [1.0, 1.0], [200, 100]) == [1, 0]
    assert rank(["a", "b"], [1.0, 1.0], [100, 100]) == [0, 1]


@pytest.mark.parametrize(("a", "g", "f"), [(np.nan, 0, 1), (0.5, np.inf, 1), (0.5, 0, 0.0)])
def test_score_rejects_bad_inputs(a: float, g: float, f: float) -> None:
    with pytest.raises(ConfigError):
        score(a, g, f)


# ----------------------------------------------------------------------------- ratings
def test_ratings_formulas() -> None:
    r = ratings(n_r=3, n=10, i=2, h=4)
    assert r["add_neurons"] == pytest.approx(0.7)
    assert r["add_layer"] == pytest.approx(0.7 * 2 / 4)
    assert r["remove_neurons"] == pytest.approx(0.3)
    assert r["remove_layer"] == pytest.approx(0.3 * 2 / 4)
    assert r["factorize"] == pytest.approx(0.3)


def test_remove_layer_is_one_when_every_unit_is_removable() -> None:
    r = ratings(n_r=5, n=5, i=1, h=3)
    assert r["remove_layer"] == 1.0  # not (5/5)·(1/3)
    assert r["add_neurons"] == 0.0 and r["add_layer"] == 0.0


def test_position_factor_favours_later_layers() -> None:
    first, last = ratings(2, 10, 1, 3), ratings(2, 10, 3, 3)
    assert first["add_layer"] < last["add_layer"] and first["remove_layer"] < last["remove_layer"]
    assert first["add_neurons"] == last["add_neurons"]


@given(st.integers(1, 50).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.integers(1, 6).flatmap(lambda h: st.tuples(st.integers(1, h), st.just(h))))  # fmt: skip
def test_ratings_lie_in_unit_interval(nr_n: tuple[int, int], i_h: tuple[int, int]) -> None:
    r = ratings(nr_n[0], nr_n[1], i_h[0], i_h[1])
    assert all(0.0 <= v <= 1.0 for v in r.values())


@pytest.mark.parametrize("args", [(3, 2, 1, 1), (0, 0, 1, 1), (0, 5, 0, 1), (0, 5, 2, 1)])
def test_ratings_reject_out_of_range_counts(args: tuple[int, int, int, int]) -> None:
    with pytest.raises(InvalidMorphismError):
        ratings(*args)


# ----------------------------------------------------------------------------- thresholds
@pytest.mark.parametrize(
    ("sigma", "expected"),
    [
        ([10.0, 5.0, 0.31, 0.29, 0.04], 2),  # absolute ε₂ = 0.3
        ([1000.0, 6.0, 4.9, 4.0], 2),  # relative ε₁·σ_max = 5 (above ε₂)
        ([2.0, 1.0, 0.5, 0.4], 0),
        ([0.2, 0.1, 0.05], 3),  # every unit removable
    ],
)
def test_removable_units_on_known_singular_values(sigma: list[float], expected: int) -> None:
    n = len(sigma)
    spec = Spec.mlp(8, [n, 4], 3)
    net = _net_with({"dense_0": _with_singular_values(sigma, 8)}, spec)
    info = layer_info(net, "dense_0", 1, 2, 0.3, 0.005)
    assert info.removable == expected and info.removable_weight == expected
    assert info.units == n


def test_removable_units_count_the_layer_the_surgery_truncates() -> None:
    # dense_0 has two negligible directions, dense_1 none: the count is on dense_0's own W.
    spec = Spec.mlp(8, [5, 5], 3)
    w0 = _with_singular_values([4.0, 3.0, 2.0, 0.01, 0.0], 8, seed=1)
    w1 = _with_singular_values([4.0, 3.0, 2.0, 1.5, 1.0], 5, seed=2)
    net = _net_with({"dense_0": w0, "dense_1": w1}, spec)
    props = propose(net, SurgeonConfig())
    removes = {p.layer: p.amount for p in props if p.op == "remove_neurons"}
    assert removes == {"dense_0": 2}
    r0 = next(p for p in props if p.op == "add_neurons" and p.layer == "dense_0")
    assert r0.rating == pytest.approx(1 - 2 / 5)


def test_conv_channels_are_units() -> None:
    spec = Spec.cnn((1, 8, 8), [6], 10, hidden=[8])
    net = Network.init(spec, seed=0)
    info = layer_info(net, "conv_0", 1, 2, 0.3, 0.005)
    assert info.units == 6 and info.rank_bound == 6
    ops = {(p.op, p.layer) for p in propose(net, SurgeonConfig())}
    assert ("add_neurons", "conv_0") in ops and ("add_layer", "conv_0") in ops
    # No merge expresses removing a conv layer; the dense head can be removed.
    assert ("remove_layer", "conv_0") not in ops and ("remove_layer", "dense_0") in ops


# ----------------------------------------------------------------------------- selection
def _p(op: str, layer: str | None, rating: float, n_params: int, branch: int = 0) -> Proposal:
    return Proposal(op, layer, 1, rating, n_params, 100, branch)  # type: ignore[arg-type]


POOL = [
    _p("identity", None, 1.0, 100),
    _p("identity", None, 1.0, 100, branch=1),
    _p("add_neurons", "a", 0.8, 130),
    _p("add_neurons", "b", 0.8, 120),  # same rating, fewer parameters: wins the tie
    _p("add_layer", "a", 0.5, 110),
    _p("remove_neurons", "a", 0.2, 90),
    _p("remove_layer", "b", 0.9, 80),
    _p("remove_layer", "a", 0.1, 70),
]


def test_per_type_selection_takes_best_of_each_type_plus_one_random() -> None:
    cfg = SurgeonConfig(random_draw=False)
    chosen = select(POOL, cfg, np.random.default_rng(0))
    assert [(p.op, p.layer, p.branch) for p in chosen] == [
        ("identity", None, 0),
        ("identity", None, 1),
        ("add_neurons", "b", 0),
        ("add_layer", "a", 0),
        ("remove_neurons", "a", 0),
        ("remove_layer", "b", 0),
    ]
    with_random = select(POOL, SurgeonConfig(), np.random.default_rng(0))
    assert with_random[:-1] == chosen
    assert with_random[-1] in {POOL[2], POOL[7]}  # drawn from those not chosen


def test_top_n_selection_ranks_all_types_together() -> None:
    cfg = SurgeonConfig(selection="top_n", top_n=3, random_draw=False)
    chosen = select(POOL, cfg, np.random.default_rng(0))
    assert [(p.op, p.layer) for p in chosen[2:]] == [
        ("remove_layer", "b"),
        ("add_neurons", "b"),
        ("add_neurons", "a"),
    ]


def test_random_draw_is_seeded() -> None:
    draws = {select(POOL, SurgeonConfig(), np.random.default_rng(s))[-1] for s in range(20)}
    assert draws == {POOL[2], POOL[7]}
    a = select(POOL, SurgeonConfig(), np.random.default_rng(5))
    assert a == select(POOL, SurgeonConfig(), np.random.default_rng(5))


# ----------------------------------------------------------------------------- modification
X = np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)


def test_add_neurons_and_add_layer_preserve_the_function() -> None:
    net = Network.init(Spec.mlp(8, [5, 4], 3, activation="tanh"), seed=3)
    wide, recs = apply(net, Proposal("add_neurons", "dense_0", 3, 1.0, 0, 1, 0, seed=7))
    assert wide.spec.widths["dense_0"] == 8 and recs[0].contract == "exact"
    np.testing.assert_allclose(wide.forward(X), net.forward(X), atol=1e-5)
    relu = Network.init(Spec.mlp(8, [5, 4], 3), seed=3)
    deep, recs = apply(relu, Proposal("add_layer", "dense_1", 0, 1.0, 0, 1, 0))
    assert recs[0].contract == "exact" and len(deep.spec.nodes) == 4
    np.testing.assert_allclose(deep.forward(X), relu.forward(X), atol=1e-5)


def test_remove_neurons_is_exact_for_a_rank_deficient_linear_layer() -> None:
    spec = Spec.mlp(8, [5, 4], 3, activation="identity")
    w0 = _with_singular_values([3.0, 2.0, 1.0, 0.0, 0.0], 8)
    net = _net_with({"dense_0": w0}, spec)
    small, recs = apply(net, Proposal("remove_neurons", "dense_0", 2, 0.4, 0, 1, 0))
    assert small.spec.widths["dense_0"] == 3
    assert max(recs[0].args["bound"]) < 1e-5
    np.testing.assert_allclose(small.forward(X), net.forward(X), atol=1e-4)


def test_remove_layer_merges_into_the_reader() -> None:
    net = Network.init(Spec.mlp(8, [5, 4], 3, activation="identity"), seed=1)
    small, _ = apply(net, Proposal("remove_layer", "dense_0", 0, 0.1, 0, 1, 0))
    assert [n.name for n in small.spec.nodes] == ["dense_1", "output"]
    np.testing.assert_allclose(small.forward(X), net.forward(X), atol=1e-4)


def test_factorize_full_rank_is_exact_and_low_rank_matches_eckart_young() -> None:
    net = Network.init(Spec.mlp(8, [6], 3), seed=2)
    same, rec = factorize(net, "dense_0", 6)
    assert rec.contract == "exact"
    np.testing.assert_allclose(same.forward(X), net.forward(X), atol=1e-5)
    w = _with_singular_values([5.0, 4.0, 1e-3, 0.0, 0.0, 0.0], 20)
    big = _net_with({"dense_0": w}, Spec.mlp(20, [6], 3))
    low, rec = factorize(big, "dense_0", 2)
    assert rec.contract == "approximate"
    assert rec.args["bound"] == pytest.approx([1e-3, 0, 0, 0], abs=1e-5)
    assert low.n_params == big.n_params - 6 * 20 + 2 * (6 + 20)
    Xb = np.random.default_rng(1).normal(size=(16, 20)).astype(np.float32)
    np.testing.assert_allclose(low.forward(Xb), big.forward(Xb), atol=1e-2)


def test_factorize_conv_full_rank_is_exact() -> None:
    net = Network.init(Spec.cnn((2, 8, 8), [6], 10, hidden=[8]), seed=4)
    same, rec = factorize(net, "conv_0", 6)
    assert rec.contract == "exact" and same.spec.widths["conv_0_svd"] == 6
    Xc = np.random.default_rng(2).normal(size=(4, 2, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(same.forward(Xc), net.forward(Xc), atol=1e-4)
    low, _ = factorize(net, "conv_0", 2)
    assert low.n_params == net.n_params - 6 * 18 + 2 * 18 + 6 * 2


def test_factorize_rejects_other_layers_and_bad_rank() -> None:
    net = Network.init(Spec.cnn((1, 8, 8), [4], 10), seed=0)
    with pytest.raises(InvalidMorphismError):
        factorize(net, "pool_0", 2)
    dense = Network.init(Spec.mlp(8, [6], 3), seed=0)
    for rank_ in (0, 7):
        with pytest.raises(InvalidMorphismError):
            factorize(dense, "dense_0", rank_)


# ----------------------------------------------------------------------------- config
def test_presets() -> None:
    p = SurgeonConfig.paper()
    assert (p.lr, p.batch_size, p.total_epochs, p.decision_every, p.branches, p.max_redraws) == (
        0.005, 16, 100, 10, 2, 2,
    )  # fmt: skip
    assert (p.initial_epochs, p.recuperation_batches, p.eps_abs, p.eps_rel) == (10, 25, 0.3, 0.005)
    assert dict(p.recuperation) == {
        "identity": 1, "add_neurons": 1, "add_layer": 10, "remove_neurons": 10,
        "remove_layer": 10, "factorize": 1,
    }  # fmt: skip
    assert p.selection == "per_type" and p.random_draw
    assert SurgeonConfig.from_dict(p.to_dict()) == p
    assert SurgeonConfig.fast().total_epochs < p.total_epochs
    assert SurgeonConfig.PRESETS == ("paper", "fast")
    assert SurgeonConfig.preset("fast", branches=3) == SurgeonConfig.fast().replace(branches=3)
    assert p.threads is None and not p.baseline
    with pytest.raises(ConfigError):
        SurgeonConfig.preset("huge")
    with pytest.raises(ConfigError):
        p.replace(epochs=3)


@pytest.mark.parametrize(
    "bad",
    [
        {"total_epochs": 0},
        {"initial_epochs": 200},
        {"branches": 1.5},
        {"lr": -1.0},
        {"selection": "best"},
        {"operations": ("identity", "teleport")},
        {"recuperation": {"identity": 1}},
        {"widen_fractions": ()},
        {"momentum": 1.0},
        {"eps_abs": float("nan")},
        {"threads": 0},
        {"memory": 1},
    ],
)
def test_bad_config_raises_config_error(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SurgeonConfig(**bad)  # type: ignore[arg-type]


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError):
        SurgeonConfig.from_dict({"epochs": 3})


@pytest.mark.parametrize(
    "module", ["config", "proposal", "recommend", "modify", "score", "algorithm", "baseline"]
)
def test_module_doctests(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"neuroplast.search.surgeon.{module}"))
    assert result.failed == 0 and result.attempted > 0
