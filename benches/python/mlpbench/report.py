"""The report: a Markdown table, the targets (met / missed, never asserted), the printed
summary of the environment, and the JSON file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .reference import GEMM_LIMIT_GFLOPS


def fmt_pct(frac: float | None) -> str:
    return "?" if frac is None else f"{100 * frac:.0f}%"


def blas_arch(worker: dict[str, Any], default: str | None) -> str | None:
    """The OpenBLAS kernels (threadpoolctl's ``architecture``) a worker reported."""
    return next((d.get("architecture") for d in worker.get("blas") or []), default)


def fmt_table(cases: list[dict[str, Any]]) -> str:
    head = (
        "| Case | Batch | Threads | Implementation | BLAS kernels | Median s/epoch "
        "| Min-max s | Samples x epochs (dropped) | neuroplast speed-up | GFLOP/s | % of 430 |"
    )
    lines = [head, "|" + "---|" * 11]
    for c in cases:
        for b in c["batches"]:
            for r in (r for r in c["results"] if r["batch"] == b):
                arch = blas_arch(c["workers"].get(r["label"], {}), None)
                kern = {"neuroplast": "own (Rust)", "torch": "torch (MKL/oneDNN)"}.get(
                    r["impl"], f"OpenBLAS {arch}"
                )
                sp = "—" if r["impl"] == "neuroplast" else f"{r['neuroplast_speedup']:.2f}x"
                lines.append(
                    f"| {c['name']} | {b} | {c['threads']} | {r['label']} | {kern} "
                    f"| {r['median_s']:.4f} | {r['min_s']:.4f}-{r['max_s']:.4f} "
                    f"| {len(r['times_s'])} x {r['epochs_per_sample']} "
                    f"({r['n_contended_dropped']}) | {sp} "
                    f"| {r['gflops']:.1f} | {r['pct_of_430']:.1f}% |"
                )
    return "\n".join(lines)


def _find(case: dict[str, Any], label: str, b: int) -> dict[str, Any] | None:
    return next((r for r in case["results"] if r["label"] == label and r["batch"] == b), None)


def _targets_a(case: dict[str, Any]) -> list[str]:
    r = _find(case, "NumPy", 32)
    if not r:
        return []
    ok = "MET" if r["neuroplast_speedup"] >= 5 else "MISSED"
    sp = r["neuroplast_speedup"]
    return [f"A: neuroplast vs NumPy at batch 32: {sp:.2f}x (target >= 5x: {ok})"]


def _fit_overheads(cases: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['key']}: neuroplast fixed cost of one fit() call (epochs=0), batch "
        f"{r['batch']}: {1e3 * r['fit_call_overhead_s']:.2f} ms "
        f"(included in the epoch times)"
        for c in cases
        for r in c["results"]
        if r["impl"] == "neuroplast"
    ]


def _targets_b(c: dict[str, Any]) -> list[str]:
    out = []
    b = c["batches"][0]
    npl_r = _find(c, "neuroplast", b)
    for label in ("NumPy Haswell", "NumPy SkylakeX"):
        r = _find(c, label, b)
        if r is None:
            out.append(f"B: vs {label}: not measured ({c['workers'][label].get('error')})")
            continue
        arch = blas_arch(c["workers"][label], "?")
        tgt = " (target >= 1.2x: " + ("MET)" if r["neuroplast_speedup"] >= 1.2 else "MISSED)")
        out.append(
            f"B: neuroplast vs {label} (OpenBLAS kernels actually used: {arch}): "
            f"{r['neuroplast_speedup']:.2f}x" + (tgt if "SkylakeX" in label else "")
        )
    if npl_r:
        ok = "MET" if npl_r["pct_of_430"] >= 70 else "MISSED"
        out.append(
            f"B: neuroplast {npl_r['gflops']:.1f} GFLOP/s = {npl_r['pct_of_430']:.1f}% "
            f"of {GEMM_LIMIT_GFLOPS:.0f} GFLOP/s (target >= 70%): {ok}"
        )
    for label, w in c["workers"].items():
        if w.get("sgemm_peak_gflops"):
            peak = w["sgemm_peak_gflops"]
            rel = f"; neuroplast's epoch runs at {100 * npl_r['gflops'] / peak:.0f}% of it"
            out.append(
                f"B: measured NumPy sgemm peak ({label}, {c['threads']} threads, square "
                f"{w['sgemm_size']}): {peak:.1f} GFLOP/s" + (rel if npl_r else "")
            )
    return out


def targets(cases: list[dict[str, Any]]) -> list[str]:
    by = {c["key"]: c for c in cases}
    out = _targets_a(by["A"]) if "A" in by else []
    out += _fit_overheads(cases)
    if "B" in by:
        out += _targets_b(by["B"])
    return out


def print_environment(env: dict[str, Any], cases: list[dict[str, Any]]) -> None:
    """The environment lines printed above the table."""
    cpu, cfg, build = env["cpu"], env["numpy_blas_config"], env["neuroplast_build"]
    print(
        f"CPU: {cpu.get('model_name')} (family {cpu.get('family')} model {cpu.get('model')}), "
        f"{cpu.get('logical_cpus')} logical CPUs, avx2={cpu.get('avx2')} "
        f"avx512f={cpu.get('avx512f')}, hypervisor={cpu.get('hypervisor')}"
    )
    print(
        f"CPU busy (all processes) at start {fmt_pct(env['cpu_busy_fraction_at_start'])}, at "
        f"end {fmt_pct(env['cpu_busy_fraction_at_end'])}; load avg start "
        f"{cpu.get('loadavg_at_start')} end {cpu.get('loadavg_at_end')}"
    )
    print(
        f"neuroplast {env['neuroplast']} simd={env['neuroplast_simd_level']} (build "
        f"{build.get('git_commit', '?')[:10]}, extension "
        f"{build['extension_mtime']}); NumPy {env['numpy']} "
        f"({cfg.get('name')} {cfg.get('version')}); OPENBLAS_CORETYPE in env: "
        f"{env['OPENBLAS_CORETYPE_env']!r}; torch: {env['torch'] or 'not installed'}"
    )
    if build.get("gemm_sources_newer_than_extension"):
        print("WARNING: GEMM sources are newer than the built extension; rebuild to measure them")
    print(f"data: A = {cases[0]['data']}; B = {cases[1]['data']}")


def print_report(
    env: dict[str, Any], cases: list[dict[str, Any]], table: str, tgt: list[str]
) -> None:
    """Environment, table and targets on stdout."""
    print_environment(env, cases)
    print()
    print(table)
    print()
    for line in tgt:
        print(f"- {line}")


def write_json(
    out: Path, env: dict[str, Any], cases: list[dict[str, Any]], table: str, tgt: list[str]
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"env": env, "cases": cases, "targets": tgt, "table_markdown": table}
    out.write_text(json.dumps(payload, indent=2))
