from __future__ import annotations

import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

from neuroplast import ConfigError, DataError, Network, Spec
from neuroplast.morph import EditLog, narrow, widen
from neuroplast.search import DataRef, EditStep, Job, TrainStep, evaluate, run_job, shared_data
from neuroplast.search._shared import _REGISTRY, _SPILLED, calibration_rows
from neuroplast.testing import same_network


def _jobs(data: DataRef, n: int = 4) -> list[Job]:
    net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    jobs = []
    for i in range(n):
        steps = (
            EditStep("widen", {"layer": "dense_0", "n_new": 1 + i, "method": "zero_fanout"}),
            TrainStep(epochs=2, samples=40, batch_size=8, seed=i),
            EditStep("narrow", {"layer": "dense_0", "fraction": 0.5, "method": "quasi_identity"}),
            TrainStep(epochs=1, batch_size=8, seed=10 + i),
        )
        jobs.append(Job(net, steps, data, capture=2, tag=i))
    return jobs


def test_in_process_results_follow_the_path(problem) -> None:
    with shared_data(*problem) as data:
        results = evaluate(_jobs(data))
    assert [r.tag for r in results] == [0, 1, 2, 3]
    for i, r in enumerate(results):
        assert r.error is None
        assert r.captured is not None and r.captured.spec.widths["dense_0"] == 7 + i
        assert r.network is not None and r.network.n_params == r.n_params
        assert r.network.spec.widths["dense_0"] == round((7 + i) / 2 + 1e-9) or r.n_params > 0
        assert len(r.trace) == 2 and r.trace[-1] == (r.accuracy, r.n_params)
        assert [d["name"] for d in r.records] == ["widen", "narrow"]
        # The records replay the edits of the path bit-for-bit (no training in between here).
        log = EditLog.from_json(__import__("json").dumps(list(r.records)))
        assert len(log) == 2


def test_process_pool_equals_in_process(problem) -> None:
    ctx = multiprocessing.get_context("spawn")
    with shared_data(*problem) as data:
        local = evaluate(_jobs(data))
        with ProcessPoolExecutor(2, mp_context=ctx) as pool:
            remote = evaluate(_jobs(data), executor=pool)
        path = _SPILLED[data.key]
        assert os.path.isdir(path)
    assert not os.path.exists(path) and data.key not in _REGISTRY
    for a, b in zip(local, remote, strict=True):
        assert (a.accuracy, a.loss, a.n_params, a.trace) == (
            b.accuracy,
            b.loss,
            b.n_params,
            b.trace,
        )
        assert same_network(a.network, b.network) and same_network(a.captured, b.captured)


def test_thread_pool_uses_the_registry(problem) -> None:
    with shared_data(*problem) as data, ThreadPoolExecutor(1) as pool:
        local = evaluate(_jobs(data, 2))
        threaded = evaluate(_jobs(data, 2), executor=pool)
        assert data.key not in _SPILLED
    assert [r.accuracy for r in local] == [r.accuracy for r in threaded]


def test_jobs_pickle_small(problem) -> None:
    with shared_data(*problem) as data:
        job = _jobs(data, 1)[0]
        assert len(pickle.dumps(job)) < 4000  # the network, not the data


def test_a_failing_edit_is_reported_not_raised(problem) -> None:
    net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    with shared_data(*problem) as data:
        [res] = evaluate([Job(net, (EditStep("shallow", {"layer": "output"}),), data)])
    assert res.error is not None and "InvalidMorphismError" in res.error
    assert np.isnan(res.accuracy) and res.network is None


def test_edit_step_from_record_replays(problem) -> None:
    net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    wide, rec = widen(net, "dense_0", 3, "random", seed=4)
    with shared_data(*problem) as data:
        res = run_job(Job(net, (EditStep.from_record(rec.to_dict()),), data))
    assert res.network is not None and same_network(res.network, wide)


def test_callable_step_by_name_and_calibration(problem) -> None:
    net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    step = EditStep("neuroplast.morph:narrow", {"layer": "dense_0", "keep": 3}, calibration=30)
    with shared_data(*problem) as data:
        res = run_job(Job(net, (step,), data))
    assert res.error is None and res.records[0]["args"]["keep"] != 3  # chosen indices recorded
    assert res.records[0]["distortion"] is not None


def test_unregistered_data_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        DataRef("nope").arrays()
    with pytest.raises(ConfigError):
        net = Network.init(Spec.mlp(4, [6], 3), seed=0)
        run_job(Job(net, (EditStep("no_such_edit"),), DataRef("nope")))


def _distilling_job(data: DataRef, samples: int | None) -> Job:
    net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    step = TrainStep(epochs=2, samples=samples, batch_size=8, seed=3, temperature=2.0, alpha=0.7)
    return Job(net, (step,), data)


@pytest.mark.parametrize("samples", [None, 40])
def test_a_distilling_train_step_fits_on_the_registered_teacher_logits(problem, samples) -> None:
    X, y = problem[0], problem[1]
    teacher = np.random.default_rng(1).normal(size=(len(X), 3)).astype(np.float32)
    with shared_data(*problem, teacher=teacher) as data:
        res = run_job(_distilling_job(data, samples))
    rows = np.arange(len(X))
    if samples is not None:  # the same seeded subset as the training rows
        rows = np.sort(np.random.default_rng(3).choice(len(X), samples, replace=False))
    direct = Network.init(Spec.mlp(4, [6], 3), seed=0)
    direct.fit(X[rows], y[rows], epochs=2, batch_size=8, seed=3, teacher=teacher[rows],
               temperature=2.0, alpha=0.7)  # fmt: skip
    assert res.error is None and same_network(res.network, direct)


def test_teacher_logits_reach_process_workers(problem) -> None:
    teacher = np.random.default_rng(1).normal(size=(len(problem[0]), 3)).astype(np.float32)
    ctx = multiprocessing.get_context("spawn")
    with shared_data(*problem, teacher=teacher) as data:
        local = evaluate([_distilling_job(data, None)])
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            remote = evaluate([_distilling_job(data, None)], executor=pool)
    assert same_network(local[0].network, remote[0].network)


def test_teacher_logits_are_checked_and_required(problem) -> None:
    bad = shared_data(*problem, teacher=np.zeros((3, 3)))
    with pytest.raises(DataError, match="one row per training sample"), bad:
        pass
    with shared_data(*problem) as data:
        assert not data.teacher
        with pytest.raises(ConfigError, match="teacher"):
            run_job(_distilling_job(data, None))


def test_seeded_calibration_rows(problem) -> None:
    net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    args = {"layer": "dense_0", "keep": 3, "select": "low_energy"}
    step = EditStep("narrow", args, calibration=20, calibration_seed=5)
    rows = calibration_rows(len(problem[0]), 20, seed=5)
    assert rows is not None and len(rows) == 20 and np.all(np.diff(rows) > 0)
    with shared_data(*problem) as data:
        res = run_job(Job(net, (step,), data))
    want, _ = narrow(net, "dense_0", 3, select="low_energy", calibration=problem[0][rows])
    assert same_network(res.network, want)
    assert calibration_rows(60, 60, seed=5) is None  # all rows, in order


_SEEN: list[int] = []


def _blas_probe(net: Network) -> tuple[Network, None]:
    """An edit that applies nothing and notes the BLAS thread counts it ran under."""
    _SEEN.extend(int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas")
    return net, None


@pytest.mark.parametrize("threads", [1, 2])
def test_a_job_runs_numpy_blas_on_its_own_thread_count(problem, threads) -> None:
    _SEEN.clear()
    net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    with shared_data(*problem) as data:
        res = run_job(Job(net, (EditStep(f"{__name__}:_blas_probe"),), data, threads=threads))
    assert res.error is None
    if not _SEEN:
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl")
    assert max(_SEEN) <= threads


def test_concurrent_jobs_restore_the_blas_thread_count(problem) -> None:
    def blas() -> list[int]:
        return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas()
    with shared_data(*problem) as data, ThreadPoolExecutor(2) as pool:
        results = evaluate([replace(j, threads=1) for j in _jobs(data, 6)], executor=pool)
    assert all(r.error is None for r in results)
    assert blas() == before
