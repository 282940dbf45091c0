from __future__ import annotations

import gc
import multiprocessing
import tracemalloc
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from neuroplast import ConfigError, Network, Spec
from neuroplast.search import MCTS, MCTSConfig, shared_data
from neuroplast.search.mcts import Searcher
from neuroplast.search.mcts import optimize as optimize_module


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(7)
    centers = rng.normal(scale=2.5, size=(3, 8))
    y = np.repeat(np.arange(3), 80)
    X = (centers[y] + rng.normal(size=(240, 8))).astype(np.float32)
    perm = rng.permutation(240)
    X, y = X[perm], y[perm].astype(np.int64)
    net = Network.init(Spec.mlp(8, [24, 16], 3), seed=0)
    net.fit(X[:160], y[:160], epochs=5, batch_size=16, seed=0)
    return net, X[:160], y[:160], X[160:], y[160:]


def _mcts(**kw) -> MCTS:
    base = dict(generations=3, epochs=2, rollouts=10, batch_size=16, train_samples=64, val_size=50)
    if "seconds" in kw:
        base["rollouts"] = None
    return MCTS.fast(**{**base, **kw})


def _same_net(a: Network, b: Network) -> bool:
    return a.spec == b.spec and all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def _strip(records):
    """Records without wall times."""
    out = []
    for r in records:
        r = dict(r)
        if "decision" in r:
            r["decision"] = {k: v for k, v in r["decision"].items() if k != "seconds"}
        out.append(r)
    return out


def test_decision_is_deterministic_per_seed(task) -> None:
    mcts = _mcts()
    d1 = mcts.decide(*task, seed=3)
    d2 = mcts.decide(*task, seed=3)
    assert d1.action == d2.action and d1.children == d2.children and d1.rollouts == 16
    # Every legal action of the root was expanded and evaluated at least once.
    assert len(d1.children) == 16 and all(c["visits"] >= 1 for c in d1.children)
    assert max(c["visits"] for c in d1.children) == max(
        c["visits"] for c in d1.children if c["action"] == d1.action.label
    )


def test_optimize_is_deterministic_per_seed(task) -> None:
    mcts = _mcts(phase=None)
    r1 = mcts.optimize(*task, seed=1, progress=False)
    r2 = mcts.optimize(*task, seed=1, progress=False)
    assert _same_net(r1.network, r2.network)
    assert _strip(r1.records) == _strip(r2.records)
    assert len(r1.records) == 4 and r1.stop_reason == "generation limit"
    assert [r.name for r in r1.edits.records] == [
        {"add_neurons": "widen", "remove_neurons": "narrow", "delete_layer": "shallow"}.get(
            rec["action_kind"], "deepen"
        )
        for rec in r1.records[:-1]
    ]


def test_process_pool_equals_in_process(task) -> None:
    mcts = _mcts(parallel=2, rollouts=8)
    local = mcts.decide(*task, seed=2)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = mcts.decide(*task, seed=2, executor=pool)
    assert local.action == remote.action and local.children == remote.children


def test_tree_memory_is_bounded(task) -> None:
    _, X, y, Xv, yv = task
    net = Network.init(Spec.mlp(8, [128, 64], 3), seed=0)  # 9.7k parameters, 39 kB
    cfg = _mcts(rollouts=40, tree_depth=4, cache_size=2, train_samples=32).config
    model_bytes = sum(a.nbytes for a in net.params.values())
    with shared_data(X, y, Xv, yv) as data:
        searcher = Searcher(net, cfg, data, seed=0)
        gc.collect()
        tracemalloc.start(6)
        before = tracemalloc.take_snapshot()
        searcher.run()
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    # The morph library's per-spec caches (bounded, shared by every user) are not the tree's.
    skip = [tracemalloc.Filter(False, "*/neuroplast/morph/*", all_frames=True)]
    grown = sum(
        d.size_diff
        for d in after.filter_traces(skip).compare_to(before.filter_traces(skip), "filename")
    )
    nodes = searcher.root.size()
    assert nodes > 50
    assert len(searcher.cache) <= 2
    # Retained memory per tree node is a small fraction of one model copy (which holds the
    # parameters alone; a copy with optimizer state would be three times larger).
    per_node = (grown - 2 * 3 * model_bytes) / nodes
    assert per_node < 0.1 * model_bytes, (grown, nodes, model_bytes)


def test_resume_equals_uninterrupted(task, tmp_path, monkeypatch) -> None:
    mcts = _mcts(phase=None)
    full = mcts.optimize(*task, seed=4, run_dir=tmp_path / "a", progress=False, report=False)
    calls = {"n": 0}
    real_run = optimize_module.Searcher.run

    def killed_run(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_run(self)

    monkeypatch.setattr(optimize_module.Searcher, "run", killed_run)
    with pytest.raises(KeyboardInterrupt):
        mcts.optimize(*task, seed=4, run_dir=tmp_path / "b", progress=False, report=False)
    monkeypatch.setattr(optimize_module.Searcher, "run", real_run)
    assert (tmp_path / "b" / "checkpoints" / "gen_0002.json").exists()
    resumed = mcts.optimize(
        *task, seed=4, run_dir=tmp_path / "b", resume=True, progress=False, report=False
    )
    assert _same_net(full.network, resumed.network)
    assert _strip(full.records) == _strip(resumed.records)
    assert full.edits.to_json() == resumed.edits.to_json()
    assert (tmp_path / "b" / "final.npl").exists() and (tmp_path / "b" / "history.json").exists()
    with pytest.raises(ConfigError, match="another seed"):
        mcts.optimize(*task, seed=5, run_dir=tmp_path / "b", resume=True, progress=False)


def test_phase_stop_rules(task, tmp_path) -> None:
    net, X, y, Xv, yv = task
    # Phase 2 keeps going until parameters fell by 20% at < 0.1 accuracy loss.
    res = _mcts(generations=6).phase2(net, X, y, Xv, yv, seed=0, progress=False)
    first, last = res.records[0], res.records[-1]
    assert res.stop_reason.startswith("parameters fell") or res.stop_reason == "generation limit"
    if res.stop_reason.startswith("parameters fell"):
        assert last["n_params"] <= 0.8 * first["n_params"]
        assert last["accuracy"] > first["accuracy"] - 0.1
    # Phase 1 stops as soon as the target accuracy is reached (here: at once).
    grown = _mcts(target_accuracy=0.5).phase1(net, X, y, Xv, yv, seed=0, progress=False)
    assert len(grown.records) == 1 and grown.stop_reason.startswith("target accuracy")


def test_run_folder_and_report(task, tmp_path) -> None:
    res = _mcts(phase=None, generations=2).optimize(*task, run_dir=tmp_path, progress=False)
    for name in (
        "history.json",
        "final.npl",
        "edits.json",
        "report/history.png",
        "report/training.png",
        "report/architecture.png",
    ):
        assert (tmp_path / name).exists(), name
    assert _same_net(Network.load(tmp_path / "final.npl"), res.network)


def test_config_validation() -> None:
    with pytest.raises(ConfigError):
        MCTSConfig(rollouts=None, seconds=None)
    with pytest.raises(ConfigError):
        MCTSConfig(rollout_value="median")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown MCTS settings"):
        MCTS(nope=1)
    cfg = MCTSConfig().replace(seconds=2.0)
    assert cfg.rollouts is None and MCTSConfig.from_dict(cfg.to_dict()) == cfg
    assert MCTS.paper().config.epochs == 50 and MCTS.paper().config.w_params == 2.0
    with pytest.raises(ConfigError, match="run_dir"):
        MCTS.fast().optimize(
            Network.init(Spec.mlp(2, [2], 2)), [[0, 0]], [0], [[0, 0]], [0], resume=True
        )


def test_seconds_budget_runs(task) -> None:
    d = _mcts(seconds=0.3).decide(*task, seed=0)
    assert d.rollouts >= 1 and d.action is not None


def test_replayed_networks_equal_cached_ones(task) -> None:
    # A one-network cache forces every other node's network to be re-derived from its path;
    # the search must not notice.
    big = _mcts(rollouts=30, tree_depth=3).decide(*task, seed=6)
    small = _mcts(rollouts=30, tree_depth=3, cache_size=1).decide(*task, seed=6)
    tiny = _mcts(rollouts=30, tree_depth=3, cache_mb=0.0).decide(*task, seed=6)
    assert big.action == small.action == tiny.action
    assert big.children == small.children == tiny.children
