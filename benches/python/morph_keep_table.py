"""Accuracy right after narrowing a trained digits 64-100-10 MLP, per removal method, no retraining.

Run from the repository root::

    python benches/python/morph_keep_table.py                 # ReLU hidden layer (default)
    python benches/python/morph_keep_table.py --activation sigmoid

Trains ``Spec.mlp(64, [100], 10)`` on ``neuroplast.data.load("digits", seed=0)`` (Adam, lr 1e-3,
batch 32, 30 epochs, seed 0), then keeps 90 / 50 / 10 of the 100 hidden neurons with each
method of :func:`neuroplast.morph.narrow` and reports the test accuracy immediately after.
Calibration data (selection rules, least-squares compensation) is the training set. Prints a
markdown table and writes ``benches/results/morph_keep_table.json``. Target: a test accuracy
drop of at most 0.015 at 50 kept neurons with the best method (reported, not asserted).
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
from neuroplast.morph import narrow

KEEPS = (90, 50, 10)
#: Row label → keyword arguments of ``narrow`` (besides ``keep``).
METHODS: dict[str, dict[str, Any]] = {
    "quasi_identity (seed 000)": {"method": "quasi_identity"},
    "svd (seed 001)": {"method": "svd"},
    "select magnitude_std": {"method": "select", "select": "magnitude_std"},
    "select magnitude_std + lstsq": {
        "method": "select",
        "select": "magnitude_std",
        "compensate": "lstsq",
    },
    "select cosine (DYNO) + lstsq": {"method": "select", "select": "cosine", "compensate": "lstsq"},
    "select low_energy + lstsq": {
        "method": "select",
        "select": "low_energy",
        "compensate": "lstsq",
    },
    "quasi_identity + lstsq": {"method": "quasi_identity", "compensate": "lstsq"},
    "svd + lstsq": {"method": "svd", "compensate": "lstsq"},
}


def main() -> None:
    """Trains, narrows, prints the table and writes the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="benches/results/morph_keep_table.json")
    args = parser.parse_args()
    ds = load("digits", seed=0)
    X, y = ds.flat("train"), ds.y_train
    Xt, yt = ds.flat("test"), ds.y_test
    net = Network.init(Spec.mlp(64, [100], 10, activation=args.activation), seed=0)
    t0 = time.perf_counter()
    net.fit(X, y, epochs=args.epochs, batch_size=32, optimizer=Adam(lr=1e-3), seed=0)
    train_s = time.perf_counter() - t0
    base = float(net.evaluate(Xt, yt)["accuracy"])
    rows: dict[str, dict[str, float]] = {}
    for label, kw in METHODS.items():
        rows[label] = {}
        for k in KEEPS:
            small, _ = narrow(net, "dense_0", keep=k, calibration=(X, None), **kw)
            rows[label][str(k)] = float(small.evaluate(Xt, yt)["accuracy"])
    best = max(rows, key=lambda r: rows[r]["50"])
    drop = base - rows[best]["50"]
    print(f"digits 64-100-10 {args.activation} MLP, test accuracy {base:.4f} before narrowing\n")
    print("| method | keep 90 | keep 50 | keep 10 |")
    print("|---|---|---|---|")
    for label, accs in rows.items():
        print(f"| {label} | " + " | ".join(f"{accs[str(k)]:.4f}" for k in KEEPS) + " |")
    met = "met" if drop <= 0.015 else "missed"
    print(f"\nbest at 50: {best} (drop {drop:.4f}; target <= 0.015: {met})")
    out = {
        "setup": {
            "dataset": "digits (seed 0 split)",
            "n_train": int(ds.n_train),
            "n_test": int(ds.n_test),
            "spec": "mlp 64-100-10",
            "activation": args.activation,
            "epochs": args.epochs,
            "optimizer": "Adam(lr=1e-3), batch 32, seed 0",
            "calibration": "training set",
            "train_seconds": train_s,
            "neuroplast": neuroplast.__version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "test_accuracy_before": base,
        "test_accuracy_after": rows,
        "best_at_50": {"method": best, "drop": drop, "target": 0.015, "met": drop <= 0.015},
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
