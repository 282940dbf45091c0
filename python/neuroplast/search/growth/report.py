"""PNG reports of the growth controllers: layer widths over training, accuracy vs parameters."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from neuroplast.search._report import _pyplot
from neuroplast.search.growth._common import GrowthResult

__all__ = ["plot_accuracy_vs_params", "plot_widths", "write_report"]


def plot_widths(result: GrowthResult, path: str | os.PathLike[str], title: str = "") -> None:
    """Width of every changing layer at the end of each epoch, with growth/prune events."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, (epochs, widths) in result.widths_over_time().items():
        ax.step(epochs, widths, where="post", label=name)
    for e in result.events:
        colour = "tab:green" if e["kind"] == "grow" else "tab:red"
        ax.axvline(e["step"] / result.steps_per_epoch, color=colour, alpha=0.15, lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("units")
    ax.set_title(title or "layer widths (green: growth, red: pruning)")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_accuracy_vs_params(
    runs: Mapping[str, Sequence[tuple[int, float]]],
    path: str | os.PathLike[str],
    title: str = "accuracy vs parameters",
) -> None:
    """One marker series per label: ``(parameters, accuracy)`` points (e.g. per seed)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, points in runs.items():
        xs, ys = zip(*points, strict=True) if points else ((), ())
        ax.scatter(xs, ys, label=label, s=22)
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(result: GrowthResult, folder: str | os.PathLike[str], label: str) -> list[str]:
    """Writes ``widths.png`` and ``accuracy.png`` (validation accuracy per epoch) to ``folder``."""
    os.makedirs(folder, exist_ok=True)
    widths = os.path.join(folder, "widths.png")
    plot_widths(result, widths, f"{label}: layer widths")
    points: list[tuple[int, float]] = [
        (h["n_params"], h["val_accuracy"]) for h in result.history if h["val_accuracy"] is not None
    ]
    written = [widths]
    if points:
        acc = os.path.join(folder, "accuracy.png")
        plot_accuracy_vs_params({label: points}, acc, f"{label}: accuracy vs parameters per epoch")
        written.append(acc)
    return written
