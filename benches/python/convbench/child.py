"""Everything measured at one thread count, in a process of its own: the orchestrator sets
``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` before this process
imports NumPy and PyTorch. Prints one JSON line, prefixed ``RESULT``."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from convbench.impls import Neuroplast, NumPy, Torch, check, interleave
from convbench.layers import LAYERS, QUICK_LAYERS, Layer
from mlpbench.environment import blas_info, blas_limits
from mlpbench.timing import GAP_S

BATCHES = 8  # batches per epoch; a sample groups whole epochs to last ``SAMPLE_S``
SAMPLE_S = 0.5
REPEATS = 7


def measure_layer(
    npl: Any,
    layer: Layer,
    batches: int,
    repeats: int,
    sample_s: float,
    gap_s: float,
    use_torch: bool,
) -> dict[str, Any]:
    """Correctness check, then interleaved epochs of ``batches`` steps of one layer with
    every implementation; asserts that the timed epochs' losses agree."""
    x, t = layer.data(batches)
    errors = check(npl, layer, x, t, use_torch)
    params = {k: np.asarray(v) for k, v in npl.Network.init(layer.spec(npl), seed=0).params.items()}
    samplers: dict[str, Any] = {
        "neuroplast": Neuroplast(npl, layer, x, t),
        "NumPy im2col": NumPy(layer, params, x, t),
    }
    if use_torch:
        samplers["PyTorch"] = Torch(layer, params, x, t)
    res = interleave(samplers, repeats, sample_s, gap_s)
    for r in res.values():
        r["median_step_s"] = r["median_s"] / batches
        r["min_step_s"] = r["min_s"] / batches
        r["gflops"] = layer.flops() / r["median_step_s"] / 1e9
    losses = [r["loss"] for r in res.values()]
    assert max(losses) - min(losses) <= 1e-3 * max(abs(v) for v in losses), (
        f"{layer.name}: epoch losses differ: {losses}"
    )
    return {
        "layer": layer.name,
        "flops_per_step": layer.flops(),
        "batches_per_epoch": batches,
        "errors": errors,
        "results": res,
    }


def child_setup(npl: Any, threads: int, use_torch: bool) -> dict[str, Any]:
    """Sets neuroplast's and PyTorch's thread counts; what ran, for the JSON record."""
    npl.set_num_threads(threads)
    torch_version = None
    if use_torch:
        try:
            import torch

            torch.set_num_threads(threads)
            torch_version = torch.__version__
        except ImportError:
            pass
    return {
        "threads": threads,
        "blas": blas_info(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "torch": torch_version,
        "torch_threads": threads if torch_version else None,
        "neuroplast_threads": npl.get_num_threads(),
    }


def run_child(threads: int, quick: bool, use_torch: bool) -> None:
    import neuroplast as npl

    out = child_setup(npl, threads, use_torch)
    batches, repeats, sample_s = (2, 3, 0.05) if quick else (BATCHES, REPEATS, SAMPLE_S)
    with blas_limits(threads):
        out["layers"] = [
            measure_layer(
                npl,
                layer,
                batches,
                repeats,
                sample_s,
                0.0 if quick else GAP_S,
                out["torch"] is not None,
            )
            for layer in (QUICK_LAYERS if quick else LAYERS)
        ]
    print("RESULT " + json.dumps(out), flush=True)
