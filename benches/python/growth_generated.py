"""Neurogenesis on generated data (thesis 003, Sec. 6.3.2), scaled to a maximum width of 128.

Run from the repository root::

    python benches/python/growth_generated.py                    # the README table and plot
    python benches/python/growth_generated.py --seeds 1 --nf 1 8  # a quick look

Data: :func:`neuroplast.data.make_synthetic` (64 features of rank ``n_f``, 5000 samples, 10 %
test; data seed 1337 as in the reference code; 15 % of the training split validates).
Networks: 1 or 2 hidden ReLU layers starting at width 4, maximum width 128 (the thesis: 512),
Adam lr 3e-3, batch 128, a buffer of 256 samples (twice the maximum width), γ_a = 0.97,
γ_w = 0.99, ε = 0.01, training for ``(20 + 4·n_f) × hidden layers`` epochs (reference code).
Every strategy evaluates its trigger after every step, except the gradient-based ones, which
evaluate every ``--grad-every`` steps (each evaluation is a full backward pass and an SVD per
layer). NORTH-Select scores ``--candidates`` candidates plus the number added (thesis: 1000).
Writes ``benches/results/growth_generated.json`` and ``benches/results/growth_generated.png``
and prints a markdown table of mean final widths and test accuracies.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

import neuroplast
from neuroplast import Network, Spec
from neuroplast.data import make_synthetic
from neuroplast.search import Neurogenesis, NeurogenesisConfig, Splits

RESULTS = Path(__file__).resolve().parents[1] / "results"
STRATEGIES = ("north-select", "north-random", "north-weight", "gradmax")


def run_one(
    strategy: str, n_f: int, hidden: int, seed: int, args: argparse.Namespace
) -> dict[str, Any]:
    ds = make_synthetic(n_features_independent=n_f, seed=1337)
    # The controller validates on 15 % of the training split (the same carve for every run).
    data = Splits.from_dataset(ds, seed=0)
    net = Network.init(Spec.mlp(64, [4] * hidden, 2), seed=seed)
    gradient = strategy in ("gradmax", "firefly", "nest")
    config = NeurogenesisConfig.paper(
        strategy=strategy,
        max_width=args.max_width,
        buffer_size=2 * args.max_width,
        candidates=args.candidates,
        eval_every=args.grad_every if gradient else 1,
        epochs=(20 + 4 * n_f) * hidden,
        batch_size=128,
        lr=3e-3,
    )
    t = time.perf_counter()
    res = Neurogenesis(config).run(net, data, seed=seed, progress=False)
    acc = res.network.evaluate(ds.X_test, ds.y_test)["accuracy"]
    widths = [res.network.spec.widths[f"dense_{i}"] for i in range(hidden)]
    return {
        "strategy": strategy,
        "n_f": n_f,
        "hidden": hidden,
        "seed": seed,
        "widths": widths,
        "test_accuracy": acc,
        "events": len(res.events),
        "seconds": time.perf_counter() - t,
    }


def table(rows: list[dict[str, Any]], nfs: list[int]) -> str:
    lines = ["| strategy | layers | " + " | ".join(f"n_f={n}" for n in nfs) + " |"]
    lines.append("|---|---|" + "---|" * len(nfs))
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        for hidden in (1, 2):
            cells = []
            for n_f in nfs:
                sel = [
                    r
                    for r in rows
                    if (r["strategy"], r["hidden"], r["n_f"]) == (strategy, hidden, n_f)
                ]
                if not sel:
                    cells.append("–")
                    continue
                w = np.mean([r["widths"] for r in sel], axis=0)
                acc = np.mean([r["test_accuracy"] for r in sel])
                cells.append("/".join(f"{x:.0f}" for x in w) + f" ({acc:.3f})")
            lines.append(f"| {strategy} | {hidden} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], nfs: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    panels = [(1, 0, "1 hidden layer"), (2, 0, "2 hidden: layer 1"), (2, 1, "2 hidden: layer 2")]
    for ax, (hidden, layer, title) in zip(axes, panels, strict=True):
        for strategy in dict.fromkeys(r["strategy"] for r in rows):
            means, stds = [], []
            for n_f in nfs:
                sel = [
                    r["widths"][layer]
                    for r in rows
                    if (r["strategy"], r["hidden"], r["n_f"]) == (strategy, hidden, n_f)
                ]
                means.append(np.mean(sel) if sel else np.nan)
                stds.append(np.std(sel) if sel else np.nan)
            ax.errorbar(nfs, means, yerr=stds, marker="o", capsize=3, label=strategy)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("independent features n_f")
        ax.set_title(title)
    axes[0].set_ylabel("final width")
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    p.add_argument("--nf", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    p.add_argument("--max-width", type=int, default=128)
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--grad-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS / "growth_generated.json")
    args = p.parse_args()
    neuroplast.set_num_threads(args.threads)
    rows: list[dict[str, Any]] = []
    if args.out.exists():  # resume: skip finished runs
        rows = json.loads(args.out.read_text())["runs"]
    done = {(r["strategy"], r["n_f"], r["hidden"], r["seed"]) for r in rows}
    for strategy in args.strategies:
        for hidden in (1, 2):
            for n_f in args.nf:
                for seed in args.seeds:
                    if (strategy, n_f, hidden, seed) in done:
                        continue
                    rows.append(run_one(strategy, n_f, hidden, seed, args))
                    r = rows[-1]
                    print(
                        f"{strategy} h={hidden} n_f={n_f} seed={seed}: widths {r['widths']} "
                        f"acc {r['test_accuracy']:.3f} ({r['seconds']:.1f}s)",
                        flush=True,
                    )
                    meta = {
                        "settings": {k: str(v) for k, v in vars(args).items()},
                        "machine": platform.processor() or platform.machine(),
                    }
                    args.out.write_text(json.dumps({"meta": meta, "runs": rows}, indent=1))
    print(table(rows, args.nf))
    plot(rows, args.nf, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
