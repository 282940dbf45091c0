"""``neuroplast optimize <controller>``: one grammar, own options only, clean interrupts."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from neuroplast import __version__, cli


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    optimize = top.choices["optimize"]
    sub = next(a for a in optimize._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _options(p: argparse.ArgumentParser) -> set[str]:
    return {s for a in p._actions for s in a.option_strings if s.startswith("--")}


SUBS = _subparsers()


def test_every_controller_has_a_subcommand() -> None:
    assert set(SUBS) == {
        "mcts",
        "surgeon",
        "neurogenesis",
        "dyno",
        "lp",
        "compress",
        "asng",
        "equinas-e",
        "equinas-d",
        "darts",
        "darts-prime",
    }


def test_shared_options_are_the_same_everywhere() -> None:
    shared = set.intersection(*(_options(p) for p in SUBS.values()))
    for flag in ("--dataset", "--model", "--seed", "--run-dir", "--resume", "--overwrite"):
        assert flag in shared
    assert "--no-progress" in shared and "--quiet" not in shared


@pytest.mark.parametrize("name", sorted(SUBS))
def test_every_subcommand_rejects_options_of_the_others(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = _options(SUBS[name])
    foreign = sorted(set().union(*(_options(p) for p in SUBS.values())) - mine)
    assert foreign, f"{name} accepts every option of every controller"
    for flag in foreign:
        with pytest.raises(SystemExit) as exc:
            cli.main(["optimize", name, flag, "1"])
        assert exc.value.code == 2
        assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(SUBS))
def test_help_shows_defaults_without_markup(name: str) -> None:
    text = SUBS[name].format_help()
    assert "(default: 0)" in text  # --seed
    assert "``" not in text and ":class:" not in text and ":func:" not in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_ctrl_c_exits_130_with_a_resume_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_command", interrupted)
    code = cli.main(["optimize", "mcts", "--run-dir", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 130
    assert "--resume" in err and "Traceback" not in err


def test_an_occupied_run_folder_is_refused(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "history.json").write_text("{}")
    code = cli.main(
        ["optimize", "lp", "--dataset", "xor", "--run-dir", str(tmp_path / "r"), "--no-progress"]
    )
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err


def test_convert_and_export_through_onnx(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    import numpy as np

    from neuroplast import Network, Spec

    net = Network.init(Spec.mlp(64, [16], 10), seed=0)
    net.save(tmp_path / "m.npl")
    assert cli.main(["convert", str(tmp_path / "m.npl"), str(tmp_path / "m.onnx")]) == 0
    lp = ["optimize", "lp", "--model", str(tmp_path / "m.onnx"), "--samples", "40"]
    code = cli.main(
        [*lp, "--method", "ipm", "--no-progress", "--json", "--export", str(tmp_path / "o.onnx")]
    )
    assert code == 0
    back = cli.main(["convert", str(tmp_path / "o.onnx"), str(tmp_path / "o.npl")])
    assert back == 0
    x = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    assert Network.load(tmp_path / "o.npl").forward(x).shape == (5, 10)
    assert "--opset" not in capsys.readouterr().err
    assert cli.main(["convert", str(tmp_path / "m.npl"), str(tmp_path / "x.npl"), "--softmax"]) == 2
