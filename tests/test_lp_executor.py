"""The LPs of ``prune_hidden_lp`` and ``LPPrune`` as jobs on an executor: the same results."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import neuroplast
from neuroplast import Network, Spec, data
from neuroplast.cli import main
from neuroplast.lp import LPPrune, LPPruneConfig, optimize_perceptron, prune_hidden_lp
from neuroplast.optim import Adam
from neuroplast.search import Splits


@pytest.fixture(scope="module")
def digits() -> tuple[Network, Splits]:
    splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
    net = Network.init(Spec.mlp(64, [8], 10, "tanh"), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=5, optimizer=Adam(lr=3e-3), seed=0)
    return net, splits


@pytest.fixture(scope="module")
def pool() -> ProcessPoolExecutor:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as p:
        yield p  # type: ignore[misc]


def _same(a: object, b: object) -> None:
    for name in ("weights", "biases"):
        for u, v in zip(getattr(a, name), getattr(b, name), strict=True):
            assert np.asarray(u).tobytes() == np.asarray(v).tobytes()


def test_optimize_perceptron_jobs_equal_the_loop(pool: ProcessPoolExecutor) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    Y = np.sign(X @ rng.normal(size=(5, 3)))
    here = optimize_perceptron(X, Y)
    threads = neuroplast.get_num_threads()
    with ThreadPoolExecutor(2) as threaded:
        for executor in (pool, threaded):
            there = optimize_perceptron(X, Y, executor=executor)
            assert there.weights.tobytes() == here.weights.tobytes()
            assert there.biases.tobytes() == here.biases.tobytes()
            assert there.artificial.tobytes() == here.artificial.tobytes()
            assert (there.objective, there.nit) == (here.objective, here.nit)
    # Jobs in this process ran on one engine thread each and put the count back.
    assert neuroplast.get_num_threads() == threads


@pytest.mark.parametrize("reading", ["saturation", "real"])
def test_prune_and_controller_on_a_process_pool(
    digits: tuple[Network, Splits], pool: ProcessPoolExecutor, reading: str
) -> None:
    net, splits = digits
    X, y = splits.X_train[:60], splits.y_train[:60]
    here = prune_hidden_lp(net, X, y, hidden_activation=reading)  # type: ignore[arg-type]
    there = prune_hidden_lp(net, X, y, hidden_activation=reading, executor=pool)  # type: ignore[arg-type]
    assert here.report == there.report
    if reading == "saturation":
        _same(here.network, there.network)
    cfg = LPPruneConfig(hidden_activation=reading, samples=60, final_epochs=3)
    a = LPPrune(cfg).run(net, splits, seed=1, progress=False)
    b = LPPrune(cfg).run(net, splits, seed=1, executor=pool, progress=False)
    assert a.history == b.history and a.chosen_step == b.chosen_step
    for name, value in a.network.params.items():
        assert value.tobytes() == b.network.params[name].tobytes()


def test_cli_workers(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["optimize", "lp", "--dataset", "digits", "--hidden", "6", "--epochs", "2"]
    common = [*argv, "--samples", "40", "--hidden-activation", "saturation", "--json"]
    assert main([*common, "--no-progress"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert main([*common, "--no-progress", "--workers", "2"]) == 0
    pooled = json.loads(capsys.readouterr().out)
    for key in ("links_after", "units_after", "val_accuracy_after", "chosen_step"):
        assert alone[key] == pooled[key]
