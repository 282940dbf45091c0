from __future__ import annotations

import doctest
import gc
import importlib
import json
import multiprocessing
import tracemalloc
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from neuroplast import ConfigError, Network, Spec
from neuroplast.search import MCTS, MCTSConfig, MCTSResult, Splits, shared_data
from neuroplast.search.mcts import Searcher
from neuroplast.search.mcts import controller as controller_module
from neuroplast.testing import same_network


@pytest.fixture(scope="module")
def task() -> tuple[Network, Splits]:
    rng = np.random.default_rng(7)
    centers = rng.normal(scale=2.5, size=(3, 8))
    y = np.repeat(np.arange(3), 100)
    X = (centers[y] + rng.normal(size=(300, 8))).astype(np.float32)
    perm = rng.permutation(300)
    X, y = X[perm], y[perm].astype(np.int64)
    net = Network.init(Spec.mlp(8, [24, 16], 3), seed=0)
    net.fit(X[:160], y[:160], epochs=5, batch_size=16, seed=0)
    return net, Splits(X[:160], y[:160], X[160:240], y[160:240], X[240:], y[240:])


def _cfg(**kw) -> MCTSConfig:
    base = dict(generations=3, epochs=2, rollouts=10, batch_size=16, train_samples=64, val_size=50)
    if "seconds" in kw:
        base["rollouts"] = None
    return MCTSConfig.fast(**{**base, **kw})


def _strip(history):
    """History records without wall times."""
    out = []
    for r in history:
        r = dict(r)
        if "decision" in r:
            r["decision"] = {k: v for k, v in r["decision"].items() if k != "seconds"}
        out.append(r)
    return out


def test_decision_is_deterministic_per_seed(task) -> None:
    mcts = MCTS(_cfg())
    d1 = mcts.decide(*task, seed=3)
    d2 = mcts.decide(*task, seed=3)
    assert d1.action == d2.action and d1.children == d2.children and d1.rollouts == 16
    # Every legal action of the root was expanded and evaluated at least once.
    assert len(d1.children) == 16 and all(c["visits"] >= 1 for c in d1.children)
    assert max(c["visits"] for c in d1.children) == max(
        c["visits"] for c in d1.children if c["action"] == d1.action.label
    )


def test_run_is_deterministic_per_seed(task) -> None:
    # Without a budget the last network is returned and every edit leads to it.
    mcts = MCTS(_cfg(phase=None, max_drop=None))
    r1 = mcts.run(*task, seed=1, progress=False)
    r2 = mcts.run(*task, seed=1, progress=False)
    assert isinstance(r1, MCTSResult) and same_network(r1.network, r2.network)
    assert _strip(r1.history) == _strip(r2.history)
    assert len(r1.history) == 4 and r1.stop_reason == "generation limit"
    assert [r["step"] for r in r1.history] == [0, 1, 2, 3]
    for rec in r1.history:
        assert {"step", "n_params", "val_accuracy", "edit"} <= set(rec)
    assert [r.name for r in r1.edits.records] == [
        {"add_neurons": "widen", "remove_neurons": "narrow", "delete_layer": "shallow"}.get(
            rec["edit_kind"], "deepen"
        )
        for rec in r1.history[:-1]
    ]
    assert r1.actions == [rec["edit"] for rec in r1.history[:-1]]
    summary = r1.summary()
    assert summary["generations"] == 3 and summary["n_params_after"] == r1.network.n_params
    assert {"test_accuracy_before", "test_accuracy_after"} <= set(summary)


def test_decisions_never_read_the_test_split(task) -> None:
    net, data = task
    blind = Splits(data.X_train, data.y_train, data.X_val, data.y_val)
    mcts = MCTS(_cfg(phase=None, generations=1, rollouts=4))
    with_test = mcts.run(net, data, seed=2, progress=False)
    without = mcts.run(net, blind, seed=2, progress=False)
    assert same_network(with_test.network, without.network)
    assert "test_accuracy" in with_test.after and "test_accuracy" not in without.after


def test_process_pool_equals_in_process(task) -> None:
    mcts = MCTS(_cfg(parallel=2, rollouts=8))
    local = mcts.decide(*task, seed=2)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = mcts.decide(*task, seed=2, executor=pool)
    assert local.action == remote.action and local.children == remote.children


def test_tree_memory_is_bounded(task) -> None:
    _, data = task
    net = Network.init(Spec.mlp(8, [128, 64], 3), seed=0)  # 9.7k parameters, 39 kB
    cfg = _cfg(rollouts=40, tree_depth=4, cache_size=2, train_samples=32)
    model_bytes = sum(a.nbytes for a in net.params.values())
    with shared_data(data.X_train, data.y_train, data.X_val, data.y_val) as ref:
        searcher = Searcher(net, cfg, ref, seed=0)
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
    mcts = MCTS(_cfg(phase=None))
    full = mcts.run(*task, seed=4, run_dir=tmp_path / "a", progress=False)
    calls = {"n": 0}
    real_run = controller_module.Searcher.run

    def killed_run(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_run(self)

    monkeypatch.setattr(controller_module.Searcher, "run", killed_run)
    with pytest.raises(KeyboardInterrupt):
        mcts.run(*task, seed=4, run_dir=tmp_path / "b", progress=False)
    monkeypatch.setattr(controller_module.Searcher, "run", real_run)
    assert (tmp_path / "b" / "checkpoints" / "gen_0002.json").exists()
    assert not (tmp_path / "b" / "final.npl").exists()
    resumed = mcts.run(*task, seed=4, run_dir=tmp_path / "b", resume=True, progress=False)
    assert (tmp_path / "a" / "final.npl").read_bytes() == (
        tmp_path / "b" / "final.npl"
    ).read_bytes()
    assert same_network(full.network, resumed.network)
    assert _strip(full.history) == _strip(resumed.history)
    assert full.edits.to_json() == resumed.edits.to_json()
    with pytest.raises(ConfigError, match="another seed"):
        mcts.run(*task, seed=5, run_dir=tmp_path / "b", resume=True, progress=False)
    with pytest.raises(ConfigError, match="another config"):
        MCTS(_cfg(phase=None, rollouts=11)).run(
            *task, seed=4, run_dir=tmp_path / "b", resume=True, progress=False
        )


def test_run_folder_is_refused_without_overwrite(task, tmp_path) -> None:
    mcts = MCTS(_cfg(phase=None, generations=1, rollouts=4))
    first = mcts.run(*task, run_dir=tmp_path, progress=False)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["controller"] == "mcts" and config["seed"] == 0
    assert MCTSConfig.from_dict(config["config"]) == mcts.config
    with pytest.raises(ConfigError, match="already holds a run"):
        mcts.run(*task, run_dir=tmp_path, progress=False)
    again = mcts.run(*task, run_dir=tmp_path, overwrite=True, progress=False)
    assert same_network(first.network, again.network)


def test_phase_stop_rules(task) -> None:
    net, data = task
    # Without a budget (the paper) phase 2 keeps going until parameters fell by 20% at < 0.1
    # accuracy loss; with one it stops when no action stays within it (tests/test_budget.py).
    with_budget = MCTS(_cfg(generations=6)).run(net, data, progress=False)
    assert with_budget.stop_reason.startswith("budget") or (
        with_budget.stop_reason == "generation limit"
    )
    res = MCTS(_cfg(generations=6, max_drop=None)).run(net, data, progress=False)
    first, last = res.history[0], res.history[-1]
    assert res.stop_reason.startswith("parameters fell") or res.stop_reason == "generation limit"
    if res.stop_reason.startswith("parameters fell"):
        assert last["n_params"] <= 0.8 * first["n_params"]
        assert last["val_accuracy"] > first["val_accuracy"] - 0.1
    # Phase 1 stops as soon as the target accuracy is reached (here: at once).
    grow = MCTSConfig.fast(phase="grow", generations=3, rollouts=4, target_accuracy=0.5)
    grown = MCTS(grow).run(net, data, progress=False)
    assert len(grown.history) == 1 and grown.stop_reason.startswith("target accuracy")
    assert grown.history[0]["edit"] is None and len(grown.edits) == 0


def test_run_folder_and_report(task, tmp_path) -> None:
    res = MCTS(_cfg(phase=None, generations=2)).run(*task, run_dir=tmp_path, progress=False)
    for name in (
        "config.json",
        "history.json",
        "final.npl",
        "edits.json",
        "report/overview.png",
        "report/training.png",
        "report/architecture.png",
    ):
        assert (tmp_path / name).exists(), name
    # The old twin-axis figure is replaced by the shared overview.
    assert not (tmp_path / "report" / "history.png").exists()
    assert res.run_dir == tmp_path
    assert same_network(Network.load(tmp_path / "final.npl"), res.network)
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["summary"]["generations"] == 2
    assert [r["step"] for r in saved["history"]] == [0, 1, 2]
    assert saved["history"][0]["edit_kind"] and "decision" in saved["history"][0]


def test_progress_off_is_silent(task, capsys) -> None:
    mcts = MCTS(_cfg(phase=None, generations=1, rollouts=4))
    mcts.run(*task, progress=False)
    assert capsys.readouterr() == ("", "")
    mcts.run(*task, progress=True)
    assert "generations" in capsys.readouterr().err


def test_config_presets_and_validation() -> None:
    with pytest.raises(ConfigError):
        MCTSConfig(rollouts=None, seconds=None)
    with pytest.raises(ConfigError):
        MCTSConfig(rollout_value="median")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown MCTSConfig settings"):
        MCTS(nope=1)
    cfg = MCTSConfig().replace(seconds=2.0)
    assert cfg.rollouts is None and MCTSConfig.from_dict(cfg.to_dict()) == cfg
    assert json.loads(json.dumps(cfg.to_dict()))["actions"]["kinds"][0] == "add_neurons"
    paper = MCTSConfig.paper()
    assert paper.epochs == 50 and paper.w_params == 2.0 and paper.phase == "optimize"
    grow = MCTSConfig.preset("fast", phase="grow", rollouts=3)
    assert (grow.phase, grow.w_params, grow.initial_epochs, grow.rollouts) == ("grow", 0.5, 5, 3)
    assert MCTSConfig.PRESETS == ("paper", "fast")
    assert MCTS(MCTSConfig.fast(), depth=3).config.depth == 3
    with pytest.raises(ConfigError, match="run_dir"):
        MCTS(MCTSConfig.fast()).run(
            Network.init(Spec.mlp(2, [2], 2)), ([[0, 0]], [0], [[0, 0]], [0]), resume=True
        )


def test_seconds_budget_runs(task) -> None:
    d = MCTS(_cfg(seconds=0.3)).decide(*task, seed=0)
    assert d.rollouts >= 1 and d.action is not None


def test_replayed_networks_equal_cached_ones(task) -> None:
    # A one-network cache forces every other node's network to be re-derived from its path;
    # the search must not notice.
    big = MCTS(_cfg(rollouts=30, tree_depth=3)).decide(*task, seed=6)
    small = MCTS(_cfg(rollouts=30, tree_depth=3, cache_size=1)).decide(*task, seed=6)
    tiny = MCTS(_cfg(rollouts=30, tree_depth=3, cache_mb=0.0)).decide(*task, seed=6)
    assert big.action == small.action == tiny.action
    assert big.children == small.children == tiny.children


@pytest.mark.parametrize("module", ["config", "controller", "_command", "tree"])
def test_module_doctests(module: str) -> None:
    found = importlib.import_module(f"neuroplast.search.mcts.{module}")
    result = doctest.testmod(found, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
