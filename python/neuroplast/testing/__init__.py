"""Test utilities shipped with neuroplast.

* :mod:`neuroplast.testing.reference`: a pure-NumPy float64 reference of the engine (forward,
  losses, backward, finite differences), re-exporting the optimizer reference of
  :mod:`neuroplast.testing.reference_optim` (SGD/Adam/AdamW steps, PyTorch rules).
* :mod:`neuroplast.testing.asserts`: magnitude-aware comparison helpers.
* :mod:`neuroplast.testing.strategies`: hypothesis strategies for specs, parameters and data
  (imported on demand; needs the optional ``hypothesis`` dependency).

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
    max_abs,
)

__all__ = ["assert_all_close", "assert_bitwise_equal", "assert_close", "max_abs", "reference"]
