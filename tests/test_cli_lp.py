"""``neuroplast optimize lp``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from neuroplast import Network, Spec
from neuroplast.cli import main
from neuroplast.lp import LPPruneConfig, xor_example
from neuroplast.lp._command import COMMAND, configure

XOR = ["optimize", "lp", "--dataset", "xor", "--no-progress"]


@pytest.fixture(autouse=True)
def _restore(restore_threads: None) -> None:
    """The CLI sets the thread count; restore it after each test."""


def test_xor_demo_json_and_save(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "xor.npl"
    assert main([*XOR, "--seed", "354", "--json", "--save", str(out_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["controller"] == "lp" and result["dataset"] == "xor"
    assert (result["links_before"], result["units_before"]) == (40, 12)
    assert 4 <= result["units_after"] < 12 and result["val_accuracy_after"] == 1.0
    assert result["n_params_after"] < result["n_params_before"] == 52
    assert result["saved"] == str(out_path) and result["structure"] == "layers"
    X, Y, _ = xor_example(seed=354)
    assert np.array_equal(Network.load(out_path).forward(X), Y)


def test_multilevel_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "dag.npl"
    argv = [*XOR, "--seed", "354", "--multilevel", "--save", str(out_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "before" in out and "after" in out and "links" in out and "units" in out
    assert "dag" in out
    X, Y, _ = xor_example(seed=354)
    saved = Network.load(out_path)
    assert np.array_equal(saved.forward(X), Y)
    assert any(node.name.startswith("cat_") for node in saved.spec.nodes)


def test_resume_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = ["--run-dir", str(tmp_path / "run"), "--json", "--preset", "paper"]
    assert main([*XOR, *run]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main([*XOR, *run]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*XOR, *run, "--resume"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["links_after"] == first["links_after"] and again["structure"] == "dag"


def test_saved_model_on_digits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    net = Network.init(Spec.mlp(64, [8], 10, "tanh"), seed=0)
    net.fit(rng.random((50, 64)), rng.integers(0, 10, 50), epochs=1)
    model = tmp_path / "m.npl"
    net.save(model)
    argv = ["optimize", "lp", "--model", str(model), "--dataset", "digits", "--samples", "60"]
    assert main([*argv, "--no-progress", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "digits" and result["samples"] == 60
    assert result["units_before"] == 18 and result["units_after"] <= 18
    for key in ("val_accuracy", "test_accuracy"):
        assert 0.0 <= result[f"{key}_after"] <= 1.0
    assert "n_params_before" in result and "n_params_after" in result


def test_quick_start_network(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["optimize", "lp", "--dataset", "digits", "--hidden", "4", "--epochs", "2"]
    assert main([*argv, "--samples", "30", "--no-progress", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["units_before"] == 14 and result["samples"] == 30 and err == ""


def test_options_override_the_preset() -> None:
    paper = LPPruneConfig.paper()
    args = argparse.Namespace(method="ipm", multilevel=False)
    cfg = configure(args, paper)
    assert (cfg.method, cfg.multilevel, cfg.samples) == ("ipm", False, paper.samples)
    assert configure(argparse.Namespace(), paper) == paper
    assert COMMAND.name == "lp" and "xor" in (COMMAND.datasets or ())


def test_max_drop_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert configure(argparse.Namespace(max_drop=None), LPPruneConfig.fast()).max_drop is None
    xor = [*XOR, "--seed", "354", "--json"]
    assert main([*xor, "--max-drop", "none"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["chosen_step"] == 1 and "floor" not in result
    assert main([*xor, "--max-drop", "0.05"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["floor"] == pytest.approx(0.95) and result["chosen_step"] == 1
    with pytest.raises(SystemExit) as exc:
        main([*XOR, "--max-drop", "lots"])
    assert exc.value.code == 2


def test_errors_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*XOR, "--model", str(tmp_path / "x.npl")]) == 2
    missing = ["optimize", "lp", "--dataset", "digits", "--model", str(tmp_path / "x.npl")]
    assert main(missing) == 2
    assert main([*XOR, "--samples", "0"]) == 2
    assert "error" in capsys.readouterr().err
    for argv in (
        [*XOR, "--branches", "3"],  # an option of the surgeon controller
        [*XOR, "--method", "dual"],
        ["optimize", "lp", "--dataset", "nope"],
        ["optimize", "--controller", "lp"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_help_mentions_the_xor_demo(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["optimize", "lp", "--help"])
    out = capsys.readouterr().out
    assert "xor" in out and "--multilevel" in out and "--preset paper" in out


def test_real_reading_and_fine_tune_options(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["optimize", "lp", "--dataset", "digits", "--hidden", "6", "--epochs", "3"]
    options = ["--hidden-activation", "real", "--final-epochs", "2", "--samples", "40"]
    assert main([*argv, *options, "--no-progress", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["units_before"] == 16 and result["chosen_step"] in (0, 1, 2)
    cfg = configure(argparse.Namespace(hidden_activation="real", final_epochs=0), LPPruneConfig())
    assert (cfg.hidden_activation, cfg.final_epochs) == ("real", 0)
    assert main([*argv, "--hidden-activation", "real", "--multilevel", "--no-progress"]) == 2
    assert "multilevel needs the saturation reading" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--hidden-activation", "tanh"])
