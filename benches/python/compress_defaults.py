"""How ``compress``'s (or LP pruning's) settings move its result against the static frontier.

Run from the repository root, after ``frontier.py`` has written the frontiers::

    python benches/python/compress_defaults.py                       # all variants, 4 sets
    python benches/python/compress_defaults.py --variants default long_final --datasets digits
    python benches/python/compress_defaults.py --variants default --workers 2   # 2 processes
    python benches/python/compress_defaults.py --controller lp --out benches/results/lp.json

``--controller lp`` runs :class:`~neuroplast.lp.LPPrune` instead, from a trained 128-unit MLP
(the start ``frontier.py`` gives the pruning controllers), with the variants of ``LP_VARIANTS``.

For each data set (the frontier protocol's splits; Fashion-MNIST subsampled to 10 000 images as
in ``frontier.py``) and seed, a 256-256 MLP is trained by the protocol once (cached under
``--cache``), then ``Compress`` runs with each variant of ``CompressConfig`` (the library
defaults plus the listed overrides). Δ is the test accuracy minus the static frontier stored in
``benches/results/frontier_<name>.json`` at the result's parameter count. Prints one row per
(variant, data set) — mean parameters, test accuracy, Δ and its worst seed, seconds — and the
mean Δ over data sets per variant, and writes ``benches/results/compress_defaults.json``
(``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from neuroplast import Network, data
from neuroplast.frontier import Frontier, prepare, train_static
from neuroplast.lp import LPPrune, LPPruneConfig
from neuroplast.search import Compress, CompressConfig, Splits

RESULTS = Path(__file__).resolve().parents[1] / "results"
DATASETS = ("digits", "synthetic", "mnist1d", "fashion-mnist")
# Overrides of the library defaults (``default`` = CompressConfig() as shipped).
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "final30": {"final_epochs": 30, "patience": 5},
    "no_distill": {"distill": False},
    "no_factorize": {"factorize": False},
    "T2": {"temperature": 2.0},
    "T8": {"temperature": 8.0},
    "alpha0.9": {"alpha": 0.9},
    "tune1": {"tune_epochs": 1},
    "tune3": {"tune_epochs": 3},
    "step0.15": {"step": 0.15},
    "step0.35": {"step": 0.35},
    "grow1.5": {"step_growth": 1.5},
    # One engine thread per candidate, as on an executor: the same networks as --workers N.
    "threads1": {"threads": 1},
}
# Overrides of LPPruneConfig() for --controller lp: the reading of the hidden layer, with and
# without the final fine-tune, which trains every weight or only the LP's links.
LP_VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "saturation": {"hidden_activation": "saturation", "final_epochs": 0},
    "saturation_ft": {"hidden_activation": "saturation", "final_epochs": 60},
    "saturation_ft_keep": {
        "hidden_activation": "saturation",
        "final_epochs": 60,
        "keep_links": True,
    },
    "real": {"hidden_activation": "real", "final_epochs": 0},
    "real_ft": {"hidden_activation": "real", "final_epochs": 60},
    "real_ft_keep": {"hidden_activation": "real", "final_epochs": 60, "keep_links": True},
}
#: Start widths per controller.
STARTS = {"compress": (256, 256), "lp": (128,)}


def splits_for(name: str) -> Splits:
    ds = data.load(name, seed=0)
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    if name == "fashion-mnist":  # as frontier.py --subsample 10000
        idx = np.sort(np.random.default_rng(0).choice(len(y), 10000, replace=False))
        X, y = X[idx], y[idx]
    return prepare(X.reshape(len(X), -1), y, name=name)


def start_network(
    name: str, splits: Splits, seed: int, cache: Path, widths: tuple[int, ...] = (256, 256)
) -> Network:
    path = cache / f"{name}-{'-'.join(map(str, widths))}-seed{seed}.npl"
    if path.exists():
        return Network.load(path)
    net = train_static(widths, splits, seed)
    cache.mkdir(parents=True, exist_ok=True)
    net.save(path)
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    ap.add_argument("--controller", choices=tuple(STARTS), default="compress")
    ap.add_argument("--variants", nargs="+", choices=sorted({*VARIANTS, *LP_VARIANTS}))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--cache", type=Path, default=Path(".cache/compress_defaults"))
    ap.add_argument("--out", type=Path, default=RESULTS / "compress_defaults.json")
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="evaluate candidates on this many worker processes (one engine thread each; "
        "0: in this process, default threads)",
    )
    args = ap.parse_args()
    table = LP_VARIANTS if args.controller == "lp" else VARIANTS
    args.variants = args.variants or list(table)
    if unknown := set(args.variants) - set(table):
        ap.error(f"no {args.controller} variants {sorted(unknown)}")
    with contextlib.ExitStack() as stack:
        pool = None
        if args.workers > 0:
            spawn = multiprocessing.get_context("spawn")  # no fork of a threaded process
            pool = stack.enter_context(ProcessPoolExecutor(args.workers, mp_context=spawn))
        rows = run(args, pool)
    print("\nmean Δ over data sets:")
    for variant in args.variants:
        means = [_mean(rows, name, variant, "delta") for name in args.datasets]
        print(f"  {variant:<12} {statistics.mean(means):+.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": rows}, indent=1))


def run(args: argparse.Namespace, pool: ProcessPoolExecutor | None) -> list[dict[str, Any]]:
    """Every (data set, variant, seed) run: parameters, test accuracy, Δ, seconds."""
    rows: list[dict[str, Any]] = []
    for name in args.datasets:
        stored = json.loads((RESULTS / f"frontier_{name}.json").read_text())
        frontier = Frontier.from_points(stored["sweep"])
        splits = splits_for(name)
        widths = STARTS[args.controller]
        starts = [start_network(name, splits, s, args.cache, widths) for s in args.seeds]
        for variant in args.variants:
            for seed, start in zip(args.seeds, starts, strict=True):
                t = time.perf_counter()
                net = _run_one(args.controller, variant, start, splits, seed, pool)
                acc = float(net.evaluate(splits.X_test, splits.y_test)["accuracy"])
                rows.append(
                    {
                        "dataset": name,
                        "variant": variant,
                        "seed": seed,
                        "n_params": net.n_params,
                        "test_accuracy": acc,
                        "delta": frontier.delta(net.n_params, acc),
                        "seconds": time.perf_counter() - t,
                    }
                )
            report_row(rows, name, variant)
    return rows


def _run_one(
    controller: str,
    variant: str,
    start: Network,
    splits: Splits,
    seed: int,
    pool: ProcessPoolExecutor | None,
) -> Network:
    if controller == "lp":
        lp = LPPrune(LPPruneConfig(**LP_VARIANTS[variant]))
        return lp.run(start, splits, seed=seed, executor=pool, progress=False).network
    cfg = CompressConfig(**VARIANTS[variant])
    return Compress(cfg).run(start, splits, seed=seed, executor=pool, progress=False).network


def _mean(rows: list[dict[str, Any]], name: str, variant: str, key: str) -> float:
    return statistics.mean(r[key] for r in rows if r["dataset"] == name and r["variant"] == variant)


def report_row(rows: list[dict[str, Any]], name: str, variant: str) -> None:
    worst = min(r["delta"] for r in rows if r["dataset"] == name and r["variant"] == variant)
    print(
        f"{variant:<12} {name:<14} params {_mean(rows, name, variant, 'n_params'):>8.0f} "
        f"test {_mean(rows, name, variant, 'test_accuracy'):.4f} "
        f"Δ {_mean(rows, name, variant, 'delta'):+.4f} (worst {worst:+.4f}) "
        f"{_mean(rows, name, variant, 'seconds'):.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
