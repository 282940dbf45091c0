"""Initializations of new units (Maile 2023, Sec. 6.2.2) and :func:`grow`, which applies them.

Every initialization has the signature::

    init(net, layer, n_new, *, X=None, y=None, seed=0, candidates=None) -> weights

and returns the ``weights=`` mapping of ``neuroplast.morph.widen(method="given")``:
``{"incoming": (n_new, *kernel_row), "bias": (n_new,), "outgoing": {consumer: columns}}``
(keys omitted where zero). ``X`` is the activation buffer's inputs, ``y`` its labels (needed by
the gradient-based ones). Firefly also returns ``"split"`` (see :func:`firefly`).

| name | fan-in | fan-out | function |
|---|---|---|---|
| ``north_select`` | best of random candidates by the orthogonality score | 0 | preserved |
| ``north_pre`` | pre-activations orthogonal to the existing ones (eq. 33) | 0 | preserved |
| ``north_random`` | random | 0 | preserved |
| ``north_weight`` | random, projected onto ``ker W_l`` (eq. 34) | 0 | preserved |
| ``gradmax`` | 0 | top left singular vectors of the auxiliary gradient | preserved if σ(0)=0 |
| ``firefly`` | splits (± noise) or random | halved / ε-small | changes by O(ε) |
| ``nest`` | from the auxiliary gradient | from the auxiliary gradient | changes |
"""

from __future__ import annotations

from collections.abc import Callable

import numpy.typing as npt

from neuroplast.errors import ConfigError
from neuroplast.growth.init._aux import AuxiliaryGradient, auxiliary_gradient
from neuroplast.growth.init._common import (
    CANDIDATES_CONV,
    CANDIDATES_DENSE,
    Weights,
    pad_own_columns,
)
from neuroplast.growth.init.gradient import (
    EPS_FIREFLY,
    NEST_QUANTILE,
    firefly,
    gradmax,
    measure_gradient,
    nest,
)
from neuroplast.growth.init.north import north_pre, north_random, north_select, north_weight
from neuroplast.morph import EditRecord, widen
from neuroplast.morph.record import Calibration
from neuroplast.network import Network

__all__ = [
    "CANDIDATES_CONV",
    "CANDIDATES_DENSE",
    "EPS_FIREFLY",
    "INITIALIZATIONS",
    "NEST_QUANTILE",
    "AuxiliaryGradient",
    "Initialization",
    "Weights",
    "auxiliary_gradient",
    "firefly",
    "gradmax",
    "grow",
    "measure_gradient",
    "nest",
    "north_pre",
    "north_random",
    "north_select",
    "north_weight",
]

#: An initialization: ``(net, layer, n_new, *, X, y, seed, candidates) -> weights``.
Initialization = Callable[..., Weights]

#: Every initialization by name.
INITIALIZATIONS: dict[str, Initialization] = {
    "north_select": north_select,
    "north_pre": north_pre,
    "north_random": north_random,
    "north_weight": north_weight,
    "gradmax": gradmax,
    "firefly": firefly,
    "nest": nest,
}


def grow(
    net: Network,
    layer: str,
    n_new: int,
    init: str,
    *,
    X: npt.ArrayLike | None = None,
    y: npt.ArrayLike | None = None,
    seed: int = 0,
    candidates: int | None = None,
    calibration: Calibration | None = None,
) -> tuple[Network, EditRecord]:
    """Adds ``n_new`` units to ``layer`` initialized by ``init``, through ``widen("given")``.

    Args:
        net: The network (not modified).
        layer: A dense or conv layer.
        n_new: Units to add (>= 1).
        init: A key of :data:`INITIALIZATIONS`.
        X: Inputs of the activation buffer (activation- and gradient-based inits).
        y: Labels (gradient-based inits).
        seed: Seed of the initialization and of the widen record.
        candidates: Candidate count for the candidate-based inits (default: thesis values).
        calibration: Optional ``X`` or ``(X, y)`` to measure the distortion (accuracies only
            with labels ``y``).

    Returns:
        The widened network and the :class:`~neuroplast.morph.EditRecord` of the widen
        (``"exact"`` for zero fan-out, and for zero fan-in where ``σ(0) = 0``; otherwise
        ``"approximate"``). Firefly splits also change existing units; ``widen`` applies
        them (``weights["split"]``), so an :class:`~neuroplast.morph.EditLog` replays them.

    Raises:
        ConfigError: Unknown ``init`` (and whatever the initialization raises).

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(5, [3], 2), seed=0)
        >>> X = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
        >>> wide, rec = grow(net, "dense_0", 2, "north_select", X=X, candidates=8)
        >>> wide.spec.widths["dense_0"], rec.contract
        (5, 'exact')
    """
    if init not in INITIALIZATIONS:
        raise ConfigError(
            f"unknown initialization {init!r}; expected one of {list(INITIALIZATIONS)}"
        )
    weights = INITIALIZATIONS[init](net, layer, n_new, X=X, y=y, seed=seed, candidates=candidates)
    splits = weights.pop("split", {})
    weights = pad_own_columns(net, layer, n_new, weights)
    if splits:
        # Firefly splits change existing units too; widen applies and records them.
        weights["split"] = splits
    out, rec = widen(
        net, layer, n_new, "given", seed=seed, weights=weights, calibration=calibration
    )
    return out, rec
