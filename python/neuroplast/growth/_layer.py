"""What growth needs to know about one layer: its weights, its inputs, its units' samples.

Conventions (Maile 2023, Sec. 6.2.3): a convolution's channels are its units. Its inputs are
the ``C_in·kh·kw`` patches read at every output pixel (im2col), and every pixel of every sample
is one sample of the unit, so ``(N·H_out·W_out, C_in·kh·kw)`` plays the role of ``H_{l-1}ᵀ``
and the flattened kernels ``(C_out, C_in·kh·kw)`` that of ``W_l``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from neuroplast.activations import derivative, forward
from neuroplast.errors import ConfigError, InvalidMorphismError
from neuroplast.growth._engine import activations
from neuroplast.layers import Conv2d, Dense
from neuroplast.morph import coupled_group
from neuroplast.network import Network

__all__ = ["LayerView", "check_n_new", "layer_view", "patches"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LayerView:
    """A dense or conv layer as growth sees it.

    Attributes:
        name: Layer name.
        node: The layer node.
        weight: Fan-in rows, ``(units, fan_in)`` (conv kernels flattened), float64.
        bias: The bias ``(units,)`` or ``None``.
        consumers: Dense/conv layers reading the layer's units (from the coupled group), with
            the input columns (dense) or channels (conv) carrying each unit.
        producers: Layers whose units are coupled to this layer's (itself first or not).
        norms: Batch norms normalizing the layer's units.
    """

    name: str
    node: Dense | Conv2d
    weight: F64
    bias: F64 | None
    consumers: Mapping[str, tuple[tuple[int, ...], ...]]
    producers: tuple[str, ...]
    norms: tuple[str, ...]

    @property
    def units(self) -> int:
        """Current width ``M_l``."""
        return int(self.weight.shape[0])

    @property
    def fan_in(self) -> int:
        """Inputs per unit (without the bias)."""
        return int(self.weight.shape[1])

    @property
    def is_conv(self) -> bool:
        """Whether the layer is a convolution."""
        return isinstance(self.node, Conv2d)

    @property
    def kernel_shape(self) -> tuple[int, ...]:
        """Shape of one unit's fan-in as stored (``(fan_in,)`` or ``(C_in, kh, kw)``)."""
        return tuple(int(s) for s in self.node_weight_shape[1:])

    @property
    def node_weight_shape(self) -> tuple[int, ...]:
        """Stored shape of the layer's weight."""
        if isinstance(self.node, Conv2d):
            kh, kw = self.node.kernel_size  # type: ignore[misc]
            return (self.units, self.fan_in // (kh * kw), kh, kw)
        return (self.units, self.fan_in)

    def act(self, z: F64) -> F64:
        """The layer's activation applied to pre-activations ``z``."""
        return forward(self.node.activation, z, self.node.negative_slope)

    def act_derivative(self, z: F64) -> F64:
        """Derivative of the layer's activation at ``z`` (engine conventions at kinks)."""
        return derivative(self.node.activation, z, self.node.negative_slope)


def check_n_new(n_new: object) -> int:
    """``n_new`` as an int ``>= 1``, else :class:`InvalidMorphismError` (as ``widen``)."""
    if isinstance(n_new, bool) or not isinstance(n_new, (int, np.integer)) or n_new < 1:
        raise InvalidMorphismError(f"n_new must be an int >= 1, got {n_new!r}")
    return int(n_new)


def layer_view(net: Network, layer: str) -> LayerView:
    """The :class:`LayerView` of a dense or conv layer that can be widened.

    Raises:
        ConfigError: ``layer`` is not a dense or conv layer, or is a grouped convolution.
        InvalidMorphismError: The layer cannot be widened (see ``coupled_group``).
    """
    names = [n.name for n in net.spec.nodes]
    if layer not in names:
        raise ConfigError(f"no layer named {layer!r}; layers: {names}")
    node = net.spec.node(layer)
    if not isinstance(node, (Dense, Conv2d)):
        raise ConfigError(f"growth needs a dense or conv layer; {layer!r} is {type(node).__name__}")
    if isinstance(node, Conv2d) and node.groups != 1:
        raise ConfigError(f"growth of grouped convolutions is not supported ({layer!r})")
    group = coupled_group(net.spec, layer)
    w = np.asarray(net.params[f"{layer}.weight"], dtype=np.float64)
    b = net.params.get(f"{layer}.bias") if node.bias else None
    bias = None if b is None else np.asarray(b, dtype=np.float64)
    flat = w.reshape(w.shape[0], -1)
    return LayerView(layer, node, flat, bias, group.consumers, group.producers, group.norms)


def patches(
    x: F64,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> F64:
    """im2col: ``(N, C, H, W)`` → ``(N, H_out, W_out, C, kh, kw)`` windows (zero padding)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.empty((x.shape[0], ho, wo, x.shape[1], kh, kw))
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            out[..., i, j] = np.moveaxis(xp[:, :, rows, cols], 1, -1)
    return out


def conv_geometry(node: Conv2d) -> tuple[tuple[int, int], ...]:
    """``(kernel, stride, padding, dilation)`` of a conv node as int pairs."""
    pairs = (node.kernel_size, node.stride, node.padding, node.dilation)
    return tuple((int(p[0]), int(p[1])) for p in pairs)  # type: ignore[index]


def layer_inputs(view: LayerView, source: F64) -> F64:
    """``H_{l-1}ᵀ``: the layer's inputs as ``(samples, fan_in)`` (conv: im2col patches).

    Args:
        view: The layer.
        source: Output of the layer's input node, ``(n, *shape)``.
    """
    if isinstance(view.node, Conv2d):
        p = patches(source, *conv_geometry(view.node))
        return p.reshape(-1, view.fan_in)
    return source.reshape(source.shape[0], -1)


def inputs_and_units(net: Network, view: LayerView, X: npt.ArrayLike) -> tuple[F64, F64, F64]:
    """``(H_{l-1}ᵀ, Z_lᵀ, H_lᵀ)`` on ``X``: layer inputs, pre- and post-activations of the units.

    Rows are samples (conv: pixels of samples, in the same order for all three).
    """
    src = view.node.input
    h_prev = layer_inputs(view, activations(net, X, [src])[src])
    z = h_prev @ view.weight.T
    if view.bias is not None:
        z = z + view.bias
    return h_prev, z, view.act(z)
