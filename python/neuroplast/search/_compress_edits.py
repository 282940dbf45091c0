"""The candidate edits of one :class:`~neuroplast.search.Compress` round (before tuning).

Two kinds, each removing about ``step`` of a layer's parameters:

* **narrow** every hidden layer group to ``1 − step`` of its units, chosen by activation energy
  on calibration data, with the consumers refit by least squares;
* **factorize** every hidden dense layer not yet factorized into a linear bottleneck
  (``basis="data"``: the principal subspace of its pre-activations on calibration data, the
  bias absorbing the mean) of the rank that leaves ``1 − step`` of its weights. Later rounds
  shrink that bottleneck like any hidden layer (it is one), so the rank is found by the same
  budgeted search. A wide input layer is where this pays: a 784-input layer of ``h`` units costs
  ``784·h`` weights, its rank-``r`` factorization ``r·(784 + h)``.

:func:`plan` lists a round's candidates as plain arguments of :func:`apply_candidate`, so that
each can travel to an executor as an :class:`~neuroplast.search.EditStep` named
:data:`CANDIDATE` and be built where it is fine-tuned.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from neuroplast.errors import InvalidMorphismError, NeuroplastError
from neuroplast.layers import Dense
from neuroplast.morph.deps import group_leaders
from neuroplast.morph.factorize import factorize
from neuroplast.morph.narrow import narrow
from neuroplast.morph.record import EditRecord
from neuroplast.network import Network

__all__ = ["CANDIDATE", "apply_candidate", "candidates", "plan"]

#: The :class:`~neuroplast.search.EditStep` name of :func:`apply_candidate`.
CANDIDATE = "neuroplast.search._compress_edits:apply_candidate"


def plan(
    net: Network, step: float, *, min_width: int, factorize_layers: bool
) -> list[dict[str, Any]]:
    """A round's candidates as :func:`apply_candidate` arguments (narrowings first)."""
    out: list[dict[str, Any]] = []
    for layer in group_leaders(net.spec):
        n = net.spec.widths[layer]
        k = max(min_width, round(n * (1 - step)))
        if k < n:
            out.append({"kind": "narrow", "layer": layer, "size": k})
    if factorize_layers:
        out += [{"kind": "factorize", "layer": n, "size": r} for n, r in _ranks(net, step)]
    return out


def _ranks(net: Network, step: float) -> Iterator[tuple[str, int]]:
    dense = {n.name: n for n in net.spec.nodes if isinstance(n, Dense)}
    # A bias-free linear layer is a bottleneck already (ours, or the user's): its consumer is
    # not split again, and it is not split itself (two linear maps in a row gain nothing).
    linear = {n for n, d in dense.items() if d.activation == "identity" and not d.bias}
    for name, node in dense.items():
        # Not the output layer: a rank-3 bottleneck before 10 logits passed the budget on
        # validation but cost MNIST-1D ~0.01 test accuracy for a few hundred weights.
        if name in linear or node.input in linear or name == net.spec.output:
            continue
        units, fan_in = net.params[f"{name}.weight"].shape
        rank = int((1 - step) * units * fan_in / (units + fan_in))
        if 1 <= rank < min(units, fan_in):  # else no rank saves parameters
            yield name, rank


def apply_candidate(
    net: Network, *, kind: str, layer: str, size: int, calibration: Any
) -> tuple[Network, EditRecord]:
    """One candidate of :func:`plan`: ``narrow`` to ``size`` units, or ``factorize`` to that rank.

    Raises:
        InvalidMorphismError: The edit does not apply (a layer that cannot shrink, e.g.
            coupled to the output; fewer calibration samples than the rank): not a candidate.
    """
    if isinstance(calibration, tuple):
        # Inputs only: with labels the edit record would also measure accuracies on the
        # calibration samples, work the search does not use (it validates after tuning).
        calibration = calibration[0]
    try:
        if kind == "narrow":
            return narrow(
                net,
                layer,
                size,
                "select",
                select="low_energy",
                compensate="lstsq",
                calibration=calibration,
            )
        return factorize(net, layer, size, basis="data", calibration=calibration)
    except InvalidMorphismError:
        raise
    except NeuroplastError as exc:
        raise InvalidMorphismError(f"{kind} {layer} to {size}: {exc}") from exc


def candidates(
    net: Network, cal: Any, step: float, *, min_width: int, factorize_layers: bool
) -> Iterator[tuple[Network, EditRecord]]:
    """Every candidate of :func:`plan` that applies, built here (untuned)."""
    for args in plan(net, step, min_width=min_width, factorize_layers=factorize_layers):
        try:
            yield apply_candidate(net, calibration=cal, **args)
        except InvalidMorphismError:
            continue
