"""DYNO transfer (thesis 003, ch. 7, scaled): Fashion-MNIST classes 0–4 → fine-tune on 5–9.

Run from the repository root (needs ``dataset-fashion-mnist``)::

    python benches/python/dyno_transfer.py

A 784-128-128-10 ReLU MLP is trained on the images of classes 0–4 (``--pretrain-epochs``, Adam
1e-3). Then, in each hidden layer, ``--plant`` units are made dormant (zero fan-in, negative
bias) and ``--plant`` units are duplicated (Net2Wider: function preserving), so each layer holds
a known amount of redundancy. The network is fine-tuned on classes 5–9 (same 10-way output, as
the thesis reuses the matching ImageNet outputs) for ``--steps`` steps of batch 64 (thesis:
1000), Adam lr 3e-4 with weight decay 1e-3, once statically and once with DYNO (the ``paper``
preset: triggers every 50 steps, δ = 0.03, ε = 0.01, NORTH-Select growth with 100×
candidates), both on 85 % of the classes-5–9 training images (DYNO validates on the rest).
Reports whether the first pruning events removed the planted units, the widths over time
(``benches/results/dyno_transfer.png``) and the test accuracy on classes 5–9 with the
parameter counts (``benches/results/dyno_transfer.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

import neuroplast
from neuroplast import Adam, Network, Spec
from neuroplast._seeds import derive_seed
from neuroplast.data import load
from neuroplast.morph import widen
from neuroplast.search import DYNO, DYNOConfig, Splits
from neuroplast.search.growth._common import TRAIN_STREAM
from neuroplast.search.growth._steps import StepTrainer
from neuroplast.search.growth.report import plot_widths

RESULTS = Path(__file__).resolve().parents[1] / "results"


def subset(X: Any, y: Any, classes: range) -> tuple[Any, Any]:
    keep = np.isin(y, list(classes))
    return X[keep], y[keep]


def plant(
    net: Network, layer: str, n: int, seed: int
) -> tuple[Network, set[int], list[tuple[int, int]]]:
    """``n`` dormant units and ``n`` duplicates in ``layer``; returns their indices."""
    rng = np.random.default_rng(seed)
    width = net.spec.widths[layer]
    dead = sorted(int(i) for i in rng.choice(width, n, replace=False))
    params = {k: np.array(v) for k, v in net.params.items()}
    params[f"{layer}.weight"][dead] = 0.0
    params[f"{layer}.bias"][dead] = -1.0
    wide, _ = widen(Network(net.spec, params), layer, n, "net2wider", seed=seed)
    w = np.asarray(wide.params[f"{layer}.weight"])
    live = [i for i in range(w.shape[0]) if w[i].any()]
    twins = [(i, j) for i in live for j in live if i < j and np.array_equal(w[i], w[j])]
    return wide, {i for i in range(w.shape[0]) if not w[i].any()}, twins


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--plant", type=int, default=8)
    p.add_argument("--pretrain-epochs", type=int, default=5)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=RESULTS / "dyno_transfer.json")
    args = p.parse_args()
    neuroplast.set_num_threads(args.threads)
    ds = load("fashion-mnist", seed=0)
    Xa, ya = subset(ds.X_train, ds.y_train, range(5))
    Xb, yb = subset(ds.X_train, ds.y_train, range(5, 10))
    Xt, yt = subset(ds.X_test, ds.y_test, range(5, 10))
    net = Network.init(Spec.mlp(784, [args.hidden, args.hidden], 10), seed=args.seed)
    net.fit(Xa, ya, epochs=args.pretrain_epochs, batch_size=128, optimizer=Adam(lr=1e-3), seed=0)
    planted_info = {}
    for layer in ("dense_0", "dense_1"):
        net, dead, twins = plant(net, layer, args.plant, args.seed)
        planted_info[layer] = {"dormant": sorted(dead), "twins": twins}
    before = net.evaluate(Xt, yt)["accuracy"]
    # DYNO validates on 15 % of the classes-5-9 training images; the static run trains on the
    # same part, in the same sample order (the controller's training stream).
    data = Splits.carve(Xb, yb, seed=args.seed, X_test=Xt, y_test=yt, name="fashion 5-9")
    config = DYNOConfig.paper(steps=args.steps)
    static = net.copy()
    order = derive_seed(args.seed, TRAIN_STREAM)
    opt = Adam(lr=config.lr, weight_decay=config.weight_decay)
    StepTrainer(data.X_train, data.y_train, config.batch_size, opt, order).run(static, args.steps)
    res = DYNO(config).run(net, data, seed=args.seed, progress=False)
    first: dict[str, Any] = {}
    for rec in res.edits.records:
        layer = rec.args["layer"]
        if rec.name == "narrow" and layer not in first:
            width = args.hidden + args.plant
            gone = set(range(width)) - set(rec.args["keep"])
            info = planted_info[layer]
            twin_units = {u for pair in info["twins"] for u in pair}
            first[layer] = {
                "removed": len(gone),
                "dormant_removed": len(gone & set(info["dormant"])),
                "dormant_planted": len(info["dormant"]),
                "removed_outside_planted": len(gone - set(info["dormant"]) - twin_units),
                "twin_pairs_reduced": sum(1 for i, j in info["twins"] if i in gone or j in gone),
                "twin_pairs": len(info["twins"]),
            }
    out = {
        "accuracy_planted_before_finetune": before,
        "static": {"accuracy": static.evaluate(Xt, yt)["accuracy"], "n_params": static.n_params},
        "dyno": {
            "accuracy": res.network.evaluate(Xt, yt)["accuracy"],
            "n_params": res.network.n_params,
            "widths": {k: res.network.spec.widths[k] for k in ("dense_0", "dense_1")},
            "events": res.events,
            "first_prune": first,
            "seconds": res.seconds,
        },
        "settings": vars(args) | {"out": str(args.out)},
    }
    args.out.write_text(json.dumps(out, indent=1))
    plot_widths(res, args.out.with_suffix(".png"), "DYNO fine-tuning on classes 5-9: widths")
    print(
        json.dumps(
            {k: v for k, v in out.items() if k != "settings"}
            | {"dyno": {k: v for k, v in out["dyno"].items() if k != "events"}},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
