"""Candidate evaluation on a Dask cluster: same results as in-process, data scattered once."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from neuroplast import ConfigError, Network, Spec, data
from neuroplast.cli import main
from neuroplast.search import (
    MCTS,
    Compress,
    CompressConfig,
    DaskExecutor,
    DataRef,
    EditStep,
    Job,
    MCTSConfig,
    Splits,
    TrainStep,
    _dask,
    evaluate,
    shared_data,
)
from neuroplast.search._dask import dask_runner
from neuroplast.testing import same_network

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def _jobs(data: DataRef, n: int = 4) -> list[Job]:
    net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    return [
        Job(
            net,
            (
                EditStep("widen", {"layer": "dense_0", "n_new": 1 + i, "method": "random"}),
                TrainStep(epochs=2, samples=40, batch_size=8, seed=i),
                EditStep("narrow", {"layer": "dense_0", "fraction": 0.5}, calibration=30),
                TrainStep(epochs=1, batch_size=8, seed=10 + i),
            ),
            data,
            capture=2,
            tag=i,
        )
        for i in range(n)
    ]


def _assert_equal(local, remote) -> None:
    for a, b in zip(local, remote, strict=True):
        assert (a.accuracy, a.loss, a.n_params, a.trace, a.records, a.tag) == (
            b.accuracy,
            b.loss,
            b.n_params,
            b.trace,
            b.records,
            b.tag,
        )
        assert same_network(a.network, b.network) and same_network(a.captured, b.captured)


def _shipments(client: Any) -> set[str]:
    return {k for k in client.who_has() if str(k).startswith("_Shipment")}


def _wait_released(client: Any, timeout: float = 10.0) -> set[str]:
    """Shipment keys still on the cluster once released (release is asynchronous)."""
    deadline = time.monotonic() + timeout
    while _shipments(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _shipments(client)


def test_results_equal_in_process_and_data_is_scattered_once(client, problem, monkeypatch):
    calls: list[int] = []
    scatter = client.scatter

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return scatter(*args, **kwargs)

    monkeypatch.setattr(client, "scatter", counting)
    with shared_data(*problem) as data, DaskExecutor(client) as ex:
        local = evaluate(_jobs(data))
        first = evaluate(_jobs(data), ex)
        second = evaluate(_jobs(data, 2), ex)
        assert ex.scattered == {data.key} and len(calls) == 1
        workers = client.who_has()[next(iter(_shipments(client)))]
        assert len(workers) == 2  # broadcast: every worker holds its own copy
    _assert_equal(local, first)
    _assert_equal(local[:2], second)
    assert ex.scattered == frozenset() and _wait_released(client) == set()


def test_get_executor_is_wrapped_and_scatters_once(client, problem) -> None:
    plain = client.get_executor()
    with shared_data(*problem) as data:
        local = evaluate(_jobs(data, 2))
        remote = evaluate(_jobs(data, 2), plain)
        again = evaluate(_jobs(data, 2), plain)
        runner = dask_runner(plain)
        assert runner is not None and runner.scattered == {data.key}
    assert runner.scattered == frozenset()
    _assert_equal(local, remote)
    _assert_equal(local, again)
    plain.shutdown()


def test_shutdown_releases_the_data_and_refuses_jobs(client, problem) -> None:
    with shared_data(*problem) as data:
        ex = DaskExecutor(client)
        evaluate(_jobs(data, 1), ex)
        assert _shipments(client)
        ex.shutdown()
        assert ex.scattered == frozenset() and _wait_released(client) == set()
        with pytest.raises(RuntimeError, match="shut down"):
            evaluate(_jobs(data, 1), ex)


def test_submit_and_map_work_like_an_executor(client) -> None:
    with DaskExecutor(client) as ex:
        assert ex.submit(pow, 2, 5).result() == 32
        assert list(ex.map(abs, [-1, 2, -3])) == [1, 2, 3]


def test_mcts_run_on_the_cluster_equals_in_process(client, monkeypatch) -> None:
    rng = np.random.default_rng(7)
    centers = rng.normal(scale=2.5, size=(3, 8))
    y = np.repeat(np.arange(3), 60)
    X = (centers[y] + rng.normal(size=(180, 8))).astype(np.float32)
    perm = rng.permutation(180)
    X, y = X[perm], y[perm].astype(np.int64)
    net = Network.init(Spec.mlp(8, [16, 12], 3), seed=0)
    net.fit(X[:120], y[:120], epochs=3, batch_size=16, seed=0)
    splits = Splits(X[:120], y[:120], X[120:], y[120:])
    mcts = MCTS(
        MCTSConfig.fast(
            generations=2, epochs=1, rollouts=6, parallel=2, batch_size=16, train_samples=48
        )
    )
    local = mcts.run(net, splits, seed=5, progress=False)
    with DaskExecutor(client) as ex:
        jobs: list[Job] = []
        run_jobs = ex.run_jobs
        monkeypatch.setattr(ex, "run_jobs", lambda js: jobs.extend(js) or run_jobs(js))
        remote = mcts.run(net, splits, seed=5, executor=ex, progress=False)
    assert len(jobs) >= 12  # every evaluation of the search went to the cluster
    assert local.actions == remote.actions and same_network(local.network, remote.network)
    assert local.after == remote.after and len(local.history) == 3


def test_compress_run_on_the_cluster_equals_in_process(client, monkeypatch) -> None:
    splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
    net = Network.init(Spec.mlp(64, [24], 10), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=5, seed=0)
    cfg = CompressConfig.fast(max_rounds=2, final_epochs=1, threads=1)
    local = Compress(cfg).run(net, splits, seed=1, progress=False)
    scattered: list[Any] = []
    scatter = client.scatter
    monkeypatch.setattr(client, "scatter", lambda d, **kw: scattered.extend(d) or scatter(d, **kw))
    with DaskExecutor(client) as ex:
        remote = Compress(cfg).run(net, splits, seed=1, executor=ex, progress=False)
    # One shipment for the whole run: the data with the teacher's logits.
    assert len(scattered) == 1 and scattered[0].teacher is not None
    assert same_network(local.network, remote.network) and local.history == remote.history
    assert _wait_released(client) == set()


def test_cli_scheduler_equals_in_process(client, capsys) -> None:
    tiny = ["optimize", "mcts", "--budget", "4", "--generations", "1", "--generation-epochs", "1"]
    tiny += ["--train-samples", "64", "--val-size", "50", "--parallel", "2", "--no-progress"]
    assert main([*tiny, "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([*tiny, "--json", "--scheduler", client.scheduler.address]) == 0
    remote = json.loads(capsys.readouterr().out)
    for key in ("n_params_after", "val_accuracy_after", "test_accuracy_after", "actions"):
        assert local[key] == remote[key], key


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mcts", "--dask-workers", "0"], "--dask-workers must be >= 1"),
        (["mcts", "--dask-workers", "2", "--workers", "2"], "give one of"),
        (["surgeon", "--dask-workers", "2", "--scheduler", "tcp://x:1"], "give one of"),
        (["asng", "--scheduler", "tcp://x:1"], "unrecognized arguments: --scheduler"),
        (["dyno", "--workers", "2"], "unrecognized arguments: --workers"),
        (["neurogenesis", "--dask-workers", "2"], "unrecognized arguments: --dask-workers"),
    ],
)
def test_cli_refuses_executor_options_that_do_not_apply(argv, message, capsys) -> None:
    try:
        code = main(["optimize", *argv, "--no-progress"])
    except SystemExit as exc:  # argparse's own refusal
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_without_dask_the_error_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(ConfigError, match=r'pip install "neuroplast\[dask\]"'):
        DaskExecutor(object())


def test_importing_neuroplast_does_not_import_dask() -> None:
    code = "import sys, neuroplast, neuroplast.search; "
    code += "print(sorted({'dask', 'distributed'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_docstring_examples_run() -> None:
    assert doctest.testmod(_dask).failed == 0
