"""Cost of structure sampling: one ASNG epoch (batch 32, λ = 2) vs plain training (batch 64).

Run from the repository root::

    python benches/python/bench_asng.py --out benches/results/bench_asng.json
    python benches/python/bench_asng.py --quick            # smoke run

The paper compares ASNG at minibatch 32 with λ = 2 against fixed networks at minibatch 64
trained for twice the epochs: each ASNG update runs two forward/backward passes of 32 samples,
each plain update one of 64, so the same number of updates sees the same number of samples.
An ASNG epoch therefore does the work of **two** plain epochs at batch 64 (twice the updates,
twice the sample passes). The target (≤ 1.2×) is on equal work: ``t(ASNG epoch) / (2 ·
t(plain epoch))``, i.e. the overhead per update of sampling, masking, averaging the gradients
and updating θ; the raw per-epoch ratio is reported too.

Cases: A, the paper's unit-selection MLP 784-784-784-784-10 (d = 2352 unit bits) on 8192
Fashion-MNIST training images (random data of the same shape when the data set is missing);
B, ``Spec.densenet((1, 8, 8), 10)`` (d = 30 connection bits) on scikit-learn's digits.
Both use SGD with Nesterov momentum 0.9 and weight decay 1e-4, as the paper.

Before timing, each case checks that the engine's λ-averaged gradient equals the mean of
``Network.gradients`` under the same fixed masks (units; to 1e-6) and that one ASNG epoch
ends finite and moves θ. Samples alternate between the two trainings (round robin, order
rotated); the median of ``--repeats`` samples is reported with the thread count, the CPU and
the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

import neuroplast
from neuroplast import Network, Spec
from neuroplast.data import load
from neuroplast.errors import DataError
from neuroplast.optim import SGD
from neuroplast.search.asng import Settings, averaged_gradients, encode, train

TARGET = 1.2


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fashion(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        ds = load("fashion-mnist", seed=0)
        return ds.X_train[:n].reshape(n, -1), ds.y_train[:n], "fashion-mnist"
    except DataError:
        rng = np.random.default_rng(0)
        return rng.random((n, 784), np.float32), rng.integers(0, 10, n), "random 784"


def cases(quick: bool) -> list[dict[str, Any]]:
    n = 1024 if quick else 8192
    X, y, name = fashion(n)
    digits = load("digits", seed=0)
    Xd = digits.X_train.reshape(-1, 1, 8, 8)
    return [
        {
            "case": "A",
            "spec": Spec.mlp(784, [784] * 3, 10),
            "select": "units",
            "data": name,
            "X": X,
            "y": y,
            "lr": 0.01,
        },
        {
            "case": "B",
            "spec": Spec.densenet((1, 8, 8), 10),
            "select": "connections",
            "data": "digits",
            "X": Xd,
            "y": digits.y_train,
            "lr": 0.1,
        },
    ]


def check(case: dict[str, Any]) -> None:
    """Correctness before timing (see the module docstring)."""
    spec, X, y = case["spec"], case["X"], case["y"]
    net = Network.init(spec, seed=0)
    if case["select"] == "units":
        enc = encode(spec, "units")
        M = np.random.default_rng(0).random((2, enc.d)) < 0.5
        _, grads = averaged_gradients(net, enc, M, X[:32], y[:32])
        singles = []
        for m in M:
            masks = {g: m[i].astype(np.float32) for g, i in enc.groups.items()}
            singles.append(net.gradients(X[:32], y[:32], masks=masks)[1])
        for k, g in grads.items():
            want = (singles[0][k] + singles[1][k]) / 2
            assert np.allclose(g, want, rtol=1e-6, atol=1e-8), k
    enc = encode(spec, case["select"])
    s = Settings(2, 1 / enc.d, 2.0**-6, enc.costs("weights"))
    opt = SGD(lr=case["lr"], momentum=0.9, nesterov=True, weight_decay=1e-4)
    small = slice(0, 256)
    out, theta, _ = train(
        net,
        enc,
        np.full(enc.d, 0.5),
        X[small],
        y[small],
        settings=s,
        optimizer=opt,
        epochs=1,
        batch_size=32,
        seed=0,
    )
    assert all(np.isfinite(v).all() for v in out.params.values())
    assert np.any(theta != 0.5)


def time_case(case: dict[str, Any], repeats: int) -> dict[str, Any]:
    spec, X, y = case["spec"], case["X"], case["y"]
    enc = encode(spec, case["select"])
    s = Settings(2, 1 / enc.d, 2.0**-6, enc.costs("weights"))
    opt = SGD(lr=case["lr"], momentum=0.9, nesterov=True, weight_decay=1e-4)
    net = Network.init(spec, seed=0)

    def asng() -> None:
        train(
            net,
            enc,
            np.full(enc.d, 0.5),
            X,
            y,
            settings=s,
            optimizer=opt,
            epochs=1,
            batch_size=32,
            seed=0,
        )

    def plain() -> None:
        net.copy().fit(X, y, epochs=1, batch_size=64, optimizer=opt, seed=0)

    runs: dict[str, list[float]] = {"asng": [], "plain": []}
    fns = {"asng": asng, "plain": plain}
    asng(), plain()  # warm up
    for r in range(repeats):
        for name in ["asng", "plain"] if r % 2 == 0 else ["plain", "asng"]:
            t = time.perf_counter()
            fns[name]()
            runs[name].append(time.perf_counter() - t)
    ta, tp = statistics.median(runs["asng"]), statistics.median(runs["plain"])
    return {
        "case": case["case"],
        "network": f"{case['select']} on {spec.n_params} parameters, d = {enc.d}",
        "data": f"{case['data']}, {X.shape[0]} samples",
        "asng_epoch_s": ta,
        "plain_epoch_s": tp,
        "ratio_epoch": ta / tp,
        "ratio_equal_work": ta / (2 * tp),
        "target_equal_work": TARGET,
        "samples": runs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data, one repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    neuroplast.set_num_threads(args.threads)
    env = {
        "cpu": cpu_model(),
        "threads": neuroplast.get_num_threads(),
        "simd": neuroplast.simd_level() if hasattr(neuroplast, "simd_level") else None,
        "loadavg_start": os.getloadavg(),
        "python": platform.python_version(),
        "neuroplast": neuroplast.__version__,
    }
    rows = []
    for case in cases(args.quick):
        check(case)
        rows.append(time_case(case, 1 if args.quick else args.repeats))
        r = rows[-1]
        print(
            f"{r['case']}: {r['network']}; {r['data']}: ASNG epoch {r['asng_epoch_s']:.3f} s, "
            f"plain epoch {r['plain_epoch_s']:.3f} s; per epoch {r['ratio_epoch']:.2f}x, "
            f"equal work {r['ratio_equal_work']:.2f}x (target <= {TARGET})"
        )
    env["loadavg_end"] = os.getloadavg()
    print(f"threads {env['threads']}, CPU {env['cpu']}, load {env['loadavg_start']}")
    if args.out:
        args.out.write_text(json.dumps({"environment": env, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
