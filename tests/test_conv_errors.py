"""Invalid convolutional specs and data raise typed errors with clear messages."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from neuroplast import Network, Spec
from neuroplast.errors import NeuroplastError, ShapeError, SpecError
from neuroplast.layers import (
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


def _image(*nodes: Node, shape: tuple[int, ...] = (1, 4, 4), tail: str | None = None) -> Spec:
    """``nodes`` on an image input, then flatten and a dense output."""
    last = tail or nodes[-1].name
    return Spec(shape, (*nodes, Flatten("f", last), Dense("o", "f", 2)), "o")


SPEC_ERRORS: dict[str, tuple[Callable[[], object], str]] = {
    "conv on a flat input": (
        lambda: Spec((4,), (Conv2d("c", "input", 2, 1), Dense("o", "c", 2)), "o"),
        r'conv2d node "c": needs a channels × height × width input, got a flat vector of 4',
    ),
    "conv after global pooling": (
        lambda: _image(GlobalAvgPool("g", "input"), Conv2d("c", "g", 2, 1)),
        r'conv2d node "c": needs a channels × height × width input',
    ),
    "pool on a flat input": (
        lambda: Spec((4,), (MaxPool2d("p", "input", 2), Dense("o", "p", 2)), "o"),
        r'max_pool2d node "p": needs a channels × height × width input',
    ),
    "kernel larger than the input": (
        lambda: _image(Conv2d("c", "input", 2, 5), shape=(1, 3, 3)),
        r'"c": a 5x5 kernel .* does not fit a 3x3 input',
    ),
    "dilated kernel larger than the input": (
        lambda: _image(Conv2d("c", "input", 2, 3, dilation=2), shape=(1, 4, 4)),
        r'"c": a 3x3 kernel \(dilation \(2, 2\).* does not fit a 4x4 input',
    ),
    "pool window larger than the input": (
        lambda: _image(AvgPool2d("p", "input", 4), shape=(1, 3, 3)),
        r'avg_pool2d node "p": a 4x4 pooling window does not fit a 3x3 input',
    ),
    "groups not dividing input channels": (
        lambda: _image(Conv2d("c", "input", 4, 1, groups=2), shape=(3, 4, 4)),
        r"groups=2 must divide both the input channels \(3\) and the output channels \(4\)",
    ),
    "groups not dividing output channels": (
        lambda: _image(Conv2d("c", "input", 3, 1, groups=2), shape=(4, 4, 4)),
        r"groups=2 must divide .* output channels \(3\)",
    ),
    "add of mismatched channels": (
        lambda: _image(
            Conv2d("a", "input", 2, 1), Conv2d("b", "input", 3, 1), Add("s", ("a", "b"))
        ),
        r'add node "s": needs at least two inputs of equal shape, got \[\[2, 4, 4\], \[3, 4, 4\]\]',
    ),
    "add of mismatched height × width": (
        lambda: _image(
            Conv2d("a", "input", 2, 1), Conv2d("b", "input", 2, 1, 2), Add("s", ("a", "b"))
        ),
        r'add node "s": needs at least two inputs of equal shape',
    ),
    "add of spatial and flat": (
        lambda: _image(Flatten("g", "input"), Add("s", ("g", "input")), tail="s"),
        r'add node "s": needs at least two inputs of equal shape',
    ),
    "concat of different height × width": (
        lambda: _image(
            Conv2d("a", "input", 2, 1), Conv2d("b", "input", 2, 3), Concat("s", ("a", "b"))
        ),
        r'concat node "s": inputs must all be flat or share one height × width, '
        r"got \[\[2, 4, 4\], \[2, 2, 2\]\]",
    ),
    "concat of spatial and flat": (
        lambda: _image(GlobalAvgPool("g", "input"), Concat("s", ("g", "input")), tail="s"),
        r'concat node "s": inputs must all be flat or share one height × width',
    ),
    "spatial output node": (
        lambda: Spec((1, 4, 4), (Conv2d("a", "input", 2, 1),), "a"),
        r'the output node "a" must be flat \(add a flatten, global_avg_pool or dense node\)',
    ),
}

NODE_ERRORS: dict[str, tuple[Callable[[], object], str]] = {
    "float kernel_size": (
        lambda: Conv2d("c", "input", 2, 2.0),  # type: ignore[arg-type]
        r"node 'c': kernel_size must be an int >= 1, got 2.0",
    ),
    "bool kernel_size": (
        lambda: Conv2d("c", "input", 2, True),
        r"kernel_size must be an int >= 1, got True",
    ),
    "zero kernel_size": (lambda: Conv2d("c", "input", 2, 0), r"kernel_size must be an int >= 1"),
    "three kernel sizes": (
        lambda: Conv2d("c", "input", 2, (1, 2, 3)),  # type: ignore[arg-type]
        r"kernel_size must be an int or a pair of ints, got \(1, 2, 3\)",
    ),
    "string stride": (
        lambda: Conv2d("c", "input", 2, 3, stride="2"),  # type: ignore[arg-type]
        r"node 'c': stride must be an int >= 1, got '2'",
    ),
    "zero stride": (lambda: MaxPool2d("p", "input", 2, 0), r"stride must be an int >= 1"),
    "negative padding": (
        lambda: Conv2d("c", "input", 2, 3, padding=-1),
        r"padding must be an int >= 0, got -1",
    ),
    "unknown padding mode": (
        lambda: Conv2d("c", "input", 2, 3, padding="valid"),
        r"padding must be an int >= 0, got 'valid'",
    ),
    "zero groups": (lambda: Conv2d("c", "input", 2, 3, groups=0), r"groups must be an int >= 1"),
    "zero channels": (lambda: Conv2d("c", "input", 0, 3), r"channels must be an int >= 1"),
    "same padding with stride 2": (
        lambda: Conv2d("c", "input", 2, 3, stride=2, padding="same"),
        r"node 'c': padding='same' needs stride 1",
    ),
    "same padding with an even kernel": (
        lambda: Conv2d("c", "input", 2, 2, padding="same"),
        r"padding='same' needs an odd effective kernel size, got \(2, 2\)",
    ),
    "same padding with an even kernel along one axis": (
        lambda: Conv2d("c", "input", 2, (3, 4), padding="same"),
        r"padding='same' needs an odd effective kernel size, got \(3, 4\)",
    ),
    "max pool padding over half the window": (
        lambda: MaxPool2d("p", "input", 2, padding=2),
        r"node 'p': padding \(2, 2\) must be at most half the window \(2, 2\)",
    ),
    "avg pool padding over half the window": (
        lambda: AvgPool2d("p", "input", (3, 2), padding=(1, 2)),
        r"padding \(1, 2\) must be at most half the window \(3, 2\)",
    ),
    "batch norm eps": (lambda: BatchNorm("b", "input", eps=0), r"node 'b': .*eps"),
    "batch norm momentum": (lambda: BatchNorm("b", "input", momentum=1.5), r"momentum"),
}


@pytest.mark.parametrize(("build", "message"), SPEC_ERRORS.values(), ids=list(SPEC_ERRORS.keys()))
def test_invalid_graphs(build: Callable[[], object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build()


@pytest.mark.parametrize(("build", "message"), NODE_ERRORS.values(), ids=list(NODE_ERRORS.keys()))
def test_invalid_nodes(build: Callable[[], object], message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        build()
    assert isinstance(info.value, NeuroplastError) and isinstance(info.value, ValueError)


def test_same_padding_resolves_with_dilation() -> None:
    conv = Conv2d("c", "input", 2, (3, 1), padding="same", dilation=(2, 3))
    assert conv.padding == (2, 0)
    with pytest.raises(SpecError, match="odd effective kernel"):
        Conv2d("c", "input", 2, 2, padding="same", dilation=1)


@pytest.mark.parametrize(
    "shape",
    [(2, 6, 6, 2), (2, 72, 1), (2, 71), (72,), (2, 2, 36), (2, 1, 2, 6, 6)],
    ids=str,
)
def test_wrong_image_shape(shape: tuple[int, ...]) -> None:
    net = Network.init(Spec.cnn((2, 6, 6), [3], 3), 0)
    X = np.ones(shape, np.float32)
    expected = re.escape(
        f"X has shape {shape}; expected (n_samples, 72) or (n_samples, *(2, 6, 6))"
    )
    with pytest.raises(ShapeError, match=expected):
        net.forward(X)
    with pytest.raises(ShapeError, match="X has shape"):
        net.gradients(X, np.zeros(2, np.int64))
    with pytest.raises(ShapeError, match="X has shape"):
        net.fit(X, np.zeros(2, np.int64), epochs=1)


def test_channel_mask_size() -> None:
    spec = Spec.cnn((2, 6, 6), [3], 3)
    net = Network.init(spec, 0)
    X = np.ones((2, 2, 6, 6), np.float32)
    # Masks are per channel of a spatial node: 3 values, not 3·6·6.
    assert net.forward(X, masks={"conv_0": np.ones(3)}).shape == (2, 3)
    expected = re.escape("mask for 'conv_0' has shape (108,); expected (3,), one value per unit")
    with pytest.raises(ShapeError, match=expected):
        net.forward(X, masks={"conv_0": np.ones(108)})


def test_error_messages_name_the_node() -> None:
    with pytest.raises(SpecError) as info:
        _image(Conv2d("my_conv", "input", 2, 9))
    assert "my_conv" in str(info.value)


def test_convolution_whose_sizes_overflow_is_refused() -> None:
    # A huge padding lets a huge kernel "fit"; its weight count overflows 64 bits.
    nodes = (
        Conv2d("c", "input", 2**31, (2**40, 1), padding=(2**40, 0)),
        GlobalAvgPool("g", "c"),
        Dense("o", "g", 2, "identity"),
    )
    with pytest.raises(SpecError, match="too large"):
        Spec((1, 1, 1), nodes, "o")
