"""The recommendation module (seed 001, Sec. 3.2): removable units, ratings, candidate choice.

For every hidden layer (every dense or conv layer except the output; a conv layer's units are
its channels) the number of removable units ``n_r`` is the count of small singular values of
the matrix the surgery changes (eq. 13)::

    n_r = |{σ_i : σ_i < ε₁·σ_1  or  σ_i < ε₂}|      (ε₂ = 0.3, ε₁ = 0.005)

For removing neurons (a truncated SVD of ``[W | b]``, :func:`neuroplast.morph.narrow`) the
singular values are those of ``[W | b]`` of that layer; for the truncated-SVD factorization
(which leaves the bias alone) those of ``W``. The authors' code reads the *next* layer's
singular values for both, while its surgery truncates this layer; we count on the layer the
surgery changes.

Each candidate gets a rating in ``[0, 1]`` (``n`` the layer's units, ``i`` its 1-based position
among the ``h`` hidden layers):

* add neurons ``1 − n_r/n``; add layer ``(1 − n_r/n)·i/h``;
* remove neurons ``n_r/n``; remove layer ``1`` if ``n_r = n``, else ``(n_r/n)·i/h``;
* truncated-SVD factorization ``n_r/n`` (the paper lists the operation but gives no rating; it
  removes the same small directions as removing neurons).

Candidates are ranked by rating; ties go to the candidate with fewer parameters (the paper's
BIC argument, eq. 15: at equal fit, the smaller model; the authors' code breaks ties toward the
larger one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import Conv2d, Dense
from neuroplast.metrics import removable_units
from neuroplast.network import Network
from neuroplast.search.surgeon.config import Operation, SurgeonConfig
from neuroplast.search.surgeon.modify import apply
from neuroplast.search.surgeon.proposal import Proposal

__all__ = [
    "LayerInfo",
    "hidden_layers",
    "layer_info",
    "propose",
    "ratings",
    "select",
]


@dataclass(frozen=True)
class LayerInfo:
    """The recommendation module's view of one hidden layer.

    Attributes:
        name: Layer name.
        position: 1-based index among the hidden layers (``i``).
        hidden: Number of hidden layers (``h``).
        units: Units (dense) or channels (conv), ``n``.
        removable: ``n_r`` on ``[W | b]`` (removing neurons, removing the layer, adding).
        removable_weight: ``n_r`` on ``W`` alone (the factorization).
        rank_bound: Number of singular values of ``W`` (``min(n, fan_in)``).
    """

    name: str
    position: int
    hidden: int
    units: int
    removable: int
    removable_weight: int
    rank_bound: int


def hidden_layers(net: Network) -> list[str]:
    """Names of the dense and conv layers other than the output, in spec order."""
    spec = net.spec
    return [n.name for n in spec.nodes if isinstance(n, (Dense, Conv2d)) and n.name != spec.output]


def layer_info(
    net: Network, layer: str, position: int, hidden: int, eps_abs: float, eps_rel: float
) -> LayerInfo:
    """Removable-unit counts of ``layer`` from its own singular values (eq. 13)."""
    w = np.asarray(net.params[f"{layer}.weight"], dtype=np.float32)
    w2 = w.reshape(w.shape[0], -1)
    bias = net.params.get(f"{layer}.bias")
    wb = w2 if bias is None else np.concatenate([w2, np.asarray(bias)[:, None]], axis=1)
    return LayerInfo(
        name=layer,
        position=position,
        hidden=hidden,
        units=int(w.shape[0]),
        removable=removable_units(wb, eps_abs, eps_rel),
        removable_weight=removable_units(w2, eps_abs, eps_rel),
        rank_bound=int(min(w2.shape)),
    )


def ratings(n_r: int, n: int, i: int, h: int) -> dict[str, float]:
    """The paper's four candidate ratings (plus the factorization's) for one layer.

    Args:
        n_r: Removable units of the layer.
        n: Units of the layer.
        i: 1-based position of the layer among the hidden layers.
        h: Number of hidden layers.

    Returns:
        ``{"add_neurons", "add_layer", "remove_neurons", "remove_layer", "factorize"}`` →
        rating.

    Raises:
        InvalidMorphismError: Counts out of range.

    Example:
        >>> r = ratings(2, 10, 1, 3)
        >>> round(r["add_neurons"], 3), round(r["add_layer"], 3), r["remove_layer"]
        (0.8, 0.267, 0.06666666666666667)
        >>> ratings(10, 10, 1, 3)["remove_layer"]
        1.0
    """
    if not (0 <= n_r <= n and n >= 1 and 1 <= i <= h):
        raise InvalidMorphismError(
            f"ratings need 0 <= n_r <= n, n >= 1, 1 <= i <= h; got {n_r, n, i, h}"
        )
    frac, pos = n_r / n, i / h
    return {
        "add_neurons": 1.0 - frac,
        "add_layer": (1.0 - frac) * pos,
        "remove_neurons": frac,
        "remove_layer": 1.0 if n_r == n else frac * pos,
        "factorize": frac,
    }


def _widen_amounts(n: int, cfg: SurgeonConfig) -> list[int]:
    return sorted({max(cfg.min_widen, round(f * n)) for f in cfg.widen_fractions})


def _specs(info: LayerInfo, cfg: SurgeonConfig) -> Iterable[tuple[Operation, int, float]]:
    """(operation, amount, rating) of every candidate on one layer."""
    r = ratings(info.removable, info.units, info.position, info.hidden)
    for amount in _widen_amounts(info.units, cfg):
        yield "add_neurons", amount, r["add_neurons"]
    yield "add_layer", 0, r["add_layer"]
    remove = min(info.removable, info.units - 1)
    if remove >= 1:
        yield "remove_neurons", remove, r["remove_neurons"]
    yield "remove_layer", 0, r["remove_layer"]
    rank = info.rank_bound - info.removable_weight
    if info.removable_weight >= 1 and rank >= 1:
        fr = ratings(info.removable_weight, info.units, info.position, info.hidden)
        yield "factorize", rank, fr["factorize"]


def propose(net: Network, cfg: SurgeonConfig, *, branch: int = 0, seed: int = 0) -> list[Proposal]:
    """Every candidate the recommendation module offers for ``net``, best first.

    Each candidate is built once (through :func:`neuroplast.search.surgeon.modify.apply`) to
    count its parameters and to drop edits the network does not admit (e.g. removing a conv
    layer, which no merge expresses).

    Args:
        net: The branch's network.
        cfg: Thresholds, enabled operations and widening sizes.
        branch: Id recorded in the proposals.
        seed: Seed of the edits' random choices.

    Returns:
        The proposals sorted by :meth:`Proposal.sort_key` (the identity first when enabled).
    """
    layers = hidden_layers(net)
    h = len(layers)
    base = net.n_params
    out: list[Proposal] = []
    if "identity" in cfg.operations and cfg.include_identity:
        out.append(Proposal("identity", None, 0, 1.0, base, base, branch, seed))
    for i, name in enumerate(layers, start=1):
        info = layer_info(net, name, i, h, cfg.eps_abs, cfg.eps_rel)
        for op, amount, rating in _specs(info, cfg):
            if op not in cfg.operations:
                continue
            p = Proposal(op, name, amount, rating, base, base, branch, seed)
            try:
                built, _ = apply(net, p)
            except InvalidMorphismError:
                continue
            if op == "factorize" and built.n_params >= base:
                continue  # a factorization only serves to remove connections
            out.append(Proposal(op, name, amount, rating, built.n_params, base, branch, seed))
    return sorted(out, key=Proposal.sort_key)


def select(
    proposals: Sequence[Proposal],
    cfg: SurgeonConfig,
    rng: np.random.Generator,
) -> list[Proposal]:
    """Chooses the competitors of one draw (Algorithm 1, "M_sel ← chosen from M_cand").

    * ``"per_type"``: every identity, then per operation type the best-rated candidate over
      all branches;
    * ``"top_n"``: every identity, then the ``top_n`` best-rated other candidates;

    then, with ``random_draw``, one candidate drawn uniformly from those not chosen. Ranking
    ties go to fewer parameters (:meth:`Proposal.sort_key`).

    Args:
        proposals: The candidates still available.
        cfg: Selection mode and options.
        rng: Source of the random draw.

    Returns:
        The chosen proposals, in choice order.
    """
    ranked = sorted(proposals, key=Proposal.sort_key)
    chosen = [p for p in ranked if p.op == "identity"]
    others = [p for p in ranked if p.op != "identity"]
    if cfg.selection == "per_type":
        for op in cfg.operations:
            best = next((p for p in others if p.op == op), None)
            if best is not None:
                chosen.append(best)
    else:
        chosen.extend(others[: cfg.top_n])
    if cfg.random_draw:
        rest = [p for p in ranked if p not in chosen]
        if rest:
            chosen.append(rest[int(rng.integers(len(rest)))])
    return chosen
