"""The fuzz suite (issue 19): random calls across the public API, in subprocesses under an
address-space limit and a per-call watchdog.

Every call must return or raise a ``NeuroplastError``: no other exception (``TypeError``,
``ValueError``, ``KeyError``, ``RecursionError``, NumPy's ``ArrayMemoryError``, pyo3's
``PanicException``, ...), no crash (abort, segfault) and no hang. Each batch runs in its own
process (``tests/_fuzz_worker.py``), so a crash fails this test instead of killing pytest; the
report names the call. Batches are small so CI stays fast; raise ``NPL_FUZZ_BATCHES`` /
``NPL_FUZZ_EXAMPLES`` for a longer campaign.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("_fuzz_worker.py")
BATCHES = int(os.environ.get("NPL_FUZZ_BATCHES", "2"))
EXAMPLES = int(os.environ.get("NPL_FUZZ_EXAMPLES", "150"))
AS_LIMIT = 3 * 2**30
PER_CALL = 20.0


def _run_batch(batch: int) -> tuple[list[dict[str, object]], subprocess.CompletedProcess[str]]:
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(batch), str(EXAMPLES), str(AS_LIMIT), str(PER_CALL)],
        capture_output=True,
        text=True,
        timeout=EXAMPLES * PER_CALL + 120,
        env=env,
        check=False,
    )
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return records, proc


@pytest.mark.parametrize("batch", range(BATCHES))
def test_fuzz_batch(batch: int) -> None:
    records, proc = _run_batch(batch)
    started = [r for r in records if "start" in r]
    if proc.returncode != 0 or not any(r.get("finished") for r in records):
        last = started[-1] if started else {}
        pytest.fail(
            f"fuzz batch {batch} crashed or hung (exit {proc.returncode}) in call "
            f"{last.get('call')!r}\n{proc.stderr[-4000:]}"
        )
    done = [r for r in records if "done" in r]
    bad = [r for r in done if r["outcome"] == "other"]
    assert not bad, "non-neuroplast exceptions:\n" + "\n".join(
        f"{r['error']}  <-  {r['call']}" for r in bad
    )
    assert len(done) >= EXAMPLES // 2  # hypothesis may stop early on exhausted strategies
