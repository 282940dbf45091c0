"""Growth curves: training throughput over layer size, neuroplast vs NumPy (and PyTorch).

Run from the repository root::

    python benches/python/bench_growth.py --out benches/results/bench_growth.json  # ~10 min
    python benches/python/bench_growth.py --quick                                  # < 30 s

Two grids, each at every thread count of ``--threads`` (default 1 and 2):

* **dense**: one SGD step of ``width → dense(width) + ReLU → dense(10)`` with mean softmax
  cross-entropy, for width 64 … 4096 × batch 1 … 1024; neuroplast (``Network.fit`` over an
  epoch of a few steps, ``shuffle=False``; ``mlpbench.local.Local``), the plain float32 NumPy
  MLP of ``mlpbench.reference`` and idiomatic PyTorch (``mlpbench.worker.torch_impl``:
  ``nn.Linear`` + autograd + ``optim.SGD``);
* **conv**: one SGD step of a 3×3 'same' convolution c → c on 16×16 inputs, batch 32, for
  c = 8 … 256, through ``convbench`` (neuroplast, the NumPy im2col reference, PyTorch's
  convolution kernels).

Each thread count runs in its own process (``--child N``, started by
``convbench.orchestrate.run_threads``) with ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` set before NumPy and PyTorch are imported. Per cell: correctness is
asserted first (parameters after one or two steps within ``mlpbench.reference``'s
tolerances, convolution outputs and gradients within ``convbench.impls.GRAD_TOL``), then
timed samples are interleaved round-robin without waiting for an idle machine
(``convbench.impls.interleave``: every sample is kept with the CPU share other processes
used meanwhile), then the timed epochs' losses must agree. No timing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from convbench.child import child_setup, measure_layer
from convbench.impls import Sampler, interleave
from convbench.layers import Layer
from convbench.orchestrate import run_threads
from convbench.report import emit
from mlpbench.cli import common_args, start_run
from mlpbench.environment import blas_limits, record_end
from mlpbench.local import Local, correctness_reference
from mlpbench.reference import LOSS_RTOL, param_dict, train_flops
from mlpbench.timing import cpu_busy_fraction
from mlpbench.worker import check_against_neuroplast, numpy_impl, torch_impl

CLASSES, LR = 10, 0.05
GRID = {  # full run, and --quick
    False: {"widths": (64, 256, 1024, 4096), "batches": (1, 8, 32, 128, 1024)}
    | {"channels": (8, 32, 64, 128, 256), "size": 16, "conv_batch": 32}
    | {"sample_s": 0.25, "repeats": 5, "gap_s": 0.1},
    True: {"widths": (32, 128), "batches": (1, 16)}
    | {"channels": (4, 8), "size": 8, "conv_batch": 8}
    | {"sample_s": 0.02, "repeats": 2, "gap_s": 0.0},
}
EPOCH_FLOPS = 2e9  # an "epoch" (one fit() call, one timed unit) does about this much work
BIG_STEP_FLOPS = 4e9  # steps above this: 3 repeats and fewer steps per epoch (fits ~10 min)
HUGE_STEP_FLOPS = 20e9  # steps above this: one step per epoch


def dense_steps(width: int, step_flops: float) -> int:
    """Steps per epoch: at least 4 (2 or 1 for the largest steps) so that the fixed cost of a
    fit() call (~0.15 s at width 4096) is spread out; weight traffic counts as 32 FLOPs per
    weight, so memory-bound small batches at width 4096 do not get dozens of steps."""
    low = 1 if step_flops > HUGE_STEP_FLOPS else 2 if step_flops > BIG_STEP_FLOPS else 4
    return int(min(64, max(low, EPOCH_FLOPS // (step_flops + 32 * width * width))))


def conv_steps(step_flops: float) -> int:
    return int(min(8, max(1, EPOCH_FLOPS // step_flops)))


def repeats_for(grid: dict[str, Any], step_flops: float) -> int:
    return min(grid["repeats"], 3) if step_flops > BIG_STEP_FLOPS else int(grid["repeats"])


class Steps(Sampler):
    """An epoch of a NumPy / PyTorch ``run(model, x, y, batch)`` from ``mlpbench.worker``."""

    def __init__(self, fresh: Any, run: Any, x: np.ndarray, y: np.ndarray, batch: int) -> None:
        self.fresh, self.run, self.x, self.y, self.batch = fresh, run, x, y, batch

    def setup(self) -> Any:
        return self.fresh()

    def body(self, state: Any) -> float:
        return float(self.run(state, self.x, self.y, self.batch))


def per_step(
    res: dict[str, dict[str, Any]], steps: int, batch: int, flops: float
) -> dict[str, Any]:
    """Per-step times, GFLOP/s, samples/s and neuroplast's speed-ups from epoch samples."""
    ours = res["neuroplast"]["median_s"]
    for r in res.values():
        r["median_step_s"], r["min_step_s"] = r["median_s"] / steps, r["min_s"] / steps
        r["gflops"] = flops / r["median_step_s"] / 1e9
        r["samples_per_s"] = batch / r["median_step_s"]
        r["neuroplast_speedup"] = r["median_s"] / ours
    losses = [r["loss"] for r in res.values()]
    assert max(losses) - min(losses) <= LOSS_RTOL * max(abs(v) for v in losses), losses
    return res


def dense_cell(
    npl: Any, width: int, batch: int, threads: int, torch_ok: bool, grid: dict[str, Any]
) -> dict[str, Any]:
    dims = [width, width, CLASSES]
    flops = train_flops(dims, batch)
    steps = dense_steps(width, flops)
    rng = np.random.default_rng(0)
    x = rng.random((steps * batch, width), dtype=np.float32)
    y = rng.integers(0, CLASSES, steps * batch).astype(np.int64)
    spec = npl.Spec.mlp(width, [width], CLASSES)
    init = {k: np.array(v) for k, v in npl.Network.init(spec, seed=0).params.items()}
    xc, yc = x[: batch * min(steps, 2)], y[: batch * min(steps, 2)]
    refs, check = correctness_reference(npl, spec, init, xc, yc, [batch], LR, len(dims) - 1)
    job = {"batches": [batch], "xc": xc, "yc": yc} | refs
    impls: dict[str, Any] = {"NumPy": (*numpy_impl(init, len(dims) - 1, LR), param_dict)}
    if torch_ok:
        impls["PyTorch"] = torch_impl(init, len(dims) - 1, LR, threads, {})
    local = Local(npl, spec, init, x, y, LR)
    samplers: dict[str, Any] = {"neuroplast": local}
    for label, fns in impls.items():
        err = check_against_neuroplast(label, job, init, fns)
        if err is None:
            raise SystemExit(f"{label} disagrees with neuroplast (width {width}, batch {batch})")
        check[label] = err
        samplers[label] = Steps(fns[0], fns[1], x, y, batch)
    repeats = repeats_for(grid, flops)
    res = interleave(samplers, repeats, grid["sample_s"], grid["gap_s"], batch)
    return {
        "width": width,
        "batch": batch,
        "dims": dims,
        "flops_per_step": flops,
        "steps_per_epoch": steps,
        "repeats": repeats,
        "fit_call_overhead_s": local.fit_overhead_s[batch],
        "neuroplast_step_s_without_fit_call": (
            res["neuroplast"]["median_s"] - local.fit_overhead_s[batch]
        )
        / steps,
        "check": check,
        "results": per_step(res, steps, batch, flops),
    }


def conv_cell(npl: Any, channels: int, torch_ok: bool, grid: dict[str, Any]) -> dict[str, Any]:
    size, batch = grid["size"], grid["conv_batch"]
    layer = Layer(f"3x3 {channels}->{channels} {size}x{size}", channels, channels, size, 3, 1)
    layer = Layer(**{**layer.__dict__, "batch": batch})
    steps = conv_steps(layer.flops())
    reps = repeats_for(grid, layer.flops())
    out = measure_layer(npl, layer, steps, reps, grid["sample_s"], grid["gap_s"], torch_ok)
    per_step(out["results"], steps, batch, layer.flops())
    return out | {"channels": channels, "batch": batch, "size": size, "repeats": reps}


def run_child(threads: int, quick: bool, use_torch: bool, only: str | None) -> None:
    import json

    import neuroplast as npl

    grid = GRID[quick]
    out = child_setup(npl, threads, use_torch) | {"gemm_isa": npl.gemm_isa(), "grid": grid}
    torch_ok = out["torch"] is not None
    out["dense"], out["conv"] = [], []
    with blas_limits(threads):
        for w in grid["widths"] if only != "conv" else ():
            for b in grid["batches"]:
                print(f"[{threads} thr] dense width {w} batch {b}", file=sys.stderr, flush=True)
                out["dense"].append(dense_cell(npl, w, b, threads, torch_ok, grid))
        for c in grid["channels"] if only != "dense" else ():
            print(f"[{threads} thr] conv {c} channels", file=sys.stderr, flush=True)
            out["conv"].append(conv_cell(npl, c, torch_ok, grid))
    print("RESULT " + json.dumps(out), flush=True)


def _ratio(res: dict[str, Any], label: str) -> str:
    return f"{res[label]['neuroplast_speedup']:.2f}x" if label in res else "—"


def _gflops(res: dict[str, Any], label: str) -> str:
    return f"{res[label]['gflops']:.1f}" if label in res else "—"


def _share(res: dict[str, Any]) -> str:
    shares = [r["others_cpu_share_median"] for r in res.values()]
    known = [s for s in shares if s is not None]
    return f"{100 * max(known):.0f}%" if known else "?"


def _row(run: dict[str, Any], cell: dict[str, Any], numpy_label: str) -> str:
    res, ours = cell["results"], cell["results"]["neuroplast"]
    return (
        f"| {run['threads']} | {1e3 * ours['median_step_s']:.4g} | {ours['gflops']:.1f} "
        f"| {ours['samples_per_s']:,.0f} | {_gflops(res, numpy_label)} "
        f"| {_gflops(res, 'PyTorch')} | {_ratio(res, numpy_label)} | {_ratio(res, 'PyTorch')} "
        f"| {_share(res)} |"
    )


def tables(runs: list[dict[str, Any]]) -> list[str]:
    """Markdown tables: dense cells, then conv cells, one row per cell and thread count."""
    cols = (
        "| Threads | neuroplast ms/step | neuroplast GFLOP/s | neuroplast samples/s "
        "| NumPy GFLOP/s | PyTorch GFLOP/s | vs NumPy | vs PyTorch | Others' CPU |"
    )
    dense = ["| Width | Batch | Steps per fit() | fit() fixed ms " + cols, "|---" * 13 + "|"]
    conv = ["| 3x3 conv, channels | Input | Batch " + cols, "|---" * 12 + "|"]
    for run in runs:
        dense += [
            f"| {c['width']} | {c['batch']} | {c['steps_per_epoch']} "
            f"| {1e3 * c['fit_call_overhead_s']:.2f} " + _row(run, c, "NumPy")
            for c in run["dense"]
        ]
        conv += [
            f"| {c['channels']} | {c['size']}x{c['size']} | {c['batch']} "
            + _row(run, c, "NumPy im2col")
            for c in run["conv"]
        ]
    return [*dense, "", *conv]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    common_args(ap, "tiny grid, smoke run (< 30 s)")
    ap.add_argument("--threads", help="comma-separated thread counts (default 1,2; --quick: 1)")
    ap.add_argument("--only", choices=("dense", "conv"), help="run one of the two grids")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    args.threads = args.threads or ("1" if args.quick else "1,2")
    if args.child:
        run_child(args.child, args.quick, not args.no_torch, args.only)
        return

    import neuroplast as npl

    t0 = time.perf_counter()
    env, torch_version = start_run(npl, args)
    extra = ["--quick"] * args.quick + ["--no-torch"] * args.no_torch
    extra += ["--only", args.only] if args.only else []
    runs = [run_threads(__file__, int(n), extra) for n in args.threads.split(",")]
    record_end(env, cpu_busy_fraction())
    env["wall_s"] = time.perf_counter() - t0
    cpu = env["cpu"]
    print(
        f"CPU {cpu.get('model_name')} (family {cpu.get('family')} model {cpu.get('model')}), "
        f"{cpu.get('logical_cpus')} logical CPUs; neuroplast gemm_isa={env['neuroplast_gemm_isa']}"
        f" simd_level={env['neuroplast_simd_level']}; NumPy {env['numpy']} "
        f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE_env']}; torch {torch_version}; "
        f"threads {args.threads}; CPUs busy at start "
        f"{env['cpu_busy_fraction_at_start'] or 0.0:.0%}; {env['wall_s']:.0f} s"
    )
    emit(env, runs, tables(runs), args.out)


if __name__ == "__main__":
    main()
