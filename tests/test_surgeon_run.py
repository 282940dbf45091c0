"""The Surgeon's loop (seed 001, Algorithm 1): determinism, re-draws, memory, resume, executors."""

from __future__ import annotations

import json
import multiprocessing
import pickle
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Network, Spec, data
from neuroplast.errors import ConfigError
from neuroplast.search import Splits
from neuroplast.search.surgeon import (
    Surgeon,
    SurgeonConfig,
    SurgeonResult,
    TrainJob,
    TrainOutcome,
    _train,
    algorithm,
)

# The paper's loop (no budget, no final fine-tuning; tests/test_budget.py covers those).
CFG = SurgeonConfig.fast(
    total_epochs=6,
    initial_epochs=2,
    decision_every=2,
    recuperation_batches=2,
    threads=1,
    max_drop=None,
    final_epochs=0,
)


@pytest.fixture(scope="module")
def digits() -> Splits:
    ds = data.load("digits", seed=0)
    X, y = ds.X_train, ds.y_train
    return Splits(X[:300], y[:300], X[300:450], y[300:450], ds.X_test[:100], ds.y_test[:100])


def _net(hidden: Sequence[int] = (10, 10)) -> Network:
    return Network.init(Spec.mlp(64, list(hidden), 10), seed=6)


def _run(cfg: SurgeonConfig, splits: Splits, **kw: Any) -> SurgeonResult:
    evaluate = kw.pop("evaluate", None)
    kw.setdefault("progress", False)
    return Surgeon(cfg, evaluate=evaluate).run(_net(), splits, **kw)


def _same(a: SurgeonResult, b: SurgeonResult) -> None:
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        del d["summary"]["seconds"]
    assert da == db
    assert a.network.spec == b.network.spec
    for k, v in a.network.params.items():
        np.testing.assert_array_equal(v, b.network.params[k])


def test_same_seed_same_result(digits: Splits) -> None:
    a = _run(CFG, digits, seed=3)
    b = _run(CFG, digits, seed=3)
    _same(a, b)
    assert len(a.decisions) == 2
    assert a.curve[-1][0] == CFG.total_epochs  # the winner is trained for total_epochs
    assert a.n_params == a.network.n_params and a.epochs_trained > CFG.total_epochs
    assert a.after["n_params"] == a.n_params and a.before["n_params"] == a.n_params_initial
    assert a.after["val_accuracy"] == pytest.approx(a.val_accuracy)
    assert "test_accuracy" in a.after
    c = _run(CFG, digits, seed=4)
    assert c.to_dict()["decisions"] != a.to_dict()["decisions"]


def test_history_follows_the_chosen_branch(digits: Splits) -> None:
    res = _run(CFG, digits, seed=1)
    steps = [r["step"] for r in res.history]
    assert steps == list(range(len(res.decisions) + 1))
    for r in res.history:
        assert {"step", "epoch", "n_params", "val_accuracy", "edit"} <= set(r)
        assert (r["edit"] is None) == ("edit_kind" not in r)
    last = res.history[-1]
    assert (last["val_accuracy"], last["n_params"]) == (res.val_accuracy, res.n_params)
    assert last["edit"] is None and last["epoch"] == CFG.total_epochs
    json.dumps(res.to_dict())


def test_progress_shows_the_chosen_branch(digits: Splits, monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[dict[str, Any]] = []

    class Bar:
        def __init__(self, *args: Any, **kw: Any) -> None:
            pass

        def update(self, n: int = 1, **postfix: Any) -> None:
            if postfix:
                shown.append(postfix)

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(algorithm, "Progress", Bar)
    res = _run(CFG, digits, seed=1, progress=True)
    assert [p["acc"] for p in shown] == [r["val_accuracy"] for r in res.history[1:]]
    assert shown[-1]["acc"] == res.val_accuracy


def test_progress_off_is_silent(digits: Splits, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = CFG.replace(total_epochs=4)
    _run(cfg, digits, seed=0, progress=False)
    assert capsys.readouterr() == ("", "")
    _run(cfg, digits, seed=0, progress=True)
    assert "surgeon" in capsys.readouterr().err


def test_candidates_are_scored_with_eq_16(digits: Splits) -> None:
    res = _run(CFG, digits, seed=1)
    for d in res.decisions:
        first = [c for c in d.candidates if c.attempt == 0]
        assert sum(c.chosen for c in first) <= CFG.branches
        for c in first:
            assert c.score == pytest.approx(c.accuracy + np.exp(c.gain - c.fraction))
        ops = [c.op for c in first if not c.random]
        assert ops.count("identity") >= 1 and len(set(ops) - {"identity"}) == len(ops) - ops.count(
            "identity"
        )  # per type: at most one candidate of every other type
        chosen = sorted((c for c in first if c.chosen), key=lambda c: -c.score)
        losers = [c for c in first if not c.chosen and np.isfinite(c.score)]
        assert all(w.score >= lo.score for w in chosen for lo in losers)


def test_thread_pool_gives_the_in_process_result(digits: Splits) -> None:
    a = _run(CFG, digits, seed=2)
    with ThreadPoolExecutor(2) as pool:
        b = _run(CFG, digits, seed=2, executor=pool)
    _same(a, b)


def test_process_pool_gives_the_in_process_result(digits: Splits) -> None:
    cfg = CFG.replace(total_epochs=4)
    a = _run(cfg, digits, seed=2)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        b = _run(cfg, digits, seed=2, executor=pool)
    _same(a, b)


class _StopError(Exception):
    pass


def test_resume_ends_where_the_uninterrupted_run_ends(
    digits: Splits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = _run(CFG, digits, seed=5, run_dir=tmp_path / "full")
    calls = {"n": 0}
    real = _train.Trainer.__call__

    def interrupted(self: _train.Trainer, jobs: Sequence[TrainJob]) -> list[TrainOutcome]:
        calls["n"] += 1
        if calls["n"] == 5:  # inside the second decision point
            raise _StopError
        return real(self, jobs)

    monkeypatch.setattr(_train.Trainer, "__call__", interrupted)
    with pytest.raises(_StopError):
        _run(CFG, digits, seed=5, run_dir=tmp_path / "cut")
    monkeypatch.setattr(_train.Trainer, "__call__", real)
    assert not (tmp_path / "cut" / "final.npl").exists()
    resumed = _run(CFG, digits, seed=5, run_dir=tmp_path / "cut", resume=True)
    _same(full, resumed)
    final = (tmp_path / "full" / "final.npl").read_bytes()
    assert (tmp_path / "cut" / "final.npl").read_bytes() == final
    for name in ("history.json", "edits.json", "config.json"):
        assert (tmp_path / "cut" / name).exists()
    with pytest.raises(ConfigError):
        _run(CFG.replace(branches=3), digits, seed=5, run_dir=tmp_path / "cut", resume=True)


def test_run_folder(digits: Splits, tmp_path: Path) -> None:
    cfg = CFG.replace(total_epochs=4)
    res = _run(cfg, digits, seed=0, run_dir=tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    assert written["controller"] == "surgeon" and written["seed"] == 0
    assert SurgeonConfig.from_dict(written["config"]) == cfg
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["history"] == res.history and history["n_params"] == res.n_params
    assert res.run_dir == tmp_path
    with pytest.raises(ConfigError):  # an earlier run is never clobbered silently
        _run(cfg, digits, seed=0, run_dir=tmp_path)
    again = _run(cfg, digits, seed=0, run_dir=tmp_path, overwrite=True)
    _same(res, again)


def test_report_and_baseline(digits: Splits, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    cfg = CFG.replace(total_epochs=4, baseline=True)
    res = _run(cfg, digits, seed=0, run_dir=tmp_path)
    assert [e for e, _ in res.baseline_curve] == [1.0, 2.0, 3.0, 4.0]
    assert res.summary()["baseline_val_accuracy"] == res.baseline_curve[-1][1]
    for name in ("overview.png", "topology.png", "accuracy.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0, name


# ----------------------------------------------------------------------------- scripted runs
class _Scripted:
    """An evaluation function whose accuracies fall with every call (nothing ever improves)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, jobs: Sequence[TrainJob]) -> list[TrainOutcome]:
        out = []
        for j in jobs:
            self.calls += 1
            out.append(TrainOutcome(j.net.copy(), 0.9 - 0.001 * self.calls, j.n_batches))
        return out


def test_redraws_until_the_limit_and_memory_backtracks(digits: Splits) -> None:
    cfg = CFG.replace(total_epochs=4, max_redraws=2, memory=True)
    res = _run(cfg, digits, seed=0, evaluate=_Scripted())
    (d,) = res.decisions
    assert d.attempts == 3 and not d.improved and d.backtracked
    assert {c.attempt for c in d.candidates} == {0, 1, 2}
    keys = [(c.op, c.label, c.branch) for c in d.candidates]
    assert len(keys) == len(set(keys))  # a re-draw never repeats a tried candidate
    assert [b["id"] for b in d.branches] == [0]  # the previous branch, trained on
    assert res.changes == () and res.n_params == res.n_params_initial
    assert [r["edit"] for r in res.history] == [None, None]  # backtracking edits nothing


def test_without_memory_the_last_draw_is_kept(digits: Splits) -> None:
    cfg = CFG.replace(total_epochs=4, max_redraws=1, memory=False)
    res = _run(cfg, digits, seed=0, evaluate=_Scripted())
    (d,) = res.decisions
    assert d.attempts == 2 and not d.improved and not d.backtracked
    last = {c.label for c in d.candidates if c.attempt == 1 and c.chosen}
    assert {b["label"] for b in d.branches} == last


def test_an_improving_first_draw_stops_the_redraws(digits: Splits) -> None:
    def rising(jobs: Sequence[TrainJob]) -> list[TrainOutcome]:
        # Accuracy grows with the position in the batch stream: every lineage improves.
        return [
            TrainOutcome(j.net.copy(), 0.5 + 1e-4 * (j.start + j.n_batches), j.n_batches)
            for j in jobs
        ]

    res = _run(CFG.replace(total_epochs=4), digits, seed=0, evaluate=rising)
    (d,) = res.decisions
    assert d.attempts == 1 and d.improved and len(d.branches) == CFG.branches
    first, last = res.history
    branch = next(b for b in d.branches if b["id"] == last["branch"])
    assert first["edit"] == (None if branch["label"] == "identity" else branch["label"])


def test_ties_go_to_the_smaller_candidate(digits: Splits) -> None:
    def flat(jobs: Sequence[TrainJob]) -> list[TrainOutcome]:
        return [TrainOutcome(j.net.copy(), 0.5, j.n_batches) for j in jobs]

    cfg = CFG.replace(total_epochs=4, branches=1, operations=("identity", "add_neurons"))
    res = _run(cfg, digits, seed=0, evaluate=flat)
    # Equal accuracy: the score favours the smaller model, the identity.
    assert res.decisions[0].branches[0]["label"] == "identity"


def test_conv_network(digits: Splits) -> None:
    images = Splits(*(a.reshape(-1, 1, 8, 8) if a.ndim == 2 else a for a in (
        digits.X_train, digits.y_train, digits.X_val, digits.y_val)))  # fmt: skip
    net = Network.init(Spec.cnn((1, 8, 8), [4], 10, hidden=[8]), seed=0)
    cfg = CFG.replace(total_epochs=4, operations=("identity", "add_neurons", "add_layer"))
    res = Surgeon(cfg).run(net, images, seed=0, progress=False)
    layers = {c.label.split()[-1] for c in res.decisions[0].candidates if c.op != "identity"}
    assert "conv_0" in layers
    assert res.network.forward(images.X_val[:2]).shape == (2, 10)


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"resume": True}])
def test_run_argument_errors(digits: Splits, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        _run(CFG, digits, **kwargs)


def test_config_pickles() -> None:
    assert pickle.loads(pickle.dumps(CFG)) == CFG


def test_regression_network_is_rejected(digits: Splits) -> None:
    net = Network.init(Spec.mlp(64, [4], 1, loss="mse"), seed=0)
    with pytest.raises(ConfigError):
        Surgeon(CFG).run(net, digits, progress=False)
    with pytest.raises(ConfigError):
        Surgeon(CFG.to_dict())  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        Surgeon(CFG, epochs=3)


def test_top_n_mode_in_the_loop(digits: Splits) -> None:
    cfg = CFG.replace(total_epochs=4, selection="top_n", top_n=2, random_draw=False)
    res = _run(cfg, digits, seed=0, evaluate=_Scripted())
    first = [c for c in res.decisions[0].candidates if c.attempt == 0]
    assert [c.op for c in first].count("identity") == 1 and len(first) == 3
    ratings = sorted((c.rating for c in first if c.op != "identity"), reverse=True)
    assert ratings == [c.rating for c in first if c.op != "identity"]


# ----------------------------------------------------------------------------- command line
CLI = ["optimize", "surgeon", "--dataset", "digits", "--topology", "small",
       "--total-epochs", "2", "--decision-every", "1", "--threads", "1"]  # fmt: skip


def test_cli_runs_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neuroplast import cli

    argv = [*CLI, "--no-progress", "--json", "--run-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --no-progress silences the Surgeon's bar
    out = json.loads(captured.out)
    assert out["controller"] == "surgeon" and out["decisions"] == 1
    assert out["n_params_before"] == 64 * 10 + 10 + 110 and out["n_params_after"] > 0
    assert 0 <= out["val_accuracy_after"] <= 1 and "test_accuracy_after" in out
    for name in ("history.json", "final.npl", "edits.json", "config.json"):
        assert (tmp_path / name).exists(), name
    assert cli.main([*argv, "--resume"]) == 0  # the finished run resumes to the same result
    assert json.loads(capsys.readouterr().out)["val_accuracy_after"] == out["val_accuracy_after"]
    assert cli.main(argv) == 2  # the folder holds a run: refused without --overwrite


def test_cli_budget_options() -> None:
    from neuroplast.cli import _parser
    from neuroplast.search.surgeon._command import _configure

    args = _parser().parse_args([*CLI, "--max-drop", "none", "--final-epochs", "3"])
    cfg = _configure(args, SurgeonConfig.fast())
    assert (cfg.max_drop, cfg.final_epochs) == (None, 3)
    args = _parser().parse_args(CLI)
    assert _configure(args, SurgeonConfig.fast()).max_drop == SurgeonConfig.fast().max_drop


@pytest.mark.parametrize(
    "extra",
    [
        ["--rollout-depth", "2"],  # an MCTS option
        ["--dataset", "synthetic"],  # not a classification data set of the Surgeon
    ],
)
def test_cli_rejects_foreign_options(extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from neuroplast import cli

    with pytest.raises(SystemExit) as exc:
        cli.main([*CLI, *extra])
    assert exc.value.code == 2
    capsys.readouterr()
