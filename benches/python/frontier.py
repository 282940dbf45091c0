"""Every controller against the static frontier (``neuroplast.frontier``'s protocol).

Run from the repository root::

    python benches/python/frontier.py --dataset digits
    python benches/python/frontier.py --npz my_data.npz      # arrays X (n×d) and y (labels)
    python benches/python/frontier.py --dataset fashion-mnist --subsample 10000
    python benches/python/frontier.py --dataset fashion-mnist --subsample 10000 --model cnn

Trains the static sweep (3 seeds), then runs every controller at its default (``fast``
preset) for each seed: the pruning controllers (MCTS phase 2, Surgeon, DYNO, LP) start from a
128-unit MLP trained by the protocol; Neurogenesis grows from 8 units; ``compress`` (default
settings, ``max_drop=0.01``) starts from a 256-256 MLP trained by the protocol. Prints a table
(params, test accuracy, Δ to the frontier, seconds, time relative to the whole static sweep) and
writes
``benches/results/frontier_<name>.json`` and ``.png``.

``--model cnn`` (image data: a data set with an image shape, or an ``--npz`` whose ``X`` is
``(n, C, H, W)``) sweeps CNNs of conv channels ``c``-``2c`` instead (``STATIC_CNN_CHANNELS``);
the pruning controllers then start from the 16-32 CNN, ``compress`` from the 32-64 one, and
Neurogenesis grows from 2-4; results go to ``frontier_<name>_cnn.json`` / ``.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import neuroplast
from mlpbench.environment import cpu_info
from neuroplast import Network, NeuroplastError, Spec, data
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


#: Start widths per model kind: (pruning controllers, ``compress``, Neurogenesis' seed).
STARTS = {"mlp": ((128,), (256, 256), (8,)), "cnn": ((16, 32), (32, 64), (2, 4))}


def _method(name: str, shape: tuple[int, ...] | None) -> Method:
    prune, big, seed_net = STARTS["mlp" if shape is None else "cnn"]

    def run(splits: Splits, seed: int) -> Network:
        if name == "neurogenesis":
            n_classes = int(splits.y_train.max()) + 1
            spec = (
                Spec.mlp(splits.X_train.shape[1], list(seed_net), n_classes)
                if shape is None
                else Spec.cnn(shape, list(seed_net), n_classes)
            )
            start = Network.init(spec, seed=seed)
        else:
            start = train_static(
                big if name == "compress" else prune, splits, seed, input_shape=shape
            )
        return _controller(name).run(start, splits, seed=seed, progress=False).network

    return run


METHODS = ("mcts", "surgeon", "neurogenesis", "dyno", "lp", "compress")


def _load(args: argparse.Namespace) -> tuple[Splits, tuple[int, ...] | None]:
    """The protocol's splits (flattened rows) and, for ``--model cnn``, the image shape."""
    if args.npz:
        with np.load(args.npz) as f:
            X, y, name = f["X"], f["y"], Path(args.npz).stem
        image = tuple(X.shape[1:]) if X.ndim == 4 else None
    else:
        ds = data.load(args.dataset, seed=0)
        X = np.concatenate([ds.X_train, ds.X_test])
        y = np.concatenate([ds.y_train, ds.y_test])
        name, image = ds.name, ds.image_shape
    if args.model == "cnn" and (image is None or len(image) != 3):
        raise SystemExit("--model cnn needs images: a data set with an image shape or X (n,C,H,W)")
    if args.subsample and args.subsample < len(y):
        idx = np.random.default_rng(0).choice(len(y), args.subsample, replace=False)
        X, y = X[np.sort(idx)], y[np.sort(idx)]
    shape = tuple(int(v) for v in image) if args.model == "cnn" and image else None
    name = name + ("_cnn" if shape else "")
    return prepare(X.reshape(len(X), -1), y, name=name), shape


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", default="digits", choices=data.available())
    src.add_argument("--npz", help="a .npz file with arrays X (n×d) and y (integer labels)")
    p.add_argument("--subsample", type=int, help="use this many samples (seeded)")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="static sweep kind")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the other methods' rows of an existing result file (rerun some methods)",
    )
    args = p.parse_args()
    splits, shape = _load(args)
    t0 = time.perf_counter()
    sweep = static_sweep(splits, args.seeds, progress=print, input_shape=shape)
    sweep_seconds = time.perf_counter() - t0
    frontier = Frontier.from_points(sweep)
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for name in args.methods:
        runs = []
        for seed in args.seeds:
            t = time.perf_counter()
            try:
                net = _method(name, shape)(splits, seed)
            except NeuroplastError as exc:  # one failed seed must not lose the others
                error = f"{type(exc).__name__}: {exc}"
                failures.append({"method": name, "seed": seed, "error": error})
                print(f"{name} seed {seed} failed: {error}", flush=True)
                continue
            acc = float(net.evaluate(splits.X_test, splits.y_test)["accuracy"])
            runs.append(
                {
                    "seed": seed,
                    "n_params": net.n_params,
                    "test_accuracy": acc,
                    "delta": frontier.delta(net.n_params, acc),
                    "seconds": time.perf_counter() - t,
                }
            )
        if runs:
            rows.append(_row(name, runs, sweep_seconds))
            r = rows[-1]
            print(f"{name:<14} {r['n_params']:>10.0f} {r['test_accuracy']:.4f} Δ {r['delta']:+.4f}")
        # Written after every method, so a long run that is stopped keeps what it finished.
        _write(splits.name, sweep, rows, failures, frontier, sweep_seconds, args)


def _row(name: str, runs: list[dict[str, Any]], sweep_seconds: float) -> dict[str, Any]:
    """Means over the seeds that finished (listed in ``seeds``), and every seed's figures."""

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in runs]))

    return {
        "method": name,
        "n_params": mean("n_params"),
        "test_accuracy": mean("test_accuracy"),
        "delta": mean("delta"),
        "delta_min": float(min(r["delta"] for r in runs)),
        "seconds": mean("seconds"),
        "relative_time": mean("seconds") / sweep_seconds,
        "seeds": [r["seed"] for r in runs],
        "per_seed": runs,
    }


def _write(
    name: str,
    sweep: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    frontier: Frontier,
    sweep_seconds: float,
    args: argparse.Namespace,
) -> None:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"frontier_{name}.json"
    if args.merge and path.exists():
        old = json.loads(path.read_text())

        def points(rs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
            return [(r["method"], r["n_params"], r["test_accuracy"]) for r in rs]

        if old["seeds"] != args.seeds or points(old["sweep"]) != points(sweep):
            raise SystemExit(f"--merge: {path} was made with other seeds or another sweep")
        rerun = set(args.methods)
        rows = [r for r in old["methods"] if r["method"] not in rerun] + rows
        failures = [f for f in old.get("failures", []) if f["method"] not in rerun] + failures
    out = {
        "dataset": name,
        "seeds": args.seeds,
        "sweep": sweep,
        "sweep_seconds": sweep_seconds,
        "methods": rows,
        "failures": failures,
        "subsample": args.subsample,
        "machine": {**cpu_info(), "threads": neuroplast.get_num_threads()},
    }
    path.write_text(json.dumps(out, indent=1))
    print("\n| method | params | test accuracy | Δ (min) | seconds | × sweep time |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        seeds = "" if len(r["seeds"]) == len(args.seeds) else f", {len(r['seeds'])} seeds"
        print(
            f"| {r['method']} | {r['n_params']:.0f} | {r['test_accuracy']:.4f} | "
            f"{r['delta']:+.4f} ({r['delta_min']:+.4f}{seeds}) | {r['seconds']:.1f} | "
            f"{r['relative_time']:.2f} |"
        )
    for f in failures:
        print(f"failed: {f['method']} seed {f['seed']}: {f['error']}")
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
