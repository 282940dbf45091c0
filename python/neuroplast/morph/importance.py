"""Per-unit importance scores of a layer (a coupled group of units) from calibration data.

A unit's samples are its activations over the calibration batch and, for a convolution, over
every pixel (channels are the units). Scores, one per unit of the layer's coupled group (larger
means more important):

* ``"mean_abs"``: ``mean |a_u|`` (0 exactly for a dormant unit).
* ``"activation_std"``: ``std(a_u)`` (a constant unit can be folded into the consumers' biases).
* ``"fan_out_norm"``: ``‖outgoing weights of u‖₂`` over every consumer column carrying ``u``.
* ``"magnitude_std"``: ``fan_out_norm · activation_std``, the first-order size of what the
  consumers lose when ``u`` is replaced by its mean (the selection rule of the same name).
* ``"energy"``: ``mean(a_u²)``, the unit's share of the activations' energy.

Example:
    >>> import numpy as np
    >>> from neuroplast import Network, Spec
    >>> from neuroplast.morph import unit_importances
    >>> net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    >>> unit_importances(net, "dense_0", np.ones((8, 4), np.float32), "fan_out_norm").shape
    (6,)
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError
from neuroplast.morph._acts import unit_samples
from neuroplast.morph.deps import CoupledGroup, coupled_group
from neuroplast.network import Network

__all__ = ["IMPORTANCES", "Importance", "fan_out_norms", "importance_scores", "unit_importances"]

F64 = npt.NDArray[np.float64]
Importance = Literal["mean_abs", "activation_std", "fan_out_norm", "magnitude_std", "energy"]
#: Accepted ``kind`` values of :func:`unit_importances`.
IMPORTANCES: tuple[str, ...] = get_args(Importance)


def fan_out_norms(net: Network, group: CoupledGroup) -> F64:
    """``‖outgoing weights‖₂`` of every unit of ``group`` over all its consumers' columns."""
    out = np.zeros(group.units)
    for c, cols in group.consumers.items():
        w = np.asarray(net.params[f"{c}.weight"], np.float64)
        w = np.moveaxis(w, 1, 0).reshape(w.shape[1], -1)
        out += np.array([np.sum(w[list(cols[u])] ** 2) for u in range(group.units)])
    return np.sqrt(out)


def importance_scores(kind: Importance, net: Network, group: CoupledGroup, acts: F64) -> F64:
    """Scores of ``kind`` for ``group``'s units given their activations ``(samples, units)``."""
    if kind == "mean_abs":
        return np.asarray(np.mean(np.abs(acts), axis=0), np.float64)
    if kind == "activation_std":
        return np.asarray(np.std(acts, axis=0), np.float64)
    if kind == "energy":
        return np.asarray(np.mean(acts**2, axis=0), np.float64)
    if kind == "fan_out_norm":
        return fan_out_norms(net, group)
    if kind == "magnitude_std":
        return np.asarray(fan_out_norms(net, group) * np.std(acts, axis=0), np.float64)
    raise ConfigError(f"unknown importance {kind!r}; expected one of {IMPORTANCES}")


def unit_importances(
    net: Network, layer: str, X: npt.ArrayLike, kind: Importance = "magnitude_std"
) -> F64:
    """Importance of every unit of ``layer`` (see the module docstring), float64 ``(units,)``.

    Args:
        net: The network.
        layer: A dense or convolutional layer (its coupled group: the units that an add or
            concat ties to it are scored together).
        X: Calibration inputs (a batch in the network's input shape).
        kind: One of :data:`IMPORTANCES`.

    Raises:
        ConfigError: Unknown ``kind``.
        InvalidMorphismError: ``layer`` is not an editable layer.
        ShapeError: ``X`` does not match the network's input.
    """
    if kind not in IMPORTANCES:
        raise ConfigError(f"unknown importance {kind!r}; expected one of {IMPORTANCES}")
    group = coupled_group(net.spec, layer)
    return importance_scores(kind, net, group, unit_samples(net, layer, X))
