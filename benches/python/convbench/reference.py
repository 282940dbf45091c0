"""Convolution in plain float32 NumPy via im2col + matmul (the baseline of the benchmark),
forward and backward, PyTorch semantics (NCHW, weight ``c_out × c_in/groups × kh × kw``),
unit stride and dilation, symmetric zero padding."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _cols(xp: np.ndarray, k: int, groups: int) -> np.ndarray:
    """Patch matrix ``(B, G, Cg·k·k, oh·ow)`` of the padded input ``xp``."""
    b, c, hp, wp = xp.shape
    oh, ow = hp - k + 1, wp - k + 1
    win = sliding_window_view(xp, (k, k), axis=(2, 3))  # (B, C, oh, ow, k, k)
    cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(b, groups, (c // groups) * k * k, oh * ow)
    return np.ascontiguousarray(cols)


def forward(x: np.ndarray, w: np.ndarray, bias: np.ndarray, pad: int, groups: int) -> np.ndarray:
    """``y = conv(x, w) + bias`` as ``(B, c_out, oh, ow)``."""
    b = x.shape[0]
    co, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = _cols(xp, k, groups)
    wg = w.reshape(groups, co // groups, -1)
    y = np.matmul(wg[None], cols)  # (B, G, cog, P)
    oh = xp.shape[2] - k + 1
    out: np.ndarray = y.reshape(b, co, oh, -1) + bias[None, :, None, None]
    return out


def backward(
    x: np.ndarray, w: np.ndarray, dy: np.ndarray, pad: int, groups: int, input_grad: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(dw, dbias, dx)`` for the output gradient ``dy`` (``dx`` is None unless asked)."""
    b, c, h, wd = x.shape
    co, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = _cols(xp, k, groups)  # (B, G, K, P)
    g, cog = groups, co // groups
    dyg = dy.reshape(b, g, cog, -1)
    # dW_g = Σ_b dY_g · colsᵀ as one GEMM per group over the batch-major sample axis.
    dy_flat = dyg.transpose(1, 2, 0, 3).reshape(g, cog, -1)
    cols_flat = cols.transpose(1, 2, 0, 3).reshape(g, cols.shape[2], -1)
    dw = np.matmul(dy_flat, cols_flat.transpose(0, 2, 1)).reshape(w.shape)
    db = dy.sum(axis=(0, 2, 3))
    if not input_grad:
        return dw, db, None
    wg = w.reshape(g, cog, -1)
    dcols = np.matmul(wg.transpose(0, 2, 1)[None], dyg)  # (B, G, K, P)
    oh, ow = dy.shape[2], dy.shape[3]
    dcols = dcols.reshape(b, c, k, k, oh, ow)
    dxp = np.zeros_like(xp)
    for ky in range(k):
        for kx in range(k):
            dxp[:, :, ky : ky + oh, kx : kx + ow] += dcols[:, :, ky, kx]
    return dw, db, dxp[:, :, pad : pad + h, pad : pad + wd]


def sgd_step(
    x: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray,
    pad: int,
    groups: int,
    input_grad: bool,
    lr: float,
) -> float:
    """One training step of the benchmark's network, updating ``w`` and ``bias`` in place;
    returns the loss. A hidden layer's input is ``x + x`` (see ``convbench.layers``)."""
    x2 = x + x if input_grad else x
    y = forward(x2, w, bias, pad, groups).reshape(x.shape[0], -1)
    d = y - t
    loss = float(np.mean(d * d))
    dy = (2.0 / d.size) * d
    dw, db, _ = backward(
        x2, w, dy.reshape(x.shape[0], w.shape[0], *y_shape(x, w, pad)), pad, groups, input_grad
    )
    w -= lr * dw
    bias -= lr * db
    return loss


def y_shape(x: np.ndarray, w: np.ndarray, pad: int) -> tuple[int, int]:
    oh = x.shape[2] + 2 * pad - w.shape[2] + 1
    ow = x.shape[3] + 2 * pad - w.shape[3] + 1
    return oh, ow
