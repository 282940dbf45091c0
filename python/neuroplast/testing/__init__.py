"""Test utilities shipped with neuroplast.

* :mod:`neuroplast.testing.reference`: a pure-NumPy float64 reference of the engine (forward,
  losses, backward, finite differences), re-exporting the optimizer reference of
  :mod:`neuroplast.testing.reference_optim` (SGD/Adam/AdamW steps, PyTorch rules).
* :mod:`neuroplast.testing.asserts`: magnitude-aware comparison helpers.
* :mod:`neuroplast.testing.strategies` (and ``strategies_conv``): hypothesis strategies for
  specs, parameters and data (imported on demand; needs the optional ``hypothesis``).
* :mod:`neuroplast.testing.morph`: strategies of valid structural edits for property tests of
  :mod:`neuroplast.morph` (needs ``hypothesis``); ``assert_function_preserved`` lives in
  :mod:`neuroplast.testing.asserts` and is re-exported here.

Example:
    >>> from neuroplast import Spec
    >>> from neuroplast.testing import reference
    >>> reference.n_params(Spec.mlp(4, [8], 3)) == Spec.mlp(4, [8], 3).n_params
    True
"""

from __future__ import annotations

from neuroplast.testing import reference
from neuroplast.testing.asserts import (
    assert_all_close,
    assert_bitwise_equal,
    assert_close,
    assert_function_preserved,
    max_abs,
    same_network,
)

__all__ = [
    "assert_all_close",
    "assert_bitwise_equal",
    "assert_close",
    "assert_function_preserved",
    "max_abs",
    "reference",
    "same_network",
]
