"""The orchestrator's side of the worker protocol (see ``worker``).

Each NumPy / PyTorch worker is a subprocess of the entry script, ``bench_mlp.py --worker IMPL
--job FILE``, started with its own ``OPENBLAS_CORETYPE`` and thread variables.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ENTRY = Path(__file__).resolve().parents[1] / "bench_mlp.py"  # re-invoked with --worker

WorkerSpec = tuple[str, str, dict[str, str]]  # (impl, label, environment overrides)


class WorkerError(RuntimeError):
    pass


class Remote:
    """A NumPy / PyTorch worker subprocess with its own environment."""

    def __init__(self, impl: str, env_over: dict[str, str], job_path: Path, log: Path) -> None:
        self.log = log
        cmd = [sys.executable, str(ENTRY), "--worker", impl, "--job", str(job_path)]
        self.proc = subprocess.Popen(
            cmd,
            env=dict(os.environ) | env_over,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            if rc < 0:
                sig = signal.Signals(-rc).name
                why = " (illegal instruction: these kernels need a CPU feature this CPU lacks)"
                raise WorkerError(f"worker killed by {sig}" + (why if sig == "SIGILL" else ""))
            tail = self.log.read_text()[-1500:] if self.log.exists() else ""
            raise WorkerError(f"worker exited with {rc}: {tail}")
        msg: dict[str, Any] = json.loads(line)
        if "error" in msg:
            raise WorkerError(msg["error"])
        return msg

    def call(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def calibrate(self, batch: int, sample_s: float) -> int:
        return int(self.call(cmd="calibrate", batch=batch, sample_s=sample_s)["inner"])

    def sample(self, batch: int, inner: int) -> dict[str, Any]:
        return self.call(cmd="sample", batch=batch, inner=inner)

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.proc.poll() is None and self.proc.stdin is not None:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def worker_specs(
    threads: int, numpy_variants: list[tuple[str, dict[str, str]]], torch_version: str | None
) -> list[WorkerSpec]:
    """NumPy workers (one per ``(label, env)`` variant) and PyTorch if installed."""
    limits = {"OPENBLAS_NUM_THREADS": str(threads)}
    out = [("numpy", label, limits | e) for label, e in numpy_variants]
    if torch_version is not None:
        t = str(threads)
        out.append(("torch", "PyTorch", limits | {"OMP_NUM_THREADS": t, "MKL_NUM_THREADS": t}))
    return out
