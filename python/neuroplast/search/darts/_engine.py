"""One call of the engine's search loop on a search :class:`~neuroplast.Network`."""

from __future__ import annotations

import json
from typing import Any

import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import as_features, as_labels
from neuroplast._params import adopt
from neuroplast.network import Network
from neuroplast.optim import OptimizerState

__all__ = ["search_epochs"]

Split = tuple[npt.NDArray[Any], npt.NDArray[Any]]


def _split(net: Network, data: Split, what: str) -> tuple[Any, Any, None]:
    x = as_features(data[0], net.spec, f"X_{what}")
    return x, as_labels(data[1], x.shape[0], f"y_{what}"), None


def search_epochs(
    net: Network,
    train: Split,
    arch: Split,
    config_json: str,
    state: str | None,
    epochs: int,
) -> tuple[Network, list[dict[str, Any]], str]:
    """Runs ``epochs`` search epochs from ``state`` (``None``: a new search).

    Returns the updated network (parameters and the weights' SGD momentum as its optimizer
    state), the epochs' records and the state to continue from (JSON).
    """
    spec = net.spec
    names = list(spec.param_shapes)
    opt = net.optimizer_state
    # Continue the SGD momentum of an earlier search call; anything else starts fresh.
    ok = (
        opt is not None
        and opt.kind == "sgd"
        and all("momentum_buffer" in opt.slots.get(n, {}) for n in names)
    )
    slots = [[opt.slots[n]["momentum_buffer"].reshape(-1)] for n in names] if ok and opt else []
    params, new_slots, step, records, new_state = _core.darts_search(
        spec._wire,
        [net.params[n].reshape(-1) for n in names],
        slots,
        0 if opt is None else opt.step,
        _split(net, train, "train"),
        _split(net, arch, "arch"),
        config_json,
        state,
        epochs,
    )
    shapes = spec.param_shapes
    slot_names = ("momentum_buffer",)[: len(new_slots[0])] if new_slots else ()
    state_out = OptimizerState(
        "sgd",
        int(step),
        {
            n: {k: adopt(v, shapes[n]) for k, v in zip(slot_names, s, strict=True)}
            for n, s in zip(names, new_slots, strict=True)
        },
    )
    out = Network(
        spec, {n: adopt(p, shapes[n]) for n, p in zip(names, params, strict=True)}, state_out
    )
    return out, json.loads(records), new_state
