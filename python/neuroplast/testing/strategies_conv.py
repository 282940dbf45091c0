"""Hypothesis strategy for random small convolutional graphs (see :func:`conv_specs`).

Parameters, data and whole problems for these specs come from
:mod:`neuroplast.testing.strategies` (:func:`~neuroplast.testing.strategies.problems` accepts
any spec strategy).

Example:
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, deadline=None)
    ... @given(conv_specs())
    ... def check(spec):
    ...     assert len(spec.input_shape) == 3 and len(spec.shapes[spec.output]) == 1
    >>> check()
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from hypothesis import strategies as st

from neuroplast.layers import (
    ACTIVATIONS,
    Add,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool2d,
    Node,
)
from neuroplast.spec import LOSSES, Spec
from neuroplast.testing.strategies import SLOPES, activations

__all__ = ["conv_specs"]


@st.composite
def conv_specs(
    draw: st.DrawFn,
    *,
    max_nodes: int = 4,
    max_channels: int = 4,
    max_size: int = 7,
    losses: Sequence[str] = LOSSES,
    hidden_activations: Collection[str] = ACTIVATIONS,
    kinds: Collection[str] = ("conv", "conv", "pool", "pool", "batch_norm", "add", "concat"),
) -> Spec:
    """Random small convolutional graphs, valid by construction.

    Args:
        draw: Supplied by hypothesis.
        max_nodes: Maximum number of spatial operations drawn (after a first convolution).
        max_channels: Maximum input channels and channels per group of a convolution.
        max_size: Maximum input height and width (at least 3).
        losses: Losses to choose from.
        hidden_activations: Activations of the hidden nodes.
        kinds: Operations to draw from: ``conv`` (random kernel, stride, padding or
            ``"same"``, dilation, groups incl. depthwise), ``pool`` (max or average with
            padding), ``batch_norm``, ``add`` (a residual branch) and ``concat`` (channels).

    The spatial part ends in ``flatten``, ``global_avg_pool`` or a dense layer reading the
    image directly, sometimes followed by a hidden dense layer with flat batch norm, then the
    dense ``"out"``.
    """
    acts = activations(hidden_activations)
    slopes = st.sampled_from(SLOPES)
    loss = draw(st.sampled_from(tuple(losses)))
    size = st.integers(3, max(3, max_size))
    shapes: dict[str, tuple[int, ...]] = {
        "input": (draw(st.integers(1, max_channels)), draw(size), draw(size))
    }
    nodes: list[Node] = []

    def push(node: Node, shape: tuple[int, ...]) -> str:
        nodes.append(node)
        shapes[node.name] = shape
        return node.name

    def axis(extent: int) -> tuple[int, int, int, int]:
        """Kernel, stride, padding and dilation along one axis that fit ``extent``."""
        k = draw(st.integers(1, 3))
        p = draw(st.integers(0, k - 1))
        d = draw(st.integers(1, 2))
        if d * (k - 1) + 1 > extent + 2 * p:
            d = 1
        k = min(k, extent + 2 * p)
        return k, draw(st.integers(1, 2)), p, d

    def conv(src: str, channels: int | None = None, same: bool = False) -> str:
        c, h, w = shapes[src]
        groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
        out = channels or groups * draw(st.integers(1, max(1, max_channels // groups)))
        if channels is not None and out % groups:
            groups = 1
        if same:  # odd kernel, stride 1: output keeps the input's height and width
            k = draw(st.sampled_from((1, 3)))
            node = Conv2d(
                f"h{len(nodes)}",
                src,
                out,
                k,
                padding="same",
                groups=groups,
                activation=draw(acts),
                negative_slope=draw(slopes),
                bias=draw(st.booleans()),
            )
            return push(node, (out, h, w))
        (kh, sh, ph, dh), (kw, sw, pw, dw) = axis(h), axis(w)
        node = Conv2d(
            f"h{len(nodes)}",
            src,
            out,
            (kh, kw),
            (sh, sw),
            (ph, pw),
            (dh, dw),
            groups,
            draw(acts),
            draw(slopes),
            draw(st.booleans()),
        )
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        return push(node, (out, oh, ow))

    def pool(src: str) -> str:
        c, h, w = shapes[src]
        kh, kw = draw(st.integers(1, min(3, h))), draw(st.integers(1, min(3, w)))
        ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
        stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, kh), st.integers(1, kw))))
        sh, sw = stride or (kh, kw)
        name = f"h{len(nodes)}"
        node: Node
        if draw(st.booleans()):
            node = MaxPool2d(name, src, (kh, kw), stride, (ph, pw))
        else:
            node = AvgPool2d(name, src, (kh, kw), stride, (ph, pw))
        return push(node, (c, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1))

    def spatial() -> list[str]:
        return [n for n, s in shapes.items() if len(s) == 3]

    conv("input")
    for _ in range(draw(st.integers(0, max_nodes))):
        kind = draw(st.sampled_from(sorted(kinds)))
        src = draw(st.sampled_from(spatial()[-3:]))
        c, h, w = shapes[src]
        if kind == "conv":
            conv(src)
        elif kind == "pool":
            pool(src)
        elif kind == "batch_norm":
            push(BatchNorm(f"h{len(nodes)}", src, activation=draw(acts)), shapes[src])
        elif kind == "add":  # src + conv(any node of the same height × width, "same")
            peers = [n for n in spatial() if shapes[n][1:] == (h, w)]
            branch = conv(draw(st.sampled_from(peers)), channels=c, same=True)
            push(Add(f"h{len(nodes)}", (src, branch), draw(acts), draw(slopes)), (c, h, w))
        else:
            peers = [n for n in spatial() if shapes[n][1:] == (h, w)]
            parts = [src, *draw(st.lists(st.sampled_from(peers), min_size=1, max_size=2))]
            total = sum(shapes[n][0] for n in parts)
            push(Concat(f"h{len(nodes)}", tuple(parts), draw(acts), draw(slopes)), (total, h, w))
    last = spatial()[-1]
    head = draw(st.sampled_from(("flatten", "gap", "dense")))
    if head == "flatten":
        last = push(Flatten(f"h{len(nodes)}", last), (math.prod(shapes[last]),))
    elif head == "gap":
        last = push(GlobalAvgPool(f"h{len(nodes)}", last), (shapes[last][0],))
    if draw(st.booleans()):
        units = draw(st.integers(2, 6))
        last = push(Dense(f"h{len(nodes)}", last, units, draw(acts), draw(slopes)), (units,))
        if draw(st.booleans()):
            bn = BatchNorm(f"h{len(nodes)}", last, activation=draw(acts))
            last = push(bn, (units,))
    n_out = draw(st.integers(2, 4) if loss == "cross_entropy" else st.integers(1, 3))
    nodes.append(Dense("out", last, n_out, "identity"))
    return Spec(shapes["input"], tuple(nodes), "out", loss)
