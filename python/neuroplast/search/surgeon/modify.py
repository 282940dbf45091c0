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
factorize          :func:`factorize` (this module): ``W ≈ (U_k)·(Σ_k·V_kᵀ)`` as a linear
                   ``k``-unit layer followed by the layer
=================  ==========================================================================
"""

from __future__ import annotations

import dataclasses

import numpy as np

from neuroplast.errors import InvalidMorphismError
from neuroplast.layers import Conv2d, Dense, Node
from neuroplast.morph import Contract, EditRecord, deepen, narrow, shallow, widen
from neuroplast.morph.deepen import fresh_name
from neuroplast.network import Network
from neuroplast.optim import OptimizerState
from neuroplast.search.surgeon.recommend import Proposal
from neuroplast.spec import Spec

__all__ = ["apply", "factorize"]


def apply(net: Network, proposal: Proposal) -> tuple[Network, list[EditRecord]]:
    """Builds the candidate network of ``proposal`` from ``net`` (which is not modified).

    Returns:
        The modified network and the edit records (empty for the identity).

    Raises:
        InvalidMorphismError: The network does not admit the edit.
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


def factorize(net: Network, layer: str, rank: int) -> tuple[Network, EditRecord]:
    """Replaces ``layer`` (``W``: ``n × m``) by a rank-``k`` linear layer followed by the layer.

    With ``W = U·Σ·Vᵀ``, a new layer ``{layer}_svd`` (``k`` units, identity activation, no
    bias, weights ``Σ_k·V_kᵀ``) reads ``layer``'s input, and ``layer`` reads it with weights
    ``U_k`` and keeps its bias and activation. The pre-activation error is
    ``(W − U_k·Σ_k·V_kᵀ)·x``, whose singular values are the discarded ``σ_{k+1}, …``
    (Eckart–Young: the smallest of any rank-``k`` map), so the edit is ``"exact"`` when they are
    all zero. Parameters drop from ``n·m`` to ``k·(n + m)``. A convolution (``groups = 1``) is
    factorized on its kernel flattened to ``(C_out, C_in·kh·kw)``: a ``k``-channel convolution
    with the layer's geometry, then a 1×1 convolution with ``U_k``. Computed in float64; signs
    fixed (largest entry of each column of ``U`` positive). Optimizer moments of the two
    changed weights restart at zero.

    Args:
        net: The network (not modified).
        layer: A dense layer or a convolution without groups.
        rank: ``k``, ``1 <= k <= min(n, m)``.

    Returns:
        The factorized network and an :class:`~neuroplast.morph.EditRecord` named
        ``"factorize"`` (not replayable by :meth:`~neuroplast.morph.EditLog.replay`).

    Raises:
        InvalidMorphismError: ``layer`` is not a dense layer or an ungrouped convolution, or
            ``rank`` is out of range.

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(6, [5], 2), seed=0)
        >>> small, rec = factorize(net, "dense_0", 2)
        >>> [n.name for n in small.spec.nodes], rec.contract
        (['dense_0_svd', 'dense_0', 'output'], 'approximate')
    """
    spec = net.spec
    node = next((x for x in spec.nodes if x.name == layer), None)
    if not isinstance(node, (Dense, Conv2d)) or (isinstance(node, Conv2d) and node.groups != 1):
        raise InvalidMorphismError(
            f"factorize needs a dense layer or an ungrouped convolution, got {layer!r}"
        )
    w4 = np.asarray(net.params[f"{layer}.weight"], dtype=np.float64)
    w = w4.reshape(w4.shape[0], -1)
    n, m = w.shape
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= min(n, m):
        raise InvalidMorphismError(f"rank must be an int in [1, {min(n, m)}], got {rank!r}")
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    sign = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
    sign[sign == 0] = 1.0
    u, vt = u * sign, vt * sign[:, None]
    name = fresh_name({x.name for x in spec.nodes}, f"{layer}_svd")
    first: Node
    if isinstance(node, Dense):
        first = Dense(name, node.input, rank, "identity", bias=False)
        second: Node = dataclasses.replace(node, input=name)
    else:
        first = dataclasses.replace(
            node, name=name, channels=rank, activation="identity", bias=False
        )
        second = dataclasses.replace(
            node, input=name, kernel_size=1, stride=1, padding=0, dilation=1
        )
    nodes: list[Node] = []
    for x in spec.nodes:
        nodes.extend([first, second] if x.name == layer else [x])
    new_spec = Spec(spec.input_shape, tuple(nodes), spec.output, spec.loss)
    params = dict(net.params)
    shapes = new_spec.param_shapes
    params[f"{name}.weight"] = (s[:rank, None] * vt[:rank]).reshape(shapes[f"{name}.weight"])
    params[f"{layer}.weight"] = u[:, :rank].reshape(shapes[f"{layer}.weight"])
    params = {k: np.asarray(v, np.float32) for k, v in params.items()}
    out = Network(new_spec, params, _state(net, new_spec, {f"{name}.weight", f"{layer}.weight"}))
    discarded = [float(x) for x in s[rank:]]
    conditions = (
        f"truncated-SVD factorization of {layer!r} ({n}x{m}) at rank {rank}; the "
        f"pre-activation error (W - U_k S_k V_k^T) x has singular values {discarded}"
    )
    args = {"layer": layer, "rank": rank, "name": name, "bound": discarded}
    contract: Contract = "approximate" if any(discarded) else "exact"
    return out, EditRecord("factorize", args, contract, conditions)


def _state(net: Network, spec: Spec, fresh: set[str]) -> OptimizerState | None:
    """The optimizer state with zero moments for the parameters in ``fresh``."""
    st = net.optimizer_state
    if st is None:
        return None
    shapes = spec.param_shapes
    slots = {
        p: {
            k: (np.zeros(shapes[p], np.float32) if p in fresh else np.array(v, np.float32))
            for k, v in (st.slots.get(p) or next(iter(st.slots.values()), {})).items()
        }
        for p in shapes
    }
    return OptimizerState(st.kind, st.step, slots)
