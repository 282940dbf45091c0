"""The benchmark cases, each run end to end: correctness first, then interleaved timing.

A. one epoch of a 64-100-10 MLP on ``digits`` (1437 train samples), batch 32 and 128, one
   thread everywhere (NumPy's OpenBLAS with the environment's ``OPENBLAS_CORETYPE``).
B. one epoch of a 784-1024-1024-10 MLP on 60 000 Fashion-MNIST samples (real data when
   installed, random otherwise), batch 256, two threads; NumPy with
   ``OPENBLAS_CORETYPE=Haswell`` and ``=SkylakeX`` (the latter needs AVX-512).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .local import Local, correctness_reference
from .reference import GEMM_LIMIT_GFLOPS, LOSS_RTOL, train_flops
from .remote import Remote, WorkerError, WorkerSpec, worker_specs
from .timing import GAP_S, interleave


def _start_workers(
    case: dict[str, Any],
    workers: list[WorkerSpec],
    job_path: Path,
    tmp: Path,
    samplers: dict[str, Any],
    impl_of: dict[str, str],
) -> None:
    """Adds the workers that pass their correctness check to ``samplers`` and ``impl_of``."""
    name = case["name"]
    for impl, label, env in workers:
        print(f"[{name}] starting {label} worker (correctness check) ...", file=sys.stderr)
        try:
            w = Remote(impl, env, job_path, tmp / f"{label.replace(' ', '_')}.log")
        except WorkerError as exc:
            print(f"[{name}] {label} FAILED: {str(exc)[:300]}", file=sys.stderr)
            case["workers"][label] = {"error": str(exc), "env_override": env}
            continue
        case["workers"][label] = {k: w.ready[k] for k in ("env", "blas", "check")}
        samplers[label], impl_of[label] = w, impl


def _time_all(
    case: dict[str, Any], samplers: dict[str, Any], impl_of: dict[str, str], run: dict[str, Any]
) -> None:
    """Interleaved timing at every batch size, then the NumPy workers' sgemm peak."""
    name, gemm_size, sample_s = case["name"], run["gemm_size"], run["sample_s"]
    for b in case["batches"]:
        print(f"[{name}] timing batch {b}: {', '.join(samplers)} ...", file=sys.stderr)
        gap_s = GAP_S if sample_s >= 0.1 else 0.02
        res = interleave(samplers, b, run["repeats"], sample_s, gap_s)
        for label, r in res.items():
            case["results"].append({"impl": impl_of[label], "label": label, "batch": b} | r)
    for label, s in samplers.items():
        if impl_of[label] == "numpy" and gemm_size > 0:
            peak = s.call(cmd="sgemm", size=gemm_size)["gflops"]
            case["workers"][label] |= {"sgemm_peak_gflops": peak, "sgemm_size": gemm_size}


def _derive(case: dict[str, Any], fit_overhead_s: dict[int, float]) -> None:
    """Speed-ups measured in this run, GFLOP/s, loss agreement of the full epochs."""
    flops = case["train_flops_per_epoch"]
    for r in case["results"]:
        npl_r = next(
            q for q in case["results"] if q["impl"] == "neuroplast" and q["batch"] == r["batch"]
        )
        r["gflops"] = flops / r["median_s"] / 1e9
        r["pct_of_430"] = 100.0 * r["gflops"] / GEMM_LIMIT_GFLOPS
        r["neuroplast_speedup"] = r["median_s"] / npl_r["median_s"]
        r["loss_rel_diff_vs_neuroplast"] = abs(r["loss"] - npl_r["loss"]) / abs(npl_r["loss"])
        if r["impl"] == "neuroplast":
            r["fit_call_overhead_s"] = fit_overhead_s[r["batch"]]
        assert r["loss_rel_diff_vs_neuroplast"] <= LOSS_RTOL, (
            f"{r['label']} full-epoch loss {r['loss']} != neuroplast {npl_r['loss']}"
        )


def run_case(
    npl: Any,
    name: str,
    dims: list[int],
    x: np.ndarray,
    y: np.ndarray,
    n_check: int,
    batches: list[int],
    threads: int,
    lr: float,
    repeats: int,
    workers: list[WorkerSpec],
    gemm_size: int,
    sample_s: float,
    tmp: Path,
) -> dict[str, Any]:
    n_layers = len(dims) - 1
    spec = npl.Spec.mlp(dims[0], dims[1:-1], dims[-1])
    init = {k: np.array(v) for k, v in npl.Network.init(spec, seed=0).params.items()}
    xc, yc = x[:n_check], y[:n_check]
    npl.set_num_threads(threads)
    print(f"[{name}] correctness check on {n_check} samples ...", file=sys.stderr)
    refs, check = correctness_reference(npl, spec, init, xc, yc, batches, lr, n_layers)
    job_path = tmp / f"job_{name.split()[0]}.npz"
    job = {"n_layers": n_layers, "threads": threads, "lr": lr, "batches": np.array(batches)}
    job |= {"x": x, "y": y, "xc": xc, "yc": yc} | {f"init:{k}": v for k, v in init.items()}
    np.savez(job_path, **job, **refs)
    case: dict[str, Any] = {
        "name": name,
        "dims": dims,
        "n_samples": int(x.shape[0]),
        "threads": threads,
        "lr": lr,
        "batches": batches,
        "train_flops_per_epoch": train_flops(dims, x.shape[0]),
        "check_numpy_inprocess": check,
        "workers": {},
        "results": [],
    }
    local = Local(npl, spec, init, x, y, lr)
    samplers: dict[str, Any] = {"neuroplast": local}
    impl_of = {"neuroplast": "neuroplast"}
    try:
        _start_workers(case, workers, job_path, tmp, samplers, impl_of)
        run = {"repeats": repeats, "gemm_size": gemm_size, "sample_s": sample_s}
        _time_all(case, samplers, impl_of, run)
    finally:
        for s in samplers.values():
            if isinstance(s, Remote):
                s.close()
    _derive(case, local.fit_overhead_s)
    return case


def sample_seconds(quick: bool) -> float:
    """Minimum duration of one timed sample."""
    return 0.02 if quick else 0.5


def load_case_a(npl: Any) -> tuple[np.ndarray, np.ndarray, str]:
    ds = npl.data.load("digits", seed=0)
    return ds.X_train.astype(np.float32), ds.y_train.astype(np.int64), "digits (train split)"


def load_case_b(npl: Any, quick: bool, n: int, n_in: int) -> tuple[np.ndarray, np.ndarray, str]:
    if not quick:
        try:
            ds = npl.data.load("fashion-mnist", seed=0)
            x = np.ascontiguousarray(ds.X_train[:n], dtype=np.float32)
            return x, ds.y_train[:n].astype(np.int64), "fashion-mnist (real train images)"
        except Exception as exc:
            print(f"fashion-mnist unavailable ({exc}); using random data", file=sys.stderr)
    rng = np.random.default_rng(0)
    x = rng.random((n, n_in), dtype=np.float32)
    return x, rng.integers(0, 10, n).astype(np.int64), "random float32 in [0, 1)"


def case_a(npl: Any, quick: bool, torch_version: str | None, tmp: Path) -> dict[str, Any]:
    """Case A: digits 64-100-10, single thread, NumPy with the environment's coretype."""
    default_core = os.environ.get("OPENBLAS_CORETYPE")
    x, y, src_a = load_case_a(npl)
    case = run_case(
        npl,
        "A digits 64-100-10",
        [64, 100, 10],
        x,
        y,
        n_check=256,
        batches=[32, 128],
        threads=1,
        lr=0.1,
        repeats=3 if quick else 9,
        workers=worker_specs(
            1,
            [("NumPy", {"OPENBLAS_CORETYPE": default_core} if default_core else {})],
            torch_version,
        ),
        gemm_size=0,
        sample_s=sample_seconds(quick),
        tmp=tmp,
    )
    return case | {"key": "A", "data": src_a}


def case_b(npl: Any, quick: bool, torch_version: str | None, tmp: Path) -> dict[str, Any]:
    """Case B: 784-1024-1024-10 (quick: 784-128-128-10 on 2048 samples), 2 threads."""
    hidden = [128, 128] if quick else [1024, 1024]
    x, y, src_b = load_case_b(npl, quick, 2048 if quick else 60_000, 784)
    case = run_case(
        npl,
        "B " + "-".join(map(str, [784, *hidden, 10])),
        [784, *hidden, 10],
        x,
        y,
        n_check=512 if quick else 1024,
        batches=[256],
        threads=2,
        lr=0.05,
        repeats=2 if quick else 5,
        workers=worker_specs(
            2,
            [
                ("NumPy Haswell", {"OPENBLAS_CORETYPE": "Haswell"}),
                ("NumPy SkylakeX", {"OPENBLAS_CORETYPE": "SkylakeX"}),
            ],
            torch_version,
        ),
        gemm_size=512 if quick else 2048,
        sample_s=sample_seconds(quick),
        tmp=tmp,
    )
    return case | {"key": "B", "data": src_b}
