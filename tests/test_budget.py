"""The accuracy budget: the shared helper, and every controller returning its best network.

Every controller run here is checked the same way: the returned network's validation accuracy,
measured with ``net.evaluate(data.X_val, data.y_val)``, is at least the floor (start − max_drop),
and no network of the run's history within the budget is smaller.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from neuroplast import ConfigError, Network, Spec, data
from neuroplast.lp import LPPrune, LPPruneConfig
from neuroplast.optim import Adam
from neuroplast.search import (
    DYNO,
    MCTS,
    Compress,
    CompressConfig,
    DYNOConfig,
    MCTSConfig,
    Neurogenesis,
    NeurogenesisConfig,
    Splits,
)
from neuroplast.search._budget import (
    BestUnderBudget,
    Budget,
    MostAccurate,
    chance_level,
    check_max_drop,
    fine_tune,
    parse_max_drop,
)
from neuroplast.search.mcts import ActionSpace, penalized_score, score
from neuroplast.search.surgeon import Surgeon, SurgeonConfig, SurgeonResult

RUNS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _val(net: Network, splits: Splits) -> float:
    return float(net.evaluate(splits.X_val, splits.y_val)["accuracy"])


@pytest.fixture(scope="module")
def small() -> Splits:
    """A digits subset: 300 training, 150 validation, 100 test samples."""
    ds = data.load("digits", seed=0)
    X, y = ds.X_train, ds.y_train
    return Splits(X[:300], y[:300], X[300:450], y[300:450], ds.X_test[:100], ds.y_test[:100])


@pytest.fixture(scope="module")
def trained(small: Splits) -> Network:
    net = Network.init(Spec.mlp(64, [32], 10), seed=0)
    net.fit(small.X_train, small.y_train, epochs=20, optimizer=Adam(lr=3e-3), seed=0)
    return net


# ----------------------------------------------------------------------------- the helper
def test_budget_floor_and_admission() -> None:
    b = Budget(0.9, 0.05, chance=0.1)
    assert b.floor == pytest.approx(0.85)
    assert b.admits(0.85) and b.admits(0.99) and not b.admits(0.849)
    assert not b.admits(math.nan) and not b.admits(math.inf)
    assert not Budget(0.2, 0.5, chance=0.1).admits(0.1)  # collapsed: at the chance level
    unbounded = Budget(0.9, None)
    assert unbounded.floor == -math.inf and unbounded.admits(0.01)
    assert unbounded.to_dict()["floor"] is None
    with pytest.raises(ConfigError):
        Budget(0.9, -0.1)
    for bad in (1.5, True, "0.1"):
        with pytest.raises(ConfigError):
            check_max_drop(bad)  # type: ignore[arg-type]
    assert parse_max_drop("none") is None and parse_max_drop("0.03") == 0.03
    assert chance_level(np.array([0, 0, 1, 2])) == 0.5 and chance_level(np.zeros(3)) == 0.0


@given(
    st.lists(st.tuples(st.integers(0, 3), st.floats(0.0, 1.0)), min_size=1, max_size=12),
    st.floats(0.3, 1.0),
    st.sampled_from([0.0, 0.01, 0.1, 0.5]),
)
@settings(max_examples=40, deadline=None)
def test_best_under_budget_keeps_the_smallest_admitted(
    offers: list[tuple[int, float]], start: float, max_drop: float
) -> None:
    nets = [Network.init(Spec.mlp(3, [w + 1], 2), seed=0) for w in range(4)]
    budget = Budget(start, max_drop, chance=0.2)
    best = BestUnderBudget(budget)
    for step, (w, acc) in enumerate(offers):
        best.offer(nets[w], acc, step)
    ok = [(nets[w].n_params, -acc, s) for s, (w, acc) in enumerate(offers) if budget.admits(acc)]
    if not ok:
        assert best.network is None and best.step is None
        return
    n, neg_acc, step = min(ok)
    assert best.network is not None and best.network.n_params == n
    assert (best.accuracy, best.step) == (-neg_acc, step)
    assert best.network is not nets[offers[step][0]]  # a copy is kept


@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.integers(1, 10**6),
    st.integers(1, 10**6),
    st.floats(0.0, 1.0),
)
def test_penalized_score_puts_every_in_budget_candidate_first(
    a: float, b: float, p: int, q: int, floor: float
) -> None:
    sa = penalized_score(a, p, floor, 1.0, 2.0, 0.001)
    sb = penalized_score(b, q, floor, 1.0, 2.0, 0.001)
    if a >= floor > b:
        assert sa > sb
    if a >= floor:
        assert sa == score(a, p, 1.0, 2.0, 0.001)
    elif b < a < floor:
        # below the floor: the more accurate first (as far as a - floor is representable; at
        # floor = 1 an accuracy of 1e-38 and one of 0 both sit at the bottom, -2)
        assert sa > sb if (a - floor) > (b - floor) else sa == sb


def test_fine_tune_keeps_the_network_unless_it_improves(small: Splits, trained: Network) -> None:
    before = _val(trained, small)
    net, info = fine_tune(
        trained, small, epochs=3, patience=1, optimizer=Adam(lr=1e-3), batch_size=32, seed=0
    )
    assert info["before"] == before and info["epochs"] <= 3
    assert _val(net, small) == max(before, info["after"])
    assert (net is not trained) == info["kept"]
    assert _val(trained, small) == before  # the input is not modified


def test_fine_tune_that_diverges_returns_the_network(small: Splits, trained: Network) -> None:
    net, info = fine_tune(
        trained, small, epochs=5, patience=5, optimizer=Adam(lr=1e9), batch_size=8, seed=0
    )
    assert net is trained and not info["kept"]
    assert "diverged" in info["diverged"]


# ----------------------------------------------------------------------------- MCTS
def _mcts_cfg(max_drop: float | None, **kw: Any) -> MCTSConfig:
    base: dict[str, Any] = dict(
        generations=3,
        epochs=1,
        rollouts=6,
        batch_size=32,
        train_samples=64,
        val_size=None,
        final_epochs=0,
        max_drop=max_drop,
        actions=ActionSpace(
            kinds=("add_neurons", "remove_neurons"),
            narrow_method="select",
            narrow_compensate="lstsq",
            calibration=128,
        ),
    )
    return MCTSConfig.fast(**{**base, **kw})


def _check_mcts(res: Any, start: Network, splits: Splits, max_drop: float) -> None:
    floor = _val(start, splits) - max_drop
    assert res.budget["floor"] == pytest.approx(floor)
    assert _val(res.network, splits) >= floor
    assert res.after["val_accuracy"] == _val(res.network, splits)
    within = [r for r in res.history if r["val_accuracy"] >= floor]
    assert res.network.n_params == min(r["n_params"] for r in within)
    chosen = res.history[res.chosen_step]
    assert chosen["n_params"] == res.network.n_params and chosen["in_budget"]
    assert len(res.edits) == res.chosen_step  # the edits that lead to the returned network


@RUNS
@given(max_drop=st.sampled_from([0.0, 0.01, 0.03, 0.1, 0.3]), seed=st.integers(0, 3))
def test_mcts_returns_the_smallest_network_within_the_budget(
    small: Splits, trained: Network, max_drop: float, seed: int
) -> None:
    res = MCTS(_mcts_cfg(max_drop)).run(trained, small, seed=seed, progress=False)
    _check_mcts(res, trained, small, max_drop)


def test_mcts_fine_tuning_keeps_the_budget(small: Splits, trained: Network) -> None:
    res = MCTS(_mcts_cfg(0.02, final_epochs=5, final_patience=2)).run(
        trained, small, seed=1, progress=False
    )
    tuning = res.final_tuning
    assert tuning is not None and tuning["epochs"] <= 5
    assert _val(res.network, small) == max(tuning["before"], tuning["after"])
    assert _val(res.network, small) >= res.budget["floor"]
    assert res.summary()["chosen_step"] == res.chosen_step


def test_mcts_stops_when_no_action_is_within_the_budget(small: Splits, trained: Network) -> None:
    # A zero budget on a network no removal keeps exactly: the first decision stops the run.
    cfg = _mcts_cfg(0.0, actions=ActionSpace(kinds=("remove_neurons",), keep_fractions=(0.1,)))
    res = MCTS(cfg).run(trained, small, seed=0, progress=False)
    assert res.stop_reason.startswith("budget") and res.chosen_step == 0
    assert len(res.history) == 1 and res.history[0]["decision"]["children"]
    assert not any(c["in_budget"] for c in res.history[0]["decision"]["children"])
    assert res.network.n_params == trained.n_params and len(res.edits) == 0


def test_mcts_without_budget_returns_the_last_network(small: Splits, trained: Network) -> None:
    res = MCTS(_mcts_cfg(None, phase=None)).run(trained, small, seed=0, progress=False)
    assert res.budget is None and res.chosen_step == res.history[-1]["step"]
    assert res.network.n_params == res.history[-1]["n_params"]
    paper = MCTSConfig.paper()
    assert paper.max_drop is None and not paper.budget_score
    assert paper.actions.narrow_method == "quasi_identity"
    assert MCTSConfig.fast().actions.narrow_compensate == "lstsq"
    assert MCTSConfig.fast(phase="grow").final_epochs == 0


def test_mcts_phase_2_on_digits_does_not_collapse() -> None:
    ds = data.load("digits", seed=0)
    splits = Splits.from_dataset(ds, seed=0)
    net = Network.init(Spec.mlp(64, [100], 10), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=30, optimizer=Adam(lr=1e-3), seed=0)
    res = MCTS(MCTSConfig.fast()).run(net, splits, seed=0, progress=False)
    widths = res.history[res.chosen_step]["widths"]
    hidden = [w for name, w, _ in widths if name != "output"]
    assert hidden and min(hidden) > 1
    assert res.network.n_params <= net.n_params
    assert _val(res.network, splits) >= _val(net, splits) - 0.01


# ----------------------------------------------------------------------------- Surgeon
def _surgeon_cfg(max_drop: float | None, **kw: Any) -> SurgeonConfig:
    base: dict[str, Any] = dict(
        total_epochs=6,
        initial_epochs=2,
        decision_every=2,
        recuperation_batches=2,
        threads=1,
        final_epochs=0,
        max_drop=max_drop,
    )
    return SurgeonConfig.fast(**{**base, **kw})


def _check_surgeon(res: SurgeonResult, start: Network, splits: Splits, max_drop: float) -> None:
    assert res.budget is not None
    floor = res.budget["floor"]
    assert floor == pytest.approx(res.budget["start_accuracy"] - max_drop)
    assert res.budget["start_accuracy"] >= _val(start, splits)  # never below start − max_drop
    assert res.budget["start_accuracy"] >= res.baseline_curve[-1][1]
    assert _val(res.network, splits) >= floor
    within = [r for r in res.history if r["val_accuracy"] >= floor]
    if res.chosen_step is None:  # no step was within the budget: the reference network
        assert not within and res.network.n_params == start.n_params
        return
    assert res.network.n_params == min(r["n_params"] for r in within)
    chosen = res.history[res.chosen_step]
    assert chosen["n_params"] == res.network.n_params and chosen["in_budget"]
    assert _val(res.network, splits) == pytest.approx(chosen["val_accuracy"])


@RUNS
@given(max_drop=st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5]), seed=st.integers(0, 3))
def test_surgeon_returns_the_smallest_network_within_the_budget(
    small: Splits, max_drop: float, seed: int
) -> None:
    start = Network.init(Spec.mlp(64, [10, 10], 10), seed=seed)
    res = Surgeon(_surgeon_cfg(max_drop)).run(start, small, seed=seed, progress=False)
    _check_surgeon(res, start, small, max_drop)


def test_surgeon_on_a_trained_start_keeps_its_accuracy(small: Splits, trained: Network) -> None:
    res = Surgeon(_surgeon_cfg(0.01)).run(trained, small, seed=0, progress=False)
    _check_surgeon(res, trained, small, 0.01)
    assert _val(res.network, small) >= _val(trained, small) - 0.01


def test_surgeon_small_start_stays_within_the_budget(small: Splits) -> None:
    # The paper's small topology: without a budget it may end as a linear model; with one the
    # returned network is within 0.01 of the topology trained directly, linear or not.
    start = Network.init(Spec.mlp(64, [10], 10), seed=0)
    res = Surgeon(_surgeon_cfg(0.01, final_epochs=4, final_patience=2)).run(
        start, small, seed=0, progress=False
    )
    assert res.budget is not None and res.final_tuning is not None
    assert _val(res.network, small) >= res.budget["floor"]
    assert res.after["val_accuracy"] == pytest.approx(res.val_accuracy)
    assert res.summary()["floor"] == res.budget["floor"]
    paper = SurgeonConfig.paper()
    assert paper.max_drop is None and paper.final_epochs == 0


def test_surgeon_resume_with_a_budget(small: Splits, tmp_path: Any) -> None:
    from neuroplast.search.surgeon import algorithm

    start = Network.init(Spec.mlp(64, [10, 10], 10), seed=2)
    cfg = _surgeon_cfg(0.05)
    full = Surgeon(cfg).run(start, small, seed=2, run_dir=tmp_path / "a", progress=False)
    calls = {"n": 0}
    real = algorithm.Surgeon._decide

    def killed(self: Any, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real(self, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(algorithm.Surgeon, "_decide", killed)
        with pytest.raises(KeyboardInterrupt):
            Surgeon(cfg).run(start, small, seed=2, run_dir=tmp_path / "b", progress=False)
    resumed = Surgeon(cfg).run(
        start, small, seed=2, run_dir=tmp_path / "b", resume=True, progress=False
    )
    assert resumed.chosen_step == full.chosen_step and resumed.budget == full.budget
    assert resumed.network.spec == full.network.spec
    for k, v in full.network.params.items():
        np.testing.assert_array_equal(v, resumed.network.params[k])


def test_surgeon_budget_decisions_rank_on_track_candidates_first(small: Splits) -> None:
    start = Network.init(Spec.mlp(64, [10, 10], 10), seed=1)
    res = Surgeon(_surgeon_cfg(0.02, budget_decisions=True)).run(
        start, small, seed=1, progress=False
    )
    _check_surgeon(res, start, small, 0.02)
    seen = 0
    for d in res.decisions:
        for attempt in {c.attempt for c in d.candidates}:
            done = [c for c in d.candidates if c.attempt == attempt and math.isfinite(c.score)]
            assert all(c.on_track is not None for c in done)
            for c in (c for c in done if c.chosen):
                for o in (o for o in done if not o.chosen):
                    seen += 1
                    assert c.on_track or not o.on_track
                    if c.on_track == o.on_track:
                        assert c.score >= o.score
    assert seen > 0
    off = Surgeon(_surgeon_cfg(0.02)).run(start, small, seed=1, progress=False)
    assert all(c.on_track is None for d in off.decisions for c in d.candidates)


# ----------------------------------------------------------------------------- the keepers
def test_most_accurate_and_checkpointed_keepers(tmp_path: Any) -> None:
    nets = [Network.init(Spec.mlp(3, [w], 2), seed=0) for w in (2, 6, 4)]
    best = MostAccurate(Budget(0.3, None, chance=0.5))
    for step, (net, acc) in enumerate(zip(nets, (0.5, 0.8, 0.8), strict=True)):
        best.offer(net, acc, step)
    assert best.step == 2 and best.accuracy == 0.8  # the tie goes to the smaller network
    state = best.state(tmp_path)
    again = MostAccurate(Budget(0.3, None, chance=0.5))
    again.load_state(state, tmp_path)
    assert again.step == 2 and again.network is not None and again.network.spec == nets[2].spec
    empty = BestUnderBudget(Budget(0.3, 0.0)).state(tmp_path)
    assert empty["step"] is None and empty["budget"]["floor"] == 0.3


# ----------------------------------------------------------------------------- DYNO
def _history_check(res: Any, splits: Splits, floor: float) -> dict[str, Any]:
    """The returned network is within ``floor`` and the smallest in-budget history record."""
    assert _val(res.network, splits) >= floor
    assert res.after["val_accuracy"] == _val(res.network, splits)
    within = [r for r in res.history if r["val_accuracy"] >= floor]
    assert res.network.n_params == min(r["n_params"] for r in within)
    chosen = [r for r in res.history if r["step"] == res.chosen_step]
    assert len(chosen) == 1 and chosen[0]["n_params"] == res.network.n_params
    assert chosen[0]["in_budget"]
    return chosen[0]


@RUNS
@given(
    max_drop=st.sampled_from([0.0, 0.01, 0.05, 0.2]),
    seed=st.integers(0, 3),
    lr=st.sampled_from([3e-4, 1e-2]),
)
def test_dyno_returns_the_smallest_network_within_the_budget(
    small: Splits, trained: Network, max_drop: float, seed: int, lr: float
) -> None:
    cfg = DYNOConfig.fast(
        steps=40, eval_every=10, batch_size=32, lr=lr, max_drop=max_drop, final_epochs=0
    )
    res = DYNO(cfg).run(trained, small, seed=seed, progress=False)
    floor = _val(trained, small) - max_drop
    assert res.budget is not None and res.budget["floor"] == pytest.approx(floor)
    chosen = _history_check(res, small, floor)
    assert _val(res.network, small) == chosen["val_accuracy"]
    assert len(res.edits) == sum(e["step"] < res.chosen_step for e in res.events)


def test_dyno_fine_tuning_and_paper_preset(small: Splits, trained: Network) -> None:
    cfg = DYNOConfig.fast(steps=40, eval_every=10, batch_size=32, final_epochs=4, final_patience=2)
    res = DYNO(cfg).run(trained, small, seed=0, progress=False)
    tuning = res.final_tuning
    assert tuning is not None and tuning["epochs"] <= 4
    assert _val(res.network, small) == max(tuning["before"], tuning["after"])
    assert res.budget is not None and _val(res.network, small) >= res.budget["floor"]
    assert res.summary()["chosen_step"] == res.chosen_step
    paper = DYNOConfig.paper()
    assert paper.max_drop is None and paper.final_epochs == 0
    last = DYNO(paper.replace(steps=40, eval_every=10, batch_size=32)).run(
        trained, small, seed=0, progress=False
    )
    assert last.budget is None and last.chosen_step == last.history[-1]["step"] == 40
    assert last.network.n_params == last.history[-1]["n_params"]
    assert len(last.edits) == len(last.events)


def test_dyno_resume_with_a_budget_returns_the_same_network(
    small: Splits, trained: Network, tmp_path: Any
) -> None:
    from neuroplast.search.growth import StepTrainer

    cfg = DYNOConfig.fast(steps=40, eval_every=10, batch_size=32, final_epochs=3, final_patience=1)
    full = DYNO(cfg).run(trained, small, seed=1, run_dir=tmp_path / "a", progress=False)
    assert full.chosen_step is not None and full.chosen_step < 40  # kept before the interruption
    real, calls = StepTrainer.run, {"n": 0}

    def killed(self: Any, net: Network, steps: int) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, net, steps)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(StepTrainer, "run", killed)
        with pytest.raises(KeyboardInterrupt):
            DYNO(cfg).run(trained, small, seed=1, run_dir=tmp_path / "b", progress=False)
    resumed = DYNO(cfg).run(
        trained, small, seed=1, run_dir=tmp_path / "b", resume=True, progress=False
    )
    assert resumed.chosen_step == full.chosen_step and resumed.budget == full.budget
    assert (tmp_path / "a/final.npl").read_bytes() == (tmp_path / "b/final.npl").read_bytes()


# ----------------------------------------------------------------------------- Neurogenesis
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 3), lr=st.sampled_from([1e-2, 0.1]))
@example(seed=3, lr=0.1)  # validation accuracy falls in the last epoch: not the last network
def test_neurogenesis_restores_the_best_validation_epoch(seed: int, lr: float) -> None:
    ds = data.load("digits", seed=0)
    X, y = ds.X_train, ds.y_train
    splits = Splits(X[:300], y[:300], X[300:450], y[300:450])
    start = Network.init(Spec.mlp(64, [6], 10), seed=seed)
    cfg = NeurogenesisConfig.fast(
        strategy="north-random",
        epochs=4,
        batch_size=16,
        eval_every=5,
        lr=lr,
        max_width=24,
        final_epochs=0,
    )
    res = Neurogenesis(cfg).run(start, splits, seed=seed, progress=False)
    top = max(r["val_accuracy"] for r in res.history)
    best = min((r for r in res.history if r["val_accuracy"] == top), key=lambda r: r["n_params"])
    assert res.chosen_step == best["step"] and res.budget is None
    assert _val(res.network, splits) == top and res.network.n_params == best["n_params"]
    assert len(res.edits) == sum(e["step"] < res.chosen_step for e in res.events)
    tuned = Neurogenesis(cfg.replace(final_epochs=3, final_patience=1)).run(
        start, splits, seed=seed, progress=False
    )
    assert tuned.final_tuning is not None and _val(tuned.network, splits) >= top
    last = Neurogenesis(cfg.replace(restore_best=False)).run(
        start, splits, seed=seed, progress=False
    )
    assert last.chosen_step == last.history[-1]["step"]
    assert last.network.n_params == last.history[-1]["n_params"]
    paper = NeurogenesisConfig.paper()
    assert paper.max_drop is None and not paper.restore_best and paper.final_epochs == 0


# ----------------------------------------------------------------------------- LP pruning
@pytest.fixture(scope="module")
def tanh_net(small: Splits) -> Network:
    """A trained 64-6-10 tanh network: small LPs on 40 samples."""
    net = Network.init(Spec.mlp(64, [6], 10, "tanh"), seed=0)
    net.fit(small.X_train, small.y_train, epochs=20, optimizer=Adam(lr=3e-3), seed=0)
    return net


@RUNS
@given(
    max_drop=st.sampled_from([0.0, 0.01, 0.1, 0.5]),
    multilevel=st.booleans(),
    samples=st.sampled_from([20, 40]),
)
def test_lp_returns_the_smallest_network_within_the_budget(
    small: Splits, tanh_net: Network, max_drop: float, multilevel: bool, samples: int
) -> None:
    cfg = LPPruneConfig.fast(samples=samples, multilevel=multilevel, max_drop=max_drop)
    res = LPPrune(cfg).run(tanh_net, small, progress=False)
    floor = _val(tanh_net, small) - max_drop
    assert res.budget is not None and res.budget["floor"] == pytest.approx(floor)
    chosen = _history_check(res, small, floor)
    assert _val(res.network, small) == chosen["val_accuracy"]
    last = res.history[-1]
    if res.chosen_step != last["step"]:
        assert "budget: returned" in res.stop_reason
    if res.chosen_step == 0:
        assert res.network is not tanh_net and res.network.spec == tanh_net.spec
        assert (res.links_after, res.units_after) == (res.links_before, res.units_before)


def test_lp_without_a_budget_returns_the_last_phase(small: Splits, tanh_net: Network) -> None:
    res = LPPrune(LPPruneConfig.paper(samples=20)).run(tanh_net, small, progress=False)
    assert res.budget is None and res.chosen_step == 2 and "budget" not in res.stop_reason
    assert res.network.n_params == res.history[-1]["n_params"]
    assert LPPruneConfig().max_drop == 0.01
    with pytest.raises(ConfigError):
        LPPruneConfig(max_drop=2.0)


# ----------------------------------------------------------------------------- compress
@RUNS
@given(max_drop=st.sampled_from([0.0, 0.01, 0.05, 0.2]), seed=st.integers(0, 3))
def test_compress_returns_the_smallest_network_within_the_budget(
    small: Splits, trained: Network, max_drop: float, seed: int
) -> None:
    cfg = CompressConfig.fast(
        max_drop=max_drop, max_rounds=2, tune_epochs=1, final_epochs=2, patience=1, calibration=200
    )
    res = Compress(cfg).run(trained, small, seed=seed, progress=False)
    floor = _val(trained, small) - max_drop
    assert res.floor == pytest.approx(floor) and res.budget is not None
    assert res.budget["chance"] == chance_level(small.y_val)
    assert _val(res.network, small) >= floor
    within = [r for r in res.history if r["val_accuracy"] >= floor]
    assert res.network.n_params == min(r["n_params"] for r in within)
    tuning = res.final_tuning
    assert tuning is not None
    assert _val(res.network, small) == max(tuning["before"], tuning["after"])
    assert all(
        r["val_accuracy"] < floor or r["val_accuracy"] <= res.budget["chance"] for r in res.rejected
    )
