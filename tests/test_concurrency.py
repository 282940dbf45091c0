"""Concurrency (issue 19): fit on one network from two threads, inference during fit, two
processes saving one path while a third loads it, two processes on one run folder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.search import RunFolder

ROOT = Path(__file__).resolve().parent.parent


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 8)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def test_two_threads_fitting_one_network_are_serialized() -> None:
    X, y = _data()
    start = npl.Network.init(npl.Spec.mlp(8, [32], 2), seed=0)
    sequential = start.copy()
    for _ in range(2):
        sequential.fit(X, y, epochs=3, seed=1)
    for _ in range(3):
        shared = start.copy()
        threads = [
            threading.Thread(target=shared.fit, args=(X, y), kwargs={"epochs": 3, "seed": 1})
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        state = shared.optimizer_state
        assert state is not None and state.step == sequential.optimizer_state.step  # type: ignore[union-attr]
        for k, v in sequential.params.items():
            assert np.array_equal(shared.params[k], v), k


def test_fit_from_its_own_callback_is_refused() -> None:
    X, y = _data()
    net = npl.Network.init(npl.Spec.mlp(8, [4], 2), seed=0)
    with pytest.raises(npl.ConfigError, match="inside its own fit"):
        net.fit(X, y, epochs=1, callback=lambda rec: net.fit(X, y, epochs=1))


def test_inference_during_fit_sees_old_or_new_parameters() -> None:
    X, y = _data()
    net = npl.Network.init(npl.Spec.mlp(8, [64, 64], 2), seed=0)
    before = net.forward(X)
    after_net = net.copy()
    after_net.fit(X, y, epochs=40, batch_size=8, seed=0)
    after = after_net.forward(X)
    seen: list[np.ndarray] = []
    worker = threading.Thread(target=net.fit, args=(X, y), kwargs={"epochs": 40, "batch_size": 8})
    worker.start()
    while worker.is_alive():
        seen.append(net.forward(X))
    worker.join()
    seen.append(net.forward(X))
    assert all(np.array_equal(s, before) or np.array_equal(s, after) for s in seen)
    assert np.array_equal(seen[-1], after)


_SAVER = """
import sys, time
import numpy as np
import neuroplast as npl
path, seed, stop = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
net = npl.Network.init(npl.Spec.mlp(16, [256], 4), seed=seed)
n = 0
while time.time() < stop or n < 5:
    net.save(path)
    n += 1
print(n)
"""

_LOADER = """
import sys, time
import numpy as np
import neuroplast as npl
path, stop = sys.argv[1], float(sys.argv[2])
want = [npl.Network.init(npl.Spec.mlp(16, [256], 4), seed=s).params for s in (1, 2)]
n = 0
while time.time() < stop or n < 5:
    got = npl.Network.load(path).params  # any error fails the test
    assert any(all(np.array_equal(got[k], w[k]) for k in w) for w in want), "torn or mixed file"
    n += 1
print(n)
"""


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_save_one_path_while_a_third_loads_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.npl"
    npl.Network.init(npl.Spec.mlp(16, [256], 4), seed=1).save(path)
    stop = str(time.time() + 4.0)  # the imports overlap; every process runs >= 5 rounds
    procs = [
        _python(_SAVER, str(path), "1", stop),
        _python(_SAVER, str(path), "2", stop),
        _python(_LOADER, str(path), stop),
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-3000:]
        assert int(out.split()[-1]) >= 5
    assert sorted(q.name for q in tmp_path.iterdir()) == ["shared.npl"]  # no temporaries


_HOLDER = """
import sys, time
from pathlib import Path
from neuroplast.search import RunFolder
folder = RunFolder.open(sys.argv[1], resume=True, overwrite=False)
Path(sys.argv[2]).write_text("locked")
time.sleep(float(sys.argv[3]))
print("done")
"""


def test_two_processes_cannot_use_one_run_folder(tmp_path: Path) -> None:
    run, flag = tmp_path / "run", tmp_path / "flag"
    holder = _python(_HOLDER, str(run), str(flag), "30")
    try:
        deadline = time.time() + 60
        while not flag.exists():
            assert holder.poll() is None and time.time() < deadline, holder.communicate()[1]
            time.sleep(0.05)
        with pytest.raises(npl.ConfigError, match="in use by another process"):
            RunFolder.open(run, resume=True, overwrite=False)
        with pytest.raises(npl.ConfigError, match="in use by another process"):
            RunFolder.open(run, resume=False, overwrite=True)
        assert run.is_dir()  # overwrite did not delete the other process's run
    finally:
        holder.kill()
        holder.communicate()
    # Killed (as by kill -9): the lock went with the process.
    first = RunFolder.open(run, resume=True, overwrite=False)
    again = RunFolder.open(run, resume=True, overwrite=False)  # same process: shared
    assert first.path == again.path


def test_networks_still_pickle_and_copy() -> None:
    import copy
    import pickle

    X, y = _data()
    net = npl.Network.init(npl.Spec.mlp(8, [4], 2), seed=0)
    net.fit(X, y, epochs=1)
    for other in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net), copy.copy(net)):
        assert np.array_equal(other.forward(X), net.forward(X))
        other.fit(X, y, epochs=1)  # its own lock
