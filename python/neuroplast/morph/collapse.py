"""Collapse: a ``[G]``-mixed layer becomes the one standard convolution it computes (eq. 12).

``Σ_G z_G [f ⋆ ψ̃^G] = [f ⋆ Σ_G z_G ψ̃^G]`` (Maile 2023, Sec. 4.3.2): the mixed layer's kernel,
collapsed by the Rust core exactly as the engine's forward pass collapses it, becomes the
weight of a :class:`~neuroplast.layers.Conv2d` without bias, so the collapsed network's outputs
are bitwise those of the mixed one. "The final model can be equivalently expressed as a
standard convolutional model with encoded partial equivariance." The new weight's optimizer
moments start at zero (a different parameterization); the logits, directions and scales are
gone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from neuroplast import _core
from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import Conv2d, MixedConv, Node
from neuroplast.morph.deepen import _with_zero_slots
from neuroplast.morph.record import Calibration, EditRecord, measure
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = ["architecture_weights", "collapse", "collapsed_kernel"]


def _mixed_layers(net: Network, layers: Sequence[str] | None) -> list[MixedConv]:
    mixed = {n.name: n for n in net.spec.nodes if isinstance(n, MixedConv)}
    names = list(mixed) if layers is None else list(layers)
    bad = [n for n in names if n not in mixed]
    if bad:
        raise InvalidMorphismError(f"not [G]-mixed layers: {bad}")
    if not names:
        raise InvalidMorphismError("the network has no [G]-mixed layer to collapse")
    return [mixed[n] for n in names]


def collapsed_kernel(net: Network, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """The collapsed kernel ``(W, C_in, k, k)`` of a mixed layer and its weights ``z``.

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mixed_gcnn((1, 6, 6), 3, widths=[8], hidden=[]), seed=0)
        >>> kernel, z = collapsed_kernel(net, "conv_0")
        >>> kernel.shape, [round(float(v), 3) for v in z]
        ((8, 1, 3, 3), [0.167, 0.167, 0.167, 0.167, 0.167, 0.167])
    """
    (node,) = _mixed_layers(net, [layer])
    p = net.params
    c_in = net.spec.input_shape[0] if node.input == "input" else net.spec.shapes[node.input][0]
    k = int(node.kernel_size)
    kernel, z = _core.mixed_kernel(
        list(node.candidates),
        node.lift,
        node.channels,
        c_in,
        k,
        p[f"{layer}.logits"],
        [p[f"{layer}.v_{g}"].reshape(-1) for g in node.candidates],
        [p[f"{layer}.g_{g}"] for g in node.candidates],
    )
    return kernel.reshape(node.channels, c_in, k, k), z


def architecture_weights(net: Network) -> dict[str, dict[str, float]]:
    """``z = softmax(logits)`` of every mixed layer, by layer and candidate group.

    Example:
        >>> from neuroplast import Network, Spec
        >>> spec = Spec.mixed_gcnn((1, 6, 6), 3, candidates=["C1", "C4"], widths=[8])
        >>> architecture_weights(Network.init(spec, seed=0))
        {'conv_0': {'C1': 0.5, 'C4': 0.5}}
    """
    out: dict[str, dict[str, float]] = {}
    for node in net.spec.nodes:
        if isinstance(node, MixedConv):
            logits = np.asarray(net.params[f"{node.name}.logits"], dtype=np.float64)
            e = np.exp(logits - logits.max())
            z = e / e.sum()
            out[node.name] = {g: float(v) for g, v in zip(node.candidates, z, strict=True)}
    return out


def collapse(
    net: Network,
    layers: Sequence[str] | None = None,
    *,
    calibration: Calibration | None = None,
) -> tuple[Network, EditRecord]:
    """Replaces ``[G]``-mixed layers (default: all) by standard convolutions (exact).

    Raises:
        InvalidMorphismError: A named layer is not mixed, or there is none.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mixed_gcnn((1, 6, 6), 3, widths=[8, 8], hidden=[]), seed=0)
        >>> plain, rec = collapse(net)
        >>> X = np.random.default_rng(0).normal(size=(2, 1, 6, 6)).astype(np.float32)
        >>> bool((plain.forward(X) == net.forward(X)).all()), rec.contract
        (True, 'exact')
    """
    todo = _mixed_layers(net, layers)
    fresh: dict[str, np.ndarray] = {}
    replaced: dict[str, Node] = {}
    for node in todo:
        kernel, _ = collapsed_kernel(net, node.name)
        fresh[f"{node.name}.weight"] = kernel
        k, p = int(node.kernel_size), int(node.padding)
        replaced[node.name] = Conv2d(
            node.name,
            node.input,
            node.channels,
            k,
            padding=p,
            activation=node.activation,
            negative_slope=node.negative_slope,
            bias=False,
        )
    spec = net.spec
    nodes = tuple(replaced.get(n.name, n) for n in spec.nodes)
    new_spec = Spec(spec.input_shape, nodes, spec.output, spec.loss)
    params = {k: v for k, v in net.params.items() if k in new_spec.param_shapes}
    params.update(fresh)
    state = net.optimizer_state
    if state is not None:
        kept = {k: v for k, v in state.slots.items() if k in new_spec.param_shapes}
        state = dataclasses.replace(state, slots=kept)
    out = Network(new_spec, params, _with_zero_slots(state, fresh))
    args = {"layers": [n.name for n in todo]}
    dist = None if calibration is None else measure(net, out, calibration)
    why = "the collapsed kernel is the one the mixed layer's forward pass convolves with (eq. 12)"
    return out, EditRecord("collapse", args, "exact", why, dist)
