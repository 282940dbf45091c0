"""Every controller against the static frontier (``neuroplast.frontier``'s protocol).

Run from the repository root::

    python benches/python/frontier.py --dataset digits
    python benches/python/frontier.py --npz my_data.npz      # arrays X (n×d) and y (labels)
    python benches/python/frontier.py --dataset fashion-mnist --subsample 10000

Trains the static sweep (3 seeds), then runs every controller at its default (``fast``
preset) for each seed: the pruning controllers (MCTS phase 2, Surgeon, DYNO, LP) start from a
128-unit MLP trained by the protocol; Neurogenesis grows from 8 units; ``compress`` (default
settings, ``max_drop=0.01``) starts from a 256-256 MLP trained by the protocol. Prints a table
(params, test accuracy, Δ to the frontier, seconds, time relative to the whole static sweep) and
writes
``benches/results/frontier_<name>.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import neuroplast
from neuroplast import Network, Spec, data
from neuroplast.frontier import Frontier, prepare, static_sweep, train_static
from neuroplast.search import Splits

RESULTS = Path(__file__).resolve().parents[1] / "results"

Method = Callable[[Splits, int], Network]


def _controller(name: str) -> Any:
    from neuroplast import lp, search

    table = {
        "mcts": (search.MCTS, search.MCTSConfig),
        "surgeon": (search.Surgeon, search.SurgeonConfig),
        "neurogenesis": (search.Neurogenesis, search.NeurogenesisConfig),
        "dyno": (search.DYNO, search.DYNOConfig),
        "lp": (lp.LPPrune, lp.LPPruneConfig),
        "compress": (search.Compress, search.CompressConfig),
    }
    cls, cfg = table[name]
    # compress has no paper: its default (paper) preset is the library default.
    return cls(cfg.paper() if name == "compress" else cfg.fast())


def _method(name: str) -> Method:
    def run(splits: Splits, seed: int) -> Network:
        if name == "neurogenesis":
            n_classes = int(splits.y_train.max()) + 1
            start = Network.init(Spec.mlp(splits.X_train.shape[1], [8], n_classes), seed=seed)
        elif name == "compress":
            start = train_static((256, 256), splits, seed)
        else:
            start = train_static((128,), splits, seed)
        return _controller(name).run(start, splits, seed=seed, progress=False).network

    return run


METHODS = ("mcts", "surgeon", "neurogenesis", "dyno", "lp", "compress")


def _load(args: argparse.Namespace) -> Splits:
    if args.npz:
        with np.load(args.npz) as f:
            X, y, name = f["X"], f["y"], Path(args.npz).stem
    else:
        ds = data.load(args.dataset, seed=0)
        X = np.concatenate([ds.X_train, ds.X_test])
        y = np.concatenate([ds.y_train, ds.y_test])
        name = ds.name
    if args.subsample and args.subsample < len(y):
        idx = np.random.default_rng(0).choice(len(y), args.subsample, replace=False)
        X, y = X[np.sort(idx)], y[np.sort(idx)]
    return prepare(X.reshape(len(X), -1), y, name=name)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", default="digits", choices=data.available())
    src.add_argument("--npz", help="a .npz file with arrays X (n×d) and y (integer labels)")
    p.add_argument("--subsample", type=int, help="use this many samples (seeded)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = p.parse_args()
    splits = _load(args)
    t0 = time.perf_counter()
    sweep = static_sweep(splits, args.seeds, progress=print)
    sweep_seconds = time.perf_counter() - t0
    frontier = Frontier.from_points(sweep)
    rows = []
    for name in args.methods:
        accs, params, secs = [], [], []
        for seed in args.seeds:
            t = time.perf_counter()
            net = _method(name)(splits, seed)
            secs.append(time.perf_counter() - t)
            accs.append(net.evaluate(splits.X_test, splits.y_test)["accuracy"])
            params.append(net.n_params)
        deltas = [frontier.delta(n, a) for n, a in zip(params, accs, strict=True)]
        rows.append(
            {
                "method": name,
                "n_params": float(np.mean(params)),
                "test_accuracy": float(np.mean(accs)),
                "delta": float(np.mean(deltas)),
                "delta_min": float(np.min(deltas)),
                "seconds": float(np.mean(secs)),
                "relative_time": float(np.mean(secs)) / sweep_seconds,
            }
        )
        r = rows[-1]
        print(f"{name:<14} {r['n_params']:>10.0f} {r['test_accuracy']:.4f} Δ {r['delta']:+.4f}")
    _write(splits.name, sweep, rows, frontier, sweep_seconds, args)


def _write(
    name: str,
    sweep: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    frontier: Frontier,
    sweep_seconds: float,
    args: argparse.Namespace,
) -> None:
    RESULTS.mkdir(exist_ok=True)
    out = {
        "dataset": name,
        "seeds": args.seeds,
        "sweep": sweep,
        "sweep_seconds": sweep_seconds,
        "methods": rows,
        "machine": {"cpu": platform.processor(), "threads": neuroplast.get_num_threads()},
    }
    (RESULTS / f"frontier_{name}.json").write_text(json.dumps(out, indent=1))
    print("\n| method | params | test accuracy | Δ (min) | seconds | × sweep time |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['method']} | {r['n_params']:.0f} | {r['test_accuracy']:.4f} | "
            f"{r['delta']:+.4f} ({r['delta_min']:+.4f}) | {r['seconds']:.1f} | "
            f"{r['relative_time']:.2f} |"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = np.exp(frontier.log_params)
    ax.plot(xs, frontier.accuracy, "-", color="black", label="static frontier")
    ax.scatter([r["n_params"] for r in sweep], [r["test_accuracy"] for r in sweep], c="grey", s=12)
    for r in rows:
        ax.scatter(r["n_params"], r["test_accuracy"], s=40, label=r["method"])
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test accuracy (mean of seeds)")
    ax.set_title(f"{name}: methods vs the static frontier")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / f"frontier_{name}.png", dpi=110)


if __name__ == "__main__":
    main()
