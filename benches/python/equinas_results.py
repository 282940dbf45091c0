"""EquiNAS at laptop scale (Maile 2023, ch. 4, Tables 3–4 and Fig. 12 in miniature).

Run from the repository root::

    python benches/python/equinas_results.py                       # every table, 3 seeds
    python benches/python/equinas_results.py --parts static --seeds 1   # a quick look

Parts (``--parts``):

* ``static``: G-CNNs of equal expanded width (``--widths``, default 32 32 64 64) constrained to
  C1, C4 and D4, trained for ``generations/2`` epochs (the training the surviving EquiNAS_E
  lineage gets), on rotated digits and Fashion-MNIST.
* ``evolution``: EquiNAS_E from a fully D4 network, 0.5 epochs per generation
  (``--generations``, default 40), population 3 with at most 2 children per parent (the
  thesis: 5 and all children; scaled to this CPU); the final population's best by validation
  accuracy, its test accuracy and the groups it chose.
* ``symmetry``: EquiNAS_D (Adam 0.01 for the kernels and the architecture, ``--d-epochs``
  epochs, mixed layers of expanded widths ``--d-widths``, default 16 16 32, over all six
  groups) on the 8x8 digits augmented by each group C1 … D4, reporting the z-weighted mean
  group order per layer (Fig. 12: more symmetric data should pull z toward larger groups).

Both use Adam (lr 3e-3, batch 64) and no batch norm: at this size (19 steps per epoch) the batch
norm's running statistics lag the weights and the evaluation accuracy swings by tens of points
from epoch to epoch, which would make selection on validation accuracy a lottery; the thesis's
plain SGD (lr 0.1) without batch norm barely trains here. Inputs are standardized with the
training split's mean and standard deviation.

Data: ``rotated-digits`` (12x12, 1437 train / 360 test, 15 % of train validates) and
Fashion-MNIST reduced to 1500 train / 1000 test images averaged down to 14x14 (the digest's
feasibility sizes); ``augmented-digits`` for the symmetry part. Writes
``benches/results/equinas_results.json`` and prints markdown tables (mean ± std over seeds of
the test error in %).
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
from neuroplast import Network, Spec, data
from neuroplast.groups import table
from neuroplast.optim import Adam
from neuroplast.search import EquiNASD, EquiNASDConfig, EquiNASE, EquiNASEConfig, Splits

RESULTS = Path(__file__).resolve().parents[1] / "results"
STATIC = ("C1", "C4", "D4")
AUGMENT = ("C1", "D1", "C2", "D2", "C4", "D4")


def load(name: str, seed: int) -> tuple[Splits, tuple[int, int, int]]:
    """The splits of a data set by name, features flat, and the image shape."""
    if name == "fashion-mnist":
        ds = data.load("fashion-mnist", seed=seed, flatten=False, n_train=1500, n_test=1000)
        down = [
            x.reshape(x.shape[0], 1, 14, 2, 14, 2).mean(axis=(3, 5))
            for x in (ds.X_train, ds.X_test)
        ]
        X_train, X_test, y_train, y_test = down[0], down[1], ds.y_train, ds.y_test
    else:
        ds = data.load(name, seed=seed, flatten=False)
        X_train, X_test, y_train, y_test = ds.X_train, ds.X_test, ds.y_train, ds.y_test
    shape = tuple(X_train.shape[1:])
    mu, sd = X_train.mean(), X_train.std()
    flat = [
        np.ascontiguousarray(((x - mu) / sd).reshape(x.shape[0], -1), np.float32)
        for x in (X_train, X_test)
    ]
    splits = Splits.carve(flat[0], y_train, seed=seed, X_test=flat[1], y_test=y_test, name=name)
    return splits, shape  # type: ignore[return-value]


def static(name: str, group: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    splits, shape = load(name, seed)
    spec = Spec.gcnn(shape, 10, group, widths=args.widths, batch_norm=False)
    net = Network.init(spec, seed=seed)
    t = time.perf_counter()
    net.fit(
        splits.X_train,
        splits.y_train,
        epochs=max(1, args.generations // 2),
        batch_size=64,
        optimizer=Adam(lr=args.lr),
        seed=seed,
    )
    return {
        "data": name,
        "group": group,
        "seed": seed,
        "n_params": net.n_params,
        "val_accuracy": net.evaluate(splits.X_val, splits.y_val)["accuracy"],
        "test_accuracy": net.evaluate(splits.X_test, splits.y_test)["accuracy"],
        "seconds": time.perf_counter() - t,
    }


def evolution(name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    splits, shape = load(name, seed)
    spec = Spec.gcnn(shape, 10, "D4", widths=args.widths, batch_norm=False)
    net = Network.init(spec, seed=seed)
    cfg = EquiNASEConfig.paper(
        generations=args.generations,
        population=args.population,
        max_children=args.max_children,
        optimizer="adam",
        lr=args.lr,
    )
    res = EquiNASE(cfg).run(net, splits, seed=seed, progress=False)
    best = res.population[0]
    return {
        "data": name,
        "seed": seed,
        "n_params": res.after["n_params"],
        "val_accuracy": res.after["val_accuracy"],
        "test_accuracy": res.after["test_accuracy"],
        "groups": best["groups"],
        "population": [(i["groups"], i["val_accuracy"], i["n_params"]) for i in res.population],
        "seconds": res.seconds,
    }


def symmetry(group: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    ds = data.load("augmented-digits", seed=seed, group=group)
    mu, sd = ds.X_train.mean(), ds.X_train.std()
    splits = Splits.carve(
        (ds.X_train - mu) / sd,
        ds.y_train,
        seed=seed,
        X_test=(ds.X_test - mu) / sd,
        y_test=ds.y_test,
        name=ds.name,
    )
    spec = Spec.mixed_gcnn((1, 8, 8), 10, widths=args.d_widths, batch_norm=False)
    net = Network.init(spec, seed=seed)
    cfg = EquiNASDConfig.paper(epochs=args.d_epochs)
    res = EquiNASD(cfg).run(net, splits, seed=seed, progress=False)
    order = {g: table(g).order for g in AUGMENT}
    mean_order = {layer: sum(z[g] * order[g] for g in z) for layer, z in res.z.items()}
    return {
        "augment": group,
        "seed": seed,
        "z": res.z,
        "mean_order": mean_order,
        "test_accuracy": res.after["test_accuracy"],
        "seconds": res.seconds,
    }


def _err(rows: list[dict[str, Any]]) -> str:
    e = 100 * (1 - np.array([r["test_accuracy"] for r in rows]))
    return f"{e.mean():.2f} ± {e.std():.2f}"


def _best_static(out: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Per seed, the static baseline with the best validation accuracy."""
    best = []
    for seed in out["seeds"]:
        rows = [r for r in out["static"] if r["data"] == name and r["seed"] == seed]
        if rows:
            best.append(max(rows, key=lambda r: r["val_accuracy"]))
    return best


def report(out: dict[str, Any]) -> None:
    for name in out["datasets"]:
        print(f"\n### {name}: test error (%), {len(out['seeds'])} seeds\n")
        print("| method | test error % | parameters | groups |\n|---|---|---|---|")
        for g in STATIC:
            rows = [r for r in out["static"] if r["data"] == name and r["group"] == g]
            if rows:
                print(f"| {g} baseline | {_err(rows)} | {rows[0]['n_params']} | all {g} |")
        best = _best_static(out, name)
        if best:
            print(f"| best baseline by validation | {_err(best)} | - | per seed |")
        rows = [r for r in out["evolution"] if r["data"] == name]
        if rows:
            groups = "; ".join(",".join(r["groups"]) for r in rows)
            params = int(np.mean([r["n_params"] for r in rows]))
            print(f"| EquiNAS_E | {_err(rows)} | {params} | {groups} |")
    if out["symmetry"]:
        print("\n### EquiNAS_D: z-weighted mean group order per layer (digits, augmented)\n")
        layers = sorted(out["symmetry"][0]["mean_order"])
        print("| augmentation | " + " | ".join(layers) + " | mean | test error % |")
        print("|---" * (len(layers) + 3) + "|")
        for g in AUGMENT:
            rows = [r for r in out["symmetry"] if r["augment"] == g]
            if not rows:
                continue
            per = [np.mean([r["mean_order"][la] for r in rows]) for la in layers]
            cells = " | ".join(f"{v:.3f}" for v in per)
            print(f"| {g} | {cells} | {np.mean(per):.3f} | {_err(rows)} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--parts", nargs="+", default=["static", "evolution", "symmetry"])
    p.add_argument("--datasets", nargs="+", default=["rotated-digits", "fashion-mnist"])
    p.add_argument("--widths", type=int, nargs="+", default=[32, 32, 64, 64])
    p.add_argument("--generations", type=int, default=40)
    p.add_argument("--population", type=int, default=3)
    p.add_argument("--max-children", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--d-widths", type=int, nargs="+", default=[16, 16, 32])
    p.add_argument("--d-epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "equinas_results.json"))
    p.add_argument("--resume", action="store_true", help="keep the runs already in --out")
    p.add_argument("--report", action="store_true", help="only print the tables of --out")
    args = p.parse_args()
    if args.report:
        report(json.loads(Path(args.out).read_text()))
        return
    neuroplast.set_num_threads(args.threads)
    seeds = list(range(args.seeds))
    out: dict[str, Any] = {
        "args": vars(args),
        "seeds": seeds,
        "datasets": args.datasets,
        "static": [],
        "evolution": [],
        "symmetry": [],
        "cpu": platform.processor() or platform.machine(),
    }
    path = Path(args.out)
    done = json.loads(path.read_text()) if args.resume and path.exists() else None
    if done is not None:  # keep the finished runs of an interrupted invocation
        for key in ("static", "evolution", "symmetry"):
            out[key] = done[key]
    t0 = time.perf_counter()

    def have(key: str, **match: Any) -> bool:
        return any(all(r.get(k) == v for k, v in match.items()) for r in out[key])

    def save() -> None:
        out["seconds"] = time.perf_counter() - t0
        path.write_text(json.dumps(out, indent=1))

    for seed in seeds:
        for name in args.datasets:
            for g in STATIC if "static" in args.parts else ():
                if not have("static", data=name, group=g, seed=seed):
                    out["static"].append(static(name, g, seed, args))
                    save()
            if "evolution" in args.parts and not have("evolution", data=name, seed=seed):
                out["evolution"].append(evolution(name, seed, args))
                save()
        for g in AUGMENT if "symmetry" in args.parts else ():
            if not have("symmetry", augment=g, seed=seed):
                out["symmetry"].append(symmetry(g, seed, args))
                save()
        print(f"seed {seed} done after {time.perf_counter() - t0:.0f} s", flush=True)
    save()
    report(out)


if __name__ == "__main__":
    main()
