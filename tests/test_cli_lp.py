"""``neuroplast optimize --controller lp``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neuroplast import Network, Spec
from neuroplast.cli import main
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.lp.persist import load_perceptron


@pytest.fixture(autouse=True)
def _restore(restore_threads: None) -> None:
    """The CLI sets the thread count; restore it after each test."""


def test_xor_demo_json_and_save(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "xor.npz"
    argv = ["optimize", "--controller", "lp", "--dataset", "xor", "--seed", "354"]
    assert main([*argv, "--json", "--save", str(out_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["controller"] == "lp" and result["dataset"] == "xor"
    assert (result["links_before"], result["units_before"]) == (40, 12)
    assert 4 <= result["units_after"] < 12 and result["accuracy_after"] == 1.0
    assert result["saved"] == str(out_path) and result["structure"] == "layers"
    assert isinstance(load_perceptron(out_path), PerceptronNetwork)


def test_multilevel_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "dag.npz"
    assert main(["optimize", "--dataset", "xor", "--multilevel", "--save", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "before" in out and "after" in out and "links" in out and "units" in out
    assert isinstance(load_perceptron(out_path), PerceptronDAG)


def test_saved_model_on_digits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    net = Network.init(Spec.mlp(64, [8], 10, "tanh"), seed=0)
    net.fit(rng.random((50, 64)), rng.integers(0, 10, 50), epochs=1)
    model = tmp_path / "m.npl"
    net.save(model)
    argv = ["optimize", "--model", str(model), "--dataset", "digits", "--samples", "60"]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "digits" and result["samples"] == 60
    assert result["units_before"] == 18 and result["units_after"] <= 18
    for key in ("accuracy", "test_accuracy"):
        assert 0.0 <= result[f"{key}_after"] <= 1.0


def test_errors_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "--dataset", "xor", "--model", str(tmp_path / "x.npl")]) == 2
    assert main(["optimize", "--dataset", "digits", "--model", str(tmp_path / "x.npl")]) == 2
    assert "error" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["optimize", "--controller", "nope"])
