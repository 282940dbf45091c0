from __future__ import annotations

import json

import pytest

from neuroplast import Network
from neuroplast.cli import main
from neuroplast.search.mcts._command import parse_budget


def test_optimize_mcts_writes_a_run_folder(tmp_path, capsys) -> None:
    run_dir = tmp_path / "run"
    args = [
        "optimize",
        "--controller",
        "mcts",
        "--dataset",
        "digits",
        "--budget",
        "10",
        "--generations",
        "2",
        "--generation-epochs",
        "2",
        "--train-samples",
        "400",
        "--run-dir",
        str(run_dir),
        "--no-progress",
        "--json",
        "--save",
        str(tmp_path / "out.npl"),
    ]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["controller"] == "mcts" and result["dataset"] == "digits"
    assert result["n_params_before"] == 7510
    for name in (
        "history.json",
        "final.npl",
        "edits.json",
        "report/history.png",
        "report/training.png",
        "report/architecture.png",
    ):
        assert (run_dir / name).exists(), name
    assert Network.load(tmp_path / "out.npl").n_params == result["n_params_after"]
    history = json.loads((run_dir / "history.json").read_text())
    assert history["config"]["rollouts"] == 10 and history["config"]["generations"] == 2
    # --resume on a finished run reproduces the same result.
    assert main([*args[:-2], "--resume"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["n_params_after"] == result["n_params_after"]
    assert again["test_accuracy_after"] == result["test_accuracy_after"]


def test_budget_parsing_and_errors(capsys) -> None:
    assert parse_budget("30s") == {"seconds": 30.0, "rollouts": None}
    assert parse_budget("7") == {"rollouts": 7, "seconds": None}
    assert (
        main(
            [
                "optimize",
                "--controller",
                "mcts",
                "--dataset",
                "digits",
                "--budget",
                "x",
                "--no-progress",
            ]
        )
        == 2
    )
    assert "--budget" in capsys.readouterr().err
    assert main(["optimize", "--controller", "mcts", "--dataset", "xor"]) == 2


@pytest.mark.parametrize("flag", ["--preset", "--run-dir", "--resume", "--workers"])
def test_shared_options_exist_once(flag, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["optimize", "--help"])
    assert capsys.readouterr().out.count(flag + " ") + 0 >= 1
