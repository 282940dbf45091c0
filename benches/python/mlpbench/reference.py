"""The plain float32 NumPy reference MLP and how its results are compared with neuroplast's.

Shared by the orchestrator and the worker subprocesses.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

GEMM_LIMIT_GFLOPS = 430.0  # f32 GEMM limit quoted for the reference machine (2 threads)
PARAM_RTOL = 1e-4  # ||a - b|| / ||b|| over all parameters after one epoch (see compare_params)
UPDATE_RTOL = 1e-2  # ||a - b|| / ||b - init||: catches wrong lr / scaling / missing terms
LOSS_RTOL = 1e-3  # epoch training loss of the timed full epochs vs neuroplast's

Layers = list[tuple[np.ndarray, np.ndarray]]


def layer_names(n_layers: int) -> list[str]:
    return [f"dense_{i}" for i in range(n_layers - 1)] + ["output"]


def param_list(params: dict[str, np.ndarray], n_layers: int) -> Layers:
    """Fresh, writable float32 copies ``[(W, b), ...]`` in layer order."""
    return [
        (
            np.array(params[f"{n}.weight"], dtype=np.float32, order="C"),
            np.array(params[f"{n}.bias"], dtype=np.float32, order="C"),
        )
        for n in layer_names(n_layers)
    ]


def param_dict(layers: Layers) -> dict[str, np.ndarray]:
    out = {}
    for name, (w, b) in zip(layer_names(len(layers)), layers, strict=True):
        out[f"{name}.weight"], out[f"{name}.bias"] = np.asarray(w), np.asarray(b)
    return out


def compare_params(
    got: dict[str, np.ndarray], ref: dict[str, np.ndarray], init: dict[str, np.ndarray]
) -> dict[str, float]:
    """Relative errors of all parameters (and of the epoch's update) vs a reference.

    ``param_rel_err`` = ||got - ref|| / ||ref|| and ``update_rel_err`` = ||got - ref|| /
    ||ref - init||, both over all parameters concatenated (float64 L2 norms). Global norms
    are used on purpose: a ReLU pre-activation within rounding distance of 0 can flip between
    two float32 GEMM summation orders (e.g. OpenBLAS on 1 vs 2 threads) and legitimately change
    a single bias entry by ``lr * grad``, which would dominate a per-element or per-bias metric.
    ``max_tensor_update_rel_err`` (per tensor, informational) shows that effect. A 1 % error
    in the learning rate gives ``update_rel_err`` ~1.4e-2 and fails the check.
    """
    diff2 = ref2 = upd2 = 0.0
    worst = 0.0
    for k, r in ref.items():
        r64 = np.asarray(r, np.float64).ravel()
        d = np.asarray(got[k], np.float64).ravel() - r64
        u = r64 - np.asarray(init[k], np.float64).ravel()
        dn, un = float(d @ d), float(u @ u)
        diff2, ref2, upd2 = diff2 + dn, ref2 + float(r64 @ r64), upd2 + un
        worst = max(worst, math.sqrt(dn / max(un, 1e-300)))
    return {
        "param_rel_err": math.sqrt(diff2 / max(ref2, 1e-300)),
        "update_rel_err": math.sqrt(diff2 / max(upd2, 1e-300)),
        "max_tensor_update_rel_err": worst,
    }


def check_ok(err: dict[str, float]) -> bool:
    return err["param_rel_err"] <= PARAM_RTOL and err["update_rel_err"] <= UPDATE_RTOL


def train_flops(dims: list[int], n_samples: int) -> int:
    """Training FLOPs of one epoch: forward, dW and dX GEMMs (no dX for the first layer)."""
    macs = [a * b for a, b in itertools.pairwise(dims)]
    return 2 * n_samples * (3 * sum(macs) - macs[0])


def numpy_epoch(layers: Layers, x: np.ndarray, y: np.ndarray, batch: int, lr: float) -> float:
    """One epoch of minibatch SGD in plain float32 NumPy; returns the mean pre-update loss.

    This is the timed NumPy code, so it stays one function, exactly as measured before.
    """
    lr32 = np.float32(lr)
    n = x.shape[0]
    n_layers = len(layers)
    loss_sum = 0.0
    for start in range(0, n, batch):
        xb, yb = x[start : start + batch], y[start : start + batch]
        m = xb.shape[0]
        acts = [xb]
        a = xb
        for i, (w, b) in enumerate(layers):
            z = a @ w.T
            z += b
            if i < n_layers - 1:
                np.maximum(z, 0.0, out=z)
                acts.append(z)
            a = z
        logits = a
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        s = p.sum(axis=1, keepdims=True)
        rows = np.arange(m)
        loss_sum += float(np.log(s[:, 0], dtype=np.float64).sum() - logits[rows, yb].sum())
        p /= s
        p[rows, yb] -= 1.0
        p *= np.float32(1.0 / m)
        g = p
        for i in range(n_layers - 1, -1, -1):
            w, b = layers[i]
            dw = g.T @ acts[i]
            db = g.sum(axis=0)
            if i > 0:
                g_prev = g @ w  # uses the weights before this step's update
                g_prev *= acts[i] > 0
            dw *= lr32
            w -= dw
            db *= lr32
            b -= db
            if i > 0:
                g = g_prev
    return loss_sum / n
