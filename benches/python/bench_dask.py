"""An MCTS run on digits: in-process vs a 2-worker Dask ``LocalCluster`` (scale-out speed-up).

Run from the repository root (needs ``pip install "neuroplast[dask]"``)::

    python benches/python/bench_dask.py --out benches/results/bench_dask.json
    python benches/python/bench_dask.py --quick                     # smoke run

The start network is a 64-128-64-10 ReLU MLP trained for 20 epochs on the training part of
``neuroplast.data.load("digits", seed=0)``. The run is ``MCTSConfig.fast`` with a budget where
candidate evaluation dominates: ``--rollouts`` evaluations per decision, each training
``--train-epochs`` epochs on the whole training part, ``parallel=2`` submitted together, one
engine thread per evaluation. The same config runs in this process (``executor=None``: one
evaluation after the other) and on a ``LocalCluster(n_workers=2, threads_per_worker=1,
processes=True)`` through :class:`neuroplast.search.DaskExecutor`. Before anything is timed, one
untimed run of each must give the same network bit for bit (this also warms the workers up).
Every run has its own ``shared_data`` block, so every timed cluster run scatters its data once,
as a real run does; the cluster's start-up is not timed. Samples alternate between the two; the
median is reported with the share of the CPUs that other processes used right after each
sample (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import neuroplast
from mlpbench.environment import cpu_info, loadavg
from mlpbench.timing import cpu_busy_fraction
from neuroplast import Network, Spec, data
from neuroplast.optim import Adam
from neuroplast.search import MCTS, DaskExecutor, MCTSConfig, MCTSResult, Splits
from neuroplast.testing import same_network


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny budget, one sample: smoke run")
    ap.add_argument("--out", type=Path, default=None, help="write JSON results here")
    ap.add_argument("--repeats", type=int, default=3, help="timed samples per side")
    ap.add_argument("--rollouts", type=int, default=24, help="evaluations per decision")
    ap.add_argument("--generations", type=int, default=2, help="MCTS decisions")
    ap.add_argument("--train-epochs", type=int, default=10, help="epochs of each evaluation")
    return ap.parse_args()


def _problem() -> tuple[Network, Splits]:
    ds = data.load("digits", seed=0)
    splits = Splits.from_dataset(ds, val_fraction=0.2, seed=0)
    net = Network.init(Spec.mlp(64, [128, 64], 10), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=20, optimizer=Adam(lr=1e-3), seed=0)
    return net, splits


def _config(args: argparse.Namespace) -> MCTSConfig:
    return MCTSConfig.fast(
        generations=1 if args.quick else args.generations,
        rollouts=6 if args.quick else args.rollouts,
        parallel=2,
        threads=1,
        epochs=1,
        train_epochs=1 if args.quick else args.train_epochs,
        train_samples=None,  # every evaluation trains on the whole training part
        val_size=None,
        final_epochs=0,
    )


def _same(a: MCTSResult, b: MCTSResult) -> bool:
    return a.actions == b.actions and same_network(a.network, b.network)


def _timed(run: Any) -> tuple[float, float | None]:
    """Wall seconds of ``run()`` and the CPU share others used right after (None if unknown)."""
    t0 = time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    return seconds, cpu_busy_fraction(0.5)


def main() -> None:
    from distributed import Client, LocalCluster
    from distributed import __version__ as distributed_version

    args = parse_args()
    neuroplast.set_num_threads(1)  # the in-process side: the jobs' own thread count
    net, splits = _problem()
    cfg = _config(args)
    mcts = MCTS(cfg)
    env = {"cpu": cpu_info(), "loadavg_start": loadavg()}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
        DaskExecutor(client) as ex,
    ):

        def local() -> MCTSResult:
            return mcts.run(net, splits, seed=0, progress=False)

        def remote() -> MCTSResult:
            return mcts.run(net, splits, seed=0, executor=ex, progress=False)

        a, b = local(), remote()
        if not _same(a, b):
            raise SystemExit("the cluster's result differs from the in-process one")
        samples: dict[str, list[float]] = {"in_process": [], "dask_2_workers": []}
        busy: list[float] = []
        for i in range(1 if args.quick else args.repeats):
            order = [("in_process", local), ("dask_2_workers", remote)]
            for name, run in order if i % 2 == 0 else order[::-1]:
                seconds, other = _timed(run)
                samples[name].append(seconds)
                if other is not None:
                    busy.append(other)
    median = {k: statistics.median(v) for k, v in samples.items()}
    out = {
        "benchmark": "bench_dask",
        "what": "MCTS run on digits, in-process vs Dask LocalCluster(2 workers x 1 thread)",
        "config": {k: v for k, v in cfg.to_dict().items() if k != "actions"},
        "evaluations": sum(r["decision"]["rollouts"] for r in a.history if "decision" in r),
        "result": {"actions": a.actions, "n_params_after": a.network.n_params},
        "threads": {"engine_per_evaluation": cfg.threads, "in_process": 1, "dask_workers": 2},
        "seconds": samples,
        "median_seconds": median,
        "speedup": median["in_process"] / median["dask_2_workers"],
        "cpu_busy_after_samples": busy,
        "distributed": distributed_version,
        "environment": env | {"loadavg_end": loadavg()},
    }
    print(json.dumps({k: out[k] for k in ("median_seconds", "speedup", "evaluations")}, indent=1))
    print("CPU:", env["cpu"].get("model_name"), "| logical CPUs:", env["cpu"].get("logical_cpus"))
    if args.out is not None:
        args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":  # the cluster's worker processes re-import this file
    main()
