"""What ran where: BLAS thread pools, the CPU, the NumPy / neuroplast / torch builds.

``blas_info`` and ``blas_limits`` are used by the worker subprocesses as well; the rest is
recorded by the orchestrator in the JSON output.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[3]
THREAD_ENV_PREFIXES = ("NEUROPLAST_", "OPENBLAS_", "OMP_", "MKL_", "RAYON_")


def blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {k: v for k, v in d.items() if k != "filepath"} | {"file": Path(d.get("filepath", "")).name}
        for d in threadpool_info()
    ]


def blas_limits(n: int) -> contextlib.AbstractContextManager[Any]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n)


def loadavg() -> list[str]:
    """The 1, 5 and 15 minute load averages (raises OSError where there is no /proc)."""
    return Path("/proc/loadavg").read_text().split()[:3]


def cpu_info() -> dict[str, Any]:
    info: dict[str, Any] = {"machine": platform.machine(), "logical_cpus": os.cpu_count()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        k, _, v = line.partition(":")
        fields[k.strip()] = v.strip()
    flags = set(fields.get("flags", "").split())
    info |= {
        "model_name": fields.get("model name"),
        "vendor": fields.get("vendor_id"),
        "family": fields.get("cpu family"),
        "model": fields.get("model"),
        "avx2": "avx2" in flags,
        "fma": "fma" in flags,
        "avx512f": "avx512f" in flags,
        "hypervisor": "hypervisor" in flags,
    }
    with contextlib.suppress(OSError):
        info["loadavg_at_start"] = loadavg()
    return info


def numpy_config() -> dict[str, Any]:
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception as exc:  # show_config's layout differs between NumPy versions
        return {"error": repr(exc)}


def _git_info(root: Path) -> dict[str, Any]:
    """Commit and modified tracked files of the checkout, or nothing where git fails."""
    info: dict[str, Any] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(root)]
        info["git_commit"] = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        info["git_dirty"] = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")[:-1]
    return info


def build_info(npl: Any) -> dict[str, Any]:
    """Which neuroplast build was measured: git commit, dirty files, extension and GEMM sources."""
    root = REPO_ROOT
    info = _git_info(root)
    core = Path(npl._core.__file__)
    info["extension"] = str(core)
    info["extension_mtime"] = time.strftime(
        "%Y-%m-%d %H:%M:%S", time.localtime(core.stat().st_mtime)
    )
    kernels = root / "rust" / "neuroplast-core" / "src" / "kernels"
    files = sorted(f for f in kernels.glob("gemm*") if f.is_file())
    files += sorted(f for d in kernels.glob("gemm*") if d.is_dir() for f in d.rglob("*.rs"))
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(kernels)).encode() + b"\0" + f.read_bytes())
    info["gemm_sources"] = [str(f.relative_to(kernels)) for f in files]
    info["gemm_sources_sha256"] = digest.hexdigest()[:16]
    newest = max((f.stat().st_mtime for f in files), default=0.0)
    info["gemm_sources_newer_than_extension"] = newest > core.stat().st_mtime
    return info


def torch_available() -> str | None:
    proc = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def record_environment(
    npl: Any, quick: bool, torch_version: str | None, busy: float | None
) -> dict[str, Any]:
    """The environment at the start of the run, as written to the JSON output."""
    return {
        "cpu": cpu_info(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numpy_blas_config": numpy_config(),
        "blas_runtime_orchestrator": blas_info(),
        "OPENBLAS_CORETYPE_env": os.environ.get("OPENBLAS_CORETYPE"),
        "thread_and_neuroplast_env": {
            k: v for k, v in sorted(os.environ.items()) if k.startswith(THREAD_ENV_PREFIXES)
        },
        "neuroplast": npl.__version__,
        "neuroplast_simd_level": npl.simd_level(),
        "neuroplast_gemm_isa": npl.gemm_isa(),
        "neuroplast_default_threads": npl.get_num_threads(),
        "neuroplast_build": build_info(npl),
        "torch": torch_version,
        "quick": quick,
        "cpu_busy_fraction_at_start": busy,
    }


def record_end(env: dict[str, Any], busy: float | None) -> None:
    """Adds the CPU busy fraction and the load average at the end of the run."""
    env["cpu_busy_fraction_at_end"] = busy
    with contextlib.suppress(OSError):
        env["cpu"]["loadavg_at_end"] = loadavg()
