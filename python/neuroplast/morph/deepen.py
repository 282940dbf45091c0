"""Deepen: insert an identity layer or a zero-output residual branch after a node."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import check_int
from neuroplast.activations import interval_image, props
from neuroplast.errors import ConfigError, InvalidMorphismError
from neuroplast.layers import (
    ACTIVATIONS,
    Add,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    MixedOp,
    Node,
)
from neuroplast.morph.record import Calibration, EditRecord, measure
from neuroplast.network import Network
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec

__all__ = ["DeepenKind", "deepen", "fresh_name", "output_range"]

F32 = npt.NDArray[np.float32]
DeepenKind = Literal["identity", "residual"]
_INF = math.inf


def fresh_name(taken: Collection[str], base: str) -> str:
    """``base``, or ``base_1``, ``base_2``, ... : the first name not in ``taken``."""
    if base not in taken and base != "input":
        return base
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def output_range(spec: Spec, name: str) -> tuple[float, float]:
    """An interval containing every value node ``name`` can output (for any input)."""
    if name == "input":
        return (-_INF, _INF)
    node = spec.node(name)
    ins = [output_range(spec, i) for i in node.inputs]
    if isinstance(node, Add):
        lo, hi = sum(r[0] for r in ins), sum(r[1] for r in ins)
    elif isinstance(node, Concat):
        lo, hi = min(r[0] for r in ins), max(r[1] for r in ins)
    elif isinstance(node, (Dense, Conv2d, BatchNorm)):
        lo, hi = -_INF, _INF
    else:  # pooling, global average pooling, flatten: convex combinations or maxima
        lo, hi = ins[0]
        if isinstance(node, AvgPool2d) and any(node.padding):  # type: ignore[arg-type]
            lo, hi = min(lo, 0.0), max(hi, 0.0)
    act = getattr(node, "activation", "identity")
    return interval_image(act, lo, hi, float(getattr(node, "negative_slope", 0.01)))


def _show(lo: float, hi: float) -> str:
    """An interval as text, open at infinite ends: ``[0, ∞)``."""
    return ("(-∞" if lo == -_INF else f"[{lo:g}") + ", " + ("∞)" if hi == _INF else f"{hi:g}]")


def _identity_exact(spec: Spec, after: str, activation: str) -> tuple[bool, str]:
    lo, hi = output_range(spec, after)
    if activation == "identity":
        return True, "identity weights with identity activation"
    on = props(activation).identity_on
    # A leaky ReLU's slope acts only below 0, outside its identity interval [0, ∞).
    if on is not None and on[0] <= lo and hi <= on[1]:
        return True, f"{activation} is the identity on {_show(*on)}, where {after!r} outputs lie"
    return False, (
        f"{activation} is not the identity on the output range {_show(lo, hi)} of {after!r}; "
        "exact only for piecewise-linear activations equal to x on that range"
    )


def _layer(name: str, src: str, shape: tuple[int, ...], k: int, act: str, slope: float) -> Node:
    if len(shape) == 3:
        return Conv2d(name, src, shape[0], k, padding="same", activation=act, negative_slope=slope)
    return Dense(name, src, shape[0], act, slope)


def _rewired(node: Node, old: str, new: str) -> Node:
    if isinstance(node, (Add, Concat, MixedOp)):
        return dataclasses.replace(node, inputs=tuple(new if i == old else i for i in node.inputs))
    if node.input == old:
        return dataclasses.replace(node, input=new)
    return node


def deepen(
    net: Network,
    after: str,
    kind: DeepenKind = "identity",
    *,
    activation: str | None = None,
    negative_slope: float = 0.01,
    kernel_size: int = 3,
    seed: int = 0,
    calibration: Calibration | None = None,
) -> tuple[Network, EditRecord]:
    """Inserts a layer after node ``after``; every former reader of ``after`` reads the new node.

    * ``"identity"``: a dense layer with ``W = I, b = 0`` (flat) or a ``kernel_size`` "same"
      convolution whose kernel is 1 at the centre of channel ``c → c`` (spatial), named
      ``{after}_id``. Exact iff the activation is the identity on every value ``after`` can
      output: ``identity`` always; ``relu``/``modified_relu``/``leaky_relu`` when ``after``'s
      outputs are ≥ 0 (e.g. after a ReLU or sigmoid); ``saturation`` when they lie in
      [-1, 1]. Otherwise (sigmoid, tanh, sign, or ReLU after signed values) approximate.
    * ``"residual"``: a branch ``{after}_res`` (same width, random He-normal weights from
      ``seed``, ``activation``) → ``{after}_res_out`` (zero weights and bias) and an identity
      ``add`` ``{after}_res_add`` of ``after`` and the branch. Exact for any activation.

    Names get a ``_1``, ``_2``, ... suffix when taken. New parameters get zero optimizer moments.

    Args:
        net: The network (not modified).
        after: Name of any node except the input and the output.
        kind: ``"identity"`` or ``"residual"``.
        activation: The new layer's activation (default: ``after``'s own activation for
            ``"identity"``, ``"relu"`` for ``"residual"``).
        negative_slope: Slope of a ``leaky_relu`` activation.
        kernel_size: Odd kernel size of inserted convolutions (spatial ``after`` only).
        seed: Seed of the residual branch's random weights.
        calibration: Optional ``X`` or ``(X, y)`` to measure the distortion (accuracies only
            with labels ``y``).

    Returns:
        The deeper network and its :class:`EditRecord`.

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(3, [4], 2), seed=0)
        >>> deep, rec = deepen(net, "dense_0")
        >>> [n.name for n in deep.spec.nodes], rec.contract
        (['dense_0', 'dense_0_id', 'output'], 'exact')
    """
    spec = net.spec
    if after == spec.output or after == "input":
        raise InvalidMorphismError(f"cannot insert a layer after {after!r} (input or output)")
    names = [n.name for n in spec.nodes]
    if after not in names:
        raise InvalidMorphismError(f"no layer named {after!r}; layers: {names}")
    if kind not in ("identity", "residual"):
        raise ConfigError(f"unknown deepen kind {kind!r}; expected 'identity' or 'residual'")
    k = check_int(kernel_size, "kernel_size", 1, 2**31)
    if k % 2 == 0:
        raise ConfigError(f"kernel_size must be odd, got {kernel_size}")
    seed = check_int(seed, "seed", 0, 2**63 - 1)
    act = activation or (
        getattr(spec.node(after), "activation", "identity") if kind == "identity" else "relu"
    )
    if act not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {act!r}; expected one of {ACTIVATIONS}")
    shape = spec.shapes[after]
    new_nodes, new_params = _build(spec, after, kind, shape, k, act, negative_slope, seed)
    last = new_nodes[-1].name
    nodes: list[Node] = []
    for n in spec.nodes:
        nodes.append(_rewired(n, after, last))
        if n.name == after:
            nodes.extend(new_nodes)
    out_spec = Spec(spec.input_shape, tuple(nodes), spec.output, spec.loss)
    params = {**{p: np.asarray(v) for p, v in net.params.items()}, **new_params}
    out = Network(out_spec, params, _with_zero_slots(net.optimizer_state, new_params))
    if kind == "residual":
        exact, why = True, "the branch output is zero-initialized and the add is linear"
    else:
        exact, why = _identity_exact(spec, after, act)
    args: dict[str, Any] = {
        "after": after,
        "kind": kind,
        "activation": act,
        "negative_slope": negative_slope,
        "kernel_size": k,
        "seed": seed,
    }
    dist = None if calibration is None else measure(net, out, calibration)
    return out, EditRecord("deepen", args, "exact" if exact else "approximate", why, dist)


def _build(
    spec: Spec,
    after: str,
    kind: str,
    shape: tuple[int, ...],
    k: int,
    act: str,
    slope: float,
    seed: int,
) -> tuple[list[Node], dict[str, F32]]:
    taken = {n.name for n in spec.nodes}
    c = shape[0]
    spatial = len(shape) == 3
    if kind == "identity":
        name = fresh_name(taken, f"{after}_id")
        node = _layer(name, after, shape, k, act, slope)
        w = np.zeros((c, c, k, k) if spatial else (c, c), np.float32)
        if spatial:
            w[np.arange(c), np.arange(c), k // 2, k // 2] = 1.0
        else:
            w[np.arange(c), np.arange(c)] = 1.0
        return [node], {f"{name}.weight": w, f"{name}.bias": np.zeros(c, np.float32)}
    hidden = fresh_name(taken, f"{after}_res")
    taken.add(hidden)
    out = fresh_name(taken, f"{after}_res_out")
    taken.add(out)
    add = fresh_name(taken, f"{after}_res_add")
    h = _layer(hidden, after, shape, k, act, slope)
    o = _layer(out, hidden, shape, 1, "identity", 0.01)
    fan_in = c * k * k if spatial else c
    rng = np.random.default_rng(seed)
    wh_shape = (c, c, k, k) if spatial else (c, c)
    wh = (rng.standard_normal(wh_shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)
    wo = np.zeros((c, c, 1, 1) if spatial else (c, c), np.float32)
    zero = np.zeros(c, np.float32)
    params = {f"{hidden}.weight": wh, f"{hidden}.bias": zero, f"{out}.weight": wo}
    params[f"{out}.bias"] = zero.copy()
    return [h, o, Add(add, (after, out), "identity")], params


def _with_zero_slots(state: OptimizerState | None, new: dict[str, F32]) -> OptimizerState | None:
    if state is None:
        return None
    names = next(iter(state.slots.values())).keys() if state.slots else ()
    slots = {p: dict(s) for p, s in state.slots.items()}
    for p, v in new.items():
        slots[p] = {s: np.zeros_like(v) for s in names}
    return OptimizerState(state.kind, state.step, slots)
