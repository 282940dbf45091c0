"""Dynamic MLP growth on Fashion-MNIST vs static networks (thesis 003, Sec. 6.3.3, scaled down).

Run from the repository root (needs ``dataset-fashion-mnist``)::

    python benches/python/growth_fashion.py

784 → two hidden ReLU layers → 10. Growing networks start at ``--start`` units per layer
(thesis: 64) and may reach ``--max-width`` (thesis: 784); static networks are Small (the start
width), Medium (``--medium``) and Big (the maximum width). Adam lr 3e-3 (reference code), batch
512, ``--epochs`` epochs on 85 % of a stratified ``--train`` subset of the training set (the
growing networks validate on the other 15 %), test on the full 10 000 test images. Triggers
every step (activation/weight) or every ``--grad-every`` steps (gradient-based); NORTH-Select
scores ``--candidates`` candidates plus the number added. Writes
``benches/results/growth_fashion.json`` and ``growth_fashion.png`` (test accuracy vs
parameters; the Pareto front is marked in the table).
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
from neuroplast import Adam, Network, Spec
from neuroplast.data import load
from neuroplast.search import Neurogenesis, NeurogenesisConfig, Splits

RESULTS = Path(__file__).resolve().parents[1] / "results"
DYNAMIC = ("north-select", "north-random", "north-weight", "gradmax")


def run_one(name: str, seed: int, data: Splits, args: argparse.Namespace) -> dict[str, Any]:
    widths = {"small": args.start, "medium": args.medium, "big": args.max_width}
    start = widths.get(name, args.start)
    net = Network.init(Spec.mlp(784, [start, start], 10), seed=seed)
    t = time.perf_counter()
    if name in widths:
        net.fit(
            data.X_train,
            data.y_train,
            epochs=args.epochs,
            batch_size=512,
            optimizer=Adam(lr=3e-3),
            seed=seed,
        )
        final = net
    else:
        gradient = name in ("gradmax", "firefly", "nest")
        config = NeurogenesisConfig.paper(
            strategy=name,
            max_width=args.max_width,
            candidates=args.candidates,
            eval_every=args.grad_every if gradient else 1,
            epochs=args.epochs,
            batch_size=512,
            lr=3e-3,
        )
        final = Neurogenesis(config).run(net, data, seed=seed, progress=False).network
    assert data.X_test is not None
    return {
        "name": name if name not in widths else f"{name} static",
        "seed": seed,
        "widths": [final.spec.widths["dense_0"], final.spec.widths["dense_1"]],
        "n_params": int(final.n_params),
        "test_accuracy": final.evaluate(data.X_test, data.y_test)["accuracy"],
        "seconds": time.perf_counter() - t,
    }


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for name in dict.fromkeys(r["name"] for r in rows):
        sel = [r for r in rows if r["name"] == name]
        out.append(
            {
                "name": name,
                "widths": np.mean([r["widths"] for r in sel], axis=0).round().astype(int).tolist(),
                "n_params": float(np.mean([r["n_params"] for r in sel])),
                "acc": float(np.mean([r["test_accuracy"] for r in sel])),
                "acc_std": float(np.std([r["test_accuracy"] for r in sel])),
                "seconds": float(np.mean([r["seconds"] for r in sel])),
            }
        )
    for s in out:  # on the front: no other entry is both smaller and more accurate
        s["pareto"] = not any(o["n_params"] <= s["n_params"] and o["acc"] > s["acc"] for o in out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--names", nargs="+", default=[*DYNAMIC, "small", "medium", "big"])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--start", type=int, default=32)
    p.add_argument("--medium", type=int, default=128)
    p.add_argument("--max-width", type=int, default=256)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--train", type=int, default=20000)
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--grad-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS / "growth_fashion.json")
    args = p.parse_args()
    neuroplast.set_num_threads(args.threads)
    # Every network trains on the same part of the subset; the controllers validate on the
    # rest (15 %), and all are tested on the full test split.
    data = Splits.from_dataset(load("fashion-mnist", seed=0, n_train=args.train), seed=0)
    rows: list[dict[str, Any]] = (
        json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    )
    done = {(r["name"].replace(" static", ""), r["seed"]) for r in rows}
    for name in args.names:
        for seed in args.seeds:
            if (name, seed) in done:
                continue
            rows.append(run_one(name, seed, data, args))
            r = rows[-1]
            print(
                f"{r['name']} seed={seed}: widths {r['widths']} params {r['n_params']} "
                f"acc {r['test_accuracy']:.4f} ({r['seconds']:.1f}s)",
                flush=True,
            )
            meta = {
                "settings": {k: str(v) for k, v in vars(args).items()},
                "machine": platform.processor() or platform.machine(),
            }
            args.out.write_text(json.dumps({"meta": meta, "runs": rows}, indent=1))
    rows_sum = summary(rows)
    print("| network | final widths | parameters | test accuracy | seconds | Pareto |")
    print("|---|---|---:|---:|---:|---|")
    for s in rows_sum:
        print(
            f"| {s['name']} | {s['widths'][0]}-{s['widths'][1]} | {s['n_params']:.0f} | "
            f"{s['acc']:.4f} ± {s['acc_std']:.4f} | {s['seconds']:.1f} | "
            f"{'yes' if s['pareto'] else ''} |"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for s in rows_sum:
        pts = [(r["n_params"], r["test_accuracy"]) for r in rows if r["name"] == s["name"]]
        ax.scatter(
            *zip(*pts, strict=True), label=s["name"], marker="s" if "static" in s["name"] else "o"
        )
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test accuracy")
    ax.set_title("Fashion-MNIST MLP: growing vs static")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=110)


if __name__ == "__main__":
    main()
