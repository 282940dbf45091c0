"""The MCTS tree: nodes that store an action path (never a network), UCB1 and backup.

A node holds its action, the seeds that make its network reproducible (edit seed and training
seed), its visit count and value sum, and links to its parent and children: about 200 bytes,
whatever the size of the network. The network of a node is re-derived by replaying the path
from the decision's root network (see :mod:`neuroplast.search.mcts.search`).

UCB1 is the paper's: ``v̄ + c·sqrt(ln N / n)`` with the mean value ``v̄``, the parent's visits
``N`` and the child's visits ``n`` (unvisited children first). The final choice is the most
visited child. With ``backup="max"`` (single-player MCTS, Schadd et al. 2008; not in the paper)
the exploitation term is the best value backed up through the child instead of the mean: the
value of a structural move is the best network reachable after it, which is what a controller
that returns the best network it has seen needs, whereas the mean makes the search avoid moves
with risky continuations.

Example:
    >>> root = Node(None, None)
    >>> a, b = root.add_child("a"), root.add_child("b")
    >>> backup(a, 0.9); backup(b, 0.1); backup(a, 0.7)
    >>> root.visits, round(a.mean, 3), select_child(root, c=0.0) is a, most_visited(root) is a
    (3, 0.8, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["Node", "backup", "most_visited", "select_child", "ucb1"]


class Node:
    """One tree node (an action applied to its parent's network, then short training).

    Attributes:
        action: The action (``None`` at the root).
        parent: Parent node (``None`` at the root).
        children: Child nodes, ``None`` until expanded.
        visits: Number of values backed up through this node.
        value_sum: Sum of those values.
        best: Largest of those values (``-inf`` before any).
        edit_seed: Seed of the action's edit.
        train_seed: Seed of the short training after the edit.
        depth: Distance from the root.
        score: The node's own score after its training (``None`` before evaluation).
        accuracy: The node's own validation accuracy after its training (``nan`` before).
        n_params: Parameter count of the node's network.
        pending: Selected for an evaluation that has not returned yet.
    """

    __slots__ = (
        "accuracy",
        "action",
        "best",
        "children",
        "depth",
        "edit_seed",
        "n_params",
        "parent",
        "pending",
        "score",
        "train_seed",
        "value_sum",
        "visits",
    )

    def __init__(
        self, action: Any, parent: Node | None, edit_seed: int = 0, train_seed: int = 0
    ) -> None:
        self.action = action
        self.parent = parent
        self.children: list[Node] | None = None
        self.visits = 0
        self.value_sum = 0.0
        self.best = -math.inf
        self.edit_seed = edit_seed
        self.train_seed = train_seed
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.score: float | None = None
        self.accuracy = math.nan
        self.n_params = 0
        self.pending = False

    def add_child(self, action: Any, edit_seed: int = 0, train_seed: int = 0) -> Node:
        """Appends and returns a child (expands this node if needed)."""
        if self.children is None:
            self.children = []
        child = Node(action, self, edit_seed, train_seed)
        self.children.append(child)
        return child

    @property
    def mean(self) -> float:
        """Mean backed-up value (0 before any visit)."""
        return self.value_sum / self.visits if self.visits else 0.0

    def value(self, backup: str = "mean") -> float:
        """The exploitation value: :attr:`mean`, or :attr:`best` for ``backup="max"``."""
        if backup == "max":
            return self.best if self.visits and math.isfinite(self.best) else self.mean
        return self.mean

    def path(self) -> list[Node]:
        """Nodes from the root's first child down to this node (empty for the root)."""
        out: list[Node] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            out.append(node)
            node = node.parent
        return out[::-1]

    def size(self) -> int:
        """Number of nodes in this subtree (iterative, no recursion limit)."""
        n, stack = 0, [self]
        while stack:
            node = stack.pop()
            n += 1
            stack.extend(node.children or ())
        return n

    def __repr__(self) -> str:
        return f"Node({self.action!r}, visits={self.visits}, mean={self.mean:.4f})"


def ucb1(mean: float, visits: int, parent_visits: int, c: float) -> float:
    """``mean + c·sqrt(ln N / n)``; ``inf`` for an unvisited child.

    Example:
        >>> round(ucb1(0.5, 2, 8, 2 ** 0.5), 4)
        1.942
    """
    if visits == 0:
        return math.inf
    return mean + c * math.sqrt(math.log(max(parent_visits, 1)) / visits)


def select_child(node: Node, c: float, backup: str = "mean") -> Node:
    """The child maximizing UCB1 (first unvisited child first; ties: earliest child).

    ``backup="max"`` uses each child's best value instead of its mean (:meth:`Node.value`).
    """
    if not node.children:
        raise ValueError("select_child needs an expanded node with children")
    best, best_u = node.children[0], -math.inf
    for child in node.children:
        u = ucb1(child.value(backup), child.visits, node.visits, c)
        if u > best_u:
            best, best_u = child, u
    return best


def backup(node: Node, value: float, visits: int = 1, real: bool = True) -> None:
    """Adds ``value`` (and ``visits``) to ``node`` and every ancestor.

    ``real=False`` (virtual visits and their removal) leaves :attr:`Node.best` alone.
    """
    cur: Node | None = node
    while cur is not None:
        cur.visits += visits
        cur.value_sum += value
        if real:
            cur.best = max(cur.best, value)
        cur = cur.parent


def most_visited(
    node: Node, admit: Callable[[Node], bool] | None = None, backup: str = "mean"
) -> Node:
    """The most visited child (ties: higher value, then earliest), among ``admit``-ted ones.

    Raises:
        ValueError: No child (or no admitted child).
    """
    kids = [(i, ch) for i, ch in enumerate(node.children or ()) if admit is None or admit(ch)]
    if not kids:
        raise ValueError("most_visited needs an expanded node with (admitted) children")
    return max(kids, key=lambda ic: (ic[1].visits, ic[1].value(backup), -ic[0]))[1]
