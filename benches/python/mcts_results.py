"""README results table: MCTS phase 2 (seed 000) applied to trained networks.

For every data set, architecture and seed: train a network (Adam, 85 % of the training split;
the other 15 %, carved by ``Splits.from_dataset``, is the validation set every decision uses),
run phase 2 (``MCTSConfig.fast(phase="optimize")``: ``w_params = 2``, stop once parameters fell
by ≥ 20 % with < 0.1 accuracy drop, or after the generation limit), and report parameters and
test accuracy before and after (the controller's before/after table). Fashion-MNIST training
sets are a seeded stratified subset (``--fashion-train``, default 10 000 of 60 000); the test set
is the full 10 000 images.

Usage:
    python benches/python/mcts_results.py --seeds 0,1,2 --out benches/results/mcts_results.json
    python benches/python/mcts_results.py --narrow-method select --compensate lstsq \
        --out benches/results/mcts_results_select.json
    python benches/python/mcts_results.py --table benches/results/mcts_results*.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

import neuroplast
from neuroplast import Network, Spec, data
from neuroplast.optim import Adam
from neuroplast.search import MCTS, ActionSpace, MCTSConfig, Splits

#: Base training epochs per (data set, architecture).
EPOCHS = {
    ("digits", "mlp"): 50,
    ("digits", "cnn"): 30,
    ("fashion-mnist", "mlp"): 15,
    ("fashion-mnist", "cnn"): 10,
}


def _spec(ds: data.Dataset, arch: str) -> Spec:
    if arch == "mlp":
        return Spec.mlp(ds.n_features, [100], ds.n_classes)
    assert ds.image_shape is not None
    return Spec.cnn(ds.image_shape, [8, 16], ds.n_classes, hidden=[32])


def one_run(name: str, arch: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    kw = {"n_train": args.fashion_train} if name == "fashion-mnist" else {}
    ds = data.load(name, seed=seed, **kw)
    splits = Splits.from_dataset(ds, val_fraction=0.15, seed=seed)
    net = Network.init(_spec(ds, arch), seed=seed)
    t0 = time.perf_counter()
    net.fit(
        splits.X_train,
        splits.y_train,
        epochs=EPOCHS[(name, arch)],
        batch_size=32,
        optimizer=Adam(lr=1e-3),
        seed=seed,
    )
    train_s = time.perf_counter() - t0
    space = ActionSpace(narrow_method=args.narrow_method, narrow_compensate=args.compensate)
    config = MCTSConfig.fast(
        phase="optimize",
        generations=args.generations,
        epochs=args.epochs,
        rollouts=args.rollouts,
        depth=2,
        train_samples=512,
        val_size=500,
        actions=space,
    )
    res = MCTS(config).run(net, splits, seed=seed, progress=False)
    before, after = res.before["test_accuracy"], res.after["test_accuracy"]
    out = {
        "dataset": name,
        "arch": arch,
        "removal": args.narrow_method + ("+lstsq" if args.compensate else ""),
        "seed": seed,
        "params_before": net.n_params,
        "params_after": res.network.n_params,
        "param_change": res.network.n_params / net.n_params - 1.0,
        "test_acc_before": before,
        "test_acc_after": after,
        "acc_change": after - before,
        "generations": res.generations,
        "stop_reason": res.stop_reason,
        "actions": res.actions,
        "train_s": train_s,
        "optimize_s": res.seconds,
    }
    print(json.dumps(out), flush=True)
    return out


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: one line per (removal, data set, architecture), means over seeds."""
    lines = [
        "| removal | data set | network | params before | params after | change "
        "| test acc before | test acc after | Δ acc (± sd) | seeds | optimize time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["removal"], r["dataset"], r["arch"]) for r in rows})
    for removal, name, arch in keys:
        rs = [r for r in rows if (r["removal"], r["dataset"], r["arch"]) == (removal, name, arch)]
        m = {
            k: float(np.mean([r[k] for r in rs]))
            for k in rs[0]
            if isinstance(rs[0][k], float | int)
        }
        sd = float(np.std([r["acc_change"] for r in rs]))
        lines.append(
            f"| {removal} | {name} | {arch} | {m['params_before']:.0f} | {m['params_after']:.0f} "
            f"| {100 * m['param_change']:+.0f} % | {m['test_acc_before']:.4f} "
            f"| {m['test_acc_after']:.4f} | {m['acc_change']:+.4f} (±{sd:.4f}) | {len(rs)} "
            f"| {m['optimize_s']:.1f} s |"
        )
    for removal in sorted({r["removal"] for r in rows}):
        rs = [r for r in rows if r["removal"] == removal]
        mean_p = float(np.mean([r["param_change"] for r in rs]))
        mean_a = float(np.mean([r["acc_change"] for r in rs]))
        lines.append(
            f"| {removal} | **mean** | | | | **{100 * mean_p:+.0f} %** | | "
            f"| **{mean_a:+.4f}** | | |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="digits,fashion-mnist")
    p.add_argument("--archs", default="mlp,cnn")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--generations", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10, help="epochs per generation")
    p.add_argument("--rollouts", type=int, default=30, help="evaluations per decision")
    p.add_argument("--fashion-train", type=int, default=10000)
    p.add_argument("--narrow-method", default="quasi_identity", help="neuron removal method")
    p.add_argument("--compensate", choices=("lstsq",), help="refit consumers after removal")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out")
    p.add_argument("--table", nargs="+", metavar="JSON", help="only print the table of saved runs")
    args = p.parse_args()
    if args.table:
        saved: list[dict[str, Any]] = []
        for path in args.table:
            with open(path) as fh:
                saved += json.load(fh)["runs"]
        for r in saved:
            r.setdefault("removal", "quasi_identity")
        print(table(saved))
        return
    neuroplast.set_num_threads(args.threads)
    rows = [
        one_run(name, arch, int(seed), args)
        for name in args.datasets.split(",")
        for arch in args.archs.split(",")
        for seed in args.seeds.split(",")
    ]
    print(table(rows))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {"settings": vars(args) | {"load_avg": os.getloadavg()}, "runs": rows}, fh, indent=1
            )


if __name__ == "__main__":
    main()
