"""MCTS structural optimization (seed 000): actions, tree, search, generations and phases.

See :class:`MCTS` for the controller (``MCTS(MCTSConfig.fast()).run(net, data)``),
:class:`ActionSpace` for the actions and their legality rules and :class:`MCTSConfig` for every
setting.
"""

from __future__ import annotations

from neuroplast.search.mcts._size import predict_params
from neuroplast.search.mcts.actions import (
    ACTION_KINDS,
    Action,
    ActionSpace,
    IllegalActionError,
    random_action,
)
from neuroplast.search.mcts.config import MCTSConfig, penalized_score, score
from neuroplast.search.mcts.controller import MCTS, MCTSResult
from neuroplast.search.mcts.search import Decision, Searcher
from neuroplast.search.mcts.tree import Node, backup, most_visited, select_child, ucb1

__all__ = [
    "ACTION_KINDS",
    "MCTS",
    "Action",
    "ActionSpace",
    "Decision",
    "IllegalActionError",
    "MCTSConfig",
    "MCTSResult",
    "Node",
    "Searcher",
    "backup",
    "most_visited",
    "penalized_score",
    "predict_params",
    "random_action",
    "score",
    "select_child",
    "ucb1",
]
