"""Neurogenesis (Algorithm 4), DYNO (Algorithm 5), their configs, run folders and resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Adam, ConfigError, Network, Spec
from neuroplast.morph import widen
from neuroplast.search import Splits
from neuroplast.search.growth import (
    DYNO,
    DYNOConfig,
    GrowthResult,
    Neurogenesis,
    NeurogenesisConfig,
    StepTrainer,
)
from neuroplast.testing import assert_bitwise_equal


def _data(n: int = 300, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _splits(n: int = 256, seed: int = 0) -> Splits:
    """``n`` training samples and 64 validation samples (nothing carved)."""
    X, y = _data(n + 64, seed=seed)
    return Splits(X[:n], y[:n], X[n:], y[n:])


@pytest.mark.parametrize("chunks", [[1] * 12, [5, 7], [12], [3, 9]])
def test_chunks_train_like_one_call(chunks: list[int]) -> None:
    X, y = _data(50)
    spec = Spec.mlp(8, [6], 2)
    ref = Network.init(spec, seed=1)
    StepTrainer(X, y, 8, Adam(lr=1e-2), seed=3).run(ref, 12)  # 7 steps per epoch: crosses one
    net = Network.init(spec, seed=1)
    trainer = StepTrainer(X, y, 8, Adam(lr=1e-2), seed=3)
    seen = [trainer.run(net, k).indices for k in chunks]
    assert_bitwise_equal(net.params, ref.params)
    order = np.concatenate([trainer.order(0), trainer.order(1)[: 5 * 8]])
    np.testing.assert_array_equal(np.concatenate(seen), order)
    assert trainer.state() == {"epoch": 1, "batch": 5, "step": 12}


def test_neurogenesis_is_deterministic_and_respects_max_width() -> None:
    net = Network.init(Spec.mlp(8, [3, 3], 2), seed=0)
    cfg = NeurogenesisConfig.fast(
        strategy="north-random", max_width=10, epochs=3, eval_every=1, batch_size=32
    )
    a, b = (Neurogenesis(cfg).run(net, _splits(), seed=5, progress=False) for _ in range(2))
    assert isinstance(a, GrowthResult)
    assert a.events == b.events and a.events
    assert_bitwise_equal(a.network.params, b.network.params)
    assert all(3 <= w <= 10 for h in a.history for w in h["widths"].values())
    # The start network, then one record per epoch, all measured on the validation split.
    assert [h["epoch"] for h in a.history] == [0, 1, 2, 3]
    assert [h["step"] for h in a.history] == [0, 8, 16, 24]
    assert all(h["val_accuracy"] is not None and "n_params" in h for h in a.history)
    assert all(r.contract == "exact" for r in a.edits.records)
    # Every event is labelled on the record it follows.
    for e in a.events:
        rec = [h for h in a.history if h["step"] <= e["step"]][-1]
        assert rec["edit_kind"] == "grow" and f"+{e['units']} {e['layer']}" in rec["edit"]
    assert net.spec.widths["dense_0"] == 3  # the input network is left as it was


def test_growth_log_replays_the_final_architecture() -> None:
    """Every NORTH-Select growth is exact, and the log rebuilds the final architecture."""
    net = Network.init(Spec.mlp(8, [4], 2), seed=0)
    cfg = NeurogenesisConfig.paper(max_width=12, candidates=20, epochs=2)
    res = Neurogenesis(cfg).run(net, _splits(), seed=1, progress=False)
    assert res.events and all(r.contract == "exact" for r in res.edits.records)
    start = net.copy()
    start.fit(*_data(8), epochs=0)  # the log replays onto the untrained widths
    assert res.edits.replay(start).spec.widths == res.network.spec.widths
    assert res.summary()["units_grown"] == res.network.spec.widths["dense_0"] - 4


@pytest.mark.parametrize("eval_every", [1, 5])
@pytest.mark.parametrize("schedule", ["linear", "batched"])
def test_preset_schedules_reach_the_target(schedule: str, eval_every: int) -> None:
    net = Network.init(Spec.mlp(8, [4, 4], 2), seed=0)
    cfg = NeurogenesisConfig.fast(
        strategy="north-random",
        schedule=schedule,
        target_width=12,
        epochs=4,
        batch_size=32,
        eval_every=eval_every,
        restore_best=False,
        final_epochs=0,
    )
    res = Neurogenesis(cfg).run(net, _splits(), progress=False)
    # Units planned between two evaluations are added at the next one.
    assert res.network.spec.widths["dense_0"] == 12 and res.network.spec.widths["dense_1"] == 12
    assert max(e["step"] for e in res.events) <= int(0.75 * 4 * 8) + eval_every - 1
    per_layer = [e for e in res.events if e["layer"] == "dense_0"]
    if eval_every == 1:
        assert len(per_layer) == 8
        assert schedule == "batched" or all(e["units"] == 1 for e in per_layer)


def test_dyno_prunes_planted_dead_and_duplicate_units_first() -> None:
    X, y = _data(600, seed=2)
    net = Network.init(Spec.mlp(8, [16], 2), seed=0)
    net.fit(X, y, epochs=10, seed=0)
    params = {k: np.array(v) for k, v in net.params.items()}
    dead = [2, 5, 11]
    params["dense_0.weight"][dead] = 0.0
    params["dense_0.bias"][dead] = -1.0
    planted, _ = widen(Network(net.spec, params), "dense_0", 3, "net2wider", seed=4)
    w = np.asarray(planted.params["dense_0.weight"])
    live = [i for i in range(19) if w[i].any()]
    twins = [(i, j) for i in live for j in live if i < j and np.array_equal(w[i], w[j])]
    assert twins
    res = DYNO(eval_every=10, steps=40, max_drop=None).run(planted, (X, y), seed=0, progress=False)
    first = res.edits.records[0]
    assert first.name == "narrow" and res.events[0]["kind"] == "prune"
    assert res.history[0]["step"] == 0 and res.history[0]["edit_kind"] == "prune"
    gone = set(range(19)) - set(first.args["keep"])
    dormant = {i for i in range(19) if not w[i].any()}
    # Dormant units go first, then one of a duplicated pair (never both, never a distinct unit).
    assert dormant <= gone and len(gone) > len(dormant)
    assert all(any(u in pair for pair in twins) for u in gone - dormant)
    assert not any(i in gone and j in gone for i, j in twins)
    # One record per evaluation chunk after the start record.
    assert [h["step"] for h in res.history] == [0, 10, 20, 30, 40]


def test_dyno_never_prunes_a_dense_layer_below_the_class_count() -> None:
    X, y = _data(200)
    spec = Spec.mlp(8, [4], 3)
    params = {k: np.array(v) for k, v in Network.init(spec, seed=0).params.items()}
    params["dense_0.weight"][:] = 0.0
    params["dense_0.bias"][:] = -1.0  # every unit dormant: φ_ED = 0
    controller = DYNO(DYNOConfig.fast(eval_every=5, steps=10))
    res = controller.run(Network(spec, params), (X, y % 3), seed=0, progress=False)
    assert min(e["width"] for e in res.events) >= 3


def test_bad_configurations_are_typed() -> None:
    net = Network.init(Spec.mlp(8, [4], 2), seed=0)
    data = _splits(40)
    with pytest.raises(ConfigError, match="unknown strategy"):
        NeurogenesisConfig(strategy="bogus")
    with pytest.raises(ConfigError, match="needs target_width"):
        NeurogenesisConfig.fast(schedule="linear")
    with pytest.raises(ConfigError, match="unknown NeurogenesisConfig settings"):
        NeurogenesisConfig.fast(steps=3)
    with pytest.raises(ConfigError, match="below its width"):
        Neurogenesis(max_width=2, epochs=1).run(net, data, progress=False)
    with pytest.raises(ConfigError, match="not a growable hidden layer"):
        Neurogenesis(layers=["output"], epochs=1).run(net, data, progress=False)
    with pytest.raises(ConfigError, match="buffer_factor"):
        DYNOConfig(buffer_factor=1.0)
    with pytest.raises(ConfigError, match="lr"):
        DYNOConfig.fast(lr=0.0)
    with pytest.raises(ConfigError, match="must be a NeurogenesisConfig"):
        Neurogenesis(DYNOConfig())


def test_presets_round_trip_and_differ() -> None:
    for cls in (NeurogenesisConfig, DYNOConfig):
        paper, fast = cls.preset("paper"), cls.preset("fast")
        assert fast != paper
        # The field defaults are the thesis' settings; DYNO's add the accuracy budget.
        assert paper == (cls() if cls is NeurogenesisConfig else cls(max_drop=None))
        assert cls.from_dict(json.loads(json.dumps(fast.to_dict()))) == fast
    cfg = NeurogenesisConfig.fast(max_width={"dense_0": 9}, layers=["dense_0"])
    assert cfg.layers == ("dense_0",) and NeurogenesisConfig.from_dict(cfg.to_dict()) == cfg
    assert DYNOConfig.paper().steps == 1000 and NeurogenesisConfig.paper().eval_every == 1


# ---------------------------------------------------------------------- run folders and resume
def _controllers() -> dict[str, tuple[Any, Network, Splits]]:
    """Tiny Neurogenesis and DYNO runs with their inputs, both editing after step 20.

    Neurogenesis' chunks of 3 steps cross the epoch ends (7 steps per epoch). DYNO's network
    has six silent tanh units (zero fan-in) that come alive while training, so φ_ED rises
    above the baseline measured at step 0 and the layer grows at step 30.
    """
    data = _splits(200)
    # Buffers larger than a chunk's samples: a resumed buffer must hold its older samples too.
    cfg = NeurogenesisConfig.fast(
        epochs=4, eval_every=3, batch_size=32, max_width=16, buffer_size=150
    )
    spec = Spec.mlp(8, [12], 2, "tanh")
    params = {k: np.array(v) for k, v in Network.init(spec, seed=0).params.items()}
    params["dense_0.weight"][:6] = 0.0
    params["dense_0.bias"][:6] = 0.0
    dyno = DYNOConfig.fast(
        steps=50, eval_every=10, batch_size=16, lr=1e-2, initial_baseline=None, buffer_factor=4
    )
    return {
        "neurogenesis": (Neurogenesis(cfg), Network.init(Spec.mlp(8, [3, 3], 2), seed=0), data),
        "dyno": (DYNO(dyno), Network(spec, params), data),
    }


@pytest.mark.parametrize("name", ["neurogenesis", "dyno"])
def test_resume_ends_where_an_uninterrupted_run_ends(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    controller, net, data = _controllers()[name]
    a = controller.run(net, data, seed=3, run_dir=tmp_path / "a", progress=False)
    # Interrupted after step 9 (neurogenesis) or 20 (DYNO); edits follow the checkpoint.
    chunks = {"neurogenesis": 3, "dyno": 2}[name]
    assert any(e["step"] > 20 for e in a.events), "the edits after resuming are the test"
    trained: list[int] = []
    run = StepTrainer.run

    def interrupted(self: StepTrainer, net: Network, steps: int) -> Any:
        if len(trained) == chunks:
            raise KeyboardInterrupt
        trained.append(steps)
        return run(self, net, steps)

    monkeypatch.setattr(StepTrainer, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        controller.run(net, data, seed=3, run_dir=tmp_path / "b", progress=False)
    monkeypatch.setattr(StepTrainer, "run", run)
    # Checkpoints follow history records: resuming trains only what the newest one had not.
    saved = max(h["step"] for h in a.history if h["step"] <= sum(trained))
    calls: list[int] = []
    monkeypatch.setattr(StepTrainer, "run", lambda s, n, k: calls.append(k) or run(s, n, k))
    b = controller.run(net, data, seed=3, run_dir=tmp_path / "b", resume=True, progress=False)
    assert saved > 0 and sum(calls) == a.history[-1]["step"] - saved
    assert (tmp_path / "a/final.npl").read_bytes() == (tmp_path / "b/final.npl").read_bytes()
    assert (tmp_path / "a/edits.json").read_text() == (tmp_path / "b/edits.json").read_text()
    assert a.history == b.history and a.events == b.events


@pytest.mark.parametrize("name", ["neurogenesis", "dyno"])
def test_run_folder_is_written_and_not_overwritten(name: str, tmp_path: Path) -> None:
    controller, net, data = _controllers()[name]
    res = controller.run(net, data, seed=1, run_dir=tmp_path, progress=False)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["controller"] == name and config["seed"] == 1
    assert config["config"] == controller.config.to_dict()
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["events"] == res.events and history["initial_widths"] == res.initial_widths
    assert history["summary"]["n_params_after"] == res.network.n_params
    for figure in ("overview.png", "widths.png", "accuracy.png"):
        assert (tmp_path / "report" / figure).stat().st_size > 0
    assert Network.load(tmp_path / "final.npl").spec == res.network.spec
    with pytest.raises(ConfigError, match="overwrite"):
        controller.run(net, data, seed=1, run_dir=tmp_path, progress=False)
    again = controller.run(net, data, seed=1, run_dir=tmp_path, overwrite=True, progress=False)
    assert again.history == res.history


@pytest.mark.parametrize("name", ["neurogenesis", "dyno"])
def test_progress_off_is_silent(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    controller, net, data = _controllers()[name]
    controller.run(net, data, progress=False)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("module", ["config", "neurogenesis", "dyno", "report"])
def test_module_doctests(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"neuroplast.search.growth.{module}"))
    assert result.attempted and not result.failed
