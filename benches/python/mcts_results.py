"""README results table: MCTS phase 2 (seed 000) applied to trained networks.

For every data set, architecture and seed: train a network (Adam, 85 % of the training split;
the other 15 % is the validation set the search scores on), run phase 2 (``w_params = 2``, stop
once parameters fell by ≥ 20 % with < 0.1 accuracy drop, or after the generation limit), and
report parameters and test accuracy before and after. Fashion-MNIST training sets are a seeded
stratified subset (``--fashion-train``, default 10 000 of 60 000); the test set is the full
10 000 images.

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
from neuroplast.search import MCTS, ActionSpace

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
    idx = np.random.default_rng([seed, 7]).permutation(ds.X_train.shape[0])
    n_val = round(0.15 * len(idx))
    va, tr = idx[:n_val], idx[n_val:]
    Xtr, ytr, Xva, yva = ds.X_train[tr], ds.y_train[tr], ds.X_train[va], ds.y_train[va]
    net = Network.init(_spec(ds, arch), seed=seed)
    t0 = time.perf_counter()
    net.fit(
        Xtr, ytr, epochs=EPOCHS[(name, arch)], batch_size=32, optimizer=Adam(lr=1e-3), seed=seed
    )
    train_s = time.perf_counter() - t0
    space = ActionSpace(narrow_method=args.narrow_method, narrow_compensate=args.compensate)
    mcts = MCTS.fast(
        generations=args.generations,
        epochs=args.epochs,
        rollouts=args.rollouts,
        depth=2,
        train_samples=512,
        val_size=500,
        actions=space,
    )
    t0 = time.perf_counter()
    res = mcts.phase2(net, Xtr, ytr, Xva, yva, seed=seed, progress=False, report=False)
    search_s = time.perf_counter() - t0
    before = net.evaluate(ds.X_test, ds.y_test)["accuracy"]
    after = res.network.evaluate(ds.X_test, ds.y_test)["accuracy"]
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
        "generations": len(res.records) - 1,
        "stop_reason": res.stop_reason,
        "actions": [r["action"] for r in res.records if r.get("action")],
        "train_s": train_s,
        "optimize_s": search_s,
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
