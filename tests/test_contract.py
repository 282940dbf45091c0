"""Every controller through the one contract, with the same arguments.

``Controller(config).run(net, data, seed=..., run_dir=..., progress=...)`` must behave the same
way for all of them: a :class:`~neuroplast.search.Result` with the before/after table, the same
run folder, a refused second run in that folder, and decisions that never look at the test split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Network, Spec, data
from neuroplast.errors import ConfigError
from neuroplast.lp import LPPrune, LPPruneConfig
from neuroplast.search import (
    ASNG,
    DARTS,
    DYNO,
    MCTS,
    ASNGConfig,
    Compress,
    CompressConfig,
    DARTSConfig,
    DYNOConfig,
    EquiNASD,
    EquiNASDConfig,
    EquiNASE,
    EquiNASEConfig,
    MCTSConfig,
    Neurogenesis,
    NeurogenesisConfig,
    Result,
    Splits,
    Surgeon,
    SurgeonConfig,
)
from neuroplast.search._contract import Controller

RUN_FILES = ("config.json", "history.json", "edits.json", "final.npl", "report/overview.png")


def _controllers() -> dict[str, Controller[Any, Any]]:
    """One tiny configuration of every controller (a few seconds each on 2 cores)."""
    return {
        "mcts": MCTS(MCTSConfig.fast(generations=1, epochs=1, rollouts=4, val_size=100)),
        "surgeon": Surgeon(SurgeonConfig.fast(total_epochs=2, initial_epochs=1, decision_every=1)),
        "neurogenesis": Neurogenesis(NeurogenesisConfig.fast(epochs=1, max_width=24)),
        "dyno": DYNO(DYNOConfig.fast(steps=40)),
        "lp": LPPrune(LPPruneConfig.fast(samples=60, method="ipm")),
        "compress": Compress(CompressConfig.fast(max_rounds=1, tune_epochs=1, final_epochs=1)),
        "asng": ASNG(ASNGConfig.fast(epochs=2, finetune_epochs=1)),
        "equinas-e": EquiNASE(EquiNASEConfig.fast(generations=1, population=2, max_children=1)),
        "equinas-d": EquiNASD(EquiNASDConfig.fast(epochs=1)),
        "darts": DARTS(
            DARTSConfig.fast(
                cells=3,
                channels=2,
                states=2,
                search_epochs=1,
                eval_cells=3,
                eval_channels=2,
                eval_epochs=1,
                subset=200,
            )
        ),
    }


def _start_for(name: str, mlp: Network) -> Network:
    """The start network of a controller: the MLP, or a (mixed) G-CNN for EquiNAS."""
    if name == "equinas-e":
        return Network.init(Spec.gcnn((1, 8, 8), 10, "D4", widths=[8, 8], hidden=[]), seed=0)
    if name == "equinas-d":
        spec = Spec.mixed_gcnn((1, 8, 8), 10, candidates=["C1", "C4"], widths=[8], hidden=[])
        return Network.init(spec, seed=0)
    return mlp


@pytest.fixture(scope="module")
def splits() -> Splits:
    ds = data.load("digits", seed=0)
    return Splits.from_dataset(ds, seed=0)


@pytest.fixture(scope="module")
def start(splits: Splits) -> Network:
    net = Network.init(Spec.mlp(64, [16], 10, "tanh"), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=5, seed=0)
    return net


NAMES = sorted(_controllers())


@pytest.mark.parametrize("name", NAMES)
def test_every_controller_runs_through_the_contract(
    name: str, start: Network, splits: Splits, tmp_path: Path
) -> None:
    controller = _controllers()[name]
    start = _start_for(name, start)
    before = {k: v.copy() for k, v in start.params.items()}
    res = controller.run(start, splits, seed=3, run_dir=tmp_path / name, progress=False)
    assert isinstance(res, Result)
    assert isinstance(res.network, Network) and res.network is not start
    for key in ("n_params", "flops", "val_accuracy", "test_accuracy"):
        assert key in res.before and key in res.after
    assert res.before["n_params"] == start.n_params
    assert res.after["n_params"] == res.network.n_params
    assert res.history and all({"step", "n_params", "val_accuracy"} <= set(r) for r in res.history)
    summary = res.summary()
    assert summary["n_params_before"] == start.n_params
    for f in RUN_FILES:
        assert (tmp_path / name / f).is_file(), f
    assert Network.load(tmp_path / name / "final.npl").n_params == res.network.n_params
    assert all(np.array_equal(v, start.params[k]) for k, v in before.items())
    # A second run may not silently overwrite the first.
    with pytest.raises(ConfigError, match="overwrite"):
        controller.run(start, splits, seed=3, run_dir=tmp_path / name, progress=False)


@pytest.mark.parametrize("name", NAMES)
def test_decisions_never_read_the_test_split(
    name: str, start: Network, splits: Splits, tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    start = _start_for(name, start)
    assert splits.X_test is not None
    other = Splits(
        splits.X_train,
        splits.y_train,
        splits.X_val,
        splits.y_val,
        rng.normal(size=splits.X_test.shape).astype(np.float32),
        rng.integers(0, 10, size=splits.X_test.shape[0]),
    )
    a = _controllers()[name].run(start, splits, seed=1, run_dir=tmp_path / "a", progress=False)
    b = _controllers()[name].run(start, other, seed=1, run_dir=tmp_path / "b", progress=False)
    assert (tmp_path / "a/final.npl").read_bytes() == (tmp_path / "b/final.npl").read_bytes()
    assert a.after["val_accuracy"] == b.after["val_accuracy"]


def test_data_forms_are_carved_the_same_way(splits: Splits) -> None:
    ds = data.load("digits", seed=0)
    a = Splits.coerce(ds, seed=4)
    b = Splits.coerce((ds.X_train, ds.y_train), seed=4)
    assert np.array_equal(a.X_val, b.X_val) and np.array_equal(a.y_train, b.y_train)
    # Stratified: every class keeps its share of the validation split (within one sample).
    counts = np.bincount(a.y_val, minlength=10) / np.bincount(ds.y_train, minlength=10)
    assert np.all(np.abs(counts - 0.15) < 0.05)


@pytest.mark.parametrize("bad", [None, "digits", (1, 2, 3)])
def test_bad_data_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError):
        Splits.coerce(bad)


def test_presets_live_on_every_config() -> None:
    for cls in (
        MCTSConfig,
        SurgeonConfig,
        NeurogenesisConfig,
        DYNOConfig,
        LPPruneConfig,
        CompressConfig,
        ASNGConfig,
        EquiNASEConfig,
        EquiNASDConfig,
        DARTSConfig,
    ):
        assert set(cls.PRESETS) >= {"paper", "fast"}
        for name in cls.PRESETS:
            cfg = cls.preset(name)
            assert cls.from_dict(cfg.to_dict()) == cfg
        with pytest.raises(ConfigError):
            cls.preset("nonexistent")
