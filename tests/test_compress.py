"""``compress``: the smallest network within a validation accuracy budget."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroplast
from neuroplast import Network, Spec, data
from neuroplast.cli import main
from neuroplast.errors import ConfigError
from neuroplast.search import Compress, CompressConfig, Splits, compress
from neuroplast.testing import same_network


@pytest.fixture(scope="module")
def splits() -> Splits:
    return Splits.from_dataset(data.load("digits", seed=0), seed=0)


@pytest.fixture(scope="module")
def trained(splits: Splits) -> Network:
    net = Network.init(Spec.mlp(64, [48, 32], 10), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=25, seed=0)
    return net


def _tiny(**kw: Any) -> CompressConfig:
    base: dict[str, Any] = dict(max_rounds=3, tune_epochs=1, final_epochs=2, patience=1)
    base.update(kw)
    return CompressConfig.fast(**base)


@settings(max_examples=6, deadline=None)
@given(st.sampled_from([0.0, 0.02, 0.1]), st.integers(0, 3))
def test_budget_is_respected_and_the_smallest_in_budget_network_returned(
    trained: Network, splits: Splits, max_drop: float, seed: int
) -> None:
    res = Compress(_tiny(max_drop=max_drop)).run(trained, splits, seed=seed, progress=False)
    start = trained.evaluate(splits.X_val, splits.y_val)["accuracy"]
    got = res.network.evaluate(splits.X_val, splits.y_val)["accuracy"]
    assert res.floor == pytest.approx(start - max_drop)
    assert got >= res.floor
    in_budget = [h["n_params"] for h in res.history if h["val_accuracy"] >= res.floor]
    assert res.network.n_params == min(in_budget)
    assert all(w >= 1 for w in res.network.spec.widths.values())


def test_target_params_stops_early(trained: Network, splits: Splits) -> None:
    target = trained.n_params - 200
    res = compress(trained, splits, max_drop=0.5, target_params=target, max_rounds=10, step=0.2)
    assert res.stop_reason == "target reached"
    assert res.network.n_params <= target
    assert len(res.edits) >= 1


def test_the_step_grows_after_an_accepted_edit_and_halves_after_a_refused_round(
    trained: Network, splits: Splits, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[float] = []
    accepted: list[bool] = []
    real_round, real_accept = Compress._round, Compress._accept

    def spy_round(self: Compress, *args: Any) -> Any:
        steps.append(args[2])  # (net, ref, step, seed, ctx)
        return real_round(self, *args)

    def spy_accept(self: Compress, st: Any, *args: Any) -> None:
        n = len(st.log)
        real_accept(self, st, *args)
        accepted.append(len(st.log) > n)

    monkeypatch.setattr(Compress, "_round", spy_round)
    monkeypatch.setattr(Compress, "_accept", spy_accept)
    cfg = _tiny(max_rounds=8, step=0.2, min_step=0.01, step_growth=1.5, max_step=0.4)
    Compress(cfg.replace(max_drop=0.005)).run(trained, splits, seed=0, progress=False)
    assert any(accepted) and not all(accepted)  # both branches were taken
    for before, after, ok in zip(steps, steps[1:], accepted, strict=False):
        assert after == pytest.approx(min(before * 1.5, 0.4) if ok else before / 2)


@pytest.mark.parametrize(
    "bad", [{"step_growth": 0.5}, {"step": 0.6}, {"step": 0.3, "max_step": 0.2}, {"max_step": 1.0}]
)
def test_invalid_step_schedules_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        CompressConfig(**bad)


def test_a_regression_network_is_refused(splits: Splits) -> None:
    net = Network.init(Spec.mlp(64, [8], 1, loss="mse"), seed=0)
    y = splits.y_train.astype(np.float32)[:, None]
    with pytest.raises(ConfigError):
        Compress().run(net, (splits.X_train, y), progress=False)


def test_resume_equals_an_uninterrupted_run(
    trained: Network, splits: Splits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _tiny(max_rounds=3)
    Compress(cfg).run(trained, splits, seed=2, run_dir=tmp_path / "a", progress=False)
    calls = {"n": 0}
    real = Compress._round

    def stop_after_one(self: Compress, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(Compress, "_round", stop_after_one)
    with pytest.raises(KeyboardInterrupt):
        Compress(cfg).run(trained, splits, seed=2, run_dir=tmp_path / "b", progress=False)
    monkeypatch.setattr(Compress, "_round", real)
    Compress(cfg).run(trained, splits, seed=2, run_dir=tmp_path / "b", resume=True, progress=False)
    for name in ("final.npl", "edits.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_cli_compress_a_saved_model(
    trained: Network, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trained.save(tmp_path / "m.npl")
    args = [str(tmp_path / "m.npl"), "--dataset", "digits", "--max-drop", "0.05"]
    args += ["--target-params", str(trained.n_params - 100), "--no-progress", "--json"]
    assert main(["compress", *args, "--save", str(tmp_path / "small.npl")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_params_before"] == trained.n_params
    assert out["n_params_after"] == Network.load(tmp_path / "small.npl").n_params
    assert out["n_params_after"] < out["n_params_before"]
    # --no-factorize: only narrowing edits, so no bottleneck layer in the saved network.
    fixed = ["--no-factorize", "--step-growth", "1"]
    assert main(["compress", *args, *fixed, "--save", str(tmp_path / "n.npl")]) == 0
    capsys.readouterr()
    assert not any(n.name.endswith("_svd") for n in Network.load(tmp_path / "n.npl").spec.nodes)


def test_candidates_on_a_process_pool_equal_the_in_process_run(
    trained: Network, splits: Splits
) -> None:
    cfg = _tiny(max_rounds=2, threads=1)  # an executor runs one engine thread per candidate
    local = Compress(cfg).run(trained, splits, seed=3, progress=False)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = Compress(cfg).run(trained, splits, seed=3, executor=pool, progress=False)
    assert same_network(local.network, remote.network)
    assert local.history == remote.history and local.rejected == remote.rejected
    assert [r.to_dict() for r in local.edits.records] == [r.to_dict() for r in remote.edits.records]


def test_cli_compress_on_worker_processes(
    trained: Network, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trained.save(tmp_path / "m.npl")
    args = [str(tmp_path / "m.npl"), "--dataset", "digits", "--max-drop", "0.05", "--json"]
    args += ["--target-params", str(trained.n_params - 100), "--no-progress", "--workers", "2"]
    assert main(["compress", *args]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_params_after"] <= trained.n_params - 100


def test_top_level_shorthand(trained: Network, splits: Splits) -> None:
    res = neuroplast.compress(trained, splits, max_drop=0.05, max_rounds=1, final_epochs=0)
    assert res.network.n_params < trained.n_params


def test_candidates_include_one_data_basis_factorization_per_unsplit_dense_layer(
    trained: Network, splits: Splits
) -> None:
    from neuroplast.search._compress_edits import candidates

    cal = splits.X_train[:200]
    found = list(candidates(trained, cal, 0.35, min_width=1, factorize_layers=True))
    split = [(e.args["layer"], e.args["rank"]) for _, e in found if e.name == "factorize"]
    # rank = ⌊0.65·n·m/(n+m)⌋ for 48×64 and 32×48; each saves parameters (not the output).
    assert split == [("dense_0", 17), ("dense_1", 12)]
    for net, e in found:
        if e.name == "factorize":
            assert net.n_params < trained.n_params and e.args["basis"] == "data"
    # A split layer is not split again, nor is its bottleneck.
    first = next(n for n, e in found if e.name == "factorize")
    again = list(candidates(first, cal, 0.35, min_width=1, factorize_layers=True))
    assert [e.args["layer"] for _, e in again if e.name == "factorize"] == ["dense_1"]
    off = candidates(trained, cal, 0.35, min_width=1, factorize_layers=False)
    assert all(e.name == "narrow" for _, e in off)


def test_the_edit_log_replays_to_the_returned_architecture(
    trained: Network, splits: Splits
) -> None:
    res = Compress(_tiny(max_rounds=4, max_drop=0.1)).run(trained, splits, seed=1, progress=False)
    assert res.edits.replay(trained).spec == res.network.spec
