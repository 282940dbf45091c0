"""Node activations and pre-activation gradients of a network, as float64, from the engine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from neuroplast.network import Network

__all__ = ["activations", "node_gradients"]

F64 = npt.NDArray[np.float64]


def activations(
    net: Network, X: npt.ArrayLike, nodes: Sequence[str], *, pre: bool = False
) -> dict[str, F64]:
    """Post- (or pre-) activations of ``nodes`` on ``X``, ``(n, *node_shape)``, as float64."""
    got = net.activations(X, list(dict.fromkeys(nodes)), pre=pre)
    return {k: np.asarray(v, dtype=np.float64) for k, v in got.items()}


def node_gradients(
    net: Network, X: npt.ArrayLike, y: npt.ArrayLike, nodes: Sequence[str]
) -> dict[str, F64]:
    """Per-sample ``∂L/∂z`` of each node's pre-activation (``L`` the mean loss), as float64."""
    _, got = net.node_gradients(X, y, list(dict.fromkeys(nodes)))
    return {k: np.asarray(v, dtype=np.float64) for k, v in got.items()}
