"""The Markdown table and the targets of the convolution benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGET_VS_NUMPY = 5.0
TARGET_VS_TORCH = 1.0


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| Layer (batch 64) | Threads | Implementation | Median ms/step | Min ms/step "
        "| GFLOP/s (median) | neuroplast speed-up (median) | Others' CPU share (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for lay in run["layers"]:
            res = lay["results"]
            ours = res["neuroplast"]["median_step_s"]
            for label, r in res.items():
                ratio = "—" if label == "neuroplast" else f"{r['median_step_s'] / ours:.2f}x"
                share = r["others_cpu_share_median"]
                share_s = "?" if share is None else f"{100 * share:.0f}%"
                lines.append(
                    f"| {lay['layer']} | {run['threads']} | {label} | "
                    f"{1e3 * r['median_step_s']:.2f} | {1e3 * r['min_step_s']:.2f} | "
                    f"{r['gflops']:.1f} | {ratio} | {share_s} |"
                )
    return "\n".join(lines)


def targets(runs: list[dict[str, Any]]) -> list[str]:
    out = []
    for run in runs:
        for lay in run["layers"]:
            res = lay["results"]
            ours = res["neuroplast"]["median_step_s"]
            for label, goal in (("NumPy im2col", TARGET_VS_NUMPY), ("PyTorch", TARGET_VS_TORCH)):
                if label in res:
                    ratio = res[label]["median_step_s"] / ours
                    verdict = "MET" if ratio >= goal else "MISSED"
                    out.append(
                        f"- {lay['layer']}, {run['threads']} thread(s): neuroplast vs "
                        f"{label} {ratio:.2f}x (target >= {goal:g}x: {verdict})"
                    )
    return out


def emit(
    env: dict[str, Any], runs: list[dict[str, Any]], lines: list[str], out: Path | None
) -> None:
    """Prints the report lines (table, then target verdicts) and writes the JSON record."""
    print("\n".join(lines))
    if out:
        out.write_text(json.dumps({"environment": env, "runs": runs}, indent=1))
        print(f"wrote {out}")
