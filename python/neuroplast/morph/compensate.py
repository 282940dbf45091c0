"""Least-squares compensation: refit the consumers of an edited group on calibration activations.

After units are removed or mixed, every dense consumer ``c`` of the group is refit so that its
pre-activation on the calibration inputs matches the unedited network's:

``min_{W', b'} ‖X'·W'ᵀ + 1·b'ᵀ − (X·Wᵀ + 1·bᵀ)‖_F``

where ``X`` is ``c``'s input in the unedited network and ``X'`` its input in the edited one
(float64 ``numpy.linalg.lstsq``, minimum-norm solution when under-determined; no ``b'`` column
when ``c`` has no bias). Consumers are refit in spec order, each on the inputs produced by the
already-refit network. Restrictions (raising :class:`InvalidMorphismError`): convolutional
consumers (an im2col refit is not implemented) and consumers whose own rows belong to the group
(a residual chain, whose targets would change with the edit). Optimizer moments of refit
parameters are kept as the edit mapped them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import Dense
from neuroplast.morph.deps import CoupledGroup
from neuroplast.morph.select import node_activations
from neuroplast.network import Network

__all__ = ["Refit", "apply_refit", "lstsq_refit"]

#: Per refit consumer, ``{"weight": nested list, "bias": list}`` (float32 values, JSON-exact).
Refit = Mapping[str, Mapping[str, Sequence[Any]]]


def _check(net: Network, group: CoupledGroup) -> list[str]:
    names = [n.name for n in net.spec.nodes if n.name in group.consumers]
    for c in names:
        if not isinstance(net.spec.node(c), Dense):
            raise InvalidMorphismError(
                f"compensate='lstsq' refits dense consumers only; {c!r} is a convolution"
            )
        if c in group.producers:
            raise InvalidMorphismError(
                f"compensate='lstsq' cannot refit {c!r}: its own units belong to the edited group"
            )
    return names


def apply_refit(net: Network, refit: Refit) -> Network:
    """``net`` with the recorded consumer parameters of ``refit`` (exact float32 values)."""
    params = dict(net.params)
    for c, parts in refit.items():
        for part, value in parts.items():
            key = f"{c}.{part}"
            if key not in params:
                raise InvalidMorphismError(f"refit names unknown parameter {key!r}")
            arr = np.asarray(value, dtype=np.float32)
            if arr.shape != params[key].shape:
                raise InvalidMorphismError(
                    f"refit {key!r} has shape {arr.shape}, expected {params[key].shape}"
                )
            params[key] = arr
    return Network(net.spec, params, net.optimizer_state)


def lstsq_refit(
    before: Network, after: Network, group: CoupledGroup, X: npt.ArrayLike
) -> tuple[Network, dict[str, dict[str, list[Any]]]]:
    """Refits every consumer of ``group`` in ``after``; returns the network and the refit."""
    refit: dict[str, dict[str, list[Any]]] = {}
    for c in _check(before, group):
        node = before.spec.node(c)
        assert isinstance(node, Dense)
        x_old = node_activations(before, node.input, X)
        w = np.asarray(before.params[f"{c}.weight"], np.float64)
        target = x_old @ w.T
        x_new = node_activations(after, node.input, X)
        if node.bias:
            target += np.asarray(before.params[f"{c}.bias"], np.float64)
            x_new = np.concatenate([x_new, np.ones((x_new.shape[0], 1))], axis=1)
        theta = np.linalg.lstsq(x_new, target, rcond=None)[0].T.astype(np.float32)
        parts: dict[str, list[Any]] = {}
        if node.bias:
            parts["weight"], parts["bias"] = theta[:, :-1].tolist(), theta[:, -1].tolist()
        else:
            parts["weight"] = theta.tolist()
        refit[c] = parts
        after = apply_refit(after, {c: parts})
    return after, refit
