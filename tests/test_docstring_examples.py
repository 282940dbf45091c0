"""Every ``Example:`` in the package's docstrings runs and prints what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import neuroplast

MODULES = sorted(m.name for m in pkgutil.walk_packages(neuroplast.__path__, prefix="neuroplast."))


def test_every_module_is_found() -> None:
    assert {"neuroplast.network", "neuroplast.spec", "neuroplast.search.compress"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
