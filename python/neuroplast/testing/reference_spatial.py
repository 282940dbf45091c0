"""Float64 NumPy reference of the spatial operations (NCHW, PyTorch semantics).

Every function works on whole batches and is written for clarity, not speed: convolutions and
pooling loop over the kernel window positions and use strided slices of the (padded) input.

* :func:`conv2d_forward` / :func:`conv2d_backward`: stride, zero padding, dilation, groups;
  weights ``(c_out, c_in / groups, kh, kw)``.
* :func:`max_pool2d_forward` / :func:`max_pool2d_backward`: floor mode, padding never wins,
  the gradient goes to the first maximum of each window in row-major order.
* :func:`avg_pool2d_forward` / :func:`avg_pool2d_backward`: floor mode, padded zeros count in
  the average (divisor ``kh·kw``).
* :func:`global_avg_pool_forward` / :func:`global_avg_pool_backward`: ``(n, C, H, W) → (n, C)``.
* :func:`batch_norm_train_forward` / :func:`batch_norm_train_backward`: batch statistics
  (biased variance), per channel of ``(n, C, H, W)`` or per feature of ``(n, F)``;
  :func:`batch_norm_eval_forward` / :func:`batch_norm_eval_backward` with running statistics;
  :func:`batch_norm_running_update`: ``r ← r + momentum·(batch − r)`` (unbiased variance).
* :func:`out_size`: output extent of a window along one axis (``None`` when it does not fit).

Example:
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))[0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    >>> w = np.ones((1, 1, 3, 3))
    >>> conv2d_forward(x, w, None, padding=(1, 1))[0, 0, 0].tolist()
    [10.0, 18.0, 24.0, 18.0]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

__all__ = [
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "batch_norm_eval_backward",
    "batch_norm_eval_forward",
    "batch_norm_running_update",
    "batch_norm_stats",
    "batch_norm_train_backward",
    "batch_norm_train_forward",
    "conv2d_backward",
    "conv2d_forward",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool_tie_gap",
    "out_size",
]

F64 = npt.NDArray[np.float64]
Pair = tuple[int, int]


def out_size(size: int, kernel: int, stride: int, pad: int, dilation: int = 1) -> int | None:
    """Output extent ``floor((size + 2·pad − dilation·(kernel − 1) − 1) / stride) + 1``.

    ``None`` when the (dilated) window is larger than the padded input.

    Example:
        >>> out_size(5, 3, 2, 1), out_size(2, 3, 1, 0)
        (3, None)
    """
    span = dilation * (kernel - 1) + 1
    if size + 2 * pad < span:
        return None
    return (size + 2 * pad - span) // stride + 1


def _pad(x: F64, padding: Pair, value: float) -> F64:
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _windows(
    padded_hw: Pair, kernel: Pair, stride: Pair, dilation: Pair
) -> Iterator[tuple[int, int, tuple[slice, slice]]]:
    """Per window position ``(i, j)``: the slices of the padded input read at every output."""
    hp, wp = padded_hw
    oh = (hp - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    ow = (wp - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            r0, c0 = i * dilation[0], j * dilation[1]
            rows = slice(r0, r0 + stride[0] * (oh - 1) + 1, stride[0])
            cols = slice(c0, c0 + stride[1] * (ow - 1) + 1, stride[1])
            yield i, j, (rows, cols)


# ------------------------------------------------------------------------------ convolution
def conv2d_forward(
    x: F64,
    weight: F64,
    bias: F64 | None,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
) -> F64:
    """Convolution ``out[n, o, y, x] = b[o] + Σ w[o, c, i, j] · xpad[n, c, s·y + d·i, s·x + d·j]``.

    The sum runs over the input channels ``c`` of ``o``'s group and the window ``(i, j)``.
    """
    n, c_in = x.shape[:2]
    c_out, c_group, kh, kw = weight.shape
    assert c_group * groups == c_in and c_out % groups == 0
    xp = _pad(x, padding, 0.0)
    o_group = c_out // groups
    out: F64 | None = None
    for i, j, (rows, cols) in _windows(xp.shape[2:], (kh, kw), stride, dilation):
        patch = xp[:, :, rows, cols]  # (n, c_in, oh, ow)
        if out is None:
            out = np.zeros((n, c_out, *patch.shape[2:]))
        for g in range(groups):
            ci = slice(g * c_group, (g + 1) * c_group)
            co = slice(g * o_group, (g + 1) * o_group)
            out[:, co] += np.einsum("nchw,oc->nohw", patch[:, ci], weight[co, :, i, j])
    assert out is not None
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def conv2d_backward(
    x: F64,
    weight: F64,
    grad_out: F64,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
) -> tuple[F64, F64, F64]:
    """Gradients ``(d input, d weight, d bias)`` of :func:`conv2d_forward` given ``d out``."""
    c_out, c_group, kh, kw = weight.shape
    xp = _pad(x, padding, 0.0)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(weight)
    o_group = c_out // groups
    for i, j, (rows, cols) in _windows(xp.shape[2:], (kh, kw), stride, dilation):
        for g in range(groups):
            ci = slice(g * c_group, (g + 1) * c_group)
            co = slice(g * o_group, (g + 1) * o_group)
            patch = xp[:, ci, rows, cols]
            dw[co, :, i, j] = np.einsum("nohw,nchw->oc", grad_out[:, co], patch)
            dxp[:, ci, rows, cols] += np.einsum(
                "nohw,oc->nchw", grad_out[:, co], weight[co, :, i, j]
            )
    ph, pw = padding
    dx = dxp[:, :, ph : xp.shape[2] - ph, pw : xp.shape[3] - pw]
    return dx, dw, grad_out.sum(axis=(0, 2, 3))


# ------------------------------------------------------------------------------ pooling
def _pool_stack(x: F64, kernel: Pair, stride: Pair, padding: Pair, fill: float) -> F64:
    """``(kh·kw, n, C, oh, ow)``: every window element for every output position."""
    xp = _pad(x, padding, fill)
    return np.stack(
        [xp[:, :, r, c] for _, _, (r, c) in _windows(xp.shape[2:], kernel, stride, (1, 1))]
    )


def max_pool2d_forward(x: F64, kernel: Pair, stride: Pair, padding: Pair) -> F64:
    """Maximum over each window; padding is ``-inf`` (it never wins)."""
    out: F64 = _pool_stack(x, kernel, stride, padding, -np.inf).max(axis=0)
    return out


def max_pool2d_backward(x: F64, grad_out: F64, kernel: Pair, stride: Pair, padding: Pair) -> F64:
    """Routes each output gradient to the first maximum of its window (row-major order)."""
    stack = _pool_stack(x, kernel, stride, padding, -np.inf)
    winner = stack.argmax(axis=0)  # first maximal window element
    xp = _pad(x, padding, -np.inf)
    dxp = np.zeros_like(xp)
    for k, (_, _, (rows, cols)) in enumerate(_windows(xp.shape[2:], kernel, stride, (1, 1))):
        dxp[:, :, rows, cols] += np.where(winner == k, grad_out, 0.0)
    ph, pw = padding
    return dxp[:, :, ph : xp.shape[2] - ph, pw : xp.shape[3] - pw]


def max_pool_tie_gap(x: F64, kernel: Pair, stride: Pair, padding: Pair) -> float:
    """Smallest non-zero gap between the largest and second-largest value of any window.

    ``inf`` for one-element windows or exact ties only. Finite differences of max pooling
    need a gap well above ε.
    """
    stack = np.sort(_pool_stack(x, kernel, stride, padding, -np.inf), axis=0)
    if stack.shape[0] < 2:
        return float("inf")
    gap = stack[-1] - stack[-2]
    gap = np.where(np.isfinite(gap) & (gap > 0), gap, np.inf)
    return float(gap.min(initial=np.inf))


def avg_pool2d_forward(x: F64, kernel: Pair, stride: Pair, padding: Pair) -> F64:
    """Mean over each window, padded zeros included (divisor ``kh·kw``)."""
    out: F64 = _pool_stack(x, kernel, stride, padding, 0.0).sum(axis=0) / (kernel[0] * kernel[1])
    return out


def avg_pool2d_backward(x: F64, grad_out: F64, kernel: Pair, stride: Pair, padding: Pair) -> F64:
    """Spreads each output gradient evenly (``/ kh·kw``) over its window."""
    xp = _pad(x, padding, 0.0)
    dxp = np.zeros_like(xp)
    share = grad_out / (kernel[0] * kernel[1])
    for _, _, (rows, cols) in _windows(xp.shape[2:], kernel, stride, (1, 1)):
        dxp[:, :, rows, cols] += share
    ph, pw = padding
    return dxp[:, :, ph : xp.shape[2] - ph, pw : xp.shape[3] - pw]


def global_avg_pool_forward(x: F64) -> F64:
    """Mean over height and width: ``(n, C, H, W) → (n, C)``."""
    out: F64 = x.mean(axis=(2, 3))
    return out


def global_avg_pool_backward(x: F64, grad_out: F64) -> F64:
    """Each input element receives ``grad_out[n, c] / (H·W)``."""
    hw = x.shape[2] * x.shape[3]
    return np.broadcast_to(grad_out[:, :, None, None] / hw, x.shape).copy()


# ------------------------------------------------------------------------------ batch norm
def _stat_axes(x: F64) -> tuple[int, ...]:
    """Axes reduced by batch norm: batch (and space for ``(n, C, H, W)``)."""
    return (0, 2, 3) if x.ndim == 4 else (0,)


def _per_channel(v: F64, x: F64) -> F64:
    return v[None, :, None, None] if x.ndim == 4 else v[None, :]


def batch_norm_stats(x: F64) -> tuple[F64, F64, int]:
    """Per-channel batch mean, biased variance and the number of values per channel."""
    axes = _stat_axes(x)
    count = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    var = ((x - _per_channel(mean, x)) ** 2).mean(axis=axes)
    return mean, var, count


def batch_norm_train_forward(x: F64, gamma: F64, beta: F64, eps: float) -> F64:
    """``γ · (x − mean_B) / √(var_B + ε) + β`` with the batch's biased variance."""
    mean, var, _ = batch_norm_stats(x)
    return batch_norm_eval_forward(x, gamma, beta, mean, var, eps)


def batch_norm_train_backward(
    x: F64, gamma: F64, eps: float, grad_out: F64
) -> tuple[F64, F64, F64]:
    """``(d input, d γ, d β)`` of :func:`batch_norm_train_forward` (statistics depend on x)."""
    axes = _stat_axes(x)
    mean, var, count = batch_norm_stats(x)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (x - _per_channel(mean, x)) * _per_channel(invstd, x)
    dbeta = grad_out.sum(axis=axes)
    dgamma = (grad_out * xhat).sum(axis=axes)
    dxhat = grad_out * _per_channel(gamma, x)
    dx = _per_channel(invstd / count, x) * (
        count * dxhat
        - _per_channel(dxhat.sum(axis=axes), x)
        - xhat * _per_channel((dxhat * xhat).sum(axis=axes), x)
    )
    return dx, dgamma, dbeta


def batch_norm_eval_forward(x: F64, gamma: F64, beta: F64, mean: F64, var: F64, eps: float) -> F64:
    """``γ · (x − mean) / √(var + ε) + β`` with fixed (running) statistics."""
    scale = gamma / np.sqrt(var + eps)
    return (x - _per_channel(mean, x)) * _per_channel(scale, x) + _per_channel(beta, x)


def batch_norm_eval_backward(
    x: F64, gamma: F64, mean: F64, var: F64, eps: float, grad_out: F64
) -> tuple[F64, F64, F64]:
    """``(d input, d γ, d β)`` of :func:`batch_norm_eval_forward` (statistics are constants)."""
    axes = _stat_axes(x)
    invstd = 1.0 / np.sqrt(var + eps)
    xhat = (x - _per_channel(mean, x)) * _per_channel(invstd, x)
    dx = grad_out * _per_channel(gamma * invstd, x)
    return dx, (grad_out * xhat).sum(axis=axes), grad_out.sum(axis=axes)


def batch_norm_running_update(
    x: F64, running_mean: F64, running_var: F64, momentum: float
) -> tuple[F64, F64]:
    """Running statistics after one training step on ``x`` (PyTorch's rule).

    ``r + momentum·(batch − r)`` with the unbiased batch variance ``var_B · count / (count − 1)``.

    Example:
        >>> x = np.array([[1.0], [3.0]])
        >>> m, v = batch_norm_running_update(x, np.zeros(1), np.ones(1), 0.5)
        >>> m.tolist(), v.tolist()
        ([1.0], [1.5])
    """
    mean, var, count = batch_norm_stats(x)
    unbiased = var * count / (count - 1) if count > 1 else var
    return (
        running_mean + momentum * (mean - running_mean),
        running_var + momentum * (unbiased - running_var),
    )
