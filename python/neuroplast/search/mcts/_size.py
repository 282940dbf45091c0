"""Size queries of the MCTS action space: parameters after an action, depth of a graph."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from neuroplast.layers import Add, Conv2d, Dense
from neuroplast.morph import coupled_group, shallow_kind
from neuroplast.spec import Spec

if TYPE_CHECKING:
    from neuroplast.search.mcts.actions import Action, ActionSpace

__all__ = ["depth", "predict_params"]


def depth(spec: Spec, skip: str | None = None) -> int:
    """Hidden dense/conv layers on the longest input-to-output path (``skip`` not counted)."""
    d: dict[str, int] = {"input": 0}
    for node in spec.nodes:
        own = isinstance(node, (Dense, Conv2d)) and node.name != skip
        d[node.name] = max(d[i] for i in node.inputs) + int(own)
    return d[spec.output] - 1


def predict_params(spec: Spec, action: Action, space: ActionSpace) -> int:
    """Trainable parameters after ``action`` (exact for chains; unit costs averaged in groups)."""
    p, shapes = spec.n_params, spec.param_shapes
    if action.kind in ("add_neurons", "remove_neurons"):
        group = coupled_group(spec, action.layer)
        cost = 0
        for prod in group.producers:
            cost += math.prod(shapes[f"{prod}.weight"][1:]) + (f"{prod}.bias" in shapes)
        for cons, cols in group.consumers.items():
            w = shapes[f"{cons}.weight"]
            cost += w[0] * len(cols[0]) * math.prod(w[2:])
        cost += 2 * len(group.norms)
        return p + (space.new_width(spec, action) - group.units) * cost
    c = spec.widths[action.layer]
    if action.kind in ("add_dense", "add_conv"):
        k2 = space.kernel_size**2 if action.kind == "add_conv" else 1
        return p + c * c * k2 + c
    if action.kind in ("add_residual_dense", "add_residual_conv"):
        k2 = space.kernel_size**2 if action.kind == "add_residual_conv" else 1
        return p + c * c * k2 + c + c * c + c
    kind = shallow_kind(spec, action.layer)
    if kind == "drop":  # the layer goes, its readers read its input
        return p - sum(
            math.prod(shape)
            for name, shape in shapes.items()
            if name.rsplit(".", 1)[0] == action.layer and name not in spec.buffers
        )
    if kind == "merge":
        node = spec.node(action.layer)
        reader = next(n for n in spec.nodes if action.layer in n.inputs)
        own = math.prod(shapes[f"{node.name}.weight"]) + shapes.get(f"{node.name}.bias", (0,))[0]
        w2 = shapes[f"{reader.name}.weight"]
        w1 = shapes[f"{node.name}.weight"]
        return p - own - math.prod(w2) + w2[0] * w1[1]
    # Dropping a residual branch: every node that no longer reaches the output goes.
    live = {spec.output}
    for node in reversed(spec.nodes):
        if node.name in live:
            drop = isinstance(node, Add)
            live.update(i for i in node.inputs if not (drop and i == action.layer))
    return p - sum(
        math.prod(shape)
        for name, shape in shapes.items()
        if name not in spec.buffers and name.rsplit(".", 1)[0] not in live
    )
