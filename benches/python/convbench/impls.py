"""neuroplast, NumPy and PyTorch training epochs behind one sampler interface (see
``mlpbench.timing.interleave``), and the correctness checks run before anything is timed.

An "epoch" here is one pass of SGD steps over the layer's batches, from the same initial
parameters for every implementation; per-step times are epoch times divided by the number of
batches.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from convbench import reference
from convbench.layers import LR, Layer
from mlpbench.timing import calibrate, measure


class Sampler:
    """Runs epochs of one implementation: ``setup()`` gives fresh state, ``body(state)`` runs
    the epoch and returns its mean loss."""

    def setup(self) -> Any:
        raise NotImplementedError

    def body(self, state: Any) -> float:
        raise NotImplementedError

    def calibrate(self, batch: int, sample_s: float) -> int:
        return calibrate(self.setup, self.body, sample_s)

    def sample(self, batch: int, inner: int) -> dict[str, Any]:
        return measure(self.setup, self.body, inner)


class Neuroplast(Sampler):
    def __init__(self, npl: Any, layer: Layer, x: np.ndarray, t: np.ndarray) -> None:
        self.npl, self.x, self.t, self.batch = npl, x, t, layer.batch
        self.net0 = npl.Network.init(layer.spec(npl), seed=0)

    def setup(self) -> Any:
        return self.net0.copy()

    def body(self, net: Any) -> float:
        opt = self.npl.SGD(lr=LR)
        hist = net.fit(
            self.x, self.t, epochs=1, batch_size=self.batch, optimizer=opt, shuffle=False
        )
        return float(hist.loss[0])


class NumPy(Sampler):
    def __init__(self, layer: Layer, params: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray):
        self.layer, self.params, self.x, self.t = layer, params, x, t

    def setup(self) -> Any:
        return self.params["conv.weight"].copy(), self.params["conv.bias"].copy()

    def body(self, state: Any) -> float:
        w, b = state
        ly = self.layer
        bs = ly.batch
        losses = [
            reference.sgd_step(
                self.x[i : i + bs],
                self.t[i : i + bs],
                w,
                b,
                ly.pad,
                ly.groups,
                ly.input_grad,
                LR,
            )
            for i in range(0, len(self.x), bs)
        ]
        return float(np.mean(losses))


class Torch(Sampler):
    """Forward with ``F.conv2d`` and the backward kernel ``aten.convolution_backward`` called
    directly (no autograd bookkeeping), so PyTorch does exactly the benchmark's math."""

    def __init__(self, layer: Layer, params: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray):
        import torch

        self.torch, self.layer = torch, layer
        self.params = {k: torch.from_numpy(v.copy()) for k, v in params.items()}
        self.x, self.t = torch.from_numpy(x), torch.from_numpy(t)

    def setup(self) -> Any:
        return self.params["conv.weight"].clone(), self.params["conv.bias"].clone()

    def step(self, x: Any, t: Any, w: Any, b: Any) -> tuple[float, Any, Any, Any]:
        torch, ly = self.torch, self.layer
        x2 = x + x if ly.input_grad else x
        y = torch.nn.functional.conv2d(x2, w, b, padding=ly.pad, groups=ly.groups)
        d = y.reshape(x.shape[0], -1) - t
        loss = float((d * d).mean())
        dy = ((2.0 / d.numel()) * d).reshape(y.shape)
        dx, dw, db = torch.ops.aten.convolution_backward(
            dy,
            x2,
            w,
            [w.shape[0]],
            [1, 1],
            [ly.pad, ly.pad],
            [1, 1],
            False,
            [0, 0],
            ly.groups,
            [ly.input_grad, True, True],
        )
        return loss, dx, dw, db

    def body(self, state: Any) -> float:
        w, b = state
        losses, bs = [], self.layer.batch
        with self.torch.no_grad():
            for i in range(0, len(self.x), bs):
                loss, _, dw, db = self.step(self.x[i : i + bs], self.t[i : i + bs], w, b)
                w -= LR * dw
                b -= LR * db
                losses.append(loss)
        return float(np.mean(losses))


def interleave(
    samplers: dict[str, Any], repeats: int, sample_s: float, gap_s: float, batch: int = 0
) -> dict[str, dict[str, Any]]:
    """``repeats`` rounds of one timed sample per implementation, the order rotated every
    round. Unlike ``mlpbench.timing.interleave`` it never waits for an idle machine (a shared
    one may not become idle): every sample is kept, with the share of the CPUs other processes
    used meanwhile, and the summary gives the median and the minimum. ``batch`` is passed on
    to the samplers' ``calibrate`` / ``sample`` (``Sampler`` ignores it; ``mlpbench.local.Local``
    needs it)."""
    labels = list(samplers)
    inner = {k: samplers[k].calibrate(batch, sample_s) for k in labels}  # includes a warm-up
    recs: dict[str, list[dict[str, Any]]] = {k: [] for k in labels}
    for rnd in range(repeats):
        for k in labels[rnd % len(labels) :] + labels[: rnd % len(labels)]:
            time.sleep(gap_s)
            recs[k].append(samplers[k].sample(batch, inner[k]))
    out = {}
    for k, rs in recs.items():
        times = [r["s"] for r in rs]
        shares = [r["others_cpu_share"] for r in rs if r["others_cpu_share"] is not None]
        out[k] = {
            "times_s": times,
            "median_s": statistics.median(times),
            "min_s": min(times),
            "epochs_per_sample": inner[k],
            "loss": rs[0]["loss"],
            "others_cpu_share_max": max(shares, default=None),
            "others_cpu_share_median": statistics.median(shares) if shares else None,
        }
    return out


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(b)), 1e-30))


GRAD_TOL = 1e-4  # relative L2 error of outputs and gradients between implementations


def check(npl: Any, layer: Layer, x: np.ndarray, t: np.ndarray, torch_ok: bool) -> dict[str, float]:
    """Asserts that all implementations agree on one batch (outputs, weight and bias
    gradients; the input gradient between NumPy and PyTorch) and after one epoch of SGD steps
    (parameters); returns the measured relative errors."""
    bs = layer.batch
    xb, tb = x[:bs], t[:bs]
    x2 = xb + xb if layer.input_grad else xb
    net = npl.Network.init(layer.spec(npl), seed=0)
    p = {k: np.asarray(v) for k, v in net.params.items()}
    w, b = p["conv.weight"], p["conv.bias"]
    y_ref = reference.forward(x2, w, b, layer.pad, layer.groups).reshape(bs, -1)
    dy = (2.0 / y_ref.size) * (y_ref - tb)
    oh = layer.out_size
    dw, db, dx = reference.backward(
        x2, w, dy.reshape(bs, -1, oh, oh), layer.pad, layer.groups, layer.input_grad
    )
    _, grads = net.gradients(xb, tb)
    err = {
        "forward_np": _rel(net.forward(xb), y_ref),
        "dweight_np": _rel(grads["conv.weight"], dw),
        "dbias_np": _rel(grads["conv.bias"], db),
    }
    ref_epoch = NumPy(layer, p, x, t)
    w1, b1 = ref_epoch.setup()
    ref_epoch.body((w1, b1))
    trained = net.copy()
    Neuroplast(npl, layer, x, t).body(trained)
    theta_np = np.concatenate([trained.params["conv.weight"].ravel(), trained.params["conv.bias"]])
    theta_ref = np.concatenate([w1.ravel(), b1])
    theta0 = np.concatenate([w.ravel(), b])
    err["epoch_params_np"] = _rel(theta_np, theta_ref)
    err["epoch_update_np"] = _rel(theta_np - theta0, theta_ref - theta0)
    if torch_ok:
        tr = Torch(layer, p, x, t)
        import torch

        _, tdx, tdw, tdb = tr.step(torch.from_numpy(xb), torch.from_numpy(tb), *tr.setup())
        err["dweight_torch"] = _rel(tdw.numpy(), dw)
        err["dbias_torch"] = _rel(tdb.numpy(), db)
        if dx is not None:
            err["dx_np_vs_torch"] = _rel(dx, tdx.numpy())
    for k, v in err.items():
        tol = 1e-2 if k == "epoch_update_np" else GRAD_TOL
        assert v <= tol, f"{layer.name}: {k} relative error {v:.2e} > {tol:g}"
    return err
