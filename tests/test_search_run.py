from __future__ import annotations

import json

import numpy as np
import pytest

from neuroplast import Network, SerializationError, Spec
from neuroplast.morph import EditLog, widen
from neuroplast.search import (
    RunFolder,
    atomic_write_text,
    layer_widths,
    plot_architectures,
    plot_epochs,
    plot_history,
    rng_from_state,
    rng_state,
)


def test_checkpoints_round_trip_and_latest(tmp_path) -> None:
    run = RunFolder(tmp_path / "run")
    assert run.latest_checkpoint() is None
    net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    X = np.ones((8, 3), np.float32)
    net.fit(X, np.arange(8) % 2, epochs=1)
    for g in (0, 1, 2):
        run.save_checkpoint(g, net, {"generation": g})
    # An incomplete checkpoint (network without state) is ignored.
    net.save(run.checkpoint_paths(3)[0])
    gen, loaded, state = run.latest_checkpoint()
    assert gen == 2 and state == {"generation": 2}
    assert all(np.array_equal(loaded.params[k], net.params[k]) for k in net.params)
    assert loaded.optimizer_state is not None and loaded.optimizer_state.step == 1
    assert run.generations() == [0, 1, 2]


def test_broken_state_file_raises(tmp_path) -> None:
    run = RunFolder(tmp_path)
    net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    run.save_checkpoint(0, net, {})
    run.checkpoint_paths(0)[1].write_text("{", encoding="utf-8")
    with pytest.raises(SerializationError):
        run.load_checkpoint(0)


def test_atomic_write_leaves_no_temporaries(tmp_path) -> None:
    atomic_write_text(tmp_path / "a" / "x.json", "1")
    atomic_write_text(tmp_path / "a" / "x.json", "2")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.json"]
    assert (tmp_path / "a" / "x.json").read_text() == "2"


def test_rng_state_round_trips_through_json() -> None:
    rng = np.random.default_rng(5)
    rng.random(3)
    state = json.loads(json.dumps(rng_state(rng)))
    again = rng_from_state(state)
    assert np.array_equal(rng.random(4), again.random(4))


def test_final_artefacts(tmp_path) -> None:
    run = RunFolder(tmp_path)
    net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    wide, rec = widen(net, "dense_0", 2)
    run.write_final(wide)
    run.write_edits(EditLog((rec,)))
    run.write_history({"records": [1, 2]})
    assert run.read_history() == {"records": [1, 2]}
    replayed = EditLog.from_json(run.edits_path.read_text()).replay(net)
    assert Network.load(run.final_path).spec == replayed.spec


def test_report_pngs(tmp_path) -> None:
    spec = Spec.cnn((1, 8, 8), [4], 3, hidden=[5])
    assert layer_widths(spec) == [
        ("conv_0", 4, "conv"),
        ("dense_0", 5, "dense"),
        ("output", 3, "dense"),
    ]
    recs = [
        {
            "generation": g,
            "accuracy": 0.5 + g / 10,
            "n_params": 100 - g,
            "action": "a" if g else None,
            "action_kind": ["remove_neurons", "delete_layer", "other"][g % 3],
        }
        for g in range(4)
    ]
    plot_history(recs, tmp_path / "h.png", title="t")
    for r in recs:
        r["epoch_accuracy"] = [0.5, 0.6, None]
    plot_epochs(recs, tmp_path / "e.png", title="t")
    archs = [(g, layer_widths(Spec.mlp(4, [20 - g], 2))) for g in range(12)]
    plot_architectures(archs, tmp_path / "a.png", max_panels=4)
    for name in ("h.png", "a.png", "e.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
