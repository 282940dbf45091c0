"""``neuroplast optimize neurogenesis|dyno``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuroplast import Network, Spec, data
from neuroplast.cli import main
from neuroplast.morph import EditLog
from neuroplast.search.growth._command import COMMANDS, DYNO_COMMAND, NEUROGENESIS_COMMAND


@pytest.fixture(autouse=True)
def _restore(restore_threads: None) -> None:
    """The CLI sets the thread count; restore it after each test."""


NEUROGENESIS = ["optimize", "neurogenesis", "--dataset", "digits", "--hidden", "4"]
TINY = ["--strategy", "north-random", "--max-width", "16", "--epochs", "2", "--eval-every", "2"]


def test_commands_are_exported() -> None:
    assert COMMANDS == (NEUROGENESIS_COMMAND, DYNO_COMMAND)
    assert [c.name for c in COMMANDS] == ["neurogenesis", "dyno"]


def test_neurogenesis_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    argv = [*NEUROGENESIS, *TINY, "--run-dir", str(run), "--no-progress", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    result = json.loads(captured.out)
    assert result["controller"] == "neurogenesis"
    assert result["n_params_after"] > result["n_params_before"]
    assert 0.0 <= result["test_accuracy_after"] <= 1.0
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history["history"]] == [0, 1, 2]
    assert history["initial_widths"] == {"dense_0": 4}
    final = Network.load(run / "final.npl")
    # The fast preset returns the epoch with the best validation accuracy.
    chosen = [h for h in history["history"] if h["step"] == result["chosen_step"]]
    assert final.spec.widths["dense_0"] == chosen[0]["widths"]["dense_0"]
    assert f"dense_0={final.spec.widths['dense_0']}" == result["widths"]
    log = EditLog.from_json((run / "edits.json").read_text())
    made = [e for e in history["events"] if e["step"] < result["chosen_step"]]
    assert len(log) == result["edits"] == len(made)
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["strategy"] == "north-random" and config["config"]["epochs"] == 2
    for figure in ("overview.png", "widths.png", "accuracy.png"):
        assert (run / "report" / figure).stat().st_size > 0


def test_resume_continues_and_refuses_a_used_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    argv = [*NEUROGENESIS, *TINY, "--run-dir", str(run), "--no-progress", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 2  # the folder holds a run: neither --resume nor --overwrite
    assert "overwrite" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["n_params_after"] == first["n_params_after"]
    assert again["val_accuracy_after"] == first["val_accuracy_after"]


def test_dyno_fine_tunes_a_saved_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.npl"
    net = Network.init(Spec.mlp(64, [20], 10), seed=0)
    params = {k: v.copy() for k, v in net.params.items()}
    params["dense_0.weight"][10:] = 0.0  # ten dormant units: φ_ED = 0.5 < 0.97·φ*
    Network(net.spec, params).save(model)
    argv = ["optimize", "dyno", "--dataset", "digits", "--model", str(model)]
    assert main([*argv, "--steps", "30", "--eval-every", "10", "--no-progress", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["controller"] == "dyno"
    assert result["n_params_before"] == Network.load(model).n_params
    assert result["edits"] >= 1 and result["units_pruned"] >= 1
    assert "dense_0=" in result["widths"]


def test_budget_and_final_tuning_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.npl"
    net = Network.init(Spec.mlp(64, [12], 10), seed=0)
    ds = data.load("digits", seed=0)
    net.fit(ds.X_train, ds.y_train, epochs=3, seed=0)
    net.save(model)
    dyno = ["optimize", "dyno", "--dataset", "digits", "--model", str(model), "--steps", "20"]
    run = tmp_path / "dyno"
    argv = [*dyno, "--max-drop", "none", "--final-epochs", "0", "--run-dir", str(run)]
    assert main([*argv, "--no-progress", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["max_drop"] is None and config["final_epochs"] == 0
    assert result["chosen_step"] == 20 and "floor" not in result
    assert (
        main([*dyno, "--max-drop", "0.05", "--final-epochs", "2", "--no-progress", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["floor"] == pytest.approx(result["val_accuracy_before"] - 0.05)
    assert result["val_accuracy_after"] >= result["floor"] and result["final_tuning"]["epochs"] <= 2
    run = tmp_path / "neurogenesis"
    argv = [*NEUROGENESIS, *TINY, "--final-epochs", "3", "--run-dir", str(run), "--no-progress"]
    assert main(argv) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["final_epochs"] == 3 and config["restore_best"] and config["max_drop"] is None


@pytest.mark.parametrize(
    "argv",
    [
        ["optimize", "dyno", "--strategy", "gradmax"],  # a neurogenesis option
        ["optimize", "neurogenesis", "--max-drop", "0.1"],  # no budget from an untrained start
        ["optimize", "dyno", "--max-drop", "lots"],  # not a number nor 'none'
        ["optimize", "neurogenesis", "--steps", "10"],  # a DYNO option
        ["optimize", "neurogenesis", "--budget", "4"],  # an MCTS option
        ["optimize", "north-select"],  # the old per-strategy controller names are gone
    ],
)
def test_options_of_other_controllers_are_rejected(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err
