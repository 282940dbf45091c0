"""``neuroplast.lp.LPPrune``: the LP pruning of seed 004 on the one controller contract."""

from __future__ import annotations

import doctest
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Network, Spec, data, search
from neuroplast.errors import ConfigError, NumericalError, ShapeError, SpecError
from neuroplast.lp import LPPrune, LPPruneConfig, LPPruneRunResult, xor_example
from neuroplast.lp import controller as lp_controller
from neuroplast.lp._convert import read_perceptron, structure_from_state, structure_state
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.optim import Adam
from neuroplast.search import Splits


@pytest.fixture(scope="module")
def xor() -> tuple[Network, Splits]:
    X, Y, start = xor_example(seed=354)
    y = np.argmax(Y, axis=1)
    return start.to_network("cross_entropy"), Splits(X, y, X, y, name="xor")


@pytest.fixture(scope="module")
def digits() -> tuple[Network, Splits]:
    """A small trained 64-6-10 tanh network and digits splits (LPs on 40 samples are fast)."""
    splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
    net = Network.init(Spec.mlp(64, [6], 10, "tanh"), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=5, optimizer=Adam(lr=3e-3), seed=0)
    return net, splits


def test_presets_and_validation() -> None:
    assert LPPruneConfig() == LPPruneConfig.fast()
    paper = LPPruneConfig.preset("paper", samples=10)
    assert (paper.method, paper.multilevel, paper.samples) == ("simplex", True, 10)
    for bad in ({"method": "dual"}, {"big_m": 0.0}, {"big_m": float("inf")}, {"samples": 0}):
        with pytest.raises(ConfigError):
            LPPruneConfig(**bad)
    with pytest.raises(ConfigError):
        LPPruneConfig().replace(limits=(0, 1))
    with pytest.raises(ConfigError):
        LPPruneConfig.preset("tiny")
    cfg = LPPruneConfig(options={"max_iter": 50_000}, tol=0.0)
    again = LPPruneConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.to_dict() == cfg.to_dict() and dict(again.options or {}) == {"max_iter": 50_000}
    assert LPPrune(samples=7).config.samples == 7
    assert search.LPPrune is LPPrune and search.LPPruneConfig is LPPruneConfig


def test_xor_reproduces_the_seed_demo(xor: tuple[Network, Splits]) -> None:
    net, splits = xor
    res = LPPrune(hidden_activation="saturation").run(net, splits, progress=False)
    assert isinstance(res, LPPruneRunResult) and isinstance(res.network, Network)
    assert (res.links_before, res.units_before, res.links_after, res.units_after) == (40, 12, 12, 6)
    assert res.lp_error == 0.0 and res.samples == 4 and res.dag is None
    assert res.after["val_accuracy"] == 1.0 and res.after["n_params"] < res.before["n_params"]
    assert np.array_equal(res.network.forward(splits.X_val), res.perceptron.predict(splits.X_val))
    assert [r["step"] for r in res.history] == [0, 1]
    assert res.history[0]["edit"] and "edit" not in res.history[1]
    summary = res.summary()
    for key in ("links_before", "links_after", "units_before", "units_after", "lp_error"):
        assert key in summary
    assert summary["structure"] == "layers" and summary["iterations"] == res.iterations > 0


def test_multilevel_network_is_the_dag(xor: tuple[Network, Splits], tmp_path: Path) -> None:
    net, splits = xor
    res = LPPrune(LPPruneConfig.paper()).run(net, splits, run_dir=tmp_path, progress=False)
    assert isinstance(res.dag, PerceptronDAG) and res.summary()["structure"] == "dag"
    assert res.links_after == res.dag.n_links < 12 and res.units_after == res.dag.n_units
    X = splits.X_val
    assert np.array_equal(res.network.forward(X), res.dag.predict(X))
    loaded = Network.load(tmp_path / "final.npl")
    assert np.array_equal(loaded.forward(X), res.dag.predict(X))
    steps = [(r["step"], r.get("edit_kind")) for r in res.history]
    assert steps == [(0, "remove_neurons"), (1, "multilevel"), (2, None)]
    for r in res.history:
        assert {"n_params", "val_accuracy", "links", "units"} <= set(r)
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["summary"]["links_after"] == res.links_after
    assert (tmp_path / "report" / "overview.png").exists()
    assert (tmp_path / "report" / "links.png").exists()


def test_resume_equals_uninterrupted(
    digits: tuple[Network, Splits], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, splits = digits
    cfg = LPPruneConfig.paper(samples=40)
    a, b = tmp_path / "a", tmp_path / "b"
    full = LPPrune(cfg).run(net, splits, seed=3, run_dir=a, progress=False)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(lp_controller, "optimize_multilevel", boom)
        with pytest.raises(KeyboardInterrupt):
            LPPrune(cfg).run(net, splits, seed=3, run_dir=b, progress=False)
    assert not (b / "final.npl").exists()
    with monkeypatch.context() as m:
        # The hidden-layer phase was checkpointed: resuming must not solve it again.
        m.setattr(lp_controller, "prune_hidden_lp", boom)
        resumed = LPPrune(cfg).run(net, splits, seed=3, run_dir=b, resume=True, progress=False)
    assert (a / "final.npl").read_bytes() == (b / "final.npl").read_bytes()
    assert resumed.history == full.history and resumed.links_after == full.links_after
    assert resumed.iterations == full.iterations
    # A finished run resumes to the same result without solving anything.
    with monkeypatch.context() as m:
        m.setattr(lp_controller, "prune_hidden_lp", boom)
        m.setattr(lp_controller, "optimize_multilevel", boom)
        again = LPPrune(cfg).run(net, splits, seed=3, run_dir=b, resume=True, progress=False)
    assert again.history == full.history


def test_run_folder(xor: tuple[Network, Splits], tmp_path: Path) -> None:
    net, splits = xor
    LPPrune().run(net, splits, seed=1, run_dir=tmp_path, progress=False)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["controller"] == "lp" and config["seed"] == 1
    assert config["config"] == LPPruneConfig().to_dict()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "gen_0001.json",
        "gen_0001.npl",
    ]
    with pytest.raises(ConfigError, match="already holds a run"):
        LPPrune().run(net, splits, seed=1, run_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="another config"):
        LPPrune(samples=3).run(net, splits, seed=1, run_dir=tmp_path, resume=True, progress=False)
    LPPrune().run(net, splits, seed=1, run_dir=tmp_path, overwrite=True, progress=False)


def test_progress(xor: tuple[Network, Splits], capsys: pytest.CaptureFixture[str]) -> None:
    net, splits = xor
    LPPrune().run(net, splits, progress=False)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    LPPrune().run(net, splits, progress=True)
    assert "lp (4 samples)" in capsys.readouterr().err


def test_digits_layers_and_validation_split(digits: tuple[Network, Splits]) -> None:
    net, splits = digits
    res = LPPrune(samples=40).run(net, splits, progress=False)
    assert res.samples == 40 and res.units_before == 16 and res.links_after <= res.links_before
    assert res.network.spec.loss == "cross_entropy"
    measured = res.network.evaluate(splits.X_val, splits.y_val)["accuracy"]
    # The budget (max_drop=0.01) returns the start network when the LP's falls below it.
    assert res.after["val_accuracy"] == res.history[res.chosen_step]["val_accuracy"] == measured
    # The fewest parameters within the budget, the more accurate on a tie (the fine-tune's).
    admitted = [r for r in res.history if r["in_budget"]]
    best = min(admitted, key=lambda r: (r["n_params"], -r["val_accuracy"], r["step"]))
    assert res.chosen_step == best["step"] and [r["phase"] for r in res.history] == [
        "start",
        "hidden",
        "finetune",
    ]
    assert res.before["test_accuracy"] == net.evaluate(splits.X_test, splits.y_test)["accuracy"]


def test_rejects_networks_it_cannot_read(digits: tuple[Network, Splits]) -> None:
    _, splits = digits
    deep = Network.init(Spec.mlp(64, [4, 4], 10, "tanh"), seed=0)
    with pytest.raises(ShapeError, match="one hidden layer"):
        LPPrune(samples=10).run(deep, splits, progress=False)
    cnn = Network.init(Spec.cnn((1, 8, 8), [2], 10, hidden=[4]), seed=0)
    with pytest.raises(SpecError):
        LPPrune(samples=10).run(cnn, splits, progress=False)


def test_reads_sign_and_linear_networks(xor: tuple[Network, Splits]) -> None:
    net, _ = xor
    assert read_perceptron(net).activation == "sign"
    linear = Network.init(Spec.mlp(3, [4], 2, "identity"), seed=0)
    assert read_perceptron(linear).activation == "linear"
    tanh = Network.init(Spec.mlp(3, [4], 2, "tanh"), seed=0)
    assert read_perceptron(tanh).activation == "saturation"


def test_checkpoint_state_is_exact() -> None:
    rng = np.random.default_rng(0)
    net = PerceptronNetwork(
        (rng.normal(size=(5, 3)), rng.normal(size=(2, 5))), (rng.normal(size=5), rng.normal(size=2))
    )
    back = structure_from_state(json.loads(json.dumps(structure_state(net))))
    assert isinstance(back, PerceptronNetwork)
    for w, v in zip(net.weights + net.biases, back.weights + back.biases, strict=True):
        assert w.tobytes() == v.tobytes()
    dag = PerceptronDAG.from_layers(net)
    back_dag = structure_from_state(json.loads(json.dumps(structure_state(dag))))
    assert isinstance(back_dag, PerceptronDAG) and back_dag.links.tobytes() == dag.links.tobytes()


def test_a_failed_lp_ends_the_run_with_what_it_has(
    xor: tuple[Network, Splits], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise NumericalError("not solved")

    # The hidden-layer LP fails: the start network comes back (a copy), and the reason says so.
    net, data = xor
    monkeypatch.setattr(lp_controller, "prune_hidden_lp", fail)
    res = LPPrune().run(net, data, run_dir=tmp_path / "a", progress=False)
    assert res.network is not net and res.chosen_step == 0
    np.testing.assert_array_equal(res.network.forward(data.X_val), net.forward(data.X_val))
    assert "the hidden-layer LP failed (not solved)" in res.stop_reason
    assert (tmp_path / "a" / "final.npl").exists()
    # The multi-level LP fails: the hidden-layer phase's network is kept.
    monkeypatch.undo()
    monkeypatch.setattr(lp_controller, "optimize_multilevel", fail)
    cfg = LPPruneConfig.paper(multilevel=True)
    res = LPPrune(cfg).run(net, data, run_dir=tmp_path / "b", progress=False)
    assert res.dag is None and res.chosen_step in (0, 1) and len(res.history) == 2
    assert "the multi-level LP failed (not solved)" in res.stop_reason


@pytest.mark.parametrize(
    "module", ["neuroplast.lp.controller", "neuroplast.lp._convert", "neuroplast.lp._command"]
)
def test_module_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
