"""Convolution training steps: neuroplast vs a NumPy im2col convolution (and PyTorch if
installed), layer by layer.

Run from the repository root::

    python benches/python/bench_conv.py --out benches/results/bench_conv.json   # full run
    python benches/python/bench_conv.py --quick                                 # smoke run
    python benches/python/bench_conv.py --wait-quiet 600 ...     # first wait for an idle machine

The code lives in the ``convbench`` package next to this file (see its ``__init__``), and
reuses the timing and environment helpers of ``mlpbench``. Each thread count runs in its own
subprocess (this script with ``--child N``) so that the BLAS / OpenMP thread variables are set
before NumPy and PyTorch are imported. Correctness is asserted before anything is timed;
samples are interleaved round-robin and contended samples dropped (see ``mlpbench.timing``);
targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from convbench.orchestrate import run_threads as run_child_process
from convbench.report import emit, table, targets
from mlpbench.cli import common_args, start_run
from mlpbench.environment import record_end
from mlpbench.timing import cpu_busy_fraction


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    common_args(ap, "tiny layers, smoke run")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    return ap.parse_args()


def run_threads(n: int, args: argparse.Namespace) -> dict[str, Any]:
    extra = ["--quick"] * args.quick + ["--no-torch"] * args.no_torch
    return run_child_process(__file__, n, extra)


def main() -> None:
    args = parse_args()
    if args.child:
        from convbench.child import run_child

        run_child(args.child, args.quick, not args.no_torch)
        return

    import neuroplast as npl

    env, torch_version = start_run(npl, args)
    runs = [run_threads(int(n), args) for n in args.threads.split(",")]
    record_end(env, cpu_busy_fraction())
    print(
        f"torch: {torch_version or 'not installed'}; OPENBLAS_CORETYPE="
        f"{os.environ.get('OPENBLAS_CORETYPE')}; neuroplast simd {npl.simd_level()}"
    )
    emit(env, runs, [table(runs), *targets(runs)], args.out)


if __name__ == "__main__":
    main()
