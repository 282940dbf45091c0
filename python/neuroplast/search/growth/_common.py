"""Pieces shared by the dynamic growth controllers: layers, widths, seed streams, trigger state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neuroplast._arrays import check_int
from neuroplast.errors import ConfigError
from neuroplast.morph.deps import group_leaders
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = [
    "FINAL_STREAM",
    "GROW_STREAM",
    "TRAIN_STREAM",
    "growable_layers",
    "mean_loss",
    "resolve_widths",
    "restore_trigger",
    "snapshot",
    "trigger_state",
]

#: First key of :meth:`~neuroplast.search.RunContext.seed_for` for the sample orders.
TRAIN_STREAM = 1
#: First key of the seeds of the growth initializations (then the step and the layer index).
GROW_STREAM = 2
#: Key of the final fine-tuning's sample order.
FINAL_STREAM = 3


def growable_layers(spec: Spec, layers: Sequence[str] | None = None) -> list[str]:
    """Hidden dense/conv layers that can gain or lose units, one per coupled group.

    Residual stages tie several layers' units together; the first layer of each group (in
    graph order) stands for it (thesis Sec. 6.2.3: "grow channel-tied groups together, based on
    the first layer of each group").

    Raises:
        ConfigError: A named layer is not a growable hidden layer.
    """
    found = list(group_leaders(spec))
    if layers is None:
        if not found:
            raise ConfigError("the network has no hidden dense or conv layer that can grow")
        return found
    for name in layers:
        if name not in found:
            raise ConfigError(f"{name!r} is not a growable hidden layer; choose from {found}")
    return list(layers)


def resolve_widths(
    value: int | Mapping[str, int] | None,
    layers: Sequence[str],
    default: Mapping[str, int],
    what: str,
) -> dict[str, int]:
    """A per-layer width from an int (every layer), a mapping or ``None`` (``default``)."""
    if value is None:
        return dict(default)
    if isinstance(value, Mapping):
        missing = [name for name in layers if name not in value]
        if missing:
            raise ConfigError(f"{what} has no entry for {missing}")
        return {name: check_int(value[name], f"{what}[{name!r}]", 1, 2**31) for name in layers}
    width = check_int(value, what, 1, 2**31)
    return dict.fromkeys(layers, width)


def mean_loss(losses: list[tuple[float, int]], default: float) -> float:
    """Sample-weighted mean of ``(loss, samples)`` pairs (``default`` when empty)."""
    seen = sum(n for _, n in losses)
    return sum(a * n for a, n in losses) / seen if seen else default


def snapshot(net: Network, layers: Sequence[str]) -> dict[str, int]:
    """Current widths of ``layers``."""
    return {name: int(net.spec.widths[name]) for name in layers}


def trigger_state(trigger: Any) -> dict[str, Any]:
    """JSON-compatible state of a :mod:`neuroplast.growth` trigger (see :func:`restore_trigger`).

    The triggers keep their per-layer baselines (and DYNO's pending resets) in private fields
    without a public accessor for all of them; a resumed run needs them exactly, so they are
    read here, in one place.
    """
    baselines: Mapping[str, float] = getattr(trigger, "_baselines", {})
    pending: set[str] = getattr(trigger, "_pending", set())
    return {"baselines": dict(baselines), "pending": sorted(pending)}


def restore_trigger(trigger: Any, state: Mapping[str, Any]) -> None:
    """Puts the state of :func:`trigger_state` back into a fresh trigger of the same kind."""
    if hasattr(trigger, "_baselines"):
        trigger._baselines.clear()
        trigger._baselines.update({str(k): float(v) for k, v in state["baselines"].items()})
    if hasattr(trigger, "_pending"):
        trigger._pending.clear()
        trigger._pending.update(state["pending"])
