"""Surgeon (seed 001) vs baseline on the paper's starting topologies, 5 seeds per cell.

Run from the repository root::

    python benches/python/surgeon_results.py                       # every cell (long)
    python benches/python/surgeon_results.py --datasets digits     # one data set
    python benches/python/surgeon_results.py --table               # print the table only

Per data set, topology (Table 2: small 10, medium 10-10-10, large 300-100-100, ReLU, dense
output) and seed (6, 63, 72, 77, 97, the paper's): the network ``Spec.mlp`` initialised with the
seed is run through :class:`neuroplast.search.surgeon.Surgeon` and, separately, trained as the
baseline for the same number of epochs with the same SGD settings and batch stream. The data
split is fixed (data seed 0). As in the paper (whose validation sets are the official test
sets), the official test split is passed to the Surgeon as its *validation* split
(``Splits(X_train, y_train, X_test, y_test)``): this reproduces the paper's protocol; the
library itself never decides on a test split.

Settings per data set (``--preset``, default ``paper``: SGD lr 0.005, batch 16, 100 epochs,
decisions every 10, 2 branches, 2 re-draws, 25 recuperation batches):

* digits (1437/360): the paper's settings unchanged;
* mnist1d (4000/1000): the paper's settings unchanged;
* fashion-mnist: a stratified subset of ``--fashion-train`` training samples (default 6000)
  and ``--fashion-val`` validation samples (default 2000) of the official splits, paper
  settings otherwise.

Results are appended to ``--out`` (JSON, one record per run; runs already there are skipped,
so an interrupted call continues) and the markdown table (mean ± sample std over seeds) is
printed: validation accuracy of the baseline and of the Surgeon, the Surgeon's parameter
change in percent of the starting network, and the epochs trained (the baseline: the total;
the Surgeon: all branches and candidates together).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

SEEDS = (6, 63, 72, 77, 97)
TOPOLOGIES = {"small": (10,), "medium": (10, 10, 10), "large": (300, 100, 100)}
DATASETS = ("digits", "fashion-mnist", "mnist1d")
OUT = Path("benches/results/surgeon_results.json")


def _load(name: str, args: argparse.Namespace) -> Any:
    from neuroplast import data

    if name == "fashion-mnist":
        return data.load(name, seed=0, n_train=args.fashion_train, n_test=args.fashion_val)
    return data.load(name, seed=0)


def _one(task: tuple[str, str, int, dict[str, Any]]) -> dict[str, Any]:
    """One seed of one cell: Surgeon and baseline (runs in a worker process)."""
    import neuroplast
    from neuroplast import Network, Spec
    from neuroplast.search import Splits
    from neuroplast.search.surgeon import Surgeon, SurgeonConfig, baseline, widths

    name, topo, seed, opts = task
    neuroplast.set_num_threads(opts["threads"])
    ds = _load(name, argparse.Namespace(**opts))
    cfg = SurgeonConfig.preset(opts["preset"], memory=opts["memory"])
    if opts["recuperation_batches"] is not None:
        cfg = cfg.replace(recuperation_batches=opts["recuperation_batches"])
    net = Network.init(Spec.mlp(ds.n_features, list(TOPOLOGIES[topo]), ds.n_classes), seed=seed)
    # The paper's protocol: the official test split is the validation split.
    data = Splits(ds.X_train, ds.y_train, ds.X_test, ds.y_test, name=ds.name)
    t0 = time.perf_counter()
    res = Surgeon(cfg).run(net, data, seed=seed, progress=False)
    t1 = time.perf_counter()
    base, _ = baseline(net, data, cfg, seed=seed)
    t2 = time.perf_counter()
    return {
        "dataset": name,
        "topology": topo,
        "seed": seed,
        "preset": opts["preset"],
        "recuperation_batches": cfg.recuperation_batches,
        "memory": cfg.memory,
        "n_train": len(ds.X_train),
        "n_val": len(ds.X_test),
        "baseline_accuracy": float(base.evaluate(ds.X_test, ds.y_test)["accuracy"]),
        "surgeon_accuracy": res.val_accuracy,
        "param_change_pct": 100.0 * (res.param_fraction - 1.0),
        "n_params_initial": res.n_params_initial,
        "n_params_final": res.n_params,
        "hidden_final": list(widths(res.network)),
        "changes": [list(c) for c in res.changes],
        "epochs_baseline": cfg.total_epochs,
        "epochs_surgeon": res.epochs_trained,
        "redraws": sum(d.attempts - 1 for d in res.decisions),
        "decisions": len(res.decisions),
        "seconds_surgeon": t1 - t0,
        "seconds_baseline": t2 - t1,
        "threads": opts["threads"],
    }


def _key(r: dict[str, Any]) -> tuple[str, str, int, str, int, bool]:
    return (
        r["dataset"],
        r["topology"],
        r["seed"],
        r["preset"],
        r.get("recuperation_batches", 25),
        r.get("memory", False),
    )


def _store(out: Path, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Adds ``rec`` to the JSON file ``out`` (re-read first: other invocations may add too)."""
    records: list[dict[str, Any]] = json.loads(out.read_text()) if out.exists() else []
    records = [r for r in records if _key(r) != _key(rec)] + [rec]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(records, indent=1))
    os.replace(tmp, out)
    return records


def _ms(xs: list[float], digits: int = 3) -> str:
    a = np.asarray(xs, dtype=np.float64)
    std = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return f"{a.mean():.{digits}f} ± {std:.{digits}f}"


def table(records: list[dict[str, Any]]) -> str:
    """The markdown table of the records (mean ± sample std over seeds per cell)."""
    head = (
        "| data set | topology | recup. batches | memory | seeds | baseline val. acc. | "
        "Surgeon val. acc. | "
        "Surgeon − baseline | param. change [%] | epochs baseline | epochs Surgeon | "
        "final hidden widths |\n" + "|---" * 12 + "|\n"
    )
    rows = []
    variants = sorted({_key(r)[4:] for r in records}, key=lambda v: (-v[0], v[1]))
    for name, v, topo in ((d, v, t) for d in DATASETS for v in variants for t in TOPOLOGIES):
        rs = [r for r in records if _key(r)[:2] == (name, topo) and _key(r)[4:] == v]
        if rs:
            diff = [r["surgeon_accuracy"] - r["baseline_accuracy"] for r in rs]
            finals = ", ".join("-".join(map(str, r["hidden_final"])) or "none" for r in rs)
            rows.append(
                f"| {name} | {topo} | {v[0]} | {'yes' if v[1] else 'no'} | {len(rs)} | "
                f"{_ms([r['baseline_accuracy'] for r in rs])} | "
                f"{_ms([r['surgeon_accuracy'] for r in rs])} | {_ms(diff)} | "
                f"{_ms([r['param_change_pct'] for r in rs], 1)} | {rs[0]['epochs_baseline']} | "
                f"{_ms([r['epochs_surgeon'] for r in rs], 0)} | {finals} |"
            )
    return head + "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument("--topologies", nargs="+", default=list(TOPOLOGIES), choices=list(TOPOLOGIES))
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--preset", choices=("paper", "fast"), default="paper")
    p.add_argument(
        "--recuperation-batches",
        type=int,
        help="unit of recuperative training in batches (default: the preset's, paper 25)",
    )
    p.add_argument("--memory", action="store_true", help="the one-cycle memory (backtracking)")
    p.add_argument("--fashion-train", type=int, default=6000)
    p.add_argument("--fashion-val", type=int, default=2000)
    p.add_argument("--jobs", type=int, default=2, help="runs in parallel (1 engine thread each)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--table", action="store_true", help="print the table of --out and stop")
    args = p.parse_args()
    records: list[dict[str, Any]] = json.loads(args.out.read_text()) if args.out.exists() else []
    if not args.table:
        recup = args.recuperation_batches or (25 if args.preset == "paper" else 10)
        done = {_key(r) for r in records}
        opts = {"preset": args.preset, "fashion_train": args.fashion_train,
                "fashion_val": args.fashion_val, "threads": 1,
                "recuperation_batches": args.recuperation_batches,
                "memory": args.memory}  # fmt: skip
        tasks = [
            (d, t, s, opts)
            for d in args.datasets
            for t in args.topologies
            for s in args.seeds
            if (d, t, s, args.preset, recup, args.memory) not in done
        ]
        with ProcessPoolExecutor(args.jobs) as pool:
            for rec in pool.map(_one, tasks):
                records = _store(args.out, rec)
                print(
                    f"{rec['dataset']:>13} {rec['topology']:>6} seed {rec['seed']:>2}: "
                    f"baseline {rec['baseline_accuracy']:.4f} surgeon {rec['surgeon_accuracy']:.4f}"
                    f" params {rec['param_change_pct']:+.1f}% epochs {rec['epochs_surgeon']:.0f}"
                    f" ({rec['seconds_surgeon']:.0f}+{rec['seconds_baseline']:.0f} s)",
                    flush=True,
                )
    print(f"machine: {platform.processor() or platform.machine()}, preset {args.preset}")
    print(table(records))


if __name__ == "__main__":
    main()
