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
from pathlib import Path
from typing import Any

from convbench.orchestrate import run_threads as run_child_process
from convbench.report import emit, table, targets
from mlpbench.environment import record_end, record_environment, torch_available
from mlpbench.timing import cpu_busy_fraction, wait_quiet


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny layers, smoke run")
    ap.add_argument("--out", type=Path, default=None, help="write JSON results here")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="first wait up to S seconds for other processes to leave the CPUs idle",
    )
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

    busy = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else cpu_busy_fraction()
    torch_version = None if args.no_torch else torch_available()
    env = record_environment(npl, args.quick, torch_version, busy)
    runs = [run_threads(int(n), args) for n in args.threads.split(",")]
    record_end(env, cpu_busy_fraction())
    print(
        f"torch: {torch_version or 'not installed'}; OPENBLAS_CORETYPE="
        f"{os.environ.get('OPENBLAS_CORETYPE')}; neuroplast simd {npl.simd_level()}"
    )
    emit(env, runs, [table(runs), *targets(runs)], args.out)


if __name__ == "__main__":
    main()
