"""The Surgeon's composite score (seed 001, eq. 16) and ranking with the BIC tie-break."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from neuroplast.errors import ConfigError

__all__ = ["rank", "score"]

T = TypeVar("T")


def score(accuracy: float, gain: float, fraction: float) -> float:
    """``s = a + exp(Δa) / exp(Δf)`` (eq. 16, adapted from Cai et al. 2018).

    Args:
        accuracy: ``a``, the candidate's validation accuracy.
        gain: ``Δa``, its accuracy minus its parent's (before the surgery).
        fraction: ``Δf``, its parameter count as a fraction of its parent's (1 = same size).

    Raises:
        ConfigError: Non-finite inputs or a non-positive fraction.

    Example:
        >>> round(score(0.6023, 0.0274, 0.9977), 4)  # Table 1, "Remove layer"
        0.9813
    """
    vals = (accuracy, gain, fraction)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
        raise ConfigError(f"score needs finite numbers, got {vals}")
    if fraction <= 0:
        raise ConfigError(f"the parameter fraction must be > 0, got {fraction}")
    return accuracy + math.exp(gain - fraction)


def rank(items: Sequence[T], scores: Sequence[float], n_params: Sequence[int]) -> list[int]:
    """Indices of ``items`` best first: highest score, ties toward fewer parameters.

    The tie-break follows the paper's BIC argument (eq. 15): at equal fit, the model with fewer
    parameters. Remaining ties keep the input order.

    Example:
        >>> rank(["a", "b", "c"], [0.9, 0.95, 0.95], [10, 30, 20])
        [2, 1, 0]
    """
    if not len(items) == len(scores) == len(n_params):
        raise ConfigError("rank needs as many scores and parameter counts as items")
    return sorted(range(len(items)), key=lambda i: (-scores[i], n_params[i], i))
