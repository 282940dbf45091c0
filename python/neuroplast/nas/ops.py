"""The DARTS candidate operations as chains of engine nodes (Liu et al. 2019, Sec. 3.1).

Every operation maps ``C`` channels to ``C`` channels (stride 2 halves the grid in reduction
cells). Operations that start with a ReLU read a shared ReLU node of their source (one
:class:`~neuroplast.layers.Identity` per source, computed once for all its operations).

=================  ==========================================================================
``sep_conv_k``     ReLU, depthwise k×k (stride), pointwise 1×1, BN, ReLU, depthwise k×k,
                   pointwise 1×1, BN
``dil_conv_k``     ReLU, depthwise k×k dilation 2 (stride), pointwise 1×1, BN
``max_pool_3x3``   3×3 max pooling (stride, padding 1), in the search network followed by a
                   non-affine BN (as in DARTS)
``avg_pool_3x3``   3×3 average pooling, the same; padding counts as zeros in the average
                   (DARTS uses ``count_include_pad=False``)
``skip_connect``   the identity; with stride 2, ReLU, 1×1 convolution stride 2, BN. DARTS's
                   ``FactorizedReduce`` concatenates two half-width 1×1 convolutions on grids
                   offset by one pixel; the engine has no pixel shift, so one full-width 1×1
                   convolution (the same parameter count) reads the even grid
``none``           the zero operation: a column of the architecture tensor with no nodes
=================  ==========================================================================

Example:
    >>> nodes, out = op_nodes("sep_conv_3x3", "e", "x", "x_relu", 8, 1)
    >>> [n.name for n in nodes][:3], out
    (['e_dw1', 'e_pw1', 'e_bn1'], 'e_bn2')
"""

from __future__ import annotations

from neuroplast.errors import ConfigError
from neuroplast.layers import AvgPool2d, BatchNorm, Conv2d, MaxPool2d, Node

__all__ = ["OPS", "PRIMITIVES", "op_nodes", "op_params"]

#: Every DARTS operation in column order of a softmax architecture tensor ("none" first).
PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
#: The selectable operations (all but "none").
OPS: tuple[str, ...] = PRIMITIVES[1:]


def _conv(
    name: str, src: str, c: int, k: int, *, stride: int = 1, dil: int = 1, dw: bool
) -> Conv2d:
    pad = dil * (k - 1) // 2
    groups = c if dw else 1
    return Conv2d(name, src, c, k, stride, pad, dil, groups, "identity", bias=False)


def _sep(p: str, relu: str, c: int, k: int, stride: int, affine: bool) -> list[Node]:
    return [
        _conv(f"{p}_dw1", relu, c, k, stride=stride, dw=True),
        _conv(f"{p}_pw1", f"{p}_dw1", c, 1, dw=False),
        BatchNorm(f"{p}_bn1", f"{p}_pw1", activation="relu", affine=affine),
        _conv(f"{p}_dw2", f"{p}_bn1", c, k, dw=True),
        _conv(f"{p}_pw2", f"{p}_dw2", c, 1, dw=False),
        BatchNorm(f"{p}_bn2", f"{p}_pw2", affine=affine),
    ]


def _dil(p: str, relu: str, c: int, k: int, stride: int, affine: bool) -> list[Node]:
    return [
        _conv(f"{p}_dw", relu, c, k, stride=stride, dil=2, dw=True),
        _conv(f"{p}_pw", f"{p}_dw", c, 1, dw=False),
        BatchNorm(f"{p}_bn", f"{p}_pw", affine=affine),
    ]


def op_nodes(
    op: str,
    prefix: str,
    source: str,
    relu: str,
    channels: int,
    stride: int,
    *,
    affine: bool = True,
    pool_bn: bool = False,
) -> tuple[list[Node], str]:
    """The nodes of ``op`` applied to ``source`` and the name of its output node.

    Args:
        op: One of :data:`OPS`.
        prefix: Prefix of the new node names.
        source: The node the operation reads.
        relu: A node holding ``relu(source)`` (read by the operations that start with a ReLU).
        channels: Channels of ``source`` and of the output.
        stride: 1, or 2 in a reduction cell's edges from the cell inputs.
        affine: Whether the batch norms train γ and β (the evaluation network) or not (the
            search network, as DARTS).
        pool_bn: Follow pooling by a non-affine batch norm (the search network).

    Raises:
        ConfigError: An unknown operation (``"none"`` has no nodes).
    """
    c, s = channels, stride
    if op in ("sep_conv_3x3", "sep_conv_5x5"):
        nodes = _sep(prefix, relu, c, int(op[-1]), s, affine)
    elif op in ("dil_conv_3x3", "dil_conv_5x5"):
        nodes = _dil(prefix, relu, c, int(op[-1]), s, affine)
    elif op in ("max_pool_3x3", "avg_pool_3x3"):
        pool = MaxPool2d if op.startswith("max") else AvgPool2d
        nodes = [pool(prefix, source, 3, s, 1)]
        if pool_bn:
            nodes.append(BatchNorm(f"{prefix}_bn", prefix, affine=False))
    elif op == "skip_connect":
        if s == 1:
            return [], source
        nodes = [
            Conv2d(f"{prefix}_conv", relu, c, 1, 2, 0, 1, 1, "identity", bias=False),
            BatchNorm(f"{prefix}_bn", f"{prefix}_conv", affine=affine),
        ]
    else:
        raise ConfigError(f"unknown operation {op!r}; choose from {OPS}")
    return nodes, nodes[-1].name


def op_params(op: str, channels: int, stride: int, *, affine: bool = True) -> int:
    """Trainable parameters of ``op`` on ``channels`` channels (the hand count of its nodes).

    Example:
        >>> op_params("sep_conv_3x3", 16, 1)
        864
    """
    c = channels
    bn = 2 * c if affine else 0
    if op.startswith("sep_conv"):
        k = int(op[-1])
        return 2 * (c * k * k + c * c + bn)
    if op.startswith("dil_conv"):
        k = int(op[-1])
        return c * k * k + c * c + bn
    if op == "skip_connect" and stride == 2:
        return c * c + bn
    if op in ("skip_connect", "max_pool_3x3", "avg_pool_3x3"):
        return 0
    raise ConfigError(f"unknown operation {op!r}; choose from {OPS}")
