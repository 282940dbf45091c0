"""EquiNAS_E and EquiNAS_D: selection, lineages, alternating updates, resume, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Network, Spec, cli, data
from neuroplast.errors import ConfigError
from neuroplast.morph import EditLog, relaxations
from neuroplast.optim import Adam
from neuroplast.search import EquiNASD, EquiNASDConfig, EquiNASE, EquiNASEConfig, Splits
from neuroplast.search.equinas import AlternatingState, fit_alternating, pareto_front, select
from neuroplast.search.equinas._evolve import Loop


@pytest.fixture(scope="module")
def splits() -> Splits:
    ds = data.load("digits", seed=0)
    return Splits.from_dataset(ds, seed=0)


@pytest.fixture(scope="module")
def gcnn() -> Network:
    return Network.init(Spec.gcnn((1, 8, 8), 10, "D4", widths=[8, 8], hidden=[]), seed=0)


@pytest.fixture(scope="module")
def mixed() -> Network:
    spec = Spec.mixed_gcnn((1, 8, 8), 10, candidates=["C1", "C4", "D4"], widths=[8, 8], hidden=[])
    return Network.init(spec, seed=0)


def test_pareto_selection_keeps_the_front_then_the_most_accurate() -> None:
    pts = [(0.5, 10), (0.6, 20), (0.6, 30), (0.7, 40), (0.4, 5), (0.65, 50)]
    assert pareto_front(pts) == [0, 1, 3, 4]
    assert select(pts, 2) == [3, 1, 0, 4]  # the whole front, even beyond the size
    assert select(pts, 2, cap=2) == [3, 1]
    assert select(pts, 6) == [3, 5, 1, 2, 0, 4]
    assert pareto_front([(0.5, 10), (0.5, 10)]) == [0, 1]


def test_evolution_relaxes_along_lineages(gcnn: Network, splits: Splits) -> None:
    cfg = EquiNASEConfig.fast(generations=2, population=2, max_children=2)
    res = EquiNASE(cfg).run(gcnn, splits, seed=0, progress=False)
    assert 1 <= len(res.population) <= 4
    assert [r["step"] for r in res.history] == [0, 1]
    for ind in res.population:
        net = EditLog.from_json(json.dumps(ind["edits"])).replay(gcnn)
        assert net.n_params == ind["n_params"] >= gcnn.n_params
        assert [
            n.group for n in net.spec.nodes if hasattr(n, "in_group") or n.name == "conv_0"
        ] == ind["groups"]
    best = res.population[0]
    assert best["val_accuracy"] == max(i["val_accuracy"] for i in res.population)
    assert res.after["n_params"] == best["n_params"]
    assert len(res.edits) == len(best["edits"])


def test_every_child_starts_with_its_parents_function(gcnn: Network, splits: Splits) -> None:
    # The children of a generation are relaxations of trained parents: exact at birth.
    X = splits.X_val[:50]
    for layer, sub in relaxations(gcnn):
        from neuroplast.morph import relax

        child, _ = relax(gcnn, layer, sub)
        np.testing.assert_allclose(child.forward(X), gcnn.forward(X), atol=1e-5)


def test_random_select_ablation_and_config_checks(gcnn: Network, splits: Splits) -> None:
    cfg = EquiNASEConfig.fast(generations=1, population=2, random_select=True)
    res = EquiNASE(cfg).run(gcnn, splits, seed=1, progress=False)
    assert len(res.population) == 2
    with pytest.raises(ConfigError):
        EquiNASEConfig(population=0)
    with pytest.raises(ConfigError, match="G-CNN"):
        EquiNASE(cfg).run(Network.init(Spec.mlp(64, [4], 10), 0), splits, progress=False)
    with pytest.raises(ConfigError, match="mixed"):
        EquiNASD(EquiNASDConfig.fast()).run(gcnn, splits, progress=False)


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, cls: Any, attr: str, n: int) -> Any:
    real = getattr(cls, attr)
    calls = {"n": 0}

    def wrapped(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > n:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(cls, attr, wrapped)
    return real


def test_evolution_resume_equals_an_uninterrupted_run(
    gcnn: Network, splits: Splits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = EquiNASEConfig.fast(generations=3, population=2, max_children=2)
    EquiNASE(cfg).run(gcnn, splits, seed=2, run_dir=tmp_path / "a", progress=False)
    real = _interrupt_after(monkeypatch, Loop, "generation", 1)
    with pytest.raises(KeyboardInterrupt):
        EquiNASE(cfg).run(gcnn, splits, seed=2, run_dir=tmp_path / "b", progress=False)
    monkeypatch.setattr(Loop, "generation", real)
    EquiNASE(cfg).run(gcnn, splits, seed=2, run_dir=tmp_path / "b", resume=True, progress=False)
    for name in ("final.npl", "edits.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "report" / "groups.png").is_file()
    with pytest.raises(ConfigError, match="overwrite"):
        EquiNASE(cfg).run(gcnn, splits, seed=2, run_dir=tmp_path / "a", progress=False)


def test_alternating_updates_are_reproducible_and_use_two_streams(
    mixed: Network, splits: Splits
) -> None:
    X, y = splits.X_train[:200], splits.y_train[:200]
    kw: dict[str, Any] = {"epochs": 1, "batch_size": 32}
    a, sa, ha = fit_alternating(mixed, X, y, seeds=(0, 1), **kw)
    b, sb, _ = fit_alternating(mixed, X, y, seeds=(0, 1), **kw)
    c, _, _ = fit_alternating(mixed, X, y, seeds=(0, 2), **kw)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["conv_0.logits"], c.params["conv_0.logits"])
    assert sa.step == sb.step == 7 and a.optimizer_state is not None
    assert a.optimizer_state.step == 7 and len(ha) == 1
    # Each optimizer touches only its own parameters.
    st = a.optimizer_state.slots
    assert not st["conv_0.logits"]["exp_avg"].any() and st["conv_0.v_C4"]["exp_avg"].any()
    assert sa.slots is not None and set(sa.slots) == {"conv_0.logits", "conv_1.logits"}
    # Two calls of one epoch equal one call of two epochs.
    one, s1, _ = fit_alternating(mixed, X, y, seeds=(0, 1), epochs=2, batch_size=32)
    two, s2, _ = fit_alternating(
        a, X, y, seeds=(0, 1), epochs=1, batch_size=32, initial_epoch=1, arch_state=sa
    )
    for k in one.params:
        np.testing.assert_array_equal(one.params[k], two.params[k])
    assert isinstance(s2, AlternatingState) and s1.step == s2.step


def test_differentiable_search_records_z_and_collapses(mixed: Network, splits: Splits) -> None:
    cfg = EquiNASDConfig.fast(epochs=2, batch_size=64)
    res = EquiNASD(cfg).run(mixed, splits, seed=0, progress=False)
    assert len(res.history) == 2 and set(res.history[-1]["z"]) == {"conv_0", "conv_1"}
    assert res.z == res.history[-1]["z"] and res.mixed is not None
    assert set(res.architecture.values()) <= {"C1", "C4", "D4"}
    X = splits.X_val[:20]
    np.testing.assert_array_equal(res.network.forward(X), res.mixed.forward(X))
    assert res.edits.records[0].name == "collapse"


def test_differentiable_resume_equals_an_uninterrupted_run(
    mixed: Network, splits: Splits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import neuroplast.search.equinas.differentiable as mod

    cfg = EquiNASDConfig.fast(epochs=3)
    EquiNASD(cfg).run(mixed, splits, seed=4, run_dir=tmp_path / "a", progress=False)
    real = _interrupt_after(monkeypatch, mod, "fit_alternating", 1)
    with pytest.raises(KeyboardInterrupt):
        EquiNASD(cfg).run(mixed, splits, seed=4, run_dir=tmp_path / "b", progress=False)
    monkeypatch.setattr(mod, "fit_alternating", real)
    EquiNASD(cfg).run(mixed, splits, seed=4, run_dir=tmp_path / "b", resume=True, progress=False)
    assert (tmp_path / "a/final.npl").read_bytes() == (tmp_path / "b/final.npl").read_bytes()
    assert (tmp_path / "a" / "report" / "z.png").is_file()


def test_no_progress_is_silent(
    mixed: Network, splits: Splits, capsys: pytest.CaptureFixture[str]
) -> None:
    EquiNASD(EquiNASDConfig.fast(epochs=1)).run(mixed, splits, progress=False)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


@pytest.mark.parametrize(
    "name,extra",
    [
        (
            "equinas-e",
            [
                "--generations",
                "1",
                "--population",
                "2",
                "--max-children",
                "1",
                "--widths",
                "8",
                "8",
            ],
        ),
        (
            "equinas-d",
            ["--epochs", "1", "--widths", "8", "--candidates", "C1", "C4", "--augment", "C4"],
        ),
    ],
)
def test_cli(
    name: str, extra: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["optimize", name, "--dataset", "digits", *extra, "--no-progress", "--json"]
    assert cli.main([*args, "--run-dir", str(tmp_path / "r")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["controller"] == name and out["n_params_after"] > 0 and "n_params_before" in out
    assert (tmp_path / "r" / "config.json").is_file()
    with pytest.raises(SystemExit) as exc:
        cli.main(["optimize", name, "--max-drop", "0.1"])
    assert exc.value.code == 2


def test_fit_alternating_needs_mixed_layers(gcnn: Network, splits: Splits) -> None:
    with pytest.raises(ConfigError):
        fit_alternating(gcnn, splits.X_train, splits.y_train, epochs=1, optimizer=Adam())
