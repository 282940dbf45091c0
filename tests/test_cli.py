"""The ``neuroplast`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import neuroplast
from neuroplast import Network
from neuroplast.cli import main

BASE = ["train", "--dataset", "digits", "--hidden", "32", "--epochs", "2", "--no-progress"]


@pytest.fixture(autouse=True)
def _restore(restore_threads: None) -> None:
    """The CLI sets the thread count; restore it after each test."""


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["dataset"] == "digits" and result["hidden"] == [32] and result["epochs"] == 2
    assert 0.5 < result["test_accuracy"] <= 1.0
    assert 0.5 < result["train_accuracy"] <= 1.0
    assert result["n_params"] == 64 * 32 + 32 + 32 * 10 + 10
    assert result["test_loss"] > 0 and result["seconds"] >= 0
    assert "dataset digits" in err and "parameters" in err
    assert "saved" not in result


def test_table_output_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "train",
        "--hidden",
        "16",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--no-progress",
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--nesterov",
        "--weight-decay",
        "1e-4",
        "--activation",
        "tanh",
        "--batch-size",
        "64",
        "--threads",
        "1",
        "--seed",
        "3",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert lines["hidden"].strip() == "[16, 8]"
    assert 0.0 <= float(lines["test_accuracy"]) <= 1.0
    assert neuroplast.get_num_threads() == 1


def test_dropout_changes_training_reproducibly(capsys: pytest.CaptureFixture[str]) -> None:
    def run(*extra: str) -> dict[str, object]:
        assert main([*BASE, "--json", *extra]) == 0
        out: dict[str, object] = json.loads(capsys.readouterr().out)
        out.pop("seconds")
        return out

    plain, dropped = run(), run("--dropout", "0.5")
    assert dropped == run("--dropout", "0.5")
    assert dropped["train_loss"] != plain["train_loss"]


def test_same_seed_same_result(capsys: pytest.CaptureFixture[str]) -> None:
    results = []
    for _ in range(2):
        main([*BASE, "--json", "--optimizer", "adamw"])
        results.append(json.loads(capsys.readouterr().out))
    for r in results:
        r.pop("seconds")
    assert results[0] == results[1]


def test_save_writes_a_loadable_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "digits.npl"
    assert main([*BASE, "--json", "--save", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["saved"] == str(path)
    net = Network.load(path)
    assert net.spec.n_inputs == 64 and net.spec.n_outputs == 10
    assert net.optimizer_state is not None and net.optimizer_state.kind == "adam"
    ds = neuroplast.data.load("digits", seed=0)
    assert net.evaluate(ds.X_test, ds.y_test)["accuracy"] == pytest.approx(result["test_accuracy"])


def test_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--hidden", "8", "--epochs", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert "2/2" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["fly"],
        ["train", "--dataset", "imagenet"],
        ["train", "--epochs", "two"],
        ["train", "--optimizer", "rmsprop"],
        ["train", "--hidden", "1.5"],
        ["train", "--bogus"],
    ],
    ids=str,
)
def test_bad_arguments_exit_nonzero(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code not in (0, None)
    assert "usage" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra",
    [
        ["--lr", "-1"],
        ["--lr", "0"],
        ["--hidden", "0"],
        ["--activation", "swish"],
        ["--threads", "0"],
        ["--batch-size", "0"],
        ["--epochs", "-1"],
        ["--momentum", "1.5", "--optimizer", "sgd"],
        ["--nesterov", "--momentum", "0", "--optimizer", "sgd"],
        ["--dropout", "1.0"],
        ["--dropout", "-0.5"],
    ],
    ids=str,
)
def test_invalid_values_report_errors(extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, *extra]) == 2
    err = capsys.readouterr().err
    assert "neuroplast: error:" in err


def test_help_and_console_entry_point() -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "neuroplast.cli",
            "train",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--no-progress",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "test_accuracy" in json.loads(proc.stdout)
    bad = subprocess.run(
        [sys.executable, "-m", "neuroplast.cli", "train", "--lr", "-1", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert bad.returncode == 2 and "error" in bad.stderr
