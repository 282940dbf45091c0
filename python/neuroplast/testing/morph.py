"""Testing helpers for structural edits: a function-preservation assert and hypothesis strategies.

Requires ``hypothesis`` for the strategies. Users can test their own edits the same way the
library tests :mod:`neuroplast.morph`.

Example:
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, deadline=None)
    ... @given(edit_problems())
    ... def check(p):
    ...     after, record = p.edit.apply(p.network)
    ...     if record.contract == "exact":
    ...         assert_function_preserved(p.network, after, p.X)
    >>> check()
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import assume
from hypothesis import strategies as st

from neuroplast.activations import CONTINUOUS
from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import BatchNorm, Conv2d, Dense
from neuroplast.morph import EDITS, EditRecord, coupled_group, shallow_kind, unit_graph
from neuroplast.morph._mix import check_mixable
from neuroplast.morph.svd import check_svd
from neuroplast.network import Network
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec
from neuroplast.testing.asserts import assert_function_preserved
from neuroplast.testing.strategies import inputs_for, params_for, seeds, specs
from neuroplast.testing.strategies_conv import conv_specs

__all__ = [
    "CONTINUOUS_ACTIVATIONS",
    "Edit",
    "EditProblem",
    "assert_function_preserved",
    "edit_problems",
    "edits",
    "editable_layers",
    "factorable_layers",
    "morph_specs",
    "narrow_methods_for",
    "random_optimizer_state",
    "shallow_layers",
]

F32 = npt.NDArray[np.float32]

#: Activations without jumps: float32 rounding of an exact edit cannot flip their output
#: (``sign`` can, at a pre-activation of exactly 0 ± rounding).
CONTINUOUS_ACTIVATIONS: tuple[str, ...] = CONTINUOUS


@dataclass(frozen=True)
class Edit:
    """An edit by name with its keyword arguments (as recorded in an :class:`EditRecord`)."""

    name: str
    args: Mapping[str, Any]

    def apply(self, net: Network) -> tuple[Network, EditRecord]:
        """Applies the edit to ``net``."""
        return EDITS[self.name](net, **self.args)


@dataclass(frozen=True)
class EditProblem:
    """A network, a batch of inputs and an edit that is valid for the network."""

    network: Network
    X: F32
    edit: Edit

    def __repr__(self) -> str:
        return f"EditProblem({self.network.spec!r}, edit={self.edit!r})"


def morph_specs(
    *, hidden_activations: Collection[str] = CONTINUOUS_ACTIVATIONS
) -> st.SearchStrategy[Spec]:
    """Random DAG specs: dense chains with ``add``/``concat`` and small conv graphs."""
    return st.one_of(
        specs(min_nodes=1, max_nodes=5, max_width=6, hidden_activations=hidden_activations),
        conv_specs(max_nodes=4, max_channels=3, max_size=5, hidden_activations=hidden_activations),
    )


def editable_layers(spec: Spec) -> list[str]:
    """Nodes whose units can be widened or narrowed (a valid coupled group)."""
    graph = unit_graph(spec)
    out = []
    for node in spec.nodes:
        try:
            coupled_group(spec, node.name, graph)
        except InvalidMorphismError:
            continue
        out.append(node.name)
    return out


def random_optimizer_state(net: Network, seed: int) -> Network:
    """``net`` with a random Adam state (``exp_avg`` normal, ``exp_avg_sq`` uniform, step 4)."""
    rng = np.random.default_rng(seed)
    slots = {
        k: {
            "exp_avg": rng.standard_normal(s).astype(np.float32),
            "exp_avg_sq": rng.random(s).astype(np.float32),
        }
        for k, s in net.spec.param_shapes.items()
    }
    return Network(net.spec, net.params, OptimizerState("adam", 4, slots))


def narrow_methods_for(spec: Spec, layer: str) -> list[str]:
    """The narrow methods that apply to the units of ``layer`` (``"select"`` always does)."""
    group = coupled_group(spec, layer)
    out = ["select"]
    try:
        check_mixable(group)
    except InvalidMorphismError:
        return out
    out.append("quasi_identity")
    try:
        check_svd(group)
    except InvalidMorphismError:
        return out
    return [*out, "svd"]


def shallow_layers(spec: Spec) -> list[str]:
    """Nodes :func:`~neuroplast.morph.shallow` can remove (residual branches, mergeable dense)."""
    out = []
    for node in spec.nodes:
        try:
            shallow_kind(spec, node.name)
        except InvalidMorphismError:
            continue
        out.append(node.name)
    return out


def factorable_layers(spec: Spec) -> list[str]:
    """Dense and ungrouped conv layers (the output layer included): what ``factorize`` takes."""
    return [
        n.name
        for n in spec.nodes
        if isinstance(n, Dense) or (isinstance(n, Conv2d) and n.groups == 1)
    ]


@st.composite
def edits(
    draw: st.DrawFn,
    spec: Spec,
    *,
    kinds: Collection[str] = ("widen", "narrow", "deepen", "shallow", "factorize"),
    widen_methods: Collection[str] = ("net2wider", "zero_fanout", "zero_fanin", "random"),
    deepen_kinds: Collection[str] = ("identity", "residual"),
    narrow_methods: Collection[str] = ("select", "quasi_identity", "svd"),
) -> Edit:
    """A valid edit of ``spec``: a layer, method and arguments drawn for one of ``kinds``.

    Narrow edits use explicit indices (``"select"``) or a count or fraction kept
    (``"quasi_identity"``, ``"svd"``); selection rules need calibration data and are not drawn.
    Rejects the example (``assume``) when none of ``kinds`` applies to ``spec``.
    """
    layers = editable_layers(spec)
    removable = shallow_layers(spec) if "shallow" in kinds else []
    factorable = factorable_layers(spec)
    candidates = {"shallow": removable, "factorize": factorable}
    available = [k for k in sorted(kinds) if k == "deepen" or candidates.get(k, layers)]
    assume(available)
    kind = draw(st.sampled_from(available))
    if kind == "factorize":
        layer = draw(st.sampled_from(factorable))
        w = spec.param_shapes[f"{layer}.weight"]
        rank = draw(st.integers(1, min(w[0], math.prod(w[1:]))))
        return Edit("factorize", {"layer": layer, "rank": rank})
    if kind == "deepen":
        hidden = [n.name for n in spec.nodes if n.name != spec.output]
        assume(hidden)
        after = draw(st.sampled_from(hidden))
        return Edit(
            "deepen",
            {"after": after, "kind": draw(st.sampled_from(sorted(deepen_kinds))), "seed": 0},
        )
    if kind == "shallow":
        return Edit("shallow", {"layer": draw(st.sampled_from(removable))})
    layer = draw(st.sampled_from(layers))
    if kind == "widen":
        method = draw(st.sampled_from(sorted(widen_methods)))
        args = {"layer": layer, "n_new": draw(st.integers(1, 3)), "method": method}
        return Edit("widen", {**args, "seed": draw(st.integers(0, 2**16))})
    units = spec.widths[layer]
    methods = [m for m in narrow_methods_for(spec, layer) if m in narrow_methods]
    assume(methods)
    method = draw(st.sampled_from(methods))
    if method != "select":
        # A count or a fraction kept, as callers give either.
        size: dict[str, int | float] = draw(
            st.one_of(
                st.builds(lambda k: {"keep": k}, st.integers(1, units)),
                st.builds(lambda r: {"fraction": r}, st.floats(0.01, 1.0, allow_nan=False)),
            )
        )
        return Edit("narrow", {"layer": layer, **size, "method": method})
    keep = draw(st.lists(st.integers(0, units - 1), min_size=1, max_size=units, unique=True))
    return Edit("narrow", {"layer": layer, "keep": sorted(keep)})


@st.composite
def edit_problems(
    draw: st.DrawFn,
    spec_strategy: st.SearchStrategy[Spec] | None = None,
    *,
    kinds: Collection[str] = ("widen", "narrow", "deepen", "shallow", "factorize"),
    widen_methods: Collection[str] = ("net2wider", "zero_fanout", "zero_fanin", "random"),
    deepen_kinds: Collection[str] = ("identity", "residual"),
    narrow_methods: Collection[str] = ("select", "quasi_identity", "svd"),
    batch: int = 8,
) -> EditProblem:
    """A random network (spec, float32 params), a batch of inputs and a valid edit."""
    spec = draw(morph_specs() if spec_strategy is None else spec_strategy)
    seed = draw(seeds())
    n = max(batch, 2) if any(isinstance(x, BatchNorm) for x in spec.nodes) else batch
    net = Network(spec, params_for(spec, seed))
    edit = draw(
        edits(
            spec,
            kinds=kinds,
            widen_methods=widen_methods,
            deepen_kinds=deepen_kinds,
            narrow_methods=narrow_methods,
        )
    )
    return EditProblem(net, inputs_for(spec, n, seed + 1), edit)
