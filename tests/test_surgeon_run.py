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
from neuroplast.search.surgeon import (
    Surgeon,
    SurgeonConfig,
    SurgeonResult,
    TrainJob,
    TrainOutcome,
    _train,
)

CFG = SurgeonConfig.fast(total_epochs=6, initial_epochs=2, decision_every=2, recuperation_batches=2)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    ds = data.load("digits", seed=0)
    return ds.X_train[:300], ds.y_train[:300], ds.X_test[:150], ds.y_test[:150]


def _net(hidden: Sequence[int] = (10, 10)) -> Network:
    return Network.init(Spec.mlp(64, list(hidden), 10), seed=6)


def _same(a: SurgeonResult, b: SurgeonResult) -> None:
    assert a.summary() == b.summary()
    assert a.network.spec == b.network.spec
    for k, v in a.network.params.items():
        np.testing.assert_array_equal(v, b.network.params[k])


def test_same_seed_same_result(digits: tuple[np.ndarray, ...]) -> None:
    a = Surgeon(CFG).run(_net(), *digits, seed=3, threads=1)
    b = Surgeon(CFG).run(_net(), *digits, seed=3, threads=1)
    _same(a, b)
    assert len(a.decisions) == 2
    assert a.curve[-1][0] == CFG.total_epochs  # the winner is trained for total_epochs
    assert a.n_params == a.network.n_params and a.epochs_trained > CFG.total_epochs
    c = Surgeon(CFG).run(_net(), *digits, seed=4, threads=1)
    assert c.summary() != a.summary()


def test_candidates_are_scored_with_eq_16(digits: tuple[np.ndarray, ...]) -> None:
    res = Surgeon(CFG).run(_net(), *digits, seed=1, threads=1)
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


def test_thread_pool_gives_the_in_process_result(digits: tuple[np.ndarray, ...]) -> None:
    a = Surgeon(CFG).run(_net(), *digits, seed=2, threads=1)
    with ThreadPoolExecutor(2) as pool:
        b = Surgeon(CFG).run(_net(), *digits, seed=2, threads=1, executor=pool)
    _same(a, b)


def test_process_pool_gives_the_in_process_result(digits: tuple[np.ndarray, ...]) -> None:
    cfg = CFG.replace(total_epochs=4)
    a = Surgeon(cfg).run(_net(), *digits, seed=2, threads=1)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        b = Surgeon(cfg).run(_net(), *digits, seed=2, threads=1, executor=pool)
    _same(a, b)


class _StopError(Exception):
    pass


def test_resume_ends_where_the_uninterrupted_run_ends(
    digits: tuple[np.ndarray, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = Surgeon(CFG).run(_net(), *digits, seed=5, threads=1, run_dir=tmp_path / "full")
    calls = {"n": 0}
    real = _train.Trainer.__call__

    def interrupted(self: _train.Trainer, jobs: Sequence[TrainJob]) -> list[TrainOutcome]:
        calls["n"] += 1
        if calls["n"] == 5:  # inside the second decision point
            raise _StopError
        return real(self, jobs)

    monkeypatch.setattr(_train.Trainer, "__call__", interrupted)
    with pytest.raises(_StopError):
        Surgeon(CFG).run(_net(), *digits, seed=5, threads=1, run_dir=tmp_path / "cut")
    monkeypatch.setattr(_train.Trainer, "__call__", real)
    resumed = Surgeon(CFG).run(
        _net(), *digits, seed=5, threads=1, run_dir=tmp_path / "cut", resume=True
    )
    _same(full, resumed)
    for name in ("history.json", "final.npl", "edits.json"):
        assert (tmp_path / "cut" / name).exists()
    with pytest.raises(ConfigError):
        Surgeon(CFG.replace(branches=3)).run(
            _net(), *digits, seed=5, run_dir=tmp_path / "cut", resume=True
        )


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


def test_redraws_until_the_limit_and_memory_backtracks(digits: tuple[np.ndarray, ...]) -> None:
    cfg = CFG.replace(total_epochs=4, max_redraws=2, memory=True)
    res = Surgeon(cfg).run(_net(), *digits, seed=0, evaluate=_Scripted())
    (d,) = res.decisions
    assert d.attempts == 3 and not d.improved and d.backtracked
    assert {c.attempt for c in d.candidates} == {0, 1, 2}
    keys = [(c.op, c.label, c.branch) for c in d.candidates]
    assert len(keys) == len(set(keys))  # a re-draw never repeats a tried candidate
    assert [b["id"] for b in d.branches] == [0]  # the previous branch, trained on
    assert res.changes == () and res.n_params == res.n_params_initial


def test_without_memory_the_last_draw_is_kept(digits: tuple[np.ndarray, ...]) -> None:
    cfg = CFG.replace(total_epochs=4, max_redraws=1, memory=False)
    res = Surgeon(cfg).run(_net(), *digits, seed=0, evaluate=_Scripted())
    (d,) = res.decisions
    assert d.attempts == 2 and not d.improved and not d.backtracked
    last = {c.label for c in d.candidates if c.attempt == 1 and c.chosen}
    assert {b["label"] for b in d.branches} == last


def test_an_improving_first_draw_stops_the_redraws(digits: tuple[np.ndarray, ...]) -> None:
    def rising(jobs: Sequence[TrainJob]) -> list[TrainOutcome]:
        # Accuracy grows with the position in the batch stream: every lineage improves.
        return [
            TrainOutcome(j.net.copy(), 0.5 + 1e-4 * (j.start + j.n_batches), j.n_batches)
            for j in jobs
        ]

    res = Surgeon(CFG.replace(total_epochs=4)).run(_net(), *digits, seed=0, evaluate=rising)
    (d,) = res.decisions
    assert d.attempts == 1 and d.improved and len(d.branches) == CFG.branches


def test_ties_go_to_the_smaller_candidate(digits: tuple[np.ndarray, ...]) -> None:
    def flat(jobs: Sequence[TrainJob]) -> list[TrainOutcome]:
        return [TrainOutcome(j.net.copy(), 0.5, j.n_batches) for j in jobs]

    cfg = CFG.replace(total_epochs=4, branches=1, operations=("identity", "add_neurons"))
    res = Surgeon(cfg).run(_net(), *digits, seed=0, evaluate=flat)
    # Equal accuracy: the score favours the smaller model, the identity.
    assert res.decisions[0].branches[0]["label"] == "identity"


def test_conv_network(digits: tuple[np.ndarray, ...]) -> None:
    X, y, Xv, yv = (a.reshape(-1, 1, 8, 8) if a.ndim == 2 else a for a in digits)
    net = Network.init(Spec.cnn((1, 8, 8), [4], 10, hidden=[8]), seed=0)
    cfg = CFG.replace(total_epochs=4, operations=("identity", "add_neurons", "add_layer"))
    res = Surgeon(cfg).run(net, X, y, Xv, yv, seed=0, threads=1)
    layers = {c.label.split()[-1] for c in res.decisions[0].candidates if c.op != "identity"}
    assert "conv_0" in layers
    assert res.network.forward(Xv[:2]).shape == (2, 10)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"seed": -1}, ConfigError), ({"resume": True}, ConfigError)],
)
def test_run_argument_errors(
    digits: tuple[np.ndarray, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        Surgeon(CFG).run(_net(), *digits, **kwargs)


def test_config_pickles() -> None:
    assert pickle.loads(pickle.dumps(CFG)) == CFG


def test_regression_network_is_rejected(digits: tuple[np.ndarray, ...]) -> None:
    net = Network.init(Spec.mlp(64, [4], 1, loss="mse"), seed=0)
    with pytest.raises(ConfigError):
        Surgeon(CFG).run(net, *digits)
    with pytest.raises(ConfigError):
        Surgeon(CFG.to_dict())  # type: ignore[arg-type]


def test_cli_writes_the_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from neuroplast import cli

    argv = ["optimize", "--controller", "surgeon", "--dataset", "digits", "--topology", "small",
            "--total-epochs", "4", "--decision-every", "2", "--json",
            "--run-dir", str(tmp_path)]  # fmt: skip
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["controller"] == "surgeon" and out["decisions"] == 1
    assert 0 <= out["accuracy_before"] <= 1 and out["params_before"] == 64 * 10 + 10 + 110
    for name in ("history.json", "final.npl", "edits.json", "report/topology.png",
                 "report/accuracy.png"):  # fmt: skip
        assert (tmp_path / name).exists(), name
    assert cli.main([*argv, "--resume"]) == 0  # the finished run resumes to the same result
    assert json.loads(capsys.readouterr().out)["accuracy_after"] == out["accuracy_after"]
    assert cli.main(["optimize", "--controller", "surgeon", "--dataset", "xor"]) == 2


def test_top_n_mode_in_the_loop(digits: tuple[np.ndarray, ...]) -> None:
    cfg = CFG.replace(total_epochs=4, selection="top_n", top_n=2, random_draw=False)
    res = Surgeon(cfg).run(_net(), *digits, seed=0, evaluate=_Scripted())
    first = [c for c in res.decisions[0].candidates if c.attempt == 0]
    assert [c.op for c in first].count("identity") == 1 and len(first) == 3
    ratings = sorted((c.rating for c in first if c.op != "identity"), reverse=True)
    assert ratings == [c.rating for c in first if c.op != "identity"]
