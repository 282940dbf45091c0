"""``neuroplast optimize --controller north-*|gradmax|firefly|nest|dyno``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuroplast import ConfigError, Network, Spec
from neuroplast.cli import main
from neuroplast.morph import EditLog


@pytest.fixture(autouse=True)
def _restore(restore_threads: None) -> None:
    """The CLI sets the thread count; restore it after each test."""


def test_neurogenesis_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    argv = ["optimize", "--dataset", "digits", "--controller", "north-random", "--hidden", "4"]
    extra = ["--max-width", "16", "--epochs", "2", "--run-dir", str(run), "--no-progress"]
    assert main([*argv, *extra, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (
        result["controller"] == "north-random" and result["params_after"] > result["params_before"]
    )
    assert 0.0 <= result["accuracy_after"] <= 1.0
    history = json.loads((run / "history.json").read_text())
    assert len(history["history"]) == 2 and history["initial_widths"] == {"dense_0": 4}
    final = Network.load(run / "final.npl")
    assert final.spec.widths["dense_0"] == history["history"][-1]["widths"]["dense_0"]
    log = EditLog.from_json((run / "edits.json").read_text())
    assert len(log) == result["structural_changes"]
    assert (run / "report" / "widths.png").stat().st_size > 0


def test_dyno_fine_tunes_a_saved_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.npl"
    net = Network.init(Spec.mlp(64, [20], 10), seed=0)
    params = {k: v.copy() for k, v in net.params.items()}
    params["dense_0.weight"][10:] = 0.0  # ten dormant units: φ_ED = 0.5 < 0.97·φ*
    Network(net.spec, params).save(model)
    argv = ["optimize", "--dataset", "digits", "--controller", "dyno", "--model", str(model)]
    assert main([*argv, "--steps", "30", "--eval-every", "10", "--no-progress", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["params_before"] == Network.load(model).n_params
    assert result["structural_changes"] >= 1 and "dense_0=" in result["widths"]


def test_growth_controllers_refuse_xor() -> None:
    with pytest.raises(ConfigError, match="needs a data set"):
        from neuroplast.cli import _parser
        from neuroplast.search.growth._command import run

        run(_parser().parse_args(["optimize", "--controller", "gradmax", "--dataset", "xor"]))
