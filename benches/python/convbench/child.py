"""Everything measured at one thread count, in a process of its own: the orchestrator sets
``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` before this process
imports NumPy and PyTorch. Prints one JSON line, prefixed ``RESULT``."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from convbench.impls import Neuroplast, NumPy, Torch, check, interleave
from convbench.layers import LAYERS, QUICK_LAYERS
from mlpbench.environment import blas_info, blas_limits
from mlpbench.timing import GAP_S

BATCHES = 8  # batches per epoch; a sample groups whole epochs to last ``SAMPLE_S``
SAMPLE_S = 0.5
REPEATS = 7


def run_child(threads: int, quick: bool, use_torch: bool) -> None:
    import neuroplast as npl

    npl.set_num_threads(threads)
    torch_version = None
    if use_torch:
        try:
            import torch

            torch.set_num_threads(threads)
            torch_version = torch.__version__
        except ImportError:
            pass
    out: dict[str, Any] = {
        "threads": threads,
        "blas": blas_info(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "torch": torch_version,
        "torch_threads": threads if torch_version else None,
        "neuroplast_threads": npl.get_num_threads(),
        "layers": [],
    }
    batches, repeats, sample_s = (2, 3, 0.05) if quick else (BATCHES, REPEATS, SAMPLE_S)
    with blas_limits(threads):
        for layer in QUICK_LAYERS if quick else LAYERS:
            x, t = layer.data(batches)
            errors = check(npl, layer, x, t, torch_version is not None)
            params = {
                k: np.asarray(v)
                for k, v in npl.Network.init(layer.spec(npl), seed=0).params.items()
            }
            samplers: dict[str, Any] = {
                "neuroplast": Neuroplast(npl, layer, x, t),
                "NumPy im2col": NumPy(layer, params, x, t),
            }
            if torch_version:
                samplers["PyTorch"] = Torch(layer, params, x, t)
            res = interleave(samplers, repeats, sample_s, 0.0 if quick else GAP_S)
            for r in res.values():
                r["median_step_s"] = r["median_s"] / batches
                r["min_step_s"] = r["min_s"] / batches
                r["gflops"] = layer.flops() / r["median_step_s"] / 1e9
            losses = [r["loss"] for r in res.values()]
            assert max(losses) - min(losses) <= 1e-3 * max(abs(v) for v in losses), (
                f"{layer.name}: epoch losses differ: {losses}"
            )
            out["layers"].append(
                {
                    "layer": layer.name,
                    "flops_per_step": layer.flops(),
                    "batches_per_epoch": batches,
                    "errors": errors,
                    "results": res,
                }
            )
    print("RESULT " + json.dumps(out), flush=True)
