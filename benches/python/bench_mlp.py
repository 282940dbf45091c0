"""MLP training throughput: neuroplast vs a plain float32 NumPy MLP (and PyTorch if installed).

Run from the repository root::

    python benches/python/bench_mlp.py --out bench_mlp.json     # full run (a few minutes)
    python benches/python/bench_mlp.py --quick                  # smoke run, tiny sizes (< 20 s)
    python benches/python/bench_mlp.py --wait-quiet 600 ...     # first wait for an idle machine

This file is the entry point; the code lives in the ``mlpbench`` package next to it (see its
``__init__``). The script orchestrates everything. The NumPy (and PyTorch) sides run in
persistent worker subprocesses (this script again, with ``--worker``), so that
``OPENBLAS_CORETYPE`` / ``OPENBLAS_NUM_THREADS`` are set before NumPy is imported;
neuroplast runs in the orchestrator. Timed samples of the implementations are
interleaved round-robin (rotating the order every round), so slow drifts of a shared machine
hit all of them alike.

House rules followed here:

* correctness is asserted before anything is timed: the in-process NumPy reference must match
  neuroplast after one epoch on a subset, and every worker re-checks its own BLAS / torch
  build against the neuroplast result before it accepts timing commands; the timed full
  epochs must also agree on the epoch loss;
* every ratio is between timings taken in the same run;
* the environment (CPU, thread counts, ``OPENBLAS_CORETYPE``, BLAS runtime config, SIMD
  level, neuroplast build) is recorded in the JSON output;
* there are no timing assertions: targets are reported as met / missed, never asserted.

Cases:

A. one epoch of a 64-100-10 MLP on ``digits`` (1437 train samples), batch 32 and 128, one
   thread everywhere (NumPy's OpenBLAS with the environment's ``OPENBLAS_CORETYPE``).
B. one epoch of a 784-1024-1024-10 MLP on 60 000 Fashion-MNIST samples (real data when
   installed, random otherwise), batch 256, two threads; NumPy with
   ``OPENBLAS_CORETYPE=Haswell`` and ``=SkylakeX`` (the latter needs AVX-512).

All implementations do the same math: ReLU hidden layers, softmax cross-entropy averaged over
the batch, plain SGD (no momentum, no weight decay), identical initial parameters and the same
sequential minibatch order (neuroplast with ``shuffle=False``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mlpbench.cases import case_a, case_b
from mlpbench.cli import common_args, start_run
from mlpbench.environment import record_end
from mlpbench.report import fmt_table, print_report, targets, write_json
from mlpbench.timing import cpu_busy_fraction
from mlpbench.worker import run_worker


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    common_args(ap, "tiny sizes, smoke run (< 20 s)")
    # internal: how the orchestrator starts a NumPy / PyTorch worker (see mlpbench.remote)
    ap.add_argument("--worker", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker:
        run_worker(args.worker, args.job)
        return

    import neuroplast as npl

    t_start = time.perf_counter()
    env, torch_version = start_run(npl, args)
    with tempfile.TemporaryDirectory(prefix="bench_mlp_") as tmp_name:
        tmp = Path(tmp_name)
        cases = [
            case_a(npl, args.quick, torch_version, tmp),
            case_b(npl, args.quick, torch_version, tmp),
        ]
    record_end(env, cpu_busy_fraction())
    table = fmt_table(cases)
    tgt = targets(cases)
    print_report(env, cases, table, tgt)
    print(f"\n(total {time.perf_counter() - t_start:.1f} s)")
    if args.out:
        write_json(args.out, env, cases, table, tgt)


if __name__ == "__main__":
    main()
