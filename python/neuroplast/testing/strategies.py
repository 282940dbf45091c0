"""Hypothesis strategies for neuroplast: random specs, parameters, data, masks and problems.

Requires ``hypothesis`` (an optional test dependency). Arrays are generated from a drawn
integer seed with NumPy, which keeps examples cheap to generate and shrink while still being
fully reproducible by hypothesis.

Example:
    >>> from hypothesis import given, settings
    >>> from neuroplast.testing.strategies import specs
    >>> @settings(max_examples=5, deadline=None)
    ... @given(specs())
    ... def check(spec):
    ...     assert spec.n_params >= 1
    >>> check()
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from neuroplast.activations import SMOOTH
from neuroplast.layers import ACTIVATIONS, Add, BatchNorm, Concat, Dense, Node
from neuroplast.network import Network
from neuroplast.spec import LOSSES, Spec
from neuroplast.testing.asserts import assert_all_close, assert_bitwise_equal, assert_close

__all__ = [
    "SLOPES",
    "SMOOTH_ACTIVATIONS",
    "Problem",
    "activations",
    "assert_all_close",
    "assert_bitwise_equal",
    "assert_close",
    "hidden_nodes",
    "inputs_for",
    "masks_for",
    "mlp_specs",
    "params",
    "params_for",
    "problems",
    "seeds",
    "specs",
    "targets_for",
]

F32 = npt.NDArray[np.float32]

#: Activations without a kink (safe for finite differences anywhere).
SMOOTH_ACTIVATIONS: tuple[str, ...] = SMOOTH

#: ``negative_slope`` values drawn for leaky ReLU nodes.
SLOPES: tuple[float, ...] = (0.0, 0.01, 0.1, 0.25, 0.5)


def seeds() -> st.SearchStrategy[int]:
    """Seeds for :func:`numpy.random.default_rng`."""
    return st.integers(0, 2**32 - 1)


def activations(names: Collection[str] = ACTIVATIONS) -> st.SearchStrategy[str]:
    """One of the activation ``names`` (default: every supported activation)."""
    return st.sampled_from(sorted(names))


# ------------------------------------------------------------------------------ specs
@st.composite
def specs(
    draw: st.DrawFn,
    *,
    min_nodes: int = 0,
    max_nodes: int = 4,
    max_width: int = 12,
    skip_connections: bool = True,
    losses: Sequence[str] = LOSSES,
    hidden_activations: Collection[str] = ACTIVATIONS,
    output_activations: Collection[str] = ("identity",),
    bias: bool | None = None,
    input_2d: bool = True,
) -> Spec:
    """Random valid specs: MLP chains and DAGs with ``add``/``concat`` skip connections.

    Args:
        draw: Supplied by hypothesis.
        min_nodes: Minimum number of hidden operations drawn (residual blocks add a node).
        max_nodes: Maximum number of hidden operations drawn.
        max_width: Maximum dense width and flat input width (widths start at 1).
        skip_connections: Whether ``add``/``concat`` nodes may appear.
        losses: Losses to choose from.
        hidden_activations: Activations of hidden dense and merge nodes.
        output_activations: Activations of the output node.
        bias: Force dense biases on/off; ``None`` draws per node.
        input_2d: Whether 2-D ``input_shape`` values may be drawn.

    Hidden nodes are named ``h0, h1, ...`` and the output ``"out"``; the output is a dense
    node or (sometimes, with skip connections) an ``add`` of two dense projections.
    """
    acts = activations(hidden_activations)
    merge_acts = st.one_of(st.just("identity"), acts) if "identity" in hidden_activations else acts
    slopes = st.sampled_from(SLOPES)
    biases = st.booleans() if bias is None else st.just(bias)
    loss = draw(st.sampled_from(tuple(losses)))
    if input_2d and draw(st.booleans()):
        shape: tuple[int, ...] = (
            draw(st.integers(1, max(1, min(4, max_width)))),
            draw(st.integers(1, 3)),
        )
    else:
        shape = (draw(st.integers(1, max_width)),)
    widths: dict[str, int] = {"input": math.prod(shape)}
    order = ["input"]
    nodes: list[Node] = []

    def add_node(node: Node, width: int) -> str:
        nodes.append(node)
        widths[node.name] = width
        order.append(node.name)
        return node.name

    def dense(src: str, units: int, activation: str | None = None, name: str | None = None) -> str:
        node = Dense(
            name or f"h{len(nodes)}",
            src,
            units,
            draw(acts) if activation is None else activation,
            draw(slopes),
            bias=draw(biases),
        )
        return add_node(node, units)

    kinds = ("dense", "dense", "add", "concat") if skip_connections else ("dense",)
    for _ in range(draw(st.integers(min_nodes, max_nodes))):
        kind = draw(st.sampled_from(kinds))
        if kind == "dense":
            dense(draw(st.sampled_from(order[-3:])), draw(st.integers(1, max_width)))
        elif kind == "add":
            a = draw(st.sampled_from(order[-3:]))
            partners = [n for n in order if n != a and widths[n] == widths[a]]
            reuse: bool = draw(st.booleans())
            if partners and reuse:
                b = draw(st.sampled_from(partners))
            else:  # a residual branch a -> dense -> add(a, branch)
                b = dense(draw(st.sampled_from(order)), widths[a])
            summands = [a, b]
            if draw(st.booleans()):
                summands.append(draw(st.sampled_from(summands)))
            add = Add(f"h{len(nodes)}", tuple(summands), draw(merge_acts), draw(slopes))
            add_node(add, widths[a])
        else:
            candidates = [n for n in order if widths[n] <= 2 * max_width]
            parts = draw(st.lists(st.sampled_from(candidates), min_size=2, max_size=3))
            concat = Concat(f"h{len(nodes)}", tuple(parts), draw(merge_acts), draw(slopes))
            add_node(concat, sum(widths[i] for i in parts))
    n_out = draw(st.integers(2, 5) if loss == "cross_entropy" else st.integers(1, 4))
    out_act = draw(activations(output_activations))
    src = order[-1]
    if skip_connections and len(order) > 1 and draw(st.integers(0, 4)) == 0:
        a = dense(src, n_out)
        b = dense(draw(st.sampled_from(order[:-1])), n_out)
        nodes.append(Add("out", (a, b), out_act, draw(slopes)))
    else:
        nodes.append(Dense("out", src, n_out, out_act, draw(slopes), bias=draw(biases)))
    return Spec(shape, tuple(nodes), "out", loss)


def mlp_specs(
    *,
    max_hidden: int = 3,
    max_width: int = 12,
    losses: Sequence[str] = LOSSES,
    hidden_activations: Collection[str] = ACTIVATIONS,
) -> st.SearchStrategy[Spec]:
    """Random :meth:`Spec.mlp` networks (one activation for all hidden layers)."""

    @st.composite
    def build(draw: st.DrawFn) -> Spec:
        loss = draw(st.sampled_from(tuple(losses)))
        n_out = draw(st.integers(2, 5) if loss == "cross_entropy" else st.integers(1, 4))
        hidden = draw(st.lists(st.integers(1, max_width), max_size=max_hidden))
        return Spec.mlp(
            draw(st.integers(1, max_width)),
            hidden,
            n_out,
            draw(activations(hidden_activations)),
            loss=loss,
            bias=draw(st.booleans()),
        )

    return build()


def hidden_nodes(spec: Spec) -> list[str]:
    """Names of the nodes that accept masks (every node except the output)."""
    return [n.name for n in spec.nodes if n.name != spec.output]


# ------------------------------------------------------------------------------ arrays
def params_for(spec: Spec, seed: int, scale: float = 1.0) -> dict[str, F32]:
    """Float32 parameters for ``spec``.

    Weights are drawn from ``N(0, scale²/fan_in)`` and biases from ``N(0, (scale/2)²)``;
    batch-norm γ from ``N(1, (scale/4)²)``, β like biases, running means from ``U(-0.5, 0.5)``
    and running variances from ``U(0.5, 2)``.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, F32] = {}
    bn = {
        f"{n.name}.{s}" for n in spec.nodes if isinstance(n, BatchNorm) for s in ("weight", "bias")
    }
    for name, shape in spec.param_shapes.items():
        if name in spec.buffers:  # batch-norm running statistics: variance must be positive
            low, high = (-0.5, 0.5) if name.endswith("mean") else (0.5, 2.0)
            out[name] = rng.uniform(low, high, shape).astype(np.float32)
            continue
        std = scale / math.sqrt(math.prod(shape[1:])) if len(shape) >= 2 else 0.5 * scale
        value = rng.standard_normal(shape) * std
        if name in bn and name.endswith("weight"):  # γ around 1
            value = 1.0 + 0.5 * value
        out[name] = value.astype(np.float32)
    return out


def params(spec: Spec, scale: float = 1.0) -> st.SearchStrategy[dict[str, F32]]:
    """Strategy of random parameters for ``spec`` (see :func:`params_for`)."""
    return seeds().map(lambda s: params_for(spec, s, scale))


def inputs_for(spec: Spec, n: int, seed: int, scale: float = 1.0) -> F32:
    """``(n, *input_shape)`` standard-normal float32 features."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, *spec.input_shape)) * scale).astype(np.float32)


def targets_for(spec: Spec, n: int, seed: int) -> npt.NDArray[np.int64] | F32:
    """Labels in ``0..n_outputs-1`` (cross-entropy) or ``(n, n_outputs)`` float32 targets (MSE)."""
    rng = np.random.default_rng(seed)
    if spec.loss == "cross_entropy":
        return rng.integers(0, spec.n_outputs, size=n).astype(np.int64)
    return rng.standard_normal((n, spec.n_outputs)).astype(np.float32)


def masks_for(spec: Spec, seed: int, p_mask: float = 0.5, p_zero: float = 0.3) -> dict[str, F32]:
    """Masks for a random subset of hidden nodes (each with probability ``p_mask``).

    Entries are 0 with probability ``p_zero`` and uniform in ``[0.25, 2)`` otherwise.
    """
    rng = np.random.default_rng(seed)
    masks: dict[str, F32] = {}
    for name in hidden_nodes(spec):
        if rng.random() < p_mask:
            w = spec.widths[name]
            m = np.where(rng.random(w) < p_zero, 0.0, rng.uniform(0.25, 2.0, size=w))
            masks[name] = m.astype(np.float32)
    return masks


@dataclass(frozen=True)
class Problem:
    """A spec with parameters, a batch of data and (possibly empty) masks."""

    spec: Spec
    params: dict[str, F32]
    X: F32
    y: npt.NDArray[np.int64] | F32
    masks: dict[str, F32] = field(default_factory=dict)

    def network(self) -> Network:
        """A :class:`Network` holding this problem's parameters."""
        return Network(self.spec, self.params)

    def __repr__(self) -> str:
        return (
            f"Problem({self.spec!r}, n={self.X.shape[0]}, "
            f"masks={ {k: v.tolist() for k, v in self.masks.items()} })"
        )


@st.composite
def problems(
    draw: st.DrawFn,
    spec_strategy: st.SearchStrategy[Spec] | None = None,
    *,
    min_batch: int = 1,
    max_batch: int = 16,
    with_masks: bool | None = None,
    scale: float = 1.0,
) -> Problem:
    """A random :class:`Problem`; ``with_masks=None`` draws whether to use masks."""
    spec = draw(specs() if spec_strategy is None else spec_strategy)
    n = draw(st.integers(min_batch, max_batch))
    if any(isinstance(node, BatchNorm) for node in spec.nodes):
        n = max(n, 2)  # a batch of one sample has no batch statistics
    seed = draw(seeds())
    use_masks = draw(st.booleans()) if with_masks is None else with_masks
    return Problem(
        spec,
        params_for(spec, seed, scale),
        inputs_for(spec, n, seed + 1),
        targets_for(spec, n, seed + 2),
        masks_for(spec, seed + 3) if use_masks else {},
    )
