"""Structural edits with declared contracts: widen, narrow, deepen, shallow, factorize, disconnect.

The equivariant layers have their own: ``relax`` (equivariance relaxation along the subgroup
lattice) and ``collapse`` (a ``[G]``-mixed layer into one convolution).

Every edit is a pure function ``Network -> (Network, EditRecord)``. Units that must change
together (both sides of a residual ``add``, ``concat`` offsets, flatten columns, batch-norm
entries) are found by one dependency mechanism, :func:`coupled_group`; edits act on that group
generically. Optimizer state follows every edit, and an :class:`EditLog` of records replays
the edits bit-for-bit.

Example:
    >>> import numpy as np
    >>> from neuroplast import Network, Spec
    >>> from neuroplast.morph import deepen, narrow, widen
    >>> net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    >>> wide, rec = widen(net, "dense_0", 2, "zero_fanout", seed=0)
    >>> back, _ = narrow(wide, "dense_0", keep=range(6))
    >>> X = np.ones((1, 4), np.float32)
    >>> bool((back.forward(X) == net.forward(X)).all())
    True
"""

from __future__ import annotations

from collections.abc import Callable

from neuroplast.morph.collapse import architecture_weights, collapse, collapsed_kernel
from neuroplast.morph.connections import disconnect
from neuroplast.morph.deepen import DeepenKind, deepen, output_range
from neuroplast.morph.deps import CoupledGroup, UnitGraph, coupled_group, unit_graph
from neuroplast.morph.factorize import factorize
from neuroplast.morph.importance import IMPORTANCES, Importance, unit_importances
from neuroplast.morph.narrow import NARROW_METHODS, Keep, NarrowMethod, narrow
from neuroplast.morph.quasi_identity import quasi_identity
from neuroplast.morph.record import (
    Calibration,
    Contract,
    Distortion,
    EditLog,
    EditRecord,
    measure,
    split_calibration,
)
from neuroplast.morph.relax import relax, relaxations
from neuroplast.morph.select import SELECT_RULES, SelectRule, node_activations
from neuroplast.morph.shallow import shallow, shallow_kind
from neuroplast.morph.widen import WIDEN_METHODS, WidenMethod, widen
from neuroplast.network import Network

__all__ = [
    "EDITS",
    "IMPORTANCES",
    "Importance",
    "NARROW_METHODS",
    "WIDEN_METHODS",
    "Calibration",
    "Contract",
    "CoupledGroup",
    "DeepenKind",
    "Distortion",
    "EditLog",
    "EditRecord",
    "NarrowMethod",
    "UnitGraph",
    "WidenMethod",
    "architecture_weights",
    "collapse",
    "collapsed_kernel",
    "coupled_group",
    "deepen",
    "disconnect",
    "factorize",
    "measure",
    "narrow",
    "output_range",
    "relax",
    "relaxations",
    "unit_graph",
    "unit_importances",
    "widen",
    # narrow methods, selection rules and shallow
    "SELECT_RULES",
    "Keep",
    "SelectRule",
    "node_activations",
    "quasi_identity",
    "shallow",
    "shallow_kind",
    "split_calibration",
]

#: Every edit by its record name (used by :meth:`EditLog.replay`).
EDITS: dict[str, Callable[..., tuple[Network, EditRecord]]] = {
    "widen": widen,
    "narrow": narrow,
    "deepen": deepen,
    "shallow": shallow,
    "factorize": factorize,
    "disconnect": disconnect,
    "relax": relax,
    "collapse": collapse,
}
