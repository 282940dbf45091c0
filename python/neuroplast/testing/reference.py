"""A pure-NumPy float64 reference of the neuroplast engine.

Everything the Rust core computes for a :class:`~neuroplast.Spec` is re-implemented here in the
most direct way, in float64, so tests can compare the engine against it:

* :func:`forward` / :func:`forward_trace`: node outputs of any graph of every node type
  (dense, add, concat, conv2d, pooling, flatten, batch norm; per-op code in
  :mod:`neuroplast.testing.reference_spatial` and :mod:`neuroplast.testing.reference_nodes`)
  with every activation and optional per-unit masks (applied after the activation,
  ``out = f(pre) * mask``, per channel for spatial nodes). Batch norm uses running statistics
  by default (the engine's ``forward``) or batch statistics with ``training=True``.
* :func:`loss_value` / :func:`loss_and_output_gradient`: softmax cross-entropy (mean over the
  batch, integer labels) and MSE (mean over all elements).
* :func:`loss_and_gradients`: the loss and its gradient for every parameter, keyed by the names
  of :attr:`Spec.param_shapes <neuroplast.Spec.param_shapes>` (batch statistics, as the
  engine's ``gradients``; running statistics get zero gradients).
* :func:`numerical_gradients`: central finite differences of the same loss.
* :func:`batch_norm_updates`: the running statistics after one training step.
* :func:`node_shapes`, :func:`param_shapes`, :func:`n_params`, :func:`node_flops`,
  :func:`flops`: structure computed from the node definitions.
* :func:`optimizer_step`: one update of SGD (momentum, Nesterov, weight decay) or Adam/AdamW
  with PyTorch's rules and bias correction (defined in
  :mod:`neuroplast.testing.reference_optim`, re-exported here).

Derivative conventions at the kink ``z = 0`` follow the engine: ``relu'(0) = 0``,
``modified_relu'(0) = 1`` and ``leaky_relu'(0) = negative_slope``.

Example:
    >>> import numpy as np
    >>> from neuroplast import Network, Spec
    >>> from neuroplast.testing import reference
    >>> net = Network.init(Spec.mlp(3, [4], 2), seed=0)
    >>> X = np.ones((2, 3), np.float32)
    >>> bool(np.allclose(reference.forward(net.spec, net.params, X), net.forward(X), atol=1e-5))
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.activations import props
from neuroplast.layers import BatchNorm, MaxPool2d, Node
from neuroplast.spec import Spec
from neuroplast.testing.reference_nodes import (
    KINKED_ACTIVATIONS,
    activation,
    activation_derivative,
    flops,
    n_params,
    node_backward,
    node_flops,
    node_forward,
    node_shapes,
    node_widths,
    pair,
    param_shapes,
)
from neuroplast.testing.reference_optim import (
    SLOT_NAMES,
    ReferenceOptimizerState,
    optimizer_step,
)
from neuroplast.testing.reference_spatial import (
    batch_norm_running_update,
    batch_norm_stats,
    max_pool_tie_gap,
)

__all__ = [
    "KINKED_ACTIVATIONS",
    "SLOT_NAMES",
    "ForwardTrace",
    "ReferenceOptimizerState",
    "accuracy",
    "activation",
    "activation_derivative",
    "batch_norm_min_variance",
    "batch_norm_updates",
    "flops",
    "forward",
    "forward_trace",
    "kink_margin",
    "loss_and_gradients",
    "loss_and_output_gradient",
    "loss_value",
    "max_pool_margin",
    "n_params",
    "node_flops",
    "node_shapes",
    "node_widths",
    "numerical_gradients",
    "optimizer_step",
    "param_shapes",
]

F64 = npt.NDArray[np.float64]
ArrayMap = Mapping[str, npt.ArrayLike]


# ------------------------------------------------------------------------------ forward
@dataclass(frozen=True)
class ForwardTrace:
    """Intermediate values of one forward pass (float64).

    Attributes:
        pre: Pre-activation ``z`` of every computed node, ``(n, F)`` or ``(n, C, H, W)``.
        out: Output of every node (after activation and mask), including ``"input"``.
        output_name: Name of the network's output node.
    """

    pre: dict[str, F64]
    out: dict[str, F64]
    output_name: str

    @property
    def output(self) -> F64:
        """The network output ``(n, n_outputs)``."""
        return self.out[self.output_name]


def _features(spec: Spec, X: npt.ArrayLike) -> F64:
    x = np.asarray(X, dtype=np.float64)
    return x.reshape(x.shape[0], *node_shapes(spec)["input"])


def _as_params(params: ArrayMap) -> dict[str, F64]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}


def _as_masks(masks: ArrayMap | None) -> dict[str, F64]:
    return {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in (masks or {}).items()}


def _slope(node: Node) -> float:
    return float(getattr(node, "negative_slope", 0.01))


def _per_unit(mask: F64, like: F64) -> F64:
    """A per-unit mask shaped to broadcast over ``(n, F)`` or ``(n, C, H, W)`` values."""
    return mask.reshape(1, -1, *([1] * (like.ndim - 2)))


def forward_trace(
    spec: Spec,
    params: ArrayMap,
    X: npt.ArrayLike,
    masks: ArrayMap | None = None,
    *,
    training: bool = False,
) -> ForwardTrace:
    """Forward pass keeping every node's pre-activation and output.

    Args:
        spec: The network graph.
        params: Parameters (and buffers) keyed as in :attr:`Spec.param_shapes`.
        X: ``(n, n_inputs)`` or ``(n, *input_shape)`` features.
        masks: Optional ``{node: (units,)}`` multipliers applied after the activation.
        training: Batch norm uses batch statistics (True) or running statistics (False).
    """
    p = _as_params(params)
    m = _as_masks(masks)
    out: dict[str, F64] = {"input": _features(spec, X)}
    pre: dict[str, F64] = {}
    for node in spec.nodes:
        z = node_forward(node, p, [out[i] for i in node.inputs], training)
        pre[node.name] = z
        a = activation(getattr(node, "activation", "identity"), z, _slope(node))
        if node.name in m:
            a = a * _per_unit(m[node.name], a)
        out[node.name] = a
    return ForwardTrace(pre, out, spec.output)


def forward(
    spec: Spec,
    params: ArrayMap,
    X: npt.ArrayLike,
    masks: ArrayMap | None = None,
    *,
    training: bool = False,
) -> F64:
    """Network outputs ``(n, n_outputs)`` in float64 (logits for cross-entropy)."""
    return forward_trace(spec, params, X, masks, training=training).output


def batch_norm_updates(
    spec: Spec, params: ArrayMap, X: npt.ArrayLike, masks: ArrayMap | None = None
) -> dict[str, F64]:
    """Running statistics of every batch-norm node after one training step on the batch ``X``.

    ``r ← r + momentum·(batch − r)`` with the unbiased batch variance; keyed like the buffers.
    """
    p = _as_params(params)
    trace = forward_trace(spec, p, X, masks, training=True)
    updates: dict[str, F64] = {}
    for node in spec.nodes:
        if isinstance(node, BatchNorm):
            mean, var = f"{node.name}.running_mean", f"{node.name}.running_var"
            updates[mean], updates[var] = batch_norm_running_update(
                trace.out[node.input], p[mean], p[var], node.momentum
            )
    return updates


def kink_margin(
    spec: Spec, params: ArrayMap, X: npt.ArrayLike, masks: ArrayMap | None = None
) -> float:
    """Smallest ``|z|`` over non-zero pre-activations of nodes with a kinked activation.

    Exact zeros are ignored: they arise only from all-zero inputs (dead or masked units) and
    stay exactly zero under small perturbations and in float32. Returns ``inf`` when the graph
    has no kinked activation. Gradient checks should require a comfortable margin so that
    float32 rounding or a finite-difference step cannot move a value across the kink.
    """
    trace = forward_trace(spec, params, X, masks)
    margin = math.inf
    for node in spec.nodes:
        act = getattr(node, "activation", "identity")
        if act in KINKED_ACTIVATIONS:
            pre = trace.pre[node.name]
            z = np.min([np.abs(pre - k) for k in props(act).kinks], axis=0)
            z = z[z > 0]
            if z.size:
                margin = min(margin, float(z.min()))
    return margin


def max_pool_margin(
    spec: Spec, params: ArrayMap, X: npt.ArrayLike, masks: ArrayMap | None = None
) -> float:
    """Smallest non-zero gap between the two largest values of any max-pooling window.

    Exact ties are ignored (they come from identical computations and stay ties in float32,
    where both sides pick the first maximum). Compare gradients only with a comfortable gap.
    """
    trace = forward_trace(spec, params, X, masks, training=True)
    margin = math.inf
    for node in spec.nodes:
        if isinstance(node, MaxPool2d):
            args = (pair(node.kernel_size), pair(node.stride), pair(node.padding))
            margin = min(margin, max_pool_tie_gap(trace.out[node.input], *args))
    return margin


def batch_norm_min_variance(
    spec: Spec, params: ArrayMap, X: npt.ArrayLike, masks: ArrayMap | None = None
) -> float:
    """Smallest per-channel batch variance at any batch-norm input (``inf`` without one)."""
    trace = forward_trace(spec, params, X, masks, training=True)
    variances = [
        batch_norm_stats(trace.out[n.input])[1] for n in spec.nodes if isinstance(n, BatchNorm)
    ]
    return min((float(v.min()) for v in variances), default=math.inf)


# ------------------------------------------------------------------------------ losses
def _targets(spec: Spec, y: npt.ArrayLike, n: int) -> npt.NDArray[Any]:
    if spec.loss == "cross_entropy":
        return np.asarray(y).astype(np.int64).reshape(n)
    return np.asarray(y, dtype=np.float64).reshape(n, spec.n_outputs)


def loss_and_output_gradient(
    spec: Spec, outputs: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[float, F64]:
    """Mean loss of ``outputs`` against ``y`` and its gradient with respect to ``outputs``.

    Cross-entropy: ``mean_i [logsumexp(z_i) - z_i[y_i]]``, gradient ``(softmax(z) - onehot)/n``.
    MSE: ``mean_{i,j} (z_ij - t_ij)^2``, gradient ``2 (z - t) / (n · n_outputs)``.
    """
    z = np.asarray(outputs, dtype=np.float64)
    n = z.shape[0]
    t = _targets(spec, y, n)
    if spec.loss == "cross_entropy":
        mx = z.max(axis=1, keepdims=True)
        lse = mx[:, 0] + np.log(np.exp(z - mx).sum(axis=1))
        rows = np.arange(n)
        loss = float(np.mean(lse - z[rows, t]))
        grad = np.exp(z - lse[:, None])
        grad[rows, t] -= 1.0
        return loss, grad / n
    d = z - t
    return float(np.mean(d * d)), 2.0 * d / d.size


def loss_value(spec: Spec, outputs: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Mean loss of ``outputs`` against ``y`` (see :func:`loss_and_output_gradient`)."""
    return loss_and_output_gradient(spec, outputs, y)[0]


def accuracy(outputs: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Fraction of rows whose first maximal output is the label (the engine's argmax rule)."""
    z = np.asarray(outputs)
    return float(np.mean(z.argmax(axis=1) == np.asarray(y).reshape(-1)))


# ------------------------------------------------------------------------------ backward
def loss_and_gradients(
    spec: Spec,
    params: ArrayMap,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    masks: ArrayMap | None = None,
    *,
    training: bool = True,
) -> tuple[float, dict[str, F64]]:
    """Mean loss on ``(X, y)`` and its gradient for every parameter (float64 backprop).

    Returns gradients for exactly the names of ``spec.param_shapes`` (zeros for parameters that
    do not influence the output and for batch-norm running statistics). Batch norm uses batch
    statistics by default, like a training step and the engine's ``gradients``.
    """
    p = _as_params(params)
    m = _as_masks(masks)
    trace = forward_trace(spec, p, X, masks, training=training)
    loss, g_out = loss_and_output_gradient(spec, trace.output, y)
    grad_out: dict[str, F64] = {spec.output: g_out}
    grads: dict[str, F64] = {n: np.zeros(s) for n, s in spec.param_shapes.items()}
    for node in reversed(spec.nodes):
        g = grad_out.get(node.name)
        if g is None:
            continue
        if node.name in m:
            g = g * _per_unit(m[node.name], g)
        act = getattr(node, "activation", "identity")
        gz = g * activation_derivative(act, trace.pre[node.name], _slope(node))
        inputs = [trace.out[i] for i in node.inputs]
        g_in, g_params = node_backward(node, p, inputs, gz, training)
        for name, g_p in g_params.items():  # architecture tensors are shared: accumulate
            grads[name] = grads[name] + g_p
        for name, c in zip(node.inputs, g_in, strict=True):
            grad_out[name] = grad_out[name] + c if name in grad_out else c
    return loss, grads


def numerical_gradients(
    spec: Spec,
    params: ArrayMap,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    masks: ArrayMap | None = None,
    *,
    eps: float = 1e-6,
    training: bool = True,
) -> dict[str, F64]:
    """Central finite differences ``(L(θ + ε e_k) - L(θ - ε e_k)) / 2ε`` of the float64 loss.

    Batch-norm running statistics get zeros, as in :func:`loss_and_gradients`.
    """
    p = _as_params(params)
    grads: dict[str, F64] = {}

    def loss_now() -> float:
        return loss_value(spec, forward(spec, p, X, masks, training=training), y)

    for name in spec.param_shapes:
        base = p[name]
        g = np.zeros_like(base)
        if name not in spec.buffers:
            for idx in np.ndindex(*base.shape):
                old = base[idx]
                base[idx] = old + eps
                lp = loss_now()
                base[idx] = old - eps
                lm = loss_now()
                base[idx] = old
                g[idx] = (lp - lm) / (2 * eps)
        grads[name] = g
    return grads
