"""Least-squares compensation: refit the consumers of an edited group on calibration activations.

After units are removed or mixed, every consumer ``c`` of the group is refit so that its
pre-activation on the calibration inputs matches the unedited network's:

``min_{W', b'} ‖X'·W'ᵀ + 1·b'ᵀ − (X·Wᵀ + 1·bᵀ)‖_F``

where ``X`` is ``c``'s input in the unedited network and ``X'`` its input in the edited one
(float64 minimum-norm least squares from the Rust core, :func:`neuroplast._linalg.lstsq`, as
``numpy.linalg.lstsq`` but independent of the LAPACK build and of the thread count; no ``b'`` column
when ``c`` has no bias). A convolutional consumer (``groups == 1``) is the same problem on its
im2col patches: every output pixel of every calibration sample is one row, the columns are the
``C_in·kh·kw`` window values (PyTorch's weight layout). Its rows can number millions, so the
normal equations ``PᵀP·θ = PᵀT`` are accumulated in float64 over sample blocks and solved by
``lstsq`` on the Gram matrix, which gives the same minimum-norm solution (``PᵀP`` has the null
space of ``P``) with memory independent of the calibration size. Consumers are refit in spec
order, each on the inputs produced by the already-refit network. Restrictions (raising
:class:`InvalidMorphismError`): grouped convolutions (a group's patches would need a separate
problem) and consumers whose own rows belong to the group (a residual chain, whose targets
would change with the edit). Optimizer moments of refit parameters are kept as the edit mapped
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _linalg
from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import Conv2d, Dense
from neuroplast.morph.deps import CoupledGroup
from neuroplast.morph.select import node_activations
from neuroplast.network import Network

__all__ = ["Refit", "apply_refit", "lstsq_refit"]

#: Per refit consumer, ``{"weight": nested list, "bias": list}`` (float32 values, JSON-exact).
Refit = Mapping[str, Mapping[str, Sequence[Any]]]


def _check(net: Network, group: CoupledGroup) -> list[str]:
    names = [n.name for n in net.spec.nodes if n.name in group.consumers]
    for c in names:
        node = net.spec.node(c)
        if isinstance(node, Conv2d) and node.groups != 1:
            raise InvalidMorphismError(
                f"compensate='lstsq' cannot refit the grouped convolution {c!r} "
                f"(groups={node.groups})"
            )
        if not isinstance(node, Dense | Conv2d):
            raise InvalidMorphismError(f"compensate='lstsq' cannot refit {c!r}: not a layer")
        if c in group.producers:
            raise InvalidMorphismError(
                f"compensate='lstsq' cannot refit {c!r}: its own units belong to the edited group"
            )
    return names


def apply_refit(net: Network, refit: Refit) -> Network:
    """``net`` with the recorded consumer parameters of ``refit`` (exact float32 values)."""
    params = dict(net.params)
    for c, parts in refit.items():
        for part, value in parts.items():
            key = f"{c}.{part}"
            if key not in params:
                raise InvalidMorphismError(f"refit names unknown parameter {key!r}")
            arr = np.asarray(value, dtype=np.float32)
            if arr.shape != params[key].shape:
                raise InvalidMorphismError(
                    f"refit {key!r} has shape {arr.shape}, expected {params[key].shape}"
                )
            params[key] = arr
    return Network(net.spec, params, net.optimizer_state)


F64 = npt.NDArray[np.float64]

#: Calibration samples per block of the convolutional normal equations.
_BLOCK = 64


def _pair(value: object) -> tuple[int, int]:
    # Conv2d.__post_init__ has normalized every geometry field to a pair of ints.
    assert isinstance(value, tuple)
    return int(value[0]), int(value[1])


def _patches(x: F64, node: Conv2d) -> F64:
    """im2col: ``(n·oh·ow, C·kh·kw)`` windows of ``x`` (``(n, C, H, W)``), PyTorch weight order."""
    (kh, kw), (sh, sw) = _pair(node.kernel_size), _pair(node.stride)
    (ph, pw), (dh, dw) = _pair(node.padding), _pair(node.dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((x.shape[0], oh, ow, x.shape[1], kh, kw))
    for i in range(kh):
        for j in range(kw):
            win = xp[
                :,
                :,
                i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                j * dw : j * dw + sw * (ow - 1) + 1 : sw,
            ]
            cols[:, :, :, :, i, j] = win.transpose(0, 2, 3, 1)
    return cols.reshape(x.shape[0] * oh * ow, -1)


def _design(x: F64, node: Dense | Conv2d, shape: tuple[int, ...]) -> F64:
    """Rows of the consumer's linear map (patches for a convolution), with a ones column."""
    rows = _patches(x.reshape(x.shape[0], *shape), node) if isinstance(node, Conv2d) else x
    if node.bias:
        rows = np.concatenate([rows, np.ones((rows.shape[0], 1))], axis=1)
    return rows


def _solve(
    before: Network, after: Network, node: Dense | Conv2d, X: npt.NDArray[np.float32]
) -> F64:
    """The refit ``θ = [W' | b']`` (flattened weight rows) of ``node`` on the inputs ``X``."""
    c = node.name
    w = np.asarray(before.params[f"{c}.weight"], np.float64).reshape(node.units, -1)
    if node.bias:
        w = np.concatenate([w, np.asarray(before.params[f"{c}.bias"], np.float64)[:, None]], 1)
    shape, new_shape = before.spec.shapes[node.input], after.spec.shapes[node.input]
    x_old = node_activations(before, node.input, X)
    x_new = node_activations(after, node.input, X)
    if isinstance(node, Dense):
        target = _design(x_old, node, shape) @ w.T
        solution = _linalg.lstsq(_design(x_new, node, new_shape), target)
        return np.asarray(solution.T, np.float64)
    cols = after.params[f"{c}.weight"][0].size + int(node.bias)
    gram = np.zeros((cols, cols))
    rhs = np.zeros((cols, w.shape[0]))
    for start in range(0, x_old.shape[0], _BLOCK):
        part = slice(start, start + _BLOCK)
        p_new = _design(x_new[part], node, new_shape)
        np.add(gram, p_new.T @ p_new, out=gram)
        np.add(rhs, p_new.T @ (_design(x_old[part], node, shape) @ w.T), out=rhs)
    gram_solution = _linalg.lstsq(gram, rhs)
    return np.asarray(gram_solution.T, np.float64)


def _nested(a: npt.NDArray[np.float32]) -> list[Any]:
    out: list[Any] = a.tolist()
    return out


def lstsq_refit(
    before: Network, after: Network, group: CoupledGroup, X: npt.ArrayLike
) -> tuple[Network, dict[str, dict[str, list[Any]]]]:
    """Refits every consumer of ``group`` in ``after``; returns the network and the refit."""
    refit: dict[str, dict[str, list[Any]]] = {}
    x = np.asarray(X, dtype=np.float32)
    for c in _check(before, group):
        node = before.spec.node(c)
        assert isinstance(node, Dense | Conv2d)
        theta = _solve(before, after, node, x).astype(np.float32)
        weight = theta[:, :-1] if node.bias else theta
        shape = after.params[f"{c}.weight"].shape
        parts: dict[str, list[Any]] = {"weight": _nested(weight.reshape(shape))}
        if node.bias:
            parts["bias"] = _nested(theta[:, -1])
        refit[c] = parts
        after = apply_refit(after, {c: parts})
    return after, refit
