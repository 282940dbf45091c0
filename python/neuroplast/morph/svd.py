"""Schiessler et al.'s truncated-SVD surgery (Eckart–Young) of a layer's units, bias included.

Convention (``W`` of shape ``(n, fan_in)``, pre-activation ``z = W·x + b``): the SVD is taken of
the augmented matrix ``A = [W | b] = U·Σ·Vᵀ`` (``n × (fan_in + 1)``; a convolution's kernel is
flattened to ``(C_out, C_in·kh·kw)``), so the bias is projected with the same basis as the
weights (the paper's reference code projects it with the wrong orientation). Keeping ``k``
directions:

* the layer's new rows are ``U_kᵀ·A = Σ_k·V_kᵀ`` (``W' = U_kᵀ·W``, ``b' = U_kᵀ·b``);
* every consumer absorbs ``U_k`` (``W_next' = W_next·U_k``), so it reads ``U_k·U_kᵀ·z``.

The error of the pre-activation the consumers see is ``(I − U_k·U_kᵀ)·A·[x; 1]``: a linear map of
``[x; 1]`` whose non-zero singular values are exactly the discarded ``σ_{k+1}, …`` (Eckart–Young:
its operator norm ``σ_{k+1}`` and Frobenius norm ``√(Σ_{i>k} σ_i²)`` are the smallest any rank-``k``
map achieves). With an identity activation (and only linear nodes before the consumers) this is
the error the consumers see; otherwise it bounds the pre-activation error only, and even
``k = n`` (a pure rotation) changes the function, since rotating units does not commute with a
non-linear activation (on a trained ReLU digits MLP, keeping all 100 units this way drops the
test accuracy from 0.956 to 0.522; see ``benches/python/morph_keep_table.py``).

The SVD runs in the Rust core (:func:`neuroplast._linalg.svd`, float64, signs fixed: the
largest-magnitude entry of each column of ``U`` is positive), so the edit does not depend on
the LAPACK build or the thread count and replays exactly (faer may pick other SIMD code on
another CPU, so bits are guaranteed per machine).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neuroplast import _linalg
from neuroplast.errors import InvalidMorphismError
from neuroplast.morph._mix import Mix, check_mixable
from neuroplast.morph.deps import CoupledGroup
from neuroplast.network import Network

__all__ = ["check_svd", "svd_mix"]

F64 = npt.NDArray[np.float64]


def check_svd(group: CoupledGroup) -> None:
    """Raises :class:`InvalidMorphismError` unless ``group`` can be truncated by SVD.

    Raises:
        InvalidMorphismError: The group has several producers (a residual ``add`` sums layers
            whose SVDs differ, so one basis cannot truncate them all) or a batch norm (a
            per-unit affine map does not commute with rotating the units).
    """
    if len(group.producers) != 1:
        raise InvalidMorphismError(
            f"truncated SVD of {group.layer!r} needs a single producing layer, but its units "
            f"are produced by {list(group.producers)} (coupled by add); use 'quasi_identity' "
            "or 'select'"
        )
    if group.norms:
        raise InvalidMorphismError(
            f"truncated SVD cannot rotate units normalized by batch norm {list(group.norms)}; "
            "fold batch norm first (Network.fold_batchnorm) or use 'select'"
        )
    check_mixable(group)


def svd_mix(net: Network, group: CoupledGroup, k: int) -> tuple[Mix, list[float]]:
    """The mix ``U_kᵀ`` of the group's single producer and the discarded singular values.

    Raises:
        InvalidMorphismError: See :func:`check_svd`.
    """
    check_svd(group)
    p = group.producers[0]
    w = np.asarray(net.params[f"{p}.weight"], dtype=np.float64)
    a = w.reshape(w.shape[0], -1)
    bias = net.params.get(f"{p}.bias")
    if bias is not None:
        a = np.concatenate([a, np.asarray(bias, np.float64)[:, None]], axis=1)
    rows = [r for (r,) in group.members[p]]
    a = a[rows]
    u, s, _ = _linalg.svd(a, full_matrices=True)
    n = a.shape[0]
    coef = np.ascontiguousarray(u[:, :k].T)
    idx = np.tile(np.arange(n, dtype=np.int64), (k, 1))
    return Mix(idx, coef), [float(x) for x in s[k:]]
