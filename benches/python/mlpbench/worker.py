"""The NumPy / PyTorch worker: a persistent subprocess speaking JSON lines on stdin/stdout.

The orchestrator (see ``remote``) starts ``bench_mlp.py --worker numpy|torch --job FILE`` with
``OPENBLAS_CORETYPE`` and the thread variables already in its environment, so they are set
before NumPy (or torch) is imported. Protocol: the worker first trains one epoch on the check
subset at each batch size and compares the parameters with neuroplast's (stored in the job
file); it then answers with one line, ``{"error": ...}`` or ``{"ready": true, "check": ...,
"env": ..., "blas": ...}``. After ``ready`` it answers one line per command line:
``{"cmd": "calibrate", "batch", "sample_s"}`` -> ``{"inner"}``, ``{"cmd": "sample", "batch",
"inner"}`` -> a ``timing.measure`` record, ``{"cmd": "sgemm", "size"}`` -> ``{"gflops"}``,
and ``{"cmd": "quit"}`` ends it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .environment import blas_info, blas_limits
from .reference import check_ok, compare_params, numpy_epoch, param_dict, param_list
from .timing import calibrate, measure

Fresh = Callable[[], Any]
Run = Callable[..., float]
ParamsOf = Callable[[Any], dict[str, np.ndarray]]


def sgemm_peak(size: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` GFLOP/s of one square float32 matmul through NumPy's BLAS."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    c = a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best / 1e9


def torch_impl(
    init: dict[str, np.ndarray], n_layers: int, lr: float, threads: int, info: dict[str, Any]
) -> tuple[Fresh, Run, ParamsOf]:
    """Idiomatic PyTorch: nn.Sequential of Linear/ReLU, F.cross_entropy, optim.SGD."""
    import torch

    torch.set_num_threads(threads)
    info |= {"torch": torch.__version__, "torch_parallel_info": torch.__config__.parallel_info()}

    def fresh() -> Any:
        mods: list[Any] = []
        for i, (w, b) in enumerate(param_list(init, n_layers)):
            lin = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
            mods.append(lin)
            if i < n_layers - 1:
                mods.append(torch.nn.ReLU())
        return torch.nn.Sequential(*mods)

    def run(model: Any, x: np.ndarray, y: np.ndarray, batch: int) -> float:
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        loss_sum = 0.0
        for start in range(0, xt.shape[0], batch):
            xb, yb = xt[start : start + batch], yt[start : start + batch]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * xb.shape[0]
        return loss_sum / xt.shape[0]

    def params_of(model: Any) -> dict[str, np.ndarray]:
        lins = [m for m in model if isinstance(m, torch.nn.Linear)]
        return param_dict([(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in lins])

    return fresh, run, params_of


def numpy_impl(init: dict[str, np.ndarray], n_layers: int, lr: float) -> tuple[Fresh, Run]:
    """The plain float32 NumPy MLP of ``reference``; its parameters are ``param_dict``'s."""

    def fresh() -> Any:
        return param_list(init, n_layers)

    def run(model: Any, xa: np.ndarray, ya: np.ndarray, b: int) -> float:
        return numpy_epoch(model, xa, ya, b, lr)

    return fresh, run


def reply(msg: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def check_against_neuroplast(
    impl: str, job: dict[str, Any], init: dict[str, np.ndarray], fns: tuple[Fresh, Run, ParamsOf]
) -> dict[str, Any] | None:
    """Errors per batch size vs the neuroplast reference; None (error sent) if one fails."""
    fresh, run, params_of = fns
    checks = {}
    for b in (int(v) for v in job["batches"]):
        model = fresh()
        run(model, job["xc"], job["yc"], b)
        ref = {k[len(f"ref{b}:") :]: v for k, v in job.items() if k.startswith(f"ref{b}:")}
        checks[str(b)] = err = compare_params(params_of(model), ref, init)
        if not check_ok(err):
            reply({"error": f"{impl} disagrees with neuroplast at batch {b}: {err}"})
            return None
    return checks


def serve(fresh: Fresh, run: Run, x: np.ndarray, y: np.ndarray) -> None:
    """Answers timing commands from stdin until ``quit`` or end of input."""
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        if cmd["cmd"] == "sgemm":
            reply({"gflops": sgemm_peak(int(cmd["size"]))})
            continue
        b = int(cmd["batch"])

        def body(m: Any, b: int = b) -> float:
            return run(m, x, y, b)

        if cmd["cmd"] == "calibrate":
            reply({"inner": calibrate(fresh, body, float(cmd["sample_s"]))})
        else:
            reply(measure(fresh, body, int(cmd["inner"])))


def run_worker(impl: str, job_path: str) -> None:
    """Checks correctness, prints a ``ready`` line, then answers timing commands from stdin."""
    job = dict(np.load(job_path, allow_pickle=False))
    n_layers, threads, lr = int(job["n_layers"]), int(job["threads"]), float(job["lr"])
    init = {k[5:]: v for k, v in job.items() if k.startswith("init:")}
    x, y = job["x"], job["y"]
    keys = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    info: dict[str, Any] = {"numpy": np.__version__} | {k: os.environ.get(k) for k in keys}
    fns: tuple[Fresh, Run, ParamsOf]
    if impl == "numpy":
        ctx: contextlib.AbstractContextManager[Any] = blas_limits(threads)
        fns = (*numpy_impl(init, n_layers, lr), param_dict)
    else:
        ctx = contextlib.nullcontext()
        fns = torch_impl(init, n_layers, lr, threads, info)

    with ctx:
        # 1. correctness against the neuroplast reference, before any timing
        checks = check_against_neuroplast(impl, job, init, fns)
        if checks is None:
            return
        reply({"ready": True, "check": checks, "env": info, "blas": blas_info()})
        # 2. timing commands
        serve(fns[0], fns[1], x, y)
