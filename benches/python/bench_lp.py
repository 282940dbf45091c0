"""The L1 perceptron LP of seed 004: neuroplast's solver vs SciPy's HiGHS.

One output, ``T`` samples x ``n`` features, in the equality form of
:func:`neuroplast.lp.build_perceptron_lp` (``T`` rows, ``2n + 2 + 2T`` columns). Labels come
from a random hyperplane (separable) or the same with 10 % of them flipped (non-separable).

Every solver's optimum is checked against the first HiGHS optimum (relative 1e-7) before it
is timed; a disagreement aborts the run. HiGHS gets the matrix in CSR form (built before the
clock starts), neuroplast the dense array it takes. Reports the median wall time of
``--repeat`` runs per solver.

The data case (``--prune-samples``, default 350) is the workload of a user report: the 42
LPs ``prune_hidden_lp`` solves for a 64-32-10 tanh MLP trained on digits (30 epochs, Adam
3e-3, seed 0): 10 output LPs on the saturated hidden values and 32 first-layer LPs, each
checked against HiGHS and solved once per solver (the sums are reported).

    python benches/python/bench_lp.py --out benches/results/bench_lp.json
    python benches/python/bench_lp.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
import scipy.optimize
import scipy.sparse

import neuroplast
from neuroplast.lp import linprog
from neuroplast.lp.perceptron import DEFAULT_BIG_M, build_perceptron_lp

REL_TOL = 1e-7


def problem(T: int, n: int, flip: float, seed: int = 0) -> tuple[Any, Any, Any]:
    """The equality-form LP of one perceptron on random data."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, n))
    w, b = rng.normal(size=n), rng.normal()
    y = np.where(X @ w + b >= 0, 1.0, -1.0)
    flipped = rng.random(T) < flip
    y[flipped] = -y[flipped]
    return build_perceptron_lp(X, y, big_m=DEFAULT_BIG_M)


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _solvers(c: Any, A: Any, b: Any, time_limit: float) -> dict[str, Callable[[], Any]]:
    A_csr = scipy.sparse.csr_array(A)

    def highs(method: str) -> Callable[[], Any]:
        opts = {"time_limit": time_limit}
        return lambda: scipy.optimize.linprog(
            c, A_eq=A_csr, b_eq=b, bounds=(0, None), method=method, options=opts
        )

    def ours(method: str) -> Callable[[], Any]:
        return lambda: linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method=method)

    return {
        "scipy highs-ipm": highs("highs-ipm"),
        "scipy highs-ds": highs("highs-ds"),
        "neuroplast ipm": ours("ipm"),
        "neuroplast auto": ours("auto"),
    }


def run_case(T: int, n: int, flip: float, repeat: int, time_limit: float) -> dict[str, Any]:
    """Checks and times every solver on one problem."""
    c, A, b = problem(T, n, flip)
    case: dict[str, Any] = {"T": T, "n": n, "flip": flip, "rows": A.shape[0], "cols": A.shape[1]}
    ref: float | None = None
    results: dict[str, Any] = {}
    for name, solve in _solvers(c, A, b, time_limit).items():
        # The first solve is the correctness check; its time counts only when repeat == 1
        # (the large case, where a second HiGHS run would cost minutes).
        t0 = time.perf_counter()
        res = solve()
        times = [time.perf_counter() - t0]
        entry: dict[str, Any] = {"status": int(res.status), "nit": int(res.nit)}
        if res.status == 0:
            fun = float(res.fun)
            ref = fun if ref is None else ref
            entry["fun"] = fun
            entry["rel_diff"] = abs(fun - ref) / max(1.0, abs(ref))
            entry["agrees"] = entry["rel_diff"] <= REL_TOL
            if not entry["agrees"]:
                raise SystemExit(f"{name}: optimum {fun!r} differs from {ref!r}")
            if repeat > 1:
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    solve()
                    times.append(time.perf_counter() - t0)
        else:
            entry["message"] = str(res.message)
        entry["seconds"] = statistics.median(times)
        entry["times"] = times
        results[name] = entry
        print(f"  {name:18s} status={entry['status']} {entry['seconds']:9.3f} s", flush=True)
    case["solvers"] = results
    return case


def prune_case(samples: int, seed: int = 0) -> dict[str, Any]:
    """Times every solver on the LPs of ``prune_hidden_lp`` for a trained digits MLP."""
    from neuroplast import Network, Spec, data
    from neuroplast.lp.networks import PerceptronNetwork
    from neuroplast.optim import Adam

    ds = data.load("digits", seed=0)
    net = Network.init(Spec.mlp(64, [32], 10, "tanh"), seed)
    net.fit(ds.X_train, ds.y_train, epochs=30, optimizer=Adam(lr=3e-3), seed=seed)
    X = np.asarray(ds.X_train[:samples], dtype=np.float64)
    H = PerceptronNetwork.from_network(net).layer_values(X)[0]
    Y = np.where(np.eye(10)[ds.y_train[:samples]] > 0, 1.0, -1.0)
    lps = [build_perceptron_lp(H, Y[:, j]) for j in range(10)]
    lps += [build_perceptron_lp(X, H[:, k]) for k in range(H.shape[1])]
    totals: dict[str, float] = {}
    worst: dict[str, float] = {}
    for c, A, b in lps:
        ref: float | None = None
        for name, solve in _solvers(c, A, b, 600.0).items():
            t0 = time.perf_counter()
            res = solve()
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0
            if res.status != 0:
                raise SystemExit(f"{name}: status {res.status} on a data LP")
            ref = float(res.fun) if ref is None else ref
            rel = abs(float(res.fun) - ref) / max(1.0, abs(ref))
            worst[name] = max(worst.get(name, 0.0), rel)
            if rel > REL_TOL:
                raise SystemExit(f"{name}: optimum {res.fun!r} differs from {ref!r}")
    for name, secs in totals.items():
        print(f"  {name:18s} {secs:9.3f} s over {len(lps)} LPs", flush=True)
    return {"samples": samples, "lps": len(lps), "seconds": totals, "worst_rel_diff": worst}


def environment() -> dict[str, Any]:
    """Thread counts, BLAS settings and versions."""
    return {
        "cpu": _cpu(),
        "cpus": os.cpu_count(),
        "neuroplast": neuroplast.__version__,
        "neuroplast_threads": neuroplast.get_num_threads(),
        "simd_level": neuroplast.simd_level(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def table(cases: list[dict[str, Any]]) -> str:
    """Markdown table: one row per case and solver, speed-up vs the faster HiGHS."""
    lines = [
        "| T x n | labels | solver | status | iterations | seconds | optimum agrees "
        "| speed-up vs faster HiGHS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        s = case["solvers"]
        highs = [v["seconds"] for k, v in s.items() if k.startswith("scipy") and v["status"] == 0]
        best = min(highs) if highs else float("nan")
        kind = "separable" if case["flip"] == 0 else f"{case['flip']:.0%} flipped"
        for name, v in s.items():
            agrees = "yes" if v.get("agrees") else ("no" if "agrees" in v else "-")
            lines.append(
                f"| {case['T']} x {case['n']} | {kind} | {name} | {v['status']} | {v['nit']} "
                f"| {v['seconds']:.3f} | {agrees} | {best / v['seconds']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--time-limit", type=float, default=600.0, help="HiGHS time limit, s")
    p.add_argument("--out", help="write the results as JSON to this file")
    p.add_argument("--prune-samples", type=int, default=350, help="0 skips the data case")
    args = p.parse_args()
    sizes = [(200, 100)] if args.quick else [(500, 250), (2000, 1000)]
    cases = []
    for T, n in sizes:
        for flip in (0.0, 0.1):
            print(f"T={T} n={n} flip={flip}", flush=True)
            repeat = 1 if T >= 2000 else args.repeat
            cases.append(run_case(T, n, flip, repeat, args.time_limit))
    out: dict[str, Any] = {"environment": environment(), "cases": cases}
    md = table(cases)
    print(md)
    if args.prune_samples > 0:
        print(f"prune_hidden_lp LPs, digits 64-32-10 tanh, {args.prune_samples} samples")
        out["prune"] = prune_case(args.prune_samples)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({**out, "table": md}, fh, indent=1)


if __name__ == "__main__":
    main()
