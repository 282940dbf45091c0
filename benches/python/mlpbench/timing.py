"""Timed samples on a possibly shared machine.

Contention is read from /proc/stat: busy time of all CPUs (steal included) minus the CPU time
of the measured process. Samples of the implementations are interleaved round-robin, rotating
the order every round, so slow drifts of a shared machine hit all of them alike. Used by the
orchestrator (neuroplast) and by the worker subprocesses (NumPy, PyTorch).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CONTENDED = 0.10  # share of all CPUs used by other processes that invalidates a sample
MIN_CHECK_S = 0.25  # samples at least this long are checked for contention
QUIET_WAIT_S = 120.0  # after a contended sample, wait up to this long for the CPUs to go idle
GAP_S = 0.3  # pause between samples (full run) so the last one's BLAS/OpenMP threads go idle


def _proc_stat() -> tuple[int, int] | None:
    """(non-idle, total) jiffies of all CPUs from /proc/stat (steal counts as busy), or None."""
    try:
        vals = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return None
    total = sum(vals[:8])  # guest time is already included in user/nice
    return total - vals[3] - vals[4], total


def cpu_busy_fraction(window: float = 1.0) -> float | None:
    """Fraction of all CPUs busy during ``window`` seconds; None if unknown."""
    s0 = _proc_stat()
    time.sleep(window)
    s1 = _proc_stat()
    if not s0 or not s1:
        return None
    return (s1[0] - s0[0]) / max(s1[1] - s0[1], 1)


def wait_quiet(timeout: float, threshold: float = CONTENDED) -> float | None:
    """Waits (up to ``timeout`` s) until other processes use < ``threshold`` of the CPUs."""
    deadline = time.monotonic() + timeout
    busy = cpu_busy_fraction()
    while busy is not None and busy >= threshold and time.monotonic() < deadline:
        print(f"machine busy ({100 * busy:.0f}% CPU used by others); waiting ...", file=sys.stderr)
        busy = cpu_busy_fraction(5.0)
    return busy


def calibrate(setup: Callable[[], Any], body: Callable[[Any], Any], sample_s: float) -> int:
    """Warm-up epoch, then one timed epoch: how many epochs a sample needs to last ``sample_s``."""
    body(setup())
    state = setup()
    t0 = time.perf_counter()
    body(state)
    return max(1, math.ceil(sample_s / max(time.perf_counter() - t0, 1e-6)))


def measure(setup: Callable[[], Any], body: Callable[[Any], Any], inner: int) -> dict[str, Any]:
    """One timed sample: ``inner`` independent epochs, each from a state made beforehand.

    Returns the mean seconds per epoch and, for samples of at least ``MIN_CHECK_S``, the share
    of the machine's CPUs used by *other* processes meanwhile (/proc/stat busy time minus this
    process's CPU time, all threads included).
    """
    states = [setup() for _ in range(inner)]
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    s0, c0, t0 = _proc_stat(), time.process_time(), time.perf_counter()
    for state in states:
        result = body(state)
    total = time.perf_counter() - t0
    c1, s1 = time.process_time(), _proc_stat()
    others = None
    if s0 and s1 and total >= MIN_CHECK_S:
        busy, capacity = (s1[0] - s0[0]) / hz, (s1[1] - s0[1]) / hz
        others = max(0.0, (busy - (c1 - c0)) / max(capacity, 1e-9))
    return {"s": total / inner, "others_cpu_share": others, "loss": float(result)}


def interleave(
    samplers: dict[str, Any], batch: int, repeats: int, sample_s: float, gap_s: float
) -> dict[str, dict[str, Any]]:
    """Round-robin timed samples until each sampler has ``repeats`` uncontended ones.

    Contended samples (see ``measure``) are recorded but left out of the statistics, and the
    next sample first waits for the CPUs to go idle; at most ``3 * repeats`` rounds.
    """
    labels = list(samplers)
    inner = {k: samplers[k].calibrate(batch, sample_s) for k in labels}  # includes warm-up
    recs: dict[str, list[dict[str, Any]]] = {k: [] for k in labels}

    def clean(k: str) -> int:
        return sum(r["used"] for r in recs[k])

    for rnd in range(3 * repeats):
        if all(clean(k) >= repeats for k in labels):
            break
        for k in labels[rnd % len(labels) :] + labels[: rnd % len(labels)]:
            if clean(k) >= repeats:
                continue
            time.sleep(gap_s)
            r = samplers[k].sample(batch, inner[k])
            r["used"] = r["others_cpu_share"] is None or r["others_cpu_share"] < CONTENDED
            r["round"] = rnd
            recs[k].append(r)
            if not r["used"]:
                wait_quiet(QUIET_WAIT_S)
    return {k: _summary(recs[k], inner[k], repeats) for k in labels}


def _summary(recs: list[dict[str, Any]], inner: int, repeats: int) -> dict[str, Any]:
    """Statistics of one sampler's uncontended samples (of all of them if none is)."""
    used = [r for r in recs if r["used"]] or recs
    times = [r["s"] for r in used]
    return {
        "times_s": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "loss": used[0]["loss"],
        "epochs_per_sample": inner,
        "n_contended_dropped": sum(not r["used"] for r in recs),
        "contended": sum(r["used"] for r in recs) < repeats,
        "samples": recs,
    }
