"""The benchmarked layers: one convolution each, batch 64 unless ``Layer.batch`` says
otherwise, trained with plain SGD on an MSE loss against fixed random targets.

neuroplast runs the layer inside a small network: ``input → add(input, input) → conv →
flatten`` (the add makes the convolution compute its input gradient, as in any hidden layer;
a first layer gets none). NumPy and PyTorch do the same math per step: ``x2 = x + x``
(``x2 = x`` for a first layer), ``y = conv(x2) + b``, ``loss = mean((y − t)²)``, the
gradients of the convolution (input gradient included for hidden layers) and
``θ ← θ − lr·∇θ``. neuroplast also pays for the add,
the flatten copy, the loss and its fixed per-call cost, so the comparison is conservative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BATCH = 64
LR = 1e-3


@dataclass(frozen=True)
class Layer:
    name: str
    c_in: int
    c_out: int
    size: int
    kernel: int
    pad: int
    groups: int = 1
    input_grad: bool = True
    batch: int = BATCH

    @property
    def out_size(self) -> int:
        return self.size + 2 * self.pad - self.kernel + 1

    @property
    def out_width(self) -> int:
        return self.c_out * self.out_size**2

    def flops(self) -> float:
        """Training FLOPs of one step: 2·MACs for the forward, the weight gradient and (hidden
        layers) the input gradient."""
        macs = self.batch * self.out_width * (self.c_in // self.groups) * self.kernel**2
        return 2.0 * macs * (3 if self.input_grad else 2)

    def data(self, batches: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        n = batches * self.batch
        x = rng.standard_normal((n, self.c_in, self.size, self.size), dtype=np.float32)
        t = rng.standard_normal((n, self.out_width), dtype=np.float32)
        return x, t

    def spec(self, npl: Any) -> Any:
        from neuroplast.layers import Add, Conv2d, Flatten

        src = "pre" if self.input_grad else "input"
        nodes: list[Any] = [Add("pre", ("input", "input"))] if self.input_grad else []
        nodes += [
            Conv2d(
                "conv",
                src,
                self.c_out,
                self.kernel,
                padding=self.pad,
                groups=self.groups,
                activation="identity",
            ),
            Flatten("out", "conv"),
        ]
        return npl.Spec(
            input_shape=(self.c_in, self.size, self.size), nodes=nodes, output="out", loss="mse"
        )


LAYERS = [
    Layer("3x3 32->64 28x28", 32, 64, 28, 3, 1),
    Layer("3x3 32->64 14x14", 32, 64, 14, 3, 1),
    Layer("1x1 64->64 14x14", 64, 64, 14, 1, 0),
    Layer("dw3x3 64 14x14", 64, 64, 14, 3, 1, groups=64),
    Layer("3x3 1->32 28x28 (first layer)", 1, 32, 28, 3, 1, input_grad=False),
]

QUICK_LAYERS = [
    Layer("3x3 8->16 10x10", 8, 16, 10, 3, 1),
    Layer("dw3x3 8 10x10", 8, 8, 10, 3, 1, groups=8),
    Layer("3x3 1->8 12x12 (first layer)", 1, 8, 12, 3, 1, input_grad=False),
]
