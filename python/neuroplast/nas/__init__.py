"""Cell-based differentiable architecture search spaces (DARTS; Maile 2023, ch. 5).

* :mod:`~neuroplast.nas.ops`: the candidate operations as chains of engine nodes;
* :mod:`~neuroplast.nas.cells`: the search network (every operation on every edge, mixed by
  shared architecture tensors) and the evaluation network of a genotype;
* :mod:`~neuroplast.nas.genotype`: :class:`Genotype` and the projection ``Π_S`` that derives
  it from architecture tensors.

The search itself is :class:`neuroplast.search.DARTS`; the networks are also reachable as
:meth:`neuroplast.Spec.darts_search` and :meth:`neuroplast.Spec.darts_network`.
"""

from __future__ import annotations

from neuroplast.nas.cells import eval_nodes, reduction_cells, search_nodes
from neuroplast.nas.genotype import Genotype, activate, derive, edge_sources, project
from neuroplast.nas.ops import OPS, PRIMITIVES, op_nodes, op_params

__all__ = [
    "OPS",
    "PRIMITIVES",
    "Genotype",
    "activate",
    "derive",
    "edge_sources",
    "eval_nodes",
    "op_nodes",
    "op_params",
    "project",
    "reduction_cells",
    "search_nodes",
]
