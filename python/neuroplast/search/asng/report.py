"""The θ figure of an ASNG run.

Per layer (or merge): the mean ``θ`` and the bits kept by the deterministic structure along
training, and the final ``θ`` of every bit.

Example:
    >>> import tempfile, os
    >>> from types import SimpleNamespace
    >>> hist = [{"phase": "train", "step": s, "theta_mean": {"dense_0": 0.5 - s / 10},
    ...          "selected": {"dense_0": 4 - s}} for s in (1, 2)]
    >>> res = SimpleNamespace(history=hist, theta={"dense_0": [0.2, 0.3, 0.6, 0.7]},
    ...                       selected={"dense_0": [2, 4]})
    >>> plot_theta(res, os.path.join(tempfile.mkdtemp(), "theta.png"))
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["plot_theta"]


def plot_theta(result: Any, path: str | os.PathLike[str]) -> None:
    """Writes the θ figure of ``result`` (an :class:`~neuroplast.search.ASNGResult`) to ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    recs = [r for r in result.history if r.get("phase") == "train"]
    groups = list(result.theta)
    fig, (mean_ax, kept_ax, final_ax) = plt.subplots(1, 3, figsize=(13, 3.8))
    steps = [r["step"] for r in recs]
    for g in groups:
        total = max(1, result.selected[g][1])
        mean_ax.plot(steps, [r["theta_mean"][g] for r in recs], label=g)
        kept_ax.plot(steps, [r["selected"][g] / total for r in recs], label=g)
        theta = np.sort(np.asarray(result.theta[g]))[::-1]
        final_ax.plot(np.linspace(0, 1, len(theta)), theta, label=g)
    mean_ax.set(xlabel="epoch", ylabel="mean θ", ylim=(0, 1), title="θ over training")
    kept_ax.set(xlabel="epoch", ylabel="share of bits with θ ≥ ½", ylim=(0, 1.02))
    kept_ax.set_title("deterministic structure")
    final_ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    final_ax.set(xlabel="bits (sorted, share)", ylabel="final θ", ylim=(0, 1), title="final θ")
    if len(groups) <= 12:
        mean_ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)
