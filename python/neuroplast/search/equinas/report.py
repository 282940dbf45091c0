"""Figures of the EquiNAS controllers (matplotlib, imported lazily).

* :func:`plot_groups`: the group of every layer along a run (EquiNAS_E: the most accurate
  individual per generation), one colour per group.
* :func:`plot_z`: the architecture weights ``z`` of every mixed layer over training
  (EquiNAS_D), one panel per layer (the thesis's Fig. 10/11 in spirit).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from neuroplast.layers import GROUPS

__all__ = ["GROUP_COLOURS", "plot_groups", "plot_z"]

#: Colour of each group, from the least to the most symmetric.
GROUP_COLOURS: dict[str, str] = {
    "C1": "tab:grey",
    "D1": "tab:olive",
    "C2": "tab:cyan",
    "D2": "tab:green",
    "C4": "tab:blue",
    "D4": "tab:purple",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_groups(
    steps: Sequence[int],
    groups: Sequence[Sequence[str]],
    path: str | os.PathLike[str],
    *,
    title: str = "",
) -> None:
    """A layers × steps grid coloured by each layer's group."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    plt = _pyplot()
    n_layers = max((len(g) for g in groups), default=0)
    grid = [[GROUPS.index(g[i]) if i < len(g) else -1 for g in groups] for i in range(n_layers)]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * len(steps) + 2), 0.45 * n_layers + 1.5))
    cmap = ListedColormap([GROUP_COLOURS[g] for g in GROUPS])
    ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=len(GROUPS) - 1, interpolation="none")
    ax.set_yticks(range(n_layers), [f"conv_{i}" for i in range(n_layers)])
    ax.set_xticks(range(len(steps)), [str(s) for s in steps], fontsize=7)
    ax.set_xlabel("generation")
    handles = [Patch(color=GROUP_COLOURS[g], label=g) for g in GROUPS]
    ax.legend(handles=handles, bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_z(
    steps: Sequence[int],
    z: Sequence[Mapping[str, Mapping[str, float]]],
    path: str | os.PathLike[str],
    *,
    title: str = "",
) -> None:
    """One panel per mixed layer: ``z_G`` of every candidate group over the steps."""
    plt = _pyplot()
    layers = list(z[0]) if z else []
    fig, axes = plt.subplots(1, max(1, len(layers)), figsize=(3.2 * max(1, len(layers)), 3))
    axes = axes if len(layers) > 1 else [axes]
    for ax, layer in zip(axes, layers, strict=False):
        for g in z[0][layer]:
            ax.plot(steps, [zz[layer][g] for zz in z], label=g, color=GROUP_COLOURS[g])
        ax.set_title(layer, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1)
    if layers:
        axes[0].set_ylabel("architecture weight z")
        axes[-1].legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
