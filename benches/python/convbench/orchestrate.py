"""Runs one benchmark child process per thread count and collects its result line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def run_threads(script: str, n: int, extra: list[str]) -> dict[str, Any]:
    """Runs ``script --child n *extra`` with every BLAS pool sized to ``n`` threads.

    The child prints one ``RESULT {json}`` line; its stderr is passed through.
    """
    env = dict(
        os.environ, OPENBLAS_NUM_THREADS=str(n), OMP_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n)
    )
    cmd = [sys.executable, script, "--child", str(n), *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    sys.stderr.write(proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the {n}-thread run failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result
