"""Report figures of a DARTS run (matplotlib, imported lazily).

* ``alpha_normal.png`` / ``alpha_reduce.png``: the activated α of every operation on every
  edge over the search (one panel per edge: rows are the destination states, columns the
  sources; Maile 2023, Fig. 18a–b);
* ``schedule.png``: the Fisher trace's moving average and the FIMT threshold per weight step,
  with the α steps marked, and α steps against weight steps (Fig. 20);
* ``cells.png``: the derived normal and reduction cells drawn as graphs (Fig. 18c–d);
* ``skip_share.png``: the share of skip connections in the derived normal cell over the search.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuroplast.nas import Genotype, activate, edge_sources

if TYPE_CHECKING:
    from neuroplast.search.darts.controller import DARTSResult

__all__ = ["draw_all", "plot_alphas", "plot_cells", "plot_schedule", "plot_skip_share"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def draw_all(result: DARTSResult, out: Path) -> None:
    """Every figure of the module docstring into the folder ``out``."""
    for name in ("alpha_normal", "alpha_reduce"):
        series = [np.asarray(a[name]) for a in result.alphas if name in a]
        if series:
            plot_alphas(series, result.ops, result.weighting, out / f"{name}.png", title=name)
    if result.search:
        plot_schedule(result.search, out / "schedule.png")
        shares = [h["skip_share_normal"] for h in result.history if h.get("phase") == "search"]
        plot_skip_share(shares, out / "skip_share.png")
    plot_cells(result.genotype, out / "cells.png")


def plot_alphas(
    series: list[Any], ops: tuple[str, ...], weighting: str, path: Path, title: str = ""
) -> None:
    """Activated α per edge over epochs; ``series[e]`` is the raw tensor after epoch ``e``."""
    plt = _plt()
    raw = np.stack(series)  # epochs × edges × columns
    acts = np.stack([activate(r, weighting) for r in raw])
    none = acts.shape[2] - len(ops)
    edges = edge_sources(_states(raw.shape[1]))
    n_states = edges[-1][0] + 1
    fig, axes = plt.subplots(
        n_states, n_states + 1, figsize=(2.2 * (n_states + 1), 1.8 * n_states), squeeze=False
    )
    for ax in axes.flat:
        ax.set_visible(False)
    for row, (i, j) in enumerate(edges):
        ax = axes[i][j]
        ax.set_visible(True)
        for c, op in enumerate(ops):
            ax.plot(acts[:, row, c + none], label=op, lw=1)
        ax.set_title(f"{j}→{i + 2}", fontsize=7)
        ax.tick_params(labelsize=6)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=7)
    fig.suptitle(f"{title}: a(α) per edge over search epochs (sources 0, 1 = cell inputs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_schedule(search: list[dict[str, Any]], path: Path) -> None:
    """Fisher trace average and threshold per weight step with α steps, and the step counts."""
    plt = _plt()
    ema = np.concatenate([np.asarray(r["fisher_ema"], float) for r in search])
    thr = np.concatenate([np.asarray(r["threshold"], float) for r in search])
    fired = np.zeros(ema.size, bool)
    offset = 0
    for r in search:
        fired[offset + np.asarray(r["alpha_at"], int)] = True
        offset += len(r["fisher_ema"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    steps = np.arange(ema.size)
    top.semilogy(steps, ema, lw=0.8, label="Fisher trace (moving average)")
    if np.isfinite(thr).any():
        top.semilogy(steps, thr, lw=0.8, label="FIMT threshold h")
    top.plot(steps[fired], ema[fired], "|", ms=6, color="tab:red", label="α step")
    top.legend(fontsize=8)
    top.set_ylabel("trace")
    bottom.plot(steps, np.cumsum(fired), lw=1)
    bottom.set_xlabel("weight step")
    bottom.set_ylabel("α steps so far")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_skip_share(shares: list[float], path: Path) -> None:
    """Share of ``skip_connect`` in the normal cell derived after each search epoch."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(np.arange(1, len(shares) + 1), shares, marker="o")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("search epoch")
    ax.set_ylabel("skip share (normal cell)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_cells(genotype: Genotype, path: Path) -> None:
    """Both cells as graphs: inputs on the left, states in the middle, the output on the right."""
    plt = _plt()
    n = genotype.states
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.6 + 1.1 * n))
    for ax, kind in zip(axes, ("normal", "reduce"), strict=True):
        pos = {0: (0.0, n - 0.5), 1: (0.0, -0.5)}
        pos.update({i + 2: (1.0 + i, n - 1.0 - i) for i in range(n)})
        out = (n + 1.5, (n - 1) / 2)
        for k, (op, src) in enumerate(genotype.cell(kind)):
            dst = k // 2 + 2
            (x0, y0), (x1, y1) = pos[src], pos[dst]
            ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "lw": 0.8})
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, op, fontsize=7, ha="center", color="tab:blue")
        for i in range(n):
            ax.annotate("", out, pos[i + 2], arrowprops={"arrowstyle": "->", "color": "grey"})
        labels = {0: "c_{k-2}", 1: "c_{k-1}", **{i + 2: str(i) for i in range(n)}}
        for node, (x, y) in pos.items():
            ax.text(
                x, y, labels[node], ha="center", va="center", bbox={"boxstyle": "round", "fc": "w"}
            )
        ax.text(*out, "c_{k}", ha="center", va="center", bbox={"boxstyle": "round", "fc": "w"})
        ax.set_xlim(-0.7, n + 2.2)
        ax.set_ylim(-1.2, n + 0.2)
        ax.set_title(f"{kind} cell")
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _states(rows: int) -> int:
    return next(n for n in range(1, rows + 1) if n * (n + 3) // 2 == rows)
