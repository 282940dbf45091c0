"""Point-group tables and actions vs a NumPy statement that acts on probe arrays."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Spec
from neuroplast.errors import SpecError
from neuroplast.groups import (
    GROUPS,
    LATTICE_EDGES,
    is_subgroup,
    maximal_subgroups,
    table,
    transform_features,
    transform_images,
)
from neuroplast.testing.group import act, product


@pytest.mark.parametrize("group", GROUPS)
def test_cayley_table_and_inverses_match_acting_on_arrays(group: str) -> None:
    t = table(group)
    assert t.elements[0] == (0, False)
    assert len(set(t.elements)) == t.order
    for i, a in enumerate(t.elements):
        assert product(a, t.elements[t.inverses[i]]) == (0, False)
        for j, b in enumerate(t.elements):
            assert t.elements[t.cayley[i][j]] == product(a, b)


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_grid_permutations_are_rot90_and_fliplr(group: str, k: int) -> None:
    t = table(group)
    a = np.arange(k * k).reshape(k, k)
    for e, el in enumerate(t.elements):
        np.testing.assert_array_equal(
            a.reshape(-1)[t.grid_permutation(e, k)], act(el, a).reshape(-1)
        )
        np.testing.assert_array_equal(transform_images(a, group, e), act(el, a))


def test_lattice() -> None:
    assert LATTICE_EDGES == (
        ("D4", "C4"),
        ("D4", "D2"),
        ("C4", "C2"),
        ("D2", "C2"),
        ("D2", "D1"),
        ("C2", "C1"),
        ("D1", "C1"),
    )
    assert maximal_subgroups("C1") == ()
    assert is_subgroup("D1", "D4") and is_subgroup("C2", "D2")
    assert not is_subgroup("C4", "D2") and not is_subgroup("D1", "C2")
    assert table("d4") is table("D4")
    with pytest.raises(SpecError):
        table("C3")


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(GROUPS), st.integers(0, 7), st.integers(1, 3))
def test_transform_features_is_an_action(group: str, seed: int, c: int) -> None:
    # Transforming by u then by w equals transforming by w·u.
    t = table(group)
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(2, c * t.order, 3, 3))
    u, w = rng.integers(t.order), rng.integers(t.order)
    twice = transform_features(transform_features(f, group, u), group, w)
    np.testing.assert_array_equal(twice, transform_features(f, group, t.cayley[w][u]))


@pytest.mark.parametrize(
    "module",
    [
        "neuroplast.groups",
        "neuroplast.layers.group",
        "neuroplast.morph.relax",
        "neuroplast.morph.collapse",
        "neuroplast.testing.group",
        "neuroplast.search.equinas._pareto",
        "neuroplast.search.equinas._alternate",
        "neuroplast.search.equinas.evolution",
        "neuroplast.search.equinas.differentiable",
    ],
)
def test_module_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def test_builder_doctests() -> None:
    for fn in (Spec.gcnn, Spec.mixed_gcnn):
        finder = doctest.DocTestFinder()
        runner = doctest.DocTestRunner()
        for test in finder.find(fn, globs={"Spec": Spec}):
            runner.run(test)
        assert runner.failures == 0 and runner.tries > 0
