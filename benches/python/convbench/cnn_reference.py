"""The Fashion-MNIST CNN of ``bench_cnn_epoch.py`` in plain float32 NumPy: the im2col
convolution of ``convbench.reference`` plus ReLU, 2×2 max pooling, flatten, dense layers and
mean softmax cross-entropy, forward and backward, and one SGD step.

The network is ``Spec.cnn((1, 28, 28), [16, 32], 10, hidden=[64])``: for every channel count
a 3×3 'same' convolution, ReLU and 2×2 max pooling; then flatten (NCHW order), dense 64 with
ReLU and a dense output layer. Parameters use neuroplast's names and layouts (conv weights
``c_out × c_in × 3 × 3`` like PyTorch, dense weights ``units × fan_in`` like ``nn.Linear``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convbench import reference

PAD = 1  # 3×3 'same'


def maxpool_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2×2 / stride 2 max pooling of ``(B, C, H, W)`` (H, W even): the output and the index
    (0..3, row-major in the window, first maximum on ties) of each window's maximum."""
    b, c, h, w = x.shape
    win = x.reshape(b, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    win = win.reshape(b, c, h // 2, w // 2, 4)
    idx = win.argmax(axis=-1)
    return np.take_along_axis(win, idx[..., None], axis=-1)[..., 0], idx


def maxpool_backward(dy: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The input gradient of ``maxpool_forward`` for the output gradient ``dy``."""
    b, c, oh, ow = dy.shape
    dwin = np.zeros((b, c, oh, ow, 4), dtype=dy.dtype)
    np.put_along_axis(dwin, idx[..., None], dy[..., None], axis=-1)
    dx = dwin.reshape(b, c, oh, ow, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    return dx.reshape(b, c, 2 * oh, 2 * ow)


def softmax_ce(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of logits ``z`` ``(B, K)`` for labels ``y`` and its gradient."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = z.shape[0]
    rows = np.arange(n)
    loss = float(-np.mean(np.log(np.maximum(p[rows, y], 1e-30))))
    p[rows, y] -= 1.0
    return loss, (p / n).astype(np.float32)


def conv_names(params: dict[str, np.ndarray]) -> list[str]:
    return sorted(k[: -len(".weight")] for k in params if k.startswith("conv_") and "weight" in k)


def dense_names(params: dict[str, np.ndarray]) -> list[str]:
    hidden = sorted(
        k[: -len(".weight")] for k in params if k.startswith("dense_") and "weight" in k
    )
    return [*hidden, "output"]


def gradients(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean loss of the batch ``(x, y)`` and the gradients of all parameters."""
    convs, denses = conv_names(params), dense_names(params)
    cache: list[Any] = []
    h = x
    for name in convs:
        a = reference.forward(h, params[f"{name}.weight"], params[f"{name}.bias"], PAD, 1)
        r = np.maximum(a, 0.0)
        p, idx = maxpool_forward(r)
        cache.append((h, a, idx))
        h = p
    conv_out_shape = h.shape
    h = h.reshape(h.shape[0], -1)
    dcache: list[Any] = []
    for i, name in enumerate(denses):
        a = h @ params[f"{name}.weight"].T + params[f"{name}.bias"]
        dcache.append((h, a))
        h = np.maximum(a, 0.0) if i < len(denses) - 1 else a
    loss, d = softmax_ce(h, y)
    grads: dict[str, np.ndarray] = {}
    for i in reversed(range(len(denses))):
        name = denses[i]
        hin, a = dcache[i]
        if i < len(denses) - 1:
            d = d * (a > 0)
        grads[f"{name}.weight"] = d.T @ hin
        grads[f"{name}.bias"] = d.sum(axis=0)
        d = d @ params[f"{name}.weight"]
    d = d.reshape(conv_out_shape)
    for i in reversed(range(len(convs))):
        name = convs[i]
        hin, a, idx = cache[i]
        d = maxpool_backward(d, idx) * (a > 0)
        dw, db, dx = reference.backward(hin, params[f"{name}.weight"], d, PAD, 1, i > 0)
        grads[f"{name}.weight"], grads[f"{name}.bias"] = dw, db
        d = dx  # type: ignore[assignment]
    return loss, grads


def sgd_step(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, lr: float) -> float:
    """One plain SGD step on the batch ``(x, y)``, updating ``params`` in place; the loss."""
    loss, grads = gradients(params, x, y)
    for k, g in grads.items():
        params[k] -= np.float32(lr) * g.astype(np.float32, copy=False)
    return loss
