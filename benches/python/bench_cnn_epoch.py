"""One training epoch of the Fashion-MNIST CNN: neuroplast vs a NumPy im2col reference (and
PyTorch CPU if installed), at the same thread count.

Run from the repository root::

    python benches/python/bench_cnn_epoch.py --out benches/results/bench_cnn_epoch.json
    python benches/python/bench_cnn_epoch.py --quick                       # smoke run

The network is ``Spec.cnn((1, 28, 28), [16, 32], 10, hidden=[64])`` (3×3 'same' conv + ReLU
+ 2×2 max pool, twice; flatten; dense 64 ReLU; dense 10), trained with plain SGD (lr 0.01, no
momentum), batch 64, no shuffling, on the 60000 training images of
``neuroplast.data.load("fashion-mnist", seed=0)``. Every implementation starts from
neuroplast's initial parameters. Before anything is timed, one SGD step on the first batch is
run by each and the updated parameters must agree (relative L2 error <= 1e-4).

neuroplast and PyTorch (``nn.Sequential`` + autograd + ``torch.optim.SGD``) run full epochs.
The NumPy reference (``convbench.cnn_reference``) is too slow for that: it runs the first
``--numpy-batches`` batches and its epoch time is *extrapolated* (× batches per epoch / timed
batches), which the table marks. Each thread count runs in its own subprocess with the BLAS /
OpenMP thread variables set before NumPy and PyTorch are imported; samples are taken
round-robin (order rotated each round) and every sample records the share of the CPUs other
processes used meanwhile (the machine may be shared). Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from convbench.orchestrate import run_threads as run_child_process
from convbench.report import emit
from mlpbench.environment import (
    blas_info,
    blas_limits,
    record_end,
    record_environment,
    torch_available,
)
from mlpbench.timing import cpu_busy_fraction, measure

CHANNELS, HIDDEN, N_CLASSES = [16, 32], [64], 10
BATCH, LR = 64, 0.01
STEP_TOL = 1e-4  # relative L2 error of the parameters after one SGD step
TARGETS = {"NumPy im2col": 5.0, "PyTorch": 1.0}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2048 images, one repeat: smoke run")
    ap.add_argument("--out", type=Path, default=None, help="write JSON results here")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--repeats", type=int, default=3, help="timed samples per implementation")
    ap.add_argument(
        "--numpy-batches", type=int, default=40, help="batches timed for the NumPy reference"
    )
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    return ap.parse_args()


# --------------------------------------------------------------------------- child process
def _torch_model(torch: Any, params: dict[str, np.ndarray]) -> Any:
    nn = torch.nn
    layers: list[Any] = []
    c_in = 1
    for c in CHANNELS:
        layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        c_in = c
    layers.append(nn.Flatten())
    f_in = c_in * (28 // 2 ** len(CHANNELS)) ** 2
    for h in HIDDEN:
        layers += [nn.Linear(f_in, h), nn.ReLU()]
        f_in = h
    layers.append(nn.Linear(f_in, N_CLASSES))
    model = nn.Sequential(*layers)
    names = [f"conv_{i}" for i in range(len(CHANNELS))]
    names += [f"dense_{i}" for i in range(len(HIDDEN))] + ["output"]
    mods = [m for m in model if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        for name, m in zip(names, mods, strict=True):
            m.weight.copy_(torch.from_numpy(params[f"{name}.weight"]))
            m.bias.copy_(torch.from_numpy(params[f"{name}.bias"]))
    return model, dict(zip(names, mods, strict=True))


def _torch_params(mods: dict[str, Any]) -> dict[str, np.ndarray]:
    out = {}
    for name, m in mods.items():
        out[f"{name}.weight"] = m.weight.detach().numpy().copy()
        out[f"{name}.bias"] = m.bias.detach().numpy().copy()
    return out


def _torch_epoch(torch: Any, model: Any, x: Any, y: Any, n_batches: int) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    total = 0.0
    for i in range(n_batches):
        xb, yb = x[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += float(loss.detach())
    return total / n_batches


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(b)), 1e-30))


def check_step(npl: Any, spec: Any, x: np.ndarray, y: np.ndarray, torch: Any) -> dict[str, Any]:
    """One SGD step on the first batch with every implementation; asserts the updated
    parameters agree with neuroplast's and returns the relative errors (of the parameters and,
    stricter, of the updates)."""
    from convbench import cnn_reference

    xb, yb = x[:BATCH], y[:BATCH]
    net = npl.Network.init(spec, seed=0)
    p0 = {k: np.array(v) for k, v in net.params.items()}
    net.fit(xb, yb, epochs=1, batch_size=BATCH, optimizer=npl.SGD(lr=LR), shuffle=False)
    ours = {k: np.asarray(v) for k, v in net.params.items()}
    others: dict[str, dict[str, np.ndarray]] = {}
    p_np = {k: v.copy() for k, v in p0.items()}
    cnn_reference.sgd_step(p_np, xb, yb, LR)
    others["NumPy im2col"] = p_np
    if torch is not None:
        model, mods = _torch_model(torch, p0)
        _torch_epoch(torch, model, torch.from_numpy(xb), torch.from_numpy(yb), 1)
        others["PyTorch"] = _torch_params(mods)
    errors: dict[str, Any] = {}
    for label, p in others.items():
        par = {k: _rel(p[k], ours[k]) for k in ours}
        upd = {k: _rel(p[k] - p0[k], ours[k] - p0[k]) for k in ours}
        bad = {k: e for k, e in par.items() if not e <= STEP_TOL}
        assert not bad, f"{label}: parameters after one SGD step differ from neuroplast's: {bad}"
        errors[label] = {"params_max": max(par.values()), "update_max": max(upd.values())}
    return errors


def run_child(threads: int, args: argparse.Namespace) -> None:
    import neuroplast as npl

    npl.set_num_threads(threads)
    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:
            torch = None
    spec = npl.Spec.cnn((1, 28, 28), CHANNELS, N_CLASSES, hidden=HIDDEN)
    ds = npl.data.load("fashion-mnist", seed=0)
    x = np.ascontiguousarray(ds.X_train_images, dtype=np.float32)
    y = np.asarray(ds.y_train, dtype=np.int64)
    if args.quick:
        x, y = x[:2048], y[:2048]
    n_batches = -(-len(x) // BATCH)
    np_batches = min(args.numpy_batches, n_batches)
    out: dict[str, Any] = {
        "threads": threads,
        "blas": blas_info(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "neuroplast_threads": npl.get_num_threads(),
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "n_train": len(x),
        "batches_per_epoch": n_batches,
        "numpy_batches_timed": np_batches,
    }
    from convbench import cnn_reference

    with blas_limits(threads):
        out["step_errors"] = check_step(npl, spec, x, y, torch)
        net0 = npl.Network.init(spec, seed=0)
        p0 = {k: np.array(v) for k, v in net0.params.items()}

        def npl_body(net: Any) -> float:
            hist = net.fit(
                x, y, epochs=1, batch_size=BATCH, optimizer=npl.SGD(lr=LR), shuffle=False
            )
            return float(hist.loss[0])

        def np_body(p: dict[str, np.ndarray]) -> float:
            losses = [
                cnn_reference.sgd_step(
                    p, x[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH], LR
                )
                for i in range(np_batches)
            ]
            return float(np.mean(losses))

        samplers: dict[str, tuple[Any, Any, int]] = {
            "neuroplast": (net0.copy, npl_body, n_batches),
            "NumPy im2col": (lambda: {k: v.copy() for k, v in p0.items()}, np_body, np_batches),
        }
        if torch is not None:
            tx, ty = torch.from_numpy(x), torch.from_numpy(y)
            samplers["PyTorch"] = (
                lambda: _torch_model(torch, p0)[0],
                lambda m: _torch_epoch(torch, m, tx, ty, n_batches),
                n_batches,
            )
        # Warm-up: a few batches of each (allocators, thread pools, torch kernels).
        net0.copy().fit(
            x[: 4 * BATCH],
            y[: 4 * BATCH],
            epochs=1,
            batch_size=BATCH,
            optimizer=npl.SGD(lr=LR),
            shuffle=False,
        )
        p_w = {k: v.copy() for k, v in p0.items()}
        cnn_reference.sgd_step(p_w, x[:BATCH], y[:BATCH], LR)
        if torch is not None:
            _torch_epoch(torch, _torch_model(torch, p0)[0], tx, ty, 4)
        labels = list(samplers)
        recs: dict[str, list[dict[str, Any]]] = {k: [] for k in labels}
        for rnd in range(1 if args.quick else args.repeats):
            for k in labels[rnd % len(labels) :] + labels[: rnd % len(labels)]:
                setup, body, _ = samplers[k]
                time.sleep(0.3)
                recs[k].append(measure(setup, body, 1))
    res = {}
    for k, rs in recs.items():
        timed = samplers[k][2]
        scale = n_batches / timed
        times = [r["s"] for r in rs]
        shares = [r["others_cpu_share"] for r in rs if r["others_cpu_share"] is not None]
        res[k] = {
            "batches_timed": timed,
            "extrapolated": timed < n_batches,
            "sample_s": times,
            "median_epoch_s": statistics.median(times) * scale,
            "min_epoch_s": min(times) * scale,
            "median_ms_per_batch": 1e3 * statistics.median(times) / timed,
            "mean_loss": rs[0]["loss"],
            "others_cpu_share_median": statistics.median(shares) if shares else None,
            "others_cpu_share_max": max(shares, default=None),
        }
    out["results"] = res
    print("RESULT " + json.dumps(out), flush=True)


# --------------------------------------------------------------------------- orchestrator
def run_threads(n: int, args: argparse.Namespace) -> dict[str, Any]:
    extra = (
        ["--repeats", str(args.repeats), "--numpy-batches", str(args.numpy_batches)]
        + ["--quick"] * args.quick
        + ["--no-torch"] * args.no_torch
    )
    return run_child_process(__file__, n, extra)


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| Threads | Implementation | Batches timed | Median s/epoch | Min s/epoch "
        "| ms/batch (median) | neuroplast speed-up (median) | Others' CPU share (median / max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        res = run["results"]
        ours = res["neuroplast"]["median_epoch_s"]
        for label, r in res.items():
            ratio = "—" if label == "neuroplast" else f"{r['median_epoch_s'] / ours:.2f}x"
            ext = " (extrapolated)" if r["extrapolated"] else ""
            med, mx = r["others_cpu_share_median"], r["others_cpu_share_max"]
            share = "?" if med is None else f"{100 * med:.0f}% / {100 * mx:.0f}%"
            lines.append(
                f"| {run['threads']} | {label} | {r['batches_timed']} of "
                f"{run['batches_per_epoch']} | {r['median_epoch_s']:.2f}{ext} | "
                f"{r['min_epoch_s']:.2f}{ext} | {r['median_ms_per_batch']:.2f} | {ratio} | "
                f"{share} |"
            )
    return "\n".join(lines)


def targets(runs: list[dict[str, Any]]) -> list[str]:
    out = []
    for run in runs:
        res = run["results"]
        ours = res["neuroplast"]["median_epoch_s"]
        for label, goal in TARGETS.items():
            if label in res:
                ratio = res[label]["median_epoch_s"] / ours
                verdict = "MET" if ratio >= goal else "MISSED"
                out.append(
                    f"- {run['threads']} thread(s): neuroplast vs {label} {ratio:.2f}x "
                    f"(target >= {goal:g}x: {verdict})"
                )
    return out


def main() -> None:
    args = parse_args()
    if args.child:
        run_child(args.child, args)
        return
    import neuroplast as npl

    busy = cpu_busy_fraction()
    torch_version = None if args.no_torch else torch_available()
    env = record_environment(npl, args.quick, torch_version, busy)
    runs = [run_threads(int(n), args) for n in args.threads.split(",")]
    record_end(env, cpu_busy_fraction())
    print(
        f"torch: {torch_version or 'not installed'}; OPENBLAS_CORETYPE="
        f"{os.environ.get('OPENBLAS_CORETYPE')}; neuroplast simd {npl.simd_level()}; "
        f"CPU busy at start {busy}"
    )
    for run in runs:
        print(f"{run['threads']} thread(s): one-step errors {run['step_errors']}")
    emit(env, runs, [table(runs), *targets(runs)], args.out)


if __name__ == "__main__":
    main()
