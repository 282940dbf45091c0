"""The ASNG controller: result, run folder and report, resume equal to an uninterrupted run,
determinism, DenseNet connection selection and the command line."""

from __future__ import annotations

import doctest
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Network, Spec, cli, data
from neuroplast.errors import ConfigError
from neuroplast.search import ASNG, ASNGConfig, ASNGResult, Splits


@pytest.fixture(scope="module")
def splits() -> Splits:
    return Splits.from_dataset(data.load("digits", seed=0), seed=0)


def _mlp() -> Network:
    return Network.init(Spec.mlp(64, [24, 24, 24], 10), seed=0)


def test_run_removes_units_and_reports(splits: Splits, tmp_path: Path) -> None:
    cfg = ASNGConfig.fast(epochs=3, penalty=2.0**-3, finetune_epochs=1)
    res = ASNG(cfg).run(_mlp(), splits, seed=0, run_dir=tmp_path / "r", progress=False)
    assert isinstance(res, ASNGResult)
    assert res.network.n_params < res.before["n_params"]
    assert res.after["n_params"] == res.network.n_params
    assert set(res.theta) == {"dense_0", "dense_1", "dense_2"} and res.d == 72
    assert all(len(v) == 24 for v in res.theta.values())
    for layer, (kept, total) in res.selected.items():
        assert res.network.spec.widths[layer] == kept and total == 24
    assert res.removal_max_abs_diff < 1e-4
    train = [r for r in res.history if r["phase"] == "train"]
    assert [r["step"] for r in train] == [1, 2, 3]
    assert all({"n_params", "n_params_expected", "val_accuracy"} <= set(r) for r in train)
    assert [r["phase"] for r in res.history[3:]] == ["removed", "finetuned"]
    summary = res.summary()
    assert summary["weight_usage"] == round(res.network.n_params / res.before["n_params"], 4)
    for f in ("report/overview.png", "report/theta.png", "final.npl", "edits.json"):
        assert (tmp_path / "r" / f).is_file(), f
    saved = json.loads((tmp_path / "r" / "history.json").read_text())
    assert saved["theta"] == res.theta
    assert len(list((tmp_path / "r" / "checkpoints").glob("gen_*.json"))) == 3


def test_resume_ends_where_an_uninterrupted_run_ends(
    splits: Splits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = ASNGConfig.fast(epochs=4, finetune_epochs=1, penalty=2.0**-4)
    ASNG(cfg).run(_mlp(), splits, seed=5, run_dir=tmp_path / "a", progress=False)
    real, calls = ASNG._epoch, {"n": 0}

    def stop_after_two(self: ASNG, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 2:  # interrupted during epoch 3: its checkpoint is never written
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ASNG, "_epoch", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        ASNG(cfg).run(_mlp(), splits, seed=5, run_dir=tmp_path / "b", progress=False)
    monkeypatch.setattr(ASNG, "_epoch", real)
    b = tmp_path / "b"
    assert not (b / "final.npl").exists()
    res = ASNG(cfg).run(_mlp(), splits, seed=5, run_dir=b, resume=True, progress=False)
    a = tmp_path / "a"
    assert (a / "final.npl").read_bytes() == (b / "final.npl").read_bytes()
    ha, hb = (
        json.loads((a / "history.json").read_text()),
        json.loads((b / "history.json").read_text()),
    )
    assert ha["history"] == hb["history"] and ha["theta"] == hb["theta"]
    assert res.network.n_params == Network.load(a / "final.npl").n_params


def test_same_seed_same_run_other_seed_other_run(splits: Splits) -> None:
    cfg = ASNGConfig.fast(epochs=2, finetune_epochs=0)
    a = ASNG(cfg).run(_mlp(), splits, seed=1, progress=False)
    b = ASNG(cfg).run(_mlp(), splits, seed=1, progress=False)
    c = ASNG(cfg).run(_mlp(), splits, seed=2, progress=False)
    assert a.theta == b.theta and a.history == b.history
    assert all(np.array_equal(a.network.params[k], b.network.params[k]) for k in a.network.params)
    assert a.theta != c.theta


def test_densenet_connection_selection(splits: Splits) -> None:
    X = lambda s: s.reshape(-1, 1, 8, 8)  # noqa: E731
    img = Splits(X(splits.X_train), splits.y_train, X(splits.X_val), splits.y_val)
    net = Network.init(Spec.densenet((1, 8, 8), 10, growth=4, blocks=(2, 2)), seed=0)
    cfg = ASNGConfig.fast(select="connections", epochs=2, penalty=0.5, finetune_epochs=0)
    res = ASNG(cfg).run(net, img, seed=0, progress=False)
    assert res.d == 12 and set(res.theta) == {
        "b0l1_in",
        "b0l2_in",
        "b0t_in",
        "b1l1_in",
        "b1l2_in",
        "b1o_in",
    }
    assert res.removal_max_abs_diff < 1e-4
    assert res.network.n_params <= net.n_params


def test_config_and_encoding_errors(splits: Splits) -> None:
    with pytest.raises(ConfigError):
        ASNGConfig(eta=0.0)
    with pytest.raises(ConfigError):
        ASNGConfig.fast(select="layers")
    with pytest.raises(ConfigError, match="output"):
        ASNG(ASNGConfig.fast(layers=("output",), epochs=1)).run(_mlp(), splits, progress=False)
    assert ASNGConfig.paper(select="connections").lr == 0.1
    assert ASNGConfig.paper().lr_at(249) == 0.01 and ASNGConfig.paper().lr_at(250) == 0.001
    assert ASNGConfig.paper().lr_at(375) == pytest.approx(1e-4)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "optimize",
            "asng",
            "--epochs",
            "1",
            "--hidden",
            "16",
            "16",
            "--penalty",
            "2^-3",
            "--finetune-epochs",
            "0",
            "--json",
            "--no-progress",
            "--save",
            str(tmp_path / "n.npl"),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["controller"] == "asng" and out["penalty"] == 0.125
    assert Network.load(tmp_path / "n.npl").n_params == out["n_params_after"]


@pytest.mark.parametrize(
    "module",
    [
        "neuroplast.search.asng.encoding",
        "neuroplast.search.asng.engine",
        "neuroplast.search.asng.removal",
        "neuroplast.search.asng.report",
        "neuroplast.search.asng._command",
        "neuroplast.search.asng.controller",
        "neuroplast.morph.connections",
    ],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_densenet_docstring_example() -> None:
    finder = doctest.DocTestFinder()
    (test,) = finder.find(Spec.densenet, "Spec.densenet", globs={"Spec": Spec})
    assert doctest.DocTestRunner().run(test).failed == 0
