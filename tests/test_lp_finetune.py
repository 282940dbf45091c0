"""``LPPrune``'s reading of the real hidden activations and its final fine-tune."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Network, Spec, data
from neuroplast.errors import ConfigError
from neuroplast.lp import LPPrune, LPPruneConfig, prune_hidden_lp
from neuroplast.lp import controller as lp_controller
from neuroplast.lp._phases import links_and_units
from neuroplast.optim import Adam
from neuroplast.search import Splits


@pytest.fixture(scope="module")
def digits() -> tuple[Network, Splits]:
    """A trained 64-12-10 ReLU network and digits splits."""
    splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
    net = Network.init(Spec.mlp(64, [12], 10), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=10, optimizer=Adam(lr=3e-3), seed=0)
    return net, splits


def test_new_settings_are_validated() -> None:
    for bad in (
        {"hidden_activation": "tanh"},
        {"hidden_activation": "real", "multilevel": True},
        {"final_epochs": -1},
        {"final_epochs": 1.5},
        {"final_patience": 0},
        {"batch_size": 0},
        {"lr": 0.0},
        {"temperature": float("nan")},
        {"alpha": 1.5},
    ):
        with pytest.raises(ConfigError):
            LPPruneConfig(**bad)
    paper = LPPruneConfig.paper()
    assert (paper.hidden_activation, paper.final_epochs) == ("saturation", 0)


def test_real_reading_keeps_the_activations_and_first_layer(
    digits: tuple[Network, Splits],
) -> None:
    net, splits = digits
    cfg = LPPruneConfig(hidden_activation="real", final_epochs=0, samples=60, max_drop=None)
    res = LPPrune(cfg).run(net, splits, progress=False)
    direct = prune_hidden_lp(
        net, splits.X_train[:60], splits.y_train[:60], hidden_activation="real"
    ).network
    assert isinstance(direct, Network) and res.chosen_step == 1
    assert [n.activation for n in res.network.spec.nodes] == ["relu", "identity"]
    for name, value in direct.params.items():
        np.testing.assert_array_equal(res.network.params[name], value)
    kept = res.network.spec.nodes[0].units
    assert (res.links_after, res.units_after) == links_and_units(res.network)
    assert res.units_after == kept + 10 and res.history[1]["phase"] == "hidden"


def test_fine_tune_is_a_phase_within_the_budget(digits: tuple[Network, Splits]) -> None:
    net, splits = digits
    cfg = LPPruneConfig(hidden_activation="real", final_epochs=8, final_patience=3, samples=60)
    res = LPPrune(cfg).run(net, splits, seed=1, progress=False)
    assert [r["phase"] for r in res.history] == ["start", "hidden", "finetune"]
    lp, tuned = res.history[1], res.history[2]
    assert lp["edit"] == "fine-tune" and lp["edit_kind"] == "finetune"
    assert 1 <= tuned["epochs"] <= 8 and tuned["val_accuracy"] >= lp["val_accuracy"]
    assert tuned["n_params"] == lp["n_params"]
    floor = res.history[0]["val_accuracy"] - 0.01
    assert res.after["val_accuracy"] >= floor - 1e-12
    # Same seed, same network; the fine-tune's seed follows the run's.
    again = LPPrune(cfg).run(net, splits, seed=1, progress=False)
    for name, value in res.network.params.items():
        np.testing.assert_array_equal(again.network.params[name], value)


def test_sign_networks_skip_the_fine_tune() -> None:
    from neuroplast.lp import xor_example

    X, Y, start = xor_example(seed=354)
    y = np.argmax(Y, axis=1)
    res = LPPrune(final_epochs=5).run(
        start.to_network("cross_entropy"), Splits(X, y, X, y, name="xor"), progress=False
    )
    assert [r["phase"] for r in res.history] == ["start", "hidden"]
    assert "edit" not in res.history[1]


def test_resume_after_the_lp_fine_tunes_the_same(
    digits: tuple[Network, Splits], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, splits = digits
    cfg = LPPruneConfig(final_epochs=4, final_patience=2, samples=40)
    full = LPPrune(cfg).run(net, splits, seed=2, run_dir=tmp_path / "a", progress=False)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(lp_controller, "fine_tune_final", boom)
        with pytest.raises(KeyboardInterrupt):
            LPPrune(cfg).run(net, splits, seed=2, run_dir=tmp_path / "b", progress=False)
    with monkeypatch.context() as m:
        m.setattr(lp_controller, "prune_hidden_lp", boom)
        resumed = LPPrune(cfg).run(
            net, splits, seed=2, run_dir=tmp_path / "b", resume=True, progress=False
        )
    assert resumed.history == full.history and resumed.chosen_step == full.chosen_step
    final = (tmp_path / "a" / "final.npl").read_bytes()
    assert final == (tmp_path / "b" / "final.npl").read_bytes()


def test_keep_links_fine_tunes_on_the_lp_support(digits: tuple[Network, Splits]) -> None:
    net, splits = digits
    cfg = LPPruneConfig(final_epochs=6, final_patience=6, samples=40, keep_links=True)
    res = LPPrune(cfg).run(net, splits, seed=0, progress=False)
    lp, tuned = res.history[1], res.history[2]
    assert tuned["phase"] == "finetune" and tuned["links"] <= lp["links"] < res.links_before
    if tuned["kept"]:
        assert res.history[2]["val_accuracy"] >= lp["val_accuracy"]
    dense = LPPrune(cfg.replace(keep_links=False)).run(net, splits, seed=0, progress=False)
    assert dense.history[1] == lp and dense.history[2]["links"] >= tuned["links"]
