"""ASNG experiments of Saito and Shirakawa (2019), Sec. 4, at laptop scale.

Run from the repository root::

    # 4.1 unit selection of a 3-hidden-layer MLP (digits; --dataset fashion for a subset of
    # Fashion-MNIST when /usr/share/datasets/fashion-mnist exists)
    python benches/python/asng_experiments.py units --dataset digits \
        --out benches/results/asng_units_digits.json
    # 4.2 connection selection of a DenseNet on digits 8×8
    python benches/python/asng_experiments.py connections \
        --out benches/results/asng_connections.json

Protocol (the paper's, scaled): ASNG trains ``--epochs`` epochs at minibatch 32 with λ = 2,
η_θ = 1/d, θ⁽⁰⁾ = 0.5, SGD with Nesterov momentum 0.9, weight decay 1e-4, the learning rate
(0.01 for units, 0.1 for DenseNet) divided by 10 at 1/2 and 3/4 of the epochs, He-uniform
initialization; the deterministic structure (θ ≥ ½) is removed and tested without
fine-tuning. Baselines train twice the epochs at minibatch 64 (the same number of updates and
samples) with the same optimizer and schedule:

* units: fixed MLPs whose three hidden layers are all narrowed by the same factor so that
  their parameter count matches each ASNG result (uniformly removed units), and the full MLP;
* connections: the DenseNet with connections removed at random until its parameter count is
  within 1.5 % of each ASNG result (repeated Bernoulli draws; at least one input per layer),
  trained from a fresh initialization.

* units, also: the full MLP trained with dropout 0.5 on its hidden layers (the paper's other
  baseline; ``Network.fit(dropout=0.5)``, inverted dropout, per sample and unit).

Every decision of ASNG uses the validation split; the test split is only
reported. Prints the tables of ``docs/controllers/asng.md`` and checks the paper's claims.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
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
from neuroplast.optim import SGD
from neuroplast.search import ASNG, ASNGConfig, Splits
from neuroplast.search.asng import encode, remove

UNIT_PENALTIES = (2.0**-6, 2.0**-7, 2.0**-8, 2.0**-9, 0.0, -(2.0**-3))
CONNECTION_PENALTIES = (2.0**-2, 2.0**-3, 2.0**-4, 2.0**-5, 2.0**-6, 0.0)


def flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0], -1)


def splits_for(args: argparse.Namespace) -> Splits:
    if args.dataset == "digits":
        ds = load("digits", seed=0)
    else:
        ds = load("fashion-mnist", seed=0)
        rng = np.random.default_rng(0)
        tr = np.sort(rng.choice(ds.X_train.shape[0], args.subset, replace=False))
        te = np.sort(rng.choice(ds.X_test.shape[0], args.test_subset, replace=False))
        ds = dataclasses.replace(
            ds,
            X_train=ds.X_train[tr],
            y_train=ds.y_train[tr],
            X_test=ds.X_test[te],
            y_test=ds.y_test[te],
        )
    s = Splits.from_dataset(ds, seed=0)
    if args.part == "connections":
        img = (-1, *(ds.image_shape or ()))
        s = Splits(
            s.X_train.reshape(img),
            s.y_train,
            s.X_val.reshape(img),
            s.y_val,
            s.X_test.reshape(img),
            s.y_test,
            s.name,
        )
    else:
        s = Splits(
            flat(s.X_train), s.y_train, flat(s.X_val), s.y_val, flat(s.X_test), s.y_test, s.name
        )
    return s


def train_fixed(
    net: Network, data: Splits, epochs: int, lr: float, seed: int, dropout: float = 0.0
) -> float:
    """Twice ``epochs`` at batch 64 with the paper's schedule; returns the test accuracy."""
    total = 2 * epochs
    bounds = [0, total // 2, (3 * total) // 4, total]
    for phase in range(3):
        n = bounds[phase + 1] - bounds[phase]
        if n:
            opt = SGD(lr=lr * 0.1**phase, momentum=0.9, nesterov=True, weight_decay=1e-4)
            net.fit(
                data.X_train,
                data.y_train,
                epochs=n,
                batch_size=64,
                optimizer=opt,
                seed=seed,
                initial_epoch=bounds[phase],
                dropout=dropout,
            )
    return float(net.evaluate(data.X_test, data.y_test)["accuracy"])


def run_asng(
    spec: Spec,
    data: Splits,
    args: argparse.Namespace,
    eps0: float,
    seed: int,
    select: str,
    lr: float,
) -> dict[str, Any]:
    cfg = ASNGConfig.paper(select=select, epochs=args.epochs, penalty=eps0, lr=lr)
    t = time.perf_counter()
    res = ASNG(cfg).run(Network.init(spec, seed=seed), data, seed=seed, progress=False)
    return {
        "penalty": eps0,
        "seed": seed,
        "usage": res.after["n_params"] / res.before["n_params"],
        "n_params": res.after["n_params"],
        "test_accuracy": res.after["test_accuracy"],
        "val_accuracy": res.after["val_accuracy"],
        "kept": {g: v[0] for g, v in res.selected.items()},
        "total": {g: v[1] for g, v in res.selected.items()},
        "removal_max_abs_diff": res.removal_max_abs_diff,
        "seconds": time.perf_counter() - t,
    }


def uniform_mlp(n_in: int, hidden: list[int], target: int) -> Spec:
    """The MLP whose hidden layers are narrowed by one factor to about ``target`` parameters."""
    best = None
    for r in np.linspace(0.005, 1.0, 800):
        widths = [max(1, round(r * h)) for h in hidden]
        spec = Spec.mlp(n_in, widths, 10)
        if best is None or abs(spec.n_params - target) < abs(best.n_params - target):
            best = spec
    assert best is not None
    return best


def units(args: argparse.Namespace, data: Splits) -> dict[str, Any]:
    n_in = data.X_train.shape[1]
    spec = Spec.mlp(n_in, args.hidden, 10)
    runs, fixed = [], []
    for eps0 in UNIT_PENALTIES:
        for seed in args.seeds:
            r = run_asng(spec, data, args, eps0, seed, "units", 0.01)
            runs.append(r)
            small = uniform_mlp(n_in, args.hidden, r["n_params"])
            acc = train_fixed(Network.init(small, seed=seed), data, args.epochs, 0.01, seed)
            fixed.append(
                {
                    "penalty": eps0,
                    "seed": seed,
                    "usage": small.n_params / spec.n_params,
                    "widths": [small.widths[f"dense_{i}"] for i in range(len(args.hidden))],
                    "test_accuracy": acc,
                }
            )
            print(
                f"eps0 {eps0:+.5f} seed {seed}: usage {r['usage']:.3f} acc {r['test_accuracy']:.4f}"
                f" kept {list(r['kept'].values())} | fixed {fixed[-1]['usage']:.3f} {acc:.4f}"
                f" ({r['seconds']:.0f} s)",
                flush=True,
            )
    full = [train_fixed(Network.init(spec, seed=s), data, args.epochs, 0.01, s) for s in args.seeds]
    dropout = [
        train_fixed(Network.init(spec, seed=s), data, args.epochs, 0.01, s, dropout=0.5)
        for s in args.seeds
    ]
    return {"asng": runs, "fixed": fixed, "full": full, "dropout": dropout, "spec": spec.to_dict()}


def random_structure(enc: Any, target: float, rng: np.random.Generator) -> np.ndarray:
    full = enc.spec.n_params
    q = target
    for _ in range(4000):
        m = rng.random(enc.d) < q
        for idx in enc.groups.values():
            if not m[idx].any():
                m[rng.choice(idx)] = True
        usage = enc.n_params(m) / full
        if abs(usage - target) <= 0.015:
            return m
        q = float(np.clip(q + 0.05 * (target - usage), 0.01, 0.99))
    raise RuntimeError(f"no random structure within 1.5 % of usage {target:.3f}")


def connections(args: argparse.Namespace, data: Splits) -> dict[str, Any]:
    spec = Spec.densenet(
        data.X_train.shape[1:], 10, growth=args.growth, blocks=args.blocks, stem_channels=args.stem
    )
    enc = encode(spec, "connections")
    runs, rand = [], []
    for eps0 in CONNECTION_PENALTIES:
        for seed in args.seeds:
            r = run_asng(spec, data, args, eps0, seed, "connections", 0.1)
            runs.append(r)
            m = random_structure(enc, r["usage"], np.random.default_rng(1000 + seed))
            small, _ = remove(Network.init(spec, seed=seed), enc, m)
            acc = train_fixed(Network.init(small.spec, seed=seed), data, args.epochs, 0.1, seed)
            rand.append(
                {
                    "penalty": eps0,
                    "seed": seed,
                    "usage": small.n_params / spec.n_params,
                    "test_accuracy": acc,
                    "kept": int(m.sum()),
                }
            )
            print(
                f"eps0 {eps0:+.4f} seed {seed}: usage {r['usage']:.3f} acc {r['test_accuracy']:.4f}"
                f" kept {list(r['kept'].values())} | random {rand[-1]['usage']:.3f} {acc:.4f}"
                f" ({r['seconds']:.0f} s)",
                flush=True,
            )
    full = [train_fixed(Network.init(spec, seed=s), data, args.epochs, 0.1, s) for s in args.seeds]
    return {"asng": runs, "random": rand, "full": full, "d": enc.d, "spec": spec.to_dict()}


def med(rows: list[dict[str, Any]], key: str, eps0: float) -> float:
    return float(statistics.median(r[key] for r in rows if r["penalty"] == eps0))


def report(part: str, out: dict[str, Any]) -> dict[str, bool]:
    runs = out["asng"]
    base = out["fixed" if part == "units" else "random"]
    pens = UNIT_PENALTIES if part == "units" else CONNECTION_PENALTIES
    groups = list(runs[0]["kept"])
    print(
        f"\n| ε₀ | weight usage | ASNG test acc | {'fixed' if part == 'units' else 'random'} "
        f"test acc (same usage) | kept per {'layer' if part == 'units' else 'merge'} (median) |"
    )
    print("|---|---|---|---|---|")
    for p in pens:
        kept = [statistics.median(r["kept"][g] for r in runs if r["penalty"] == p) for g in groups]
        print(
            f"| {p:g} | {med(runs, 'usage', p):.1%} | {med(runs, 'test_accuracy', p):.4f} | "
            f"{med(base, 'test_accuracy', p):.4f} ({med(base, 'usage', p):.1%}) | "
            f"{' / '.join(f'{k:g}' for k in kept)} |"
        )
    print(f"| full network | 100% | | {statistics.median(out['full']):.4f} | |")
    if "dropout" in out:
        print(f"| full network, dropout 0.5 | 100% | | {statistics.median(out['dropout']):.4f} | |")
    usage = [med(runs, "usage", p) for p in pens]
    print("median usage from the largest ε₀ down:", [round(u, 4) for u in usage])
    claims = {
        "usage falls monotonically with ε₀": all(a <= b for a, b in itertools.pairwise(usage))
    }
    above = [p for p in pens if med(runs, "usage", p) >= 0.25]
    claims["at >= 25 % usage ASNG is at least as accurate as the baseline of equal size"] = all(
        med(runs, "test_accuracy", p) >= med(base, "test_accuracy", p) for p in above
    )
    if part == "units":
        pos = [p for p in pens if p > 0]
        first = [med([{**r, "k": r["kept"][groups[0]]} for r in runs], "k", p) for p in pos]
        later = [
            max(med([{**r, "k": r["kept"][g]} for r in runs], "k", p) for g in groups[1:])
            for p in pos
        ]
        claims["later hidden layers lose more units than the first"] = all(
            lt <= f for lt, f in zip(later, first, strict=True)
        )
    for claim, ok in claims.items():
        print(f"- {claim}: {'yes' if ok else 'NO'}")
    return claims


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("part", choices=("units", "connections"))
    ap.add_argument("--dataset", choices=("digits", "fashion"), default="digits")
    ap.add_argument("--epochs", type=int, default=60, help="ASNG epochs (baselines: twice)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--hidden", type=int, nargs=3, default=[128, 128, 128])
    ap.add_argument("--growth", type=int, default=6)
    ap.add_argument("--blocks", type=int, nargs="+", default=[3, 3])
    ap.add_argument("--stem", type=int, default=12)
    ap.add_argument("--subset", type=int, default=6000, help="Fashion-MNIST training images")
    ap.add_argument("--test-subset", type=int, default=2000, help="Fashion-MNIST test images")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    neuroplast.set_num_threads(args.threads)
    data = splits_for(args)
    t = time.perf_counter()
    out = units(args, data) if args.part == "units" else connections(args, data)
    out["claims"] = report(args.part, out)
    out["settings"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    out["environment"] = {
        "python": platform.python_version(),
        "threads": args.threads,
        "seconds": time.perf_counter() - t,
        "machine": platform.machine(),
    }
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
