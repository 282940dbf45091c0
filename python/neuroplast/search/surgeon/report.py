"""PNG reports of a Surgeon run (matplotlib, the ``report`` extra).

* :func:`plot_topology`: the topology of the final lineage after every change, as rows of
  boxes ``I | 10 | 20 | O`` (the paper's Fig. 3, right).
* :func:`plot_accuracy`: validation accuracy per epoch of the final lineage against the
  baseline trained for the same epochs (``SurgeonConfig.baseline``), decision points marked
  by the operation applied (the paper's Fig. 4).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from neuroplast.search._report import ACTION_COLOURS
from neuroplast.search.surgeon.records import Curve, SurgeonResult, Topology

__all__ = ["plot_accuracy", "plot_topology", "write_report"]

_COLOURS = {
    **ACTION_COLOURS,
    "add_layer": "tab:purple",
    "remove_layer": "tab:red",
    "factorize": "tab:olive",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_topology(topology: Topology, path: str | os.PathLike[str], *, title: str = "") -> None:
    """Draws each topology of a lineage as a row of boxes (input, hidden widths, output)."""
    plt = _pyplot()
    rows = len(topology)
    cols = max((len(w) for _, w in topology), default=0) + 2
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * cols, 0.55 * rows + 0.9))
    for r, (epoch, ws) in enumerate(topology):
        y = rows - 1 - r
        ax.text(-0.6, y, f"epoch {epoch:g}", ha="right", va="center", fontsize=8)
        for c, label in enumerate(["I", *map(str, ws), "O"]):
            edge = "black" if label in ("I", "O") else "tab:blue"
            ax.text(
                c,
                y,
                label,
                ha="center",
                va="center",
                fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "ec": edge},
            )
    ax.set_xlim(-2.2, cols)
    ax.set_ylim(-0.8, rows - 0.2)
    ax.axis("off")
    ax.set_title(title or "topology of the final branch", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def plot_accuracy(
    result: SurgeonResult,
    path: str | os.PathLike[str],
    *,
    baseline: Curve | None = None,
    title: str = "",
) -> None:
    """Validation accuracy of the final lineage (and the baseline) per epoch.

    Args:
        result: The run.
        path: The PNG to write.
        baseline: The baseline's curve (default: ``result.baseline_curve``, when trained).
        title: Figure title.
    """
    plt = _pyplot()
    baseline = result.baseline_curve if baseline is None else baseline
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    if baseline:
        ax.plot(*zip(*baseline, strict=True), "-", color="tab:gray", label="baseline")
    if result.curve:
        ax.plot(*zip(*result.curve, strict=True), "-", color="black", label="Surgeon")
    seen: set[str] = set()
    for epoch, op, _ in result.changes:
        ax.axvline(
            epoch,
            color=_COLOURS.get(op, "tab:gray"),
            alpha=0.6,
            lw=1.2,
            label=None if op in seen else op.replace("_", " "),
        )
        seen.add(op)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or ("Surgeon vs baseline" if baseline else "Surgeon"), fontsize=9)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def write_report(folder: str | os.PathLike[str], result: SurgeonResult) -> list[Path]:
    """Writes ``topology.png`` and ``accuracy.png`` into ``folder`` and returns their paths.

    :meth:`Surgeon.report <neuroplast.search.surgeon.Surgeon.report>` calls it for every run
    with a run folder, after the shared ``overview.png``.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "topology.png", out / "accuracy.png"]
    plot_topology(result.topology, paths[0])
    plot_accuracy(result, paths[1])
    return paths
