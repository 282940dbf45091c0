"""Selection rules: which ``k`` units of a coupled group to keep, from calibration activations.

Activations of any node are read by running a sub-network whose output is that node
(:func:`node_activations`). Each unit's samples are its values over the batch and, for spatial
nodes, over every pixel. Rules (all keep exactly ``k`` units, returned sorted):

* ``"dormant"``: remove the units with the smallest mean ``|activation|``; units that are zero
  on every calibration sample (dormant) go first, ties by index.
* ``"cosine"`` (DYNO, thesis ch. 7 §5.3; :func:`neuroplast.metrics.cosine_redundancy`, in the
  Rust core): dormant units first; then, with ``C = ÂᵀÂ`` the cosine
  similarities of the unit-normalized activations ``Â``, exact duplicates (a unit whose
  activations are a positive multiple of a remaining lower-index unit's, ``C ≥ 1 − 1e-9``: the
  consumers can carry it through its twin); then repeatedly the unit whose row of ``C`` (over the
  remaining units, diagonal included) has the largest L2 norm. The duplicate pass is not in the
  thesis, whose greedy norm alone does not prune duplicates first: with non-negative (ReLU)
  activations every cosine is large, and a unit moderately similar to many others outscores
  an exact copy.
* ``"magnitude_std"``: keep the largest ``‖outgoing weights‖₂ · std(activation)`` (outgoing
  weights: every consumer column carrying the unit).
* ``"low_energy"``: with ``A_k`` the rank-``k`` truncation of the activation matrix, keep the
  units with the largest energy ``‖A_k[:, u]‖²`` in the leading ``k`` singular directions
  (units living in the low-energy directions go).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from neuroplast import _linalg
from neuroplast.metrics import cosine_redundancy
from neuroplast.morph._acts import node_activations, unit_samples
from neuroplast.morph.deps import CoupledGroup
from neuroplast.morph.importance import importance_scores
from neuroplast.network import Network

__all__ = ["SELECT_RULES", "SelectRule", "node_activations", "select_units", "unit_samples"]

F64 = npt.NDArray[np.float64]
SelectRule = Literal["dormant", "cosine", "magnitude_std", "low_energy"]
#: Selection rules accepted by ``narrow(..., select=...)``.
SELECT_RULES: tuple[str, ...] = ("dormant", "cosine", "magnitude_std", "low_energy")


def select_units(
    rule: SelectRule, net: Network, group: CoupledGroup, acts: F64, k: int
) -> list[int]:
    """Indices (sorted) of the ``k`` units of ``group`` to keep under ``rule``.

    Args:
        rule: One of :data:`SELECT_RULES`.
        net: The network (for outgoing weights).
        group: The coupled group.
        acts: Calibration activations of the group's layer, ``(samples, units)``.
        k: Number of units to keep (``1 ≤ k ≤ units``).
    """
    n = group.units
    n_remove = n - k
    if rule == "cosine":
        gone = {int(u) for u in cosine_redundancy(acts, n_remove)}
        return [u for u in range(n) if u not in gone]
    if rule == "dormant":
        score = importance_scores("mean_abs", net, group, acts)
    elif rule == "magnitude_std":
        score = importance_scores("magnitude_std", net, group, acts)
    else:  # low_energy
        # The core's sequential SVD: no BLAS thread storms on a busy machine, and the same
        # choice whatever the local LAPACK build.
        _, s, vt = _linalg.svd(acts, full_matrices=False)
        score = np.sum((s[:k, None] * vt[:k]) ** 2, axis=0)
    order = np.lexsort((np.arange(n), -score))  # largest score first, ties by index
    return sorted(int(u) for u in order[:k])
