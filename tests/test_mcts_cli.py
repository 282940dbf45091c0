from __future__ import annotations

import json

import pytest

from neuroplast import ConfigError, Network
from neuroplast.cli import _parser, main
from neuroplast.search import MCTSConfig
from neuroplast.search.mcts._command import configure, parse_budget

TINY = [
    "optimize",
    "mcts",
    "--dataset",
    "digits",
    "--budget",
    "4",
    "--generations",
    "1",
    "--generation-epochs",
    "1",
    "--train-samples",
    "64",
    "--val-size",
    "50",
    "--no-progress",
    "--json",
]


def test_optimize_mcts_writes_a_run_folder(tmp_path, capsys) -> None:
    run_dir = tmp_path / "run"
    args = [*TINY, "--run-dir", str(run_dir), "--save", str(tmp_path / "out.npl")]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["controller"] == "mcts" and result["dataset"] == "digits"
    assert result["n_params_before"] == 7510 and "n_params_after" in result
    assert {"val_accuracy_before", "test_accuracy_after", "generations", "actions"} <= set(result)
    for name in (
        "config.json",
        "history.json",
        "final.npl",
        "edits.json",
        "report/overview.png",
        "report/training.png",
        "report/architecture.png",
    ):
        assert (run_dir / name).exists(), name
    assert Network.load(tmp_path / "out.npl").n_params == result["n_params_after"]
    config = json.loads((run_dir / "config.json").read_text())["config"]
    assert config["rollouts"] == 4 and config["generations"] == 1 and config["val_size"] == 50
    # The folder is refused without --overwrite or --resume.
    assert main([*TINY, "--run-dir", str(run_dir)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    # --resume on a finished run reproduces the same result.
    assert main([*TINY, "--run-dir", str(run_dir), "--resume"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["n_params_after"] == result["n_params_after"]
    assert again["test_accuracy_after"] == result["test_accuracy_after"]


def test_options_change_the_preset() -> None:
    argv = ["optimize", "mcts", "--phase", "grow", "--budget", "30s", "--workers", "3"]
    args = _parser().parse_args([*argv, "--narrow-method", "svd", "--rollout-depth", "2"])
    cfg = configure(args, MCTSConfig.preset(args.preset))
    assert (cfg.phase, cfg.w_params, cfg.initial_epochs) == ("grow", 0.5, 5)
    assert (cfg.seconds, cfg.rollouts, cfg.parallel, cfg.depth) == (30.0, None, 3, 2)
    assert cfg.actions.narrow_method == "svd"
    paper = _parser().parse_args(["optimize", "mcts", "--preset", "paper", "--parallel", "1"])
    assert configure(paper, MCTSConfig.preset("paper")) == MCTSConfig.paper()


def test_max_drop_and_final_epochs_options() -> None:
    base = ["optimize", "mcts", "--max-drop", "none", "--final-epochs", "0"]
    args = _parser().parse_args(base)
    cfg = configure(args, MCTSConfig.preset(args.preset))
    assert (cfg.max_drop, cfg.final_epochs, cfg.uses_budget) == (None, 0, False)
    args = _parser().parse_args(["optimize", "mcts", "--max-drop", "0.05"])
    assert configure(args, MCTSConfig.preset(args.preset)).max_drop == 0.05
    default = _parser().parse_args(["optimize", "mcts"])
    assert configure(default, MCTSConfig.preset(default.preset)) == MCTSConfig.fast()
    with pytest.raises(SystemExit):
        _parser().parse_args(["optimize", "mcts", "--max-drop", "lots"])


def test_budget_parsing_and_errors(capsys) -> None:
    assert parse_budget("30s") == {"seconds": 30.0, "rollouts": None}
    assert parse_budget("7") == {"rollouts": 7, "seconds": None}
    with pytest.raises(ConfigError, match="--budget"):
        parse_budget("x")
    assert main(["optimize", "mcts", "--budget", "x", "--no-progress"]) == 2
    assert "--budget" in capsys.readouterr().err


def test_options_of_other_controllers_are_rejected(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["optimize", "mcts", "--topology", "small"])
    assert exc.value.code == 2
    assert "--topology" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["optimize", "mcts", "--controller", "mcts"])
    assert exc.value.code == 2


def test_help_lists_own_and_shared_options(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["optimize", "mcts", "--help"])
    out = capsys.readouterr().out
    for flag in ("--budget", "--phase", "--quick-arch", "--preset", "--run-dir", "--workers"):
        assert flag in out, flag
