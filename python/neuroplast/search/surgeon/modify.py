"""The modification module (seed 001, Sec. 3.1) on top of :mod:`neuroplast.morph`.

=================  ==========================================================================
operation          edit
=================  ==========================================================================
identity           an unmodified copy
add neurons        :func:`~neuroplast.morph.widen` ``"net2wider"`` (copies of seeded random
                   units; the *outgoing* weights of a unit and its copies are divided by the
                   replication count, exact for any activation; the authors' code halves the
                   incoming weights instead, which is exact only for ReLU-like units)
add layer          :func:`~neuroplast.morph.deepen` ``"identity"`` after the layer
remove neurons     :func:`~neuroplast.morph.narrow` ``"svd"`` (truncated SVD of ``[W | b]``, the
                   bias projected with the weights' basis)
remove layer       :func:`~neuroplast.morph.shallow` (merge into the reader, eqs. 11–12)
factorize          :func:`~neuroplast.morph.factorize`: ``W ≈ (U_k)·(Σ_k·V_kᵀ)`` as a linear
                   ``k``-unit layer (conv: ``k`` channels) followed by the layer (1×1 conv)
=================  ==========================================================================
"""

from __future__ import annotations

from neuroplast.errors import InvalidMorphismError
from neuroplast.morph import EditRecord, deepen, factorize, narrow, shallow, widen
from neuroplast.network import Network
from neuroplast.search.surgeon.proposal import Proposal

__all__ = ["apply"]


def apply(net: Network, proposal: Proposal) -> tuple[Network, list[EditRecord]]:
    """Builds the candidate network of ``proposal`` from ``net`` (which is not modified).

    Returns:
        The modified network and the edit records (empty for the identity).

    Raises:
        InvalidMorphismError: The network does not admit the edit.

    Example:
        >>> from neuroplast import Network, Spec
        >>> from neuroplast.search.surgeon import Proposal
        >>> net = Network.init(Spec.mlp(6, [5], 2), seed=0)
        >>> p = Proposal("factorize", "dense_0", 2, 0.5, 0, net.n_params, 0)
        >>> small, recs = apply(net, p)
        >>> [n.name for n in small.spec.nodes], recs[0].name
        (['dense_0_svd', 'dense_0', 'output'], 'factorize')
    """
    op, layer = proposal.op, proposal.layer
    if op == "identity":
        return net.copy(), []
    if layer is None:
        raise InvalidMorphismError(f"operation {op!r} needs a layer")
    if op == "add_neurons":
        out, rec = widen(net, layer, proposal.amount, "net2wider", seed=proposal.seed)
    elif op == "add_layer":
        out, rec = deepen(net, after=layer, kind="identity")
    elif op == "remove_neurons":
        units = net.spec.widths[layer]
        out, rec = narrow(net, layer, keep=units - proposal.amount, method="svd")
    elif op == "remove_layer":
        out, rec = shallow(net, layer)
    elif op == "factorize":
        out, rec = factorize(net, layer, proposal.amount)
    else:
        raise InvalidMorphismError(f"unknown operation {op!r}")
    return out, [rec]
