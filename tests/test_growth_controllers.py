"""Neurogenesis (Algorithm 4), DYNO (Algorithm 5) and the chunked step trainer."""

from __future__ import annotations

import numpy as np
import pytest

from neuroplast import Adam, ConfigError, Network, Spec
from neuroplast.morph import widen
from neuroplast.search.growth import DYNO, Neurogenesis, StepTrainer
from neuroplast.testing import assert_bitwise_equal


def _data(n: int = 300, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


@pytest.mark.parametrize("chunks", [[1] * 12, [5, 7], [12], [3, 9]])
def test_chunks_train_like_one_call(chunks: list[int]) -> None:
    X, y = _data(50)
    spec = Spec.mlp(8, [6], 2)
    ref = Network.init(spec, seed=1)
    StepTrainer(X, y, 8, Adam(lr=1e-2), seed=3).run(ref, 12)  # 7 steps per epoch: crosses one
    net = Network.init(spec, seed=1)
    trainer = StepTrainer(X, y, 8, Adam(lr=1e-2), seed=3)
    seen = [trainer.run(net, k).indices for k in chunks]
    assert_bitwise_equal(net.params, ref.params)
    order = np.concatenate([trainer.order(0), trainer.order(1)[: 5 * 8]])
    np.testing.assert_array_equal(np.concatenate(seen), order)
    assert trainer.state() == {"epoch": 1, "batch": 5, "step": 12}


def test_neurogenesis_is_deterministic_and_respects_max_width() -> None:
    X, y = _data()
    net = Network.init(Spec.mlp(8, [3, 3], 2), seed=0)
    runs = [
        Neurogenesis(strategy="north-random", max_width=10).fit(net, X, y, epochs=3, seed=5)
        for _ in range(2)
    ]
    a, b = runs
    assert a.events == b.events and a.events
    assert_bitwise_equal(a.network.params, b.network.params)
    assert all(3 <= w <= 10 for h in a.history for w in h["widths"].values())
    assert [h["epoch"] for h in a.history] == [0, 1, 2]
    assert all(r.contract == "exact" for r in a.log.records)
    # The input network is left as it was.
    assert net.spec.widths["dense_0"] == 3


def test_growth_log_replays_the_final_architecture() -> None:
    """Every NORTH-Select growth is exact, and the log rebuilds the final architecture."""
    X, y = _data()
    net = Network.init(Spec.mlp(8, [4], 2), seed=0)
    res = Neurogenesis(strategy="north-select", max_width=12, candidates=20).fit(
        net, X, y, epochs=2, seed=1
    )
    assert res.events and all(r.contract == "exact" for r in res.log.records)
    start = net.copy()
    start.fit(X, y, epochs=0)  # the log replays onto the untrained widths
    replayed = res.log.replay(start)
    assert replayed.spec.widths == res.network.spec.widths


@pytest.mark.parametrize("schedule", ["linear", "batched"])
def test_preset_schedules_reach_the_target(schedule: str) -> None:
    X, y = _data(256)
    net = Network.init(Spec.mlp(8, [4, 4], 2), seed=0)
    res = Neurogenesis(strategy="north-random", schedule=schedule, target_width=12).fit(
        net, X, y, epochs=4, batch_size=32, seed=0
    )
    assert res.network.spec.widths["dense_0"] == 12 and res.network.spec.widths["dense_1"] == 12
    steps = {e["step"] for e in res.events}
    total = 4 * 8
    assert max(steps) <= int(0.75 * total)
    per_layer = [e for e in res.events if e["layer"] == "dense_0"]
    if schedule == "linear":
        assert all(e["units"] == 1 for e in per_layer) and len(per_layer) == 8
    else:
        assert len(per_layer) == 8


def test_dyno_prunes_planted_dead_and_duplicate_units_first() -> None:
    X, y = _data(600, seed=2)
    net = Network.init(Spec.mlp(8, [16], 2), seed=0)
    net.fit(X, y, epochs=10, seed=0)
    params = {k: np.array(v) for k, v in net.params.items()}
    dead = [2, 5, 11]
    params["dense_0.weight"][dead] = 0.0
    params["dense_0.bias"][dead] = -1.0
    planted, _ = widen(Network(net.spec, params), "dense_0", 3, "net2wider", seed=4)
    w = np.asarray(planted.params["dense_0.weight"])
    live = [i for i in range(19) if w[i].any()]
    twins = [(i, j) for i in live for j in live if i < j and np.array_equal(w[i], w[j])]
    assert twins
    res = DYNO(eval_every=10).fit(planted, X, y, steps=40, seed=0)
    first = res.log.records[0]
    assert first.name == "narrow" and res.events[0]["kind"] == "prune"
    gone = set(range(19)) - set(first.args["keep"])
    dormant = {i for i in range(19) if not w[i].any()}
    # Dormant units go first, then one of a duplicated pair (never both, never a distinct unit).
    assert dormant <= gone and len(gone) > len(dormant)
    assert all(any(u in pair for pair in twins) for u in gone - dormant)
    assert not any(i in gone and j in gone for i, j in twins)


def test_dyno_never_prunes_a_dense_layer_below_the_class_count() -> None:
    X, y = _data(200)
    spec = Spec.mlp(8, [4], 3)
    params = {k: np.array(v) for k, v in Network.init(spec, seed=0).params.items()}
    params["dense_0.weight"][:] = 0.0
    params["dense_0.bias"][:] = -1.0  # every unit dormant: φ_ED = 0
    res = DYNO(eval_every=5).fit(Network(spec, params), X, y % 3, steps=10, seed=0)
    assert min(e["width"] for e in res.events) >= 3


def test_bad_configurations_are_typed() -> None:
    net = Network.init(Spec.mlp(8, [4], 2), seed=0)
    X, y = _data(40)
    with pytest.raises(ConfigError, match="unknown strategy"):
        Neurogenesis(strategy="bogus")
    with pytest.raises(ConfigError, match="needs target_width"):
        Neurogenesis(schedule="linear")
    with pytest.raises(ConfigError, match="below its width"):
        Neurogenesis(max_width=2).fit(net, X, y, epochs=1)
    with pytest.raises(ConfigError, match="not a growable hidden layer"):
        Neurogenesis(layers=["output"]).fit(net, X, y, epochs=1)
    with pytest.raises(ConfigError, match="buffer_factor"):
        DYNO(buffer_factor=1.0)
