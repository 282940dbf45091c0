"""Physical removal of the switched-off units and connections of a structure vector.

Units are dropped with :func:`neuroplast.morph.narrow` (``method="select"``, the kept indices);
connections with :func:`neuroplast.morph.disconnect` (later merges first, so that layers left
without readers are deleted before their own inputs are visited). The returned network is
smaller, not masked, and computes what the masked network computes: every bit of an
:class:`~neuroplast.search.asng.encoding.Encoding` reaches its consumers as zeros when off,
so removing it only drops terms that were zero (up to the order of float32 sums).

Example:
    >>> import numpy as np
    >>> from neuroplast import Network, Spec
    >>> from neuroplast.search.asng.encoding import encode
    >>> net = Network.init(Spec.mlp(4, [3, 2], 2), seed=0)
    >>> enc = encode(net.spec, "units")
    >>> small, log = remove(net, enc, np.array([1, 0, 1, 1, 1], bool))
    >>> small.spec.widths["dense_0"], len(log)
    (2, 1)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError
from neuroplast.morph import EditLog, disconnect, narrow
from neuroplast.network import Network
from neuroplast.search.asng.encoding import Encoding

__all__ = ["remove", "selected"]


def selected(enc: Encoding, m: npt.ArrayLike) -> dict[str, tuple[int, int]]:
    """``{layer or merge: (bits on, bits)}`` of a structure vector."""
    bits = np.asarray(m, bool)
    return {g: (int(bits[idx].sum()), len(idx)) for g, idx in enc.groups.items()}


def remove(net: Network, enc: Encoding, m: npt.ArrayLike) -> tuple[Network, EditLog]:
    """The network with the bits that are off in ``m`` physically removed.

    Args:
        net: A network of ``enc.spec`` (not modified).
        enc: The encoding ``m`` refers to.
        m: One boolean per bit; every layer keeps at least one unit and every merge one input
            (see :func:`~neuroplast.search.asng.engine.deterministic`).

    Returns:
        The smaller network and the log of the edits (``narrow`` / ``disconnect`` records).

    Raises:
        ConfigError: ``m`` has the wrong length, or switches off a whole layer or merge.
    """
    bits = np.asarray(m, bool)
    if net.spec != enc.spec:
        raise ConfigError("the encoding was built for another spec than the network's")
    if bits.shape != (enc.d,):
        raise ConfigError(f"the structure has {bits.size} bits, the encoding {enc.d}")
    log = EditLog()
    groups = list(enc.groups.items())
    if enc.select == "connections":
        groups.reverse()
    for group, idx in groups:
        on = [enc.bits[i].index for i in idx if bits[i]]
        off = [enc.bits[i].index for i in idx if not bits[i]]
        if not on:
            raise ConfigError(f"the structure switches off all of {group!r}; keep at least one bit")
        if not off or group not in {n.name for n in net.spec.nodes}:
            continue  # nothing to remove, or a merge already deleted with a dead layer
        if enc.select == "units":
            net, rec = narrow(net, group, keep=on, method="select")
        else:
            net, rec = disconnect(net, group, off)
        log = log.append(rec)
    return net, log
