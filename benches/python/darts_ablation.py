"""The DARTS-PRIME ablation (Maile 2023, Table 5) at laptop scale on Fashion-MNIST.

Run from the repository root (needs ``dataset-fashion-mnist``)::

    python benches/python/darts_ablation.py                 # all variants, seeds 0 1 2
    python benches/python/darts_ablation.py --report-only   # table and figure from the JSON

Data: Fashion-MNIST images average-pooled 2×2 to 14×14 (one channel); a stratified subset of
``--train`` training images drives the search and the retraining, ``--val`` other training
images are the validation split (reported only), ``--test`` test images give the test error.
Search network: ``--cells`` cells (reductions at ``cells//3``, ``2·cells//3``) of ``--states``
states, ``--channels`` channels, all 7 operations; ``--epochs`` search epochs, batch 32,
SGD 0.025→0.001 for the weights and Adam for α with ``--alpha-lr``: the thesis's 3e-4 over its
~19 500 alternating α steps moves α about as far as 3e-2 over the ~200 α steps here. Every
variant's α split follows the thesis (1/2 alternating, 1/11 otherwise). Evaluation network:
``--eval-cells`` cells of ``--eval-channels`` channels trained ``--eval-epochs`` epochs from
scratch. Each (variant, seed) is one run of :class:`neuroplast.search.DARTS`; finished runs are
kept in the JSON, so an interrupted sweep continues where it stopped.

Writes ``benches/results/darts_ablation.json`` (per run: test error, parameters, the normal
cell's skip share after every search epoch, α steps, times, genotype) and
``darts_ablation.png`` (skip share over the search; test error against parameters).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

import neuroplast
from neuroplast import Network, Spec
from neuroplast.data import load
from neuroplast.search import DARTS, DARTSConfig, Splits

RESULTS = Path(__file__).resolve().parents[1] / "results"
VARIANTS = ("DARTS", "+CS10", "+FIMT", "+PR", "DARTS-PRIME", "+CRB")


def pooled(X: np.ndarray) -> np.ndarray:
    """28×28 images (flat) average-pooled 2×2 to 14×14 (flat)."""
    return X.reshape(-1, 1, 14, 2, 14, 2).mean(axis=(3, 5)).reshape(X.shape[0], -1)


def splits(args: argparse.Namespace) -> Splits:
    ds = load("fashion-mnist", seed=0)
    rng = np.random.default_rng(0)
    perm = rng.permutation(ds.X_train.shape[0])
    tr, va = perm[: args.train], perm[args.train : args.train + args.val]
    te = np.random.default_rng(1).permutation(ds.X_test.shape[0])[: args.test]
    X, Xt = pooled(ds.X_train), pooled(ds.X_test)
    return Splits(X[tr], ds.y_train[tr], X[va], ds.y_train[va], Xt[te], ds.y_test[te], "fmnist14")


def config(variant: str, args: argparse.Namespace) -> DARTSConfig:
    base = DARTSConfig.fast(
        cells=args.cells,
        channels=args.channels,
        states=args.states,
        search_epochs=args.epochs,
        batch_size=32,
        alpha_lr=args.alpha_lr,
        eval_cells=args.eval_cells,
        eval_channels=args.eval_channels,
        eval_epochs=args.eval_epochs,
        eval_batch_size=64,
        image_shape=(1, 14, 14),
    )
    return DARTSConfig.variant(variant, base)


def run_one(variant: str, seed: int, data: Splits, args: argparse.Namespace) -> dict[str, Any]:
    task = Network.init(Spec.mlp(196, [], 10), seed=seed)
    t = time.perf_counter()
    res = DARTS(config(variant, args)).run(task, data, seed=seed, progress=False)
    search = [h for h in res.history if h["phase"] == "search"]
    return {
        "variant": variant,
        "seed": seed,
        "test_error": 1.0 - res.after["test_accuracy"],
        "val_accuracy": res.after["val_accuracy"],
        "n_params": res.after["n_params"],
        "skip_share": [h["skip_share_normal"] for h in search],
        "alpha_steps": sum(r["alpha_steps"] for r in res.search),
        "w_steps": sum(r["w_steps"] for r in res.search),
        "pruned": res.search[-1]["pruned"],
        "genotype": res.genotype.to_dict(),
        "search_seconds": res.search_seconds,
        "seconds": time.perf_counter() - t,
    }


def _mean_sd(v: list[float]) -> str:
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.mean(v):.2f} ± {sd:.2f}"


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| Variant | Test error % | Params (k) | Skip share (normal, final) | α steps "
        "| Search min |",
        "|---|---|---|---|---|---|",
    ]
    for v in VARIANTS:
        rs = [r for r in runs if r["variant"] == v]
        if not rs:
            continue
        lines.append(
            f"| {v} | {_mean_sd([100 * r['test_error'] for r in rs])} "
            f"| {_mean_sd([r['n_params'] / 1e3 for r in rs])} "
            f"| {_mean_sd([r['skip_share'][-1] for r in rs])} "
            f"| {statistics.mean(r['alpha_steps'] for r in rs):.0f} "
            f"| {statistics.mean(r['search_seconds'] for r in rs) / 60:.1f} |"
        )
    return "\n".join(lines)


def figure(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for k, v in enumerate(VARIANTS):
        rs = [r for r in runs if r["variant"] == v]
        if not rs:
            continue
        share = np.mean([r["skip_share"] for r in rs], axis=0)
        left.plot(np.arange(1, share.size + 1), share, marker="o", label=v, color=f"C{k}")
        right.scatter(
            [r["n_params"] / 1e3 for r in rs],
            [100 * r["test_error"] for r in rs],
            label=v,
            color=f"C{k}",
        )
    left.set_xlabel("search epoch")
    left.set_ylabel("skip share of the normal cell (mean over seeds)")
    left.set_ylim(-0.05, 1.05)
    left.legend(fontsize=8)
    right.set_xlabel("parameters of the retrained network (thousands)")
    right.set_ylabel("test error %")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--train", type=int, default=1500)
    p.add_argument("--val", type=int, default=600)
    p.add_argument("--test", type=int, default=3000)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--states", type=int, default=3)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--alpha-lr", type=float, default=3e-2)
    p.add_argument("--eval-cells", type=int, default=5)
    p.add_argument("--eval-channels", type=int, default=8)
    p.add_argument("--eval-epochs", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=RESULTS / "darts_ablation.json")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    neuroplast.set_num_threads(args.threads)
    done: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs: list[dict[str, Any]] = done.get("runs", [])
    if not args.report_only:
        data = splits(args)
        for seed in args.seeds:
            for v in args.variants:
                if any(r["variant"] == v and r["seed"] == seed for r in runs):
                    continue
                runs.append(run_one(v, seed, data, args))
                r = runs[-1]
                print(
                    f"{v:12s} seed {seed}: test error {100 * r['test_error']:.2f} %, "
                    f"{r['n_params']} params, skip {r['skip_share'][-1]:.2f}, "
                    f"{r['seconds']:.0f} s",
                    flush=True,
                )
                settings = {k: v for k, v in vars(args).items() if k not in ("out", "report_only")}
                out = {
                    "settings": settings,
                    "machine": platform.processor() or platform.machine(),
                    "threads": args.threads,
                    "runs": runs,
                }
                args.out.write_text(json.dumps(out, indent=1))
    print(table(runs))
    figure(runs, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
