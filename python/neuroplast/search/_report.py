"""PNG reports of the search controllers (matplotlib, imported lazily: ``report`` extra).

* :func:`plot_history`: metrics per generation (accuracy on the left axis, parameter count on
  the right) with vertical lines at the generations where an action was applied, coloured by
  action kind (Świdorski and Jastrzębska, Fig. 1: green for neuron removal, red for layer removal).
* :func:`plot_epochs`: a metric per training epoch across generations with the actions marked
  between generations (Świdorski and Jastrzębska, Fig. 1, which plots training histories).
* :func:`plot_architectures`: the architecture at each generation as bars of layer widths in
  graph order (Świdorski and Jastrzębska, Fig. 2).

Both take plain JSON-compatible records so any controller can use them.

Example:
    >>> import tempfile, os
    >>> from neuroplast import Spec
    >>> recs = [{"generation": 0, "accuracy": 0.9, "n_params": 100, "action": None},
    ...         {"generation": 1, "accuracy": 0.92, "n_params": 60, "action": "narrow dense_0",
    ...          "action_kind": "remove_neurons"}]
    >>> d = tempfile.mkdtemp()
    >>> plot_history(recs, os.path.join(d, "h.png"))
    >>> plot_architectures([(0, layer_widths(Spec.mlp(4, [8], 2)))], os.path.join(d, "a.png"))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from neuroplast.layers import Add, Conv2d, Dense
from neuroplast.spec import Spec

__all__ = [
    "ACTION_COLOURS",
    "layer_widths",
    "plot_architectures",
    "plot_epochs",
    "plot_history",
    "plot_overview",
]

#: Line colour per action kind (others: grey).
ACTION_COLOURS: dict[str, str] = {
    "remove_neurons": "tab:green",
    "delete_layer": "tab:red",
    "add_neurons": "tab:blue",
    "add_dense": "tab:purple",
    "add_residual_dense": "tab:orange",
    "add_conv": "tab:brown",
    "add_residual_conv": "tab:pink",
    "grow": "tab:blue",
    "prune": "tab:red",
    "grow_and_prune": "tab:purple",
}

Layer = tuple[str, int, str]


def layer_widths(spec: Spec) -> list[Layer]:
    """``(name, units, kind)`` of every dense, conv and add node, in graph order.

    ``kind`` is ``"dense"``, ``"conv"`` or ``"add"``; units are features or channels.
    """
    out: list[Layer] = []
    for node in spec.nodes:
        if isinstance(node, (Dense, Conv2d, Add)):
            kind = {Dense: "dense", Conv2d: "conv", Add: "add"}[type(node)]
            out.append((node.name, spec.widths[node.name], kind))
    return out


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_history(
    records: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    metric: str = "accuracy",
    size: str = "n_params",
    title: str | None = None,
) -> None:
    """Plots ``metric`` and ``size`` per generation with the applied actions marked.

    Args:
        records: One dict per generation with ``"generation"``, ``metric``, ``size`` and
            optionally ``"action"`` (label; ``None`` for none) and ``"action_kind"`` (colour
            key of :data:`ACTION_COLOURS`).
        path: The PNG to write.
        metric: Key plotted on the left axis.
        size: Key plotted on the right axis.
        title: Figure title.
    """
    plt = _pyplot()
    gens = [r["generation"] for r in records]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(gens, [r[metric] for r in records], "o-", color="black", label=metric)
    ax.set_xlabel("generation (vertical lines: actions applied between generations)")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(metric)
    ax2 = ax.twinx()
    ax2.plot(gens, [r[size] for r in records], "s--", color="tab:gray", label=size)
    ax2.set_ylabel(size)
    seen: set[str] = set()
    for r in records:
        if not r.get("action"):
            continue
        kind = str(r.get("action_kind", "other"))
        colour = ACTION_COLOURS.get(kind, "tab:gray")
        # The action is applied after generation g's training, before generation g + 1.
        ax.axvline(
            r["generation"] + 0.5,
            color=colour,
            alpha=0.6,
            lw=1.5,
            label=None if kind in seen else kind.replace("_", " "),
        )
        seen.add(kind)
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], fontsize=7, loc="best")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def plot_epochs(
    records: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    curve: str = "epoch_accuracy",
    title: str | None = None,
) -> None:
    """Plots a per-epoch metric over all generations with the applied actions marked.

    Args:
        records: One dict per generation with a list ``curve`` (one value per epoch of that
            generation; may be empty) and optionally ``"edit"``/``"edit_kind"`` (or the older
            ``"action"``/``"action_kind"``, see :func:`plot_history`); an edit is drawn after
            its generation's last epoch.
        path: The PNG to write.
        curve: Key of the per-epoch list.
        title: Figure title.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    xs: list[int] = []
    ys: list[float] = []
    seen: set[str] = set()
    for r in records:
        values = [v for v in r.get(curve, []) if v is not None]
        xs.extend(range(len(xs) + 1, len(xs) + 1 + len(values)))
        ys.extend(float(v) for v in values)
        if r.get("edit") or r.get("action"):
            kind = str(r.get("edit_kind") or r.get("action_kind") or "other")
            ax.axvline(
                len(xs) + 0.5,
                color=ACTION_COLOURS.get(kind, "tab:gray"),
                alpha=0.6,
                lw=1.5,
                label=None if kind in seen else kind.replace("_", " "),
            )
            seen.add(kind)
    ax.plot(xs, ys, "-", color="black", lw=1.2, label=curve.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel(curve.replace("_", " "))
    ax.legend(fontsize=7, loc="best")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def plot_architectures(
    archs: Sequence[tuple[int, Sequence[Layer]]],
    path: str | os.PathLike[str],
    *,
    max_panels: int = 8,
) -> None:
    """Draws the layer widths of the network at several generations, one panel each.

    Args:
        archs: ``(generation, layer_widths(spec))`` pairs; when there are more than
            ``max_panels`` an evenly spaced selection (first and last included) is drawn.
        path: The PNG to write.
        max_panels: Most panels in the figure.
    """
    plt = _pyplot()
    if len(archs) > max_panels:
        step = (len(archs) - 1) / (max_panels - 1)
        archs = [archs[round(i * step)] for i in range(max_panels)]
    n = max(1, len(archs))
    rows = max((len(layers) for _, layers in archs), default=1)
    fig, axes = plt.subplots(1, n, figsize=(2.4 * n, 0.35 * rows + 1.6), squeeze=False)
    colours = {"dense": "tab:blue", "conv": "tab:orange", "add": "tab:gray"}
    top = max((w for _, layers in archs for _, w, _ in layers), default=1)
    for ax, (gen, layers) in zip(axes[0], archs, strict=False):
        names = [name for name, _, _ in layers]
        ax.barh(
            range(len(layers)),
            [w for _, w, _ in layers],
            color=[colours[k] for _, _, k in layers],
        )
        ax.set_yticks(range(len(layers)), names, fontsize=6)
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.05)
        ax.set_title(f"generation {gen}", fontsize=8)
        ax.tick_params(axis="x", labelsize=6)
    fig.suptitle("layer widths (blue dense, orange conv, grey add)", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def _mark_edits(ax: Any, steps: Sequence[Any], records: Sequence[Mapping[str, Any]]) -> None:
    """Vertical lines half a step after every record that carries an ``edit`` label."""
    seen: set[str] = set()
    for x, r in zip(steps, records, strict=True):
        if not r.get("edit"):
            continue
        kind = str(r.get("edit_kind") or r.get("action_kind") or "edit")
        label = None if kind in seen else kind.replace("_", " ")
        ax.axvline(x + 0.5, color=ACTION_COLOURS.get(kind, "tab:gray"), alpha=0.5, label=label)
        seen.add(kind)


def plot_overview(result: Any, path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """One figure per run: accuracy and size along the run, and the before/after table.

    Args:
        result: A :class:`~neuroplast.search.Result` (``history`` records with ``step``,
            ``val_accuracy``, ``n_params`` and optional ``edit`` / ``edit_kind``; ``before``
            and ``after`` from :func:`~neuroplast.search._contract.measure`).
        path: The PNG to write.
        title: Figure title (the controller's name).
    """
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    recs = [r for r in result.history if r.get("val_accuracy") is not None]
    steps = [r["step"] for r in recs]
    fig, (acc_ax, size_ax, table_ax) = plt.subplots(
        1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [3, 3, 2]}
    )
    acc_ax.plot(steps, [r["val_accuracy"] for r in recs], "o-", color="black", ms=3)
    acc_ax.set_ylabel("validation accuracy")
    size_ax.plot(steps, [r["n_params"] for r in recs], "s-", color="tab:blue", ms=3)
    size_ax.set_ylabel("parameters")
    for ax in (acc_ax, size_ax):
        _mark_edits(ax, steps, recs)
        ax.set_xlabel("step (lines: edits applied after the step)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
    size_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    table_ax.axis("off")
    rows = [
        (key.replace("_", " "), result.before[key], result.after.get(key))
        for key in ("n_params", "flops", "val_accuracy", "test_accuracy")
        if key in result.before
    ]
    cells = [[name, _fmt(b), _fmt(a)] for name, b, a in rows]
    if cells:
        table = table_ax.table(cells, colLabels=["", "before", "after"], loc="center")
        table.scale(1, 1.6)
    table_ax.set_title(f"{len(result.edits)} edits; stop: {result.stop_reason or '-'}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)
