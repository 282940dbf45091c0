"""PNG reports of the growth controllers: layer widths over training, accuracy vs parameters.

Both figures come on top of the shared overview figure (``overview.png``) of every run folder:

* ``widths.png`` (:func:`plot_widths`): the width of every changing layer over training, with a
  vertical line at every growth (blue) and pruning (red) event, both in the legend. The x axis
  is in epochs when the run spans at least two, else in steps; ticks are integers.
* ``accuracy.png`` (:func:`plot_accuracy_vs_params`): validation accuracy against the parameter
  count along the run, one line per run in time order (the start and end marked, the points
  coloured by step).

Example:
    >>> import tempfile, os
    >>> recs = [{"step": 0, "n_params": 40, "val_accuracy": 0.5},
    ...         {"step": 10, "n_params": 52, "val_accuracy": 0.8, "edit": "+2 dense_0"}]
    >>> plot_accuracy_vs_params({"demo": recs}, os.path.join(tempfile.mkdtemp(), "a.png"))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from neuroplast.search._report import ACTION_COLOURS, _pyplot
from neuroplast.search.growth.result import GrowthResult

__all__ = ["plot_accuracy_vs_params", "plot_widths", "write_report"]

#: Colour and legend label of each event kind.
EVENT_STYLE: dict[str, tuple[str, str]] = {
    "grow": (ACTION_COLOURS["grow"], "growth event"),
    "prune": (ACTION_COLOURS["prune"], "pruning event"),
}


def _integer_ticks(ax: Any, *, x: bool = True, y: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    if x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if y:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def plot_widths(result: GrowthResult, path: str | os.PathLike[str], title: str = "") -> None:
    """Width of every changing layer over training, with the growth/prune events marked."""
    plt = _pyplot()
    per_epoch = max(1, result.steps_per_epoch)
    in_epochs = result.steps >= 2 * per_epoch
    scale = per_epoch if in_epochs else 1
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, (steps, widths) in result.widths_over_time().items():
        ax.step(steps / scale, widths, where="post", label=name)
    seen: set[str] = set()
    for e in result.events:
        colour, label = EVENT_STYLE.get(e["kind"], ("tab:gray", str(e["kind"])))
        shown = None if e["kind"] in seen else label
        ax.axvline(e["step"] / scale, color=colour, alpha=0.4, lw=0.8, label=shown)
        seen.add(e["kind"])
    ax.set_xlabel("epoch" if in_epochs else "step")
    ax.set_ylabel("units")
    _integer_ticks(ax)
    ax.set_title(title or "layer widths")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def plot_accuracy_vs_params(
    runs: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | os.PathLike[str],
    title: str = "validation accuracy vs parameters",
) -> None:
    """One line per run through its history records, in time order.

    Args:
        runs: Label → history records with ``step``, ``n_params`` and ``val_accuracy``
            (records without accuracy are skipped); records with an ``edit`` get a ring.
        path: The PNG to write.
        title: Figure title.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    points = None
    for label, records in runs.items():
        recs = [r for r in records if r.get("val_accuracy") is not None]
        if not recs:
            continue
        xs = [int(r["n_params"]) for r in recs]
        ys = [float(r["val_accuracy"]) for r in recs]
        (line,) = ax.plot(xs, ys, "-", lw=1.2, alpha=0.7, label=label)
        points = ax.scatter(xs, ys, c=[r["step"] for r in recs], cmap="viridis", s=18, zorder=3)
        ax.plot(xs[0], ys[0], "o", mfc="none", mec=line.get_color(), ms=11, mew=1.5)
        ax.plot(xs[-1], ys[-1], "*", color=line.get_color(), ms=12)
        edited = [(x, y) for x, y, r in zip(xs, ys, recs, strict=True) if r.get("edit")]
        if edited:
            ax.scatter(*zip(*edited, strict=True), s=60, facecolors="none", edgecolors="tab:gray")
    if points is not None:
        fig.colorbar(points, ax=ax, label="step")
        _marker_legend(ax)
    ax.set_xlabel("parameters")
    ax.set_ylabel("validation accuracy")
    _integer_ticks(ax, y=False)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def _marker_legend(ax: Any) -> None:
    """The legend with proxies for the markers every run shares."""
    ax.plot([], [], "o", mfc="none", mec="black", ms=9, label="start")
    ax.plot([], [], "*", color="black", ms=10, label="end")
    ax.scatter([], [], s=60, facecolors="none", edgecolors="tab:gray", label="edit after")
    ax.legend(loc="best", fontsize="small")


def write_report(result: GrowthResult, folder: str | os.PathLike[str], label: str) -> list[str]:
    """Writes ``widths.png`` and ``accuracy.png`` to ``folder``; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    widths = os.path.join(folder, "widths.png")
    plot_widths(result, widths, f"{label}: layer widths")
    acc = os.path.join(folder, "accuracy.png")
    plot_accuracy_vs_params({label: result.history}, acc, f"{label}: accuracy vs parameters")
    return [widths, acc]
