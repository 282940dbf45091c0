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
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from neuroplast.errors import NeuroplastError
from neuroplast.layers import Dense
from neuroplast.morph.deps import group_leaders
from neuroplast.morph.factorize import factorize
from neuroplast.morph.narrow import narrow
from neuroplast.morph.record import EditRecord
from neuroplast.network import Network

__all__ = ["candidates"]


def candidates(
    net: Network, cal: Any, step: float, *, min_width: int, factorize_layers: bool
) -> Iterator[tuple[Network, EditRecord]]:
    """Every narrowing (and, with ``factorize_layers``, factorization) of ``net`` by ``step``."""
    yield from _narrowed(net, cal, step, min_width)
    if factorize_layers:
        yield from _factorized(net, cal, step)


def _narrowed(
    net: Network, cal: Any, step: float, min_width: int
) -> Iterator[tuple[Network, EditRecord]]:
    for layer in group_leaders(net.spec):
        n = net.spec.widths[layer]
        k = max(min_width, round(n * (1 - step)))
        if k >= n:
            continue
        try:
            yield narrow(
                net, layer, k, "select", select="low_energy", compensate="lstsq", calibration=cal
            )
        except NeuroplastError:
            continue  # a layer that cannot shrink (e.g. coupled to the output)


def _factorized(net: Network, cal: Any, step: float) -> Iterator[tuple[Network, EditRecord]]:
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
        if not 1 <= rank < min(units, fan_in):
            continue  # no rank saves parameters (a narrow layer or a small step)
        try:
            yield factorize(net, name, rank, basis="data", calibration=cal)
        except NeuroplastError:
            continue  # e.g. fewer calibration samples than the rank
