"""End to end: a PyTorch CNN on Fashion-MNIST, imported, compressed, exported to ONNX.

Run from the repository root (needs ``pip install 'neuroplast[torch,onnx]'`` and
``dataset-fashion-mnist``)::

    python benches/python/interop_fashion.py

1. Trains a small CNN in PyTorch (conv-BN-ReLU-pool ×2, dense 64; Adam 1e-3, batch 128,
   ``--epochs`` epochs on ``--train`` training images, the rest of the 60 000 unused).
2. ``neuroplast.interop.from_torch`` (checked: same logits), then ``neuroplast.compress``
   (``--max-drop`` on a validation split carved from the training images): data-aware
   narrowing of channels and units, least-squares refits, distillation fine-tuning.
3. ``neuroplast.interop.to_onnx`` for both networks; onnxruntime latency per batch of 256
   (median of ``--repeats``, one thread and two), and parameters, FLOPs and test accuracy on
   the 10 000 test images before and after. Writes ``benches/results/interop_fashion.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import neuroplast as npl
from mlpbench.environment import cpu_info
from neuroplast import interop
from neuroplast.search import Splits

RESULTS = Path(__file__).resolve().parents[1] / "results"


def train_torch(X: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs, ys = torch.from_numpy(X), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(xs), generator=gen)
        for i in range(0, len(xs), 128):
            idx = order[i : i + 128]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xs[idx]), ys[idx]).backward()
            opt.step()
    return model.eval()


def latency(path: str, X: np.ndarray, threads: int, repeats: int) -> float:
    """Median seconds of one onnxruntime run on ``X``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    sess.run(None, {name: X})
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, {name: X})
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def describe(net: npl.Network, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {
        "n_params": net.n_params,
        "flops": net.flops,
        "test_accuracy": float(np.mean(net.predict(X) == y)),
        "widths": {k: v for k, v in net.spec.widths.items() if not k.startswith("output")},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-drop", type=float, default=0.01)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--no-factorize", action="store_true", help="compress by narrowing only (factorize=False)"
    )
    args = p.parse_args()
    ds = npl.data.load("fashion-mnist", seed=args.seed)
    X = ds.X_train_images[: args.train].astype(np.float32)
    y = ds.y_train[: args.train]
    Xt, yt = ds.X_test_images.astype(np.float32), ds.y_test
    t0 = time.perf_counter()
    model = train_torch(X, y, args.epochs, args.seed)
    torch_seconds = time.perf_counter() - t0
    import torch

    net = interop.from_torch(model, torch.from_numpy(X[:1]))

    with torch.no_grad():
        gap = float(np.abs(model(torch.from_numpy(Xt[:512])).numpy() - net.forward(Xt[:512])).max())
    assert gap < 1e-3, gap
    data = Splits.carve(X, y, seed=args.seed, X_test=Xt, y_test=yt, name="fashion-mnist")
    t0 = time.perf_counter()
    res = npl.compress(
        net, data, max_drop=args.max_drop, seed=args.seed, factorize=not args.no_factorize
    )
    compress_seconds = time.perf_counter() - t0
    out: dict[str, Any] = {
        "torch_train_seconds": torch_seconds,
        "compress_seconds": compress_seconds,
        "max_abs_logit_gap_import": gap,
        "before": describe(net, Xt, yt),
        "after": describe(res.network, Xt, yt),
        "val_accuracy": [res.before["val_accuracy"], res.after["val_accuracy"]],
        "edits": len(res.edits),
        "machine": {**cpu_info(), "os": platform.platform()},
    }
    batch = Xt[:256]
    with tempfile.TemporaryDirectory() as tmp:
        for key, which in (("before", net), ("after", res.network)):
            path = os.path.join(tmp, f"{key}.onnx")
            interop.to_onnx(which, path)
            for threads in (1, 2):
                ms = 1e3 * latency(path, batch, threads, args.repeats)
                out[key][f"onnxruntime_ms_batch256_{threads}t"] = ms
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "interop_fashion.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
