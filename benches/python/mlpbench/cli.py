"""Command-line options and the start of a run, shared by the benchmark entry scripts
(``bench_mlp.py``, ``bench_conv.py``, ``bench_growth.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .environment import record_environment, torch_available
from .timing import cpu_busy_fraction, wait_quiet


def common_args(ap: argparse.ArgumentParser, quick_help: str) -> None:
    """``--quick``, ``--out``, ``--no-torch`` and ``--wait-quiet``."""
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--out", type=Path, default=None, help="write JSON results here")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="first wait up to S seconds for other processes to leave the CPUs idle",
    )


def start_run(npl: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str | None]:
    """Waits for a quiet machine if asked; the recorded environment and torch's version."""
    busy = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else cpu_busy_fraction()
    torch_version = None if args.no_torch else torch_available()
    return record_environment(npl, args.quick, torch_version, busy), torch_version
