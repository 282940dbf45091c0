from __future__ import annotations

import math

import pytest

from neuroplast.search.mcts import Node, backup, most_visited, score, select_child, ucb1


def _toy() -> tuple[Node, list[Node]]:
    """Root with three children whose backed-up values are known."""
    root = Node(None, None)
    kids = [root.add_child(name) for name in "abc"]
    for kid, values in zip(kids, ([0.9, 0.7], [0.2], [0.5, 0.5, 0.2]), strict=True):
        for v in values:
            backup(kid, v)
    return root, kids


def test_backup_sums_values_and_visits_up_the_path() -> None:
    root, (a, b, c) = _toy()
    assert (root.visits, a.visits, b.visits, c.visits) == (6, 2, 1, 3)
    assert root.value_sum == pytest.approx(0.9 + 0.7 + 0.2 + 0.5 + 0.5 + 0.2)
    assert (a.mean, b.mean, c.mean) == pytest.approx((0.8, 0.2, 0.4))
    grandchild = a.add_child("x")
    backup(grandchild, 1.0)
    assert (grandchild.visits, a.visits, root.visits) == (1, 3, 7)
    assert a.mean == pytest.approx(2.6 / 3)
    assert grandchild.path() == [a, grandchild] and grandchild.depth == 2


def test_ucb1_is_the_papers_formula() -> None:
    # mean + c * sqrt(ln N / n): the square root and the mean value, not sums.
    assert ucb1(0.8, 2, 6, math.sqrt(2)) == pytest.approx(
        0.8 + math.sqrt(2) * math.sqrt(math.log(6) / 2)
    )
    assert ucb1(0.3, 0, 6, 1.0) == math.inf
    assert ucb1(0.3, 4, 6, 0.0) == 0.3


def test_selection_with_known_values() -> None:
    root, (a, b, c) = _toy()
    # Greedy (c = 0): highest mean.
    assert select_child(root, 0.0) is a
    # UCB1 with c = sqrt(2): a = 0.8 + 1.414*sqrt(ln6/2) = 2.1386, b = 0.2 + 1.414*sqrt(ln6)
    # = 2.0930, c = 0.4 + 1.414*sqrt(ln6/3) = 1.4929 -> a.
    values = [ucb1(k.mean, k.visits, root.visits, math.sqrt(2)) for k in (a, b, c)]
    assert values == pytest.approx([2.1386, 2.0930, 1.4929], abs=1e-4)
    assert select_child(root, math.sqrt(2)) is a
    # With c = 2 the least visited child b wins (2.8772 against a's 2.6929).
    assert select_child(root, 2.0) is b
    # An unvisited child is always tried first.
    d = root.add_child("d")
    assert select_child(root, 0.0) is d


def test_final_choice_is_the_most_visited_child() -> None:
    root, (a, _b, c) = _toy()
    # c has the most visits (3) although a has the higher mean.
    assert most_visited(root) is c
    backup(a, 0.0)  # a: 3 visits, mean 0.533 > c's 0.4 -> tie on visits broken by the mean
    assert most_visited(root) is a


def test_toy_search_converges_to_the_best_arm() -> None:
    # Deterministic arm values: UCB1 must spend most visits on the best one.
    root = Node(None, None)
    arms = {root.add_child(v): v for v in (0.2, 0.5, 0.9, 0.4)}
    for _ in range(200):
        child = select_child(root, math.sqrt(2))
        backup(child, arms[child])
    assert most_visited(root).action == 0.9
    assert root.size() == 5


def test_score_is_eq_1() -> None:
    assert score(0.9, 0, 1.0, 2.0, 0.001) == pytest.approx((0.9 + 2.0) / 3.0)
    assert score(0.9, 1000, 1.0, 2.0, 0.001) == pytest.approx((0.9 + 2.0 / 2.0) / 3.0)
    assert score(1.0, 7510, 1.0, 0.0, 0.001) == 1.0


def test_empty_nodes_raise() -> None:
    with pytest.raises(ValueError):
        select_child(Node(None, None), 1.0)
    with pytest.raises(ValueError):
        most_visited(Node(None, None))
